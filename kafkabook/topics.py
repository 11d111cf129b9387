"""Topic plumbing for notebooks and tests: a fresh topic, its partitions, and every record in it."""
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import UnknownTopicOrPartitionError

from .connection import admin_client
from .settings import BOOTSTRAP
from .waiting import wait_until


def topic_exists(name, bootstrap=BOOTSTRAP):
    with admin_client(bootstrap) as admin:
        return name in admin.list_topics()


def delete_topics(names, bootstrap=BOOTSTRAP, timeout=30):
    """Delete the topics that exist among `names` and wait until the metadata no longer lists them."""
    with admin_client(bootstrap) as admin:
        present = [n for n in names if n in admin.list_topics()]
        if present:
            try:
                admin.delete_topics(present)
            except UnknownTopicOrPartitionError:
                pass
        wait_until(lambda: not set(present) & set(admin.list_topics()), timeout, f"토픽 삭제 {present}")


def describe(name, bootstrap=BOOTSTRAP, **configs):
    """[{partition, leader, replicas, isr}] of a topic, sorted by partition."""
    with admin_client(bootstrap, **configs) as admin:
        [topic] = admin.describe_topics([name])
    if topic["error_code"]:
        raise UnknownTopicOrPartitionError(name)
    return sorted(({"partition": p["partition_index"], "leader": p["leader_id"],
                    "replicas": list(p["replica_nodes"]), "isr": list(p["isr_nodes"])}
                   for p in topic["partitions"]), key=lambda p: p["partition"])


def wait_for_leaders(name, partitions, bootstrap=BOOTSTRAP, timeout=30):
    """Wait until the topic has `partitions` partitions, each with a leader."""
    def ready():
        parts = describe(name, bootstrap)
        return len(parts) == partitions and all(p["leader"] >= 0 for p in parts) and parts
    return wait_until(ready, timeout, f"토픽 {name}의 리더 {partitions}개")


def fresh_topic(name, partitions=1, replication=1, configs=None, bootstrap=BOOTSTRAP):
    """Delete `name` if it exists, create it anew, and wait until every partition has a leader.

    Makes a notebook idempotent: each run starts from an empty topic.
    """
    delete_topics([name], bootstrap)
    with admin_client(bootstrap) as admin:
        new = {name: {"num_partitions": partitions, "replication_factor": replication,
                      "configs": configs or {}}}
        wait_until(lambda: admin.create_topics(new) or True, 30, f"토픽 {name} 생성")
    return wait_for_leaders(name, partitions, bootstrap)


def end_offsets(name, bootstrap=BOOTSTRAP, **configs):
    """{partition: log end offset}."""
    with _consumer(bootstrap, **configs) as c:
        tps = _partitions(c, name)
        return dict(sorted((tp.partition, off) for tp, off in c.end_offsets(tps).items()))


def _partitions(c, name, timeout=30):
    """The topic's partitions as the consumer `c` learns them. kafka-python 3.0 raises on the first
    failed metadata request here (say, to a node that is frozen or restarting) instead of asking
    another node, so ask again until the deadline; a topic that does not exist gives []."""
    found = wait_until(lambda: (c.partitions_for_topic(name),), timeout, f"토픽 {name} 메타데이터")[0]
    return [TopicPartition(name, p) for p in sorted(found or [])]


def beginning_offsets(name, bootstrap=BOOTSTRAP):
    """{partition: log start offset (low watermark)}."""
    with _consumer(bootstrap) as c:
        tps = _partitions(c, name)
        return dict(sorted((tp.partition, off) for tp, off in c.beginning_offsets(tps).items()))


class _consumer:
    def __init__(self, bootstrap, **configs):
        self.c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **configs)

    def __enter__(self):
        return self.c

    def __exit__(self, *exc):
        self.c.close()


def read_all(name, bootstrap=BOOTSTRAP, timeout=30):
    """Every record now in the topic, read by a group-less consumer from each partition's start
    to its end offset: [ConsumerRecord] in (partition, offset) order."""
    with _consumer(bootstrap) as c:
        wait_until(lambda: c.partitions_for_topic(name), timeout, f"토픽 {name} 메타데이터")
        tps = [TopicPartition(name, p) for p in sorted(c.partitions_for_topic(name))]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        ends = c.end_offsets(tps)
        records = []

        def caught_up():
            for batch in c.poll(timeout_ms=200).values():
                records.extend(batch)
            return all(c.position(tp) >= ends[tp] for tp in tps)

        wait_until(caught_up, timeout, f"토픽 {name}의 끝까지 읽기", interval=0)
    return sorted(records, key=lambda r: (r.partition, r.offset))
