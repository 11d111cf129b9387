"""Joins, windows and state of Kafka Streams (3.5.1.2, 3.5.1.3): what the notebooks feed in, what
they expect back, and the plumbing around a Quix Streams app run beside the Java one.

    sent = streams_state.send(TOPIC, [("kim", "cup"), ...])          # records with their offsets
    streams_state.expected_joins(orders, addresses)                   # address held at each order
    streams_state.window_counts(views, size_ms)                       # counts from the timestamps
    streams_state.query(PORT, "/total", page)                         # the Java app's IQ endpoint
    streams_state.run_quix(app, count, deadline=60)                   # a Quix app with a deadline

The expectations are computed here from what was sent, never from what the apps wrote, so a
comparison can fail.
"""
import json
import warnings
import re
import shutil
import time
import urllib.error
import urllib.request
from collections import Counter

from . import settings
from .connection import admin_client, producer
from .consumers import delete_group
from .key_partitions import default_partition
from .settings import BOOTSTRAP
from .topics import delete_topics
from .waiting import wait_until

QUIX_DIR = settings.STATE_DIR / "quix"

with warnings.catch_warnings():     # its authlib dependency warns on import
    try:
        import authlib.deprecate  # noqa: F401  (sets its own "always" filter)
    except ImportError:
        pass
    warnings.simplefilter("ignore")
    import quixstreams  # noqa: F401  (imported once, quietly, for the notebooks)


# ---------------------------------------------------------------- input

def send(topic, rows, bootstrap=BOOTSTRAP):
    """Send (key, value) or (key, value, timestamp_ms) rows one by one, each acknowledged before the next.

    Returns [{key, value, partition, offset, timestamp}] in sending order.
    """
    sent = []
    with producer(bootstrap) as p:
        for row in rows:
            key, value, ts = (*row, None)[:3]
            meta = p.send(topic, key=key.encode(), value=value.encode(),
                          timestamp_ms=ts).get(timeout=30)
            sent.append({"key": key, "value": value, "partition": meta.partition,
                         "offset": meta.offset, "timestamp": meta.timestamp})
    return sent


# ---------------------------------------------------------------- joins

def expected_joins(orders, addresses, sep=" -> "):
    """{order value: "order -> address"} for the address each order's customer had when the order
    was sent: the last address record sent (acknowledged) before the order. Orders whose customer
    had no address yet are left out (an inner join drops them).

    `orders` and `addresses` are send() results tagged with "seq" (their sending order).
    """
    expected = {}
    for order in orders:
        before = [a for a in addresses if a["key"] == order["key"] and a["seq"] < order["seq"]]
        if before:
            expected[order["value"]] = order["value"] + sep + before[-1]["value"]
    return expected


def expected_as_of(orders, addresses, sep=" -> "):
    """Like expected_joins, but by timestamp: the address with the latest timestamp at or before
    the order's timestamp (what an as-of join computes)."""
    expected = {}
    for order in orders:
        before = [a for a in addresses
                  if a["key"] == order["key"] and a["timestamp"] <= order["timestamp"]]
        if before:
            best = max(before, key=lambda a: (a["timestamp"], a["seq"]))
            expected[order["value"]] = order["value"] + sep + best["value"]
    return expected


class Sequence:
    """Tags send() results with one increasing "seq" across topics (which was sent first)."""

    def __init__(self):
        self.n = 0

    def __call__(self, sent):
        for row in sent:
            self.n += 1
            row["seq"] = self.n
        return sent


def same_task(key, order_partitions, address_partitions):
    """True when the key's order and its address land on partitions with the same number, i.e. in
    the same Streams task (tasks are made per partition number, PartitionGrouper)."""
    return (default_partition(key, order_partitions)
            == default_partition(key, address_partitions))


def join_values(records):
    """{order part: whole output value} of join output records ("order -> address")."""
    out = {}
    for r in records:
        value = r.value.decode() if isinstance(r.value, bytes) else r.value
        out[value.split(" -> ")[0]] = value
    return out


def mismatches(got, expected):
    """[(order, got, expected)] where two {order: line} maps differ, sorted."""
    keys = sorted(set(got) | set(expected))
    return [(k, got.get(k), expected.get(k)) for k in keys if got.get(k) != expected.get(k)]


# ---------------------------------------------------------------- windows

def window_start(ts, size_ms):
    """The start of the tumbling window (epoch-aligned, like TimeWindows) that holds `ts`."""
    return ts - ts % size_ms


