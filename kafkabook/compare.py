"""Read the tables Kafka's CLI tools print, and compare them with what the admin API returned.

Each parse_* function takes a CliResult from kafka_sh and returns plain Python
values; agree() prints one line saying whether the two views match.
"""
import re


def parse_brokers(result):
    """kafka-broker-api-versions.sh: [{'id', 'host', 'port'}] from 'host:port (id: 1 rack: ...) -> ('."""
    found = []
    for line in result.lines:
        m = re.match(r"(\S+):(\d+) \(id: (\d+) rack: (\S+)", line)
        if m:
            found.append({"id": int(m[3]), "host": m[1], "port": int(m[2])})
    return sorted(found, key=lambda b: b["id"])


def parse_quorum_status(result):
    """kafka-metadata-quorum.sh describe --status: {'LeaderId': '1', ...} (values as printed)."""
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in result.lines)}


def parse_configs(result):
    """kafka-configs.sh --describe: {key: value} from lines '  key=value sensitive=... synonyms=...'."""
    configs = {}
    for line in result.lines:
        m = re.match(r"\s+([\w.\-]+)=(.*?) sensitive=", line)
        if m:
            configs[m[1]] = m[2]
    return configs


def parse_topic_list(result):
    """kafka-topics.sh --list: sorted topic names."""
    return sorted(line.strip() for line in result.lines)


def parse_topic_partitions(result):
    """kafka-topics.sh --describe: [{'topic', 'partition', 'leader', 'replicas', 'isr'}] per partition line."""
    rows = []
    for line in result.lines:
        fields = dict(re.findall(r"(\w+): ?([^\t]*)", line.strip()))
        if "Partition" in fields and "Leader" in fields:
            ints = lambda s: [int(x) for x in s.split(",") if x.strip()]
            rows.append({"topic": fields["Topic"], "partition": int(fields["Partition"]),
                         "leader": int(fields["Leader"]), "replicas": ints(fields["Replicas"]),
                         "isr": ints(fields["Isr"])})
    return sorted(rows, key=lambda r: (r["topic"], r["partition"]))


def parse_group_table(result):
    """kafka-consumer-groups.sh --describe (offsets view): [{column: value}] (numbers as int, '-' kept),
    sorted by topic and partition."""
    header, rows = None, []
    for line in result.lines:
        cols = line.split()
        if cols[0] == "GROUP":
            header = cols
        elif header and len(cols) == len(header):
            rows.append({k: int(v) if v.isdigit() else v for k, v in zip(header, cols)})
    return sorted(rows, key=lambda r: (r.get("TOPIC", ""), r.get("PARTITION", 0)))


def parse_group_state(result, group):
    """kafka-consumer-groups.sh --describe --state: {'state', 'members'} of `group`.

    The row is read from the right (STATE and #MEMBERS are the last two columns)
    because COORDINATOR (ID) and an empty ASSIGNMENT-STRATEGY break plain splitting.
    """
    for line in result.lines:
        cols = line.split()
        if cols[0] == group:
            return {"state": cols[-2], "members": int(cols[-1])}
    return None


def agree(what, cli, api):
    """Print '[일치] what' or '[불일치] what' with both values; return True when CLI and API agree."""
    same = cli == api
    if same:
        print(f"[일치]   {what}: {api}")
    else:
        print(f"[불일치] {what}\n  CLI: {cli}\n  API: {api}")
    return same
