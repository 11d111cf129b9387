"""Chapter 4.3 (컨슈머): 4.3.1 multi-threaded consumers, 4.3.2 consumer lag. Each notebook runs twice in a
row against the real broker; the tests read the processed-records topics, committed offsets, end offsets
and group descriptions back from the broker themselves.
"""
from conftest import notebook_fixture
from kafkabook import groups, workers
from kafkabook.topics import end_offsets


def _judge(tb, code=None):
    """Run `code` (the reader's answer) in the notebook's kernel, then the checker cell (the last) again."""
    if code:
        tb.inject(code, pop=True)
    tb.execute_cell(len(tb.cells) - 1)
    return tb.value("verdict")


def _error_names(tb, tag="raises-exception"):
    return [o["ename"] for c in tb.cells if tag in c.get("metadata", {}).get("tags", [])
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def _cell_index(tb, text):
    return next(i for i, c in enumerate(tb.cells) if c.cell_type == "code" and text in c.source)


# ---------------------------------------------------------------- 4.3.1 멀티 스레드 컨슈머

nb_threads = notebook_fixture("ch04/03_1_multi_thread.ipynb")


def test_pool_app_lost_exactly_the_committed_but_unprocessed_records(nb_threads):
    tb = nb_threads
    ends = end_offsets("mt-loss")
    source = {(p, o) for p, end in ends.items() for o in range(end)}
    entries = workers.read_processed("mt-loss-log")
    lost = source - {(p, o) for p, o, _ in entries}
    assert lost, "the SIGKILL lost nothing"
    assert lost == {tuple(x) for x in tb.value("lost")}
    at_kill = {int(p): c for p, c in tb.value("at_kill").items()}
    # every lost record lies below the offset committed when the app died ...
    assert all(o < at_kill.get(p, 0) for p, o in lost)
    # ... and the restarted app began each partition exactly there
    for p, c in at_kill.items():
        resumed = [o for q, o, who in entries if q == p and who == "resumed"]
        if c < ends[p]:
            assert min(resumed) == c, (p, c, resumed[:3])
        else:
            assert not resumed
    assert workers.committed("mt-loss-group") == ends


def test_pool_breaks_partition_order_and_consumers_keep_it(nb_threads):
    pool = workers.out_of_order(workers.read_processed("mt-pool-log"))
    assert sum(pool.values()) > 0, pool
    mc = workers.read_processed("mc-log")
    assert workers.out_of_order(mc) == {0: 0, 1: 0, 2: 0}
    ends = end_offsets("mc-source")
    assert sorted((p, o) for p, o, _ in mc) == [(p, o) for p, e in ends.items() for o in range(e)]


def test_dead_thread_partitions_move_to_the_others(nb_threads):
    tb = nb_threads
    before, after = tb.value("before"), tb.value("after")
    assert sorted(before) == ["c0", "c1", "c2"]
    assert sorted(after) == ["c0", "c1"]
    assert sorted(p for parts in after.values() for p in parts) == [0, 1, 2]
    late = {(p, who) for p, o, who in workers.read_processed("mc-log") if o >= 200}
    assert {p for p, _ in late} == {0, 1, 2}
    assert {who for _, who in late} <= {"c0", "c1"}


def test_raising_worker_surfaces_and_the_group_loses_the_member(nb_threads):
    assert "BadRecord" in _error_names(nb_threads)
    d = groups.describe("mt-poison-group")
    assert d["group_state"] == "Empty" and not d["members"]
    done = {o for _, o, _ in workers.read_processed("mt-poison-log")}
    assert 3 not in done and workers.committed("mt-poison-group") == {0: 6}


RIGHT = """
ex_consumer = KafkaConsumer(
    EXERCISE, bootstrap_servers=BOOTSTRAP, group_id=EX_GROUP,
    auto_offset_reset="earliest", enable_auto_commit=False)
while exercise_log.count < 120:
    for records in ex_consumer.poll(timeout_ms=1000).values():
        for r in records:
            exercise_log.process(r)
    ex_consumer.commit()
ex_consumer.close()
"""


def test_thread_exercise_checker(nb_threads):
    tb = nb_threads
    assert _judge(tb) == "오답"
    assert _judge(tb, "worker_pool(EXERCISE, EX_GROUP, exercise_log, 8, 120)") == "오답"
    tb.execute_cell(_cell_index(tb, "EXERCISE, EX_GROUP ="))     # start the exercise over
    assert _judge(tb, RIGHT) == "정답"
    assert workers.committed("mt-exercise-group") == end_offsets("mt-exercise")


# ---------------------------------------------------------------- 4.3.2 컨슈머 랙

nb_lag = notebook_fixture("ch04/03_2_lag.ipynb")


def test_three_lag_readings_agree_within_the_records_produced_between(nb_lag):
    tb = nb_lag
    r = tb.value("readings")
    metric, admin, cli = r["records-lag-max"], r["관리자 API"], r["kafka-consumer-groups.sh"]
    assert metric["커밋"] == admin["커밋"] == cli["커밋"] == 300
    assert metric["랙"] > 0
    # read in this order while the producer kept sending: the ends only grow ...
    assert tb.value("end_before") <= metric["끝"] <= admin["끝"] <= cli["끝"]
    # ... and the lags differ by exactly the records produced between the readings
    for a, b in ((metric, admin), (admin, cli), (metric, cli)):
        assert b["랙"] - a["랙"] == b["끝"] - a["끝"]
    assert workers.committed("lag-three-group") == {0: 300}
    assert end_offsets("lag-three-ways")[0] >= cli["끝"]


def test_slow_consumer_fell_behind_and_the_final_lag_is_zero(nb_lag):
    tb = nb_lag
    lags = tb.value("lags")
    assert tb.value("final_lag") == 0 == lags[-1]
    assert max(lags) >= 100
    assert workers.committed("lag-watch-group") == end_offsets("lag-watch")


def test_burrow_rules_applied_to_the_samples(nb_lag):
    tb = nb_lag
    assert tb.value("status") == "WARN" and tb.value("group_state") == "WARN"
    seq = [v for _, v in tb.value("verdicts")]
    assert "WARN" in seq and seq[-1] == "OK"
    assert seq.index("WARN") < len(seq) - 1 - seq[::-1].index("OK")
    assert tb.value("stall[:2]") == ["STALL", "ERR"]
    assert tb.value("stop[:2]") == ["STOP", "ERR"]


def test_burrow_evaluator_follows_the_rules():
    from kafkabook.lag import Entry, partition_status
    moving = [Entry(1000 * i, 10 * i, 5 + i) for i in range(10)]
    assert partition_status(moving, 14, 9500) == "WARN"
    assert partition_status(moving[:5] + [Entry(5000, 45, 3)] + moving[6:], 14, 9500) == "OK"
    assert partition_status(moving, 0, 9500) == "OK"
    assert partition_status([Entry(1000 * i, 50, 5 + i) for i in range(10)], 14, 9500) == "STALL"
    assert partition_status(moving, 14, 20000) == "STOP"
    assert partition_status(moving[:3] + [Entry(3000, 0, 9)] + moving[4:], 14, 9500) == "REWIND"
    assert partition_status(moving[:3] + [Entry(3000, 30, 0)] + moving[4:], 14, 9500) == "OK"


def _commit(offset):
    return f"""
from kafka.structs import OffsetAndMetadata
ex_c = KafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=EX_GROUP,
                     enable_auto_commit=False)
ex_c.assign([ex_tp])
ex_c.commit({{ex_tp: OffsetAndMetadata({offset}, "", -1)}})
ex_c.close()
"""


def test_lag_exercise_checker(nb_lag):
    tb = nb_lag
    assert _judge(tb) == "오답"
    assert _judge(tb, _commit(70)) == "오답"
    assert _judge(tb, _commit(75)) == "정답"
    assert workers.committed("lag-exercise-group") == {0: 75}
