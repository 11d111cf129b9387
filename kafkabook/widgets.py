"""ipywidgets that draw only what the broker really holds (issue: 키 있는 레코드, 파티션 배치, 순서, 컨슈머 그룹).

Every widget talks to the real broker with kafka-python and draws with kafkabook.views. Put the
object last in a cell (or `display(w)`) to show it. `w.snapshot()` displays the current drawing once
more as ordinary HTML output, so an executed page shows it even where widget JavaScript does not run;
the same drawing also sits in an ipywidgets.HTML, i.e. in the saved widget state. Bad input (illegal
or unknown topic, oversize or non-UTF-8 key/value/header, broker down) gives a Korean message on the
status line; nothing is sent and the kernel goes on. The checks live in kafkabook.validate.

    RecordSender(topic, bootstrap=BOOTSTRAP)                          # 키 있는 레코드 보내기
        .topic .key .value .headers   text fields (empty key = null key; headers "k=v,k2=v2")
        .send_button                  sends the fields; .prediction shows the partition murmur2 gives first
        .burst_count .burst_keys .burst_button        N records over keys "고객-1" … "고객-K"
        .burst_batch .null_burst_button               N null-key records, flushed every `batch` records
        .send_record(key, value, headers=None) -> row | None   (key None = null; str or bytes)
        .burst(n, keys) / .null_burst(n, batch) -> [row] | None
        .predict(key) -> partition for a key now (None for a null key)
        .history [row], .last row: {"n","topic","key","value","headers","predicted","partition","offset","timestamp"}
                                   (partition, offset, timestamp = the RecordMetadata the broker returned)
        .on_sent(callback)            callback(rows) after each successful send
      Its producer uses kafka-python's StickyPartitioner (null keys stay on one partition per batch, as in the
      Java client) and linger_ms=5 (the Java client's default since Kafka 4.0).
    PartitionPlacement(topic, sender=None, bootstrap=BOOTSTRAP)       # 파티션 배치
        .refresh() / .refresh_button  read every record back (kafkabook.topics.read_all) and redraw
        .lanes {partition: [record]}  .ends {partition: end offset}  .partitions (count now)
        .add_partitions(total) / .partitions_input + .add_partitions_button   (admin create_partitions)
        sender=...: refreshes after each send (same as sender.on_sent(placement.refresh))
    OrderingView(topic, one_partition_topic, bootstrap=BOOTSTRAP, count=12, keys=3)      # 순서
        .run() / .run_button          send 1..count over `keys` keys to both topics, read back with a consumer
        .count .keys                  the two number fields
        .results [{"topic","partitions","keys","produced","consumed","per_partition_ok","global_ok"}]
                  produced/consumed: [{"seq","key","partition","offset"}] in send / poll() order
    ConsumerGroupView(topic, group, bootstrap=BOOTSTRAP, consumers=0, reset=True)        # 컨슈머 그룹
        .add_consumer() / .add_button          one more real KafkaConsumer; waits for the rebalance
        .remove_consumer(name=None) / .remove_button   close the newest (or named) member
        .produce(n) / .produce_count + .produce_button  records with keys, so end offsets and lag grow
        .consume(max_records) / .consume_max + .consume_button   each member reads a little and commit()s
        .refresh() / .refresh_button
        .members [name]  .before / .after {"state","members":[{"name","member_id","partitions"}]}
        .rows [{"partition","owner","committed","end","lag"}]   committed/lag None before any commit
      reset=True deletes the group's old committed offsets first (idempotent notebooks); a new view on
      the same group closes an older one in this kernel.

Common to all: .panel (the displayed ipywidgets.VBox), .status and .drawing (ipywidgets.HTML),
.message / .ok (last status text and whether it was a success), .html() (status + drawing),
.snapshot(), .close(widgets=False) (closes every Kafka client the widget opened, their threads end,
and disables its buttons but keeps the drawing; closing .panel does the same), .closed.
close_all() closes every widget still open. Helpers: default_partition(key, partitions), spread_keys(n, partitions).

Consumer group members: kafka-python runs each client's network I/O and heartbeats on the client's own
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
import uuid
from collections import Counter

import ipywidgets as W
from IPython.display import HTML, display
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import OffsetSpec
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError
from kafka.partitioner.default import murmur2
from kafka.partitioner.sticky import StickyPartitioner
from kafka.structs import MemberState
from traitlets import Unicode

from . import views
from .errors import InvalidInput, KafkaBookError
from .settings import BOOTSTRAP
from .topics import read_all, wait_for_leaders
from .waiting import WaitTimeout, wait_until
from .validate import (MAX_REQUEST_SIZE, check_record_size, check_topic_name, parse_headers, require_broker,
                       require_topic, to_utf8)

__all__ = ["RecordSender", "PartitionPlacement", "OrderingView", "ConsumerGroupView", "close_all",
           "default_partition", "spread_keys"]

_OPEN = []  # widgets not yet closed


def close_all():
    """Close every widget of this module that is still open (their producers, consumers and admin clients)."""
    for w in list(_OPEN):
        w.close()


def default_partition(key, partitions):
    """The partition kafka-python's (and the Java client's) default partitioner picks for a non-null key:
    murmur2(key bytes) made positive, modulo the partition count."""
    data = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    return (murmur2(data) & 0x7fffffff) % partitions


def spread_keys(count, partitions, prefix="고객-"):
    """`count` keys "고객-1", "고객-2", ... chosen so that they land on as many different partitions as possible."""
    chosen, covered, i = [], set(), 0
    while len(covered) < min(count, partitions):
        i += 1
        key = f"{prefix}{i}"
        p = default_partition(key, partitions)
        if p not in covered:
            covered.add(p)
            chosen.append(key)
    i = 0
    while len(chosen) < count:
        i += 1
        if f"{prefix}{i}" not in chosen:
            chosen.append(f"{prefix}{i}")
    return chosen


def _text(data):
    """Bytes from the broker as text for drawing (never fails)."""
    if data is None:
        return None
    return bytes(data).decode("utf-8", errors="replace")


def record_dict(r, partitions_now=None):
    """A ConsumerRecord as the plain dict kafkabook.views draws."""
    d = {"partition": r.partition, "offset": r.offset, "key": _text(r.key), "value": _text(r.value) or "",
         "headers": [(k, _text(v)) for k, v in (r.headers or [])], "timestamp": r.timestamp}
    if r.key is not None and partitions_now:
        d["now"] = default_partition(r.key, partitions_now)
    return d


def _sync_safe(value, widget):
    """A str the kernel can send to the browser: lone surrogates (not UTF-8) are shown as '?'."""
    return value.encode("utf-8", "replace").decode("utf-8")


class _Text(W.Text):
    """ipywidgets.Text that keeps a lone surrogate in .value (so the widget can refuse it with a message)
    instead of failing to send it to the browser."""

    value = Unicode(help="String value").tag(sync=True, to_json=_sync_safe)


class _Panel(W.VBox):
    """The displayed box; closing it closes the owner's Kafka clients too."""

    def __init__(self, owner, **kw):
        super().__init__(**kw)
        self._owner = owner

    def close(self):
        owner, self._owner = self._owner, None
        if owner is not None:
            owner.close()
        for w in _descendants(self):
            if w is not self:
                w.close()
        super().close()


