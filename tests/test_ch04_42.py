"""Chapter 4.2: acks (4.2.1), the idempotent producer (4.2.2), transactions (4.2.3).

Each notebook runs twice against the real broker (or the three-node cluster); the tests read the broker back.
"""
from collections import Counter

from conftest import notebook_fixture
from kafkabook.cli import kafka_sh
from kafkabook.txn import (committed_offset, dump_batches, end_offset, first_segment,
                           read_isolated)


def _errors(tb):
    """[ename] of the cells tagged raises-exception, in order."""
    return [o["ename"] for cell in tb.cells if "raises-exception" in cell.metadata.get("tags", [])
            for o in cell.get("outputs", []) if o["output_type"] == "error"]


def _judge(tb, code):
    """Run `code` in the exercise cell's place (after the notebook's own exercise cell), then the checker."""
    tb.execute_cell(len(tb.cells) - 2)          # recreate the exercise topic
    tb.inject(code, pop=True)
    tb.execute_cell(len(tb.cells) - 1)
    return tb.value("verdict")


# ---------------------------------------------------------------- 4.2.3 트랜잭션

nb_txn = notebook_fixture("ch04/02_3_transactions.ipynb")


def test_txn_read_committed_skips_the_aborted_records_read_uncommitted_returns_them(nb_txn):
    committed = [v for _, v in read_isolated("txn-demo", "read_committed")]
    everything = [v for _, v in read_isolated("txn-demo", "read_uncommitted")]
    assert committed == ["c1", "c2", "open-1", "open-2", "newcomer-1"]
    assert everything == ["c1", "c2", "a1", "a2", "open-1", "open-2", "zombie-1", "newcomer-1"]
    assert not {"a1", "a2", "zombie-1"} & set(committed)


def test_txn_control_records_take_the_skipped_offsets(nb_txn):
    offsets = [o for o, _ in read_isolated("txn-demo", "read_uncommitted")]
    hw = end_offset("txn-demo", "read_uncommitted")
    gaps = sorted(set(range(hw)) - set(offsets))
    assert gaps[:3] == [2, 5, 8] and nb_txn.value("gaps") == [2, 5]
    dump = kafka_sh(f"kafka-dump-log.sh --print-data-log --files {first_segment('txn-demo')}")
    markers = {r["offset"]: r["endTxnMarker"] for b in dump_batches(dump.stdout) if b["isControl"]
               for r in b["records"]}
    assert set(markers) == set(gaps)
    assert [markers[2], markers[5], markers[8]] == ["COMMIT", "ABORT", "COMMIT"]
    assert all(b["isTransactional"] for b in dump_batches(dump.stdout))
    assert "endTxnMarker: ABORT" in nb_txn.value("dump.stdout")


def test_txn_last_stable_offset_stays_behind_the_high_watermark_while_open(nb_txn):
    assert nb_txn.value("[lso_open, hw_open, lso_done, hw_done]") == [6, 8, 9, 9]


def test_txn_bad_use_and_fencing_raise_the_real_client_errors(nb_txn):
    assert _errors(nb_txn) == ["IllegalStateError", "IllegalStateError", "ProducerFencedError"]


def test_txn_consume_transform_produce_survives_the_crash_exactly_once(nb_txn):
    tb = nb_txn
    # at the crash: only the first transaction is visible, the group offset did not move
    assert [v for _, v in tb.value("crash_committed")] == [f"WORD-{i}" for i in range(5)]
    assert len(tb.value("crash_uncommitted")) == 10 and tb.value("crash_group_offset") == 5
    # after the restart, read back by the test itself
    out = [v for _, v in read_isolated("ctp-out", "read_committed")]
    assert sorted(out) == sorted(f"WORD-{i}" for i in range(12))
    assert max(Counter(out).values()) == 1
    assert committed_offset("ctp-group", "ctp-in") == 12
    assert len(read_isolated("ctp-out", "read_uncommitted")) == 17   # the aborted copies are in the log


def test_txn_transaction_version_feature_is_read_from_the_broker(nb_txn):
    from kafkabook.connection import admin_client
    with admin_client() as admin:
        finalized = admin.describe_features()["transaction.version"]["finalized"]
    assert list(finalized) == [2, 2] == nb_txn.value("list(txn_feature['finalized'])")
    # kafka-python 3.0.12 speaks transactions v1: the markers keep the data batches' epoch
    dump = kafka_sh(f"kafka-dump-log.sh --print-data-log --files {first_segment('txn-demo')}")
    batches = dump_batches(dump.stdout)
    demo = [b for b in batches if b["baseOffset"] <= 8]              # demo-app: c1 .. the COMMIT after open-2
    assert len({b["producerId"] for b in demo}) == 1 and len({b["producerEpoch"] for b in demo}) == 1
    assert [b["isControl"] for b in demo] == [False, True, False, True, False, True]


