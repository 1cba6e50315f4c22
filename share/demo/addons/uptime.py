"""uptime: how long this live instance has been running."""

NAME = "uptime"
DESCRIPTION = "Shows the instance's uptime"


def duration(seconds):
    """3723 -> '1h 02m 03s'; 65 -> '1m 05s'; 4 -> '4s'."""
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return "%dh %02dm %02ds" % (hours, minutes, seconds)
    if minutes:
        return "%dm %02ds" % (minutes, seconds)
    return "%ds" % seconds


def render(context):
    return "Up for %s." % duration(context.get("uptime", 0))
