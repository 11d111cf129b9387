"""Which partition a key goes to: the default partitioner's murmur2 rule, and keys that spread over partitions."""
from kafka.partitioner.default import murmur2


def default_partition(key, partitions):
    """The partition kafka-python's (and the Java client's) default partitioner picks for a non-null key:
    murmur2(key bytes) made positive, modulo the partition count."""
    data = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    return (murmur2(data) & 0x7fffffff) % partitions


def spread_keys(count, partitions, prefix="고객-"):
    """`count` keys "고객-1", "고객-2", ... chosen so that they land on as many different partitions as possible."""
    chosen, covered, i = [], set(), 0
    while len(covered) < min(count, partitions):
        i += 1
        key = f"{prefix}{i}"
        p = default_partition(key, partitions)
        if p not in covered:
            covered.add(p)
            chosen.append(key)
    i = 0
    while len(chosen) < count:
        i += 1
        if f"{prefix}{i}" not in chosen:
            chosen.append(f"{prefix}{i}")
    return chosen
