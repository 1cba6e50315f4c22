#!/usr/bin/env python3
"""openerp-runbot demo server: one page that shows which job, group and revisions it runs.

    python3 server.py --port 8101

It reads what the runbot gives every live instance from the environment (RUNBOT_JOB_ID,
RUNBOT_GROUP, RUNBOT_REV_<PROJECT>, RUNBOT_SRC_<PROJECT>, RUNBOT_DB), loads the addon modules
of $RUNBOT_SRC_ADDONS, serves the static files of $RUNBOT_SRC_WEB under /static/, and counts
visits in its own SQLite file so every instance visibly runs on its own data. It listens on
127.0.0.1 only and exits with status 0 on SIGTERM or SIGINT.
"""

import argparse
import datetime
import importlib.util
import json
import mimetypes
import os
import signal
import sqlite3
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import textutil

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECTS = ("server", "addons", "web")
STARTED = time.time()


def source_dir(project):
    """Where a project's sources are: $RUNBOT_SRC_<PROJECT>, else beside this server."""
    return os.environ.get("RUNBOT_SRC_" + project.upper()) or os.path.join(
        os.path.dirname(HERE), project)


def read_text(path, default=""):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return default


def load_addons(folder):
    """Imports every addon of folder (*.py except test_*.py and _*.py), in name order.

    Returns a list of dicts with name, description, module (None if it failed) and error.
    """
    addons = []
    if not os.path.isdir(folder):
        return addons
    if folder not in sys.path:
        sys.path.insert(0, folder)  # addons may import each other
    for entry in sorted(os.listdir(folder)):
        if not entry.endswith(".py") or entry.startswith(("test_", "_")):
            continue
        name = entry[:-3]
        addon = {"name": name, "description": "", "module": None, "error": None}
        try:
            spec = importlib.util.spec_from_file_location(name, os.path.join(folder, entry))
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            addon["module"] = module
            addon["description"] = getattr(module, "DESCRIPTION", "")
        except Exception as exc:  # a broken addon must not take the whole page down
            addon["error"] = "%s: %s" % (type(exc).__name__, exc)
            print("addon %s failed to load: %s" % (name, addon["error"]), file=sys.stderr,
                  flush=True)
        addons.append(addon)
    return addons


def db_path(name):
    """Where the visit counter lives, from RUNBOT_DB.

    With the runbot's SQLite kind, RUNBOT_DB is the absolute path of the job's own database
    file (<state>/jobs/<id>/db/runbot_<id>.sqlite): it is used as is. Otherwise it is a name
    (runbot_<id>, e.g. with the PostgreSQL kind) that becomes <name>.sqlite in the cwd, and a
    path or a name with a database suffix is taken as a file.
    """
    if os.path.isabs(name) and name.endswith(".sqlite"):
        return name
    if os.sep in name or name.endswith((".db", ".sqlite", ".sqlite3")):
        return os.path.abspath(name)
    return os.path.abspath(name + ".sqlite")


class Visits:
    """Counts page visits in the SQLite file named by RUNBOT_DB, else in memory."""

    def __init__(self, name):
        self.path = db_path(name) if name else None
        self.in_memory = 0
        self.lock = threading.Lock()
        if self.path:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            db = sqlite3.connect(self.path, timeout=5)
            try:
                with db:
                    db.execute("CREATE TABLE IF NOT EXISTS visit ("
                               "id INTEGER PRIMARY KEY, at TEXT NOT NULL, path TEXT NOT NULL)")
            finally:
                db.close()

    def add(self, path):
        """Records one visit and returns the new total."""
        with self.lock:
            if not self.path:
                self.in_memory += 1
                return self.in_memory
            db = sqlite3.connect(self.path, timeout=5)
            try:
                with db:
                    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
                    db.execute("INSERT INTO visit (at, path) VALUES (?, ?)", (now, path))
                return db.execute("SELECT COUNT(*) FROM visit").fetchone()[0]
            finally:
                db.close()


def job_info():
    """What the runbot told this instance about itself."""
    env = os.environ
    return {
        "job_id": env.get("RUNBOT_JOB_ID", ""),
        "group": env.get("RUNBOT_GROUP", ""),
        "db": env.get("RUNBOT_DB", ""),
        "revisions": {p: env.get("RUNBOT_REV_" + p.upper(), "") for p in PROJECTS},
        "versions": {p: read_text(os.path.join(source_dir(p), "VERSION"), "?").strip()
                     for p in PROJECTS},
    }


def addon_lines(addons, context):
    """(name, description, text, failed) per addon; a failing render shows its error."""
    lines = []
    for addon in addons:
        if addon["module"] is None:
            lines.append((addon["name"], "", "not loaded: " + addon["error"], True))
            continue
        try:
            text = str(addon["module"].render(context))
            failed = False
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            text, failed = "render failed: %s: %s" % (type(exc).__name__, exc), True
        lines.append((addon["name"], addon["description"], text, failed))
    return lines


