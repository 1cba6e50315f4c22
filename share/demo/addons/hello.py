"""hello: greets the visitor with the name of the group the instance was built for."""

NAME = "hello"
DESCRIPTION = "Greets the visitor"


def greet(name):
    """'Hello, NAME!' (or 'Hello, world!' without a name)."""
    return "Hello, %s!" % (name.strip() or "world")


def render(context):
    return greet(context.get("group") or "")
