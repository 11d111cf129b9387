"""Records (3.3): timestamps, headers, and a JSON deserializer that reports bad bytes.

What a record looks like on disk (dump-log lines) is read by kafkabook.storage."""
import json
from collections import namedtuple
from datetime import datetime, timedelta, timezone

from kafka.serializer import Deserializer


KST = timezone(timedelta(hours=9))
#: ConsumerRecord.timestamp_type / the record batch attribute bit (TimestampType in kafka-clients)
TIMESTAMP_TYPES = {0: "CreateTime", 1: "LogAppendTime"}


def when(ms):
    """Epoch milliseconds as a Korean-time string with milliseconds."""
    return datetime.fromtimestamp(ms / 1000, KST).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " KST"


def show(record):
    """One ConsumerRecord as the lines a reader wants to see."""
    kind = TIMESTAMP_TYPES.get(record.timestamp_type, record.timestamp_type)
    lines = [f"partition={record.partition} offset={record.offset}",
             f"  timestamp={record.timestamp} ({when(record.timestamp)}, {kind})",
             f"  key={record.key!r}", f"  value={record.value!r}"]
    lines += [f"  header {k!r} = {v!r}" for k, v in record.headers]
    return "\n".join(lines)


class BadValue(namedtuple("BadValue", "raw reason")):
    """What JsonOrReport returns instead of raising: the raw bytes and why they are not JSON."""

    def __str__(self):
        return f"JSON이 아닌 값 {self.raw[:30]!r}: {self.reason}"


class JsonOrReport(Deserializer):
    """JSON value deserializer that never raises: non-JSON bytes come back as a BadValue.

    A deserializer that raises inside KafkaConsumer.poll stops the whole partition at that
    record (a "poison pill"); returning a marker lets the loop report it with its offset.
    """

    def deserialize(self, topic, headers, data):
        if data is None:
            return None
        try:
            return json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as e:
            return BadValue(data, f"{e.start}번째 바이트 {data[e.start:e.start + 1]!r}가 UTF-8이 아니다")
        except json.JSONDecodeError as e:
            return BadValue(data, f"{e.pos}번째 글자에서 JSON 문법이 깨졌다 ({e.msg})")
