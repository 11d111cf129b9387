"""Producer metrics for notebooks: pick a few of `producer.metrics()` and print runs side by side."""

#: metrics of the 'producer-metrics' group that show batching (names as in the Java client)
BATCHING = ("records-per-request-avg", "batch-size-avg", "request-latency-avg",
            "record-queue-time-avg", "request-rate")


def producer_metrics(p, names=BATCHING):
    """{name: value} from a kafka-python producer's 'producer-metrics' group.

    kafka-python records record-queue-time in seconds; it is returned in ms,
    the unit the Java client reports, so every *-time/-latency value is ms.
    """
    group = p.metrics()["producer-metrics"]
    values = {n: group[n] for n in names}
    if "record-queue-time-avg" in values:
        values["record-queue-time-avg"] *= 1000
    return values


def metrics_table(runs):
    """Print {run label: {metric: value}} as a table with one column per run; return the text."""
    labels = list(runs)
    names = list(next(iter(runs.values())))
    width = max(len(n) for n in names)
    cols = [max(len(label), 10) for label in labels]
    lines = [" " * width + " | " + " | ".join(f"{l:>{w}}" for l, w in zip(labels, cols))]
    lines.append("-" * len(lines[0]))
    for n in names:
        cells = " | ".join(f"{runs[l][n]:>{w}.2f}" for l, w in zip(labels, cols))
        lines.append(f"{n:<{width}} | {cells}")
    text = "\n".join(lines)
    print(text)
    return text
