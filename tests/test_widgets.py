"""The widgets of kafkabook.widgets, driven in a real kernel (testbook) against the real broker.

Each test writes a small notebook into tmp_path that imports and displays a widget, executes it,
then drives the widget with tb.inject (set fields, click buttons) and checks what the broker holds
from this process with kafka-python: records, partitions, offsets, group members, committed offsets.
"""
import contextlib
import socket
import uuid
from collections import defaultdict

import nbformat
import pytest
from kafka import KafkaConsumer, TopicPartition
from nbclient import NotebookClient
from testbook import testbook

from kafkabook import kafka_sh, settings
from kafkabook.connection import admin_client
from kafkabook.topics import delete_topics, end_offsets, fresh_topic, read_all
from kafkabook.waiting import wait_until

BOOTSTRAP = settings.BOOTSTRAP
PREFIX = "widget-test."


def unique(tag):
    return f"{PREFIX}{tag}-{uuid.uuid4().hex[:8]}"


def java_murmur2_partition(key, partitions):
    """The Java client's Utils.toPositive(Utils.murmur2(bytes)) % partitions, written out here independently."""
    data = key.encode("utf-8")
    m, seed = 0x5bd1e995, 0x9747b28c
    h = (seed ^ len(data)) & 0xffffffff
    n4 = len(data) // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & 0xffffffff
        k ^= k >> 24
        k = (k * m) & 0xffffffff
        h = (h * m) & 0xffffffff
        h ^= k
    rest = data[4 * n4:]
    if len(rest) >= 3:
        h ^= rest[2] << 16
    if len(rest) >= 2:
        h ^= rest[1] << 8
    if len(rest) >= 1:
        h ^= rest[0]
        h = (h * m) & 0xffffffff
    h ^= h >> 13
    h = (h * m) & 0xffffffff
    h ^= h >> 15
    return (h & 0x7fffffff) % partitions


@pytest.fixture
def topics(broker):
    """fresh_topic(...) through this fixture; every topic it made is deleted after the test."""
    made = []

    def make(tag, partitions):
        name = unique(tag)
        fresh_topic(name, partitions)
        made.append(name)
        return name
    yield make
    delete_topics(made)


def _notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, str(path))
    return path


@contextlib.contextmanager
def kernel(tmp_path, *cells):
    """A notebook made of `cells`, executed in a fresh kernel; yields the testbook client."""
    path = _notebook(tmp_path / "widgets.ipynb", ["from kafkabook.widgets import *", *cells])
    with testbook(str(path), execute=True, timeout=300) as tb:
        yield tb
        # close() ends every Kafka client's I/O thread: nothing is left running in the kernel
        tb.inject("close_all()")
        assert tb.value(KAFKA_THREADS) == []


KAFKA_THREADS = "[t.name for t in __import__('threading').enumerate() if t.name.startswith('kafka')]"


def read_back(topic):
    """{partition: [(offset, key, value, headers)]} read by a fresh group-less consumer from each partition's start."""
    c = KafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic))]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        ends = c.end_offsets(tps)
        lanes = {tp.partition: [] for tp in tps}

        def done():
            for batch in c.poll(timeout_ms=300).values():
                for r in batch:
                    lanes[r.partition].append((r.offset, r.key, r.value, r.headers))
            return all(c.position(tp) >= ends[tp] for tp in tps)
        wait_until(done, 30, "끝까지 읽기", interval=0)
    finally:
        c.close()
    return lanes


def group_members(group, topic):
    """[(client_id, [partitions])] of the group's members as the broker describes them."""
    with admin_client(BOOTSTRAP) as admin:
        d = admin.describe_groups([group])[group]
    out = []
    for m in d["members"]:
        a = m["member_assignment"] or {}
        out.append((m["client_id"], sorted(p for t in a.get("assigned_partitions", []) if t["topic"] == topic
                                           for p in t["partitions"])))
    return d["group_state"], out


# ---------------------------------------------------------------- 1. RecordSender

