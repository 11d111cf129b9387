"""ConsumerGroupView (컨슈머 그룹): real KafkaConsumer members, their partitions, committed offsets and lag.

How the members poll: kafka-python runs each client's network I/O and heartbeats on the client's own
thread, which close() joins. Joining and rebalancing happen only inside poll(), and each member has to
be inside poll() when the broker answers a join round (kafka-python 3.0 drops a join result that
arrives between two polls and joins again, and a leader that rejoins starts yet another rebalance). So
when the reader acts, each member polls on a short-lived thread of its own while the view waits, with
a deadline, until the broker reports the group Stable with every member holding what the broker
assigned to it; then those threads are stopped and joined. Between actions nothing runs but the
clients' own I/O threads. Members keep their partitions paused outside consume(), so those polls read
no records.
"""
import threading
import time
from collections import Counter

import ipywidgets as W
from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.structs import MemberState

from . import views
from .errors import InvalidInput
from .settings import BOOTSTRAP
from .groups import assigned_partitions, unstick
from .validate import check_topic_name, require_topic
from .waiting import WaitTimeout, wait_until
from .widget_base import BrokerWidget, open_widgets, record_dict


class _PauseOnAssign(ConsumerRebalanceListener):
    """Members consume only when asked: every partition they are given starts paused."""

    def __init__(self, consumer):
        self.consumer = consumer

    def on_partitions_revoked(self, revoked):
        pass

    def on_partitions_assigned(self, assigned):
        if assigned:
            self.consumer.pause(*assigned)