def render_page(info, addons, visits, header="", footer=""):
    """The whole HTML page. Every value that comes from outside is escaped."""
    e = textutil.escape
    job = info["job_id"] or "-"
    group = info["group"] or "(not started by a runbot)"
    context = {"job_id": info["job_id"], "group": info["group"], "visits": visits,
               "uptime": time.time() - STARTED}
    header = header.replace("{title}", e("Job %s · %s" % (job, group)))
    header = header.replace("{version}", e(info["versions"].get("server", "?")))
    revs = "".join(
        "<tr><th>%s</th><td><code title=\"%s\">%s</code></td><td>%s</td></tr>\n" % (
            e(p), e(info["revisions"][p]), e(textutil.short_rev(info["revisions"][p])),
            e(info["versions"][p]))
        for p in PROJECTS)
    items = "".join(
        "<li class=\"%s\"><b>%s</b> <i>%s</i><br>%s</li>\n" % (
            "failed" if failed else "ok", e(name), e(description), e(text))
        for name, description, text, failed in addon_lines(addons, context))
    database = info["db"] and "database <code>%s</code>" % e(info["db"]) or "in memory"
    return """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>%(title)s</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
%(header)s
<main>
<section>
<h2>Job</h2>
<table>
<tr><th>job</th><td id="job">%(job)s</td></tr>
<tr><th>group</th><td id="group">%(group)s</td></tr>
<tr><th>visits</th><td id="visits">%(visits)s (%(database)s)</td></tr>
</table>
</section>
<section>
<h2>Revisions</h2>
<table>
%(revs)s</table>
</section>
<section>
<h2>Addons (%(count)d loaded)</h2>
<ul class="addons">
%(items)s</ul>
</section>
</main>
%(footer)s
<script src="/static/app.js"></script>
</body>
</html>
""" % {"title": e("Job %s · %s" % (job, group)), "header": header, "job": e(job),
       "group": e(group), "visits": e(textutil.plural(visits, "visit")), "database": database,
       "revs": revs, "count": sum(1 for a in addons if a["module"] is not None),
       "items": items, "footer": footer}


class Handler(BaseHTTPRequestHandler):
    server_version = "runbot-demo/1.0"

    def do_GET(self):
        self.serve(with_body=True)

    def do_HEAD(self):
        self.serve(with_body=False)

    def serve(self, with_body):
        app = self.server.app
        path = urllib.parse.urlsplit(self.path).path
        if path == "/":
            visits = app["visits"].add(path) if with_body else 0
            web = source_dir("web")
            page = render_page(job_info(), app["addons"], visits,
                               read_text(os.path.join(web, "header.html")),
                               read_text(os.path.join(web, "footer.html")))
            self.send(200, "text/html; charset=utf-8", page.encode("utf-8"), with_body)
        elif path == "/health":
            self.send(200, "text/plain; charset=utf-8", b"ok\n", with_body)
        elif path == "/info.json":
            body = json.dumps(job_info(), indent=1, sort_keys=True) + "\n"
            self.send(200, "application/json", body.encode("utf-8"), with_body)
        elif path.startswith("/static/"):
            name = path[len("/static/"):]
            file = os.path.join(source_dir("web"), name)
            # Only plain files directly in the web folder: no sub-paths, no dot files.
            if not name or "/" in name or "\\" in name or name.startswith(".") or \
                    not os.path.isfile(file):
                self.send(404, "text/plain; charset=utf-8", b"not found\n", with_body)
                return
            with open(file, "rb") as f:
                body = f.read()
            kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
            self.send(200, kind, body, with_body)
        else:
            self.send(404, "text/plain; charset=utf-8", b"not found\n", with_body)

    def send(self, status, kind, body, with_body):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


def main(argv=None):
    parser = argparse.ArgumentParser(description="openerp-runbot demo server")
    parser.add_argument("--port", type=int, default=int(os.environ.get("RUNBOT_PORT") or 8069),
                        help="port to listen on, on 127.0.0.1 (default: $RUNBOT_PORT or 8069)")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error("--port must be between 1 and 65535, not %d" % args.port)

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        httpd = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    except OSError as exc:
        print("cannot listen on 127.0.0.1:%d: %s" % (args.port, exc.strerror), file=sys.stderr)
        return 1
    try:
        try:
            visits = Visits(os.environ.get("RUNBOT_DB", ""))
        except sqlite3.Error as exc:
            print("cannot open the database %s: %s" % (os.environ.get("RUNBOT_DB"), exc),
                  file=sys.stderr)
            return 1
        httpd.app = {"addons": load_addons(source_dir("addons")), "visits": visits}
        info = job_info()
        print("job %s (group %s) serving on http://127.0.0.1:%d/ with addons: %s" % (
            info["job_id"] or "-", info["group"] or "-", args.port,
            ", ".join(a["name"] for a in httpd.app["addons"]) or "none"), flush=True)
        httpd.serve_forever()
    except SystemExit:
        pass
    finally:
        httpd.server_close()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
