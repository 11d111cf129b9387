"""A partition's files on disk: kafka-dump-log.sh on a segment, the folder as it is, and the page cache.

The book's brokers keep each partition in a folder `<topic>-<partition>` of the
node's data directory. These helpers read that folder (inside the container
with Docker), run Apache's DumpLogSegments on a segment, and ask the kernel how
much of a file sits in the page cache (util-linux `fincore`).
"""
import json
import os
import re
import shutil
import struct
import subprocess

from . import dumplog, runtime, settings
from .cli import kafka_sh
from .errors import InvalidInput



def _docker():
    return runtime.kind() == "docker"


def _listing(folder, service):
    """[(name, size)] of every file in `folder`, or None if there is no such folder."""
    if _docker():
        done = subprocess.run(["docker", "compose", "-f", str(settings.COMPOSE_FILE), "--profile", "cluster",
                               "exec", "-T", service, "sh", "-c", f'cd "{folder}" && stat -c "%n %s" *'],
                              capture_output=True, text=True)
        if done.returncode != 0:
            return None
        return [tuple(line.rsplit(" ", 1)) for line in done.stdout.splitlines() if line.strip()]
    if not folder.is_dir():
        return None
    return [(p.name, p.stat().st_size) for p in folder.iterdir() if p.is_file()]


def partition_folder(topic, partition, service="kafka"):
    """The partition's folder on `service`; a Korean InvalidInput if this node holds no such partition."""
    folder = runtime.partition_dir(topic, partition, service)
    if _listing(folder, service) is None:
        data = runtime.node(service).data_dir
        held = sorted(p.name for p in data.iterdir() if re.fullmatch(rf"{re.escape(topic)}-\d+", p.name)) \
            if not _docker() and data.is_dir() else []
        raise InvalidInput(f"{service}에는 파티션 폴더 {folder.name}가 없다 ({folder}).\n"
                           f"이 노드에 있는 {topic}의 파티션 폴더: {held or '없음'}. "
                           "토픽 이름과 파티션 번호, 그 파티션의 복제본을 가진 노드인지 확인한다.")
    return folder


def folder_files(topic, partition, service="kafka"):
    """Every file of the partition's folder (segments, indexes, .deleted, snapshots): [(name, size)] by name."""
    folder = partition_folder(topic, partition, service)
    return sorted((name, int(size)) for name, size in _listing(folder, service))


def segment_paths(topic, partition, service="kafka"):
    """Paths of the partition's live .log segments, oldest first."""
    folder = partition_folder(topic, partition, service)
    return [folder / name for name, _ in folder_files(topic, partition, service) if name.endswith(".log")]


def dump_log(topic, partition, segment=None, data=True, service="kafka"):
    """Run kafka-dump-log.sh on one segment of the partition (the oldest unless `segment` names one)."""
    paths = segment_paths(topic, partition, service)
    if segment is not None:
        wanted = [p for p in paths if p.name == segment or p.name == f"{int(segment):020d}.log"]
        if not wanted:
            raise InvalidInput(f"{topic}-{partition}에 세그먼트 {segment}가 없다. 있는 세그먼트: "
                               f"{[p.name for p in paths]}")
        paths = wanted
    flag = " --print-data-log" if data else ""
    return kafka_sh(f"kafka-dump-log.sh --files {paths[0]}{flag}")


def batches(result):
    """The record batches of a dump-log result: [{base_offset, last_offset, count, producer_id, ...}]
    (dumplog.batches with the header fields this chapter prints, in snake_case)."""
    names = {"baseOffset": "base_offset", "lastOffset": "last_offset", "count": "count",
             "producerId": "producer_id", "producerEpoch": "producer_epoch", "position": "position",
             "CreateTime": "create_time", "size": "size", "crc": "crc"}
    return [{new: b[old] for old, new in names.items() if old in b} for b in dumplog.batches(result)]


def dump_records(result):
    """The record lines of `kafka-dump-log.sh --print-data-log` as dicts (from dumplog.records).

    Keys: offset, timestamp_type, timestamp, keySize, valueSize, headerKeys (list), key, payload.
    key/payload are the rest of the line as printed (strings).
    """
    rows = []
    for r in dumplog.records(result):
        kind = "LogAppendTime" if "LogAppendTime" in r else "CreateTime"
        rows.append({"offset": r["offset"], "timestamp_type": kind, "timestamp": r[kind],
                     "keySize": r["keySize"], "valueSize": r["valueSize"],
                     "headerKeys": r.get("headerKeys", []), "key": r["key"], "payload": r["payload"]})
    return rows


def log_end_offset(topic, partition, service):
    """This replica's log end offset, read from the batch headers at the end of its newest segment file
    (the same headers dump-log prints: base offset at byte 0, batch length at 8, lastOffsetDelta at 23)."""
    paths = segment_paths(topic, partition, service)
    end = int(paths[-1].name.split(".")[0])
    raw = runtime.segment_bytes(topic, partition, paths[-1].name, service)
    pos = 0
    while pos + 27 <= len(raw):
        base, length = struct.unpack_from(">qi", raw, pos)
        if length <= 0 or pos + 12 + length > len(raw):
            break
        (last_delta,) = struct.unpack_from(">i", raw, pos + 23)
        end = base + last_delta + 1
        pos += 12 + length
    return end


def fincore(path, service="kafka"):
    """How much of a file sits in the OS page cache: {'pages', 'resident', 'size'} from util-linux fincore."""
    cmd = ["fincore", "--bytes", "--json", "--output", "PAGES,RES,SIZE", str(path)]
    if _docker():
        cmd = ["docker", "compose", "-f", str(settings.COMPOSE_FILE), "--profile", "cluster",
               "exec", "-T", service, *cmd]
    elif not shutil.which("fincore"):
        raise InvalidInput("fincore(util-linux)가 없다. 예: apt-get install util-linux")
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise InvalidInput(f"fincore를 실행하지 못했다: {done.stderr.strip()}")
    [row] = json.loads(done.stdout)["fincore"]
    return {"pages": int(row["pages"]), "resident": int(row["res"]), "size": int(row["size"])}


def drop_from_page_cache(path):
    """Write the file's dirty pages to disk and ask the kernel to forget its cached pages
    (fsync + posix_fadvise DONTNEED): the next read of it has to come from the disk. Local runtime only."""
    if _docker():
        raise InvalidInput("Docker 브로커의 페이지 캐시는 이 노트북에서 비우지 않는다 (로컬 실행에서만 한다).")
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
