"""Chapter 4.4 (스프링 카프카): real Spring Boot 4.1.2 / Spring Kafka 4.1.2 programs (kafka-clients 4.3.1) started
from the notebooks. Each notebook runs twice in a row; the tests read the broker back themselves: the records
Spring sent, the groups' members and committed offsets, every commit in __consumer_offsets, the dead-letter topic.
conftest.executed also fails a notebook that leaves a JVM program running.
"""
from kafka.partitioner.default import murmur2

from conftest import notebook_fixture
from kafkabook import commit_log, jvm, spring
from kafkabook.topics import end_offsets, read_all


def _judge(tb, code=None):
    """Run `code` (the reader's answer) in the notebook's kernel, then the checker cell (the last) again."""
    if code:
        tb.inject(code, pop=True)
    tb.execute_cell(len(tb.cells) - 1)
    return tb.value("verdict")


# ---------------------------------------------------------------- 4.4.1 스프링 카프카 프로듀서

nb_producer = notebook_fixture("ch04/04_1_spring_producer.ipynb")


def test_what_spring_sent_is_what_the_broker_holds(nb_producer):
    sent = [tuple(r) for r in nb_producer.value("sent")]
    stored = [(r.key.decode(), r.value.decode(), r.partition, r.offset) for r in read_all("spring-producer")]
    assert len(sent) == 9
    assert sorted(sent) == sorted(stored)
    assert sorted(v for _, v, _, _ in stored) == [f"test{i}" for i in range(9)]
    # the Java client's default partitioner is murmur2 of the key, as kafka-python computes it
    for key, _, partition, _ in stored:
        assert partition == (murmur2(key.encode()) & 0x7FFFFFFF) % 3, key


def test_the_callback_reports_exactly_what_the_broker_kept(nb_producer):
    stored = {r.key.decode(): (r.partition, r.offset) for r in read_all("spring-callback")}
    assert sorted(stored) == [f"cb-{i}" for i in range(5)]
    acked = {k: tuple(v) for k, v in nb_producer.value("acked").items()}
    assert acked == stored
    assert nb_producer.value("failed") == ["cb-5"]          # refused by the broker: in the callback
    assert nb_producer.value("threw") == ["cb-6"]           # refused by the producer: send() threw


def test_producer_exercise_is_judged_from_the_broker(nb_producer):
    tb = nb_producer
    assert _judge(tb) == "답 없음"
    # each attempt on a topic of its own: a topic deleted right after a kafka-python client read it can
    # come back at once by auto-creation (1 partition), so the answer is not retried on the same name
    run = """
EX_TOPIC = "spring-exercise-%s"
fresh_topic(EX_TOPIC, partitions=3)
with jvm.JavaProgram("spring_producer/SpringProducerApp.java",
                     f"--spring.kafka.bootstrap-servers={BOOTSTRAP}",
                     f"--demo.topic={EX_TOPIC}", "--demo.count=6", "--demo.keys=%d",
                     classpath=SPRING) as ex:
    ex.wait_for_line(r"^DONE", timeout=180, quiet=True)
    ex.process.wait(60)
"""
    assert _judge(tb, run % ("wrong", 3)) == "오답"
    assert _judge(tb, run % ("right", 1)) == "정답"
    assert len({r.partition for r in read_all("spring-exercise-right")}) == 1
    assert not jvm.running()


# ---------------------------------------------------------------- 4.4.2 스프링 카프카 컨슈머

nb_consumer = notebook_fixture("ch04/04_2_spring_consumer.ipynb")
TOPIC = "spring-listen"


def test_record_and_batch_listeners_received_every_record(nb_consumer):
    tb = nb_consumer
    everything = sorted((r.partition, r.offset) for r in read_all(TOPIC))
    assert len(everything) == 9
    got = tb.value("record_rows")
    assert sorted(map(tuple, got)) == everything
    sizes = tb.value("batch_sizes")
    assert sum(sizes) == 9 and len(sizes) < 9
    ends = end_offsets(TOPIC)
    for group in ("sl-record", "sl-batch"):
        assert spring.committed(group, TOPIC) == ends, group


def test_concurrency_3_makes_three_members_one_partition_each(nb_consumer):
    view = nb_consumer.value("concurrent_view")
    assert len(view) == 3
    assert sorted(p for parts in view.values() for p in parts) == [0, 1, 2]
    assert all(len(parts) == 1 for parts in view.values())
    threads = nb_consumer.value("concurrent_threads")
    assert len(threads) == 3 and sorted(threads.values()) == [0, 1, 2]
    assert spring.committed("sl-concurrent", "spring-concurrent") == end_offsets("spring-concurrent")


def test_explicit_partitions_read_what_was_named_without_a_member(nb_consumer):
    ends = end_offsets(TOPIC)
    got = sorted(map(tuple, nb_consumer.value("partition_rows")))
    assert got == [(0, o) for o in range(ends[0])] + [(1, o) for o in range(1, ends[1])]
    assert nb_consumer.value("partition_group") == {"state": "Empty", "members": 0}


