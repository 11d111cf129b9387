"""Every offset commit a group made, read back from the broker's __consumer_offsets log.

Sampling `list_consumer_group_offsets` shows the committed offset now and then; the coordinator
writes each commit as one record (OffsetCommitKey/OffsetCommitValue, kafka-group-coordinator's
common/message/*.json) to the partition `abs(group.hashCode()) % 50`
(GroupCoordinatorService.partitionFor), so reading that partition gives all of them, in order,
with the broker's commit timestamp.
"""
import struct

from kafka import KafkaConsumer, TopicPartition

from .settings import BOOTSTRAP

OFFSETS_TOPIC = "__consumer_offsets"
OFFSET_COMMIT = 1              # CoordinatorRecordType.OFFSET_COMMIT (the key's leading int16)


def java_hash(text):
    """Java's String.hashCode() (UTF-16 code units, 32-bit overflow)."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i:i + 2], "big")) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def partition_for(group, partitions=50):
    """The __consumer_offsets partition that holds `group`'s commits (Utils.abs(hashCode) % n)."""
    h = java_hash(group)
    return (0 if h == -(1 << 31) else abs(h)) % partitions


def _string(buf, pos):
    n = struct.unpack_from(">h", buf, pos)[0]
    return buf[pos + 2:pos + 2 + n].decode(), pos + 2 + n


def _uvarint(buf, pos):
    shift = value = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def decode(key, value):
    """{'group', 'topic', 'partition', 'offset', 'commit_ms'} for an offset-commit record, else None
    (group metadata records, and tombstones written when offsets are deleted)."""
    if key is None or value is None or struct.unpack_from(">h", key, 0)[0] != OFFSET_COMMIT:
        return None
    group, pos = _string(key, 2)
    topic, pos = _string(key, pos)
    partition = struct.unpack_from(">i", key, pos)[0]
    version = struct.unpack_from(">h", value, 0)[0]
    offset = struct.unpack_from(">q", value, 2)[0]
    pos = 10 + (4 if version >= 3 else 0)                 # leaderEpoch from version 3
    if version >= 4:                                      # flexible: compact string
        n, pos = _uvarint(value, pos)
        pos += max(n - 1, 0)
    else:
        pos += 2 + struct.unpack_from(">h", value, pos)[0]
    commit_ms = struct.unpack_from(">q", value, pos)[0]
    return {"group": group, "topic": topic, "partition": partition, "offset": offset,
            "commit_ms": commit_ms}


def log_end(groups, bootstrap=BOOTSTRAP):
    """{partition: end offset} of the __consumer_offsets partitions of `groups` (remember it before a run)."""
    tps = [TopicPartition(OFFSETS_TOPIC, p) for p in sorted({partition_for(g) for g in groups})]
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        return {tp.partition: off for tp, off in c.end_offsets(tps).items()}
    finally:
        c.close()


def commits(groups, since, bootstrap=BOOTSTRAP):
    """The offset commits of `groups` written after `since` ({partition: offset} from log_end), in log
    order: {group: [{'topic', 'partition', 'offset', 'commit_ms'}, ...]}."""
    found = {g: [] for g in groups}
    tps = [TopicPartition(OFFSETS_TOPIC, p) for p in since]
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        c.assign(tps)
        ends = c.end_offsets(tps)
        for tp in tps:
            c.seek(tp, since[tp.partition])
        while any(c.position(tp) < ends[tp] for tp in tps):
            for records in c.poll(timeout_ms=1000).values():
                for r in records:
                    row = decode(r.key, r.value)
                    if row and row["group"] in found:
                        found[row.pop("group")].append(row)
    finally:
        c.close()
    return found
