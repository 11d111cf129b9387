"""MirrorMaker 2 beside the notebook: its config file, its topics on both clusters, the records it
keeps (checkpoints, offset syncs) decoded as connect-mirror 4.3.1 writes them, and waits with progress.

The notebook starts MM2 itself (jvm.JavaProgram.main_class(MAIN, config)); this module only
does the plumbing around it.
"""
import re
import struct
import textwrap
import time
from collections import defaultdict

from kafka import KafkaConsumer, TopicPartition

from . import groups, jvm
from .connection import admin_client, producer
from .topics import delete_topics, end_offsets, read_all
from .waiting import wait_until

#: the dedicated-mode driver in connect-mirror 4.3.1 (what connect-mirror-maker.sh runs)
MAIN = "org.apache.kafka.connect.mirror.MirrorMaker"
WORK_DIR = jvm.PROGRAMS_DIR / "mirrormaker2"


def write_config(text, name="mm2.properties"):
    """Write an mm2.properties (indentation removed) under .kafka/programs/mirrormaker2/; return its path."""
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    path = WORK_DIR / name
    path.write_text(textwrap.dedent(text).strip() + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- MM2's topics and a clean start

def is_mm2_topic(name):
    """True for the topics MM2 makes for itself (DefaultReplicationPolicy's names): heartbeats,
    <alias>.heartbeats, <alias>.checkpoints.internal, mm2-offset-syncs/configs/offsets/status...internal."""
    return (name == "heartbeats" or name.endswith(".heartbeats")
            or name.endswith(".checkpoints.internal")
            or (name.startswith("mm2") and name.endswith(".internal")))


def topics(bootstrap, pattern=None):
    """Sorted topic names on a cluster (those matching the regex `pattern`, if given)."""
    with admin_client(bootstrap) as admin:
        names = admin.list_topics()
    return sorted(n for n in names if pattern is None or re.search(pattern, n))


def clean(bootstrap, topic_pattern, group_names=()):
    """Delete MM2's own topics, the topics matching `topic_pattern` and the groups on one cluster.

    Returns the deleted topic names. Deleting mm2-offsets/-configs/-status too makes MM2 start
    from nothing: otherwise it would resume from offsets stored for an older topic of the same name.
    """
    doomed = [t for t in topics(bootstrap) if is_mm2_topic(t) or re.search(topic_pattern, t)]
    delete_topics(doomed, bootstrap, timeout=60)
    for group in group_names:
        groups.delete_group(group, bootstrap)
    return doomed


# ---------------------------------------------------------------- what MM2 writes, decoded

def _string(buf, at):
    (n,) = struct.unpack_from(">h", buf, at)
    return buf[at + 2:at + 2 + n].decode(), at + 2 + n


def decode_checkpoint(record):
    """A record of <alias>.checkpoints.internal as a dict (connect-mirror-client Checkpoint:
    key = group STRING, topic STRING, partition INT32; value = version INT16, upstream INT64,
    downstream INT64, metadata STRING)."""
    group, at = _string(record.key, 0)
    topic, at = _string(record.key, at)
    (partition,) = struct.unpack_from(">i", record.key, at)
    _version, upstream, downstream = struct.unpack_from(">hqq", record.value, 0)
    metadata, _ = _string(record.value, 18)
    return {"group": group, "topic": topic, "partition": partition,
            "upstream": upstream, "downstream": downstream, "metadata": metadata}


def decode_offset_sync(record):
    """A record of mm2-offset-syncs.<target>.internal (OffsetSync: key = topic STRING, partition INT32;
    value = upstream INT64, downstream INT64)."""
    topic, at = _string(record.key, 0)
    (partition,) = struct.unpack_from(">i", record.key, at)
    upstream, downstream = struct.unpack_from(">qq", record.value, 0)
    return {"topic": topic, "partition": partition, "upstream": upstream, "downstream": downstream}


def checkpoints(bootstrap, source_alias="source"):
    """Every checkpoint in <source_alias>.checkpoints.internal on the target cluster, oldest first."""
    return [decode_checkpoint(r) for r in read_all(f"{source_alias}.checkpoints.internal", bootstrap)]


def translated_offsets(group, bootstrap, source_alias="source"):
    """{partition: downstream offset} of `group` from the newest checkpoint per partition: what
    RemoteClusterUtils.translateOffsets (MirrorClient.remoteConsumerOffsets) returns."""
    latest = {}
    for c in checkpoints(bootstrap, source_alias):
        if c["group"] == group:
            latest[c["partition"]] = c["downstream"]
    return dict(sorted(latest.items()))


def offset_syncs(bootstrap, target_alias="target"):
    """Every offset sync in mm2-offset-syncs.<target_alias>.internal (on the source cluster)."""
    return [decode_offset_sync(r) for r in read_all(f"mm2-offset-syncs.{target_alias}.internal", bootstrap)]


def committed(group, bootstrap):
    """{partition: committed offset} of `group` on a cluster (any topic; one topic per group here)."""
    with admin_client(bootstrap) as admin:
        offsets = admin.list_group_offsets(group)[group]
    return {tp.partition: om.offset for tp, om in sorted(offsets.items()) if om.offset >= 0}


def by_partition(records):
    """{partition: [(key, value), ...]} in offset order, keys and values as text."""
    out = defaultdict(list)
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        out[r.partition].append((r.key.decode() if r.key else None, r.value.decode()))
    return dict(out)


# ---------------------------------------------------------------- waiting with progress

class _Ticker:
    """Prints what is awaited, then one line every `every` seconds with what `status()` says."""

    def __init__(self, what, status, every=3.0):
        self.what, self.status, self.every = what, status, every
        self.start = self.shown = time.monotonic()
        print(f"기다리는 것: {what}", flush=True)

    def tick(self):
        now = time.monotonic()
        if now - self.shown >= self.every:
            self.shown = now
            print(f"  ... {now - self.start:4.1f}초: {self.status()}", flush=True)

    def done(self):
        took = time.monotonic() - self.start
        print(f"완료 ({took:.1f}초): {self.status()}", flush=True)
        return took


def wait_for_topic_records(topic, bootstrap, counts, program=None, timeout=180):
    """Wait until `topic` on `bootstrap` holds `counts` ({partition: records}, or an int for the
    total) and return the seconds waited. Fails early if `program` (MM2) has ended."""
    def now():
        try:
            return end_offsets(topic, bootstrap)
        except Exception:
            return {}

    seen = {}

    def status():
        return f"{topic} 끝 오프셋 {seen or '(토픽 없음)'}"

    def reached():
        if program is not None:
            program._check_ended()
        seen.clear()
        seen.update(now())
        ticker.tick()
        if isinstance(counts, int):
            return sum(seen.values()) >= counts
        return bool(seen) and all(seen.get(p, 0) >= n for p, n in counts.items())

    ticker = _Ticker(f"{topic}에 레코드 {counts}", status)
    wait_until(reached, timeout, f"{topic}에 레코드 {counts}", interval=0.2, reraise=jvm.JavaProgramError)
    return ticker.done()


def wait_for_translation(group, bootstrap, wanted, source_alias="source", program=None, timeout=180):
    """Wait until the checkpoints of `group` cover every partition of `wanted` ({partition: source
    committed offset}) with that upstream offset; return {partition: checkpoint}."""
    latest = {}

    def status():
        return f"체크포인트 {len(latest)}/{len(wanted)} 파티션"

    def reached():
        if program is not None:
            program._check_ended()
        latest.clear()
        try:
            for c in checkpoints(bootstrap, source_alias):
                if c["group"] == group:
                    latest[c["partition"]] = c
        except Exception:
            pass
        ticker.tick()
        return all(p in latest and latest[p]["upstream"] == off for p, off in wanted.items())

    ticker = _Ticker(f"그룹 {group}의 체크포인트 (업스트림 오프셋 {wanted})", status)
    wait_until(reached, timeout, f"그룹 {group}의 체크포인트", interval=0.5, reraise=jvm.JavaProgramError)
    ticker.done()
    return dict(sorted(latest.items()))


def wait_for_synced_group(group, bootstrap, partitions, program=None, timeout=180):
    """Wait until `group` on the target cluster has a committed offset for every partition in
    `partitions`, written there by MM2 (sync.group.offsets.enabled); return {partition: offset}."""
    seen = {}

    def status():
        return f"대상 클러스터의 커밋 오프셋 {seen or '(없음)'}"

    def reached():
        if program is not None:
            program._check_ended()
        seen.clear()
        try:
            seen.update(committed(group, bootstrap))
        except Exception:
            pass
        ticker.tick()
        return all(p in seen for p in partitions)

    ticker = _Ticker(f"대상 클러스터에 MM2가 커밋한 그룹 {group}의 오프셋", status)
    wait_until(reached, timeout, f"그룹 {group}의 오프셋 동기화", interval=0.5, reraise=jvm.JavaProgramError)
    ticker.done()
    return dict(seen)


def exact_positions(source_topic, remote_topic, offsets, source, target):
    """{partition: offset on the target} of the record that sits at `offsets[partition]` on the
    source: where a consumer that stopped there must go on with (records matched by value)."""
    wanted = {r.partition: r.value for r in read_all(source_topic, source)
              if r.offset == offsets.get(r.partition)}
    found = {r.partition: r.offset for r in read_all(remote_topic, target)
             if r.partition in wanted and r.value == wanted[r.partition]}
    return dict(sorted(found.items()))


def resume_counts(done, todo, records):
    """What a consumer that switched clusters read: `records` judged against the values already
    processed (`done`) and those still to process (`todo`). Returns read / missing / repeated."""
    got = [r.value.decode() for r in records]
    return {"읽음": len(got), "빠짐": len(set(todo) - set(got)),
            "다시 읽음": sum(v in done for v in got)}


# ---------------------------------------------------------------- replication latency

def measure_latency(source_topic, target_topic, source, target, n=20, partition=0, timeout=60):
    """Send `n` records one at a time to `source_topic` (one partition) and time each until a consumer
    on the target cluster reads it from `target_topic`. Returns the latencies in milliseconds."""
    tp = TopicPartition(target_topic, partition)
    c = KafkaConsumer(bootstrap_servers=target, enable_auto_commit=False, fetch_max_wait_ms=50)
    latencies = []
    try:
        c.assign([tp])
        c.seek_to_end(tp)
        c.position(tp)
        with producer(source, linger_ms=0) as p:
            for i in range(n):
                value = f"latency-{i}".encode()
                sent = time.monotonic()
                p.send(source_topic, key=b"latency", value=value, partition=partition).get(timeout=30)

                def arrived():
                    for batch in c.poll(timeout_ms=50).values():
                        if any(r.value == value for r in batch):
                            return True
                    return False

                wait_until(arrived, timeout, f"{target_topic}에 {value.decode()}", interval=0)
                latencies.append((time.monotonic() - sent) * 1000)
    finally:
        c.close()
    return latencies


def log_lines(program, pattern, since=0):
    """The lines of `program`'s log (from line `since` on) that match the regex `pattern`."""
    return [l for l in program.lines()[since:] if re.search(pattern, l)]


def read_from(topic, bootstrap, starts, timeout=60):
    """The records of `topic` from `starts` ({partition: offset}) to each partition's current end,
    read by a group-less consumer: what a consumer that starts at those offsets would get."""
    tps = {p: TopicPartition(topic, p) for p in starts}
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    records = []
    try:
        c.assign(list(tps.values()))
        for p, off in starts.items():
            c.seek(tps[p], off)
        ends = c.end_offsets(list(tps.values()))

        def caught_up():
            for batch in c.poll(timeout_ms=200).values():
                records.extend(batch)
            return all(c.position(tp) >= ends[tp] for tp in tps.values())

        wait_until(caught_up, timeout, f"{topic}를 끝까지 읽기", interval=0)
    finally:
        c.close()
    return sorted(records, key=lambda r: (r.partition, r.offset))
