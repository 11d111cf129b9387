"""Plumbing for the transaction notebooks: reading with an isolation level, the dump-log of a
partition, a consume-transform-produce app run (and killed) as a separate process."""
import signal
import subprocess
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from . import runtime
from .connection import admin_client
from .settings import BOOTSTRAP
from .waiting import wait_until


def end_offset(topic, isolation_level, partition=0, bootstrap=BOOTSTRAP):
    """The end offset a consumer with `isolation_level` gets from ListOffsets:
    the high watermark for read_uncommitted, the last stable offset for read_committed."""
    tp = TopicPartition(topic, partition)
    c = KafkaConsumer(bootstrap_servers=bootstrap, isolation_level=isolation_level,
                      enable_auto_commit=False)
    try:
        return c.end_offsets([tp])[tp]
    finally:
        c.close()


def read_isolated(topic, isolation_level, partition=0, bootstrap=BOOTSTRAP, timeout=20):
    """[(offset, value)] of one partition read from the start up to the end offset that
    `isolation_level` allows (values decoded as text)."""
    tp = TopicPartition(topic, partition)
    c = KafkaConsumer(bootstrap_servers=bootstrap, isolation_level=isolation_level,
                      enable_auto_commit=False)
    try:
        c.assign([tp])
        c.seek_to_beginning(tp)
        end = c.end_offsets([tp])[tp]
        out = []

        def caught_up():
            for batch in c.poll(timeout_ms=200).values():
                out.extend((r.offset, r.value.decode()) for r in batch)
            return c.position(tp) >= end

        wait_until(caught_up, timeout, f"{topic}-{partition}을(를) {isolation_level}로 끝까지 읽기",
                   interval=0)
        return out
    finally:
        c.close()


def committed_offset(group, topic, partition=0, bootstrap=BOOTSTRAP):
    """The offset `group` has committed for the partition, or None."""
    with admin_client(bootstrap) as admin:
        offsets = admin.list_group_offsets(group).get(group, {})
    found = offsets.get(TopicPartition(topic, partition))
    return None if found is None else found.offset


def delete_group(group, bootstrap=BOOTSTRAP):
    """Delete a consumer group if it exists (its committed offsets go with it)."""
    with admin_client(bootstrap) as admin:
        try:
            admin.delete_groups([group])
        except Exception:
            pass


def settle_transactional_id(transactional_id, bootstrap=BOOTSTRAP):
    """Start and close a producer with `transactional_id`: init_transactions aborts any transaction
    an earlier, interrupted run left open, so a rerun of the notebook starts clean."""
    p = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=transactional_id)
    try:
        p.init_transactions()
    finally:
        p.close()


def first_segment(topic, partition=0, service="kafka"):
    """Path of the partition's first segment file (what kafka-dump-log.sh --files takes)."""
    return runtime.partition_dir(topic, partition, service) / "00000000000000000000.log"


def run_app(script, *args, kill_at=None, timeout=60):
    """Run `python script args...` and echo its lines; with `kill_at`, SIGKILL it as soon as it
    prints a line starting with that text (a crash at a known point). Returns the exit code."""
    proc = subprocess.Popen([sys.executable, script, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    try:
        for line in proc.stdout:
            print("  [앱]", line.rstrip())
            if kill_at and line.startswith(kill_at):
                proc.send_signal(signal.SIGKILL)
                print("  [노트북] SIGKILL을 보냈다")
                break
            if time.monotonic() > deadline:
                break
        proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stdin.close()
    return proc.returncode
