"""Plumbing for consumer lag (4.3.2): a steady producer and a slow consumer on threads, lag sampled
from the broker over time, a live plot, and an evaluator that follows Burrow's rules.

Burrow (github.com/linkedin/Burrow, core/internal/evaluator/caching.go) keeps, per partition, the
last `intervals` (default 10, core/internal/storage/inmemory.go) offsets the group committed, each
with its time and the lag at that time, and judges that window:

1. if the lag was zero at any point in the window, or is zero now: OK
2. a committed offset smaller than the one before: REWIND
3. now - last commit > last commit - first commit: STOP (the group no longer commits)
4. every committed offset in the window is the same: STALL (commits, but does not move)
5. offsets move but the lag never decreased from one entry to the next: WARN (too slow)
otherwise OK. The group's status is its worst partition, with STOP, STALL and REWIND all shown
as ERR (protocol.StatusConstant: NOTFOUND, OK, WARN, ERR, STOP, STALL, REWIND).

The slow consumer puts its commit time (ms) into each commit's metadata, so the sampler can tell a
new commit from an old one even when the offset has not moved (what Burrow sees in
__consumer_offsets, one entry per commit).
"""
import threading
import time
from collections import namedtuple

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import OffsetSpec
from kafka.structs import OffsetAndMetadata

from .connection import admin_client
from .settings import BOOTSTRAP
from .waitclock import clocked

WINDOW = 10          # Burrow's default number of stored offsets per partition
METRIC_GROUP = "consumer-fetch-manager-metrics"

Sample = namedtuple("Sample", "t committed end lag commit_ms metric")
Entry = namedtuple("Entry", "timestamp offset lag")


class SteadyProducer(threading.Thread):
    """Send `rate` small records per second to partition 0 of `topic` until `stop()`."""

    def __init__(self, topic, rate, bootstrap=BOOTSTRAP):
        super().__init__(daemon=True, name="kafkabook-steady-producer")
        self.topic, self.rate, self.sent = topic, rate, 0
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
        self.stopped = threading.Event()
        self.start()

    def run(self):
        try:
            start = time.monotonic()
            while not self.stopped.is_set():
                due = int((time.monotonic() - start) * self.rate)
                while self.sent < due:
                    self.producer.send(self.topic, value=b"x" * 50, partition=0)
                    self.sent += 1
                self.stopped.wait(0.02)
        finally:
            self.producer.flush()
            self.producer.close()

    def stop(self):
        """Stop sending; returns the number of records sent."""
        self.stopped.set()
        self.join(30)
        return self.sent


class SlowConsumer(threading.Thread):
    """A consumer of partition 0 committing for `group`: `work_ms` on each record, a commit after
    each poll with the commit time in the commit's metadata. `stuck = True`: it pauses its
    partition and goes on committing the same offset. `metric` is its latest records-lag-max."""

    def __init__(self, topic, group, work_ms, bootstrap=BOOTSTRAP):
        super().__init__(daemon=True, name="kafkabook-slow-consumer")
        self.work_ms, self.stuck, self.metric, self.error = work_ms, False, None, None
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                      client_id="slow-consumer", auto_offset_reset="earliest",
                                      enable_auto_commit=False, max_poll_records=10)
        # assign(), not subscribe(): only the group's commits matter here, and kafka-python 3.0.12
        # can lose a lone member's rejoin after a fresh topic's metadata arrives (see groups.py)
        self.consumer.assign([TopicPartition(topic, 0)])
        self.stopped = threading.Event()
        self.start()

    def run(self):
        c = self.consumer
        try:
            while not self.stopped.is_set():
                if self.stuck:
                    c.pause(*c.assignment())
                for records in c.poll(timeout_ms=200).values():
                    for _ in records:
                        time.sleep(self.work_ms / 1000)
                now = str(int(time.time() * 1000))
                offsets = {tp: OffsetAndMetadata(c.position(tp), now, -1) for tp in c.assignment()}
                if offsets:
                    c.commit(offsets)
                metric = c.metrics().get(METRIC_GROUP, {}).get("records-lag-max")
                if metric is not None and metric != float("-inf"):   # -inf: nothing recorded yet
                    self.metric = metric
        except Exception as e:          # raised by watch() and stop()
            self.error = e
        finally:
            c.close()

    def stop(self):
        """Leave the group and close; re-raises an error of the consumer's thread."""
        self.stopped.set()
        self.join(30)
        if self.error:
            raise self.error


