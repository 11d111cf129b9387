"""Chapter 4 (카프카 상세 개념 설명): 4.1 partition count, cleanup policies and the ISR; 4.2 acks, the idempotent
producer and transactions. Each notebook runs twice in a row against the real broker or the three-node cluster;
the tests read the broker (topics, offsets, segment files, configs) back themselves.
"""
from collections import Counter

from kafka.admin import ConfigResource, ConfigResourceType

from conftest import notebook_fixture
from kafkabook import cleaner, dumplog, kafka_sh, runtime
from kafkabook.connection import admin_client, producer
from kafkabook.topics import beginning_offsets, end_offsets, read_all
from kafkabook.txn import committed_offset, end_offset, first_segment, read_isolated


# ======================================================================
# 4.1 토픽과 파티션
# ======================================================================

def _judge(tb, code=None):
    """Run `code` (the reader's answer) in the notebook's kernel, then the checker cell (the last) again."""
    if code:
        tb.inject(code, pop=True)
    tb.execute_cell(len(tb.cells) - 1)
    return tb.value("verdict")


def _error_names(tb, tag="raises-exception"):
    """The exception class names the cells tagged `tag` ended with."""
    return [o["ename"] for c in tb.cells if tag in c.get("metadata", {}).get("tags", [])
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def _dump(topic, partition=0):
    return dumplog.records(kafka_sh(cleaner.dump_command(topic, partition)).stdout)


# ---------------------------------------------------------------- 4.1.2 토픽 정리 정책

nb_cleanup = notebook_fixture("ch04/01_2_cleanup_policy.ipynb")


def test_time_retention_moved_the_log_start(nb_cleanup):
    start = beginning_offsets("retention-time-demo")[0]
    assert start >= nb_cleanup.value("time_start") > 0
    assert end_offsets("retention-time-demo")[0] == 15


def test_size_retention_applies_to_each_partition(nb_cleanup):
    mib = 1024 * 1024
    for p in (0, 1):
        size = cleaner.log_bytes("retention-size-demo", p)
        # retention.bytes (2 MiB) is kept, plus less than one segment (1 MiB) more
        assert 2 * mib <= size < 3 * mib, (p, size)
        assert beginning_offsets("retention-size-demo")[p] > 0


def test_compaction_keeps_latest_per_key_and_leaves_the_active_segment(nb_cleanup):
    tb = nb_cleanup
    before, after = tb.value("before"), tb.value("after")
    keys = tb.value("KEYS")
    # before: every key five times, five segments
    assert sorted((r["key"], r["value"]) for r in before) == sorted(
        (k, f"{k}:v{v}") for k in keys for v in range(1, 6))
    assert len({r["segment"] for r in before}) == 5
    # after: the closed part holds each key once with v4; the active segment still has v5
    active = max(r["segment"] for r in after)
    closed = [(r["key"], r["value"]) for r in after if r["segment"] != active]
    assert sorted(closed) == sorted((k, f"{k}:v4") for k in keys)
    assert sorted((r["key"], r["value"]) for r in after if r["segment"] == active) == sorted(
        (k, f"{k}:v5") for k in keys)
    # offsets are kept, not renumbered
    assert {r["offset"] for r in after} <= {r["offset"] for r in before}


def test_compacted_log_on_disk_now_has_each_key_once_outside_the_active_segment(nb_cleanup):
    records = _dump("compact-demo")
    active = cleaner.active_segment("compact-demo")
    closed = [r["key"] for r in records if r["segment"] != active]
    assert len(closed) == len(set(closed))
    latest = {}
    for r in read_all("compact-demo"):
        latest[r.key.decode()] = r.value.decode()
    assert latest == {f"user-{i}": f"user-{i}:v7" for i in (1, 2, 3)}


def test_tombstone_removed_after_delete_retention(nb_cleanup):
    tb = nb_cleanup
    tombstone = tb.value("tombstone")
    assert tombstone["value"] is None and tombstone["horizon"] > 0
    assert all(r["key"] != "user-0" for r in _dump("compact-demo"))
    assert all(r.key != b"user-0" for r in read_all("compact-demo"))
    with admin_client() as admin:
        cfg = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "compact-demo")])
    assert cfg["topic"]["compact-demo"]["delete.retention.ms"]["value"] == "3000"


def test_null_key_refused_and_nothing_written(nb_cleanup):
    tb = nb_cleanup
    assert "InvalidRecordError" in _error_names(tb)
    assert tb.value("end_before_null") == tb.value("end_after_null")


def test_compact_delete_drops_an_old_latest_value(nb_cleanup):
    keys = {r.key for r in read_all("compact-delete-demo")}
    assert b"once" not in keys
    assert beginning_offsets("compact-delete-demo")[0] > 0


