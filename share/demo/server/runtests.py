#!/usr/bin/env python3
"""Runs the unit tests of the server and of every addon, with line coverage.

    python3 runtests.py [--addons DIR] [--html DIR]

Prints the unittest report, one `WARNING <kind> file:line: message` line per Python warning
raised while loading or testing (deprecations show as `WARNING deprecated ...`), a coverage
table ending with `TOTAL  <statements>  <missed>  NN%`, and `ERROR ...` with exit status 1
when a test fails. --html writes the coverage table as DIR/index.html too.
Stdlib only: coverage is measured with sys.settrace.
"""

import argparse
import dis
import html
import os
import sys
import unittest
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))


class Flushing:
    """A stream that flushes every write, so a killed run still leaves its log."""

    def __init__(self, stream):
        self.stream = stream
        self.at_line_start = True

    def write(self, text):
        self.stream.write(text)
        self.stream.flush()
        if text:
            self.at_line_start = text.endswith("\n")

    def flush(self):
        self.stream.flush()


OUT = Flushing(sys.stdout)


def show_warning(message, category, filename, lineno, file=None, line=None):
    """Prints a Python warning as one `WARNING <kind> file:line: message` line."""
    kind = "deprecated" if issubclass(
        category, (DeprecationWarning, PendingDeprecationWarning)) else category.__name__
    OUT.write("%sWARNING %s %s:%d: %s\n" % ("" if OUT.at_line_start else "\n", kind,
                                             os.path.basename(filename), lineno, message))


def measured_files(folders):
    """The modules whose coverage counts: every .py but tests and this runner."""
    files = []
    for folder in folders:
        for entry in sorted(os.listdir(folder)):
            path = os.path.join(folder, entry)
            if entry.endswith(".py") and not entry.startswith("test_") and \
                    os.path.realpath(path) != os.path.realpath(__file__):
                files.append(os.path.realpath(path))
    return files


def statement_lines(path):
    """Line numbers that hold code, from the compiled module and all its functions."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    try:
        code = compile(source, path, "exec")
    except SyntaxError:
        return set()
    lines, todo = set(), [code]
    while todo:
        code = todo.pop()
        lines.update(line for _, line in dis.findlinestarts(code) if line)
        todo.extend(c for c in code.co_consts if hasattr(c, "co_code"))
    return lines


class Tracer:
    """Records the executed lines of the measured files."""

    def __init__(self, files):
        self.files = set(files)
        self.hits = {f: set() for f in files}

    def __call__(self, frame, event, arg):
        path = frame.f_code.co_filename
        if event != "call" or os.path.realpath(path) not in self.files:
            return None
        hits = self.hits[os.path.realpath(path)]
        hits.add(frame.f_lineno)

        def local(frame, event, arg):
            if event == "line":
                hits.add(frame.f_lineno)
            return local

        return local


def coverage_rows(tracer, roots):
    rows = []
    for path in sorted(tracer.files):
        statements = statement_lines(path)
        missed = len(statements - tracer.hits[path])
        name = path
        for root in roots:
            if path.startswith(root + os.sep):
                name = os.path.join(os.path.basename(root), os.path.relpath(path, root))
        rows.append((name, len(statements), missed))
    return rows


def percent(statements, missed):
    return 100 if statements == 0 else int(100 * (statements - missed) / statements)


def print_coverage(rows):
    width = max([len(r[0]) for r in rows] + [5])
    print("%-*s  %5s  %5s  %5s" % (width, "Name", "Stmts", "Miss", "Cover"))
    print("-" * (width + 21))
    for name, statements, missed in rows:
        print("%-*s  %5d  %5d  %4d%%" % (width, name, statements, missed,
                                         percent(statements, missed)))
    print("-" * (width + 21))
    statements = sum(r[1] for r in rows)
    missed = sum(r[2] for r in rows)
    print("%-*s  %5d  %5d  %4d%%" % (width, "TOTAL", statements, missed,
                                     percent(statements, missed)), flush=True)


def write_html(folder, rows):
    os.makedirs(folder, exist_ok=True)
    body = "".join("<tr><td>%s</td><td>%d</td><td>%d</td><td>%d%%</td></tr>\n" % (
        html.escape(name), statements, missed, percent(statements, missed))
        for name, statements, missed in rows)
    statements, missed = sum(r[1] for r in rows), sum(r[2] for r in rows)
    with open(os.path.join(folder, "index.html"), "w", encoding="utf-8") as f:
        f.write("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Coverage"
                "</title></head><body>\n<h1>Coverage: %d%%</h1>\n<table border=\"1\">\n"
                "<tr><th>Name</th><th>Stmts</th><th>Miss</th><th>Cover</th></tr>\n%s"
                "<tr><th>TOTAL</th><th>%d</th><th>%d</th><th>%d%%</th></tr>\n"
                "</table>\n</body></html>\n" % (percent(statements, missed), body, statements,
                                                 missed, percent(statements, missed)))


def main(argv=None):
    parser = argparse.ArgumentParser(description="run the demo's unit tests with coverage")
    parser.add_argument("--addons", default=os.environ.get("RUNBOT_SRC_ADDONS") or
                        os.path.join(os.path.dirname(HERE), "addons"),
                        help="the addons folder (default: $RUNBOT_SRC_ADDONS)")
    parser.add_argument("--html", metavar="DIR", help="also write DIR/index.html")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.addons):
        print("ERROR no addons folder at %s" % args.addons, flush=True)
        return 2
    roots = [os.path.realpath(HERE), os.path.realpath(args.addons)]

    warnings.simplefilter("default")
    warnings.showwarning = show_warning
    tracer = Tracer(measured_files(roots))
    sys.settrace(tracer)
    try:
        suite = unittest.TestSuite()
        for root in roots:
            suite.addTests(unittest.TestLoader().discover(root, "test_*.py", root))
        result = unittest.TextTestRunner(stream=OUT, verbosity=2,
                                         warnings="default").run(suite)
    finally:
        sys.settrace(None)

    rows = coverage_rows(tracer, roots)
    print_coverage(rows)
    if args.html:
        write_html(args.html, rows)
    if not result.wasSuccessful():
        print("ERROR %d failed, %d errors, %d tests run" % (
            len(result.failures), len(result.errors), result.testsRun), flush=True)
        return 1
    print("all %d tests passed" % result.testsRun, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
