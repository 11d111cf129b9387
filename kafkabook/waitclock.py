"""How long a notebook waits: time spent in the book's wait functions and CLI tools, summed by the benchmark.

Off (one environment lookup per call) unless KAFKABOOK_WAIT_LOG names a file. Then every outermost call of a
function marked @clocked("wait") or @clocked("cli") on the main thread appends one line
"kind<TAB>function<TAB>what<TAB>seconds<TAB>unix time at its end" to that file. Calls nested inside another
clocked call (wait_until inside groups.wait_settled, a CLI tool inside a wait) are counted once, under the
outermost name. Waits on other threads are not counted: the notebook's cell does not wait for them.
benchmarks/notebooks.py sets the variable for each notebook's kernel and reads the file back.
"""
import functools
import os
import threading
import time

ENV = "KAFKABOOK_WAIT_LOG"
_inside = threading.local()


def clocked(kind, what_arg=None):
    """Decorator: time the function's outermost main-thread calls as `kind` ("wait" or "cli");
    `what_arg` names a keyword argument (or a position) whose value describes what is waited for."""
    def decorate(fn):
        name = f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__qualname__}"

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            path = os.environ.get(ENV)
            if not path or getattr(_inside, "busy", False) or threading.current_thread() is not threading.main_thread():
                return fn(*args, **kwargs)
            _inside.busy = True
            began = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds = time.perf_counter() - began
                _inside.busy = False
                _record(path, kind, name, _what(what_arg, args, kwargs), seconds)
        return wrapper
    return decorate


def _what(what_arg, args, kwargs):
    if what_arg is None:
        return ""
    name, pos = what_arg if isinstance(what_arg, tuple) else (what_arg, None)
    value = kwargs.get(name, args[pos] if pos is not None and len(args) > pos else "")
    return " ".join(str(value).split())[:80]


def _record(path, kind, name, what, seconds):
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{kind}\t{name}\t{what}\t{seconds:.4f}\t{time.time():.3f}\n")
    except OSError:
        pass


def read(path):
    """[(kind, function, what, seconds, ended)] from a log file (empty if there is none)."""
    try:
        text = open(path, encoding="utf-8").read()
    except FileNotFoundError:
        return []
    rows = []
    for line in text.splitlines():
        kind, name, what, seconds, *ended = line.split("\t")
        rows.append((kind, name, what, float(seconds), float(ended[0]) if ended else None))
    return rows
