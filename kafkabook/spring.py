"""Spring Kafka programs of chapter 4.4 (real Spring Boot JVMs run with kafkabook.jvm on the jars in
.kafka/spring): waiting until a listener really consumes, and watching when a group commits.

A listener is ready when its container's consumer has been assigned partitions (the program prints
`ASSIGNED group=...` from its ConsumerAwareRebalanceListener) *and* the coordinator reports the
group Stable with every partition held, not after a sleep.
"""
import re
import threading
import time

from . import groups
from .connection import admin_client
from .settings import BOOTSTRAP
from .waiting import wait_until


def wait_listening(prog, group, topic, partitions, members=1, timeout=120, bootstrap=BOOTSTRAP):
    """Wait until `prog` printed `members` ASSIGNED lines for `group` and the broker reports `group`
    Stable with `members` members holding all `partitions` of `topic`; print how long that took since
    the program's start (compile + JVM + Spring + join). Returns {client_id: partitions}."""
    prog.wait_for_line(rf"ASSIGNED group={re.escape(group)} ", timeout=timeout, count=members)
    view = wait_members(group, topic, partitions, members, timeout, bootstrap)
    took = time.monotonic() - prog.started_at
    print(f"준비됨: 리스너 컨테이너 실행 중, 그룹 {group} Stable, 멤버 {len(view)}명 "
          f"(프로그램 시작부터 {took:.1f}초)")
    return view


def fields(prog, kind):
    """The program's `KIND k=v k=v ...` lines as dicts (numbers as int), e.g. fields(app, "SENT")."""
    rows = []
    for line in prog.lines():
        if line.startswith(kind + " "):
            pairs = re.findall(r"(\w[\w-]*)=(\[[^\]]*\]|\S+)", line[len(kind) + 1:])
            rows.append({k: int(v) if v.lstrip("-").isdigit() else v for k, v in pairs})
    return rows


class OffsetSampler:
    """Reads the committed offsets of `groups` on one partition with the admin API
    (list_group_offsets: one OffsetFetch for all groups) every `every` seconds on a thread, keeping each change."""

    def __init__(self, group_names, topic, partition=0, every=0.1, bootstrap=BOOTSTRAP):
        self.groups, self.topic, self.partition = list(group_names), topic, partition
        self.every, self.bootstrap = every, bootstrap
        self.changes = {g: [] for g in self.groups}     # group -> [(seconds, offset)]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kafkabook-sampler", daemon=True)
        self.started = time.monotonic()
        self._thread.start()

    def _run(self):
        from kafka import TopicPartition
        tp = TopicPartition(self.topic, self.partition)
        with admin_client(self.bootstrap) as admin:
            while not self._stop.is_set():
                try:
                    found = admin.list_group_offsets({g: [tp] for g in self.groups})
                except Exception:           # a group still being created: try again
                    self._stop.wait(self.every)
                    continue
                for g in self.groups:
                    meta = found.get(g, {}).get(tp)
                    offset = meta.offset if meta is not None and meta.offset >= 0 else None
                    seen = self.changes[g]
                    if offset is not None and (not seen or seen[-1][1] != offset):
                        seen.append((time.monotonic() - self.started, offset))
                self._stop.wait(self.every)

    def latest(self):
        return {g: (c[-1][1] if c else None) for g, c in self.changes.items()}

    def stop(self):
        self._stop.set()
        self._thread.join(30)
        return self.changes


def wait_members(group, topic, partitions, members, timeout=120, bootstrap=BOOTSTRAP):
    """Wait until the broker reports `group` Stable with `members` members holding all `partitions`
    of `topic` (prints each new state while waiting); returns {client_id: partitions}."""
    start, last = time.monotonic(), [None]
    with admin_client(bootstrap) as admin:
        def settled():
            d = admin.describe_groups([group])[group]
            view = groups._settled(d, topic, partitions, None)
            now = (d["group_state"], len(d["members"]))
            if now != last[0]:
                print(f"  {time.monotonic() - start:4.1f}초: 그룹 {group} {now[0]}, 멤버 {now[1]}명")
                last[0] = now
            return view if view is not None and len(view) == members else None
        return wait_until(settled, timeout, f"그룹 {group} Stable, 멤버 {members}명", interval=0.3)


def group_state(group, bootstrap=BOOTSTRAP):
    """{'state', 'members'} of `group` as the coordinator reports it."""
    d = groups.describe(group, bootstrap)
    return {"state": d["group_state"], "members": len(d["members"])}


def committed(group, topic, bootstrap=BOOTSTRAP):
    """{partition: committed offset} of `group` on `topic` (admin list_group_offsets)."""
    with admin_client(bootstrap) as admin:
        found = admin.list_group_offsets(group).get(group, {})
    return {tp.partition: meta.offset for tp, meta in sorted(found.items()) if tp.topic == topic}


def wait_batches(prog, total, timeout=60):
    """Wait until the program's BATCH lines add up to `total` records."""
    wait_until(lambda: sum(r["size"] for r in fields(prog, "BATCH")) >= total, timeout,
               f"배치 리스너가 레코드 {total}건 받기")


def wait_all_committed(sampler, offset, timeout=120):
    """Wait, showing the sampled offsets every 2 s, until every sampled group committed `offset`."""
    start, shown = time.monotonic(), [0.0]

    def done():
        latest = sampler.latest()
        now = time.monotonic() - start
        if now - shown[0] >= 2:
            shown[0] = now
            print(f"  {now:4.1f}초: " + ", ".join(f"{g}={o}" for g, o in latest.items()))
        return all(o == offset for o in latest.values())
    print(f"기다리는 것: 그룹 {len(sampler.groups)}개가 모두 오프셋 {offset}을 커밋 (최대 {timeout}초)")
    wait_until(done, timeout, f"모든 그룹의 커밋 오프셋 {offset}", interval=0.2)
    print(f"완료: {time.monotonic() - start:.1f}초")


def processed_at_commits(prog, history, group_of_mode):
    """{mode: [records the listener had processed when each commit was written]}: the program's
    PROCESSED lines (mode, offset, at=epoch ms) against the broker's commit timestamps."""
    rows = fields(prog, "PROCESSED")
    out = {}
    for mode, group in group_of_mode.items():
        done = sorted(r["at"] for r in rows if r["mode"] == mode)
        out[mode] = [sum(1 for at in done if at <= c["commit_ms"]) for c in history[group]]
    return out


def show_ack_table(commits, sampled, done_at_commit):
    """A table: AckMode | commits in __consumer_offsets | sampled offsets | processed at each commit."""
    from IPython.display import Markdown, display
    lines = ["| AckMode | 커밋 기록 (`__consumer_offsets`) | 샘플링으로 본 값 | 커밋 순간까지 처리한 수 |",
             "|---|---|---|---|"]
    for mode in commits:
        lines.append(f"| `{mode}` | {commits[mode]} | {sampled[mode]} | {done_at_commit[mode]} |")
    display(Markdown("\n".join(lines)))


def wait_records(topic, count, timeout=30, bootstrap=BOOTSTRAP):
    """Read `topic` until it holds `count` records; return them (kafkabook.topics.read_all)."""
    from .topics import read_all
    return wait_until(lambda: (lambda rs: rs if len(rs) >= count else None)(read_all(topic, bootstrap)),
                      timeout, f"토픽 {topic}에 레코드 {count}건")