def test_cleanup_exercise_checker(nb_cleanup):
    tb = nb_cleanup
    assert _judge(tb) == "오답"
    with producer() as p:
        p.send("exercise-compact", key=b"color", value=b"blue")
        p.flush()
    assert _judge(tb) == "오답"          # right record, but the policy is still delete
    kafka_sh("kafka-configs.sh --bootstrap-server localhost:9092 --alter --entity-type topics "
             "--entity-name exercise-compact --add-config cleanup.policy=compact")
    assert _judge(tb) == "정답"
    with producer() as p:
        p.send("exercise-compact", key=b"color", value=b"red")
        p.flush()
    assert _judge(tb) == "오답"


# ---------------------------------------------------------------- 4.1.3 ISR

nb_isr = notebook_fixture("ch04/01_3_isr.ipynb", "cluster")


def _cluster_describe(topic):
    from kafkabook import settings
    from kafkabook.topics import describe
    return describe(topic, settings.cluster_bootstrap())[0]


def test_no_node_is_left_paused(nb_isr):
    from kafkabook import settings
    assert not any(runtime.node(s).is_paused() for s in settings.CLUSTER)
    assert all(runtime.status(settings.CLUSTER).values())


def test_isr_shrinks_and_grows_back(nb_isr):
    tb = nb_isr
    follower = tb.value("FOLLOWER_ID")
    shrunk, grown = tb.value("shrunk"), tb.value("grown")
    assert follower not in shrunk["isr"] and tb.value("LEADER") in shrunk["isr"]
    assert follower in grown["isr"]
    assert sorted(_cluster_describe("isr-demo")["isr"]) == [1, 2, 3]
    if runtime.kind() == "local":
        import re
        line = tb.value("shrink_lines")[-1]
        before, after = re.search(r"Shrinking ISR from (\S+) to (\S+?)\.", line).groups()
        assert str(follower) in before.split(",") and str(follower) not in after.split(",")


def test_not_enough_replicas_with_two_followers_gone(nb_isr):
    from kafkabook import settings
    tb = nb_isr
    assert tb.value("error_name") == "NotEnoughReplicasError"
    values = [r.value for r in read_all("isr-demo", settings.cluster_bootstrap())]
    assert b"two-followers-gone" not in values          # refused: not in the log
    assert b"one-follower-gone" in values and b"acks-1-under-min-isr" in values
    # under min ISR the high watermark stayed before the acks=1 record
    assert tb.value("hw_under_min") == tb.value("acks1_offset")


def test_unclean_election_lost_records_counted_from_offsets(nb_isr):
    from kafkabook import settings
    tb = nb_isr
    cb = settings.cluster_bootstrap()
    end_now = end_offsets("unclean-demo", cb)[0]
    assert tb.value("end_before") == 10                  # 5 on both replicas, then 5 acked by the leader alone
    lost = tb.value("end_before") - end_now
    # B keeps what the answer to its last fetch carried (the first record, under load more)
    assert tb.value("lost") == lost and 1 <= lost <= 5
    values = [r.value.decode() for r in read_all("unclean-demo", cb)]
    assert values[:5] == [f"both-{i}" for i in range(5)]
    assert len([v for v in values if v.startswith("only-on-leader")]) == 5 - lost
    assert _cluster_describe("unclean-demo")["leader"] == tb.value("B_ID")


def test_offline_partition_while_unclean_election_is_off(nb_isr):
    tb = nb_isr
    assert tb.value("offline")["leader"] == -1 and tb.value("still_offline") is True


def test_elr_feature_is_enabled(nb_isr):
    from kafkabook import settings
    out = kafka_sh(f"kafka-features.sh --bootstrap-server {settings.cluster_bootstrap()} describe").stdout
    line = next(l for l in out.splitlines() if "eligible.leader.replicas.version" in l)
    assert "FinalizedVersionLevel: 1" in line and "FinalizedVersionLevel: 1" in nb_isr.value("elr_line")


def test_isr_exercise_checker(nb_isr):
    from kafkabook import settings
    tb = nb_isr
    cmd = (f"kafka-configs.sh --bootstrap-server {settings.cluster_bootstrap()} --alter --entity-type topics "
           "--entity-name isr-exercise --add-config min.insync.replicas=")
    assert _judge(tb) == "오답"
    kafka_sh(cmd + "3")
    assert _judge(tb) == "오답"
    kafka_sh(cmd + "2")
    assert _judge(tb) == "정답"


# ---------------------------------------------------------------- 4.1.1 적정 파티션 개수

