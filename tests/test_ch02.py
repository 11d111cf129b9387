"""Chapter 2: the broker (2.1), kafka-topics/kafka-configs (2.2.1), the console producer (2.2.2) and consumer (2.2.3),
kafka-consumer-groups (2.2.4), the verifiable producer/consumer (2.2.5), kafka-delete-records (2.2.6) and the
chapter's cleanup (2.3). Each notebook runs against the real broker; the tests read the broker back themselves.

Notebooks after 2.2.1 recreate hello.kafka, so the 2.2.1-2.2.3 checks read the broker in *_state fixtures right after
their notebook ran. Keep the 2.3 (summary) tests last: its notebook deletes the chapter's topics.
"""
import json
from collections import Counter

import pytest
from kafka import TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.partitioner import murmur2
from kafka.structs import OffsetAndMetadata

from conftest import NOTEBOOKS, executed, notebook_fixture
from kafka.protocol.api_key import ApiKey

from kafkabook import kafka_sh, runtime, settings, wait_until
from kafkabook.connection import admin_client, consumer
from kafkabook.topics import beginning_offsets, end_offsets, fresh_topic, read_all


def _ch02p2_committed(group):
    """{partition: committed offset} of `group`, read from the group coordinator."""
    with admin_client() as admin:
        offsets = admin.list_group_offsets(group)[group]
    return {tp.partition: oam.offset for tp, oam in offsets.items()}


def _ch02p2_json_events(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


# ---------------------------------------------------------------- helpers for 2.1-2.2.3

def _ch02p1_topic_state(admin, name):
    """{partitions, rows, configs} of one topic, read from the broker by the test itself."""
    [meta] = admin.describe_topics([name])
    rows = sorted(({"partition": p["partition_index"], "leader": p["leader_id"],
                    "replicas": list(p["replica_nodes"]), "isr": list(p["isr_nodes"])}
                   for p in meta["partitions"]), key=lambda r: r["partition"])
    configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])["topic"][name]
    return {"partitions": len(rows), "rows": rows, "configs": {k: v["value"] for k, v in configs.items()}}


def _ch02p1_broker_configs(keys):
    with admin_client() as admin:
        broker_id = str(admin.describe_cluster()["brokers"][0]["broker_id"])
        described = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, broker_id, keys)],
                                           config_filter="all")
    return {k: v["value"] for k, v in described["broker"][broker_id].items()}


def _ch02p1_quorum_leader():
    with admin_client() as admin:
        return admin.describe_metadata_quorum()["topics"][0]["partitions"][0]["leader_id"]


def _ch02p1_by_partition(records):
    """{partition: [value, ...] in offset order}"""
    out = {}
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        out.setdefault(r.partition, []).append(r.value.decode())
    return out


def _ch02p1_is_subsequence(part, whole):
    it = iter(whole)
    return all(x in it for x in part)


def _ch02p1_run_checker(tb, answers):
    """Run the notebook's exercise checker (its last cell) with the reader's answer lines replaced,
    in a copy of the kernel's namespace so the executed notebook's variables stay as they were;
    return the checker's verdict and what it printed."""
    src = tb.cells[-1].source
    for old, new in answers.items():
        assert old in src, old
        src = src.replace(old, new)
    out = tb.inject("import contextlib as _cl, io as _io\n_checker_out = _io.StringIO()\n"
                    "_checker_ns = dict(globals())\n"
                    f"with _cl.redirect_stdout(_checker_out):\n    exec({src!r}, _checker_ns)", pop=True)
    assert not [o for o in out.outputs if o.get("output_type") == "error"]
    return tb.value("_checker_ns['verdict']"), tb.value("_checker_out.getvalue()")


# ---------------------------------------------------------------- 2.1 실습용 카프카 브로커 설치

nb_install = notebook_fixture("ch02/01_install.ipynb")


def test_install_cluster_id_and_controller_equal_the_admin_api(nb_install):
    tb = nb_install
    with admin_client() as admin:
        described = admin.describe_cluster()
    leader = _ch02p1_quorum_leader()
    assert tb.value("cluster['cluster_id']") == described["cluster_id"]
    assert tb.value("quorum['ClusterId']") == described["cluster_id"]
    assert int(tb.value("quorum['LeaderId']")) == tb.value("active_controller") == leader
    assert leader in [b["broker_id"] for b in described["brokers"]]
    # the storage's meta.properties names the same cluster
    meta = dict(line.split("=", 1) for line in tb.value("meta_properties").splitlines()
                if "=" in line and not line.startswith("#"))
    assert meta["cluster.id"] == described["cluster_id"]


def test_install_listeners_and_settings_shown_equal_the_broker(nb_install):
    tb = nb_install
    keys = ["listeners", "advertised.listeners", "log.dirs", "num.partitions"]
    actual = _ch02p1_broker_configs(keys)
    shown = tb.value("broker_configs")
    cli = tb.value("cli_configs")
    for key in keys:
        assert shown[key] == cli[key] == actual[key], key
    # clients are told the address this book connects to
    assert settings.client_address("kafka") in actual["advertised.listeners"]
    # the file the broker was started with says the same (local: the derived server.properties)
    file_props = tb.value("file_props")
    for key in keys:
        assert file_props[key] == actual[key], key


