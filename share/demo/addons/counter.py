"""counter: tells the visitor their rank among this instance's visitors."""

NAME = "counter"
DESCRIPTION = "Ranks the visitor"


def ordinal(number):
    """1 -> '1st', 2 -> '2nd', 11 -> '11th', 23 -> '23rd'."""
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return "%d%s" % (number, suffix)


def render(context):
    return "You are the %s visitor of this instance." % ordinal(context.get("visits", 0))