nb_partitions = notebook_fixture("ch04/01_1_partition_count.ipynb")


def test_partition_count_follows_from_measured_rates(nb_partitions):
    import math
    from kafkabook.topics import describe
    tb = nb_partitions
    target, per_consumer, partitions = tb.value("TARGET"), tb.value("PER_CONSUMER"), tb.value("PARTITIONS")
    assert 0 < per_consumer <= 1000 / tb.value("WORK_MS")       # 5 ms per record: at most 200/s
    assert partitions == math.ceil(target * tb.value("HEADROOM") / per_consumer)
    assert tb.value("need") == math.ceil(3 * target * tb.value("HEADROOM") / per_consumer)
    assert len(describe("partition-sizing")) == partitions
    rates = tb.value("rates")
    assert tb.value("counts") == list(range(1, partitions + 2))
    # with the computed count of consumers the group keeps up with the producer
    assert tb.value("rate_at_partitions") == rates[partitions - 1] >= target
    if partitions > 1:
        assert rates[partitions - 1] > 1.5 * rates[0]
    # one consumer more than partitions: idle, no real gain
    assert rates[-1] < 1.3 * rates[partitions - 1]


def test_many_partitions_make_many_files(nb_partitions):
    files = [f for p in range(100) for f in runtime.segment_files("many-partitions", p)]
    assert len(files) == 300 == len(nb_partitions.value("files"))
    assert nb_partitions.value("rebalance_few") > 0 and nb_partitions.value("rebalance_many") > 0


def test_keys_move_when_partitions_grow_and_count_cannot_shrink(nb_partitions):
    from kafka.partitioner import murmur2
    from kafkabook.topics import describe
    tb = nb_partitions
    part = lambda k, n: (murmur2(k) & 0x7FFFFFFF) % n
    keys = [f"user-{i}".encode() for i in range(10000)]
    assert tb.value("moved") == sum(part(k, 4) != part(k, 5) for k in keys)
    placed = {r.value.decode(): r.partition for r in read_all("key-move")}
    assert placed == {"before": part(b"user-7", 4), "after": part(b"user-7", 5)}
    assert len(describe("key-move")) == 5
    assert tb.value("shrink.returncode") != 0
    assert "InvalidPartitionsException" in tb.value("shrink.stderr")
    assert "would not be an increase" in tb.value("shrink.stdout")


def test_partition_exercise_checker(nb_partitions):
    from kafkabook.topics import delete_topics, fresh_topic
    tb = nb_partitions
    need = tb.value("need")
    assert _judge(tb) == "오답"
    fresh_topic("sizing-exercise", partitions=need + 1)
    assert _judge(tb) == "오답"
    fresh_topic("sizing-exercise", partitions=need)
    assert _judge(tb) == "정답"
    delete_topics(["sizing-exercise"])


# ======================================================================
# 4.2 카프카 프로듀서
# ======================================================================

def _errors(tb):
    """[ename] of the cells tagged raises-exception, in order."""
    return [o["ename"] for cell in tb.cells if "raises-exception" in cell.metadata.get("tags", [])
            for o in cell.get("outputs", []) if o["output_type"] == "error"]


def _judge_fresh(tb, code):
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
    markers = {r["offset"]: r["endTxnMarker"] for b in dumplog.batches(dump.stdout) if b["isControl"]
               for r in b["records"]}
    assert set(markers) == set(gaps)
    assert [markers[2], markers[5], markers[8]] == ["COMMIT", "ABORT", "COMMIT"]
    assert all(b["isTransactional"] for b in dumplog.batches(dump.stdout))
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
    batches = dumplog.batches(dump.stdout)
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
    assert _judge_fresh(tb, all_committed) == "오답"
    assert _judge_fresh(tb, plain) == "오답"
    assert _judge_fresh(tb, right) == "정답"
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
    assert _judge_fresh(tb, make.format(rf=3, m=3)) == "오답"
    assert _judge_fresh(tb, make.format(rf=3, m=1)) == "오답"
    assert _judge_fresh(tb, make.format(rf=3, m=2)) == "정답"


# ---------------------------------------------------------------- 4.2.2 멱등성 프로듀서

nb_idem = notebook_fixture("ch04/02_2_idempotent_producer.ipynb")


def _batches(topic):
    return dumplog.batches(kafka_sh(f"kafka-dump-log.sh --print-data-log --files {first_segment(topic)}").stdout)


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
    assert _judge_fresh(tb, code.format(extra=", enable_idempotence=False")) == "오답"
    assert tb.value("[v.decode() for v in ex_values]") == ["order-7"] * 3
    assert _judge_fresh(tb, code.format(extra="")) == "정답"
