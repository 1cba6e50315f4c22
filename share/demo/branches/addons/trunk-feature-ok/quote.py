"""quote: a different quote for every visit."""

NAME = "quote"
DESCRIPTION = "Quote of the visit"

QUOTES = (
    "Make it work, make it right, make it fast.",
    "Simple is better than complex.",
    "Tests are the first users of your code.",
)


def pick(visits):
    """The quote for the given visit number (1-based), cycling through QUOTES."""
    return QUOTES[(max(visits, 1) - 1) % len(QUOTES)]


def render(context):
    return pick(context.get("visits", 1))
