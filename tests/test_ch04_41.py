"""Chapter 4.1: partition count (4.1.1), cleanup policies (4.1.2) and the ISR (4.1.3), each notebook run twice in
a row against the real broker or cluster; the tests read the broker (topics, offsets, segment files, configs) back."""
from kafka.admin import ConfigResource, ConfigResourceType

from conftest import notebook_fixture
from kafkabook import cleaner, kafka_sh, runtime
from kafkabook.connection import admin_client, producer
from kafkabook.topics import beginning_offsets, end_offsets, read_all


def _judge(tb, code=None):
    """Run `code` (the reader's answer) in the notebook's kernel, then the checker cell (the last) again."""
    if code:
        tb.inject(code, pop=True)
    tb.execute_cell(len(tb.cells) - 1)
    return tb.value("verdict")


def _error_names(tb, tag="raises-exception"):
    """The exception class names the cells tagged `tag` ended with."""
    return [o["ename"] for c in tb.cells if tag in c.get("metadata", {}).get("tags", [])
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def _dump(topic, partition=0):
    return cleaner.parse_dump(kafka_sh(cleaner.dump_command(topic, partition)).stdout)


# ---------------------------------------------------------------- 4.1.2 토픽 정리 정책

nb_cleanup = notebook_fixture("ch04/01_2_cleanup_policy.ipynb")


def test_time_retention_moved_the_log_start(nb_cleanup):
    start = beginning_offsets("retention-time-demo")[0]
    assert start >= nb_cleanup.value("time_start") > 0
    assert end_offsets("retention-time-demo")[0] == 15


def test_size_retention_applies_to_each_partition(nb_cleanup):
    mib = 1024 * 1024
    for p in (0, 1):
        size = cleaner.log_bytes("retention-size-demo", p)
        # retention.bytes (2 MiB) is kept, plus less than one segment (1 MiB) more
        assert 2 * mib <= size < 3 * mib, (p, size)
        assert beginning_offsets("retention-size-demo")[p] > 0


def test_compaction_keeps_latest_per_key_and_leaves_the_active_segment(nb_cleanup):
    tb = nb_cleanup
    before, after = tb.value("before"), tb.value("after")
    keys = tb.value("KEYS")
    # before: every key five times, five segments
    assert sorted((r["key"], r["value"]) for r in before) == sorted(
        (k, f"{k}:v{v}") for k in keys for v in range(1, 6))
    assert len({r["segment"] for r in before}) == 5
    # after: the closed part holds each key once with v4; the active segment still has v5
    active = max(r["segment"] for r in after)
    closed = [(r["key"], r["value"]) for r in after if r["segment"] != active]
    assert sorted(closed) == sorted((k, f"{k}:v4") for k in keys)
    assert sorted((r["key"], r["value"]) for r in after if r["segment"] == active) == sorted(
        (k, f"{k}:v5") for k in keys)
    # offsets are kept, not renumbered
    assert {r["offset"] for r in after} <= {r["offset"] for r in before}


def test_compacted_log_on_disk_now_has_each_key_once_outside_the_active_segment(nb_cleanup):
    records = _dump("compact-demo")
    active = cleaner.active_segment("compact-demo")
    closed = [r["key"] for r in records if r["segment"] != active]
    assert len(closed) == len(set(closed))
    latest = {}
    for r in read_all("compact-demo"):
        latest[r.key.decode()] = r.value.decode()
    assert latest == {f"user-{i}": f"user-{i}:v7" for i in (1, 2, 3)}


def test_tombstone_removed_after_delete_retention(nb_cleanup):
    tb = nb_cleanup
    tombstone = tb.value("tombstone")
    assert tombstone["value"] is None and tombstone["horizon"] > 0
    assert all(r["key"] != "user-0" for r in _dump("compact-demo"))
    assert all(r.key != b"user-0" for r in read_all("compact-demo"))
    with admin_client() as admin:
        cfg = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "compact-demo")])
    assert cfg["topic"]["compact-demo"]["delete.retention.ms"]["value"] == "3000"


def test_null_key_refused_and_nothing_written(nb_cleanup):
    tb = nb_cleanup
    assert "InvalidRecordError" in _error_names(tb)
    assert tb.value("end_before_null") == tb.value("end_after_null")


def test_compact_delete_drops_an_old_latest_value(nb_cleanup):
    keys = {r.key for r in read_all("compact-delete-demo")}
    assert b"once" not in keys
    assert beginning_offsets("compact-delete-demo")[0] > 0


def test_cleanup_exercise_checker(nb_cleanup):
    tb = nb_cleanup
    assert _judge(tb) == "오답"
    with producer() as p:
        p.send("exercise-compact", key=b"color", value=b"blue")
        p.flush()
    assert _judge(tb) == "오답"          # right record, but the policy is still delete
    kafka_sh("kafka-configs.sh --bootstrap-server localhost:9092 --alter --entity-type topics "
             "--entity-name exercise-compact --add-config cleanup.policy=compact")
    assert _judge(tb) == "정답"
    with producer() as p:
        p.send("exercise-compact", key=b"color", value=b"red")
        p.flush()
    assert _judge(tb) == "오답"