def test_sender_record_lands_as_predicted_with_key_value_headers(tmp_path, topics):
    topic = topics("send", 3)
    with kernel(tmp_path, f"sender = RecordSender({topic!r})\nsender") as tb:
        tb.inject("sender.key.value = '주문-42'\n"
                  "sender.value.value = '안녕, 카프카'\n"
                  "sender.headers.value = 'source=web,trace=7'")
        predicted_html = tb.value("sender.prediction.value")
        tb.inject("sender.send_button.click()")
        row, ok, message = tb.value("sender.last"), tb.value("sender.ok"), tb.value("sender.message")
    assert ok, message
    expected = java_murmur2_partition("주문-42", 3)
    assert f"파티션 {expected}" in predicted_html
    assert row["predicted"] == row["partition"] == expected
    assert f"파티션 {expected}, 오프셋 {row['offset']}" in message
    [record] = [r for r in read_all(topic) if r.partition == row["partition"] and r.offset == row["offset"]]
    assert record.key == "주문-42".encode()
    assert record.value == "안녕, 카프카".encode()
    assert record.headers == [("source", b"web"), ("trace", b"7")]
    assert record.timestamp == row["timestamp"]
    assert sum(end_offsets(topic).values()) == 1


def test_sender_prediction_matches_the_java_client(tmp_path, topics):
    """Keys sent by the real Java console producer land where the widget predicts (murmur2 as in the Java client)."""
    topic = topics("java", 5)
    keys = [f"고객-{i}" for i in range(1, 9)] + ["a", "order-7", "키"]
    lines = "".join(f"{k}:v\n" for k in keys)
    kafka_sh(f"kafka-console-producer.sh --bootstrap-server {BOOTSTRAP} --topic {topic} "
             "--reader-property parse.key=true --reader-property key.separator=:", input=lines)
    actual = {r.key.decode(): r.partition for r in read_all(topic)}
    with kernel(tmp_path, f"sender = RecordSender({topic!r})") as tb:
        predicted = tb.value(f"{{k: sender.predict(k) for k in {keys!r}}}")
    assert actual == predicted
    assert len(set(actual.values())) > 1


def test_sender_burst_over_keys_and_history(tmp_path, topics):
    topic = topics("burst", 3)
    with kernel(tmp_path, f"sender = RecordSender({topic!r})\nsender") as tb:
        tb.inject("sender.burst_count.value = 12\nsender.burst_keys.value = 3\nsender.burst_button.click()")
        history = tb.value("sender.history")
    assert [r["key"] for r in history] == [f"고객-{i % 3 + 1}" for i in range(12)]
    lanes = read_back(topic)
    for r in history:
        offset, key, value, _ = lanes[r["partition"]][r["offset"]]
        assert (offset, key.decode(), value.decode()) == (r["offset"], r["key"], r["value"])
        assert r["partition"] == r["predicted"] == java_murmur2_partition(r["key"], 3)


# ---------------------------------------------------------------- 2. PartitionPlacement

def test_placement_lanes_equal_what_a_fresh_consumer_reads(tmp_path, topics):
    topic = topics("place", 3)
    with kernel(tmp_path, f"sender = RecordSender({topic!r})\nplacement = PartitionPlacement({topic!r}, sender=sender)\n"
                          "display(sender, placement)") as tb:
        assert tb.value("sum(len(v) for v in placement.lanes.values())") == 0
        tb.inject("sender.burst(12, 3)")
        tb.inject("sender.burst_count.value = 12\nsender.burst_batch.value = 4\nsender.null_burst_button.click()")
        lanes = tb.value("{p: [(r['offset'], r['key'], r['value']) for r in recs] for p, recs in placement.lanes.items()}")
        ends = tb.value("placement.ends")
        history = tb.value("sender.history")
        drawing = tb.value("placement.drawing.value")
    broker = read_back(topic)
    assert {int(p): [tuple(x) for x in recs] for p, recs in lanes.items()} == {
        p: [(o, k.decode() if k is not None else None, v.decode()) for o, k, v, _ in recs] for p, recs in broker.items()}
    assert {int(p): e for p, e in ends.items()} == end_offsets(topic)
    assert sum(len(v) for v in broker.values()) == 24
    # equal keys share one partition
    where = defaultdict(set)
    for p, recs in broker.items():
        for _, k, _, _ in recs:
            if k is not None:
                where[k].add(p)
    assert set(where) == {"고객-1".encode(), "고객-2".encode(), "고객-3".encode()}
    assert all(len(ps) == 1 for ps in where.values())
    # null keys: each flushed batch of 4 sticks to one partition, and the next batch moves on
    nulls = [r["partition"] for r in history if r["key"] is None]
    batches = [nulls[i:i + 4] for i in range(0, 12, 4)]
    assert all(len(set(b)) == 1 for b in batches)
    assert batches[0][0] != batches[1][0] != batches[2][0]
    assert drawing.count("#0<") >= 1 and "고객-1" in drawing and "null" in drawing