def test_install_processes_show_the_broker_jvm(nb_install):
    tb = nb_install
    out = tb.value("processes.stdout")
    if tb.value("KIND") == "local":
        pid = tb.value("broker_pid")
        lines = [line for line in out.splitlines() if line.split()[:1] == [str(pid)]]
        assert len(lines) == 1 and str(runtime.node("kafka").config) in lines[0]
        assert "QuorumPeerMain" not in out            # no ZooKeeper
    else:
        assert "kafka" in out


def test_install_broker_version(nb_install):
    tb = nb_install
    with admin_client() as admin:
        broker_id = admin.describe_cluster()["brokers"][0]["broker_id"]
        version = admin.get_broker_version_data(broker_id).broker_version
    assert tuple(tb.value("version_data.broker_version")) == tuple(version[:2]) == (4, 3)
    api = tb.value("api_versions.lines")
    assert api[0].startswith("localhost:9092 (id: ") and any(line.strip().startswith("Produce(0):") for line in api)
    assert any("Kafka version: 4.3.1" in line for line in tb.value("startup")) or not tb.value("startup")


def test_install_produce_v0_to_v2_are_advertised_but_refused(nb_install):
    """KAFKA-18659: ApiVersions lists Produce from 0, but the broker hangs up on versions 0-2."""
    tb = nb_install
    with admin_client() as admin:
        produce_range = admin.api_versions()[ApiKey.Produce]
    assert produce_range == (0, 13) == tuple(tb.value("list(admin_versions[ApiKey.Produce])"))
    assert any(line.strip() == "Produce(0): 0 to 13 [usable: 13]," for line in tb.value("api_versions.lines"))
    assert {int(v): ok for v, ok in tb.value("produce_answered").items()} == {v: v >= 3 for v in range(9)}
    # the test asks the broker itself, with the same bare request the notebook sent
    from kafkabook.probe import produce_version_answered
    assert not produce_version_answered(2) and produce_version_answered(3)
    if runtime.kind() == "local":
        log = (runtime.node("kafka").logs_dir / "server.log").read_text(errors="replace")
        assert "Received request for api with key 0 (Produce) and unsupported version 2" in log


def test_install_exercise_says_right_or_wrong_from_the_broker(nb_install):
    tb = nb_install
    assert tb.value("verdict") == "미제출"
    leader = _ch02p1_quorum_leader()
    with admin_client() as admin:
        delete_records_max = admin.api_versions()[ApiKey.DeleteRecords][1]
    blank = {"my_controller = None": "my_controller = {}", "my_delete_records_max = None": "my_delete_records_max = {}"}

    def answer(controller, version):
        return _ch02p1_run_checker(tb, {k: v.format(a) for (k, v), a in zip(blank.items(), (controller, version))})

    assert answer(leader, delete_records_max)[0] == "정답"
    verdict, printed = answer(leader + 7, delete_records_max)
    assert verdict == "오답" and "활성 컨트롤러: 틀렸다" in printed
    assert str(leader) not in printed.split("활성 컨트롤러: 틀렸다")[1].split("\n")[0].replace(str(leader + 7), "")
    assert answer(leader, delete_records_max + 1)[0] == "오답"
    assert answer(leader, "None")[0] == "미제출"


# ---------------------------------------------------------------- 2.2.1 kafka-topics.sh

nb_topics = notebook_fixture("ch02/02_1_topics.ipynb")


@pytest.fixture(scope="module")
def topics_state(nb_topics):
    """The broker read back right after the notebook ran (later notebooks recreate hello.kafka)."""
    with admin_client() as admin:
        state = {name: _ch02p1_topic_state(admin, name) for name in ("hello.kafka", "hello.kafka.2")}
        state["topics"] = admin.list_topics()
    state["partitions"] = {name: state[name]["partitions"] for name in ("hello.kafka", "hello.kafka.2")}
    return state


def test_topics_created_with_defaults_and_with_options(nb_topics, topics_state):
    tb = nb_topics
    num_partitions = int(_ch02p1_broker_configs(["num.partitions"])["num.partitions"])
    assert tb.value("created_partitions") == num_partitions
    assert "Created topic hello.kafka." in tb.value("created.stdout")
    assert topics_state["hello.kafka.2"]["partitions"] == 3
    assert all(r["replicas"] == r["isr"] and len(r["replicas"]) == 1 for r in topics_state["hello.kafka.2"]["rows"])
    # the kafka-python twin was created with the same options, and agreed, before it was deleted
    assert tb.value("created_by_cli") == tb.value("created_by_python") == \
        {"partitions": 3, "replication_factor": 1, "configs": {"retention.ms": "172800000"}}
    assert "hello.kafka.py" not in topics_state["topics"]
    assert tb.value("remaining") == ["hello.kafka", "hello.kafka.2"]