def test_txn_fencing_shows_on_disk_as_epochs(nb_txn):
    steps = nb_txn.value("fence_epochs")
    assert [w for w, _ in steps] == ["zombie-1", "ABORT", "newcomer-1", "COMMIT"]
    zombie, abort, newcomer, commit = (e for _, e in steps)
    assert zombie < abort < newcomer == commit


def test_txn_exercise_checker_judges_from_the_broker(nb_txn):
    tb = nb_txn
    assert tb.value("verdict") == "답 없음"
    head = ("from kafka import KafkaProducer\n"
            "q = KafkaProducer(bootstrap_servers=BOOTSTRAP, transactional_id='txn-exercise-app')\n"
            "q.init_transactions()\n")
    right = head + ("q.begin_transaction(); q.send(EX_TOPIC, b'alpha'); q.send(EX_TOPIC, b'beta')\n"
                    "q.commit_transaction()\n"
                    "q.begin_transaction(); q.send(EX_TOPIC, b'gamma'); q.flush(); q.abort_transaction()\n"
                    "q.close()\n")
    all_committed = head + ("q.begin_transaction()\n"
                            "for v in (b'alpha', b'beta', b'gamma'): q.send(EX_TOPIC, v)\n"
                            "q.commit_transaction(); q.close()\n")
    plain = "with producer() as p:\n    [p.send(EX_TOPIC, v) for v in (b'alpha', b'beta', b'gamma')]\n"
    assert _judge(tb, all_committed) == "오답"
    assert _judge(tb, plain) == "오답"
    assert _judge(tb, right) == "정답"
    assert [v for _, v in read_isolated("txn-exercise", "read_committed")] == ["alpha", "beta"]


# ---------------------------------------------------------------- 4.2.1 acks (three-node cluster)

nb_acks = notebook_fixture("ch04/02_1_acks.ipynb", "cluster")


def test_acks_measured_side_by_side(nb_acks):
    rows = nb_acks.value("rows")
    assert [r["acks"] for r in rows] == ["0", "1", "all"]
    assert all(r["records_per_s"] > 0 and 0 < r["p50_ms"] <= r["p99_ms"] for r in rows)
    # acks=0 completes without a broker round trip: its median is below the acknowledged ones
    assert rows[0]["p50_ms"] < min(rows[1]["p50_ms"], rows[2]["p50_ms"])
    assert nb_acks.value("md0.offset") == 0          # kafka-python's synthetic acks=0 response


def test_acks_one_node_down_all_succeeds_and_isr_below_min_is_not_enough_replicas(nb_acks):
    out = nb_acks.value("outcomes")
    assert out["all, 하나 꺼짐"].startswith("성공")
    assert out["all, min.isr=3"] == "실패: NotEnoughReplicasError"
    assert out["1, min.isr=3"].startswith("성공")


def test_acks_two_nodes_down_all_fails_acks1_succeeds_on_one_replica_only(nb_acks):
    tb = nb_acks
    two = tb.value("two_down")
    assert two["all"].startswith("실패") and two["1"].startswith("성공")
    on_disk = tb.value("on_disk")
    leader = tb.value("service_of(leader)")
    assert on_disk == {s: s == leader for s in on_disk}
    # read back by the test: the acks=1 record is in the topic and, after the restore, on all three replicas
    from kafkabook import settings
    from kafkabook.latency import replicas_holding
    from kafkabook.topics import describe, read_all
    cb = settings.cluster_bootstrap()
    assert b"two-down-acks1" in [r.value for r in read_all("acks-rf3", bootstrap=cb)]
    assert b"min3-all" not in [r.value for r in read_all("acks-rf3", bootstrap=cb)]   # refused before append
    assert len(describe("acks-rf3", cb)[0]["isr"]) == 3
    assert all(replicas_holding("acks-rf3", 0, b"two-down-acks1").values())


def test_acks_bad_combinations(nb_acks):
    bad = nb_acks.value("bad")
    assert bad["all, min.isr=4"].startswith("성공")           # capped at the replica count (effectiveMinIsr)
    assert bad["2"] == "실패: InvalidRequiredAcksError"


