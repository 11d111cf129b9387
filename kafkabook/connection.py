"""Connecting to the broker: a fast check with a Korean message, and client factories."""
import socket
import time
from contextlib import contextmanager

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from .errors import BrokerUnavailable, broker_down_message
from .settings import BOOTSTRAP


def _addresses(bootstrap):
    for part in bootstrap.split(","):
        host, _, port = part.strip().rpartition(":")
        yield host.strip("[]") or "localhost", int(port)


def port_open(host, port, timeout=1.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def check_broker(bootstrap=BOOTSTRAP, timeout=5.0):
    """Return {'brokers': [...], 'controller': id, 'cluster_id': ...} or raise BrokerUnavailable.

    Fails within `timeout` seconds: first a plain TCP connect to every bootstrap
    address, then one metadata request through the admin API.
    """
    deadline = time.monotonic() + timeout
    if not any(port_open(h, p, timeout=min(1.0, timeout)) for h, p in _addresses(bootstrap)):
        raise BrokerUnavailable(broker_down_message(bootstrap))
    remaining_ms = max(500, int((deadline - time.monotonic()) * 1000))
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=remaining_ms,
                                 bootstrap_timeout_ms=remaining_ms, client_id="kafkabook-check")
    except Exception as e:
        raise BrokerUnavailable(broker_down_message(bootstrap) + f"\n(원인: {e})") from None
    try:
        return admin.describe_cluster()
    except Exception as e:
        raise BrokerUnavailable(broker_down_message(bootstrap) + f"\n(원인: {e})") from None
    finally:
        admin.close()


@contextmanager
def admin_client(bootstrap=BOOTSTRAP, **configs):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **configs)
    try:
        yield admin
    finally:
        admin.close()


@contextmanager
def producer(bootstrap=BOOTSTRAP, **configs):
    p = KafkaProducer(bootstrap_servers=bootstrap, **configs)
    try:
        yield p
    finally:
        p.close()


@contextmanager
def consumer(*topics, bootstrap=BOOTSTRAP, **configs):
    c = KafkaConsumer(*topics, bootstrap_servers=bootstrap, **configs)
    try:
        yield c
    finally:
        c.close()
