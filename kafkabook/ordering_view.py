"""OrderingView (순서): a numbered sequence sent across keys to two topics, read back by a real consumer."""
import time
import uuid
from contextlib import closing

import ipywidgets as W
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from . import views
from .key_partitions import spread_keys
from .settings import BOOTSTRAP
from .validate import check_topic_name, require_topic
from .widget_base import BrokerWidget, as_text


class OrderingView(BrokerWidget):
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
        with closing(KafkaProducer(bootstrap_servers=self.bootstrap, client_id=f"kafkabook-order-{self._id}",
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
        with closing(KafkaConsumer(bootstrap_servers=self.bootstrap, client_id=f"kafkabook-order-{self._id}",
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
                            consumed.append({"seq": int(r.value), "key": as_text(r.key),
                                             "partition": r.partition, "offset": r.offset})
        return consumed

    def run(self):
        """Send 1..count across the keys to both topics, read them back, and draw both orders."""
        return self._attempt(self._run)

    def _draw(self):
        self.drawing.value = views.ordering_html(self.results)


def _increasing(seq):
    return all(a < b for a, b in zip(seq, seq[1:]))