def _descendants(widget):
    if widget is None:
        return
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _descendants(child)


class _Widget:
    """Status line, drawing, lazily opened admin client, error handling, snapshot and close."""

    title = ""

    def __init__(self, bootstrap):
        self.bootstrap = bootstrap
        self.status = W.HTML()
        self.drawing = W.HTML()
        self.message, self.ok = "", True
        self._admin = None
        self._closed = False
        self._id = uuid.uuid4().hex[:6]
        _OPEN.append(self)

    def _build(self, *rows):
        layout = W.Layout(width="100%", max_width="980px")
        self.panel = _Panel(self, children=[*rows, self.status, self.drawing], layout=layout)

    # -- display
    def _repr_mimebundle_(self, **kw):
        return self.panel._repr_mimebundle_(**kw)

    def html(self):
        """The current drawing (status line included) as one HTML string."""
        return self.status.value + self.drawing.value

    def snapshot(self):
        """Display the current drawing as ordinary HTML output (kept in the executed notebook)."""
        display(HTML(self.html()))

    # -- status
    def _say(self, message, kind="info"):
        self.message, self.ok = message, kind != "error"
        self.status.value = views.status_html(message, kind)

    def _attempt(self, action, *args, **kw):
        """Run `action`; any failure becomes a Korean status line and None is returned."""
        if self._closed:
            self._say("이 위젯은 닫혔습니다. 셀을 다시 실행해 새로 만드세요.", "error")
            return None
        try:
            return action(*args, **kw)
        except KafkaBookError as e:
            self._say(str(e), "error")
        except KafkaError as e:
            self._say(f"카프카가 오류를 돌려주었습니다: {type(e).__name__}: {e}", "error")
        except TimeoutError as e:
            self._say(f"시간 안에 끝나지 않았습니다: {e}", "error")
        except Exception as e:  # the widget stays usable whatever happens
            self._say(f"예상하지 못한 오류: {type(e).__name__}: {e}", "error")
        return None

    def _ready(self):
        """Fail fast (a few seconds, Korean message) if no broker answers."""
        require_broker(self.bootstrap)

    def admin(self):
        if self._admin is None:
            self._ready()
            self._admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id=f"kafkabook-widget-{self._id}",
                                           request_timeout_ms=10000, bootstrap_timeout_ms=5000)
        return self._admin

    def _end_offsets(self, topic, partitions):
        specs = {TopicPartition(topic, p): OffsetSpec.LATEST for p in range(partitions)}
        return {tp.partition: o.offset for tp, o in self.admin().list_partition_offsets(specs).items()}

    # -- close
    def _close_clients(self):
        pass

    def close(self, widgets=False):
        """Close every Kafka client this widget opened (their I/O threads end) and disable its buttons.

        The drawing stays, so an executed notebook still shows the final state; widgets=True also
        closes the ipywidgets themselves (closing the panel from anywhere closes the clients too).
        """
        if not self._closed:
            self._closed = True
            try:
                self._close_clients()
            finally:
                if self._admin is not None:
                    self._admin.close()
                    self._admin = None
                if self in _OPEN:
                    _OPEN.remove(self)
                panel = getattr(self, "panel", None)
                for w in _descendants(panel):
                    if isinstance(w, (W.Button, W.Text, W.BoundedIntText)):
                        w.disabled = True
        panel = getattr(self, "panel", None)
        if widgets and panel is not None and panel._owner is not None:
            panel.close()

    @property
    def closed(self):
        return self._closed


