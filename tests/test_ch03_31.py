"""Chapter 3.1 (카프카 브로커·클러스터·주키퍼): segment files read back with kafka-dump-log.sh, the page cache
(fincore), high watermark against each replica's log end offset on the three-node cluster, a KRaft controller
election, retention by whole segments, and where a group's commits live in __consumer_offsets.

Every assertion reads the brokers (or their files) again after the notebook ran twice in a row.
"""
import math
import struct

import pytest
from kafka import KafkaConsumer, TopicPartition

from conftest import notebook_fixture
from kafkabook import runtime, settings, storage
from kafkabook.coordinator import find_coordinator
from kafkabook.errors import InvalidInput
from kafkabook.quorum import quorum_leader
from kafkabook.topics import beginning_offsets, describe, end_offsets
from kafkabook.waiting import wait_until

nb_broker = notebook_fixture("ch03/01_broker_cluster.ipynb", "cluster")


def _java_hash(text):
    """Java's String.hashCode, written independently of the notebook (UTF-16 code units, int32 overflow)."""
    h = 0
    units = text.encode("utf-16-le")
    for i in range(0, len(units), 2):
        h = (h * 31 + struct.unpack_from("<H", units, i)[0]) % (1 << 32)
    return struct.unpack("<i", struct.pack("<I", h))[0]


def _offset_key_group(key):
    """The group of an offset-commit key of __consumer_offsets (key version 0 or 1), else None."""
    if not key or len(key) < 4:
        return None
    version, length = struct.unpack_from(">hh", key, 0)
    if version not in (0, 1):
        return None
    return key[4:4 + length].decode()


