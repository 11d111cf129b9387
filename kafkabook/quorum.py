"""The KRaft controller quorum: who leads it, read through the admin API and kafka-metadata-quorum.sh."""
from .connection import admin_client
from .waiting import wait_until


def quorum_leader(bootstrap):
    """{'leader_id', 'leader_epoch', 'high_watermark'} of the __cluster_metadata Raft quorum."""
    with admin_client(bootstrap) as admin:
        part = admin.describe_metadata_quorum()["topics"][0]["partitions"][0]
    return {k: part[k] for k in ("leader_id", "leader_epoch", "high_watermark")}


def status_fields(result):
    """The 'Name: value' lines of `kafka-metadata-quorum.sh describe --status` as a dict."""
    fields = {}
    for line in result.lines:
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip()] = value.strip()
    return fields


def replication_rows(result):
    """The table of `describe --replication` as [{'NodeId', 'LogEndOffset', 'Lag', 'Status', ...}]."""
    header, *rows = [line.split() for line in result.lines]
    return [dict(zip(header, row)) for row in rows]


def wait_new_leader(old_leader, bootstrap, timeout=60):
    """Wait until the quorum has a leader other than `old_leader`; returns quorum_leader()."""
    def elected():
        q = quorum_leader(bootstrap)
        return q if q["leader_id"] not in (old_leader, -1) else None
    return wait_until(elected, timeout, "새 활성 컨트롤러 선출")