# ====================================================================== 1. RecordSender

class RecordSender(_Widget):
    """키 있는 레코드 보내기: send one record (or a burst) and show what the broker returned."""

    def __init__(self, topic, bootstrap=BOOTSTRAP, max_request_size=MAX_REQUEST_SIZE, linger_ms=5):
        super().__init__(bootstrap)
        self.max_request_size = max_request_size
        self.linger_ms = linger_ms
        self.history, self.last = [], None
        self._callbacks = []
        self._producer = None
        self._partitions = {}
        wide = W.Layout(width="420px")
        self.topic = _Text(value=topic, description="토픽", continuous_update=False, layout=wide)
        self.key = _Text(description="키", placeholder="비우면 null 키", layout=wide)
        self.value = _Text(description="값", placeholder="보낼 값", layout=wide)
        self.headers = _Text(description="헤더", placeholder="이름=값,이름2=값2 (선택)", layout=wide)
        self.send_button = W.Button(description="보내기", button_style="primary", icon="paper-plane")
        self.burst_count = W.BoundedIntText(value=12, min=1, max=2000, description="개수", layout=W.Layout(width="150px"))
        self.burst_keys = W.BoundedIntText(value=3, min=1, max=50, description="키 개수", layout=W.Layout(width="150px"))
        self.burst_batch = W.BoundedIntText(value=4, min=1, max=2000, description="배치", layout=W.Layout(width="150px"))
        self.burst_button = W.Button(description="키 여러 개로 보내기", icon="forward")
        self.null_burst_button = W.Button(description="키 없이 보내기", icon="forward")
        self.prediction = W.HTML()
        self.send_button.on_click(lambda _: self._attempt(self._send_from_fields))
        self.burst_button.on_click(lambda _: self.burst(self.burst_count.value, self.burst_keys.value))
        self.null_burst_button.on_click(lambda _: self.null_burst(self.burst_count.value, self.burst_batch.value))
        self.key.observe(lambda _: self.refresh_prediction(cached=True), "value")
        self.topic.observe(lambda _: self.refresh_prediction(), "value")
        hint = W.HTML('<span style="font-size:12px;color:#5f6368">← 같은 개수를 null 키로, 배치 크기만큼 보낼 때마다 flush</span>')
        self._build(W.HBox([W.VBox([self.topic, self.key, self.value, self.headers]), W.VBox([self.send_button])]),
                    self.prediction,
                    W.HBox([self.burst_count, self.burst_keys, self.burst_button]),
                    W.HBox([self.burst_batch, self.null_burst_button, hint]))
        self.refresh_prediction()
        self._draw()

    # -- callbacks
    def on_sent(self, callback):
        """Call `callback(rows)` after every successful send (e.g. sender.on_sent(placement.refresh))."""
        self._callbacks.append(callback)

    # -- prediction
    def _partition_count(self, topic, cached=False):
        if cached and topic in self._partitions:
            return self._partitions[topic]
        check_topic_name(topic)
        self._ready()
        n = self._partitions[topic] = require_topic(self.admin(), topic)
        return n

    def predict(self, key, topic=None):
        """Partition the default partitioner will choose for `key` on `topic` now (None for a null key)."""
        kb = to_utf8(key, "키")
        if kb is None:
            return None
        return default_partition(kb, self._partition_count(topic or self.topic.value.strip()))

    def refresh_prediction(self, cached=False):
        """Show the predicted partition for the key now in the key field (asks the broker for the partition count)."""
        def work():
            topic = self.topic.value.strip()
            n = self._partition_count(topic, cached)
            key = self.key.value or None
            kb = to_utf8(key, "키")
            part = None if kb is None else default_partition(kb, n)
            self.prediction.value = views.prediction_html(topic, key, n, part)
            if not self.ok:
                self._say("")
            return part
        self.prediction.value = ""
        return self._attempt(work)

    # -- sending
    def _get_producer(self, topic, partitions):
        """The widget's producer; made anew when its metadata still counts a different number of partitions."""
        if self._producer is not None:
            known = self._producer.partitions_for(topic)
            if known is not None and len(known) != partitions:
                self._producer.close()
                self._producer = None
        if self._producer is None:
            self._producer = KafkaProducer(
                bootstrap_servers=self.bootstrap, client_id=f"kafkabook-sender-{self._id}",
                partitioner=StickyPartitioner(),  # null keys: one partition per batch, as the Java client does
                linger_ms=self.linger_ms, max_request_size=self.max_request_size,
                max_block_ms=5000, request_timeout_ms=5000, delivery_timeout_ms=15000)
        return self._producer

    def _send(self, items, flush_every=None):
        """Validate every (key, value, headers) first; then send them all, or nothing."""
        topic = self.topic.value.strip()
        n = self._partition_count(topic)
        prepared = []
        for key, value, headers in items:
            kb, vb, hs = to_utf8(key, "키"), to_utf8(value, "값"), parse_headers(headers)
            if kb is None and vb is None:
                raise InvalidInput("키와 값이 둘 다 없습니다. 적어도 하나는 있어야 합니다.")
            check_record_size(kb, vb, hs, self.max_request_size)
            prepared.append((kb, vb, hs, None if kb is None else default_partition(kb, n)))
        self._say(f"{len(prepared)}개 보내는 중…", "busy")
        producer = self._get_producer(topic, n)
        futures = []
        for i, (kb, vb, hs, _) in enumerate(prepared):
            futures.append(producer.send(topic, key=kb, value=vb, headers=hs))
            if flush_every and (i + 1) % flush_every == 0:
                producer.flush(timeout=15)
        producer.flush(timeout=15)
        rows = []
        for (kb, vb, hs, predicted), future in zip(prepared, futures):
            md = future.get(timeout=15)
            rows.append({"n": len(self.history) + len(rows) + 1, "topic": topic, "key": _text(kb),
                         "value": _text(vb) if vb is not None else "", "headers": [(k, _text(v)) for k, v in hs],
                         "predicted": predicted, "partition": md.partition, "offset": md.offset,
                         "timestamp": md.timestamp})
        self.history.extend(rows)
        self.last = rows[-1]
        if len(rows) == 1:
            r = rows[0]
            self._say(f"보냈습니다 → 파티션 {r['partition']}, 오프셋 {r['offset']}, "
                      f"타임스탬프 {r['timestamp']} ({views.fmt_time(r['timestamp'])})", "ok")
        else:
            per = Counter(r["partition"] for r in rows)
            spread = ", ".join(f"P{p}: {c}개" for p, c in sorted(per.items()))
            self._say(f"{len(rows)}개를 보냈습니다 → {spread}", "ok")
        self._draw()
        for callback in self._callbacks:
            callback(rows)
        return rows

    def _send_from_fields(self):
        rows = self._send([(self.key.value or None, self.value.value, self.headers.value)])
        return rows[0]

    def send_record(self, key, value, headers=None):
        """Send one record (key None = null key); return its row, or None with the reason on the status line."""
        rows = self._attempt(self._send, [(key, value, headers)])
        return rows[0] if rows else None

    def burst(self, n, keys):
        """Send `n` records whose keys cycle over "고객-1" … "고객-<keys>"; values "값-1" … ."""
        base = len(self.history)
        items = [(f"고객-{i % keys + 1}", f"값-{base + i + 1}", None) for i in range(n)]
        return self._attempt(self._send, items)

    def null_burst(self, n, batch=4):
        """Send `n` null-key records, flushing after every `batch` of them so each batch is its own request."""
        base = len(self.history)
        items = [(None, f"값-{base + i + 1}", None) for i in range(n)]
        return self._attempt(self._send, items, flush_every=batch)

    def _draw(self):
        self.drawing.value = views.sender_html(self.topic.value.strip(), "", self.history)

    def _close_clients(self):
        if self._producer is not None:
            self._producer.close()
            self._producer = None


