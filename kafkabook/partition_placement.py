"""PartitionPlacement (파티션 배치): one lane per partition with the records the broker holds, coloured by key."""
import time

import ipywidgets as W

from . import views
from .errors import InvalidInput
from .settings import BOOTSTRAP
from .topics import read_all, wait_for_leaders
from .validate import check_topic_name, require_topic
from .widget_base import BrokerWidget, record_dict


class PartitionPlacement(BrokerWidget):
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
