"""kafkabook.dumplog reads what kafka-dump-log.sh 4.3.1 printed for a transactional partition.

tests/data/dump-log-transactional.txt is the tool's real output: an aborted transaction (one record,
then an ABORT marker) and a committed one (three records, one a tombstone and one with a header,
then a COMMIT marker). The chapter 3 and 4 tests check the same parser against live brokers.
"""
from pathlib import Path

from kafkabook import dumplog

DUMP = (Path(__file__).parent / "data" / "dump-log-transactional.txt").read_text()


def test_batches_keep_the_header_fields_as_printed():
    batches = dumplog.batches(DUMP)
    assert [b["baseOffset"] for b in batches] == [0, 1, 2, 5]
    assert [b["isControl"] for b in batches] == [False, True, False, True]
    assert [b["producerEpoch"] for b in batches] == [0, 1, 2, 2]
    assert {b["segment"] for b in batches} == {0}
    assert all(b["deleteHorizonMs"] is None for b in batches)
    assert [len(b["records"]) for b in batches] == [1, 1, 3, 1]


def test_records_keep_keys_payloads_and_markers_whole():
    batches = dumplog.batches(DUMP)
    assert batches[0]["records"][0]["payload"] == "hello world"        # the space is kept
    assert batches[1]["records"][0]["endTxnMarker"] == "ABORT"
    assert batches[3]["records"][0]["endTxnMarker"] == "COMMIT"
    assert batches[2]["records"][2]["headerKeys"] == ["h"]
    assert batches[2]["records"][2]["payload"] == "x y"


def test_flat_records_mark_tombstones_and_control_records():
    flat = dumplog.records(DUMP)
    assert [r["offset"] for r in flat] == [0, 1, 2, 3, 4, 5]
    tomb = flat[3]
    assert (tomb["key"], tomb["value"], tomb["valueSize"]) == ("k1", None, -1)
    assert [r["isControl"] for r in flat] == [False, True, False, False, False, True]
    assert flat[2]["value"] == "hello world"