# ====================================================================== 2. PartitionPlacement

class PartitionPlacement(_Widget):
    """파티션 배치: one lane per partition with the records the broker holds, coloured by key."""

    def __init__(self, topic, sender=None, bootstrap=None, limit=40):
        super().__init__(bootstrap or (sender.bootstrap if sender is not None else BOOTSTRAP))
        self.topic = topic
        self.limit = limit
        self.sender = sender
        self.lanes, self.ends, self.partitions = {}, {}, None
        self.refresh_button = W.Button(description="새로 고침", icon="refresh")
        self.partitions_input = W.BoundedIntText(value=1, min=1, max=200, description="파티션 수",
                                                 layout=W.Layout(width="170px"))
        self.add_partitions_button = W.Button(description="파티션 늘리기", icon="plus")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.add_partitions_button.on_click(lambda _: self.add_partitions(self.partitions_input.value))
        self._build(W.HBox([self.refresh_button, self.partitions_input, self.add_partitions_button]))
        if sender is not None:
            sender.on_sent(self.refresh)
        self.refresh()

    def _read(self):
        check_topic_name(self.topic)
        self._ready()
        n = require_topic(self.admin(), self.topic)
        records = read_all(self.topic, self.bootstrap)
        lanes = {p: [] for p in range(n)}
        for r in records:
            lanes.setdefault(r.partition, []).append(record_dict(r, n))
        self.lanes, self.partitions = lanes, n
        self.ends = self._end_offsets(self.topic, n)
        self.partitions_input.value = max(self.partitions_input.value, n)
        total = sum(len(v) for v in lanes.values())
        self._say(f"브로커에서 다시 읽었습니다: 레코드 {total}개 ({time.strftime('%H:%M:%S')})", "ok")
        self._draw()
        return lanes

    def refresh(self, *_):
        """Read every record of the topic back from the broker and redraw (extra arguments are ignored)."""
        return self._attempt(self._read)

    def add_partitions(self, total):
        """Grow the topic to `total` partitions (admin create_partitions); keys sent afterwards may move."""
        def work():
            check_topic_name(self.topic)
            self._ready()
            n = require_topic(self.admin(), self.topic)
            if total <= n:
                raise InvalidInput(f"파티션은 늘릴 수만 있습니다: 지금 {n}개, 요청 {total}개.")
            self.admin().create_partitions({self.topic: total})
            wait_for_leaders(self.topic, total, self.bootstrap)
            self._read()
            if self.sender is not None:
                self.sender.refresh_prediction()
            self._say(f"파티션을 {n}개에서 {total}개로 늘렸습니다. 이미 저장된 레코드는 그대로이고, "
                      "이제부터 보내는 키는 새 파티션 수로 나뉩니다.", "ok")
            return total
        return self._attempt(work)

    def _draw(self):
        self.drawing.value = views.placement_html(self.topic, self.lanes, self.ends, self.partitions, self.limit)


