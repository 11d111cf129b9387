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

from . import jvm, settings, topology
from .connection import admin_client
from .consumers import delete_group
from .settings import BOOTSTRAP
from .topics import delete_topics, read_all
from .waiting import wait_until
from .waitclock import clocked

STREAMS_DIR = settings.STATE_DIR / "streams"
BEGIN, END = "=== topology ===", "=== end topology ==="
_STATE = re.compile(r"^state: (\w+) -> (\w+)")
_EXCEPTION = re.compile(r"\b(?:[a-z]\w*\.)+\w*(?:Exception|Error): .*$")
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

    @clocked("wait", ("state", 1))
    def wait_for_state(self, state, timeout=90):
        """Wait (with visible progress) until the app prints `-> state`; return seconds since start.

        An app that reaches ERROR (or ends) instead raises StreamsError with its log's last lines.
        """
        pattern = rf"^state: \w+ -> ({state}|ERROR|PENDING_ERROR)$"
        line = self.wait_for_line(pattern, timeout=timeout)
        if not line.rstrip().endswith(state):
            first = (self.errors() or ["(로그에 예외 줄이 없다)"])[0]
            raise StreamsError(f"{self.name}이(가) {state} 상태가 되지 못하고 {line.split()[-1]} 상태가 되었다.\n"
                               f"로그의 첫 예외: {first}\n"
                               f"전체 로그: {jvm._relative(self.log_path)}")
        self.running_after = time.monotonic() - self.started_at
        return self.running_after

    def errors(self):
        """The distinct exception lines ("package.SomeException: message") the app logged, in order."""
        found = []
        for line in self.lines():
            m = _EXCEPTION.search(line)
            if m and m.group(0) not in found:
                found.append(m.group(0))
        return found


def start(source, app_id, *args, bootstrap=BOOTSTRAP, name=None, timeout=90,
          wait_for="RUNNING", reset_first=True):
    """Reset `app_id`, compile and start the Streams app `source`, wait until it is `wait_for`.

    Prints the seconds taken by javac (0 when cached), by the JVM to print its topology
    and to reach `wait_for`; returns the StreamsApp (stop it with .stop()).
    """
    if reset_first:
        reset(app_id, bootstrap)
    app = StreamsApp(source, app_id, *args, bootstrap=bootstrap, name=name)
    t0 = time.monotonic()
    jvm.javac(app.source)                       # cached by content: ~0 s after the first time
    app.compile_s = time.monotonic() - t0
    app.start()
    try:
        app.wait_for_line(re.escape(END), timeout=timeout, quiet=True)
        app.topology_s = time.monotonic() - app.started_at
        if wait_for:
            took = app.wait_for_state(wait_for, timeout)
            print(f"{app.name}: 컴파일 {app.compile_s:.1f}초, JVM 시작부터 토폴로지 출력까지 "
                  f"{app.topology_s:.1f}초, {wait_for}까지 {took:.1f}초")
    except BaseException:
        app.stop(quiet=True)
        raise
    return app


def describe(app, timeout=60):
    """The app's topology.describe() text, as printed between the marker lines."""
    app.wait_for_line(re.escape(END), timeout=timeout, quiet=True)
    lines = app.lines()
    body = lines[lines.index(BEGIN) + 1:lines.index(END)]
    # a log4j message (one or more lines) may come between the markers: keep the topology's own lines
    return "\n".join(l for l in body if topology.is_topology_line(l)) + "\n"


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


def by_partition(topic, bootstrap=BOOTSTRAP):
    """{partition: [(key, value)]} of every record in `topic`, in offset order (str)."""
    parts = {}
    for r in read_all(topic, bootstrap):
        parts.setdefault(r.partition, []).append(
            (r.key.decode() if r.key is not None else None, r.value.decode()))
    return parts


def expected_filter(input_topic, keep, bootstrap=BOOTSTRAP):
    """What a filter keeping `keep(value)` must write, partition by partition (same keys, same partitioner)."""
    return {p: [(k, v) for k, v in recs if keep(v)]
            for p, recs in by_partition(input_topic, bootstrap).items()
            if any(keep(v) for _, v in recs)}


def check_filtered(input_topic, output_topic, keep, rule):
    """The 직접 해보기 checker: does `output_topic` on the broker hold exactly the records of
    `input_topic` that `keep` accepts, in the same partitions and order? `rule` names it in the message."""
    from .topics import topic_exists
    if not topic_exists(output_topic) or not read_all(output_topic):
        return f"아직 출력 토픽 {output_topic}에 레코드가 없다."
    if jvm.running():
        return "아직 실행 중인 자바 프로그램이 있다: 앱을 stop()으로 멈춘 뒤 다시 확인한다."
    want, got = expected_filter(input_topic, keep), by_partition(output_topic)
    n_want, n_got = sum(map(len, want.values())), sum(map(len, got.values()))
    if got == want:
        return f"맞다! {output_topic}에 {rule}인 값 {n_got}개가 입력과 같은 파티션, 같은 순서로 있다."
    extra = sorted({v for recs in got.values() for _, v in recs}
                   - {v for recs in want.values() for _, v in recs})
    missing = sorted({v for recs in want.values() for _, v in recs}
                     - {v for recs in got.values() for _, v in recs})
    return (f"틀렸다. {rule}인 값은 {n_want}개인데 출력에는 {n_got}개가 있다. "
            f"남지 말아야 할 값 {extra[:3]}, 빠진 값 {missing[:3]}. "
            "출력 토픽을 지우고(fresh_topic) 다시 실행한다.")


def unique_app_id(prefix):
    """`prefix`-<time>: for an app that fails on purpose. A client that ends in ERROR does not
    leave its group (KafkaStreams.closeToError, REMAIN_IN_GROUP), so its group lingers until the
    session times out; a fresh id keeps the next run independent of it."""
    return f"{prefix}-{time.time_ns() // 1_000_000}"


def check_processor_exercise(input_topic, output_topic, app_id, source="streams/ProcessorFilter.java",
                             want_inputs=6, want_outputs=2, boundary=5, timeout=90):
    """The 3.5.2 직접 해보기 checker: reads the reader's input from the broker, runs the Processor-API
    filter over it (a fresh output topic), reads the output back and judges it."""
    from .topics import describe as describe_topic, fresh_topic
    values = [v for recs in by_partition(input_topic).values() for _, v in recs]
    if not values:
        return f"아직 {input_topic}에 레코드가 없다."
    if len(values) != want_inputs:
        return f"틀렸다. {input_topic}에 레코드가 {len(values)}개 있다. {want_inputs}개여야 한다(준비 셀부터 다시)."
    fresh_topic(output_topic, partitions=len(describe_topic(input_topic)))
    expected = expected_filter(input_topic, lambda v: len(v) > boundary)
    n = sum(map(len, expected.values()))
    if n:
        app = start(source, app_id, input_topic, output_topic)
        try:
            wait_for_records(output_topic, n, timeout)
        finally:
            app.stop(quiet=True)
    out = [v for recs in by_partition(output_topic).values() for _, v in recs]
    if len(out) != want_outputs:
        return f"틀렸다. 프로세서가 {len(out)}개를 내보냈다: {out}. {want_outputs}개여야 한다."
    if not any(len(v) == boundary for v in values):
        return (f"거의 맞다. {want_outputs}개가 나왔지만 입력에 길이가 정확히 {boundary}인 값이 없다. "
                "경계의 값이 어느 쪽으로 가는지도 확인한다.")
    return f"맞다! 입력 {len(values)}개 중 프로세서가 내보낸 것은 {out}이다."
