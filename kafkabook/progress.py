"""A wait that tells the reader what it waits for and how long it has waited."""
import time

from .waiting import wait_until
from .waitclock import clocked


@clocked("wait", ("what", 1))
def wait_with_progress(condition, what, timeout=60, every=2.0):
    """wait_until(condition) that prints what it waits for and the elapsed seconds every `every` s."""
    start = time.monotonic()
    shown = [start]
    print(f"기다리는 것: {what} (최대 {timeout}초)", flush=True)

    def check():
        now = time.monotonic()
        if now - shown[0] >= every:
            shown[0] = now
            print(f"  ... {now - start:4.1f}초 경과", flush=True)
        return condition()

    result = wait_until(check, timeout, what, interval=0.2)
    print(f"완료: {time.monotonic() - start:.1f}초 걸렸다", flush=True)
    return result
