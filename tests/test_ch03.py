"""Chapter 3 (카프카 기본 개념 설명): every notebook executed twice in a row, then the brokers (and their files)
read back by the tests themselves. Sections: 3.1 segments, page cache, high watermark, KRaft controller
election, retention, __consumer_offsets; 3.2 topic names; 3.3 records; 3.4.1 producer API; 3.4.2 consumer API
with the JVM-program helper; 3.4.3 admin API against the CLI tools.
"""
import math
import struct
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import for_code
from kafka.partitioner import murmur2

from conftest import notebook_fixture
from kafkabook import consumers, jvm, kafka_sh, runtime, settings, storage
from kafkabook.connection import admin_client, producer
from kafkabook.coordinator import find_coordinator
from kafkabook.errors import InvalidInput
from kafkabook.names import create_checked, name_problems
from kafkabook.quorum import quorum_leader
from kafkabook.records import BadValue, JsonOrReport
from kafkabook.storage import dump_records, segment_paths
from kafkabook.tables import group_table, parse_configs, parse_topic_list, parse_topic_partitions
from kafkabook.topics import beginning_offsets, delete_topics, describe, end_offsets, fresh_topic, read_all
from kafkabook.waiting import wait_until


# ======================================================================
# 3.1 카프카 브로커·클러스터·주키퍼
# Chapter 3.1 (카프카 브로커·클러스터·주키퍼): segment files read back with kafka-dump-log.sh, the page cache
# (fincore), high watermark against each replica's log end offset on the three-node cluster, a KRaft controller
# election, retention by whole segments, and where a group's commits live in __consumer_offsets.
#
# Every assertion reads the brokers (or their files) again after the notebook ran twice in a row.
# ======================================================================

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


# ======================================================================
# 3.2 토픽과 파티션, 3.3 레코드
# Chapter 3, sections 3.2 (토픽과 파티션) and 3.3 (레코드). Each notebook runs twice in a row against the real
# broker; the tests read the broker (topics, groups, records, segment files) back themselves.
# ======================================================================

def _ch03b_topics():
    with admin_client() as admin:
        return set(admin.list_topics())


def _ch03b_committed(group):
    with admin_client() as admin:
        return {tp.partition: om.offset for tp, om in admin.list_group_offsets(group)[group].items()}


# ---------------------------------------------------------------- 3.2 토픽과 파티션

nb_topic_partition = notebook_fixture("ch03/02_topic_partition.ipynb")


def test_partition_is_append_only_and_two_groups_read_the_same_records(nb_topic_partition):
    tb = nb_topic_partition
    records = read_all("ch03.partition.queue")
    by_partition = {}
    for r in records:
        by_partition.setdefault(r.partition, []).append((r.offset, r.value.decode()))
    # offsets only grow, one step at a time, and reading removed nothing
    assert by_partition == {0: [(i, f"p0-{i}") for i in range(5)], 1: [(i, f"p1-{i}") for i in range(2)]}
    assert end_offsets("ch03.partition.queue") == {0: 5, 1: 2}
    first = [[0, 0, "p0-0"], [0, 1, "p0-1"], [0, 2, "p0-2"], [1, 0, "p1-0"], [1, 1, "p1-1"]]
    assert tb.value("read_a") == tb.value("read_b") == first
    assert tb.value("read_a_again") == [[0, 3, "p0-3"], [0, 4, "p0-4"]]
    # each group keeps its own position on the broker
    assert _ch03b_committed("ch03.queue.reader-a") == {0: 5, 1: 2}
    assert _ch03b_committed("ch03.queue.reader-b") == {0: 3, 1: 2}


@pytest.mark.parametrize("name, reason", [
    ("order list", "contains one or more characters other than ASCII alphanumerics"),
    ("주문", "contains one or more characters other than ASCII alphanumerics"),
    ("orders/2024", "contains one or more characters other than ASCII alphanumerics"),
    ("o" * 250, "is longer than the max allowed length 249"),
    (".", "'.' is not allowed"),
    ("..", "'..' is not allowed"),
])
def test_invalid_names_are_refused_by_cli_and_admin_and_not_created(nb_topic_partition, name, reason):
    refused = nb_topic_partition.value("refused")[name]
    returncode, line = refused["cli"]
    assert returncode == 1 and line.startswith("Error while executing topic command") and reason in line
    kind, message = refused["admin"]
    assert kind == "InvalidTopicError" and reason in message
    assert name not in _ch03b_topics()
    # the broker says the same to the test itself (validate_only: nothing could be created)
    with admin_client() as admin:
        [t] = admin.create_topics({name: {"num_partitions": 1}}, validate_only=True,
                                  raise_errors=False)["topics"]
    assert for_code(t["error_code"]).__name__ == "InvalidTopicError" and reason in t["error_message"]


