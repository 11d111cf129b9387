"""Send the broker one bare Produce request of a chosen version and see whether it answers.

A 4.x broker lists Produce from version 0 in its ApiVersions response (a workaround for
old librdkafka, KAFKA-18659) but rejects versions 0-2 when they really arrive: it closes
the connection instead of answering (kafka.network.Processor.parseRequestHeader).
"""
import socket
import struct

from .settings import BOOTSTRAP

PRODUCE = 0
CLIENT_ID = b"kafkabook-probe"


def _request(version, correlation_id):
    """A Produce request with no topics, acks=1 (v0-v8 use the non-flexible encoding)."""
    header = struct.pack(">hhih", PRODUCE, version, correlation_id, len(CLIENT_ID)) + CLIENT_ID
    body = b""
    if version >= 3:
        body += struct.pack(">h", -1)                 # transactional_id = null
    body += struct.pack(">hii", 1, 1000, 0)           # acks=1, timeout_ms, no topics
    message = header + body
    return struct.pack(">i", len(message)) + message


def produce_version_answered(version, bootstrap=BOOTSTRAP, timeout=5.0):
    """True if the broker answers a Produce request of `version` (0-8), False if it hangs up."""
    if not 0 <= version <= 8:
        raise ValueError("이 탐침은 Produce 버전 0~8만 보낼 수 있다")
    host, _, port = bootstrap.split(",")[0].strip().rpartition(":")
    with socket.create_connection((host or "localhost", int(port)), timeout=timeout) as s:
        s.sendall(_request(version, correlation_id=version + 1))
        try:
            size = s.recv(4)
            if len(size) < 4:
                return False
            answer = s.recv(struct.unpack(">i", size)[0])
        except (ConnectionResetError, socket.timeout):
            return False
    return struct.unpack(">i", answer[:4])[0] == version + 1
