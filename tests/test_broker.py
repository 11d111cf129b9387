"""The foundation: a real Kafka 4.3.1 broker (compose settings run from the Maven jars), the real CLI tools,
the cluster profile, persistence across a hard kill, and the fast Korean failure when no broker runs."""
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from kafka import KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.partitioner.default import murmur2

from kafkabook import kafka_sh, runtime, settings
from kafkabook.connection import admin_client, check_broker
from kafkabook.errors import BrokerUnavailable
from kafkabook.topics import describe, fresh_topic, read_all
from kafkabook.waiting import wait_until

ROOT = settings.ROOT


def console_records(result):
    """Parse console-consumer lines printed with print.partition/print.offset/print.key and key.separator='|'."""
    rows = []
    for line in result.lines:
        part, off, key, value = line.split("|", 3)
        rows.append((int(part.split(":")[1]), int(off.split(":")[1]), key, value))
    return rows


# ---------------------------------------------------------------- one source of settings

def test_env_rule_matches_the_official_image():
    assert settings.env_to_property("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS") == "group.initial.rebalance.delay.ms"
    assert settings.env_to_property("KAFKA_LISTENER_NAME_INTERNAL_SSL__CLIENT___AUTH") == \
        "listener.name.internal.ssl_client-auth"


def test_local_properties_are_derived_from_compose():
    env = settings.service_env("kafka")
    props = settings.node_properties("kafka")
    assert props["advertised.listeners"] == env["KAFKA_ADVERTISED_LISTENERS"]
    assert props["controller.quorum.voters"] == "1@localhost:9093"       # kafka:9093 in compose
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert "heap.opts" not in props and "cluster.id" not in props
    cluster = settings.node_properties("kafka-2")
    assert cluster["controller.quorum.voters"] == "1@localhost:19093,2@localhost:19193,3@localhost:19293"
    assert cluster["advertised.listeners"] == "HOST://localhost:19192,INTERNAL://localhost:19194"
    assert cluster["min.insync.replicas"] == "2" and cluster["offsets.topic.replication.factor"] == "3"


def test_no_port_is_in_an_ephemeral_range():
    """A listener port inside the OS's ephemeral range can be taken by some client connection's local port
    while the node is down, and the restart then fails to bind (seen: kafka-2 on 39092 after a kill)."""
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    ports = set()
    for service in (*settings.SINGLE, *settings.CLUSTER):
        for listener in settings.node_properties(service)["listeners"].split(","):
            ports.add(int(listener.rsplit(":", 1)[1]))
    assert len(ports) == 2 + 3 * 3
    for port in sorted(ports):
        assert not low <= port <= high, f"{port} is in Linux's ephemeral range {low}-{high}"
        assert port < 49152, f"{port} is in the ephemeral range of macOS and Windows"


def test_running_broker_has_the_compose_configuration(broker):
    """What the broker reports about itself equals docker-compose.yml's environment."""
    env = settings.service_env("kafka")
    node_id = env["KAFKA_NODE_ID"]
    with admin_client() as admin:
        res = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, node_id)], config_filter="all")
    configs = {k: v["value"] for k, v in res["broker"][node_id].items()}
    for key in ("KAFKA_NUM_PARTITIONS", "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS",
                "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_ADVERTISED_LISTENERS"):
        assert configs[settings.env_to_property(key)] == env[key], key
    assert broker["cluster_id"] == env["CLUSTER_ID"]
    assert [b["broker_id"] for b in broker["brokers"]] == [int(node_id)]


# ---------------------------------------------------------------- real CLI tools

