"""Where a consumer group's offsets live: the group coordinator and the group's records in __consumer_offsets."""
import json

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from .cli import kafka_sh
from .connection import admin_client
from .settings import BOOTSTRAP
from .waiting import wait_until

OFFSETS_TOPIC = "__consumer_offsets"
FORMATTER = "org.apache.kafka.tools.consumer.OffsetsMessageFormatter"


def find_coordinator(group, bootstrap=BOOTSTRAP, timeout=60):
    """The node id of `group`'s coordinator, asked with a FindCoordinator request
    (kafka-python has no public call for it; its admin client's own lookup is used).

    On a fresh cluster the first FindCoordinator makes the broker create __consumer_offsets,
    and the answer is COORDINATOR_NOT_AVAILABLE until its partitions have leaders: ask until then.
    """
    with admin_client(bootstrap) as admin:
        [node_id] = wait_until(
            lambda: [admin._manager.run(admin._find_coordinator_ids, [group])[group]], timeout,
            f"그룹 {group}의 코디네이터 (__consumer_offsets 준비)", interval=0.5)
    return node_id


def offsets_end(partition, bootstrap=BOOTSTRAP):
    """The end offset of one partition of __consumer_offsets."""
    tp = TopicPartition(OFFSETS_TOPIC, partition)
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        return c.end_offsets([tp])[tp]
    finally:
        c.close()


def commit(group, topic, partition, offset, bootstrap=BOOTSTRAP):
    """Commit `offset` for `group` on one partition without joining the group (assign + commit)."""
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, partition)
        c.assign([tp])
        c.commit({tp: OffsetAndMetadata(offset, "", -1)})
    finally:
        c.close()


def read_commits(partition, start, bootstrap=BOOTSTRAP, max_messages=1, timeout_ms=10000):
    """Read __consumer_offsets partition `partition` from `start` with the console consumer and the
    offsets formatter; returns (CliResult, [{'group', 'topic', 'partition', 'offset'}])."""
    result = kafka_sh(f"kafka-console-consumer.sh --bootstrap-server {bootstrap} --topic {OFFSETS_TOPIC} "
                      f"--partition {partition} --offset {start} --max-messages {max_messages} "
                      f"--timeout-ms {timeout_ms} --formatter {FORMATTER}", check=False)
    rows = []
    for line in result.lines:
        if line.startswith("{"):
            record = json.loads(line)
            key, value = record["key"]["data"], (record.get("value") or {}).get("data") or {}
            rows.append({"group": key["group"], "topic": key["topic"], "partition": key["partition"],
                         "offset": value.get("offset")})
    return result, rows
