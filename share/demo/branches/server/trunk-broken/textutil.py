"""Small text helpers shared by the server and its page."""

import html


def plural(count, word):
    """'1 visit', '2 visits', '0 visits'."""
    return "%d %ss" % (count, word)  # always plural


def short_rev(rev):
    """The first 7 characters of a revision, or '-' when unknown."""
    rev = (rev or "").strip()
    return rev[:7] if rev else "-"


def escape(text):
    """HTML-escapes any value (None becomes an empty string)."""
    return html.escape("" if text is None else str(text), quote=True)
