"""Where null-key records went: numbered values to send, and per-partition counts and runs read back.

A run is a stretch of records, in the order they were sent, that landed in one partition:
what a sticky partitioner sent before it switched (or picked the same partition again).
"""
from collections import Counter

from .topics import read_all


def numbered_values(label, n, size=100):
    """`n` record values of exactly `size` bytes, b"label:00000:....", numbered in send order."""
    return [f"{label}:{i:05d}:".ljust(size, ".").encode() for i in range(n)]


def numbered_lines(label, n, size=100):
    """The same values as text for a console producer's stdin, one record per line."""
    return "".join(value.decode() + "\n" for value in numbered_values(label, n, size))


def runs(partitions):
    """[[partition, length]] of consecutive equal partitions, e.g. [0, 0, 2] -> [[0, 2], [2, 1]]."""
    out = []
    for p in partitions:
        if out and out[-1][0] == p:
            out[-1][1] += 1
        else:
            out.append([p, 1])
    return out


def spread(topic, labels):
    """For each label: {'counts': {partition: records}, 'runs': [run lengths in send order]}.

    Reads every record of `topic` back from the broker and orders a label's records by
    the number in their value (the send order), whatever partition they are in.
    """
    sent = {label: [] for label in labels}
    for r in read_all(topic):
        label, number, _ = r.value.decode().split(":", 2)
        if label in sent:
            sent[label].append((int(number), r.partition))
    result = {}
    for label, pairs in sent.items():
        in_order = [p for _, p in sorted(pairs)]
        result[label] = {"counts": dict(sorted(Counter(in_order).items())),
                         "runs": [n for _, n in runs(in_order)]}
    return result


def spread_table(spreads, partitions):
    """The spread as aligned text lines: records per partition, switches, run lengths."""
    head = "  ".join(f"P{p:<3}" for p in range(partitions))
    lines = [f"{'프로듀서':<14}{head}  구간 수  구간 길이(마지막 제외) 최소/중앙/최대"]
    for label, s in spreads.items():
        counts = "  ".join(f"{s['counts'].get(p, 0):<4}" for p in range(partitions))
        lengths = sorted(s["runs"][:-1] or s["runs"])  # the last run is cut short by the end
        mid = lengths[len(lengths) // 2] if lengths else 0
        low, high = (lengths[0], lengths[-1]) if lengths else (0, 0)
        lines.append(f"{label:<16}{counts}  {len(lengths):>6}  {low:>5} / {mid:>3} / {high:>3}")
    return "\n".join(lines)