def window_counts(views, size_ms, grace_ms=None):
    """{(page, window start): count} computed from (user, page, timestamp) rows in sending order.

    With `grace_ms` (0 for TimeWindows.ofSizeWithNoGrace) a row whose window has already closed
    is left out, as Streams drops it: closed means window end <= stream time - grace, where
    stream time is the largest timestamp seen so far, this row's included
    (KStreamWindowAggregate).
    """
    counts, stream_time = Counter(), None
    for _, page, ts in views:
        stream_time = ts if stream_time is None else max(stream_time, ts)
        start = window_start(ts, size_ms)
        if grace_ms is not None and start + size_ms <= stream_time - grace_ms:
            continue
        counts[(page, start)] += 1
    return dict(sorted(counts.items()))


def dropped(views, size_ms, grace_ms=0):
    """The rows window_counts(..., grace_ms) leaves out (they came after their window closed)."""
    kept = []
    stream_time = None
    for row in views:
        ts = row[2]
        stream_time = ts if stream_time is None else max(stream_time, ts)
        if window_start(ts, size_ms) + size_ms <= stream_time - grace_ms:
            kept.append(row)
    return kept


def totals(views):
    """{page: count} over all rows."""
    return dict(sorted(Counter(page for _, page, _ in views).items()))


# ---------------------------------------------------------------- interactive queries

def query(port, path, page, timeout=30):
    """GET http://127.0.0.1:<port><path>?page=<page> from the Java app and return the JSON answer.

    While the store cannot be queried (the app is rebalancing or restoring) the app answers 503:
    that counts as "not yet" until `timeout`.
    """
    url = f"http://127.0.0.1:{port}{path}?page={page}"

    def ask():
        with urllib.request.urlopen(url, timeout=5) as answer:
            return json.loads(answer.read().decode())

    return wait_until(lambda: [ask()], timeout, f"대화형 쿼리 {path}?page={page}")[0]


def queried_windows(port, pages):
    """{(page, window start): count} read from the app's window store over /windows."""
    got = {}
    for page in pages:
        for start, count in query(port, "/windows", page):
            got[(page, start)] = count
    return dict(sorted(got.items()))


def wait_for_count(port, page, count, timeout=60):
    """Wait until /total answers `count` for `page` (the app has processed everything)."""
    return wait_until(lambda: query(port, "/total", page)["count"] == count, timeout,
                      f"{page}의 합계 {count}")


# ---------------------------------------------------------------- internal topics

def topic_configs(topic, bootstrap=BOOTSTRAP):
    """{config: value} the topic was given on creation (its dynamic configs), read from the broker
    with kafka-configs.sh --describe."""
    from .cli import kafka_sh
    from .tables import parse_configs
    return parse_configs(kafka_sh(f"kafka-configs.sh --bootstrap-server {bootstrap} "
                                  f"--entity-type topics --entity-name {topic} --describe"))


def partition_counts(topics, bootstrap=BOOTSTRAP):
    """{topic: number of partitions} from the broker."""
    with admin_client(bootstrap) as admin:
        return {t.get("name", t.get("topic")): len(t["partitions"])
                for t in admin.describe_topics(list(topics))}


# ---------------------------------------------------------------- restore

_RESTORE = re.compile(r"^RESTORE (START|END) (\S+) from (\S+) (?:offsets (\d+)\.\.(\d+)|"
                      r"restored (\d+) records)")


def restores(app):
    """[{event, store, partition, ...}] of the app's StateRestoreListener lines, in order."""
    found = []
    for line in app.lines():
        m = _RESTORE.match(line)
        if m:
            row = {"event": m[1], "store": m[2], "changelog": m[3]}
            if m[1] == "START":
                row.update(start=int(m[4]), end=int(m[5]))
            else:
                row.update(restored=int(m[6]))
            found.append(row)
    return found


def wipe_state_dir(path):
    """Delete a stopped app's local state (its RocksDB stores and checkpoints); return what was there."""
    files = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()) \
        if path.exists() else []
    shutil.rmtree(path, ignore_errors=True)
    return files


# ---------------------------------------------------------------- Quix Streams

def quix_state_dir(group):
    """Where a Quix app of this book keeps its RocksDB state: .kafka/quix/<group>."""
    return QUIX_DIR / group