class ConsumerGroupView(BrokerWidget):
    """컨슈머 그룹: real KafkaConsumer members, their partitions, committed offsets and lag, read from the broker."""

    def __init__(self, topic, group, bootstrap=BOOTSTRAP, consumers=0, reset=True, settle_timeout=45):
        super().__init__(bootstrap)
        self.topic, self.group = topic, group
        self.settle_timeout = settle_timeout
        self._members = []  # [(name, KafkaConsumer)]
        self._made = 0
        self._producer = None
        self.partitions = None
        self.before, self.after, self.rows = None, None, []
        for other in open_widgets():  # a re-run cell: the old view's members would stay in the same group
            if other is not self and isinstance(other, ConsumerGroupView) and other.group == group \
                    and other.bootstrap == bootstrap:
                other.close()
        self.add_button = W.Button(description="컨슈머 추가", icon="user-plus", button_style="primary")
        self.remove_button = W.Button(description="컨슈머 제거", icon="user-times")
        self.produce_count = W.BoundedIntText(value=12, min=1, max=1000, description="개수", layout=W.Layout(width="150px"))
        self.produce_button = W.Button(description="레코드 보내기", icon="paper-plane")
        self.consume_max = W.BoundedIntText(value=3, min=1, max=1000, description="최대", layout=W.Layout(width="150px"))
        self.consume_button = W.Button(description="각 컨슈머가 읽고 커밋", icon="download", layout=W.Layout(width="200px"))
        self.refresh_button = W.Button(description="새로 고침", icon="refresh")
        self.add_button.on_click(lambda _: self.add_consumer())
        self.remove_button.on_click(lambda _: self.remove_consumer())
        self.produce_button.on_click(lambda _: self.produce(self.produce_count.value))
        self.consume_button.on_click(lambda _: self.consume(self.consume_max.value))
        self.refresh_button.on_click(lambda _: self.refresh())
        self._build(W.HBox([self.add_button, self.remove_button, self.refresh_button]),
                    W.HBox([self.produce_count, self.produce_button, self.consume_max, self.consume_button]))
        if self._attempt(self._start, reset) is not None:
            for _ in range(consumers):
                if self.add_consumer() is None:
                    break
        self._draw()

    @property
    def members(self):
        """Names of this view's consumers, in the order they joined."""
        return [name for name, _ in self._members]

    # -- broker state
    def _start(self, reset):
        check_topic_name(self.topic)
        self._ready()
        self.partitions = require_topic(self.admin(), self.topic)
        if reset:
            self._reset_group()
        self._read_state()
        self._say(f"그룹 '{self.group}'을(를) 브로커에서 읽었습니다. '컨슈머 추가'로 멤버를 넣어 보세요.", "info")
        return True

    def _reset_group(self):
        """Delete the group's committed offsets from an earlier run (the group must have no live members)."""
        admin = self.admin()

        def empty():  # a member of a crashed run leaves after its session timeout
            return not self._describe()["members"]
        try:
            wait_until(empty, self.settle_timeout, f"그룹 '{self.group}'이(가) 비기", interval=0.5)
        except WaitTimeout:
            raise InvalidInput(f"그룹 '{self.group}'에 아직 다른 멤버가 있어 지우지 못했습니다. "
                               "그 컨슈머를 닫거나 다른 그룹 이름을 쓰세요.") from None
        if self._describe()["group_state"] != "Dead":
            admin.delete_groups([self.group])

    def _describe(self):
        # right after a broker start the group coordinator may still be loading: retry for a few seconds
        d = wait_until(lambda: self.admin().describe_groups([self.group])[self.group], 15, "그룹 조회")
        if d.get("error") and d["group_state"] == "Dead":
            return {"group_state": "Dead", "members": []}
        return d

    def _names(self):
        return {c.group_metadata().member_id: name for name, c in self._members}

    def _snapshot(self, d):
        names = self._names()
        members = []
        for m in d["members"]:
            parts = assigned_partitions(m, self.topic) or []   # None mid-rebalance: nothing held yet
            members.append({"name": names.get(m["member_id"], m["client_id"] or m["member_id"]),
                            "member_id": m["member_id"], "partitions": parts})
        order = {name: i for i, name in enumerate(self.members)}
        members.sort(key=lambda m: (order.get(m["name"], len(order)), m["name"]))
        return {"state": d["group_state"], "members": members}

    def _read_state(self, d=None):
        d = d or self._describe()
        snap = self._snapshot(d)
        owner = {p: m["name"] for m in snap["members"] for p in m["partitions"]}
        ends = self._end_offsets(self.topic, self.partitions)
        committed = {}
        if d["group_state"] != "Dead":
            offsets = wait_until(lambda: self.admin().list_group_offsets(self.group), 15, "커밋된 오프셋 조회")
            offsets = offsets.get(self.group, {})
            committed = {tp.partition: om.offset for tp, om in offsets.items() if tp.topic == self.topic and om.offset >= 0}
        self.rows = [{"partition": p, "owner": owner.get(p), "committed": committed.get(p), "end": ends[p],
                      "lag": None if committed.get(p) is None else ends[p] - committed[p]}
                     for p in range(self.partitions)]
        self.after = snap
        return snap

    # -- members
    def _converged(self, seen):
        """The broker's description if the group is Stable and every member holds what the broker assigned to it.

        seen: {name: (member_id, generation_id, member state, [partitions])} as each member last saw itself.
        """
        d = self._describe()
        if not self._members:
            return d if not d["members"] else None
        if d["group_state"] != "Stable" or len(seen) != len(self._members):
            return None
        broker = {m["member_id"]: assigned_partitions(m, self.topic) for m in d["members"]}
        for member_id, generation, state, parts in seen.values():
            if member_id not in broker or state != MemberState.STABLE or parts != broker[member_id]:
                return None
        everyone = sorted(p for parts in broker.values() for p in parts)
        if len({s[1] for s in seen.values()}) != 1 or everyone != list(range(self.partitions)):
            return None
        return d

    def _settle(self):
        """Let every member poll until the broker reports the group Stable and each member holds its assignment.

        Joins, rebalances and SyncGroup happen inside poll(), and every member must be inside poll() when
        the broker answers the join round, so each member polls on a thread of its own while this waits on
        the condition; the threads are stopped and joined before returning (none is left running).
        """
        if not self._members:
            return wait_until(lambda: self._converged({}), self.settle_timeout, f"그룹 '{self.group}'이(가) 비기")
        stop, seen, errors = threading.Event(), {}, []

        def member_loop(name, c):
            try:
                while not stop.is_set():
                    for tp, batch in c.poll(timeout_ms=300).items():
                        c.seek(tp, batch[0].offset)  # partitions are paused; if a record slipped through, un-read it
                    unstick(c)                       # kafka-python 3.0.12 can lose a finished rejoin (groups.py)
                    meta = c.group_metadata()
                    seen[name] = (meta.member_id, meta.generation_id, meta.state,
                                  sorted(tp.partition for tp in c.assignment() if tp.topic == self.topic))
            except Exception as e:  # reported by the waiting thread
                errors.append(e)

        threads = [threading.Thread(target=member_loop, args=(name, c), name=f"kafkabook-member-{i}", daemon=True)
                   for i, (name, c) in enumerate(self._members)]
        for t in threads:
            t.start()
        try:
            deadline = time.monotonic() + self.settle_timeout
            while True:
                if errors:
                    raise errors[0]
                d = self._converged(dict(seen))
                if d is not None:
                    return d
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.settle_timeout}초 안에 그룹 '{self.group}'이(가) 안정되지 않았습니다")
                stop.wait(0.2)  # ask the broker again in a moment
        finally:
            stop.set()
            for t in threads:
                t.join()

    def _prepare(self):
        """Fail fast if the broker is down; learn the topic's partition count now (it may have grown)."""
        self._ready()
        self.partitions = require_topic(self.admin(), self.topic)

    def _change(self, action, message):
        before = self._read_state(self._settle()) if self._members else self._read_state()
        self._say("리밸런싱 중… 멤버들이 다시 합류하고 파티션을 나눠 받습니다", "busy")
        action()
        after = self._read_state(self._settle())
        self.before = before
        idle = [m["name"] for m in after["members"] if not m["partitions"]]
        text = message + " " + ", ".join(f"{m['name']}: {', '.join(f'P{p}' for p in m['partitions']) or '없음'}"
                                         for m in after["members"])
        if idle:
            text += f" · 파티션보다 컨슈머가 많아 {', '.join(idle)}은(는) 할 일이 없습니다(유휴)."
        self._say(text, "ok")
        self._draw()
        return after

    def add_consumer(self):
        """Start one more KafkaConsumer in the group and wait for the rebalance; returns the state after it."""
        def add():
            self._made += 1
            name = f"컨슈머-{self._made}"
            c = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=self.group,
                              client_id=f"kafkabook-{self._id}-{self._made}",
                              enable_auto_commit=False, auto_offset_reset="earliest",
                              heartbeat_interval_ms=1000, session_timeout_ms=10000, max_poll_interval_ms=1800000,
                              metadata_max_age_ms=5000)  # notice added partitions within seconds
            c.subscribe([self.topic], listener=_PauseOnAssign(c))
            self._members.append((name, c))

        def work():
            self._prepare()
            return self._change(add, f"컨슈머-{self._made + 1}이(가) 그룹에 들어왔습니다 →")
        return self._attempt(work)

    def remove_consumer(self, name=None):
        """Close a member (the newest, or the one named); it leaves the group and the rest rebalance."""
        def remove():
            idx = len(self._members) - 1 if name is None else self.members.index(name)
            _, c = self._members.pop(idx)
            c.close()

        def work():
            if not self._members:
                raise InvalidInput("제거할 컨슈머가 없습니다.")
            if name is not None and name not in self.members:
                raise InvalidInput(f"'{name}'이라는 컨슈머는 없습니다. 있는 컨슈머: {', '.join(self.members)}")
            self._prepare()
            label = name or self.members[-1]
            return self._change(remove, f"{label}을(를) 닫았습니다(그룹에서 나감) →")
        return self._attempt(work)

    def produce(self, n, keys=6):
        """Send `n` records with keys "고객-1" … to the topic, so the end offsets (and the lag) grow."""
        def work():
            self._prepare()
            if self._producer is None:
                self._producer = KafkaProducer(bootstrap_servers=self.bootstrap, client_id=f"kafkabook-group-{self._id}",
                                               max_block_ms=5000, request_timeout_ms=5000, delivery_timeout_ms=15000)
            futures = [self._producer.send(self.topic, key=f"고객-{i % keys + 1}".encode(), value=f"주문-{i + 1}".encode())
                       for i in range(n)]
            self._producer.flush(timeout=15)
            per = Counter(f.get(timeout=15).partition for f in futures)
            self._read_state(self._settle() if self._members else None)
            self._say(f"레코드 {n}개를 보냈습니다 → " + ", ".join(f"P{p}: {c}개" for p, c in sorted(per.items()))
                      + ". 끝 오프셋이 늘어 랙도 늘었습니다.", "ok")
            self._draw()
            return dict(per)
        return self._attempt(work)

    def consume(self, max_records=3):
        """Each member reads up to `max_records` from its partitions and commits (commit() = its positions)."""
        def work():
            if not self._members:
                raise InvalidInput("읽을 컨슈머가 없습니다. 먼저 '컨슈머 추가'를 누르세요.")
            self._prepare()
            self._settle()
            got = {}
            for name, c in self._members:
                parts = list(c.assignment())
                records = []
                if parts:
                    c.resume(*parts)
                    try:
                        for batch in c.poll(timeout_ms=2000, max_records=max_records).values():
                            records.extend(batch)
                        c.commit()
                    finally:
                        c.pause(*parts)
                got[name] = records
            self._read_state(self._settle())
            self.before = None
            text = "; ".join(f"{name}: {len(recs)}개" + (f" ({', '.join(sorted({f'P{r.partition}' for r in recs}))})"
                                                          if recs else "") for name, recs in got.items())
            self._say(f"읽고 커밋했습니다 → {text}", "ok")
            self.last_consumed = {name: [record_dict(r) for r in recs] for name, recs in got.items()}
            self._draw()
            return self.last_consumed
        return self._attempt(work)

    def refresh(self):
        """Poll the members (so they stay in the group) and read the group back from the broker."""
        def work():
            self._prepare()
            self._read_state(self._settle() if self._members else None)
            self._say(f"브로커에서 다시 읽었습니다 ({time.strftime('%H:%M:%S')})", "ok")
            self._draw()
            return self.after
        return self._attempt(work)

    def _draw(self):
        if self.partitions is None:
            self.drawing.value = ""
            return
        self.drawing.value = views.group_html(self.group, self.topic, self.partitions, self.before, self.after, self.rows)

    def _close_clients(self):
        members, self._members = self._members, []
        for _, c in members:
            c.close()
        if self._producer is not None:
            self._producer.close()
            self._producer = None