def sample(admin, group, topic, consumer=None):
    """One reading of partition 0 from the broker: committed offset (and its commit time from the
    metadata), end offset, lag; plus the consumer's records-lag-max if given."""
    tp = TopicPartition(topic, 0)
    committed = admin.list_group_offsets(group)[group].get(tp)
    end = admin.list_partition_offsets({tp: OffsetSpec.LATEST})[tp].offset
    offset = committed.offset if committed else 0
    commit_ms = int(committed.metadata) if committed and committed.metadata.isdigit() else None
    metric = consumer.metric if consumer is not None else None
    return Sample(time.time(), offset, end, end - offset, commit_ms, metric)


@clocked("wait", ("group", 0))
def watch(group, topic, until, consumer=None, every=0.5, view=None, timeout=120,
          bootstrap=BOOTSTRAP, samples=None):
    """Sample at least `every` s apart (a slow redraw makes a gap longer) until `until(samples)`
    is true (checked after each sample); update `view` and print progress every few seconds.
    Returns the list of samples (appended to `samples`)."""
    samples = [] if samples is None else samples
    start = shown = time.monotonic()
    with admin_client(bootstrap) as admin:
        while True:
            sampled_at = time.monotonic()
            if consumer is not None and consumer.error is not None:
                raise consumer.error
            samples.append(sample(admin, group, topic, consumer))
            if view is not None:
                view.update(samples)
            now = time.monotonic()
            if now - shown >= 3:
                shown = now
                print(f"  {now - start:4.1f}초: 랙 {samples[-1].lag}", flush=True)
            if until(samples):
                return samples
            if now - start > timeout:
                raise TimeoutError(f"{timeout}초 안에 기다리던 상태가 오지 않았다 (랙 {samples[-1].lag})")
            time.sleep(max(0.05, every - (time.monotonic() - sampled_at)))


# ---------------------------------------------------------------- Burrow's rules

def entries(samples):
    """Burrow's view of the group: one entry per commit seen (a new commit time in the metadata),
    (commit time ms, committed offset, lag at that sample)."""
    out, last = [], None
    for s in samples:
        if s.commit_ms is not None and s.commit_ms != last:
            out.append(Entry(s.commit_ms, s.committed, s.lag))
            last = s.commit_ms
    return out


def partition_status(window, current_lag, now_ms):
    """Burrow's calculatePartitionStatus on a window of entries (oldest first)."""
    if not window or current_lag == 0 or any(e.lag == 0 for e in window):
        return "OK"                                                           # rule 1
    pairs = list(zip(window, window[1:]))
    if any(b.offset < a.offset for a, b in pairs):
        return "REWIND"                                                       # rule 2
    if now_ms - window[-1].timestamp > window[-1].timestamp - window[0].timestamp:
        return "STOP"                                                         # rule 3
    if all(b.offset == a.offset for a, b in pairs):
        return "STALL"                                                        # rule 4
    if all(b.lag >= a.lag for a, b in pairs):
        return "WARN"                                                         # rule 5
    return "OK"


def group_status(partition_statuses):
    """The group's status: its worst partition; STOP, STALL and REWIND count as ERR."""
    order = ["OK", "WARN", "ERR"]
    worst = "OK"
    for s in partition_statuses:
        s = "ERR" if s in ("STOP", "STALL", "REWIND") else s
        worst = max(worst, s, key=order.index)
    return worst


