"""Consumer deployments measured (4.3.3): a steady producer; a group of kafka-python members on
threads (`Fleet`: blue-green, canary); a group of real Java consumers, one JVM each, restarted one by
one or all at once (`JavaFleet`, notebooks/ch04/java/DeployConsumer.java); and what each partition
went through.

Every member notes the time it processed each record and the rebalance listener's calls, so a
deployment can be judged afterwards: how long each partition went without a record being consumed
while the producer kept writing to it, and whether every record was processed exactly once.
"""
import json
import threading
import time
from collections import defaultdict

from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError

from . import groups, jvm
from .settings import BOOTSTRAP
from .waiting import wait_until
from .waitclock import clocked

# a gap between two records of one partition longer than this counts as "unconsumed" (the producer
# writes every partition every INTERVAL seconds, so a healthy consumer sees gaps of about that much)
INTERVAL = 0.05
GAP = 0.5


class SteadyProducer:
    """A producer thread writing one record to every partition of `topic` each `interval` seconds
    (values 'p<partition>-<n>'), until `stop()`."""

    def __init__(self, topic, partitions, interval=INTERVAL, bootstrap=BOOTSTRAP):
        self.topic, self.partitions, self.interval = topic, partitions, interval
        self.sent = 0
        self._stop = threading.Event()
        self._producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
        self._thread = threading.Thread(target=self._run, name="kafkabook-steady-producer", daemon=True)
        self._thread.start()

    def _run(self):
        n = 0
        while not self._stop.wait(self.interval):
            for p in range(self.partitions):
                self._producer.send(self.topic, f"p{p}-{n}".encode(), partition=p)
            self.sent += self.partitions
            n += 1

    def stop(self):
        """Stop writing, flush and close; returns the number of records sent."""
        self._stop.set()
        self._thread.join(10)
        self._producer.flush()
        self._producer.close()
        return self.sent

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class _Listener(ConsumerRebalanceListener):
    """Notes every call with its time. (It does not commit: kafka-python 3.0.12 runs a synchronous
    listener on the client's I/O thread, where a blocking ``commit()`` raises "Cannot block on
    net.run() from the IO thread itself"; members commit after every batch instead.)"""

    def __init__(self, member):
        self.member = member

    def _note(self, kind, partitions):
        self.member.fleet.events.append((time.monotonic(), self.member.name, kind,
                                         sorted(tp.partition for tp in partitions)))

    def on_partitions_revoked(self, revoked):
        self._note("revoked", revoked)

    def on_partitions_assigned(self, assigned):
        self._note("assigned", assigned)

    def on_partitions_lost(self, lost):
        self._note("lost", lost)


class _Member:
    """One KafkaConsumer on its own thread: poll, note each record, commit after each batch."""

    def __init__(self, fleet, name):
        self.fleet, self.name = fleet, name
        self.stop_event = threading.Event()
        self.consumer = None
        self.error = None
        self.thread = threading.Thread(target=self._run, name=f"kafkabook-{name}", daemon=True)
        self.thread.start()

    def commit(self):
        try:
            self.consumer.commit()
        except KafkaError as e:                     # a rebalance got in between: noted, not fatal
            self.fleet.events.append((time.monotonic(), self.name, "commit-failed", type(e).__name__))

    def _run(self):
        f = self.fleet
        try:
            self.consumer = c = KafkaConsumer(
                bootstrap_servers=f.bootstrap, group_id=f.group, client_id=self.name,
                partition_assignment_strategy=[f.assignor], enable_auto_commit=False,
                auto_offset_reset=f.offset_reset, heartbeat_interval_ms=1000,
                session_timeout_ms=10000)
            c.subscribe([f.topic], listener=_Listener(self))
            while not self.stop_event.is_set():
                batch = c.poll(timeout_ms=500)
                now = time.monotonic()
                for tp, records in batch.items():
                    for r in records:
                        f.records.append((now, self.name, tp.partition, r.offset, r.value))
                if batch:
                    self.commit()
                f.views[self.name] = sorted(tp.partition for tp in c.assignment())
                groups.unstick(c)
            if f.barrier is not None:               # a graceful fleet stop: nobody leaves before all
                self.commit()                       # have committed, so no commit meets a rebalance
                f.barrier.wait(30)
        except Exception as e:                      # kept for the notebook to raise
            self.error = e
        finally:
            f.views.pop(self.name, None)
            if self.consumer is not None:
                held = self.consumer.assignment()
                self.consumer.close()
                f.events.append((time.monotonic(), self.name, "closed",
                                 sorted(tp.partition for tp in held)))

    def stop(self):
        self.stop_event.set()
        self.thread.join(60)
        if self.error:
            raise self.error