def test_topics_list_and_describe_match_the_broker(nb_topics, topics_state):
    tb = nb_topics
    listed = tb.value("listed.lines")
    assert {"hello.kafka", "hello.kafka.2", "__consumer_offsets"} <= set(listed)
    assert tb.value("cli_hello") == tb.value("python_hello") == ["hello.kafka", "hello.kafka.2", "hello.kafka.py"]
    assert tb.value("cli_rows") == tb.value("python_rows") == topics_state["hello.kafka.2"]["rows"]
    header = tb.value("described.lines")[0]
    assert "PartitionCount: 3" in header and "retention.ms=172800000" in header


def test_topics_alter_grew_hello_kafka_to_four_partitions(nb_topics, topics_state):
    tb = nb_topics
    assert topics_state["hello.kafka"]["partitions"] == 4
    assert tb.value("partitions_after_alter") == {"hello.kafka": 4, "hello.kafka.py": 4}
    describe = tb.value("after_alter.lines")
    assert "PartitionCount: 4" in describe[0]
    assert [int(line.split("Partition: ")[1].split()[0]) for line in describe[1:]] == [0, 1, 2, 3]


def test_topics_decrease_is_refused_by_cli_and_admin_api(nb_topics, topics_state):
    tb = nb_topics
    shrink = tb.value("{'rc': shrink.returncode, 'out': shrink.stdout, 'err': shrink.stderr}")
    assert shrink["rc"] != 0
    assert "Error while executing topic command : The topic hello.kafka currently has 4 partition(s); " \
           "2 would not be an increase." in shrink["out"]
    assert "InvalidPartitionsException" in shrink["err"]
    assert tb.value("type(python_shrink_error).__name__") == "InvalidPartitionsError"
    assert topics_state["hello.kafka"]["partitions"] == 4        # nothing changed


def test_topics_retention_after_kafka_configs(nb_topics, topics_state):
    tb = nb_topics
    assert topics_state["hello.kafka"]["configs"]["retention.ms"] == "86400000"
    assert topics_state["hello.kafka.2"]["configs"]["retention.ms"] == "172800000"
    assert tb.value("retention") == {"hello.kafka": "86400000", "hello.kafka.py": "86400000",
                                     "hello.kafka.2": "172800000"}
    assert "retention.ms=86400000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=86400000}" in \
        tb.value("configs_described.stdout")
    # 4.x: kafka-topics.sh --alter --config is refused, kafka-configs is the way
    old = tb.value("{'rc': old_way.returncode, 'err': old_way.stderr}")
    assert old["rc"] != 0 and "can't be used with option \"[alter]\"" in old["err"].splitlines()[0]


def test_topics_exercise_says_right_or_wrong_from_the_broker(nb_topics, topics_state):
    """Untouched, hello.kafka.2 is the wrong answer; half done is still wrong; done is right."""
    tb = nb_topics
    assert topics_state["hello.kafka.2"]["partitions"] == 3           # cached before this test changes the topic
    assert tb.value("verdict") == "오답"
    assert len(tb.value("problems")) == 2
    with admin_client() as admin:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "hello.kafka.2", {"retention.ms": "259200000"})])
        wait_until(lambda: _ch02p1_topic_state(admin, "hello.kafka.2")["configs"].get("retention.ms") == "259200000",
                   30, "보존 기간 사흘")
        verdict, printed = _ch02p1_run_checker(tb, {})
        assert verdict == "오답" and "파티션이 3개다" in printed and "retention.ms가" not in printed
        admin.create_partitions({"hello.kafka.2": 5})
        wait_until(lambda: _ch02p1_topic_state(admin, "hello.kafka.2")["partitions"] == 5, 30, "파티션 5개")
    assert _ch02p1_run_checker(tb, {})[0] == "정답"
    # leave the topic as the notebook left it
    fresh_topic("hello.kafka.2", partitions=3, configs={"retention.ms": "172800000"})


# ---------------------------------------------------------------- 2.2.2 kafka-console-producer.sh

nb_console_producer = notebook_fixture("ch02/02_2_console_producer.ipynb")


@pytest.fixture(scope="module")
def producer_state(nb_console_producer):
    with admin_client() as admin:
        topic = _ch02p1_topic_state(admin, "hello.kafka")
    return {"hello.kafka": topic, "partitions": {"hello.kafka": topic["partitions"]},
            "records": read_all("hello.kafka"), "sticky": read_all("nokey.sticky"),
            "sticky_ends": end_offsets("nokey.sticky")}


CH02P1_KEYS = ["key1", "key2", "key3"]