def test_placement_adding_partitions_moves_new_records_of_a_key(tmp_path, topics):
    topic = topics("grow", 3)
    key = next(f"고객-{i}" for i in range(1, 100)
               if java_murmur2_partition(f"고객-{i}", 3) != java_murmur2_partition(f"고객-{i}", 4))
    with kernel(tmp_path, f"sender = RecordSender({topic!r})\nplacement = PartitionPlacement({topic!r}, sender=sender)") as tb:
        before = tb.value(f"sender.send_record({key!r}, 'before')")
        tb.inject("placement.partitions_input.value = 4\nplacement.add_partitions_button.click()")
        assert tb.value("placement.ok"), tb.value("placement.message")
        after = tb.value(f"sender.send_record({key!r}, 'after')")
        lanes = tb.value("{p: [(r['key'], r['value'], r.get('now')) for r in recs] for p, recs in placement.lanes.items()}")
    assert before["partition"] == java_murmur2_partition(key, 3)
    assert after["partition"] == after["predicted"] == java_murmur2_partition(key, 4) != before["partition"]
    broker = read_back(topic)
    assert len(broker) == 4
    assert [v for _, _, v, _ in broker[before["partition"]]] == [b"before"]
    assert [v for _, _, v, _ in broker[after["partition"]]] == [b"after"]
    # the drawing marks the old record with the partition a send would choose now
    assert lanes[str(before["partition"])] == [[key, "before", after["partition"]]]