def test_kafka_python_records_read_back_by_the_java_console_consumer(broker):
    topic = "foundation.keyed"
    fresh_topic(topic, partitions=4)
    keys = [f"user-{i % 7}" for i in range(100)]
    with KafkaProducer(bootstrap_servers=settings.BOOTSTRAP) as producer:
        for i, key in enumerate(keys):
            producer.send(topic, key=key.encode(), value=f"{key}:{i}".encode())
        producer.flush()
    out = kafka_sh(f"kafka-console-consumer.sh --bootstrap-server {settings.BOOTSTRAP} --topic {topic} "
                   "--from-beginning --max-messages 100 --timeout-ms 30000 "
                   "--formatter-property print.key=true --formatter-property print.partition=true "
                   "--formatter-property print.offset=true --formatter-property key.separator=|")
    rows = console_records(out)
    assert len(rows) == 100
    assert sorted((k, v) for _, _, k, v in rows) == sorted((k, f"{k}:{i}") for i, k in enumerate(keys))
    for key in set(keys):
        mine = [(p, o, int(v.split(":")[1])) for p, o, k, v in rows if k == key]
        assert len({p for p, _, _ in mine}) == 1, f"{key} spread over partitions"
        by_offset = [seq for _, _, seq in sorted(mine, key=lambda r: r[1])]
        assert by_offset == sorted(by_offset), f"{key} out of order"


def test_java_console_producer_and_kafka_python_choose_the_same_partition(broker):
    topic = "foundation.partitioner"
    fresh_topic(topic, partitions=6)
    keys = [f"key-{i}" for i in range(50)]
    kafka_sh(f"kafka-console-producer.sh --bootstrap-server {settings.BOOTSTRAP} --topic {topic} "
             "--reader-property parse.key=true --reader-property key.separator=:",
             input="".join(f"{k}:java\n" for k in keys))
    java = {r.key.decode(): r.partition for r in read_all(topic) if r.value == b"java"}
    assert len(java) == 50
    python = {}
    with KafkaProducer(bootstrap_servers=settings.BOOTSTRAP) as producer:
        for k in keys:
            python[k] = producer.send(topic, key=k.encode(), value=b"python").get(timeout=30).partition
    assert python == java
    assert all(java[k] == (murmur2(k.encode()) & 0x7FFFFFFF) % 6 for k in keys)
    assert len(set(java.values())) > 1


def test_kafka_topics_describe_shows_what_was_created(broker):
    topic = "foundation.described"
    fresh_topic(topic, partitions=3, configs={"retention.ms": "172800000"})
    out = kafka_sh(f"kafka-topics.sh --bootstrap-server {settings.BOOTSTRAP} --describe --topic {topic}")
    header = out.lines[0]
    assert f"Topic: {topic}" in header and "PartitionCount: 3" in header and "ReplicationFactor: 1" in header
    assert "retention.ms=172800000" in header
    partitions = [line for line in out.lines[1:] if "Partition:" in line]
    assert [int(line.split("Partition:")[1].split()[0]) for line in partitions] == [0, 1, 2]
    assert all("Leader: 1" in line and "Isr: 1" in line for line in partitions)


def test_cli_error_is_returned_or_raised():
    bad = kafka_sh(f"kafka-topics.sh --bootstrap-server {settings.BOOTSTRAP} --describe --topic no.such.topic.here",
                   check=False)
    assert not bad.ok and "does not exist" in (bad.stdout + bad.stderr)


# ---------------------------------------------------------------- persistence and failover

def test_hard_kill_keeps_acknowledged_records(broker):
    topic = "foundation.durable"
    fresh_topic(topic, partitions=2)
    n = 200
    with KafkaProducer(bootstrap_servers=settings.BOOTSTRAP, acks="all") as producer:
        acked = [producer.send(topic, key=str(i % 5).encode(), value=str(i).encode()).get(timeout=30) for i in range(n)]
    assert len(acked) == n
    runtime.kill("kafka")
    assert not runtime.status()["kafka"]
    with pytest.raises(BrokerUnavailable):
        check_broker(timeout=3)
    runtime.restart("kafka")
    values = sorted(int(r.value) for r in read_all(topic))
    assert values == list(range(n))


