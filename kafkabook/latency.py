"""Latency bookkeeping for the acks notebook: percentiles, a summary row, the bar chart,
and which replicas hold a record on disk."""
from pathlib import Path

from . import runtime, settings
from .plots import figure


def percentile(values, q):
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def summarize(acks, latencies_s, count, elapsed_s):
    """{'acks', 'records_per_s', 'p50_ms', 'p99_ms'}: `count` records sent in `elapsed_s`,
    percentiles of the one-at-a-time send->completion latencies."""
    return {"acks": str(acks), "records_per_s": round(count / elapsed_s),
            "p50_ms": round(percentile(latencies_s, 50) * 1000, 2),
            "p99_ms": round(percentile(latencies_s, 99) * 1000, 2)}


def plot_acks(rows):
    """Two bar charts side by side: records/s, and p50/p99 latency, per acks setting."""
    fig, (left, right) = figure(1, 2, figsize=(10, 3.6))
    names = [f"acks={r['acks']}" for r in rows]
    bars = left.bar(names, [r["records_per_s"] for r in rows], color="#4c72b0")
    left.bar_label(bars, fmt="%d")
    left.set_title("처리량 (레코드/초, 높을수록 좋다)")
    left.set_ylabel("레코드/초")
    xs = range(len(rows))
    for shift, key in ((-0.2, "p50"), (0.2, "p99")):
        bars = right.bar([x + shift for x in xs], [r[f"{key}_ms"] for r in rows], width=0.4, label=key)
        right.bar_label(bars, fmt="%.2f", fontsize=8)
    right.set_xticks(list(xs), names)
    right.set_title("send부터 완료(콜백)까지 지연 (밀리초, 낮을수록 좋다)")
    right.set_ylabel("밀리초")
    right.legend()
    fig.tight_layout()
    return fig


def node_id(service):
    return int(settings.node_properties(service)["node.id"])


def service_of(node):
    """The cluster service name ('kafka-2') of a node id."""
    return next(s for s in settings.CLUSTER if node_id(s) == node)


def replicas_holding(topic, partition, payload, services=settings.CLUSTER):
    """{service: True/False} whether the partition's segment files on each node contain `payload`
    (read straight from the node's disk, so it works for a node that is down; local runtime),
    or None where the files cannot be read."""
    found = {}
    for s in services:
        folder = Path(runtime.partition_dir(topic, partition, s))
        if runtime.kind() == "docker":
            try:
                data = runtime.segment_bytes(topic, partition, "00000000000000000000.log", s)
            except Exception:
                found[s] = None
                continue
        else:
            logs = sorted(folder.glob("*.log")) if folder.exists() else []
            data = b"".join(p.read_bytes() for p in logs)
        found[s] = payload in data
    return found
