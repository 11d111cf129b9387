"""Plumbing for the consumer-API section (3.4.2): numbered records, group state read from the broker,
a poll loop in a thread, commit-style timing, and the exercise checker.

The notebook's cells show the KafkaConsumer calls being taught; the threads, waits and
bookkeeping that make the demonstrations measurable live here.
"""
import threading
import time
from collections import Counter

from kafka import KafkaConsumer

from .connection import admin_client, producer
from .errors import InvalidInput
from .settings import BOOTSTRAP
from .waiting import wait_until
from .waitclock import clocked


def produce_numbered(topic, per_partition, partitions=1, batch=None):
    """Send `per_partition` records to each partition, values 'p<partition>-<i>'; return the total sent.

    With `batch`, the producer flushes after every `batch` records per partition, so the log holds
    small batches and a consumer with a small max_partition_fetch_bytes reads the partitions in turns.
    """
    step = batch or per_partition
    with producer() as p:
        for start in range(0, per_partition, step):
            for part in range(partitions):
                for i in range(start, min(start + step, per_partition)):
                    p.send(topic, value=f"p{part}-{i}".encode(), partition=part)
                if batch:
                    p.flush()
        p.flush()
    return per_partition * partitions


def delete_group(group, timeout=30):
    """Delete a consumer group and its committed offsets if it exists (idempotent notebooks).

    The admin API reports per-group errors instead of raising: a group whose last member is
    still leaving answers NON_EMPTY_GROUP, so this retries until the group is gone.
    """
    answers = []

    def deleted():
        with admin_client() as admin:
            error = admin.delete_groups([group]).get(group)
        name = error if isinstance(error, str) else getattr(error, "__name__", type(error).__name__)
        answers.append(name)
        return name in ("OK", "NoError", "GroupIdNotFoundError", "NoneType")

    try:
        wait_until(deleted, timeout, f"그룹 {group} 삭제", interval=0.2)
    except Exception as e:
        raise RuntimeError(f"{e}: 브로커의 마지막 답 {answers[-1:]}, 그룹 {group_state(group)}") from None


def group_state(group):
    """(state, [member client ids]) of a classic group, read from its coordinator."""
    with admin_client() as admin:
        described = admin.describe_groups([group])[group]
    members = [m.get("client_id", m.get("member_id")) for m in described.get("members") or []]
    return described.get("group_state"), members


def group_listing(group):
    """(group type, state) from ListGroups, which knows both classic and KIP-848 'consumer' groups
    (DescribeGroups answers only for classic ones); (None, None) if the group does not exist."""
    with admin_client() as admin:
        for g in admin.list_groups():
            if g["group_id"] == group:
                return g.get("group_type"), g.get("group_state")
    return None, None


def committed(group, topic=None):
    """{partition: committed offset} of `group` (only `topic`'s partitions if given), from the broker."""
    with admin_client() as admin:
        offsets = admin.list_group_offsets(group)[group]
    return dict(sorted((tp.partition, oam.offset) for tp, oam in offsets.items()
                       if topic is None or tp.topic == topic))


@clocked("wait", ("group", 0))
def wait_for_group(group, members, timeout=60, quiet=False):
    """Wait until `group` is Stable with `members` members; print the in-between states seen.

    A joining or leaving member puts the group through PreparingRebalance and
    CompletingRebalance first; those states count as "not yet".
    """
    seen, start = [], time.monotonic()

    def stable():
        state, names = group_state(group)
        if not seen or seen[-1] != (state, len(names)):
            seen.append((state, len(names)))
            if not quiet:
                print(f"  {time.monotonic() - start:5.2f}초: {state}, 멤버 {len(names)}개")
        return state == "Stable" and len(names) == members

    wait_until(stable, timeout, f"그룹 {group}이 멤버 {members}개로 Stable", interval=0.05)
    return time.monotonic() - start


def seconds_until_empty(group, since, timeout=30):
    """Seconds from `since` (time.monotonic()) until the broker reports `group` without members.

    Classic groups are read with DescribeGroups (members listed); a KIP-848 consumer group
    through ListGroups, whose state turns Empty when its last member has left.
    """
    def empty():
        kind, listed_state = group_listing(group)
        if kind == "consumer":
            return listed_state == "Empty"
        state, names = group_state(group)
        return not names and state in ("Empty", "Dead")
    wait_until(empty, timeout, f"그룹 {group}의 멤버가 모두 떠남", interval=0.05)
    return time.monotonic() - since