def _partitions_holding(group, bootstrap):
    """The __consumer_offsets partitions whose records carry an offset commit of `group` (read raw, all 50)."""
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = wait_until(lambda: c.partitions_for_topic("__consumer_offsets"), 30, "__consumer_offsets")
        tps = [TopicPartition("__consumer_offsets", p) for p in sorted(parts)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        ends = c.end_offsets(tps)
        found = set()

        def done():
            for tp, records in c.poll(timeout_ms=300).items():
                found.update(tp.partition for r in records if _offset_key_group(r.key) == group)
            return all(c.position(tp) >= ends[tp] for tp in tps)

        wait_until(done, 60, "__consumer_offsets 끝까지 읽기", interval=0)
        return found
    finally:
        c.close()


# ---------------------------------------------------------------- storage

def test_dump_log_batch_base_offsets_equal_the_producers_offsets(nb_broker):
    acked = nb_broker.ref("acked")
    assert acked == list(range(13))
    batches = storage.batches(storage.dump_log("ch03-segments", 0))      # dump-log run again by the test
    bases = [b["base_offset"] for b in batches]
    covered = [o for b in batches for o in range(b["base_offset"], b["last_offset"] + 1)]
    assert covered == acked
    assert set(bases) <= set(acked) and bases[-3:] == [10, 11, 12]      # the three sends confirmed one by one
    assert sum(b["count"] for b in batches) == len(acked)
    assert len({b["producer_id"] for b in batches}) == 1 and batches[0]["producer_id"] >= 0
    assert nb_broker.ref("batch_bases") == bases


def test_dump_log_refuses_a_missing_partition_folder_in_korean(nb_broker):
    with pytest.raises(InvalidInput, match="파티션 폴더 ch03-segments-7가 없다"):
        storage.dump_log("ch03-segments", 7)
    folders = [n for n, _ in storage.folder_files("ch03-segments", 0)]
    assert "00000000000000000000.log" in folders


def test_fincore_reports_the_fresh_segment_in_the_page_cache(nb_broker):
    fresh, dropped, reread = (nb_broker.ref(n) for n in ("cache_fresh", "cache_dropped", "cache_reread"))
    pages = math.ceil(fresh["size"] / 4096)
    assert fresh["size"] > 500_000 and fresh["pages"] >= 0.9 * pages      # just written: (nearly) all cached
    assert dropped["pages"] < 0.1 * pages                                  # fsync + fadvise(DONTNEED) emptied it
    assert reread["pages"] >= 0.9 * pages                                  # the consumer's read brought it back
    [segment] = storage.segment_paths("ch03-pagecache", 0)
    now = storage.fincore(segment)
    assert now["size"] == fresh["size"] and now["pages"] > 0


# ---------------------------------------------------------------- replication

def test_high_watermark_stopped_while_the_leo_moved_and_the_follower_caught_up(nb_broker, cluster):
    tb = nb_broker
    slow, leader, other = tb.ref("SLOW"), tb.ref("LEADER"), tb.ref("OTHER")
    hw_during, leo_during = tb.ref("during")
    leo_during = {int(k): v for k, v in leo_during.items()}
    assert hw_during == 10 and leo_during == {leader: 20, other: 20, slow: 10}
    assert tb.ref("len(visible)") == 10
    # read back now: the partition is whole, HW == LEO on every replica (the controller section later stops
    # one node, so leadership may have moved within the replica list)
    [part] = describe("ch03-replication", cluster)
    assert part["replicas"] == [leader, other, slow]
    wait_until(lambda: sorted(describe("ch03-replication", cluster)[0]["isr"]) == [1, 2, 3], 60, "ISR 3개")
    assert end_offsets("ch03-replication", cluster) == {0: 20}
    for node in (1, 2, 3):
        assert storage.log_end_offset("ch03-replication", 0, f"kafka-{node}") == 20
    last = storage.batches(storage.dump_log("ch03-replication", 0, data=False, service=f"kafka-{slow}"))[-1]
    assert last["last_offset"] == 19


# ---------------------------------------------------------------- controller

def test_a_new_active_controller_was_elected_and_the_quorum_has_a_leader(nb_broker, cluster):
    tb = nb_broker
    old, elected = tb.ref("OLD_CONTROLLER"), tb.ref("elected")
    assert elected["leader_id"] in (1, 2, 3) and elected["leader_id"] != old
    assert tb.ref("len(read_back)") == 6
    now = quorum_leader(cluster)
    assert now["leader_id"] in (1, 2, 3)
    assert now["leader_epoch"] >= elected["leader_epoch"]
    assert all(runtime.status(settings.CLUSTER).values())
    assert sorted(p["leader"] >= 0 for p in describe("ch03-controller", cluster)) == [True] * 3


# ---------------------------------------------------------------- retention

def test_log_start_offset_rises_to_a_segment_boundary_after_retention(nb_broker):
    tb = nb_broker
    assert tb.ref("start_before") == 0
    start = beginning_offsets("ch03-retention")[0]
    assert start == tb.ref("start_after") == 40
    oldest = storage.segment_paths("ch03-retention", 0)[0].name
    assert int(oldest.split(".")[0]) == start                  # the log now starts at a segment's base offset
    assert end_offsets("ch03-retention") == {0: 60}


# ---------------------------------------------------------------- __consumer_offsets

def test_the_computed_offsets_partition_holds_the_groups_commit(nb_broker, cluster):
    tb = nb_broker
    group, computed = tb.ref("OFFSETS_GROUP"), tb.ref("OFFSETS_PARTITION")
    assert computed == abs(_java_hash(group)) % 50
    assert _partitions_holding(group, cluster) == {computed}
    leader = describe("__consumer_offsets", cluster)[computed]["leader"]
    assert find_coordinator(group, cluster) == leader


def test_the_exercise_checker_judges_from_the_broker(nb_broker, cluster):
    check = nb_broker.ref("check_my_partition")
    group = "스터디-그룹-3.1"                                  # non-ASCII: UTF-16 code units in the hash
    right = abs(_java_hash(group)) % 50
    ok, found = check(group, right)
    assert ok and any(r["group"] == group for r in found)
    assert _partitions_holding(group, cluster) == {right}
    wrong, _ = check(group, (right + 1) % 50)
    assert not wrong
    assert check(group, None)[0] is False