def test_a_249_character_name_is_accepted_and_removed_again(nb_topic_partition):
    tb = nb_topic_partition
    assert tb.value("longest_created") is True and tb.value("len(folder)") == 251
    assert "o" * 249 not in _ch03b_topics()


def test_names_differing_by_dot_and_underscore_collide(nb_topic_partition):
    tb = nb_topic_partition
    out = tb.value("collision_cli.stdout")
    assert tb.value("collision_cli.returncode") == 1
    assert "WARNING: Due to limitations in metric names" in out
    assert "Topic 'ch03_user_signup' collides with existing topic: ch03.user.signup" in out
    topics = _ch03b_topics()
    assert "ch03.user.signup" in topics and "ch03_user_signup" not in topics
    # kafka-python is refused by the controller with the same sentence
    with admin_client() as admin:
        [t] = admin.create_topics({"ch03_user_signup": {}}, validate_only=True, raise_errors=False)["topics"]
    assert "collides with existing topic: ch03.user.signup" in t["error_message"]


def test_internal_names(nb_topic_partition):
    tb = nb_topic_partition
    refused = tb.value("internal_refused")
    for name in ("__consumer_offsets", "__transaction_state"):
        assert refused[name]["cli"][1].endswith(f"Topic '{name}' already exists.")
        assert refused[name]["admin"][0] == "TopicAlreadyExistsError"
    assert refused["__cluster_metadata"]["admin"] == [
        "InvalidRequestError", "Creation of internal topic __cluster_metadata is prohibited."]
    assert "prohibited" in refused["__cluster_metadata"]["cli"][1]
    with admin_client() as admin:
        metas = {t["name"]: t for t in admin.describe_topics(["__consumer_offsets", "__transaction_state"])}
        topics = admin.list_topics()
    # still the broker's own 50-partition internal topics
    assert all(m["is_internal"] and len(m["partitions"]) == 50 for m in metas.values())
    # a user topic starting with "__" was created, is not internal, and is gone again
    assert tb.value("private_cli.ok") is True and tb.value("private_meta['is_internal']") is False
    assert "__ch03.private" not in topics


@pytest.mark.parametrize("name", ["dev.payments.card_approved.v1", "주문.v1", "__dev.x.y.v1", "ch03_user_signup",
                                  "o" * 250, "..", "test"])
def test_checked_create_refuses_in_korean_and_creates_nothing(nb_topic_partition, name):
    with pytest.raises(InvalidInput) as e:
        create_checked(name, partitions=1)
    assert "만들지 않았다" in str(e.value)
    if name != "ch03_user_signup":
        assert name not in _ch03b_topics()
    else:
        assert name not in _ch03b_topics() and "ch03.user.signup" in _ch03b_topics()
    assert name_problems("prd.payments.card-approved.v1") == []


def test_checked_create_made_the_conventional_topic(nb_topic_partition):
    with admin_client() as admin:
        [meta] = admin.describe_topics(["dev.payments.card-approved.v1"])
    assert len(meta["partitions"]) == 3 == nb_topic_partition.value("payments_partitions")
    assert "dev.payments.card_approved.v1" not in _ch03b_topics()


def test_topic_exercise_checker_reads_the_broker(nb_topic_partition):
    tb = nb_topic_partition
    assert tb.value("exercise_check()")[0] is False
    try:
        fresh_topic("dev.search.query-log.v1", partitions=2)
        ok, message = tb.value("exercise_check()")
        assert not ok and "파티션이 2개" in message
        delete_topics(["dev.search.query-log.v1"])
        fresh_topic("dev.search.query_log.v1", partitions=4)
        assert tb.value("exercise_check()")[0] is False
        delete_topics(["dev.search.query_log.v1"])
        fresh_topic("dev.search.query-log.v1", partitions=4)
        assert tb.value("exercise_check()") == [True, "정답이다! dev.search.query-log.v1 (파티션 4개)"]
    finally:
        delete_topics(["dev.search.query-log.v1", "dev.search.query_log.v1"])


# ---------------------------------------------------------------- 3.3 레코드

nb_record = notebook_fixture("ch03/03_record.ipynb")
CT, LAT = "ch03.record.create-time", "ch03.record.log-append-time"