def test_acks_exercise_checker_judges_from_the_broker(nb_acks):
    tb = nb_acks
    assert tb.value("verdict") == "답 없음"
    make = ("with admin_client(CB) as admin:\n"
            "    admin.create_topics({{EX_TOPIC: {{'num_partitions': 1, 'replication_factor': {rf},"
            " 'configs': {{'min.insync.replicas': '{m}'}}}}}})\n"
            "wait_until(lambda: topic_exists(EX_TOPIC, bootstrap=CB), 30)\n")
    assert _judge(tb, make.format(rf=3, m=3)) == "오답"
    assert _judge(tb, make.format(rf=3, m=1)) == "오답"
    assert _judge(tb, make.format(rf=3, m=2)) == "정답"


# ---------------------------------------------------------------- 4.2.2 멱등성 프로듀서

nb_idem = notebook_fixture("ch04/02_2_idempotent_producer.ipynb")


def _batches(topic):
    return dump_batches(kafka_sh(f"kafka-dump-log.sh --print-data-log --files {first_segment(topic)}").stdout)


def test_idem_producer_id_epoch_and_sequences_on_disk(nb_idem):
    from kafkabook.topics import read_all
    assert [r.value for r in read_all("idem-demo")][:5] == [b"a-0", b"a-1", b"a-2", b"a-3", b"plain-0"]
    b = _batches("idem-demo")[:4]
    assert len({x["producerId"] for x in b[:3]}) == 1 and b[0]["producerId"] >= 0
    assert [x["producerEpoch"] for x in b[:3]] == [0, 0, 0]
    # one sequence number per record: the first producer's sequences run with the offsets
    assert [(x["baseSequence"], x["lastSequence"]) for x in b[:3]] == [(x["baseOffset"], x["lastOffset"]) for x in b[:3]]
    assert b[2]["lastSequence"] == 3 and nb_idem.value("batches[1]['baseSequence']") == 1
    assert (b[3]["producerId"], b[3]["baseSequence"]) == (-1, -1)


def test_idem_real_retry_keeps_one_copy_with_idempotence_two_without(nb_idem):
    from kafkabook.topics import read_all
    assert [r.value for r in read_all("idem-retry-on")] == [b"pay-1"]
    assert [r.value for r in read_all("idem-retry-off")] == [b"pay-1", b"pay-1"]
    on, off = _batches("idem-retry-on"), _batches("idem-retry-off")
    assert len(on) == 1 and on[0]["producerId"] >= 0 and on[0]["baseSequence"] == 0
    assert len(off) == 2 and {x["producerId"] for x in off} == {-1}
    assert nb_idem.value("[[o, v.decode()] for o, v in with_idem]") == [[0, "pay-1"]]
    assert nb_idem.value("[[o, v.decode()] for o, v in without_idem]") == [[0, "pay-1"], [1, "pay-1"]]


def test_idem_conflicting_configs_raise_or_silently_disable(nb_idem):
    assert _errors(nb_idem) == ["KafkaConfigurationError"]
    quiet = [b for b in _batches("idem-demo") if b["records"][0].get("payload") == "acks1-default"]
    assert len(quiet) == 1 and quiet[0]["producerId"] == -1 and quiet[0]["baseSequence"] == -1


def test_idem_new_session_gets_a_new_producer_id(nb_idem):
    pids = nb_idem.value("pids")
    assert len(pids) == 2 and pids[0] != pids[1]


def test_idem_proxy_drops_exactly_the_produce_response():
    from kafka import KafkaProducer
    from kafkabook.proxy import FaultProxy
    from kafkabook.topics import fresh_topic, read_all
    fresh_topic("idem-proxy-test")
    with FaultProxy(drop_produce_responses=2) as proxy:
        p = KafkaProducer(bootstrap_servers="localhost:9092", proxy_url=proxy.url, enable_idempotence=False)
        p.send("idem-proxy-test", b"x").get(timeout=30)
        p.close()
    assert sum("응답은 버린다" in line for line in proxy.log) == 2
    assert [r.value for r in read_all("idem-proxy-test")] == [b"x", b"x", b"x"]


def test_idem_exercise_checker_judges_from_the_broker(nb_idem):
    tb = nb_idem
    assert tb.value("verdict") == "답 없음"
    code = ("with FaultProxy(drop_produce_responses=2) as px:\n"
            "    q = KafkaProducer(bootstrap_servers=BOOTSTRAP, proxy_url=px.url{extra})\n"
            "    q.send(EX_TOPIC, b'order-7').get(timeout=30)\n"
            "    q.close()\n")
    assert _judge(tb, code.format(extra=", enable_idempotence=False")) == "오답"
    assert tb.value("[v.decode() for v in ex_values]") == ["order-7"] * 3
    assert _judge(tb, code.format(extra="")) == "정답"