def evaluate(samples, now_ms=None, window=WINDOW):
    """Burrow's verdict on the last `window` commits in `samples`, at time `now_ms` (default: the
    last sample's time): (partition status, group status, the window)."""
    win = entries(samples)[-window:]
    now_ms = int(samples[-1].t * 1000) if now_ms is None else now_ms
    status = partition_status(win, samples[-1].lag, now_ms)
    return status, group_status([status]), win


def timeline(samples, window=WINDOW):
    """The verdict after each sample once `window` commits have been seen: [(seconds, status)]."""
    out, t0 = [], samples[0].t
    for i in range(1, len(samples) + 1):
        part = samples[:i]
        if len(entries(part)) >= window:
            out.append((part[-1].t - t0, evaluate(part, window=window)[0]))
    return out


def print_window(win, now_ms):
    """The entries of a window as Burrow stores them, times relative to `now_ms`."""
    print(f"{'커밋 시각':>10} {'오프셋':>8} {'랙':>6}")
    for e in win:
        print(f"{(e.timestamp - now_ms) / 1000:9.1f}초 {e.offset:>8} {e.lag:>6}")


# ---------------------------------------------------------------- drawing

COLOURS = {"OK": "tab:green", "WARN": "tab:orange", "STALL": "tab:red", "STOP": "tab:red",
           "REWIND": "tab:red"}


def _plot(ax, samples, phases=()):
    t0 = samples[0].t
    ts = [s.t - t0 for s in samples]
    ax.plot(ts, [s.lag for s in samples], "-", color="tab:blue", label="랙 (끝 오프셋 - 커밋)")
    metric = [(t, s.metric) for t, s in zip(ts, samples) if s.metric is not None]
    if metric:
        ax.plot(*zip(*metric), ":", color="tab:purple", label="records-lag-max (컨슈머 지표)")
    top = max(s.lag for s in samples) or 1
    for at, text in phases:
        ax.axvline(at, color="grey", ls="--", lw=0.8)
        ax.text(at, top, text, rotation=90, fontsize=8, ha="right", va="top")
    ax.set_xlabel("시간(초)")
    ax.set_ylabel("레코드 수")
    ax.legend(fontsize=8, loc="upper left")


class LiveView:
    """A lag plot redrawn in place (a display handle) at most every 2 s while sampling; in a
    saved notebook the last drawing stays."""

    def __init__(self, title):
        from IPython.display import display
        from .plots import figure
        self.fig, self.ax = figure(figsize=(6.5, 3.2))
        self.title, self.drawn = title, 0.0
        self.handle = display(self.fig, display_id=True)

    def update(self, samples, force=False):
        if not force and time.monotonic() - self.drawn < 2.0:
            return
        self.drawn = time.monotonic()
        self.ax.clear()
        _plot(self.ax, samples)
        self.ax.set_title(f"{self.title} (랙 {samples[-1].lag})")
        self.handle.update(self.fig)

    def close(self, samples):
        """Draw the last state and release the figure."""
        import matplotlib.pyplot as plt
        self.update(samples, force=True)
        plt.close(self.fig)


def draw(samples, phases, verdicts):
    """The lag over time with the phase marks, and Burrow's verdict after each sample as a band."""
    from .plots import figure
    fig, (ax, band) = figure(2, 1, figsize=(6.5, 4.0), sharex=True,
                             gridspec_kw={"height_ratios": [4, 1]})
    _plot(ax, samples, phases)
    ax.set_title("느린 컨슈머가 밀렸다가 따라잡는 동안의 랙")
    for i, (t, status) in enumerate(verdicts):
        end = verdicts[i + 1][0] if i + 1 < len(verdicts) else t + 0.5
        band.axvspan(t, end, color=COLOURS[status], alpha=0.6, lw=0)
    seen = []
    for t, status in verdicts:
        if status not in seen:
            seen.append(status)
            band.annotate(status, (t, 0.5), xytext=(3, 0), textcoords="offset points",
                          fontsize=8, va="center")
    band.set_yticks([])
    band.set_ylabel("버로우", rotation=0, ha="right", va="center")
    band.set_xlabel("시간(초)")
    return fig
