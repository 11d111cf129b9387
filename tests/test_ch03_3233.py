"""Chapter 3, sections 3.2 (토픽과 파티션) and 3.3 (레코드). Each notebook runs twice in a row against the real
broker; the tests read the broker (topics, groups, records, segment files) back themselves."""
from datetime import datetime, timedelta, timezone

import pytest
from kafka.errors import for_code

from conftest import notebook_fixture
from kafkabook import kafka_sh
from kafkabook.connection import admin_client, producer
from kafkabook.errors import InvalidInput
from kafkabook.names import create_checked, name_problems
from kafkabook.records import BadValue, JsonOrReport
from kafkabook.storage import dump_records, segment_paths
from kafkabook.topics import delete_topics, end_offsets, fresh_topic, read_all


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