def commit_style_run(topic, group, n, handle, finish=None, **configs):
    """Consume exactly `n` records with `handle(consumer, records)` doing the commits; time it.

    Returns {'records', 'seconds', 'records_per_s', 'commits', 'committed_total'};
    the clock starts at the first record (the group join is not counted), and
    `committed_total` is the sum of the group's committed offsets read back from the broker.
    `finish(consumer)`, if given, runs after the last record and before close() (a final commit).
    """
    delete_group(group)
    configs = {"auto_offset_reset": "earliest", "enable_auto_commit": False, **configs}
    consumer = KafkaConsumer(topic, bootstrap_servers=BOOTSTRAP, group_id=group, **configs)
    seen, commits, start = 0, 0, None
    try:
        deadline = time.monotonic() + 120
        while seen < n and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=500).items():
                start = start or time.monotonic()
                commits += handle(consumer, records) or 0
                seen += len(records)
        if seen != n:
            raise RuntimeError(f"{n}개를 기대했는데 {seen}개를 읽었다 (그룹 {group})")
        if finish:
            finish(consumer)
        seconds = time.monotonic() - start
    finally:
        consumer.close()          # enable_auto_commit=True: close() commits what remains
    return {"records": seen, "seconds": round(seconds, 3), "records_per_s": round(seen / seconds),
            "commits": commits, "committed_total": sum(committed(group, topic).values())}


def print_table(rows, columns):
    """A small aligned text table: rows are dicts, columns [(key, header)]."""
    widths = [max(len(h), *(len(str(r[k])) for r in rows)) for k, h in columns]
    print("  ".join(h.rjust(w) for (_, h), w in zip(columns, widths)))
    for r in rows:
        print("  ".join(str(r[k]).rjust(w) for (k, _), w in zip(columns, widths)))


class GroupWorker(threading.Thread):
    """A KafkaConsumer in its own thread: poll, 'process' each record, commit every `commit_every`.

    `processed` lists (partition, offset) in processing order; `last_processed` maps
    each TopicPartition to the last offset processed, which a rebalance listener can commit;
    `pending` holds, per partition revoked and then given to another member, how many
    records were processed but not committed at the revoke (before the user's listener ran):
    the records the new owner will process again. A partition handed back to the same
    consumer keeps its position in kafka-python 3.0 (SubscriptionState.assign_from_subscribed).
    """

    def __init__(self, name, topic, group, listener=None, commit_every=40, work_s=0.01,
                 hold_when=None, **configs):
        super().__init__(name=name, daemon=True)
        self.topic, self.group, self.commit_every, self.work_s = topic, group, commit_every, work_s
        self.consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=group, client_id=name,
                                      enable_auto_commit=False, auto_offset_reset="earliest",
                                      max_poll_records=5, heartbeat_interval_ms=500,
                                      max_partition_fetch_bytes=1024, **configs)
        self.user_listener = listener(self) if listener else None
        self.processed, self.last_processed, self.my_commits = [], {}, {}
        self.pending = {}         # {tp: processed but uncommitted when revoked, if another member got tp}
        self.stop_event, self.error = threading.Event(), None
        # hold_when(worker) -> True: pause fetching (keep polling, so the member stays in the group and
        # takes part in a rebalance) until the next assignment; makes the rebalance moment reproducible
        self.hold_when, self.held, self._reassigned = hold_when, threading.Event(), False

    async def _revoked(self, revoked):
        for tp in revoked:
            if tp in self.last_processed and not self.stop_event.is_set():
                self.pending[tp] = self.last_processed[tp] + 1 - self.my_commits.get(tp, 0)
        if self.user_listener:
            await _call(self.user_listener.on_partitions_revoked, revoked)
            for tp in revoked:                    # the listener committed what was processed
                if tp in self.last_processed:
                    self.my_commits[tp] = self.last_processed[tp] + 1
        for tp in revoked:
            self.last_processed.pop(tp, None)

    async def _assigned(self, assigned):
        self._reassigned = True
        for tp in assigned:       # kafka-python keeps the position of a partition it gets back
            self.pending.pop(tp, None)
        if self.user_listener:
            await _call(self.user_listener.on_partitions_assigned, assigned)

    def run(self):
        from kafka import AsyncConsumerRebalanceListener
        worker = self

        class Bookkeeping(AsyncConsumerRebalanceListener):
            async def on_partitions_revoked(self, revoked):
                await worker._revoked(revoked)

            async def on_partitions_assigned(self, assigned):
                await worker._assigned(assigned)

        try:
            self.consumer.subscribe([self.topic], listener=Bookkeeping())
            since_commit = 0
            while not self.stop_event.is_set():
                for tp, records in self.consumer.poll(timeout_ms=200).items():
                    for r in records:
                        if self.stop_event.is_set():
                            break
                        time.sleep(self.work_s)              # the record's processing time
                        self.processed.append((r.partition, r.offset))
                        self.last_processed[tp] = r.offset
                        since_commit += 1
                        if since_commit >= self.commit_every:
                            offsets = {t: o + 1 for t, o in self.last_processed.items()}
                            self.consumer.commit({t: _oam(o) for t, o in offsets.items()})
                            self.my_commits.update(offsets)
                            since_commit = 0
                if self.hold_when and not self.held.is_set() and self.hold_when(self):
                    self.consumer.pause(*self.consumer.assignment())
                    self._reassigned = False
                    self.held.set()
                elif self.held.is_set() and self._reassigned and self.consumer.paused():
                    self.consumer.resume(*self.consumer.paused())
        except Exception as e:        # shown by stop()
            self.error = e
        finally:
            self.consumer.close(autocommit=False)

    def stop(self):
        """Ask the loop to end (the consumer closes in its thread) and wait for it."""
        self.stop_event.set()
        self.join(30)
        if self.error:
            raise self.error