class Fleet:
    """Members of one consumer group on threads of this process, all subscribed to `topic`.

    `records`: (time, member, partition, offset, value) for every record a member received;
    `events`: (time, member, 'assigned'|'revoked'|'lost', partitions) from the rebalance listener.
    """

    def __init__(self, topic, partitions, group, assignor, offset_reset="latest",
                 bootstrap=BOOTSTRAP):
        self.topic, self.partitions, self.group = topic, partitions, group
        self.assignor, self.offset_reset, self.bootstrap = assignor, offset_reset, bootstrap
        self.members, self.views = {}, {}
        self.records, self.events = [], []
        self.barrier = None

    def start(self, *names):
        """Start a member (a new KafkaConsumer in the group) for each name."""
        for name in names:
            self.members[name] = _Member(self, name)

    def stop(self, *names):
        """Close the named members' consumers (each leaves the group), all at once."""
        members = [self.members.pop(n) for n in names]
        for m in members:
            m.stop_event.set()
        for m in members:
            m.stop()

    def stop_all(self):
        """Stop every member gracefully: all stop polling and commit, then all close."""
        names = list(self.members)
        self.barrier = threading.Barrier(len(names)) if names else None
        self.stop(*names)
        self.barrier = None

    @clocked("wait")
    def wait_settled(self, timeout=120, progress=print):
        """Wait until the broker shows the group Stable with every partition held once, each member
        agreeing, and every partition consumed again afterwards. Returns {member: partitions}."""
        wait_until(lambda: set(self.views) == set(self.members), 60,
                   "모든 멤버의 첫 poll", interval=0.1)
        _, view = groups.wait_settled(self.group, self.topic, self.partitions, members=self.views,
                                      bootstrap=self.bootstrap, timeout=timeout, progress=progress)
        since = time.monotonic()
        wait_until(lambda: set(range(self.partitions)) <= {
            p for t, _, p, _, _ in self.records[-20 * self.partitions:] if t > since},
            60, "모든 파티션에서 다시 레코드 소비", interval=0.1)
        return view

    def close(self):
        if self.members:
            self.stop(*list(self.members))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def unconsumed(records, partitions, since, until, gap=GAP):
    """{partition: seconds} during [since, until] that fell in gaps longer than `gap` between two
    records of the partition being received (the window's edges count as records)."""
    times = defaultdict(list)
    for t, _, p, _, _ in records:
        if since <= t <= until:
            times[p].append(t)
    out = {}
    for p in range(partitions):
        ts = [since, *sorted(times[p]), until]
        out[p] = round(sum(b - a for a, b in zip(ts, ts[1:]) if b - a > gap), 2)
    return out




def reconciliations(lines):
    """The KIP-848 Java consumer's 'Reconciling assignment' log entries (ConsumerMembershipManager),
    each as {'assigned', 'owned', 'revoked'}: lists of partition numbers."""
    out, current = [], None
    fields = {"Assigned partitions:": "assigned", "Current owned partitions:": "owned",
              "Revoked partitions (owned - assigned):": "revoked"}
    for line in lines:
        if "Reconciling assignment with local epoch" in line:
            current = {}
            out.append(current)
            continue
        if current is None:
            continue
        text = line.strip()
        for label, key in fields.items():
            if text.startswith(label):
                items = text[len(label):].strip().strip("[]")
                current[key] = sorted(int(x.rsplit("-", 1)[1]) for x in items.split(",") if x.strip())
    return [r for r in out if len(r) == 3]


def stopped_per_step(records, partitions, marks, until, gap=GAP):
    """[(label, partitions with a gap longer than `gap`)] for each step of a deployment: from
    each mark (e.g. 'c1 재시작') to the next one (the last to `until`)."""
    bounds = [t for t, _ in marks[1:]] + [until]
    out = []
    for (since, label), end in zip(marks, bounds):
        per = unconsumed(records, partitions, since, end, gap)
        out.append((label, [p for p, s in per.items() if s > 0]))
    return out


