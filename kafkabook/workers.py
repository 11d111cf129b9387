"""Plumbing for the multi-threaded consumer (4.3.1): numbered source records, the simulated work
with its record of what was processed (a topic), order and loss counted from that record, and an
app run as its own process that the notebook kills with SIGKILL.

The notebook's cells show the KafkaConsumer calls, the thread pool and the commits being taught;
the timing, the processed-records topic and the process control live here.
"""
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict

from kafka import KafkaProducer

from .connection import admin_client, producer
from .errors import InvalidInput
from .settings import BOOTSTRAP
from .waiting import wait_until


class BadRecord(InvalidInput):
    """A record whose value is not a number: the worker cannot process it."""


def fill(topic, per_partition, partitions, start=0):
    """Send `per_partition` records to each partition; the values are the numbers
    start, start+1, ... (as text). Returns the number sent."""
    with producer() as p:
        for part in range(partitions):
            for i in range(start, start + per_partition):
                p.send(topic, value=str(i).encode(), partition=part)
        p.flush()
    return per_partition * partitions


def work_ms(record):
    """The simulated work of one record: 5 to 20 ms, fixed by its partition and offset."""
    return 5 + (record.offset * 7 + record.partition * 3) % 16


class Processed:
    """The processing of a record and its trace: the work (a sleep of `work_ms`), then the line
    "partition:offset:who" written synchronously to the `log` topic (one partition), so that the
    topic holds every record whose processing finished, in the order they finished.

    Thread-safe: KafkaProducer may be shared by threads; it is opened by the first `process` and
    again after `close`. Counts and first/last times are kept for rates.
    """

    def __init__(self, log, who, bootstrap=BOOTSTRAP):
        self.log, self.who, self.bootstrap = log, who, bootstrap
        self.producer = None
        self.lock = threading.Lock()
        self.count, self.first, self.last = 0, None, None

    def process(self, record, who=None):
        """Process one record (raises BadRecord if its value is not a number)."""
        start = time.perf_counter()
        text = record.value.decode("utf-8", "replace")
        if not text.isdigit():
            raise BadRecord(f"파티션 {record.partition}의 오프셋 {record.offset} 레코드 값 "
                            f"{text!r}는 숫자가 아니라서 처리할 수 없다")
        time.sleep(work_ms(record) / 1000)
        line = f"{record.partition}:{record.offset}:{who or self.who}"
        with self.lock:
            if self.producer is None:
                self.producer = KafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=0)
        self.producer.send(self.log, value=line.encode(), partition=0).get(timeout=30)
        with self.lock:
            self.count += 1
            self.first = start if self.first is None else min(self.first, start)
            self.last = time.perf_counter()

    def rate(self):
        """Records per second from the first record's start to the last one's end."""
        if not self.count:
            return 0.0
        return self.count / (self.last - self.first)

    def close(self):
        """Close the producer (a later `process` opens a new one)."""
        with self.lock:
            if self.producer is not None:
                self.producer.close()
                self.producer = None


def read_processed(log, bootstrap=BOOTSTRAP):
    """[(partition, offset, who)] from the processed-records topic, in the order they were written."""
    from .topics import read_all
    out = []
    for r in read_all(log, bootstrap):
        p, o, who = r.value.decode().split(":", 2)
        out.append((int(p), int(o), who))
    return out


def out_of_order(entries):
    """{partition: number of records finished after a later offset of the same partition}."""
    highest, late = {}, defaultdict(int)
    for p, o, _ in entries:
        if p in highest and o < highest[p]:
            late[p] += 1
        highest[p] = max(highest.get(p, -1), o)
    return {p: late[p] for p in sorted(highest)}


def print_order(entries, show=12):
    """Print each partition's first `show` finished offsets and its out-of-order count."""
    late = out_of_order(entries)
    for p in sorted(late):
        seq = [o for q, o, _ in entries if q == p]
        print(f"  파티션 {p}: {seq[:show]} ... 순서가 뒤바뀐 레코드 {late[p]}개")
    return late