def test_producer_equal_keys_share_a_partition_for_cli_and_kafka_python(nb_console_producer, producer_state):
    tb = nb_console_producer
    n = producer_state["partitions"]["hello.kafka"]
    assert n == 4
    python_partitions = tb.value("python_key_partitions")
    for key in CH02P1_KEYS:
        landed = {r.partition for r in producer_state["records"] if r.key == key.encode()}
        predicted = (murmur2(key.encode()) & 0x7FFFFFFF) % n
        assert landed == {predicted} == {python_partitions[key]}, key
    assert tb.value("predicted") == {k: (murmur2(k.encode()) & 0x7FFFFFFF) % n for k in CH02P1_KEYS}


def test_producer_record_metadata_points_at_the_stored_records(nb_console_producer, producer_state):
    meta = nb_console_producer.value("{k: [m.partition, m.offset] for k, m in python_meta.items()}")
    stored = {(r.partition, r.offset): r for r in producer_state["records"]}
    for key, (partition, offset) in meta.items():
        record = stored[(partition, offset)]
        assert (record.key, record.value) == (key.encode(), f"py-{key}".encode())


def test_producer_record_contents_and_order(nb_console_producer, producer_state):
    tb = nb_console_producer
    records = producer_state["records"]
    values = ["hello", "kafka", "0", "1", "2", "3", "4", "5"]
    expected = [(None, v) for v in values]
    expected += [(k, f"no{i}") for i, k in enumerate(CH02P1_KEYS, 1)] + [(k, f"no{i + 3}") for i, k in enumerate(CH02P1_KEYS, 1)]
    expected += [(k, f"py-{k}") for k in CH02P1_KEYS] + [(None, f"py-null-{i}") for i in range(8)]
    got = [(None if r.key is None else r.key.decode(), r.value.decode()) for r in records]
    assert Counter(got) == Counter(expected)
    assert len(records) == tb.value("len(final_records)") == len(expected) == 25
    # inside every partition the console producer's values keep the input order
    for partition, vals in _ch02p1_by_partition(r for r in records if r.key is None).items():
        cli_vals = [v for v in vals if v in values]
        assert _ch02p1_is_subsequence(cli_vals, values), partition
    for key in CH02P1_KEYS:
        assert [r.value.decode() for r in records if r.key == key.encode()] == \
            [f"no{CH02P1_KEYS.index(key) + 1}", f"no{CH02P1_KEYS.index(key) + 4}", f"py-{key}"]
    assert len(tb.value("python_null_partitions")) == 8
    # the console producer's 8 null-key lines are far below batch.size, so its partitioner never switched
    assert len({r.partition for r in records if r.key is None and r.value.decode() in values}) == 1


def _ch02p1_sticky_runs(records, label):
    """Run lengths (records in a row in one partition, in send order) of one producer's numbered values."""
    sent = sorted((int(r.value.decode().split(":")[1]), r.partition) for r in records
                  if r.value.decode().split(":")[0] == label)
    lengths = []
    for i, (_, partition) in enumerate(sent):
        if i and sent[i - 1][1] == partition:
            lengths[-1] += 1
        else:
            lengths.append(1)
    return lengths


def test_producer_null_keys_java_switches_after_batch_size_bytes_kafka_python_per_batch(nb_console_producer,
                                                                                        producer_state):
    """KIP-794 vs KIP-480, read back from the broker. 100-byte values are about 110 bytes in a batch, and a
    1,024-byte batch (61-byte header) holds at most 8 of them. The Java producer switches only after
    batch.size bytes went to one partition, so no run but the last is shorter than 9 records, whatever
    linger.ms; kafka-python's StickyPartitioner switches on every new batch, so no run is longer than 8."""
    tb = nb_console_producer
    n, batch = tb.value("N"), tb.value("BATCH")
    assert (n, batch) == (400, 1024)
    records = producer_state["sticky"]
    assert sum(producer_state["sticky_ends"].values()) == len(records) == 4 * n
    runs = {label: _ch02p1_sticky_runs(records, label) for label in ("java", "java-linger0", "py-sticky", "py-default")}
    assert all(sum(r) == n for r in runs.values())
    for label in ("java", "java-linger0"):
        assert min(runs[label][:-1]) >= 9, (label, runs[label])
        assert len(runs[label]) <= n // 9 + 1
    assert max(runs["py-sticky"]) <= 8 and len(runs["py-sticky"]) >= n // 8
    assert len(runs["py-default"]) > n // 2                              # a fresh random pick per record
    # the notebook's table is what the broker holds
    spreads = tb.value("spreads")
    for label, r in runs.items():
        assert spreads[label]["runs"] == r
        counts = Counter(p.partition for p in records if p.value.decode().split(":")[0] == label)
        assert {int(k): v for k, v in spreads[label]["counts"].items()} == dict(counts)


def test_producer_reader_property_spellings(nb_console_producer):
    tb = nb_console_producer
    assert "--reader-property parse.key=true" in tb.value("keyed.command")
    assert "deprecated" not in tb.value("keyed.stdout + keyed.stderr")
    assert "Warning: --property is deprecated" in tb.value("keyed_old.stdout + keyed_old.stderr")