async def _call(method, arg):
    """Call a sync or async listener method."""
    result = method(arg)
    if hasattr(result, "__await__"):
        await result


def _oam(offset):
    from kafka.structs import OffsetAndMetadata
    return OffsetAndMetadata(offset, "", -1)


def _uncommitted_everywhere(at_least):
    """Hold A once it processed `at_least` records and holds uncommitted ones on every partition it owns,
    so that whichever partition moves to B, something on it was processed but not committed."""
    def ready(w):
        owned = w.consumer.assignment()
        return (len(w.processed) >= at_least and owned and
                all(w.last_processed.get(tp, -1) + 1 > w.my_commits.get(tp, 0) for tp in owned))
    return ready


def rebalance_run(topic, group, total, listener=None, first_alone=50, timeout=90):
    """Consumer A alone until it has processed `first_alone` records (and holds uncommitted ones on each
    partition; it then pauses fetching but keeps polling), then B joins; both run until every one of
    `total` records was processed at least once. Returns the counts the notebook prints."""
    delete_group(group)
    a = GroupWorker("consumer-A", topic, group, listener, hold_when=_uncommitted_everywhere(first_alone))
    a.start()
    b = None
    try:
        wait_until(a.held.is_set, timeout, f"A가 레코드 {first_alone}개 이상 처리하고 멈춤")
        b = GroupWorker("consumer-B", topic, group, listener)
        b.start()
        wait_until(lambda: len(set(a.processed) | set(b.processed)) >= total, timeout,
                   f"레코드 {total}개를 모두 한 번 이상 처리")
    finally:
        workers = [w for w in (a, b) if w]
        for w in workers:                 # stop counting everywhere before anyone leaves
            w.stop_event.set()
        for w in workers:
            w.stop()
    counts = Counter(a.processed + b.processed)
    return {"processed": sum(counts.values()), "distinct": len(counts),
            "duplicates": sum(c - 1 for c in counts.values()),
            "predicted": sum(a.pending.values()) + sum(b.pending.values()),
            "by_consumer": {"consumer-A": len(a.processed), "consumer-B": len(b.processed)}}


def check_partition(consumer, tp, timeout=10):
    """Refuse, in Korean, a TopicPartition whose topic or partition does not exist."""
    parts = wait_until(lambda: consumer.partitions_for_topic(tp.topic) or "none", timeout,
                       f"토픽 {tp.topic}의 메타데이터")
    if parts == "none":
        raise InvalidInput(f"토픽 {tp.topic!r}이(가) 없다. assign()할 수 없다.")
    if tp.partition not in parts:
        raise InvalidInput(f"토픽 {tp.topic!r}에는 파티션 {tp.partition}이(가) 없다 "
                           f"(있는 파티션: {sorted(parts)}). assign()은 이를 검사하지 않으므로 "
                           "먼저 partitions_for_topic()으로 확인해야 한다.")
    return tp


def check_exercise(group, topic, partition, done_value):
    """The 직접 해보기 checker, judged from the broker: the record whose value is `done_value` is found in
    `partition`, and the offset `group` committed there is compared with the one a restart should resume at."""
    from .topics import read_all
    done = [r.offset for r in read_all(topic) if r.partition == partition and r.value == done_value.encode()]
    if not done:
        return f"파티션 {partition}에 값이 {done_value}인 레코드가 없다. 준비 셀을 다시 실행한다."
    try:
        got = committed(group, topic)
    except Exception:
        got = {}
    if partition not in got:
        return f"아직 그룹 {group}이 파티션 {partition}에 커밋한 오프셋이 브로커에 없다."
    others = {p: o for p, o in got.items() if p != partition}
    if got[partition] == done[0] + 1 and not others:
        return f"맞다! 브로커에 커밋된 오프셋: 파티션 {partition} → {got[partition]}"
    if others:
        return f"틀렸다. 읽지 않은 파티션에도 커밋이 있다: {others}"
    return (f"틀렸다. 브로커에 커밋된 오프셋은 파티션 {partition} → {got[partition]}이다. "
            "재시작한 컨슈머가 커밋 오프셋의 레코드부터 읽는다는 점을 떠올려 본다.")