def raise_failed(futures):
    """Re-raise in the caller the first exception a finished worker task ended with."""
    for f in futures:
        if f.done() and f.exception() is not None:
            raise f.exception()


def wait_all(futures, timeout=120):
    """Wait until every worker task has finished; re-raise the first exception among them."""
    wait_until(lambda: all(f.done() for f in futures), timeout, "워커 스레드의 처리", interval=0.05)
    raise_failed(futures)


def committed(group, bootstrap=BOOTSTRAP):
    """{partition: committed offset} of `group`, from the broker."""
    with admin_client(bootstrap) as admin:
        offsets = admin.list_group_offsets(group)[group]
    return dict(sorted((tp.partition, oam.offset) for tp, oam in offsets.items()))


# ---------------------------------------------------------------- an app in its own process

class App:
    """`python script args...` started in its own process, its output kept for `output()`."""

    def __init__(self, script, *args):
        self.lines = []
        self.proc = subprocess.Popen([sys.executable, script, *map(str, args)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": BOOTSTRAP})
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    def kill_when(self, condition, what, timeout=60):
        """Send SIGKILL as soon as `condition()` holds (checked every 50 ms); returns its value."""
        try:
            result = wait_until(condition, timeout, what, interval=0.05)
        except BaseException:
            self.kill()
            raise
        self.kill()
        return result

    def kill(self):
        """SIGKILL: the process ends at once, without closing anything."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.reader.join(5)
        self.proc.stdout.close()
        return self.proc.returncode

    def wait(self, timeout=120, what="앱의 종료"):
        """Wait until the app exits by itself (printing progress); returns its exit code."""
        from .progress import wait_with_progress
        try:
            wait_with_progress(lambda: self.proc.poll() is not None, what, timeout)
        finally:
            self.kill()
        return self.proc.returncode

    def output(self, prefix="  [앱] "):
        for line in self.lines:
            print(prefix + line)


# ---------------------------------------------------------------- consumer threads

class Members:
    """Functions `fn(name, stop, die)` on a thread each; `kill(name)` makes one of them raise
    (its `die` event), the others go on until `stop()`. Exceptions are kept in `.errors`."""

    def __init__(self, fn, names):
        self.stop_event = threading.Event()
        self.die = {n: threading.Event() for n in names}
        self.errors = {}
        self.threads = {n: threading.Thread(target=self._run, args=(fn, n), daemon=True,
                                            name=f"kafkabook-{n}") for n in names}
        for t in self.threads.values():
            t.start()

    def _run(self, fn, name):
        try:
            fn(name, self.stop_event, self.die[name])
        except Exception as e:
            self.errors[name] = e

    def kill(self, name, timeout=30):
        """Make thread `name` raise and wait until it has ended; returns its exception."""
        self.die[name].set()
        self.threads[name].join(timeout)
        return self.errors.get(name)

    def stop(self, timeout=60):
        self.stop_event.set()
        for t in self.threads.values():
            t.join(timeout)
        return self.errors


def check_died(die, name):
    """Raise (a thread's crash) if `die` is set."""
    if die.is_set():
        raise RuntimeError(f"컨슈머 스레드 {name}가 예외로 끝났다")


def draw_rates(labels, rates):
    """Bar chart of the records per second each way of consuming reached, with the ratio to the first."""
    from .plots import figure
    fig, ax = figure(figsize=(6.5, 3.4))
    bars = ax.bar(labels, rates, color=["tab:grey", "tab:orange", "tab:blue"][:len(rates)])
    for bar, rate in zip(bars, rates):
        ax.annotate(f"{rate:,.0f}/s (×{rate / rates[0]:.1f})",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=9)
    ax.set_ylabel("레코드/초")
    ax.set_ylim(0, max(rates) * 1.2)
    ax.set_title("레코드마다 5~20ms가 드는 처리의 처리량")
    return fig
