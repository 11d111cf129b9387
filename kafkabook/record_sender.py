"""RecordSender (키 있는 레코드 보내기): send one record or a burst, predict the partition, show what the broker returned."""
from collections import Counter

import ipywidgets as W
from kafka import KafkaProducer
from kafka.partitioner.sticky import StickyPartitioner

from . import views
from .errors import InvalidInput
from .key_partitions import default_partition
from .settings import BOOTSTRAP
from .validate import MAX_REQUEST_SIZE, check_record_size, check_topic_name, parse_headers, require_topic, to_utf8
from .widget_base import BrokerWidget, TextField, as_text


class RecordSender(BrokerWidget):
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
        self.topic = TextField(value=topic, description="토픽", continuous_update=False, layout=wide)
        self.key = TextField(description="키", placeholder="비우면 null 키", layout=wide)
        self.value = TextField(description="값", placeholder="보낼 값", layout=wide)
        self.headers = TextField(description="헤더", placeholder="이름=값,이름2=값2 (선택)", layout=wide)
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
                partitioner=StickyPartitioner(),  # null keys: a new partition per batch (KIP-480, not Java's KIP-794)
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
            rows.append({"n": len(self.history) + len(rows) + 1, "topic": topic, "key": as_text(kb),
                         "value": as_text(vb) if vb is not None else "", "headers": [(k, as_text(v)) for k, v in hs],
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