def test_each_ack_mode_commits_where_the_notebook_says(nb_consumer):
    tb = nb_consumer
    groups = tb.value("ACK_GROUPS")
    since = {int(p): o for p, o in tb.value("since").items()}
    history = commit_log.commits(groups.values(), since)       # read again from __consumer_offsets
    offsets = {m: [c["offset"] for c in history[g]] for m, g in groups.items()}
    assert offsets["RECORD"] == list(range(1, 16))
    assert offsets["MANUAL_IMMEDIATE"] == list(range(1, 16))
    assert offsets["BATCH"] == [5, 10, 15]                    # max.poll.records=5
    assert offsets["MANUAL"] == [5, 10, 15]
    assert offsets["COUNT"] == [3, 6, 9, 12, 15]              # ackCount=3, across poll boundaries
    for mode in ("TIME", "COUNT_TIME"):
        assert offsets[mode][-1] == 15 and offsets[mode] == sorted(set(offsets[mode])), mode
    # TIME: a commit follows the record after which more than ackTime (1000 ms) had passed since the
    # previous commit; measured on the listener's own clock at the records that triggered them (the
    # broker's commit timestamps add each commit's own latency). The last one comes after an empty poll.
    at = {o: t for o, t in tb.value(
        "[(r['offset'], r['at']) for r in spring.fields(ack_app, 'PROCESSED') if r['mode'] == 'TIME']")}
    triggers = [at[o - 1] for o in offsets["TIME"][:-1]]
    assert all(b - a >= 950 for a, b in zip(triggers, triggers[1:])), triggers
    assert 2 <= len(offsets["TIME"]) <= 8
    # COUNT_TIME: never more than ackCount records between two commits
    ct = [0] + offsets["COUNT_TIME"]
    assert all(b - a <= 3 for a, b in zip(ct, ct[1:])), ct
    # the listener had processed exactly the committed records when each commit was written
    done = tb.value("done_at_commit")
    for mode in ("RECORD", "BATCH", "COUNT", "MANUAL", "MANUAL_IMMEDIATE"):
        assert done[mode] == offsets[mode], mode
    # what the admin API sampled is a part of what the log recorded
    sampled = tb.value("sampled_by_mode")
    for mode, seen in sampled.items():
        assert seen[-1] == 15 and set(seen) <= set(offsets[mode]), mode
    for group in groups.values():
        assert spring.committed(group, "spring-acks") == {0: 15}, group


def test_commit_listener_and_rebalance_listener(nb_consumer):
    tb = nb_consumer
    assert spring.committed("sl-commit", TOPIC) == end_offsets(TOPIC)
    view = tb.value("custom_view")
    assert len(view) == 2 and sorted(p for parts in view.values() for p in parts) == [0, 1, 2]
    lines = tb.value("[l for l in custom_a.lines() if l.startswith('CUSTOM-')]")
    assert any(l.startswith("CUSTOM-REVOKED") for l in lines), lines
    assigned = [l for l in lines if l.startswith("CUSTOM-ASSIGNED")]
    assert len(assigned) >= 2 and "spring-listen-0, spring-listen-1, spring-listen-2" in assigned[0]


def test_poison_record_is_retried_then_skipped(nb_consumer):
    tries = nb_consumer.value("skip_tries")
    assert len(tries) == 3                                   # FixedBackOff(500, 2): 1 + 2 retries
    assert all(b - a >= 450 for a, b in zip(tries, tries[1:])), tries
    assert spring.committed("sj-json", "spring-json") == {0: 3}
    assert any("exhausted for spring-json-0@1" in l for l in nb_consumer.value("skip_app.lines()"))


def test_poison_record_ends_in_the_dlt_with_its_original_bytes(nb_consumer):
    original = [r for r in read_all("spring-json") if r.offset == 1][0]
    dead = read_all("spring-json-dlt")
    assert len(dead) == 1
    assert dead[0].value == original.value == "주문 아님: {item".encode()
    assert dead[0].key == original.key == b"o-2"
    headers = dict(dead[0].headers)
    assert headers["kafka_dlt-original-topic"] == b"spring-json"
    assert int.from_bytes(headers["kafka_dlt-original-offset"], "big") == 1
    assert spring.committed("sjd-json", "spring-json") == {0: 3}


def test_consumer_exercise_is_judged_from_the_broker(nb_consumer):
    tb = nb_consumer
    assert _judge(tb) == "답 없음"
    run = """
delete_group("ex-record")
ex_since = commit_log.log_end(["ex-record"])
ex = jvm.JavaProgram(APP, f"--spring.kafka.bootstrap-servers={BOOTSTRAP}",
                     "--demo.modes=record", f"--demo.topic={ACK_TOPIC}",
                     "--demo.group=ex", *%r, classpath=SPRING)
ex.start()
ex.wait_for_line(r"^RECORD ", count=15, timeout=180, quiet=True)
from kafkabook import wait_until
wait_until(lambda: spring.committed("ex-record", ACK_TOPIC) == {0: 15}, 30)
ex.stop()
"""
    assert _judge(tb, run % ([],)) == "오답"                 # BATCH, one poll: one commit
    right = ["--spring.kafka.listener.ack-mode=COUNT", "--spring.kafka.listener.ack-count=5"]
    assert _judge(tb, run % (right,)) == "정답"
    assert not jvm.running()