def test_producer_widget_record_is_on_the_broker_where_predicted(nb_console_producer):
    tb = nb_console_producer
    row = tb.value("row")
    records = {(r.partition, r.offset): r for r in read_all("hello.widget")}
    stored = records[(row["partition"], row["offset"])]
    assert (stored.key, stored.value) == (b"key1", "위젯에서 보낸 값".encode())
    assert list(stored.headers) == [("source", b"widget")]
    assert row["predicted"] == row["partition"] == (murmur2(b"key1") & 0x7FFFFFFF) % 3


def test_producer_widget_lanes_are_the_partitions_on_the_broker(nb_console_producer):
    tb = nb_console_producer
    lanes = tb.value("{p: [[r['offset'], r['key'], r['value']] for r in rs] for p, rs in placement.lanes.items()}")
    on_broker = {}
    for r in read_all("hello.widget"):
        on_broker.setdefault(r.partition, []).append([r.offset, None if r.key is None else r.key.decode(),
                                                      r.value.decode()])
    assert {int(p): rs for p, rs in lanes.items() if rs} == on_broker
    assert tb.value("placement.partitions") == 4 == len(end_offsets("hello.widget"))
    # before the partitions grew, every key lived in exactly one lane
    lanes_of = Counter(key for keys in tb.value("keys_per_lane").values() for key in keys if key is not None)
    assert lanes_of and set(lanes_of.values()) == {1}
    # sticky null keys: each flushed batch of 4 went to a single partition
    assert all(len(set(batch)) == 1 for batch in tb.value("null_batches"))
    # after growing to 4, new records follow murmur2 % 4
    for r in tb.value("grown_rows"):
        assert r["partition"] == r["predicted"] == (murmur2(r["key"].encode()) & 0x7FFFFFFF) % 4
    assert tb.value("[sender.closed, placement.closed]") == [True, True]


def test_producer_exercise_says_right_or_wrong_from_the_broker(nb_console_producer, producer_state):
    """Nothing sent yet: no verdict. After the reader's console-producer line, a wrong guess is wrong
    (and the message does not name the partition), the right one is right."""
    tb = nb_console_producer
    assert tb.value("verdict") == "미제출" and tb.value("landed") == []
    kafka_sh(f"kafka-console-producer.sh --bootstrap-server {settings.BOOTSTRAP} --topic hello.kafka "
             "--reader-property parse.key=true --reader-property key.separator=:", input="user-42:hi\n")
    right = (murmur2(b"user-42") & 0x7FFFFFFF) % 4
    assert [r.partition for r in read_all("hello.kafka") if r.key == b"user-42"] == [right]
    wrong = (right + 1) % 4
    verdict, printed = _ch02p1_run_checker(tb, {"my_guess = None": f"my_guess = {wrong}"})
    assert verdict == "오답" and f"파티션 {right}" not in printed
    assert _ch02p1_run_checker(tb, {"my_guess = None": f"my_guess = {right}"})[0] == "정답"
    assert _ch02p1_run_checker(tb, {})[0] == "미제출"


# ---------------------------------------------------------------- 2.2.3 kafka-console-consumer.sh

nb_console_consumer = notebook_fixture("ch02/02_3_console_consumer.ipynb")


@pytest.fixture(scope="module")
def consumer_state(nb_console_consumer):
    with admin_client() as admin:
        committed = {tp.partition: m.offset
                     for tp, m in admin.list_group_offsets("hello-group")["hello-group"].items()
                     if tp.topic == "hello.kafka"}
        topics = admin.list_topics()
        partitions = {name: _ch02p1_topic_state(admin, name)["partitions"]
                      for name in ("hello.kafka", "order.multi", "order.single")}
    return {"committed": committed, "ends": end_offsets("hello.kafka"), "topics": topics,
            "partitions": partitions,
            "hello": read_all("hello.kafka"), "multi": read_all("order.multi"), "single": read_all("order.single")}


def test_consumer_order_is_kept_within_each_partition(nb_console_consumer, consumer_state):
    tb = nb_console_consumer
    numbers = [str(i) for i in range(12)]
    rows = tb.value("multi_rows")                  # [partition, offset, value] as the CLI printed them
    assert sorted(v for _, _, v in rows) == sorted(numbers)
    for p in range(3):
        sent_here = [n for i, n in enumerate(numbers) if i % 3 == p]
        printed = [(o, v) for q, o, v in rows if q == p]
        assert printed == list(enumerate(sent_here)), p
    assert _ch02p1_by_partition(consumer_state["multi"]) == \
        {p: [n for i, n in enumerate(numbers) if i % 3 == p] for p in range(3)}


def test_consumer_single_partition_topic_keeps_global_order(nb_console_consumer, consumer_state):
    tb = nb_console_consumer
    numbers = [str(i) for i in range(12)]
    assert consumer_state["partitions"]["order.single"] == 1
    assert tb.value("single_order") == numbers
    assert [(r.offset, r.value.decode()) for r in consumer_state["single"]] == list(enumerate(numbers))


