"""CLI tables as Python rows, and a CLI-versus-kafka-python comparison printed side by side.

    rows = group_table(kafka_sh("kafka-consumer-groups.sh ... --describe"))
    same = compare_lag(rows, py_rows)     # prints both, returns True when equal
"""

#: the numeric columns of `kafka-consumer-groups.sh --describe`
LAG_COLUMNS = ("PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG")


def group_table(result):
    """The rows of a `kafka-consumer-groups.sh --describe` table as [{column: value}], by partition.

    The header line starts with GROUP; the numeric columns become int,
    a `-` (nothing committed yet) stays a string.
    """
    header, rows = None, []
    for line in result.lines:
        cols = line.split()
        if cols[0] == "GROUP":
            header = cols
        elif header and len(cols) == len(header):
            row = dict(zip(header, cols))
            for name in LAG_COLUMNS:
                if row[name].isdigit():
                    row[name] = int(row[name])
            rows.append(row)
    return sorted(rows, key=lambda r: r["PARTITION"])


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