def test_cluster_survives_a_node_kill(cluster):
    topic = "foundation.replicated"
    assert sorted(b["broker_id"] for b in check_broker(cluster)["brokers"]) == [1, 2, 3]
    fresh_topic(topic, partitions=1, replication=3, bootstrap=cluster)
    [p] = wait_until(lambda: [p for p in describe(topic, cluster) if len(p["isr"]) == 3], 30, "ISR 3")
    victim = next(s for s in settings.CLUSTER if settings.node_properties(s)["node.id"] != str(p["leader"]))
    victim_id = int(settings.node_properties(victim)["node.id"])
    runtime.kill(victim)
    try:
        with KafkaProducer(bootstrap_servers=cluster, acks="all") as producer:
            meta = producer.send(topic, value=b"while-down").get(timeout=60)
        assert meta.partition == 0
        [p] = wait_until(lambda: [p for p in describe(topic, cluster) if len(p["isr"]) == 2], 60, "ISR 2")
        assert victim_id not in p["isr"]
    finally:
        runtime.restart(victim)
    [p] = wait_until(lambda: [p for p in describe(topic, cluster) if len(p["isr"]) == 3], 90, "ISR 3 after restart")
    assert sorted(p["isr"]) == [1, 2, 3]
    assert [r.value for r in read_all(topic, cluster)] == [b"while-down"]


# ---------------------------------------------------------------- broker down

def test_no_broker_fails_fast_in_korean():
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable) as err:
        check_broker("localhost:1")
    assert time.monotonic() - started < 5
    assert "브로커" in str(err.value) and "./run broker start" in str(err.value)


def test_no_broker_in_a_notebook_shows_the_message_not_a_traceback(tmp_path):
    """In a real kernel with nothing listening, the first cell fails in under 5 s with only the Korean message."""
    from testbook import testbook
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from kafkabook import check_broker\ncheck_broker()")]
    path = tmp_path / "down.ipynb"
    nbformat.write(nb, path)
    env_before = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = "localhost:1"
    try:
        with testbook(str(path), execute=False, timeout=60) as tb:
            started = time.monotonic()
            with pytest.raises(Exception):
                tb.execute_cell(0)
            elapsed = time.monotonic() - started
            [out] = tb.cells[0].outputs
    finally:
        if env_before is None:
            os.environ.pop("KAFKA_BOOTSTRAP_SERVERS")
        else:
            os.environ["KAFKA_BOOTSTRAP_SERVERS"] = env_before
    assert elapsed < 5
    assert out["ename"] == "BrokerUnavailable"
    shown = "\n".join(out["traceback"])
    assert "./run broker start" in shown and "localhost:1" in shown
    assert len(out["traceback"]) == 1 and "File " not in shown


def test_command_line_status_reports_the_running_broker(broker):
    done = subprocess.run([sys.executable, "-m", "kafkabook", "broker", "status"], capture_output=True, text=True)
    assert done.returncode == 0 and "kafka" in done.stdout and "localhost:9092" in done.stdout


@pytest.mark.skipif(runtime.kind() != "local" or not Path("/proc/self/task").exists(),
                    reason="pid files are used only by the local JVM runtime on Linux")
def test_a_reused_pid_is_not_mistaken_for_a_node(broker, tmp_path):
    """PIDs wrap (pid_max is 32768 here), so a stale pid file may name another process, or a thread of
    another broker's JVM. Seen: kafka-1's stale pid was a thread id of the single broker, so kafka-1
    counted as running and was never started."""
    real = runtime.node("kafka").pid()
    assert real is not None
    thread = next(int(t.name) for t in Path(f"/proc/{real}/task").iterdir() if int(t.name) != real)
    other = runtime.LocalNode("kafka-1")
    other.pid_file = tmp_path / "pid"
    for stale in (real, thread, os.getpid()):
        other.pid_file.write_text(str(stale))
        assert other.pid() is None, stale
    same = runtime.LocalNode("kafka")
    same.pid_file = tmp_path / "pid"
    same.pid_file.write_text(str(thread))
    assert same.pid() is None
    same.pid_file.write_text(str(real))
    assert same.pid() == real