def test_create_time_keeps_the_producer_timestamp_log_append_time_takes_the_brokers(nb_record):
    tb = nb_record
    old = tb.value("OLD")
    assert old == int(datetime(2020, 1, 1, tzinfo=timezone(timedelta(hours=9))).timestamp() * 1000)
    ct, lat = read_all(CT)[0], read_all(LAT)[0]
    assert (ct.timestamp, ct.timestamp_type) == (old, 0)
    low, high = tb.value(f"window['{LAT}']")
    assert lat.timestamp_type == 1 and low <= lat.timestamp <= high and lat.timestamp != old
    # the producer was told the broker's time too
    assert tb.value(f"metadata['{LAT}'].timestamp") == lat.timestamp
    assert tb.value(f"metadata['{CT}'].timestamp") == old


def test_future_timestamp_was_refused_and_not_stored(nb_record):
    tb = nb_record
    assert tb.value("timestamp_limits['log.message.timestamp.after.max.ms']") == "3600000"
    values = [r.value for r in read_all(CT)]
    assert values == [b"created", b'{"amount": 15000}', b"no key"]


def test_headers_read_back_with_repeated_keys(nb_record):
    record = read_all(CT)[1]
    assert record.key == b"order-2"
    assert record.headers == [("trace", b"gateway"), ("trace", b"order-service"),
                              ("content-type", b"application/json"), ("checksum", b"\x00\xff\x10")]
    assert nb_record.value("header_keys") == ["trace", "trace", "content-type", "checksum"]
    assert nb_record.value("[v.decode() for v in trace_values]") == ["gateway", "order-service"]


def test_dump_log_shows_the_offsets_keys_and_headers_the_producer_sent(nb_record):
    tb = nb_record
    files = ",".join(str(p) for p in segment_paths(CT, 0))
    rows = dump_records(kafka_sh(f"kafka-dump-log.sh --print-data-log --files {files}"))
    sent_offsets = [tb.value(f"metadata['{CT}'].offset"), tb.value("with_headers.offset"),
                    tb.value("without_key.offset")]
    assert [r["offset"] for r in rows] == sent_offsets == [0, 1, 2]
    assert [r["key"] for r in rows] == ["order-1", "order-2", None]
    assert rows[1]["headerKeys"] == ["trace", "trace", "content-type", "checksum"]
    assert rows[1]["payload"] == '{"amount": 15000}' and rows[1]["keySize"] == 7 and rows[2]["keySize"] == -1
    assert all(r["timestamp_type"] == "CreateTime" for r in rows) and rows[0]["timestamp"] == tb.value("OLD")
    # the old timestamp rolled a second segment (LogSegment.shouldRoll)
    assert [p.name for p in segment_paths(CT, 0)] == ["00000000000000000000.log", "00000000000000000001.log"]
    # the notebook's own dump agrees
    assert [r["offset"] for r in tb.value("on_disk")] == [0, 1, 2]
    [lat_row] = dump_records(kafka_sh(f"kafka-dump-log.sh --print-data-log --files {segment_paths(LAT, 0)[0]}"))
    assert lat_row["timestamp_type"] == "LogAppendTime" and lat_row["timestamp"] == read_all(LAT)[0].timestamp


def test_json_bad_bytes_get_a_korean_message_and_later_records_are_read(nb_record):
    tb = nb_record
    assert tb.value("plain_read") == [[0, {"id": 1}], [1, {"id": 2}]]
    assert tb.value("good") == [[0, {"id": 1}], [1, {"id": 2}], [4, {"id": 5}]]
    assert tb.value("skipped") == [2, 3]
    printed = "".join(o.get("text", "") for c in tb.cells if c.cell_type == "code" and "JsonOrReport()" in c.source
                      for o in c.outputs)
    assert "오프셋 2을(를) 건너뛴다 - JSON이 아닌 값" in printed and "UTF-8이 아니다" in printed
    assert "오프셋 3을(를) 건너뛴다" in printed and "JSON 문법이 깨졌다" in printed
    # the bytes on the broker are what was sent
    assert [r.value for r in read_all("ch03.record.json")] == [b'{"id": 1}', b'{"id": 2}', b"\xff\xfe not json",
                                                                b'{"id": 4', b'{"id": 5}']
    bad = JsonOrReport().deserialize("t", [], b"{oops")
    assert isinstance(bad, BadValue) and "JSON 문법" in str(bad)


def test_record_exercise_checker_reads_the_broker(nb_record):
    tb = nb_record
    assert tb.value("exercise_check()")[0] is False
    ts = int(datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=9))).timestamp() * 1000)
    with producer() as p:
        p.send("ch03.record.exercise", key=b"order-7", value=b"x", timestamp_ms=ts,
               headers=[("source", b"web"), ("retry", b"1")]).get(10)
    ok, message = tb.value("exercise_check()")
    assert not ok and "헤더" in message
    with producer() as p:
        p.send("ch03.record.exercise", key=b"order-7", value=b"x", timestamp_ms=ts - 9 * 3600 * 1000,
               headers=[("source", b"web"), ("retry", b"1"), ("retry", b"2")]).get(10)
    ok, message = tb.value("exercise_check()")
    assert not ok and "타임스탬프" in message
    with producer() as p:
        p.send("ch03.record.exercise", key=b"order-7", value=b"x", timestamp_ms=ts,
               headers=[("source", b"web"), ("retry", b"1"), ("retry", b"2")]).get(10)
    assert tb.value("exercise_check()")[0] is True


