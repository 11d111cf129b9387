"""Kafka Streams apps of the book run as real JVMs: start one, wait for RUNNING, read its topology, reset it.

    from kafkabook import streams
    app = streams.start("streams/StreamFilter.java", "ch03-filter", IN, OUT)
    print(streams.describe(app))            # topology.describe() as the app printed it
    streams.internal_topics("ch03-filter")  # its -repartition / -changelog topics on the broker
    app.stop()

The book's Streams sources (notebooks/ch03/java/streams/) follow one convention:
arguments `<bootstrap> <application.id> <state.dir> ...`; at start they print
`topology.describe()` between the lines `=== topology ===` and `=== end topology ===`;
a KafkaStreams.StateListener prints `state: OLD -> NEW` on every state change; a
shutdown hook calls `close()` so SIGTERM leaves the group cleanly.
"""
import re
import shutil
import time

from . import jvm, settings
from .connection import admin_client
from .consumers import delete_group
from .settings import BOOTSTRAP
from .topics import delete_topics, read_all
from .waiting import wait_until

STREAMS_DIR = settings.STATE_DIR / "streams"
BEGIN, END = "=== topology ===", "=== end topology ==="
_STATE = re.compile(r"^state: (\w+) -> (\w+)")
_INTERNAL = re.compile(r"-(repartition|changelog)$")


class StreamsError(jvm.JavaProgramError):
    """A Streams app stopped, failed or did not reach the state awaited."""


def state_dir(app_id):
    """The app's state.dir: .kafka/streams/<application.id>."""
    return STREAMS_DIR / app_id


class StreamsApp(jvm.JavaProgram):
    """A JavaProgram that is a Kafka Streams app (see the module's convention)."""

    def __init__(self, source, app_id, *args, bootstrap=BOOTSTRAP, name=None, **kw):
        self.app_id = app_id
        super().__init__(source, bootstrap, app_id, state_dir(app_id), *args,
                         name=name or app_id, **kw)

    def states(self):
        """Every state the app went through so far, in order (CREATED first)."""
        seen = []
        for line in self.lines():
            m = _STATE.match(line)
            if m:
                seen += [m.group(1)] if not seen else []
                seen.append(m.group(2))
        return seen

    @property
    def state(self):
        """The last state the app printed (None before its first change)."""
        seen = self.states()
        return seen[-1] if seen else None

    def wait_for_state(self, state, timeout=90):
        """Wait (with visible progress) until the app prints `-> state`; return seconds since start.

        An app that reaches ERROR (or ends) instead raises StreamsError with its log's last lines.
        """
        pattern = rf"^state: \w+ -> ({state}|ERROR|PENDING_ERROR)$"
        line = self.wait_for_line(pattern, timeout=timeout)
        if not line.rstrip().endswith(state):
            raise StreamsError(f"{self.name}이(가) {state} 대신 {line.split()[-1]} 상태가 되었다. "
                               "로그 마지막 부분:\n" + "\n".join(self.lines()[-12:]))
        return time.monotonic() - self.started_at

    def errors(self):
        """The exception lines (class: message) the app logged, in order."""
        return [l.strip() for l in self.lines()
                if re.search(r"(Exception|Error)\b.*:", l) and not l.startswith("\tat ")]


def start(source, app_id, *args, bootstrap=BOOTSTRAP, name=None, timeout=90,
          wait_for="RUNNING", reset_first=True):
    """Reset `app_id`, start the Streams app `source` and wait until it is `wait_for`.

    Prints the compile + start to RUNNING time; returns the StreamsApp (stop it with .stop()).
    """
    if reset_first:
        reset(app_id, bootstrap)
    app = StreamsApp(source, app_id, *args, bootstrap=bootstrap, name=name)
    app.start()
    try:
        if wait_for:
            took = app.wait_for_state(wait_for, timeout)
            print(f"{app.name}: 시작부터 {wait_for}까지 {took:.1f}초")
    except BaseException:
        app.stop(quiet=True)
        raise
    return app


def describe(app, timeout=60):
    """The app's topology.describe() text, as printed between the marker lines."""
    app.wait_for_line(re.escape(END), timeout=timeout, quiet=True)
    lines = app.lines()
    return "\n".join(lines[lines.index(BEGIN) + 1:lines.index(END)]) + "\n"


def internal_topics(app_id, bootstrap=BOOTSTRAP):
    """The app's internal topics on the broker (<application.id>-...-repartition/-changelog), sorted."""
    with admin_client(bootstrap) as admin:
        return sorted(t for t in admin.list_topics()
                      if t.startswith(app_id + "-") and _INTERNAL.search(t))


def reset(app_id, bootstrap=BOOTSTRAP):
    """Make a re-run start from scratch: delete the app's internal topics, its group and its state.dir.

    The app must be stopped (a group with members cannot be deleted).
    """
    delete_topics(internal_topics(app_id, bootstrap), bootstrap)
    delete_group(app_id)
    shutil.rmtree(state_dir(app_id), ignore_errors=True)


def wait_for_records(topic, count, timeout=60, bootstrap=BOOTSTRAP):
    """Wait (printing progress) until `topic` holds at least `count` records; return them all
    as [ConsumerRecord] in (partition, offset) order."""
    start, shown = time.monotonic(), [0.0]
    print(f"기다리는 것: 토픽 {topic}에 레코드 {count}개 (최대 {timeout}초)", flush=True)

    def enough():
        got = read_all(topic, bootstrap)
        waited = time.monotonic() - start
        if waited - shown[0] >= 2:
            shown[0] = waited
            print(f"  ... {waited:4.1f}초, {len(got)}개", flush=True)
        return got if len(got) >= count else None

    got = wait_until(enough, timeout, f"토픽 {topic}의 레코드 {count}개", interval=0.3)
    print(f"완료: {time.monotonic() - start:.1f}초, {len(got)}개", flush=True)
    return got
