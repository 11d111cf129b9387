"""Replicas falling out of and back into the ISR on the three-node cluster (4.1.3).

Pausing (SIGSTOP) or stopping nodes is process control; these helpers always give the
cluster back whole: `paused` and `stopped` undo themselves on leaving the `with`, and
`make_whole` resumes every paused node, starts every stopped one and waits until all serve.
"""
import contextlib
import functools

from kafka.errors import KafkaError
from kafka.net.compat import KafkaNetClient

from . import runtime, settings
from .connection import admin_client
from .progress import wait_with_progress
from .topics import describe
from .waitclock import clocked


def service_of(node_id):
    """The cluster service ('kafka-2') whose node.id is `node_id`."""
    return next(s for s in settings.CLUSTER
                if int(settings.node_properties(s)["node.id"]) == node_id)


def quorum_leader(bootstrap):
    """node.id of the active controller (the KRaft quorum leader)."""
    with admin_client(bootstrap) as admin:
        return admin.describe_metadata_quorum()["topics"][0]["partitions"][0]["leader_id"]


@contextlib.contextmanager
def paused(service):
    """SIGSTOP `service` for the `with` block; SIGCONT it afterwards, even on an error."""
    runtime.pause(service)
    try:
        yield service
    finally:
        runtime.resume(service)


@contextlib.contextmanager
def stopped(service):
    """Controlled shutdown of `service` for the `with` block; started again afterwards."""
    runtime.node(service).stop()
    try:
        yield service
    finally:
        runtime.node(service).start()


def make_whole(timeout=180):
    """Resume paused nodes, start stopped ones, wait until all three serve; returns the bootstrap."""
    for s in settings.CLUSTER:
        runtime.resume(s)
    return runtime.start(settings.CLUSTER, timeout=timeout)


def live():
    """Bootstrap servers of the nodes that run and are not paused.

    A paused node still accepts TCP connections but never answers, so a client
    bootstrapping from it would hang; clients made while a node is paused use this.
    """
    up = [s for s in settings.CLUSTER
          if runtime.node(s).is_running() and not runtime.node(s).is_paused()]
    return settings.bootstrap_for(up)


# kafka-python 3.0 connects through KafkaNetClient, whose connection manager gives a node
# socket_connection_setup_timeout_ms (10 s, doubling to 30 s on each failure, like the Java
# client's KIP-601 setting) to answer ApiVersions. The producer/consumer/admin constructors
# do not accept that key, but all three take `kafka_client`, the callable that builds it.
QUICK_SETUP = functools.partial(KafkaNetClient,
                                socket_connection_setup_timeout_ms=1000,
                                socket_connection_setup_timeout_max_ms=2000)


def while_paused():
    """Client settings for while a node is frozen: bootstrap from the live nodes, and give up on
    a node that accepts the connection but does not answer after 1-2 s instead of 10-30 s.

    Bootstrapping from live nodes alone is not enough: after bootstrap the client sends its
    next metadata request to a random known broker, the frozen one included (measured: 1 in 3
    fresh producers lost 10-20 s there, and 60 s once in CI).
    """
    return {"bootstrap": live(), "kafka_client": QUICK_SETUP}


def wait_partition(topic, condition, what, timeout=60, partition=0):
    """Wait (showing progress) until condition(row) holds for the partition's describe() row,
    asked of the nodes that answer."""
    def check():
        try:
            row = describe(topic, **while_paused())[partition]
        except KafkaError:          # a node being frozen, fenced or restarted: ask again
            return False
        return condition(row) and row
    return wait_with_progress(check, what, timeout)


def server_log(service, topic, *needles, partition=0):
    """The node's own log lines about one partition that contain one of `needles`, shortened to
    time and message (local runtime; [] with Docker, where `docker compose logs` shows them)."""
    node = runtime.node(service)
    if runtime.kind() == "docker" or not node.log_file.exists():
        return []
    tag = f"{topic}-{partition}"
    out = []
    for line in node.log_file.read_text(errors="replace").splitlines():
        hit = next((n for n in needles if n in line), None)
        if tag in line and hit:
            out.append(line[1:24] + "  " + line[line.index(hit):][:160])
    return out


@clocked("wait", ("what", 2))
def holds_for(condition, seconds, what):
    """True if condition() stays true for `seconds` (checked every 0.5 s); prints progress."""
    import time
    start = time.monotonic()
    print(f"지켜보는 것: {what} ({seconds}초)", flush=True)
    while time.monotonic() - start < seconds:
        if not condition():
            print(f"  {time.monotonic() - start:.1f}초에 깨졌다", flush=True)
            return False
        time.sleep(0.5)
    return True