def test_string_json_and_bytes_serializers_round_trip(nb_record):
    tb = nb_record
    raw = {r.key: r.value for r in read_all("ch03.record.serde")}
    assert raw == {"문자열".encode(): "안녕, 카프카".encode(), b"json": '{"주문": 7, "금액": 15000}'.encode(),
                   b"bytes": bytes([0xCA, 0xFE, 0xBA, 0xBE])}
    assert tb.value("decoded") == {"문자열": "안녕, 카프카", "json": {"주문": 7, "금액": 15000}, "bytes": "cafebabe"}


# ======================================================================
# 3.4.1 프로듀서 API, 3.4.3 어드민 API
# Chapter 3.4.1 (producer API) and 3.4.3 (admin API): each notebook runs against the real broker and the tests read
# the broker back themselves: partitions chosen by the custom partitioner, callback metadata against what a consumer
# reads, the errback's error class, batching metrics, and admin API results against the CLI tools.
# ======================================================================

def _ch03p341_murmur2(key, n):
    return (murmur2(key.encode()) & 0x7fffffff) % n


def _ch03p341_cell(tb, snippet):
    return next(c for c in tb.cells if c.cell_type == "code" and snippet in c.source)


# ---------------------------------------------------------------- 3.4.1 프로듀서 API

nb_producer = notebook_fixture("ch03/04_1_producer_api.ipynb")
CITIES = ["Pangyo", "Busan", "Seoul", "Daejeon", "Gwangju"]


@pytest.mark.parametrize("n", [2, 3, 5])
def test_producer_special_key_on_partition_zero_for_every_partition_count(nb_producer, n):
    records = read_all(f"partitioner.p{n}")
    assert len(describe(f"partitioner.p{n}")) == n
    placed = {r.key.decode(): r.partition for r in records}
    assert len(records) == len(CITIES) and set(placed) == set(CITIES)   # once each, also after the second run
    assert placed["Pangyo"] == 0 != _ch03p341_murmur2("Pangyo", n)      # the rule changed where Pangyo goes
    for city in CITIES[1:]:
        assert placed[city] == _ch03p341_murmur2(city, n), city
    assert nb_producer.value(f"placed[{n}]") == placed


def test_producer_null_key_refused_and_nothing_on_the_broker(nb_producer):
    cell = _ch03p341_cell(nb_producer, 'value="no-key"')
    assert "raises-exception" in cell.metadata.get("tags", [])
    [error] = [o for o in cell.outputs if o.output_type == "error"]
    assert error.ename == "InvalidInput" and "키가 없는 레코드" in error.evalue
    records = read_all("partitioner.p3")
    assert all(r.key is not None for r in records) and b"no-key" not in {r.value for r in records}
    assert sum(end_offsets("partitioner.p3").values()) == len(CITIES)
    assert nb_producer.value("before == after") is True


def test_producer_keys_values_and_chosen_partition_on_the_broker(nb_producer):
    records = read_all("producer.api")
    by_value = {r.value.decode(): r for r in records}
    assert len(records) == 1 + 4 + 3 + 1                      # simple, keyed, console producer, partition=2
    assert by_value["testMessage"].key is None
    for key, value in [("Pangyo", "23"), ("Busan", "24"), ("Pangyo", "25"), ("Seoul", "26")]:
        assert by_value[value].key == key.encode() and by_value[value].partition == _ch03p341_murmur2(key, 3)
    for value, key in [("java-1", "Pangyo"), ("java-2", "Busan"), ("java-3", "Seoul")]:
        assert by_value[value].key == key.encode() and by_value[value].partition == _ch03p341_murmur2(key, 3)
    assert by_value["to-2"].partition == 2 != _ch03p341_murmur2("Pangyo", 3)
    assert "to-7" not in by_value


