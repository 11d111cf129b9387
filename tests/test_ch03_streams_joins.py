"""Chapter 3.5 (카프카 스트림즈), part 2: 3.5.1.2 joins and co-partitioning, 3.5.1.3 windows and state.

Each notebook runs twice in a row (KAFKABOOK_RUNS); the tests then read the topics, the internal
topics, their configs and the programs' logs back and compute the expected results themselves
(murmur2 partitions, address held at each order's time, window counts from the records' timestamps).
conftest checks after each notebook that no JVM program is left running.
"""
import struct
from collections import Counter

from kafka.partitioner import murmur2

from conftest import notebook_fixture
from kafkabook import jvm, kafka_sh, settings, streams
from kafkabook.connection import admin_client, producer
from kafkabook.tables import parse_configs
from kafkabook.topics import end_offsets, fresh_topic, read_all

nb_joins = notebook_fixture("ch03/05_1_2_joins.ipynb")
nb_windows = notebook_fixture("ch03/05_1_3_windows_state.ipynb")


def _partition(key, n):
    return (murmur2(key.encode()) & 0x7fffffff) % n


def _values(topic):
    """{order: (key, whole value, partition)} of a join output topic, read here."""
    out = {}
    for r in read_all(topic):
        value = r.value.decode()
        out[value.split(" -> ")[0]] = (r.key.decode(), value, r.partition)
    return out


def _partition_count(topic):
    with admin_client() as admin:
        [t] = admin.describe_topics([topic])
    return len(t["partitions"])


def _cell_text(tb, source_start):
    """Everything the first cell whose source contains `source_start` showed: streams, results, errors."""
    cell = next(c for c in tb.cells if source_start in c.source)
    parts = []
    for out in cell.get("outputs", []):
        parts += [out.get("text", ""), out.get("ename", ""), out.get("evalue", ""),
                  out.get("data", {}).get("text/plain", "")]
    return "\n".join(parts)


def _windows_in(tb, expr):
    """A {(page, start): count} dict of the notebook's kernel, fetched as JSON-friendly rows."""
    return {(p, s): v for p, s, v in tb.value(f"[[k[0], k[1], v] for k, v in {expr}.items()]")}


def _log(name):
    return (settings.STATE_DIR / "programs" / f"{name}.log").read_text(errors="replace")


# ======================================================================
# 3.5.1.2 조인
# ======================================================================

LATE = "order-7"


def _address_as_of(addresses, key, ts):
    """The value of the address record of `key` with the greatest timestamp <= ts (None if none)."""
    before = [r for r in addresses if r.key.decode() == key and r.timestamp <= ts]
    return max(before, key=lambda r: r.timestamp).value.decode() if before else None


def test_every_join_line_matches_the_address_held_at_the_time_of_the_order(nb_joins):
    orders, addresses = read_all("join.orders"), read_all("join.addresses")
    got = _values("join.orders-joined")
    assert len(orders) == 7 and set(got) == {r.value.decode() for r in orders}
    for r in orders:
        order, key = r.value.decode(), r.key.decode()
        if order == LATE:      # arrived after 제주 was in the table: an unversioned KTable answers 제주
            latest = [a for a in addresses if a.key.decode() == key][-1].value.decode()
            assert got[order][1] == f"{order} -> {latest}" == "order-7 -> 제주"
        else:
            assert got[order][1] == f"{order} -> {_address_as_of(addresses, key, r.timestamp)}"
        assert got[order][0] == key and got[order][2] == _partition(key, 3)
    assert got["order-1"][1].endswith("서울") and got["order-5"][1].endswith("제주")


def test_quix_join_asof_equals_java_except_the_late_order(nb_joins):
    java, quix = _values("join.orders-joined"), _values("join.orders-joined-quix")
    assert set(java) == set(quix) and len(java) == 7
    for order in java:
        if order == LATE:
            assert java[order][1] == "order-7 -> 제주" and quix[order][1] == "order-7 -> 서울"
        else:
            assert java[order][:2] == quix[order][:2]
    # Quix's producer uses murmur2 like the Java client: the same partitions
    assert all(quix[o][2] == _partition(quix[o][0], 3) for o in quix)


