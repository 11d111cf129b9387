"""Wait on a condition with a deadline, never on a fixed sleep."""
import time

from .waitclock import clocked


class WaitTimeout(TimeoutError):
    pass


@clocked("wait", ("what", 2))
def wait_until(condition, timeout=30.0, what="조건", interval=0.1, reraise=()):
    """Call `condition()` until it returns a truthy value, and return that value.

    Exceptions raised by `condition` count as "not yet". After `timeout` seconds
    raise WaitTimeout naming `what` (and the last exception, if any).
    """
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            result = condition()
            if result:
                return result
        except reraise:
            raise
        except Exception as e:  # not ready yet
            last_error = e
        if time.monotonic() >= deadline:
            detail = f" (마지막 오류: {last_error!r})" if last_error else ""
            raise WaitTimeout(f"{timeout:g}초 안에 {what}이(가) 충족되지 않았습니다{detail}")
        time.sleep(interval)