def test_producer_callback_metadata_equals_what_a_consumer_reads(nb_producer):
    shown = nb_producer.value("[[m.topic, m.partition, m.offset, m.timestamp, t] for m, t in delivered]")
    records = read_all("producer.async")
    assert len(shown) == len(records) == 6
    assert {(t, p, o, ts) for t, p, o, ts, _ in shown} == \
        {(r.topic, r.partition, r.offset, r.timestamp) for r in records}
    assert {r.value.decode() for r in records} == {f"v{i}" for i in range(6)}
    for r in records:
        assert r.partition == _ch03p341_murmur2(r.key.decode(), 3)
    assert all(thread != "MainThread" for *_, thread in shown)   # callbacks ran on the sender's thread
    assert nb_producer.value("failed") == []


def test_producer_errback_fired_with_the_real_error_class(nb_producer):
    assert nb_producer.value("type(big_errors[0]).__module__ + '.' + type(big_errors[0]).__name__") == \
        "kafka.errors.MessageSizeTooLargeError"
    assert nb_producer.value("big_errors[0].errno") == 10          # MESSAGE_TOO_LARGE from the broker
    assert nb_producer.value("len(big_errors)") == 1 and nb_producer.value("big_ok") == []
    assert end_offsets("producer.small") == {0: 0}
    with admin_client() as admin:
        cfg = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "producer.small")])
    assert cfg["topic"]["producer.small"]["max.message.bytes"]["value"] == "1024"


def test_producer_metrics_show_batching_with_linger(nb_producer):
    runs = nb_producer.value("runs")
    rpr = {label: m["records-per-request-avg"] for label, m in runs.items()}
    assert abs(rpr["동기"] - 1.0) < 0.01                            # one record per request when waiting each time
    assert rpr["linger 0"] < 3
    assert rpr["linger 50"] > 3 and rpr["linger 50"] > 2 * rpr["linger 0"]
    assert runs["linger 50"]["batch-size-avg"] > runs["linger 0"]["batch-size-avg"]
    assert runs["linger 50"]["record-queue-time-avg"] > 10         # ms the batches waited in the accumulator
    assert end_offsets("producer.metrics") == {0: 3 * 201}          # warm-up + 200 per run, on the broker


def test_producer_quiz_checker_judges_from_the_broker(nb_producer):
    tb = nb_producer
    tb.inject("from kafka.partitioner import DefaultPartitioner\n"
              "quiz_default = check_quiz() if send_quiz(DefaultPartitioner()) is None else None")
    assert tb.value("quiz_default") is False
    assert [r.partition for r in read_all("partitioner.quiz") if r.key == b"Jeju"] == [2, 2, 2]
    tb.inject("class AllLast(Partitioner):\n"
              "    def partition(self, topic, key, sk, v, sv, cluster):\n"
              "        return max(cluster.partitions_for_topic(topic))\n"
              "send_quiz(AllLast())\n"
              "quiz_all_last = check_quiz()")
    assert tb.value("quiz_all_last") is False
    tb.inject("class JejuLast(Partitioner):\n"
              "    def partition(self, topic, key, sk, v, sv, cluster):\n"
              "        parts = sorted(cluster.partitions_for_topic(topic))\n"
              "        if sk is None:\n"
              "            raise InvalidInput('키가 없다')\n"
              "        if sk == b'Jeju':\n"
              "            return parts[-1]\n"
              "        return parts[(murmur2(sk) & 0x7fffffff) % len(parts)]\n"
              "send_quiz(JejuLast())\n"
              "quiz_right = check_quiz()")
    assert tb.value("quiz_right") is True
    records = read_all("partitioner.quiz")
    assert len(records) == 8
    for r in records:
        want = 3 if r.key == b"Jeju" else _ch03p341_murmur2(r.key.decode(), 4)
        assert r.partition == want


# ---------------------------------------------------------------- 3.4.3 어드민 API

nb_admin = notebook_fixture("ch03/04_3_admin_api.ipynb")


def test_admin_every_comparison_with_the_cli_agrees(nb_admin):
    agreement = nb_admin.value("agreement")
    assert len(agreement) == 9 and all(agreement.values()), agreement
    out = "".join(o.get("text", "") for c in nb_admin.cells if c.cell_type == "code" for o in c.outputs)
    assert out.count("[일치]") == 9 and "[불일치]" not in out


def test_admin_brokers_and_controller_equal_the_broker(nb_admin):
    with admin_client() as admin:
        cluster = admin.describe_cluster()
        leader = admin.describe_metadata_quorum()["topics"][0]["partitions"][0]["leader_id"]
    assert nb_admin.value("api_brokers") == [{"id": b["broker_id"], "host": b["host"], "port": b["port"]}
                                             for b in cluster["brokers"]]
    assert nb_admin.value("api_leader") == leader
    status = kafka_sh("kafka-metadata-quorum.sh --bootstrap-controller localhost:9093 describe --status")
    assert f"LeaderId:               {leader}" in status.stdout


