"""legacy: still formats its line with the old helper, which is deprecated."""

import warnings

NAME = "legacy"
DESCRIPTION = "Uses a deprecated helper"


def format_old(text):
    """Deprecated: use str.upper()."""
    warnings.warn("format_old() is deprecated, use str.upper()", DeprecationWarning,
                  stacklevel=2)
    return text.upper()


def render(context):
    return format_old("legacy addon still works")