def test_placement_snapshot_and_widget_state_survive_in_the_executed_notebook(tmp_path, topics):
    """What the static site gets: the drawing as plain HTML output and inside the saved widget state."""
    topic = topics("static", 2)
    path = _notebook(tmp_path / "static.ipynb", [
        "from kafkabook.widgets import RecordSender, PartitionPlacement",
        f"sender = RecordSender({topic!r})\nplacement = PartitionPlacement({topic!r}, sender=sender)\nplacement",
        "sender.send_record('정적-키', '정적-값')",
        "placement.snapshot()",
        "sender.close(); placement.close()",
    ])
    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    snap = [o for o in nb.cells[3].outputs if o["output_type"] == "display_data"]
    assert len(snap) == 1 and "정적-키" in snap[0]["data"]["text/html"] and "파티션 배치" in snap[0]["data"]["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in nb.cells[1].outputs[0]["data"]
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    html_values = [m["state"].get("value", "") for m in state.values() if m["model_name"] == "HTMLModel"]
    assert any("정적-키" in v and "파티션 배치" in v for v in html_values)


# ---------------------------------------------------------------- 3. OrderingView

def test_ordering_per_partition_kept_global_only_with_one_partition(tmp_path, topics):
    multi, single = topics("order", 3), topics("order1", 1)
    with kernel(tmp_path, f"view = OrderingView({multi!r}, {single!r}, count=15, keys=3)\nview") as tb:
        tb.inject("view.run_button.click()")
        assert tb.value("view.ok"), tb.value("view.message")
        results = tb.value("view.results")
    many, one = results
    assert many["topic"] == multi and one["topic"] == single
    for res in results:
        seqs = [c["seq"] for c in res["consumed"]]
        assert sorted(seqs) == list(range(1, 16))
        for p in range(res["partitions"]):
            part = [c["seq"] for c in res["consumed"] if c["partition"] == p]
            assert part == sorted(part)
        assert res["per_partition_ok"]
    assert [c["seq"] for c in one["consumed"]] == list(range(1, 16)) and one["global_ok"]
    assert len({c["partition"] for c in many["consumed"]}) == 3
    assert [c["seq"] for c in many["consumed"]] != list(range(1, 16)) and not many["global_ok"]
    # what the view says it produced is what the broker holds
    for res in results:
        broker = {(r.partition, r.offset): int(r.value) for r in read_all(res["topic"])}
        assert {(p["partition"], p["offset"]): p["seq"] for p in res["produced"]} == broker
        for p in range(res["partitions"]):
            in_log = [broker[k] for k in sorted(broker) if k[0] == p]
            assert in_log == sorted(in_log)


# ---------------------------------------------------------------- 4. ConsumerGroupView

def test_consumer_group_assignment_rebalance_idle_and_lag(tmp_path, topics):
    topic = topics("group", 3)
    group = unique("group")
    with kernel(tmp_path, f"g = ConsumerGroupView({topic!r}, {group!r}, consumers=2)\ng") as tb:
        assert tb.value("g.ok"), tb.value("g.message")
        state, members = group_members(group, topic)
        assert state == "Stable" and len(members) == 2
        assert sorted(p for _, ps in members for p in ps) == [0, 1, 2]
        assert tb.value("sorted(p for m in g.after['members'] for p in m['partitions'])") == [0, 1, 2]

        tb.inject("g.add_button.click()")
        state, members = group_members(group, topic)
        assert state == "Stable" and sorted(ps for _, ps in members) == [[0], [1], [2]]
        assert len(tb.value("g.before['members']")) == 2 and len(tb.value("g.after['members']")) == 3

        tb.inject("g.add_consumer()")
        state, members = group_members(group, topic)
        assert state == "Stable" and sorted(ps for _, ps in members) == [[], [0], [1], [2]]
        idle = [m["name"] for m in tb.value("g.after['members']") if not m["partitions"]]
        assert idle == ["컨슈머-4"] and "유휴" in tb.value("g.message")

        tb.inject("g.produce_count.value = 15\ng.produce_button.click()")
        tb.inject("g.consume_max.value = 2\ng.consume_button.click()")
        assert tb.value("g.ok"), tb.value("g.message")
        rows = tb.value("g.rows")
        with admin_client(BOOTSTRAP) as admin:
            committed = {tp.partition: om.offset for tp, om in admin.list_group_offsets(group)[group].items()}
        ends = end_offsets(topic)
        assert sum(ends.values()) == 15
        assert 0 < sum(committed.values()) < 15
        for r in rows:
            p = r["partition"]
            assert r["end"] == ends[p] and r["committed"] == committed[p]
            assert r["lag"] == ends[p] - committed[p]
        owners = {r["partition"]: r["owner"] for r in rows}
        assert sorted(owners.values()) == ["컨슈머-1", "컨슈머-2", "컨슈머-3"]

        tb.inject("g.remove_button.click()")
        state, members = group_members(group, topic)
        assert state == "Stable" and sorted(ps for _, ps in members) == [[0], [1], [2]]
        assert len(tb.value("g.before['members']")) == 4

        # closing the displayed widget closes every consumer: they leave the group, their threads end
        tb.inject("g.panel.close()")
        assert tb.value("g.closed")
        assert tb.value(KAFKA_THREADS) == []
        state, members = group_members(group, topic)
        assert members == [] and state == "Empty"
    with admin_client(BOOTSTRAP) as admin:
        admin.delete_groups([group])


# ---------------------------------------------------------------- bad input

def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BAD_INPUTS = [
    # (code run in the kernel, a fragment of the Korean message)
    ("sender.topic.value = {missing!r}", "브로커에 없습니다"),
    ("sender.topic.value = 'bad topic!'", "쓸 수 없는 문자"),
    ("sender.topic.value = '.'", "쓸 수 없습니다"),
    ("sender.topic.value = '..'", "쓸 수 없습니다"),
    ("sender.topic.value = 'a' * 250", "너무 깁니다"),
    ("sender.topic.value = '토픽'", "쓸 수 없는 문자"),
    ("sender.value.value = '가' * 400000", "max_request_size"),
    ("sender.value.value = 'abc\\udc80'", "UTF-8로 바꿀 수 없는 문자"),
    ("sender.value.value = '\\ud83d 반쪽 이모지'", "UTF-8로 바꿀 수 없는 문자"),
    ("sender.key.value = '\\ud800키'", "UTF-8로 바꿀 수 없는 문자"),
    ("sender.headers.value = 'novalue'", "이름=값"),
]


def test_bad_input_gives_korean_message_and_sends_nothing(tmp_path, topics):
    topic = topics("bad", 2)
    missing = unique("missing")
    with kernel(tmp_path, f"sender = RecordSender({topic!r})\nsender") as tb:
        for code, fragment in BAD_INPUTS:
            tb.inject(f"sender.topic.value = {topic!r}\nsender.key.value = 'k'\nsender.value.value = 'v'\n"
                      "sender.headers.value = ''")
            tb.inject(code.format(missing=missing))
            tb.inject("sender.send_button.click()")
            assert not tb.value("sender.ok"), code
            assert fragment in tb.value("sender.message"), (code, tb.value("sender.message"))
            assert fragment in tb.value("sender.status.value") or fragment in tb.value("sender.html()")
        # programmatic sends: lone surrogates in a str, and bytes that are not UTF-8
        assert tb.value("sender.send_record('\\udfff', 'v') is None")
        assert "UTF-8로 바꿀 수 없는 문자" in tb.value("sender.message")
        assert tb.value("sender.send_record(b'\\xff\\xfe', 'v') is None")
        assert "UTF-8이 아닙니다" in tb.value("sender.message")
        assert tb.value("sender.send_record('k', b'ok\\xc3') is None")
        assert "UTF-8이 아닙니다" in tb.value("sender.message")
        assert tb.value("sender.history") == []
        # the kernel still works and a good record still goes through
        tb.inject(f"sender.topic.value = {topic!r}")
        row = tb.value("sender.send_record('k', 'v')")
        assert tb.value("sender.ok")
    assert sum(end_offsets(topic).values()) == 1 and row["offset"] == 0
    with admin_client(BOOTSTRAP) as admin:
        names = admin.list_topics()
    assert missing not in names and "bad topic!" not in names


def test_broker_down_fails_fast_in_korean_for_every_widget(tmp_path, topics):
    topic = topics("down", 3)
    down = f"localhost:{_closed_port()}"
    cells = [f"sender = RecordSender({topic!r}, bootstrap={down!r})\nsender",
             f"placement = PartitionPlacement({topic!r}, bootstrap={down!r})\nplacement",
             f"view = OrderingView({topic!r}, {topic!r}, bootstrap={down!r})\nview",
             f"g = ConsumerGroupView({topic!r}, {unique('down')!r}, bootstrap={down!r}, consumers=2)\ng"]
    with kernel(tmp_path, *cells) as tb:
        tb.inject("sender.key.value = 'k'\nsender.value.value = 'v'\nsender.send_button.click()")
        tb.inject("view.run_button.click()")
        tb.inject("g.add_button.click()")
        for name in ("sender", "placement", "view", "g"):
            message = tb.value(f"{name}.message")
            assert not tb.value(f"{name}.ok")
            assert f"카프카 브로커({down})에 연결할 수 없습니다" in message and "./run broker start" in message
        assert tb.value("g.members") == []
        assert tb.value("1 + 1") == 2
    assert sum(end_offsets(topic).values()) == 0


# ---------------------------------------------------------------- drawing (no broker)

def test_views_escape_what_the_broker_holds():
    """Keys and values are data, never markup: the drawing escapes them."""
    from kafkabook import views
    rec = {"partition": 0, "offset": 0, "key": "<b>키</b>", "value": "<script>x</script>", "headers": [],
           "timestamp": 0}
    html = views.placement_html("t", {0: [rec], 1: []}, {0: 1, 1: 0}, 2)
    assert "<script>" not in html and "&lt;b&gt;키&lt;/b&gt;" in html
    assert "Noto Sans KR" in html and "(비어 있음)" in html