def test_admin_broker_config_values_equal_the_cli(nb_admin):
    keys = nb_admin.value("KEYS")
    cli = parse_configs(kafka_sh(f"kafka-configs.sh --bootstrap-server {settings.BOOTSTRAP} --describe "
                                 "--entity-type brokers --entity-name 1 --all"))
    shown = nb_admin.value("{k: broker_configs[k]['value'] for k in KEYS}")
    assert shown == {k: cli[k] for k in keys}
    assert shown["log.retention.hours"] == "168" and shown["num.partitions"] == "1"
    assert nb_admin.value("broker_configs['num.partitions']['config_source']") == "STATIC_BROKER_CONFIG"


def test_admin_topics_partitions_and_leaders_equal_the_cli(nb_admin):
    listed = parse_topic_list(kafka_sh(f"kafka-topics.sh --bootstrap-server {settings.BOOTSTRAP} --list"))
    # the notebook's two views were taken at the same moment; the broker still holds every topic they listed
    # (admin.quiz is recreated later in the notebook, so it is absent on a first run against a fresh broker)
    api_topics = nb_admin.value("api_topics")
    assert nb_admin.value("cli_topics") == api_topics and "admin.api" in listed
    assert set(api_topics) - {"admin.quiz"} <= set(listed)
    cli_rows = parse_topic_partitions(kafka_sh(f"kafka-topics.sh --bootstrap-server {settings.BOOTSTRAP} "
                                               "--describe --topic admin.api"))
    broker_rows = [{"topic": "admin.api", **row} for row in describe("admin.api")]
    assert nb_admin.value("api_partitions") == cli_rows == broker_rows and len(cli_rows) == 3
    assert all(r["leader"] == 1 for r in cli_rows)
    assert nb_admin.value("api_topic_configs") == {"retention.ms": "86400000"}


def test_admin_group_offsets_and_lag_equal_the_cli_and_the_broker(nb_admin):
    with admin_client() as admin:
        committed = admin.list_group_offsets("admin-group")["admin-group"]
    ends = end_offsets("admin.api")
    broker_lag = [{"TOPIC": "admin.api", "PARTITION": p, "CURRENT-OFFSET": committed[TopicPartition("admin.api", p)].offset,
                   "LOG-END-OFFSET": ends[p], "LAG": ends[p] - committed[TopicPartition("admin.api", p)].offset}
                  for p in sorted(ends)]
    cli = group_table(kafka_sh(f"kafka-consumer-groups.sh --bootstrap-server {settings.BOOTSTRAP} "
                                     "--describe --group admin-group"))
    cols = ("TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG")
    assert nb_admin.value("api_lag") == nb_admin.value("cli_lag") == broker_lag == \
        [{k: r[k] for k in cols} for r in cli]
    assert sum(r["LAG"] for r in broker_lag) == 7 and sum(r["CURRENT-OFFSET"] for r in broker_lag) == 20
    assert all(r["LOG-END-OFFSET"] > 0 for r in broker_lag)        # the keys reach every partition
    assert nb_admin.value("api_state") == {"state": "Empty", "members": 0}


def test_admin_missing_topic_gets_a_korean_message_and_is_not_created(nb_admin):
    cell = next(c for c in nb_admin.cells if c.cell_type == "code" and "describe_topic(MISSING)" in c.source)
    assert "raises-exception" in cell.metadata.get("tags", [])
    [error] = [o for o in cell.outputs if o.output_type == "error"]
    assert error.ename == "InvalidInput" and "UnknownTopicOrPartitionError" in error.evalue and "설명할 수 없다" in error.evalue
    assert nb_admin.value("missing_cli.returncode") == 1
    with admin_client() as admin:
        assert "admin.no-such-topic" not in admin.list_topics()


def _ch03p343_retention():
    with admin_client() as admin:
        cfg = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "admin.quiz", ["retention.ms"])],
                                     config_filter="all")
    return cfg["topic"]["admin.quiz"]["retention.ms"]["value"]


def test_admin_quiz_checker_judges_from_the_broker(nb_admin):
    tb = nb_admin
    assert tb.value("check_retention()") is False                   # untouched: still the default
    assert _ch03p343_retention() == "604800000"
    alter = ("with admin_client() as admin:\n"
             "    admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, QUIZ_TOPIC,"
             " {{'retention.ms': '{}'}})])\n")
    tb.inject(alter.format("7200"))                                  # 7.2 seconds, not two hours
    assert _ch03p343_retention() == "7200"
    assert tb.value("check_retention()") is False
    tb.inject(alter.format("7200000"))
    assert _ch03p343_retention() == "7200000"
    assert tb.value("check_retention()") is True