def test_consumer_group_committed_the_end_offsets(nb_console_consumer, consumer_state):
    tb = nb_console_consumer
    ends, committed = consumer_state["ends"], consumer_state["committed"]
    assert sum(ends.values()) == 11
    for partition, end in ends.items():
        assert committed.get(partition, 0) == end, partition
    assert tb.value("group_lag") == 0 and tb.value("would_read") == 0
    assert {int(p): o for p, o in tb.value("committed").items()} == committed


def test_consumer_printed_every_record_with_its_key(nb_console_consumer, consumer_state):
    tb = nb_console_consumer
    expected = sorted(f"{'null' if r.key is None else r.key.decode()}-{r.value.decode()}"
                      for r in consumer_state["hello"])
    assert sorted(tb.value("grouped.lines")) == expected
    assert "null-hello" in expected and "key1-no1" in expected
    assert sorted(tb.value("plain.lines")) == sorted(r.value.decode() for r in consumer_state["hello"])
    assert "Processed a total of 11 messages" in tb.value("grouped.stderr")


def test_consumer_offsets_topic_is_internal(nb_console_consumer, consumer_state):
    tb = nb_console_consumer
    assert "__consumer_offsets" in consumer_state["topics"]
    assert "__consumer_offsets" in tb.value("listed.lines")
    assert "__consumer_offsets" not in tb.value("listed_without_internal.lines")
    assert tb.value("offsets_topic['is_internal']") is True


def test_consumer_ordering_widget_reads_back_the_broker_order(nb_console_consumer):
    tb = nb_console_consumer
    multi, single = tb.value("multi_run"), tb.value("single_run")
    assert multi["partitions"] == 3 and single["partitions"] == 1
    assert multi["per_partition_ok"] and not multi["global_ok"]
    assert single["global_ok"] and [r["seq"] for r in single["consumed"]] == list(range(1, 13))
    # what the widget consumed is exactly what the broker holds, partition by partition
    for run in (multi, single):
        held = {}
        for r in read_all(run["topic"]):
            held.setdefault(r.partition, []).append((r.offset, int(r.value)))
        seen = {}
        for r in run["consumed"]:
            seen.setdefault(r["partition"], []).append((r["offset"], r["seq"]))
        assert seen == held
    assert tb.value("ordering.closed")


def _ch02b_judge(tb, code=None):
    """Run `code` in the executed notebook's kernel (the reader's answer or action), then the exercise's
    checker cell (the notebook's last cell) again; return the `verdict` it reached from the broker."""
    if code:
        tb.inject(code, pop=True)
    tb.execute_cell(len(tb.cells) - 1)
    return tb.value("verdict")


def test_consumer_kip848_notice_is_printed_by_the_console_consumer(nb_console_consumer):
    """2.2.3 points at the KIP-848 line on stderr: ConsoleConsumer prints it itself because the tools log at WARN."""
    tb = nb_console_consumer
    expected = ("The consumer rebalance protocol (KIP-848) is production-ready! Set group.protocol=consumer to try "
                "it out. See https://kafka.apache.org/documentation/#consumer_rebalance_protocol")
    assert tb.value("notice") == [expected]
    assert tb.value("grouped.stderr").splitlines()[0] == expected
    assert tb.value("plain.stderr").splitlines()[0] == expected      # printed without --group too
    assert "KIP-848" not in tb.value("grouped.stdout")


def test_consumer_exercise_checker_says_right_or_wrong_from_the_broker(nb_console_consumer):
    from kafkabook import BOOTSTRAP, kafka_sh
    tb = nb_console_consumer
    assert tb.value("verdict") == "답 없음"                    # the notebook leaves my_guess = None
    committed = _ch02p2_committed("hello-group")
    lag = sum(end - committed.get(p, 0) for p, end in end_offsets("hello.kafka").items())
    assert _ch02b_judge(tb, f"my_guess = {lag + 11}") == "오답"
    assert _ch02b_judge(tb, f"my_guess = {lag}") == "정답"
    # the reader's own check: the same group with --from-beginning prints exactly that many records
    again = kafka_sh(f"kafka-console-consumer.sh --bootstrap-server {BOOTSTRAP} --topic hello.kafka "
                     "--group hello-group --from-beginning --timeout-ms 5000", check=False)
    assert len(again.lines) == lag == 0


# ---------------------------------------------------------------- checks shared by the 2.2.1-2.2.3 notebooks

@pytest.mark.parametrize("state_fixture, topic, partitions", [
    ("topics_state", "hello.kafka", 4),
    ("topics_state", "hello.kafka.2", 3),
    ("producer_state", "hello.kafka", 4),
    ("consumer_state", "hello.kafka", 4),
    ("consumer_state", "order.multi", 3),
    ("consumer_state", "order.single", 1),
])
def test_notebook_left_the_topic_with_its_partitions(request, state_fixture, topic, partitions):
    """Each notebook builds the topics it needs itself; read back from the broker right after it ran."""
    assert request.getfixturevalue(state_fixture)["partitions"][topic] == partitions


