"""What Kafka's CLI tools print, as Python values; and CLI-versus-admin-API comparisons printed side by side.

Each function takes a CliResult from kafka_sh. agree() prints one line saying whether two views match.

    rows = group_table(kafka_sh("kafka-consumer-groups.sh ... --describe"))
    same = compare_lag(rows, py_rows)     # prints both, returns True when equal
"""
import re

#: the numeric columns of `kafka-consumer-groups.sh --describe`
LAG_COLUMNS = ("PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG")


def group_table(result):
    """The rows of a `kafka-consumer-groups.sh --describe` table as [{column: value}], by topic and partition.

    The header line starts with GROUP; numeric columns become int,
    a `-` (nothing committed yet) stays a string.
    """
    header, rows = None, []
    for line in result.lines:
        cols = line.split()
        if cols[0] == "GROUP":
            header = cols
        elif header and len(cols) == len(header):
            rows.append({k: int(v) if v.isdigit() else v for k, v in zip(header, cols)})
    return sorted(rows, key=lambda r: (r.get("TOPIC", ""), r.get("PARTITION", 0)))


def compare_lag(cli_rows, py_rows):
    """Print the CLI's and kafka-python's offsets per partition side by side.

    Returns True when the two agree on every column of LAG_COLUMNS.
    """
    print(f"{'파티션':>4} | {'CURRENT (CLI / py)':>18} | {'LOG-END (CLI / py)':>18} | "
          f"{'LAG (CLI / py)':>14}")
    for c, p in zip(cli_rows, py_rows):
        cells = [str(r.get(k)) for k in LAG_COLUMNS[1:] for r in (c, p)]
        print(f"{c['PARTITION']:>6} | {cells[0]:>8} / {cells[1]:<7} | {cells[2]:>8} / {cells[3]:<7} | "
              f"{cells[4]:>6} / {cells[5]:<5}")
    return [{k: r[k] for k in LAG_COLUMNS} for r in cli_rows] == \
        [{k: r[k] for k in LAG_COLUMNS} for r in py_rows]


def parse_brokers(result):
    """kafka-broker-api-versions.sh: [{'id', 'host', 'port'}] from 'host:port (id: 1 rack: ...) -> ('."""
    found = []
    for line in result.lines:
        m = re.match(r"(\S+):(\d+) \(id: (\d+) rack: (\S+)", line)
        if m:
            found.append({"id": int(m[3]), "host": m[1], "port": int(m[2])})
    return sorted(found, key=lambda b: b["id"])


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
