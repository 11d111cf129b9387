"""Chapter 2, second half: kafka-consumer-groups, the verifiable producer/consumer, kafka-delete-records and the
chapter's cleanup. Each notebook runs against the real broker; the tests read the broker back themselves.

To be merged into tests/test_ch02.py: fixtures are named nb_*, helpers _ch02p2_*. Keep the 2.3 (summary) tests
last in the merged file, because its notebook deletes the chapter's topics.
"""
import json
from collections import Counter

import pytest
from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from conftest import NOTEBOOKS, executed
from kafkabook.connection import admin_client, consumer
from kafkabook.topics import beginning_offsets, end_offsets, fresh_topic, read_all


def _ch02p2_committed(group):
    """{partition: committed offset} of `group`, read from the group coordinator."""
    with admin_client() as admin:
        offsets = admin.list_group_offsets(group)[group]
    return {tp.partition: oam.offset for tp, oam in offsets.items()}


def _ch02p2_json_events(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


# ---------------------------------------------------------------- 2.2.4 kafka-consumer-groups.sh

@pytest.fixture(scope="module")
def nb_consumer_groups(broker):
    with executed("ch02/02_4_consumer_groups.ipynb") as tb:
        yield tb


def test_consumer_groups_list_names_the_group(nb_consumer_groups):
    assert "hello-group" in nb_consumer_groups.value("listed.lines")


def test_consumer_groups_cli_lag_is_end_minus_committed_on_the_broker(nb_consumer_groups):
    cli = nb_consumer_groups.value("cli_rows_3")
    committed = _ch02p2_committed("hello-group")
    ends = end_offsets("hello.kafka")
    assert [r["PARTITION"] for r in cli] == [0, 1, 2, 3] == sorted(ends)
    for row in cli:
        p = row["PARTITION"]
        assert row["TOPIC"] == "hello.kafka" and row["GROUP"] == "hello-group"
        assert row["CURRENT-OFFSET"] == committed[p]
        assert row["LOG-END-OFFSET"] == ends[p]
        assert row["LAG"] == ends[p] - committed[p] == 0
    # 11 first records + 6 new ones, all read and committed
    assert sum(ends.values()) == sum(committed.values()) == 17


def test_consumer_groups_lag_rose_by_the_new_records_then_reached_zero(nb_consumer_groups):
    tb = nb_consumer_groups
    first, middle, last = tb.value("cli_rows_1"), tb.value("cli_rows_2"), tb.value("cli_rows_3")
    new = tb.value("NEW")
    assert new == 6
    assert [r["LAG"] for r in first] == [0, 0, 0, 0]
    assert [r["LAG"] for r in last] == [0, 0, 0, 0]
    assert sum(r["LAG"] for r in middle) == new
    # the broker holds the new records exactly in [CURRENT-OFFSET, LOG-END-OFFSET) of the middle table
    new_offsets = {}
    for rec in read_all("hello.kafka"):
        if rec.value.decode().startswith("new-"):
            new_offsets.setdefault(rec.partition, []).append(rec.offset)
    assert sum(len(v) for v in new_offsets.values()) == new
    for row in middle:
        p = row["PARTITION"]
        assert row["LAG"] == len(new_offsets.get(p, []))
        assert new_offsets.get(p, []) == list(range(row["CURRENT-OFFSET"], row["LOG-END-OFFSET"]))
    assert tb.value("list(lag_history.values())") == [0, new, 0]


def test_consumer_groups_cli_table_equals_kafka_python_numbers(nb_consumer_groups):
    tb = nb_consumer_groups
    cols = ("PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG")
    for k in (1, 2, 3):
        cli, py = tb.value(f"cli_rows_{k}"), tb.value(f"py_rows_{k}")
        assert [{c: r[c] for c in cols} for r in cli] == py


def test_consumer_groups_members_while_active_and_none_after(nb_consumer_groups):
    tb = nb_consumer_groups
    active = tb.value("while_active.stdout")
    rows = [line.split() for line in active.splitlines() if line.startswith("hello-group")]
    assert len(rows) == 4 and all(r[6].startswith("kafka-python-") for r in rows)
    assert "has no active members" not in tb.value("while_active.stderr")
    for name in ("after_console", "after_commit"):
        assert "Consumer group 'hello-group' has no active members." in tb.value(f"{name}.stderr")
    with admin_client() as admin:
        group = admin.describe_groups(["hello-group"])["hello-group"]
    assert group["group_state"] == "Empty" and group["members"] == []


# ---------------------------------------------------------------- 2.2.5 kafka-verifiable-producer/consumer

@pytest.fixture(scope="module")
def nb_verifiable(broker):
    with executed("ch02/02_5_verifiable.ipynb") as tb:
        yield tb


def test_verifiable_producer_sent_acked_and_stored(nb_verifiable):
    tb = nb_verifiable
    assert "--max-messages 10" in tb.value("produced.command")
    events = _ch02p2_json_events(tb.value("produced.stdout"))
    [tool_data] = [e for e in events if e["name"] == "tool_data"]
    assert tool_data["sent"] == tool_data["acked"] == 10
    sends = [e for e in events if e["name"] == "producer_send_success"]
    assert [(e["partition"], e["offset"], e["value"]) for e in sends] == [(0, i, str(i)) for i in range(10)]
    assert tb.value("tool_data") == tool_data
    # read back from the broker
    assert [(r.partition, r.offset, r.value.decode()) for r in read_all("verify-test")] == \
        [(0, i, str(i)) for i in range(10)]


def test_verifiable_consumer_consumed_and_committed_the_end_offset(nb_verifiable):
    tb = nb_verifiable
    assert "--max-messages 10" in tb.value("consumed.command")
    events = _ch02p2_json_events(tb.value("consumed.stdout"))
    names = [e["name"] for e in events]
    assert names[0] == "startup_complete" and "shutdown_complete" in names
    consumed = [e for e in events if e["name"] == "records_consumed"]
    assert sum(e["count"] for e in consumed) == tb.value("records_consumed") == 10
    assert min(p["minOffset"] for e in consumed for p in e["partitions"]) == 0
    assert max(p["maxOffset"] for e in consumed for p in e["partitions"]) == 9
    commits = [o for e in events if e["name"] == "offsets_committed" for o in e["offsets"]]
    assert commits[-1] == {"topic": "verify-test", "partition": 0, "offset": 10}
    assert _ch02p2_committed("test-group") == {0: 10} and end_offsets("verify-test") == {0: 10}


# ---------------------------------------------------------------- 2.2.6 kafka-delete-records.sh

@pytest.fixture(scope="module")
def nb_delete_records(broker):
    with executed("ch02/02_6_delete_records.ipynb") as tb:
        yield tb


def test_delete_records_json_file_has_the_correct_format(nb_delete_records):
    spec = json.loads((NOTEBOOKS / "ch02" / "delete-topic.json").read_text())
    assert spec == {"partitions": [{"topic": "delete-test", "partition": 0, "offset": 50}], "version": 1}


def test_delete_records_cli_moves_the_low_watermark_to_the_json_offset(nb_delete_records):
    tb = nb_delete_records
    assert "delete-test-0\tlow_watermark: 50" in tb.value("deleted.stdout")
    assert tb.value("low_after_cli") == tb.value("DELETE_UPTO") == 50
    assert tb.value("[first.offset, first.value.decode()]") == [50, "message-50"]


def test_delete_records_admin_api_and_broker_read_back(nb_delete_records):
    assert nb_delete_records.value("low_after_admin") == 70
    assert beginning_offsets("delete-test") == {0: 70} and end_offsets("delete-test") == {0: 100}
    records = read_all("delete-test")
    assert [(r.offset, r.value.decode()) for r in records] == [(i, f"message-{i}") for i in range(70, 100)]
    # a group-less consumer seeking to the beginning lands on the low watermark
    tp = TopicPartition("delete-test", 0)
    with consumer(enable_auto_commit=False) as c:
        c.assign([tp])
        c.seek_to_beginning(tp)
        assert c.position(tp) == 70


def test_delete_records_refuses_bad_json_and_past_end_offsets(nb_delete_records):
    tb = nb_delete_records
    broken = tb.value("{'rc': broken.returncode, 'err': broken.stderr}")
    assert broken["rc"] != 0 and "The input string is not a valid JSON" in broken["err"]
    past = tb.value("{'rc': past_end.returncode, 'out': past_end.stdout}")
    # the real 4.3.1 tool reports the per-partition failure in its output and still exits 0
    assert past["rc"] == 0
    assert "delete-test-0\terror: org.apache.kafka.common.errors.OffsetOutOfRangeException" in past["out"]
    assert tb.value("low_after_past_end") == 50          # nothing was deleted by the refused request
    # the admin API raises instead (cell tagged raises-exception)
    errors = [o for cell in tb.cells if "raises-exception" in cell.metadata.get("tags", [])
              for o in cell.get("outputs", []) if o["output_type"] == "error"]
    assert [e["ename"] for e in errors] == ["OffsetOutOfRangeError"]


# ---------------------------------------------------------------- 2.3 정리 (keep last: it deletes the chapter's topics)

NB_CH02_TOPICS = ["hello.kafka", "hello.kafka.2", "verify-test", "delete-test"]
NB_CH02_GROUPS = ["hello-group", "test-group"]


@pytest.fixture(scope="module")
def nb_summary(broker):
    # make sure there is something to clean up, whatever ran before
    for name in NB_CH02_TOPICS:
        fresh_topic(name, partitions=1)
    with admin_client() as admin:
        for group, topic in zip(NB_CH02_GROUPS, NB_CH02_TOPICS):
            admin.alter_group_offsets(group, {TopicPartition(topic, 0): OffsetAndMetadata(0, "", -1)})
        assert set(NB_CH02_TOPICS) <= set(admin.list_topics())
        assert set(NB_CH02_GROUPS) <= {g["group_id"] for g in admin.list_groups()}
    with executed("ch02/03_summary.ipynb") as tb:
        yield tb


def test_summary_cleanup_list_covers_the_chapter(nb_summary):
    assert set(NB_CH02_TOPICS) <= set(nb_summary.value("CH02_TOPICS"))
    assert set(NB_CH02_GROUPS) <= set(nb_summary.value("CH02_GROUPS"))


def test_summary_removes_the_chapter_topics_and_groups(nb_summary):
    with admin_client() as admin:
        assert not set(nb_summary.value("CH02_TOPICS")) & set(admin.list_topics())
        assert not set(nb_summary.value("CH02_GROUPS")) & {g["group_id"] for g in admin.list_groups()}
    assert nb_summary.value("topics_left") == [] and nb_summary.value("groups_left") == []
    listed = nb_summary.value("listed.lines")
    assert "__consumer_offsets" in listed and not set(NB_CH02_TOPICS) & set(listed)


def test_summary_recap_table_names_every_tool_and_its_kafka_python_call(nb_summary):
    text = "\n".join(c.source for c in nb_summary.cells if c.cell_type == "markdown")
    for tool, api in [("kafka-topics.sh --create", "create_topics"), ("kafka-configs.sh", "alter_configs"),
                      ("kafka-console-producer.sh", "KafkaProducer.send"),
                      ("kafka-console-consumer.sh", "commit()"), ("kafka-consumer-groups.sh --describe", "list_group_offsets"),
                      ("kafka-verifiable-producer.sh", "RecordMetadata"), ("kafka-delete-records.sh", "delete_records")]:
        line = next(line for line in text.splitlines() if line.startswith(f"| `{tool}"))
        assert api in line
