"""Watching a partition's log on disk while the broker deletes or compacts it (4.1.2).

The cells run the real `kafka-dump-log.sh` (read back with kafkabook.dumplog); this module builds its
command line, waits on the log cleaner with progress, and draws a log before and after.
"""
import time

from . import runtime
from .progress import wait_with_progress  # noqa: F401 (used by the notebook)
from .waiting import wait_until


def dump_command(topic, partition=0, service="kafka"):
    """The kafka-dump-log.sh line that prints every record of every segment of one partition."""
    folder = runtime.partition_dir(topic, partition, service)
    logs = [f["name"] for f in runtime.segment_files(topic, partition, service)
            if f["name"].endswith(".log")]
    files = ",".join(str(folder / name) for name in logs)
    return f"kafka-dump-log.sh --print-data-log --files {files}"


def by_segment(records):
    """{segment base offset: [(offset, key, value), ...]} for printing."""
    out = {}
    for r in records:
        out.setdefault(r["segment"], []).append((r["offset"], r["key"], r["value"]))
    return out


def active_segment(topic, partition=0, service="kafka"):
    """Base offset of the newest (active) segment of the partition."""
    logs = [f["name"] for f in runtime.segment_files(topic, partition, service)
            if f["name"].endswith(".log")]
    return max(int(name.split(".")[0]) for name in logs)


class SegmentClock:
    """Lets `segment.ms` pass between two batches of writes, so the next write rolls a segment.

    A segment rolls on the first append after it is older than segment.ms; time has to pass.
    """

    def __init__(self, segment_ms):
        # margin: the producer stamps a record a little after send() is called
        self.seconds = segment_ms / 1000 + 0.3
        self.last = time.monotonic()

    def next_round(self):
        wait_until(lambda: time.monotonic() - self.last >= self.seconds,
                   self.seconds + 5, "segment.ms 경과", interval=0.02)
        self.last = time.monotonic()


def log_bytes(topic, partition=0, service="kafka"):
    """Total size in bytes of the partition's .log segment files."""
    return sum(f["size"] for f in runtime.segment_files(topic, partition, service)
               if f["name"].endswith(".log"))


def draw_log(before, after, title="압축 전후의 로그"):
    """Two rows of dots: each record's offset on x, its key as colour; tombstones hollow."""
    import matplotlib.pyplot as plt
    from .plots import figure
    keys = sorted({r["key"] for r in before + after})
    colours = {k: plt.cm.tab10(i % 10) for i, k in enumerate(keys)}
    fig, axes = figure(2, 1, figsize=(9, 3.6), sharex=True)
    for ax, records, label in ((axes[0], before, "압축 전"), (axes[1], after, "압축 후")):
        for k in keys:
            live = [r["offset"] for r in records if r["key"] == k and r["value"] is not None]
            dead = [r["offset"] for r in records if r["key"] == k and r["value"] is None]
            ax.scatter(live, [0] * len(live), color=colours[k], s=60, label=k)
            ax.scatter(dead, [0] * len(dead), facecolors="none", edgecolors=colours[k], s=60)
        starts = sorted({r["segment"] for r in records})
        for s in starts:
            ax.axvline(s - 0.5, color="grey", lw=0.8, ls=":")
        ax.set_yticks([])
        ax.set_ylabel(label, rotation=0, ha="right", va="center")
    axes[0].legend(title="키", ncol=len(keys), loc="upper left", bbox_to_anchor=(0, 1.6), fontsize=8)
    axes[1].set_xlabel("오프셋 (점선: 세그먼트 시작, 빈 원: 툼스톤)")
    fig.suptitle(title, y=1.12)
    return fig
