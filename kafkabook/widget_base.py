"""Plumbing shared by the book's widgets (kafkabook.widgets): the status line and drawing, the panel that
closes its Kafka clients when closed, a lazily opened admin client, Korean error messages, snapshot and
close, and the registry of widgets still open (close_all)."""
import uuid

import ipywidgets as W
from IPython.display import HTML, display
from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import OffsetSpec
from kafka.errors import KafkaError
from traitlets import Unicode

from . import views
from .errors import KafkaBookError
from .key_partitions import default_partition
from .validate import require_broker

_OPEN = []  # widgets not yet closed


def close_all():
    """Close every widget (kafkabook.widgets) that is still open (their producers, consumers and admin clients)."""
    for w in list(_OPEN):
        w.close()


def open_widgets():
    """The widgets not yet closed, oldest first."""
    return list(_OPEN)


def as_text(data):
    """Bytes from the broker as text for drawing (never fails)."""
    if data is None:
        return None
    return bytes(data).decode("utf-8", errors="replace")


def record_dict(r, partitions_now=None):
    """A ConsumerRecord as the plain dict kafkabook.views draws."""
    d = {"partition": r.partition, "offset": r.offset, "key": as_text(r.key), "value": as_text(r.value) or "",
         "headers": [(k, as_text(v)) for k, v in (r.headers or [])], "timestamp": r.timestamp}
    if r.key is not None and partitions_now:
        d["now"] = default_partition(r.key, partitions_now)
    return d


def _sync_safe(value, widget):
    """A str the kernel can send to the browser: lone surrogates (not UTF-8) are shown as '?'."""
    return value.encode("utf-8", "replace").decode("utf-8")


class TextField(W.Text):
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


class BrokerWidget:
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