def test_classic_protocol_joins_only_customers_whose_partitions_share_a_number(nb_joins):
    assert _partition_count("copart.orders") == 3 and _partition_count("copart.addresses") == 2
    customers = [f"customer-{i}" for i in range(1, 13)]
    same = sorted(c for c in customers if _partition(c, 3) == _partition(c, 2))
    joined = sorted(k for k, _, _ in _values("copart.joined").values())
    assert 0 < len(same) < len(customers)
    assert joined == same


def test_streams_protocol_refuses_the_join_with_the_copartitioning_error(nb_joins):
    log = _log("copart-streams")
    assert ("org.apache.kafka.streams.errors.TopologyException: Invalid topology: Following topics do not "
            "have the same number of partitions: [{copart.addresses=2, copart.orders=3}]") in log
    states = [line for line in log.splitlines() if line.startswith("state: ")]
    assert "state: REBALANCING -> PENDING_ERROR" in states and "state: PENDING_ERROR -> ERROR" in states
    assert not any(s.endswith("-> RUNNING") for s in states)
    shown = _cell_text(nb_joins, "strict.wait_for_state")
    assert "StreamsError" in shown and "TopologyException" in shown


def test_global_ktable_join_is_complete_with_a_different_partition_count(nb_joins):
    got = _values("copart.joined-global")
    assert len(got) == 12
    for i in range(1, 13):
        key, value, partition = got[f"cp-order-{i}"]
        assert key == f"customer-{i}" and value == f"cp-order-{i} -> city-{i}"
        assert partition == _partition(key, 3)
    assert "for global store" in _log("copart-global")


def test_copartition_exercise_checker_judges_from_the_broker(nb_joins):
    check = 'ss.check_copartitioned(EX_TOPIC, CP_ORDERS, customers)'
    assert nb_joins.value(check)[0] is False
    customers = [f"customer-{i}" for i in range(1, 13)]
    # only adding a partition leaves the old records where murmur2 % 2 put them
    kafka_sh(f"kafka-topics.sh --bootstrap-server {settings.BOOTSTRAP} --alter "
             "--topic copart.exercise-addresses --partitions 3")
    ok, message = nb_joins.value(check)
    assert ok is False and "틀렸다" in message
    fresh_topic("copart.exercise-addresses", partitions=3)
    with producer() as p:
        for c in customers:
            p.send("copart.exercise-addresses", key=c.encode(), value=f"city-{c[9:]}".encode())
    ok, message = nb_joins.value(check)
    assert ok is True and "맞았다" in message


# ======================================================================
# 3.5.1.3 윈도우와 상태
# ======================================================================

SIZE = 10_000
APP = "pageview-counts"


def _views():
    """(user, page, timestamp) of `pageviews` in offset order (one partition), read here."""
    return [(r.key.decode(), r.value.decode(), r.timestamp) for r in read_all("pageviews")]


def _counts_no_grace(views):
    """Window counts the way a no-grace tumbling window counts: rows arriving after their window
    closed (window end <= largest timestamp so far) are dropped."""
    counts, seen = Counter(), None
    for _, page, ts in views:
        seen = ts if seen is None else max(seen, ts)
        start = ts - ts % SIZE
        if start + SIZE > seen:
            counts[(page, start)] += 1
    return dict(counts)


def _changelog_windows():
    """{(page, window start): count} decoded from the window store's changelog topic: key = page bytes
    + window start (8) + sequence number (4), value = timestamp (8) + count (8); last record wins."""
    out = {}
    for r in read_all(f"{APP}-page-windows-changelog"):
        page, start = r.key[:-12].decode(), struct.unpack(">q", r.key[-12:-4])[0]
        out[(page, start)] = struct.unpack(">q", r.value[-8:])[0]
    return out