def quix_reset(group, bootstrap=BOOTSTRAP):
    """Delete a Quix app's group, the topics it created (changelog__/repartition__<group>--...)
    and its local state, so a re-run starts from scratch."""
    mine = quix_topics(group, bootstrap)
    delete_topics(mine, bootstrap)
    delete_group(group)
    shutil.rmtree(quix_state_dir(group), ignore_errors=True)
    return mine


def run_quix(app, count, deadline=90, idle=10):
    """Run a Quix Application until it has produced `count` outputs, it has been idle `idle`
    seconds, or `deadline` passed; return the collected outputs (value, key, timestamp, ...).

    Application.run(count=..., timeout=...) stops by itself on the first two; the deadline
    guards the rebalance and the state recovery before processing starts.
    """
    import threading
    timer = threading.Timer(deadline, app.stop)
    timer.start()
    started = time.monotonic()
    try:
        outputs = app.run(count=count, timeout=idle, metadata=True)
    finally:
        timer.cancel()
    took = time.monotonic() - started
    print(f"Quix 앱: {took:.1f}초 동안 실행, 출력 {len(outputs)}개 (기대 {count}개)")
    return outputs


# ---------------------------------------------------------------- exercise (3.5.1.2)

def check_copartitioned(topic, partner, keys, bootstrap=BOOTSTRAP):
    """(ok, message): does `topic` now join correctly with `partner`? Read from the broker: the
    same partition count as `partner`, every key of `keys` present, and each record in the
    partition the default partitioner picks for that count."""
    from .topics import read_all
    counts = partition_counts([topic, partner], bootstrap)
    want = counts.get(partner)
    if counts.get(topic) != want:
        return False, (f"틀렸다: {topic}의 파티션은 {counts.get(topic)}개, "
                       f"{partner}는 {want}개다.")
    records = read_all(topic, bootstrap)
    misplaced = [r.key.decode() for r in records
                 if r.partition != default_partition(r.key, want)]
    if misplaced:
        return False, (f"틀렸다: 파티션 수는 같지만 {sorted(set(misplaced))}의 레코드가 "
                       f"파티션 {want}개일 때 가야 할 파티션에 있지 않다.")
    missing = sorted(set(keys) - {r.key.decode() for r in records})
    if missing:
        return False, f"틀렸다: {missing}의 주소가 토픽에 없다."
    return True, (f"맞았다: {topic}의 레코드 {len(records)}개가 모두 "
                  f"{partner}와 같은 번호의 파티션에 있다.")


def quix_topics(group, bootstrap=BOOTSTRAP):
    """The topics a Quix app of consumer group `group` created (changelog__/repartition__), sorted."""
    with admin_client(bootstrap) as admin:
        return sorted(t for t in admin.list_topics() if f"__{group}--" in t)


def wait_until_consumed(group, topic, timeout=60, bootstrap=BOOTSTRAP):
    """Wait until `group` has committed the end offset of every partition of `topic`: the app has
    read (and processed) all of it, even if it wrote nothing for some records."""
    from .consumers import committed
    from .topics import end_offsets
    ends = end_offsets(topic, bootstrap)
    print(f"기다리는 것: 그룹 {group}이 {topic}의 끝 {ends}까지 커밋", flush=True)
    wait_until(lambda: committed(group, topic) == ends, timeout,
               f"그룹 {group}의 {topic} 커밋")
    print("완료:", committed(group, topic), flush=True)


# ---------------------------------------------------------------- exercise (3.5.1.3)

def check_window_exercise(topic, page, first_start, size_ms, wanted, bootstrap=BOOTSTRAP):
    """(ok, message): do the records of `page` in `topic` (read from the broker) fall into the
    windows starting at first_start, first_start + size_ms, ... with exactly `wanted` counts
    (and nowhere else)?"""
    from .topics import read_all
    records = [r for r in read_all(topic, bootstrap) if r.value and r.value.decode() == page]
    got = Counter(window_start(r.timestamp, size_ms) for r in records)
    want = {first_start + i * size_ms: n for i, n in enumerate(wanted) if n}
    if not records:
        return False, f"아직이다: {topic}에 {page} 레코드가 없다."
    if dict(got) == want:
        return True, f"맞았다: {page} 레코드 {len(records)}개가 창마다 {list(wanted)}개씩 들어갔다."
    shown = {f"{(s - first_start) // 1000:+d}초": n for s, n in sorted(got.items())}
    return False, f"틀렸다: EX_START 기준 창별 개수가 {shown}이다."