# ====================================================================== 3. OrderingView

class OrderingView(_Widget):
    """순서: a numbered sequence sent across keys, read back by a real consumer, for two topics side by side."""

    def __init__(self, topic, one_partition_topic, bootstrap=BOOTSTRAP, count=12, keys=3):
        super().__init__(bootstrap)
        self.topics = (topic, one_partition_topic)
        self.results = []
        self.count = W.BoundedIntText(value=count, min=2, max=500, description="개수", layout=W.Layout(width="150px"))
        self.keys = W.BoundedIntText(value=keys, min=1, max=20, description="키 개수", layout=W.Layout(width="150px"))
        self.run_button = W.Button(description="번호 붙여 보내고 다시 읽기", button_style="primary", icon="sort-numeric-asc",
                                   layout=W.Layout(width="240px"))
        self.run_button.on_click(lambda _: self.run())
        self._build(W.HBox([self.count, self.keys, self.run_button]))
        self._draw()

    def _run(self):
        for t in self.topics:
            check_topic_name(t)
        self._ready()
        admin = self.admin()
        parts = {t: require_topic(admin, t) for t in self.topics}
        n, k = self.count.value, self.keys.value
        keys = spread_keys(k, max(parts.values()))
        run_id = uuid.uuid4().hex[:8]
        starts = {t: self._end_offsets(t, parts[t]) for t in self.topics}
        self._say(f"번호 1~{n}을 보내는 중…", "busy")
        produced = {t: [] for t in self.topics}
        with _closing(KafkaProducer(bootstrap_servers=self.bootstrap, client_id=f"kafkabook-order-{self._id}",
                                    max_block_ms=5000, request_timeout_ms=5000, delivery_timeout_ms=15000)) as p:
            futures = []
            for seq in range(1, n + 1):
                key = keys[(seq - 1) % k]
                for t in self.topics:
                    futures.append((t, seq, key, p.send(t, key=key.encode(), value=str(seq).encode(),
                                                          headers=[("run", run_id.encode())])))
            p.flush(timeout=15)
            for t, seq, key, f in futures:
                md = f.get(timeout=15)
                produced[t].append({"seq": seq, "key": key, "partition": md.partition, "offset": md.offset})
        self._say("컨슈머로 다시 읽는 중…", "busy")
        results = []
        for t in self.topics:
            consumed = self._consume(t, parts[t], starts[t], run_id, n)
            per_ok = all(_increasing([c["seq"] for c in consumed if c["partition"] == q]) for q in range(parts[t]))
            results.append({"topic": t, "partitions": parts[t], "keys": keys, "produced": produced[t],
                            "consumed": consumed, "per_partition_ok": per_ok,
                            "global_ok": [c["seq"] for c in consumed] == list(range(1, n + 1))})
        self.results = results
        multi, single = results
        self._say(f"{n}개를 보내고 다시 읽었습니다. {multi['topic']}: 파티션 안 순서 "
                  f"{'유지' if multi['per_partition_ok'] else '깨짐'}, 전체 순서 {'유지' if multi['global_ok'] else '깨짐'} · "
                  f"{single['topic']}: 전체 순서 {'유지' if single['global_ok'] else '깨짐'}", "ok")
        self._draw()
        return results

    def _consume(self, topic, partitions, starts, run_id, n):
        """Read this run's records with a real KafkaConsumer, in the order poll() hands them out."""
        consumed = []
        with _closing(KafkaConsumer(bootstrap_servers=self.bootstrap, client_id=f"kafkabook-order-{self._id}",
                                    enable_auto_commit=False, group_id=None)) as c:
            tps = [TopicPartition(topic, q) for q in range(partitions)]
            c.assign(tps)
            for tp in tps:
                c.seek(tp, starts[tp.partition])
            deadline = time.monotonic() + 20
            while len(consumed) < n:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"토픽 {topic}에서 {n}개 중 {len(consumed)}개만 읽었습니다")
                for batch in c.poll(timeout_ms=500).values():
                    for r in batch:
                        if dict(r.headers or []).get("run") == run_id.encode():
                            consumed.append({"seq": int(r.value), "key": _text(r.key),
                                             "partition": r.partition, "offset": r.offset})
        return consumed

    def run(self):
        """Send 1..count across the keys to both topics, read them back, and draw both orders."""
        return self._attempt(self._run)

    def _draw(self):
        self.drawing.value = views.ordering_html(self.results)


def _increasing(seq):
    return all(a < b for a, b in zip(seq, seq[1:]))


class _closing:
    def __init__(self, client):
        self.client = client

    def __enter__(self):
        return self.client

    def __exit__(self, *exc):
        self.client.close()


# ====================================================================== 4. ConsumerGroupView

def _assigned(member, topic):
    """Partitions of `topic` in a describe_groups member's assignment."""
    assignment = member.get("member_assignment") or {}
    return sorted(p for a in assignment.get("assigned_partitions", []) if a["topic"] == topic for p in a["partitions"])


class _PauseOnAssign(ConsumerRebalanceListener):
    """Members consume only when asked: every partition they are given starts paused."""

    def __init__(self, consumer):
        self.consumer = consumer

    def on_partitions_revoked(self, revoked):
        pass

    def on_partitions_assigned(self, assigned):
        if assigned:
            self.consumer.pause(*assigned)


class ConsumerGroupView(_Widget):
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
        for other in list(_OPEN):  # a re-run cell: the old view's members would stay in the same group
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
            parts = _assigned(m, self.topic)
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
        broker = {m["member_id"]: _assigned(m, self.topic) for m in d["members"]}
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