def revocations(events, since=0.0):
    """{member: number of partitions it gave up in revoke calls} after `since`."""
    out = defaultdict(int)
    for t, name, kind, parts in events:
        if t >= since and kind == "revoked":
            out[name] += len(parts)
    return dict(out)


def processed_once(processed, end_offsets, start_offsets=None):
    """Check record by record that the (partition, offset) pairs in `processed` cover every offset
    from the start to the end offset of each partition exactly once.
    Returns {partition: (missing offsets, duplicated offsets)}."""
    seen = defaultdict(list)
    for p, o in processed:
        seen[p].append(o)
    out = {}
    for p, end in end_offsets.items():
        start = (start_offsets or {}).get(p, 0)
        offs = seen[p]
        dup = sorted({o for o in offs if offs.count(o) > 1}) if len(offs) != len(set(offs)) else []
        missing = sorted(set(range(start, end)) - set(offs))
        out[p] = (missing, dup)
    return out


def plot_timelines(runs, partitions, title="파티션별 소비 타임라인"):
    """One panel per run {label: (records, since, until, marks)}: a dot for each record received
    (x: seconds since the run started, y: partition, colour: member); blank stretches are the
    time a partition went unconsumed."""
    from .plots import figure
    fig, axes = figure(len(runs), 1, figsize=(9, 2.3 * len(runs)), sharex=False, squeeze=False)
    for ax, (label, (records, since, until, marks)) in zip(axes[:, 0], runs.items()):
        names = sorted({m for _, m, *_ in records})
        for i, name in enumerate(names):
            pts = [(t - since, p) for t, m, p, *_ in records if m == name and since <= t <= until]
            if pts:
                xs, ys = zip(*pts)
                ax.scatter(xs, ys, s=2, label=name, color=f"C{i}")
        for t, text in marks:
            if since <= t <= until:
                ax.axvline(t - since, color="gray", lw=0.8, ls="--")
        ax.set_yticks(range(partitions))
        ax.set_ylabel("파티션")
        ax.set_title(label, fontsize=10)
        ax.set_xlim(0, until - since)
    axes[-1, 0].set_xlabel("경과 시간(초), 점선: 재시작")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_unconsumed(results, partitions):
    """Grouped bars: seconds each partition went unconsumed, one colour per deployment."""
    from .plots import figure
    fig, ax = figure(figsize=(8, 3.2))
    width = 0.8 / len(results)
    for i, (label, per_partition) in enumerate(results.items()):
        xs = [p + (i - (len(results) - 1) / 2) * width for p in range(partitions)]
        ax.bar(xs, [per_partition[p] for p in range(partitions)], width, label=label)
    ax.set_xticks(range(partitions))
    ax.set_xlabel("파티션")
    ax.set_ylabel("소비되지 않은 시간(초)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- Java members (DeployConsumer.java)

STRATEGIES = {
    "range": "org.apache.kafka.clients.consumer.RangeAssignor",
    "cooperative-sticky": "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
}


def _parse_events(lines, member):
    """(events, records) from DeployConsumer's JSON lines (the shape of Kafka's own test tool
    VerifiableConsumer); times in seconds (wall clock)."""
    events, records = [], []
    for line in lines:
        if not line.startswith('{"timestamp"'):
            continue
        e = json.loads(line)
        t, name = e["timestamp"] / 1000, e["name"]
        if name in ("partitions_assigned", "partitions_revoked", "partitions_lost"):
            events.append((t, member, name.split("_")[1],
                           sorted(p["partition"] for p in e["partitions"])))
        elif name == "records_consumed":
            for p in e["partitions"]:
                for off in range(p["minOffset"], p["maxOffset"] + 1):
                    records.append((t, member, p["partition"], off, None))
        elif name in ("startup_complete", "shutdown_complete"):
            events.append((t, member, name.split("_")[0], None))
    return events, records


class JavaFleet:
    """Members of one consumer group, each a real Java consumer in its own JVM: the book's
    notebooks/ch04/java/DeployConsumer.java, which takes `work_ms` to process each batch, commits
    after each batch and before giving partitions up, and prints every rebalance callback and
    every processed batch as a JSON line with its time.

    `protocol` is 'classic' (with `strategy` 'range' or 'cooperative-sticky') or 'consumer'
    (KIP-848: the broker assigns, no client-side strategy). The consumers keep Kafka's defaults
    otherwise (heartbeat.interval.ms 3000, session.timeout.ms 45000)."""

    def __init__(self, topic, partitions, group, strategy="range", protocol="classic",
                 work_ms=300, bootstrap=BOOTSTRAP):
        self.topic, self.partitions, self.group = topic, partitions, group
        self.strategy, self.protocol = strategy, protocol
        self.work_ms, self.bootstrap = work_ms, bootstrap
        self.running = {}                     # name -> JavaProgram
        self.runs = []                        # (name, JavaProgram), every start
        self.marks = []

    def command(self, name):
        """DeployConsumer's arguments for member `name`."""
        strategy = STRATEGIES[self.strategy] if self.protocol == "classic" else "-"
        return [self.bootstrap, self.topic, self.group, name, self.protocol, strategy,
                self.work_ms]

    def start(self, *names):
        """Start one JVM per name (a new member joining the group)."""
        for name in names:
            prog = jvm.JavaProgram("DeployConsumer.java", *self.command(name),
                                   name=f"{self.group}-{name}-{len(self.runs)}")
            prog.start(quiet=True)
            self.running[name] = prog
            self.runs.append((name, prog))

    def stop(self, *names):
        """SIGTERM the named members, all at once: each closes its consumer and leaves the group."""
        progs = [self.running.pop(n) for n in names]
        for p in progs:
            if p.alive:
                p.process.terminate()
        for p in progs:
            p.stop(quiet=True)

    def close(self):
        if self.running:
            self.stop(*list(self.running))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def timeline(self):
        """(events, records) of every member run so far, in time order."""
        events, records = [], []
        for name, prog in self.runs:
            e, r = _parse_events(prog.lines(), name)
            events += e
            records += r
        return sorted(events, key=lambda e: e[0]), sorted(records)

    def views(self):
        """{member: partitions it holds now} for the running members, from their own callbacks."""
        out = {}
        for name, prog in self.running.items():
            held = set()
            for _, _, kind, parts in _parse_events(prog.lines(), name)[0]:
                if kind == "assigned":
                    held |= set(parts)
                elif kind in ("revoked", "lost"):
                    held -= set(parts)
            out[name] = sorted(held)
        return out

    def mark(self, label):
        self.marks.append((time.time(), label))

    @clocked("wait")
    def wait_settled(self, timeout=120, progress=print):
        """Wait until the running members hold every partition exactly once (by their own
        callbacks), each member at least one (a JVM still starting holds none), and every partition has been consumed again since. Returns the views."""
        start, last = time.monotonic(), [None]

        def settled():
            for prog in self.running.values():
                if not prog.alive:
                    prog._check_ended()
            v = self.views()
            held = sorted(p for parts in v.values() for p in parts)
            if progress and v != last[0]:
                progress(f"  {time.monotonic() - start:5.1f}초: {v}")
                last[0] = v
            every = all(v.values()) or len(v) > self.partitions
            return v if every and held == list(range(self.partitions)) else None

        view = wait_until(settled, timeout, f"그룹 {self.group}의 할당 완료", interval=0.2)
        since = time.time()

        def consumed_again():
            recs = self.timeline()[1]
            return set(range(self.partitions)) <= {p for t, _, p, _, _ in recs if t > since}
        wait_until(consumed_again, 60, "모든 파티션에서 다시 레코드 소비", interval=0.3)
        return view

    def rolling_restart(self, names=None, progress=print):
        """Restart members one by one (SIGTERM, start a new JVM with the same name), waiting each
        time until the group holds every partition and consumes them all again."""
        for name in list(names or self.running):
            self.mark(f"{name} 재시작")
            self.stop(name)
            self.start(name)
            view = self.wait_settled(progress=None)
            if progress:
                progress(f"  {name} 재시작 뒤 할당: {view}")

    def stop_the_world(self, progress=print):
        """Stop every member, then start them all again and wait until the group consumes."""
        names = list(self.running)
        self.mark("전체 중단")
        self.stop(*names)
        self.mark("전체 시작")
        self.start(*names)
        view = self.wait_settled(progress=None)
        if progress:
            progress(f"  다시 시작한 뒤 할당: {view}")