# ======================================================================
# 3.4.2 컨슈머 API and the JVM-program helper
# 3.4.2 컨슈머 API, and the JVM-program helper (kafkabook.jvm) the chapter's Java programs run through.
#
# The helper tests start real JVMs; the notebook tests read the broker back themselves.
# ======================================================================

BROKEN = """public class Broken {
    public static void main(String[] args) {
        System.out.println("never" + )
    }
}
"""

SLEEPER = """public class Sleeper {
    public static void main(String[] args) throws Exception {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println("hook ran")));
        System.out.println("ready " + args[0]);
        Thread.sleep(600_000);
    }
}
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


# ---------------------------------------------------------------- kafkabook.jvm

@pytest.mark.parametrize("launch", ["javac", "source"])
def test_jvm_compile_error_shows_javac_message_and_leaves_no_process(tmp_path, launch):
    before = jvm.running()
    prog = jvm.JavaProgram(_write(tmp_path, "Broken.java", BROKEN), name=f"broken-{launch}", launch=launch)
    with pytest.raises(jvm.JavaCompileError) as err:
        with prog:
            prog.wait_for_line("never", timeout=60, quiet=True)
    message = str(err.value)
    assert message.startswith("자바 컴파일 실패")
    assert "Broken.java:3: error" in message
    assert not prog.alive
    assert jvm.running() == before


@pytest.mark.parametrize("launch", ["javac", "source"])
def test_jvm_program_runs_logs_and_is_gone_after_stop(tmp_path, launch):
    prog = jvm.JavaProgram(_write(tmp_path, "Sleeper.java", SLEEPER), "hello", name="sleeper-test",
                           launch=launch)
    prog.start(quiet=True)
    try:
        line = prog.wait_for_line(r"ready \w+", timeout=60, quiet=True)
        assert line == "ready hello"
        assert (prog.pid, "sleeper-test") in jvm.running()
        assert "ready hello" in prog.log_path.read_text()
    finally:
        code = prog.stop(quiet=True)
    assert code == 143                                   # ended by SIGTERM
    assert "hook ran" in prog.lines()                    # the JVM ran its shutdown hook
    assert prog.stopped_in < 5
    assert all(pid != prog.pid for pid, _ in jvm.running())


@pytest.mark.parametrize("how", ["exit", "sigkill"])
def test_jvm_program_does_not_outlive_the_python_that_started_it(tmp_path, how):
    """atexit stops it when the kernel exits; the death signal when the kernel is killed."""
    source = _write(tmp_path, "Sleeper.java", SLEEPER)
    script = (f"import os, signal\nfrom kafkabook import jvm\n"
              f"p = jvm.JavaProgram({str(source)!r}, 'x', name='orphan-{how}').start(quiet=True)\n"
              f"p.wait_for_line('ready', timeout=60, quiet=True)\n"
              f"print(p.pid, flush=True)\n"
              + ("os.kill(os.getpid(), signal.SIGKILL)\n" if how == "sigkill" else ""))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=90,
                          cwd=Path(jvm.__file__).parent.parent)
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(p == pid for p, _ in jvm.running()):
        time.sleep(0.2)
    assert all(name != f"orphan-{how}" for _, name in jvm.running())


def test_jvm_context_manager_stops_on_failure(tmp_path):
    prog = jvm.JavaProgram(_write(tmp_path, "Sleeper.java", SLEEPER), "x", name="sleeper-fail")
    with pytest.raises(jvm.JavaProgramError, match="나오지 않았다"):
        with prog:
            prog.wait_for_line("this never appears", timeout=3, quiet=True)
    assert not prog.alive
    assert all(name != "sleeper-fail" for _, name in jvm.running())


# ---------------------------------------------------------------- 3.4.2 컨슈머 API


nb_consumer = notebook_fixture("ch03/04_2_consumer_api.ipynb")


def _outputs_text(cell):
    parts = []
    for o in cell.get("outputs", []):
        parts.append(o.get("text", ""))
        parts.append(str(o.get("data", {}).get("text/plain", "")))
        parts.append(f"{o.get('ename', '')}: {o.get('evalue', '')}")
    return "\n".join(parts)


def test_autocommit_crash_redelivers_exactly_the_predicted_records(nb_consumer):
    crash = nb_consumer.ref("crash")
    assert crash["processed_before_crash"] == 150
    assert 0 <= crash["committed_at_crash"] < 150
    assert crash["duplicates"] == crash["predicted"] == 150 - crash["committed_at_crash"]
    assert crash["duplicates"] > 0
    assert crash["restart_began_at"] == crash["committed_at_crash"]
    # the restarted consumer read to the end and committed it
    assert consumers.committed("autocommit-group", "consumer.autocommit") == {0: 300}


def test_commit_styles_are_measured_and_per_record_sync_is_slowest(nb_consumer):
    styles = {row["style"]: row for row in nb_consumer.ref("styles")}
    assert len(styles) == 4
    assert all(row["records"] == 1200 for row in styles.values()), styles
    per_record, per_batch = styles["레코드마다 commit()"], styles["배치마다 commit()"]
    assert per_record["commits"] == 1200 and per_batch["commits"] < 20
    assert per_record["records_per_s"] < per_batch["records_per_s"]
    assert per_record["records_per_s"] < styles["자동 커밋"]["records_per_s"]
    for name in ("자동 커밋", "배치마다 commit()", "레코드마다 commit()", "commit_async() + 끝에 commit()"):
        assert styles[name]["committed_total"] == 1200, name
    # the last run's group, read back from the broker: every record committed
    assert sum(consumers.committed("commit-style-group", "consumer.api").values()) == 1200


def test_rebalance_listener_prevents_the_duplicates_counted_without_it(nb_consumer):
    without, with_ = nb_consumer.ref("no_listener"), nb_consumer.ref("with_listener")
    assert without["distinct"] == with_["distinct"] == 600
    assert without["duplicates"] == without["predicted"] > 0
    assert with_["predicted"] > 0                        # there was something to lose at the revoke
    assert with_["duplicates"] == 0 and with_["processed"] == 600
    assert all(n > 0 for n in with_["by_consumer"].values())
    # the listener also ran at close: the broker holds every partition's end
    assert consumers.committed("rebalance-group", "consumer.rebalance") == {0: 300, 1: 300}


def test_assign_reads_one_partition_and_a_missing_one_is_refused_in_korean(nb_consumer):
    values = nb_consumer.ref("values")
    assert values == [r.value.decode() for r in read_all("consumer.api") if r.partition == 1]
    refused = [c for c in nb_consumer.nb.cells
               if c.cell_type == "code" and "check_partition(c, missing)" in c.source]
    text = _outputs_text(refused[0])
    assert "InvalidInput" in text and "파티션 99" in text and "[0, 1, 2]" in text


def test_both_shutdowns_leave_the_group_within_seconds(nb_consumer):
    java_leave, python_leave = nb_consumer.ref("java_leave_s"), nb_consumer.ref("python_leave_s")
    assert 0 < java_leave < 5
    assert 0 < python_leave < 5
    for group in ("java-wakeup-group", "python-event-group"):
        state, members = consumers.group_state(group)
        assert members == [] and state == "Empty", (group, state, members)
        assert consumers.committed(group, "consumer.shutdown") == {0: 5}
    log = (jvm.PROGRAMS_DIR / "SafeShutdownConsumer.log").read_text()
    order = ["shutdown hook: consumer.wakeup()", "WakeupException caught", "sending LeaveGroup", "consumer closed"]
    positions = [log.index(s) for s in order]
    assert positions == sorted(positions)


def test_the_kip848_consumer_group_also_empties_within_seconds(nb_consumer):
    assert 0 < nb_consumer.ref("kip848_leave_s") < 5
    assert consumers.group_listing("java-kip848-group") == ("consumer", "Empty")
    assert consumers.committed("java-kip848-group", "consumer.shutdown") == {0: 5}
    log = (jvm.PROGRAMS_DIR / "SafeShutdownConsumer-kip848.log").read_text()
    assert "transitioned from STABLE to PREPARE_LEAVING" in log and "consumer closed" in log


def test_no_jvm_program_left_after_the_notebook(nb_consumer):
    assert nb_consumer.ref("jvm.running()") == []
    assert jvm.running() == []


def test_exercise_checker_judges_the_committed_offset_from_the_broker(nb_consumer):
    tb = nb_consumer
    assert "아직" in tb.ref('consumers.check_exercise(EX_GROUP, EX_TOPIC, partition=1, done_value="p1-6")')

    def commit(offset):
        tb.inject(f"""
            _c = KafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=EX_GROUP,
                               enable_auto_commit=False)
            _tp = TopicPartition(EX_TOPIC, 1)
            _c.assign([_tp])
            _c.commit({{_tp: OffsetAndMetadata({offset}, "", -1)}})
            _c.close()
        """)
        return tb.ref('consumers.check_exercise(EX_GROUP, EX_TOPIC, partition=1, done_value="p1-6")')

    assert commit(6).startswith("틀렸다")                # the last processed record's own offset
    assert consumers.committed("exercise-group", "consumer.exercise") == {1: 6}
    assert commit(7).startswith("맞다")