def _ch02p1_lag_from_state(state):
    return sum(end - state["committed"].get(p, 0) for p, end in state["ends"].items())


@pytest.mark.parametrize("nb_fixture, expr, expected", [
    ("nb_install", "leader", lambda request: _ch02p1_quorum_leader()),
    ("nb_topics", "[now['partitions'], now['configs']]",
     lambda request: [request.getfixturevalue("topics_state")["hello.kafka.2"][k] for k in ("partitions", "configs")]),
    ("nb_console_producer", "[predict('user-42'), landed]",
     lambda request: [(murmur2(b"user-42") & 0x7FFFFFFF) % 4,
                      sorted({r.partition for r in request.getfixturevalue("producer_state")["records"]
                              if r.key == b"user-42"})]),
    ("nb_console_consumer", "would_read",
     lambda request: _ch02p1_lag_from_state(request.getfixturevalue("consumer_state"))),
], ids=["2.1", "2.2.1", "2.2.2", "2.2.3"])
def test_exercise_checker_reads_the_answer_from_the_broker(request, nb_fixture, expr, expected):
    """The exercise's last cell compares the reader's answer with what the broker says; the answer it
    computed must be what the test reads from the broker itself."""
    tb = request.getfixturevalue(nb_fixture)
    assert tb.cells[-1].cell_type == "code" and tb.cells[-1].outputs
    assert tb.value(expr) == expected(request)


# ---------------------------------------------------------------- 2.2.4 kafka-consumer-groups.sh

nb_consumer_groups = notebook_fixture("ch02/02_4_consumer_groups.ipynb")


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


def test_consumer_group_widget_rebalances_and_its_lag_is_the_brokers(nb_consumer_groups):
    tb = nb_consumer_groups
    three, four = tb.value("three"), tb.value("four")
    assert sorted(three.values()) == [[0], [1], [2]]
    assert sorted(four.values()) == [[], [0], [1], [2]] and len(tb.value("idle")) == 1
    committed = _ch02p2_committed("widget-group")
    ends = end_offsets("groups.widget")
    assert sum(ends.values()) == 15 and 0 < sum(committed.values()) < 15
    widget_lag = {int(p): lag for p, lag in tb.value("widget_lag").items()}
    assert widget_lag == {p: ends[p] - committed.get(p, 0) for p in ends}
    assert widget_lag == {int(p): lag for p, lag in tb.value("cli_lag").items()}
    with admin_client() as admin:
        assert admin.describe_groups(["widget-group"])["widget-group"]["group_state"] == "Empty"


def test_consumer_groups_list_type_shows_a_classic_group(nb_consumer_groups):
    rows = [line.split() for line in nb_consumer_groups.value("typed.lines")]
    assert rows[0] == ["GROUP", "TYPE"] and ["hello-group", "Classic"] in rows[1:]


def test_consumer_groups_compare_lag_is_the_package_helper(nb_consumer_groups):
    """The CLI-versus-Python comparison lives in kafkabook.tables; the notebook shows the Kafka calls."""
    tb = nb_consumer_groups
    sources = "\n".join(c.source for c in tb.cells if c.cell_type == "code")
    assert "def side_by_side" not in sources and "def describe_rows" not in sources
    assert "list_group_offsets" in sources and "end_offsets" in sources
    assert tb.value("compare_lag(cli_rows_3, py_rows_3)") is True
    assert tb.value("compare_lag(cli_rows_2, py_rows_3)") is False


def test_consumer_groups_exercise_checker_says_right_or_wrong_from_the_broker(nb_consumer_groups):
    """Keep last in 2.2.4: it sends records to hello.kafka as the reader would."""
    tb = nb_consumer_groups
    assert tb.value("verdict") == "답 없음"
    zero = "my_guess = {0: 0, 1: 0, 2: 0, 3: 0}"
    assert _ch02b_judge(tb, zero) == "오답"                      # nothing sent yet: no lag on the broker
    send = ("with producer() as p:\n"
            "    for i in range(3):\n"
            "        p.send(TOPIC, value=b'exercise', partition=2)\n"
            "    p.flush()")
    assert _ch02b_judge(tb, send) == "오답"                      # the guess of no lag is now wrong
    committed, ends = _ch02p2_committed("hello-group"), end_offsets("hello.kafka")
    lag = {p: ends[p] - committed[p] for p in ends}
    assert lag == {0: 0, 1: 0, 2: 3, 3: 0}
    assert _ch02b_judge(tb, f"my_guess = {lag!r}") == "정답"
    # a record on another partition is not what the exercise asked
    assert _ch02b_judge(tb, send.replace("range(3)", "range(1)").replace("partition=2", "partition=0")) == "오답"


# ---------------------------------------------------------------- 2.2.5 kafka-verifiable-producer/consumer

nb_verifiable = notebook_fixture("ch02/02_5_verifiable.ipynb")


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


