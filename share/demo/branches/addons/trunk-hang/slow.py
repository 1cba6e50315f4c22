"""slow: asks a remote service for today's price, and waits for the answer."""

import time

NAME = "slow"
DESCRIPTION = "Waits for a remote service"


def wait_for_reply(seconds=1000):
    """Stands for a network call without a timeout: it never answers in time."""
    print("slow: waiting %d s for the pricing service" % seconds, flush=True)
    time.sleep(seconds)
    return "price: 42"


def render(context):
    return "Price not fetched on page load (it would hang)."
