"""Checks the book runs before anything reaches Kafka; each failure is an `InvalidInput` with a Korean message.

Widgets and notebooks share them:

    check_topic_name(name)                    -> name, or InvalidInput (Kafka's rules: [a-zA-Z0-9._-], 1..249, not "." / "..")
    to_utf8(text_or_bytes, what="값")          -> bytes | None (None stays None); refuses lone surrogates and non-UTF-8 bytes
    parse_headers("k=v,k2=v2")                -> [("k", b"v"), ("k2", b"v2")] (the form KafkaProducer.send takes)
    record_size(key, value, headers)          -> bytes the producer counts for one record (its own estimate)
    check_record_size(key, value, headers, max_request_size=1048576)
    require_broker(bootstrap, timeout=3)      -> fails fast with BrokerUnavailable (how to start the broker, in Korean)
    require_topic(admin, name)                -> partition count; refuses a topic that does not exist, because the
                                                 broker would silently auto-create it on the first send
"""
import re
import socket

from kafka.record.default_records import DefaultRecordBatchBuilder

from .errors import BrokerUnavailable, InvalidInput, broker_down_message

#: KafkaProducer's default max_request_size (bytes)
MAX_REQUEST_SIZE = 1048576
#: Kafka's limit on a topic name's length
MAX_TOPIC_NAME = 249
_LEGAL_TOPIC = re.compile(r"[a-zA-Z0-9._-]+")


def check_topic_name(name):
    """Return `name` if Kafka accepts it as a topic name, else raise InvalidInput."""
    if not isinstance(name, str):
        raise InvalidInput(f"토픽 이름은 문자열이어야 합니다 (받은 값: {type(name).__name__}).")
    if not name:
        raise InvalidInput("토픽 이름이 비어 있습니다.")
    if name in (".", ".."):
        raise InvalidInput(f"토픽 이름으로 '{name}'은(는) 쓸 수 없습니다.")
    if len(name) > MAX_TOPIC_NAME:
        raise InvalidInput(f"토픽 이름이 너무 깁니다: {len(name)}자 (최대 {MAX_TOPIC_NAME}자).")
    if not _LEGAL_TOPIC.fullmatch(name):
        bad = sorted({c for c in name if not _LEGAL_TOPIC.fullmatch(c)})
        shown = ", ".join(repr(c) for c in bad[:5])
        raise InvalidInput(f"토픽 이름 '{name}'에 쓸 수 없는 문자가 있습니다: {shown}. "
                           "영문자, 숫자, 마침표(.), 밑줄(_), 하이픈(-)만 쓸 수 있습니다.")
    return name


def to_utf8(data, what="값"):
    """`data` as UTF-8 bytes (None stays None). str must encode, bytes must decode as UTF-8."""
    if data is None:
        return None
    if isinstance(data, str):
        try:
            return data.encode("utf-8")
        except UnicodeEncodeError as e:
            char = data[e.start]
            raise InvalidInput(f"{what}에 UTF-8로 바꿀 수 없는 문자 {char!r}(짝 없는 서로게이트, {e.start}번째 글자)가 "
                               "있습니다. 보내지 않았습니다.") from None
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InvalidInput(f"{what}의 바이트가 UTF-8이 아닙니다: {e.start}번째 바이트 "
                               f"{raw[e.start:e.start + 1]!r}. 보내지 않았습니다.") from None
        return raw
    raise InvalidInput(f"{what}은(는) 문자열이나 바이트여야 합니다 (받은 값: {type(data).__name__}).")


def parse_headers(text):
    """"k=v,k2=v2" -> [("k", b"v"), ("k2", b"v2")]; a list of (str, str|bytes) pairs is checked and encoded too."""
    if text is None:
        return []
    if isinstance(text, str):
        pairs = []
        for part in text.split(","):
            if not part.strip():
                continue
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise InvalidInput(f"헤더 '{part.strip()}'을(를) 읽을 수 없습니다. "
                                   "'이름=값' 꼴로 쓰고 여러 개는 쉼표로 구분하세요 (예: source=web,trace=42).")
            pairs.append((name.strip(), value.strip()))
    else:
        pairs = list(text)
    headers = []
    for item in pairs:
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str) and item[0]):
            raise InvalidInput(f"헤더는 (이름, 값) 쌍이어야 합니다: {item!r}")
        name, value = item
        to_utf8(name, f"헤더 이름 '{name}'")
        headers.append((name, to_utf8(value, f"헤더 '{name}'의 값") or b""))
    return headers


def record_size(key_bytes, value_bytes, headers=()):
    """Size in bytes KafkaProducer checks against max_request_size for one record (record batch v2 estimate)."""
    return DefaultRecordBatchBuilder.estimate_size_in_bytes(key_bytes, value_bytes, list(headers))


def check_record_size(key_bytes, value_bytes, headers=(), max_request_size=MAX_REQUEST_SIZE):
    """Return the record's size, or raise InvalidInput if the producer would refuse it."""
    size = record_size(key_bytes, value_bytes, headers)
    if size > max_request_size:
        raise InvalidInput(f"레코드가 너무 큽니다: 약 {size:,}바이트로 프로듀서의 max_request_size "
                           f"{max_request_size:,}바이트를 넘습니다. 보내지 않았습니다.")
    return size


def _addresses(bootstrap):
    for part in bootstrap.split(","):
        host, _, port = part.strip().rpartition(":")
        yield host.strip("[]") or "localhost", int(port)


def require_broker(bootstrap, timeout=3.0):
    """Raise BrokerUnavailable (Korean: how to start the broker) unless some bootstrap address accepts a TCP connection."""
    for host, port in _addresses(bootstrap):
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return
        except OSError:
            continue
    raise BrokerUnavailable(broker_down_message(bootstrap))


def require_topic(admin, name):
    """Partition count of topic `name`, asked of the broker through `admin` (a KafkaAdminClient).

    Raises InvalidInput if the name is illegal or the topic does not exist: the broker
    auto-creates unknown topics on the first send, so the book refuses them explicitly.
    """
    check_topic_name(name)
    [topic] = admin.describe_topics([name])
    if topic.get("error_code"):
        raise InvalidInput(f"토픽 '{name}'이(가) 브로커에 없습니다. 브로커는 없는 토픽에 보내면 저절로 만들어 버리므로 "
                           "여기서는 보내지 않았습니다. 먼저 토픽을 만드세요 "
                           f"(예: fresh_topic('{name}', partitions=3) 또는 kafka-topics.sh --create).")
    return len(topic["partitions"])