def test_verifiable_exercise_checker_says_right_or_wrong_from_the_broker(nb_verifiable):
    """Keep last in 2.2.5: it produces to verify-test as the reader would."""
    from kafkabook import BOOTSTRAP, kafka_sh
    tb = nb_verifiable
    assert tb.value("verdict") == "오답" and tb.value("extra") == []
    # the outline's `--value-prefix ex` is refused: the option takes an integer (VerifiableProducer)
    tool = f"kafka-verifiable-producer.sh --bootstrap-server {BOOTSTRAP} --topic verify-test --max-messages 5"
    refused = kafka_sh(f"{tool} --value-prefix ex --repeating-keys 2", check=False)
    assert refused.returncode != 0
    assert "argument --value-prefix: could not convert 'ex' to Integer" in " ".join(refused.stderr.split())
    assert _ch02b_judge(tb) == "오답" and end_offsets("verify-test") == {0: 10}
    answer = ('answer = kafka_sh(f"kafka-verifiable-producer.sh --bootstrap-server {BOOTSTRAP} "\n'
              '                  f"--topic {TOPIC} --max-messages 5 --value-prefix 7 --repeating-keys 2")')
    assert _ch02b_judge(tb, answer) == "정답"
    assert [(r.offset, r.key, r.value) for r in read_all("verify-test")[10:]] == \
        [(10 + i, str(i % 2).encode(), f"7.{i}".encode()) for i in range(5)]
    assert _ch02b_judge(tb, answer) == "오답"                     # sent twice: 10 extra records


# ---------------------------------------------------------------- 2.2.6 kafka-delete-records.sh

nb_delete_records = notebook_fixture("ch02/02_6_delete_records.ipynb")


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


def test_delete_records_exercise_checker_says_right_or_wrong_from_the_broker(nb_delete_records):
    """Keep last in 2.2.6: it deletes records as the reader would."""
    tb = nb_delete_records
    assert tb.value("verdict") == "오답" and tb.value("low") == 70
    delete = "with admin_client() as admin:\n    admin.delete_records({{tp: {}}})"
    assert _ch02b_judge(tb, delete.format(75)) == "오답" and beginning_offsets("delete-test") == {0: 75}
    assert _ch02b_judge(tb, delete.format(80)) == "정답" and beginning_offsets("delete-test") == {0: 80}
    assert read_all("delete-test")[0].value == b"message-80"
    assert _ch02b_judge(tb, delete.format(81)) == "오답"


# ---------------------------------------------------------------- 2.3 정리 (keep last: it deletes the chapter's topics)

NB_CH02_TOPICS = ["hello.kafka", "hello.kafka.2", "hello.widget", "order.multi", "order.single", "order.widget",
                  "order.widget.single", "groups.widget", "nokey.sticky", "verify-test", "delete-test"]
NB_CH02_GROUPS = ["hello-group", "test-group", "widget-group"]


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


def test_summary_uses_the_dict_forms_of_kafka_python_3(nb_summary):
    text = "\n".join(c.source for c in nb_summary.cells if c.cell_type == "markdown")
    table = [line for line in text.splitlines() if line.startswith("| `kafka-")]
    assert not [line for line in table if "NewTopic" in line or "NewPartitions" in line]
    assert "--command-property" in text and "--command-config" in text and "KIP-1147" in text


def test_summary_exercise_checker_says_right_or_wrong_from_the_broker(nb_summary):
    """Keep last: it walks the chapter's flow as the reader would, then cleans up with the notebook's cells."""
    tb = nb_summary
    assert tb.value("verdict") == "오답" and tb.value("exists") is False
    create = ('with admin_client() as admin:\n'
              '    admin.create_topics({"hello.kafka": {"num_partitions": 2, "replication_factor": 1}})\n'
              'wait_until(lambda: len(end_offsets("hello.kafka")) == 2, 30, "hello.kafka")\n'
              'with producer() as p:\n'
              '    for i in range(3):\n'
              '        p.send("hello.kafka", value=f"again-{i}".encode())\n'
              '    p.flush()')
    assert _ch02b_judge(tb, create) == "오답"                    # sent, but not yet read and committed
    assert sum(end_offsets("hello.kafka").values()) == 3
    read = ('with consumer("hello.kafka", group_id="hello-group", enable_auto_commit=False,\n'
            '              auto_offset_reset="earliest") as c:\n'
            '    got = []\n'
            '    wait_until(lambda: got.extend(r for b in c.poll(500).values() for r in b) or len(got) >= 3,\n'
            '               30, "read")\n'
            '    c.commit()')
    assert _ch02b_judge(tb, read) == "정답"
    assert _ch02p2_committed("hello-group") == end_offsets("hello.kafka")
    for cell in (3, 4):                                          # the notebook's cleanup cells
        tb.execute_cell(cell)
    with admin_client() as admin:
        assert "hello.kafka" not in admin.list_topics()
        assert "hello-group" not in {g["group_id"] for g in admin.list_groups()}