def test_windowed_counts_equal_counts_computed_from_the_records_timestamps(nb_windows):
    views = _views()
    assert len(views) == 31
    expected = _counts_no_grace(views)
    assert sum(expected.values()) == 30                       # the late 'home' view is not counted
    assert len({start for _, start in expected}) == 4
    assert _changelog_windows() == expected                   # the store's own record on the broker
    assert _windows_in(nb_windows, "after['windows']") == expected


def test_interactive_query_returns_the_counts_computed_here(nb_windows):
    views = _views()
    totals = dict(Counter(page for _, page, _ in views))
    assert nb_windows.value("after['totals']") == totals == {"cart": 10, "home": 16, "pay": 5}
    assert nb_windows.value("before == after") is True
    shown = _cell_text(nb_windows, "late = [")
    assert "Skipping record for expired window" in shown and "창별 개수가 그대로인가: True" in shown


def test_internal_topics_are_a_repartition_topic_and_two_changelogs_with_their_policies(nb_windows):
    internal = streams.internal_topics(APP)
    assert internal == [f"{APP}-by-page-repartition", f"{APP}-page-totals-changelog",
                        f"{APP}-page-windows-changelog"]

    def policy(topic):
        return parse_configs(kafka_sh(f"kafka-configs.sh --bootstrap-server {settings.BOOTSTRAP} "
                                      f"--entity-type topics --entity-name {topic} --describe"))

    assert policy(internal[0])["cleanup.policy"] == "delete"
    assert policy(internal[1])["cleanup.policy"] == "compact"
    windows = policy(internal[2])
    assert windows["cleanup.policy"] == "compact,delete"
    assert int(windows["retention.ms"]) == 3_600_000 + 86_400_000   # 1 h retention + 1 day extra


def test_state_was_restored_from_the_changelogs_after_the_state_dir_was_wiped(nb_windows):
    log = _log(APP)                       # the restarted app's log (the name is reused)
    ends = {store: end_offsets(f"{APP}-{store}-changelog")[0] for store in ("page-windows", "page-totals")}
    for store, end in ends.items():
        assert f"RESTORE START {store} from {APP}-{store}-changelog-0 offsets 0..{end}" in log
        assert f"RESTORE END {store} from {APP}-{store}-changelog-0 restored {end} records" in log
    # one record per window and commit (the record cache flushes on commit): at least one per window
    assert ends["page-windows"] >= len(_changelog_windows()) == 12
    states = [line for line in log.splitlines() if line.startswith("state: ")]
    assert states[:2] == ["state: CREATED -> REBALANCING", "state: REBALANCING -> RUNNING"]
    assert log.index("RESTORE END page-totals") < log.index("state: REBALANCING -> RUNNING")
    assert sorted(nb_windows.value("[r['event'] for r in restored]")) == ["END", "END", "START", "START"]


def test_quix_tumbling_window_counts_equal_the_java_ones(nb_windows):
    quix = _windows_in(nb_windows, "quix_windows")
    assert quix == _changelog_windows() == _counts_no_grace(_views())


def test_window_exercise_checker_judges_from_the_broker(nb_windows):
    check = 'ss.check_window_exercise(EX_TOPIC, "sale", EX_START, size_ms, [3, 2])'
    ok, message = nb_windows.value(check)
    assert ok is False and "아직" in message
    start = nb_windows.value("EX_START")
    with producer() as p:                           # two in the first window, three in the next: wrong
        for ts in (start + 1, start + 2, start + 10_001, start + 10_002, start + 10_003):
            p.send("pageviews.exercise", key=b"u", value=b"sale", timestamp_ms=ts)
    ok, message = nb_windows.value(check)
    assert ok is False and "틀렸다" in message
    fresh_topic("pageviews.exercise", partitions=1)
    with producer() as p:
        for ts in (start, start + 5_000, start + 9_999, start + 10_000, start + 19_999):
            p.send("pageviews.exercise", key=b"u", value=b"sale", timestamp_ms=ts)
        p.send("pageviews.exercise", key=b"u", value=b"home", timestamp_ms=start + 30_000)
    ok, message = nb_windows.value(check)
    assert ok is True and "맞았다" in message


def test_no_streams_program_is_left_running(nb_joins, nb_windows):
    assert jvm.running() == []
