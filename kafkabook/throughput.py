"""Measuring producer and consumer rates on this machine (4.1.1): threads, clocks and counters.

Each consumer is one KafkaConsumer in its own thread, all in one group, each spending a fixed
time per record (the "processing"). Rates are records per second over a measuring window that
starts only once every consumer has its partitions, so the rebalance is not counted.
"""
import threading
import time

from kafka import KafkaConsumer, KafkaProducer

from .settings import BOOTSTRAP
from .waiting import WaitTimeout, wait_until


def produce_rate(topic, seconds=2.0, work_ms=0.0, bootstrap=BOOTSTRAP):
    """Send small records for `seconds`, spending `work_ms` per record before each send
    (the producing application's own work); returns (records/s, records sent)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    sent, start = 0, time.perf_counter()
    try:
        while time.perf_counter() - start < seconds:
            if work_ms:
                _busy(work_ms)
            producer.send(topic, key=str(sent).encode(), value=b"x" * 100)
            sent += 1
        producer.flush()
    finally:
        producer.close()
    return sent / (time.perf_counter() - start), sent


def _busy(ms):
    """Spend `ms` milliseconds on this record (sleep: the work waits on something, like I/O)."""
    time.sleep(ms / 1000)


class _Worker(threading.Thread):
    def __init__(self, topic, group, work_ms, bootstrap, stop):
        super().__init__(daemon=True)
        self.consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                                      auto_offset_reset="earliest", max_poll_records=50)
        self.work_ms, self.stop, self.count = work_ms, stop, 0

    def run(self):
        try:
            while not self.stop.is_set():
                for records in self.consumer.poll(timeout_ms=100).values():
                    for _ in records:
                        _busy(self.work_ms)
                        self.count += 1
        finally:
            self.consumer.close()

    def assigned(self):
        return len(self.consumer.assignment())


def consume_rate(topic, consumers, work_ms, partitions, window=3.0, bootstrap=BOOTSTRAP):
    """Run `consumers` consumers of one new group on `topic` (which must hold enough records);
    once all `partitions` are assigned, count for `window` seconds; returns records/s."""
    for attempt in range(1, 4):
        try:
            return _consume_rate_once(topic, consumers, work_ms, partitions, window, bootstrap)
        except WaitTimeout:
            # kafka-python 3.0.12 can lose a finished rejoin and leave a member without partitions
            # (see groups.py); a fresh group gets a fresh start
            if attempt == 3:
                raise
            print(f"컨슈머 {consumers}개의 할당이 끝나지 않아 새 그룹으로 다시 잰다 ({attempt}/3)")


def _consume_rate_once(topic, consumers, work_ms, partitions, window, bootstrap):
    group = f"rate-{topic}-{consumers}-{time.time_ns()}"
    stop = threading.Event()
    workers = [_Worker(topic, group, work_ms, bootstrap, stop) for _ in range(consumers)]
    for w in workers:
        w.start()
    try:
        busy = min(consumers, partitions)   # the others get no partition and stay idle
        wait_until(lambda: sum(w.assigned() for w in workers) == partitions
                   and sum(1 for w in workers if w.assigned()) == busy, 40,
                   f"컨슈머 {consumers}개의 파티션 할당")
        before, start = sum(w.count for w in workers), time.perf_counter()
        wait_until(lambda: time.perf_counter() - start >= window, window + 5, "측정 시간")
        return (sum(w.count for w in workers) - before) / (time.perf_counter() - start)
    finally:
        stop.set()
        for w in workers:
            w.join(10)


def rebalance_seconds(topic, bootstrap=BOOTSTRAP):
    """Seconds from a second consumer's subscribe until both consumers of the group hold
    partitions again (the first one already owned all of them)."""
    group = f"rebalance-{topic}-{time.time_ns()}"
    first = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group)
    second = None
    try:
        wait_until(lambda: first.poll(timeout_ms=100) is not None and first.assignment(), 60,
                   "첫 컨슈머의 할당")
        second = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group)
        start = time.perf_counter()

        def both():
            first.poll(timeout_ms=50)
            second.poll(timeout_ms=50)
            a, b = first.assignment(), second.assignment()
            return a and b and not (a & b)
        wait_until(both, 120, "두 컨슈머의 리밸런스", interval=0)
        return time.perf_counter() - start
    finally:
        first.close()
        if second is not None:
            second.close()


def draw_rates(counts, rates, target, partitions):
    """Achieved consumer rate against the number of consumers, with the producer's rate."""
    from .plots import figure
    fig, ax = figure(figsize=(6.5, 3.6))
    ax.plot(counts, rates, "o-", label="컨슈머 그룹 전체 처리량")
    ax.axhline(target, color="tab:red", ls="--", label=f"프로듀서 처리량 {target:.0f}/s")
    ax.axvline(partitions, color="grey", ls=":", label=f"파티션 {partitions}개")
    ax.set_xlabel("컨슈머 수")
    ax.set_ylabel("레코드/초")
    ax.set_xticks(counts)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("컨슈머 수에 따른 처리량")
    return fig


def partition_files(topic, partitions, service="kafka", timeout=30):
    """Segment files of every partition of `topic`, once the broker has made all their folders."""
    from . import runtime

    def all_there():
        files = [f for p in range(partitions) for f in runtime.segment_files(topic, p, service)]
        return len(files) >= 3 * partitions and files
    return wait_until(all_there, timeout, f"{topic}의 파티션 폴더 {partitions}개")
