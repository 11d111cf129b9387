"""Records (3.3): timestamps, headers, a JSON deserializer that reports bad bytes, and dump-log lines."""
import json
import re
from collections import namedtuple
from datetime import datetime, timedelta, timezone

from kafka.serializer import Deserializer

from . import runtime

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


def active_segment(topic, partition=0, service="kafka"):
    """Path of the newest .log segment of a partition (inside the container with Docker)."""
    logs = [f["name"] for f in runtime.segment_files(topic, partition, service)
            if f["name"].endswith(".log")]
    return runtime.partition_dir(topic, partition, service) / logs[-1]


_FIELD = re.compile(r"(\w+): (\[[^\]]*\]|\S+)")


def dump_records(result):
    """The record lines of `kafka-dump-log.sh --print-data-log` as dicts.

    Keys: offset, timestamp_type, timestamp, keySize, valueSize, headerKeys (list), key, payload.
    key/payload are the rest of the line as printed (strings).
    """
    rows = []
    for line in result.lines:
        if not line.lstrip().startswith("| offset:"):
            continue
        head, _, rest = line.partition(" key: ") if " key: " in line else (line, "", "")
        if " payload: " in (rest or head):
            if rest:
                key, _, payload = rest.partition(" payload: ")
            else:
                head, _, payload = head.partition(" payload: ")
                key = None
        else:
            key, payload = (rest or None), None
        fields = dict(_FIELD.findall(head))
        kind = "LogAppendTime" if "LogAppendTime" in fields else "CreateTime"
        rows.append({"offset": int(fields["offset"]), "timestamp_type": kind,
                     "timestamp": int(fields[kind]), "keySize": int(fields["keySize"]),
                     "valueSize": int(fields["valueSize"]),
                     "headerKeys": [k for k in fields.get("headerKeys", "[]")[1:-1].split(",") if k],
                     "key": key, "payload": payload})
    return rows


def log_segments(topic, partition=0, service="kafka"):
    """Paths of every .log segment of a partition, oldest first (comma-join them for --files)."""
    folder = runtime.partition_dir(topic, partition, service)
    return [folder / f["name"] for f in runtime.segment_files(topic, partition, service)
            if f["name"].endswith(".log")]
