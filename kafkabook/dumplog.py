"""What `kafka-dump-log.sh --print-data-log` prints, read back as data: batches and their records.

The tool (org.apache.kafka.tools.DumpLogSegments) prints, per segment file, a `Dumping <path>` line,
one `baseOffset: ... isControl: ... deleteHorizonMs: ...` line per record batch and, with
--print-data-log, one `| offset: ... key: ... payload: ...` line per record under it:

    for batch in dumplog.batches(kafka_sh(f"kafka-dump-log.sh --print-data-log --files {path}")):
        print(batch["baseOffset"], batch["producerId"], [r["payload"] for r in batch["records"]])

Field names stay as the tool prints them (baseOffset, producerEpoch, isControl, CreateTime, ...);
numbers become int and true/false become bool. This is the book's one parser of that output.
"""
import re

_FIELD = re.compile(r"(\w+): (\[[^\]]*\]|\S+)")
_DUMPING = re.compile(r"^Dumping (\S+)")


def _text(output):
    """stdout of a CliResult (kafkabook.cli) or the text itself."""
    return output if isinstance(output, str) else output.stdout


def _value(text):
    if text in ("true", "false"):
        return text == "true"
    if text.startswith("["):
        return [k for k in text[1:-1].split(",") if k]
    if text.startswith("OptionalLong"):                  # deleteHorizonMs: OptionalLong[123] / .empty
        digits = re.search(r"\d+", text)
        return int(digits.group(0)) if digits else None
    try:
        return int(text)
    except ValueError:
        return text


def _record(line):
    """One `| offset: ...` line: its fields, plus key and payload as printed (None when absent)."""
    body = line.lstrip()[2:]
    key = payload = None
    if " payload: " in body:
        body, payload = body.split(" payload: ", 1)
    if " key: " in body:
        body, key = body.split(" key: ", 1)
    fields = {k: _value(v) for k, v in _FIELD.findall(body)}
    return {**fields, "key": key, "payload": payload}


def batches(output):
    """[{'segment', <batch fields>, 'records': [{<record fields>, 'key', 'payload'}]}], oldest first.

    `segment` is the base offset in the segment file's name (00000000000000000042.log → 42).
    """
    found, segment = [], None
    for line in _text(output).splitlines():
        m = _DUMPING.match(line)
        if m:
            name = m.group(1).rsplit("/", 1)[-1].split(".")[0]
            segment = int(name) if name.isdigit() else None
        elif line.startswith("baseOffset:"):
            found.append({"segment": segment, **{k: _value(v) for k, v in _FIELD.findall(line)},
                          "records": []})
        elif line.lstrip().startswith("| offset:") and found:
            found[-1]["records"].append(_record(line))
    return found


def records(output):
    """Every record as one flat dict: its fields, key, payload, and from its batch `segment`,
    `value` (None for a tombstone, valueSize -1), `horizon` (the batch's deleteHorizonMs, which
    the cleaner sets on batches holding tombstones (KIP-534), or None) and `isControl`."""
    flat = []
    for batch in batches(output):
        horizon = batch.get("deleteHorizonMs")
        for rec in batch["records"]:
            flat.append({**rec, "segment": batch["segment"],
                         "value": None if rec.get("valueSize", 0) < 0 else (rec["payload"] or ""),
                         "horizon": horizon,
                         "isControl": batch.get("isControl", False)})
    return flat
