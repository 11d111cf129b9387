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


# ---------------------------------------------------------------- 4.1.3 ISR

nb_isr = notebook_fixture("ch04/01_3_isr.ipynb", "cluster")


def _cluster_describe(topic):
    from kafkabook import settings
    from kafkabook.topics import describe
    return describe(topic, settings.cluster_bootstrap())[0]


def test_no_node_is_left_paused(nb_isr):
    from kafkabook import settings
    assert not any(runtime.node(s).is_paused() for s in settings.CLUSTER)
    assert all(runtime.status(settings.CLUSTER).values())


def test_isr_shrinks_and_grows_back(nb_isr):
    tb = nb_isr
    follower = tb.value("FOLLOWER_ID")
    shrunk, grown = tb.value("shrunk"), tb.value("grown")
    assert follower not in shrunk["isr"] and tb.value("LEADER") in shrunk["isr"]
    assert follower in grown["isr"]
    assert sorted(_cluster_describe("isr-demo")["isr"]) == [1, 2, 3]
    if runtime.kind() == "local":
        import re
        line = tb.value("shrink_lines")[-1]
        before, after = re.search(r"Shrinking ISR from (\S+) to (\S+?)\.", line).groups()
        assert str(follower) in before.split(",") and str(follower) not in after.split(",")


def test_not_enough_replicas_with_two_followers_gone(nb_isr):
    from kafkabook import settings
    tb = nb_isr
    assert tb.value("error_name") == "NotEnoughReplicasError"
    values = [r.value for r in read_all("isr-demo", settings.cluster_bootstrap())]
    assert b"two-followers-gone" not in values          # refused: not in the log
    assert b"one-follower-gone" in values and b"acks-1-under-min-isr" in values
    # under min ISR the high watermark stayed before the acks=1 record
    assert tb.value("hw_under_min") == tb.value("acks1_offset")


def test_unclean_election_lost_records_counted_from_offsets(nb_isr):
    from kafkabook import settings
    tb = nb_isr
    cb = settings.cluster_bootstrap()
    end_now = end_offsets("unclean-demo", cb)[0]
    lost = tb.value("end_before") - end_now
    assert tb.value("lost") == lost and lost in (4, 5)
    values = [r.value.decode() for r in read_all("unclean-demo", cb)]
    assert values[:5] == [f"both-{i}" for i in range(5)]
    assert len([v for v in values if v.startswith("only-on-leader")]) == 5 - lost
    assert _cluster_describe("unclean-demo")["leader"] == tb.value("B_ID")


def test_offline_partition_while_unclean_election_is_off(nb_isr):
    tb = nb_isr
    assert tb.value("offline")["leader"] == -1 and tb.value("still_offline") is True


def test_elr_feature_is_enabled(nb_isr):
    from kafkabook import settings
    out = kafka_sh(f"kafka-features.sh --bootstrap-server {settings.cluster_bootstrap()} describe").stdout
    line = next(l for l in out.splitlines() if "eligible.leader.replicas.version" in l)
    assert "FinalizedVersionLevel: 1" in line and "FinalizedVersionLevel: 1" in nb_isr.value("elr_line")


def test_isr_exercise_checker(nb_isr):
    from kafkabook import settings
    tb = nb_isr
    cmd = (f"kafka-configs.sh --bootstrap-server {settings.cluster_bootstrap()} --alter --entity-type topics "
           "--entity-name isr-exercise --add-config min.insync.replicas=")
    assert _judge(tb) == "오답"
    kafka_sh(cmd + "3")
    assert _judge(tb) == "오답"
    kafka_sh(cmd + "2")
    assert _judge(tb) == "정답"


# ---------------------------------------------------------------- 4.1.1 적정 파티션 개수

nb_partitions = notebook_fixture("ch04/01_1_partition_count.ipynb")


def test_partition_count_follows_from_measured_rates(nb_partitions):
    import math
    from kafkabook.topics import describe
    tb = nb_partitions
    target, per_consumer, partitions = tb.value("TARGET"), tb.value("PER_CONSUMER"), tb.value("PARTITIONS")
    assert 0 < per_consumer <= 1000 / tb.value("WORK_MS")       # 5 ms per record: at most 200/s
    assert partitions == math.ceil(target * tb.value("HEADROOM") / per_consumer)
    assert tb.value("need") == math.ceil(3 * target * tb.value("HEADROOM") / per_consumer)
    assert len(describe("partition-sizing")) == partitions
    rates = tb.value("rates")
    assert tb.value("counts") == list(range(1, partitions + 2))
    # with the computed count of consumers the group keeps up with the producer
    assert tb.value("rate_at_partitions") == rates[partitions - 1] >= target
    if partitions > 1:
        assert rates[partitions - 1] > 1.5 * rates[0]
    # one consumer more than partitions: idle, no real gain
    assert rates[-1] < 1.3 * rates[partitions - 1]


def test_many_partitions_make_many_files(nb_partitions):
    files = [f for p in range(100) for f in runtime.segment_files("many-partitions", p)]
    assert len(files) == 300 == len(nb_partitions.value("files"))
    assert nb_partitions.value("rebalance_few") > 0 and nb_partitions.value("rebalance_many") > 0


def test_keys_move_when_partitions_grow_and_count_cannot_shrink(nb_partitions):
    from kafka.partitioner import murmur2
    from kafkabook.topics import describe
    tb = nb_partitions
    part = lambda k, n: (murmur2(k) & 0x7FFFFFFF) % n
    keys = [f"user-{i}".encode() for i in range(10000)]
    assert tb.value("moved") == sum(part(k, 4) != part(k, 5) for k in keys)
    placed = {r.value.decode(): r.partition for r in read_all("key-move")}
    assert placed == {"before": part(b"user-7", 4), "after": part(b"user-7", 5)}
    assert len(describe("key-move")) == 5
    assert tb.value("shrink.returncode") != 0
    assert "InvalidPartitionsException" in tb.value("shrink.stderr")
    assert "would not be an increase" in tb.value("shrink.stdout")


def test_partition_exercise_checker(nb_partitions):
    from kafkabook.topics import delete_topics, fresh_topic
    tb = nb_partitions
    need = tb.value("need")
    assert _judge(tb) == "오답"
    fresh_topic("sizing-exercise", partitions=need + 1)
    assert _judge(tb) == "오답"
    fresh_topic("sizing-exercise", partitions=need)
    assert _judge(tb) == "정답"
    delete_topics(["sizing-exercise"])
