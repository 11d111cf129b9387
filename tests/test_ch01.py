"""Chapter 1 (들어가며): each notebook runs against the real broker (and the cluster profile for 1.2 and 1.4);
the tests read the results back from the brokers themselves and compare them with what the notebooks computed."""
import json
from collections import Counter

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from conftest import NOTEBOOKS, notebook_fixture
from kafkabook import groups, runtime, settings
from kafkabook.connection import admin_client, producer
from kafkabook.topics import describe, end_offsets, fresh_topic, read_all
from kafkabook.waiting import WaitTimeout, wait_until

CH01 = sorted(p.name for p in (NOTEBOOKS / "ch01").glob("*.ipynb"))


def _cells(name):
    return json.loads((NOTEBOOKS / "ch01" / name).read_text(encoding="utf-8"))["cells"]


def _src(cell):
    return "".join(cell["source"])


def _committed(group, bootstrap=settings.BOOTSTRAP):
    """{(topic, partition): committed offset} of `group`, from the group coordinator."""
    with admin_client(bootstrap) as admin:
        offsets = admin.list_group_offsets(group)[group]
    return {(tp.topic, tp.partition): om.offset for tp, om in offsets.items()}


# ---------------------------------------------------------------- every chapter 1 notebook

def test_chapter_has_its_four_sections():
    assert CH01 == ["01_birth.ipynb", "02_pipeline.ipynb", "03_data_lake.ipynb", "04_summary.ipynb"]
    index = (NOTEBOOKS / "ch01" / "index.md").read_text(encoding="utf-8")
    assert index.startswith("# 들어가며\n")


@pytest.mark.parametrize("name", CH01)
def test_committed_clean_with_goals_and_broker_check_first(name):
    cells = _cells(name)
    assert _src(cells[0]).startswith("# ") and "**학습 목표**" in _src(cells[0])
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)
    assert "check_broker(" in _src(code[0])


@pytest.mark.parametrize("name", CH01)
def test_ends_with_an_exercise_checked_against_the_broker(name):
    cells = _cells(name)
    exercise = max(i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and "## 직접 해보기" in _src(c))
    after = cells[exercise + 1:]
    assert after and all(c["cell_type"] == "code" for c in after)


@pytest.mark.parametrize("name", CH01)
def test_waits_with_deadlines_never_fixed_sleeps(name):
    code = "\n".join(_src(c) for c in _cells(name) if c["cell_type"] == "code")
    assert "time.sleep" not in code and "sleep(" not in code


def test_every_kill_is_followed_by_a_restart_in_the_same_notebook():
    cells = [_src(c) for c in _cells("02_pipeline.ipynb") if c["cell_type"] == "code"]
    # the single broker: killed and restarted in one cell, the restart in a finally block
    [kill_cell] = [c for c in cells if 'runtime.kill("kafka")' in c]
    assert 'runtime.restart("kafka")' in kill_cell.split("finally:", 1)[1]
    # the cluster node: killed in one cell (restarted there if the wait fails), restarted in a later one
    kill_at = next(i for i, c in enumerate(cells) if "runtime.kill(VICTIM)" in c)
    assert "runtime.restart(VICTIM)" in cells[kill_at]
    assert any("runtime.restart(VICTIM)" in c for c in cells[kill_at + 1:])
    # and the cluster section starts by (re)starting every node, so a run that stopped half-way heals
    assert any("runtime.start(settings.CLUSTER)" in c for c in cells[:kill_at])


# ---------------------------------------------------------------- 1.1 카프카의 탄생

nb_birth = notebook_fixture("ch01/01_birth.ipynb")


SOURCES = ["web-server", "payment-api", "mobile-app"]
TARGETS = ["search", "hadoop", "monitoring", "recommend"]


def test_birth_counts_point_to_point_links_and_hub_clients(nb_birth):
    assert nb_birth.ref("p2p_links") == len(SOURCES) * len(TARGETS) == 12
    assert nb_birth.ref("len(paths)") == 12
    assert nb_birth.ref("hub_clients") == len(SOURCES) + len(TARGETS) == 7


def test_birth_broker_holds_one_topic_per_source_written_by_that_source(nb_birth):
    n = nb_birth.ref("EVENTS_PER_SOURCE")
    for source in SOURCES:
        records = read_all(f"birth-{source}")
        assert len(records) == n
        assert {dict(r.headers)["source"].decode() for r in records} == {source}
        assert [r.value.decode() for r in records] == [f"{source} 이벤트 #{i}" for i in range(n)]


def test_birth_every_target_group_read_every_source_to_the_end(nb_birth):
    ends = {(f"birth-{s}", 0): end_offsets(f"birth-{s}")[0] for s in SOURCES}
    paths = set()
    for target in TARGETS + ["audit"]:
        committed = _committed(f"birth-{target}")
        assert committed == ends, target
        paths |= {(topic, target) for (topic, _), off in committed.items() if off == ends[(topic, 0)] > 0}
    # from the broker alone: S x T data paths among the four original targets, S + T clients
    original = {p for p in paths if p[1] in TARGETS}
    assert len(original) == len(SOURCES) * len(TARGETS)
    writers = {dict(r.headers)["source"].decode() for s in SOURCES for r in read_all(f"birth-{s}")}
    assert len(writers) + len(TARGETS) == nb_birth.ref("hub_clients")


def test_birth_matrix_and_the_new_target_without_new_sends(nb_birth):
    matrix = nb_birth.value("{t: dict(c) for t, c in matrix.items()}")
    assert matrix == {t: {s: 5 for s in SOURCES} for t in TARGETS}
    assert nb_birth.ref("len(audit_records)") == 15
    assert nb_birth.ref("ends_before") == nb_birth.ref("ends_after")


def _birth_send(n, headers=True):
    with producer(client_id="iot-sensor") as p:
        for i in range(n):
            hs = [("source", b"iot-sensor")] if headers else []
            p.send("birth-iot-sensor", f"iot-sensor 이벤트 #{i}".encode(), headers=hs)
        p.flush()


def _birth_search_reads_iot():
    c = KafkaConsumer("birth-iot-sensor", bootstrap_servers=settings.BOOTSTRAP, group_id="birth-search",
                      auto_offset_reset="earliest", enable_auto_commit=False)
    try:
        got = []
        def enough():
            groups.unstick(c)
            got.extend(r for rs in c.poll(timeout_ms=1000).values() for r in rs)
            return len(got) >= 3
        wait_until(enough, 120, "iot-sensor 레코드")
        c.commit()
    finally:
        c.close()


def test_birth_exercise_checker_says_wrong_then_right_from_the_broker(nb_birth):
    tb = nb_birth
    # the executed notebook: nothing done yet, and the checker said so
    assert "아직이다" in "".join(o.get("text", "") for o in tb.cells[-1].outputs)
    assert tb.value("check_exercise()") is False
    # records without the source header, read and committed: still wrong (the broker cannot tell who sent them)
    fresh_topic("birth-iot-sensor")
    _birth_send(3, headers=False)
    _birth_search_reads_iot()
    assert _committed("birth-search")[("birth-iot-sensor", 0)] == 3
    assert tb.value("check_exercise()") is False
    # done as asked: right, and the connection counts come from the broker (4 sources, 5 groups)
    fresh_topic("birth-iot-sensor")
    _birth_send(3)
    assert tb.value("check_exercise()") is False          # not read by birth-search yet
    _birth_search_reads_iot()
    assert [dict(r.headers)["source"] for r in read_all("birth-iot-sensor")] == [b"iot-sensor"] * 3
    assert tb.value("check_exercise()") is True


# ---------------------------------------------------------------- 1.2 파이프라인에서의 역할

nb_pipeline = notebook_fixture("ch01/02_pipeline.ipynb", "cluster")


def test_pipeline_batched_sends_are_at_least_5x_the_synchronous_rate(nb_pipeline):
    tb = nb_pipeline
    assert tb.ref("speedup") >= 5
    assert tb.ref("batch_rate") / tb.ref("sync_rate") == pytest.approx(tb.ref("speedup"))
    assert tb.ref("sync_metrics")["records-per-request-avg"] == 1.0
    # one 100-byte record per batch: 61-byte batch header + the record's own fields, about 170 bytes
    assert 160 <= tb.ref("sync_metrics")["batch-size-avg"] <= 180
    # producer defaults of kafka-python 3.0, as the 4.3 box says (acks=all is -1)
    assert tb.ref("defaults") == {"acks": -1, "enable_idempotence": True}
    assert tb.ref("batched_metrics")["records-per-request-avg"] > 10
    assert tb.ref("batched_metrics")["batch-size-avg"] > 10 * tb.ref("sync_metrics")["batch-size-avg"]
    assert tb.ref("len(failed)") == 0
    assert end_offsets("ch01-throughput") == {0: tb.ref("N_SYNC") + tb.ref("N_BATCH")}
    per_poll = tb.ref("per_poll")
    assert sum(per_poll) == 20_500 and max(per_poll) > 1


def test_pipeline_n_consumers_hold_distinct_partitions_covering_all(nb_pipeline):
    tb = nb_pipeline
    assignments, broker_view = tb.ref("assignments"), tb.ref("broker_view")
    assert sorted(assignments) == ["worker-0", "worker-1", "worker-2"]
    assert assignments == broker_view
    held = [p for parts in assignments.values() for p in parts]
    assert sorted(held) == [0, 1, 2] and all(len(parts) == 1 for parts in assignments.values())
    got = tb.value("{n: sorted({r.partition for r in rs}) for n, rs in work.items()}")
    counts = tb.value("{n: len(rs) for n, rs in work.items()}")
    assert got == assignments and counts == {n: 10 for n in assignments}
    assert tb.ref("errors") == []
    # the group committed every partition to its end on the broker
    ends = end_offsets("ch01-parallel")
    assert ends == {0: 10, 1: 10, 2: 10}
    assert _committed("ch01-workers") == {("ch01-parallel", p): off for p, off in ends.items()}


def test_pipeline_group_widget_shows_scaling_to_an_idle_consumer(nb_pipeline):
    tb = nb_pipeline
    scaling = {int(n): owners for n, owners in tb.value("scaling").items()}
    assert sorted(scaling) == [1, 2, 3, 4]
    for n, owners in scaling.items():
        held = sorted(p for parts in owners.values() for p in parts)
        assert len(owners) == n and held == [0, 1, 2], n       # every partition exactly once
    assert sorted(map(len, scaling[3].values())) == [1, 1, 1]
    assert sorted(map(len, scaling[4].values())) == [0, 1, 1, 1]
    assert tb.value("scale_view.closed")
    with admin_client() as admin:                              # the widget's consumers left the group
        assert admin.describe_groups(["ch01-scale"])["ch01-scale"]["members"] == []


def test_pipeline_every_acknowledged_record_survives_the_hard_kill(nb_pipeline):
    tb = nb_pipeline
    acked = [tuple(a) for a in tb.ref("acked")]
    assert len(acked) == tb.ref("N_DUR") == 100
    assert "연결할 수 없습니다" in tb.ref("down_message")      # the broker really was down
    on_broker = [(r.offset, r.value.decode()) for r in read_all("ch01-durable")]
    assert on_broker == acked == [(i, f"주문-{i:03d}") for i in range(100)]
    assert tb.ref("lost") == []
    assert all(runtime.status(settings.SINGLE).values())


def test_pipeline_restart_log_shows_recovery_without_truncation(nb_pipeline):
    """The lines the notebook explains are in the broker's own log after the restart: the unclean-dirs
    notice, the recovery progress line for the partition, the log end (100), and no truncation WARN."""
    tb = nb_pipeline
    lines = tb.ref("partition_lines")
    assert any("Recovering unflushed segment 0. 0 recovered for ch01-durable-0." in line for line in lines)
    assert any("Loading producer state till offset 100 " in line for line in lines)
    assert tb.ref("truncated") == []
    assert tb.ref("log.matching('unclean log dirs')")
    if runtime.kind() == "local":                                   # the same lines are in server.log on disk
        text = runtime.node("kafka").log_file.read_text(errors="replace")
        assert all(line in text for line in lines)
        assert "Corruption found in segment" not in "".join(l for l in text.splitlines() if "ch01-durable-0" in l)


def test_pipeline_segment_files_are_listed_and_hold_the_records(nb_pipeline):
    tb = nb_pipeline
    files = runtime.segment_files("ch01-durable", 0)
    suffixes = {f["name"].rsplit(".", 1)[1] for f in files}
    assert {"log", "index", "timeindex"} <= suffixes
    assert {f["name"] for f in tb.ref("segments_after")} == {f["name"] for f in files}
    log = next(f["name"] for f in files if f["name"].endswith(".log"))
    raw = runtime.segment_bytes("ch01-durable", 0, log)
    assert all(f"주문-{i:03d}".encode() in raw for i in (0, 42, 99))


def test_pipeline_replicated_topic_serves_through_a_node_outage(nb_pipeline, cluster):
    tb = nb_pipeline
    victim = tb.ref("VICTIM_ID")
    before, during, after = tb.ref("isr_before"), tb.ref("isr_during"), tb.ref("isr_after")
    assert [len(p["isr"]) for p in before] == [3, 3, 3]
    assert [len(p["isr"]) for p in during] == [2, 2, 2]
    assert all(victim not in p["isr"] and p["leader"] != victim for p in during)
    assert [len(p["isr"]) for p in after] == [3, 3, 3]
    # read back from the cluster now: whole again, and every record written before and during the outage is there
    assert all(runtime.status(settings.CLUSTER).values())
    now = describe("ch01-ha", cluster)
    assert [sorted(p["isr"]) for p in now] == [[1, 2, 3]] * 3
    written = tb.ref("ha_written")
    assert len(written) == 60 and sum(v.startswith("장애중-") for v in written) == 30
    assert sorted(r.value.decode() for r in read_all("ch01-ha", cluster)) == sorted(written)


def _preferred(parts):
    return all(p["leader"] == p["replicas"][0] and len(p["isr"]) == 3 for p in parts)


def test_pipeline_exercise_checker_judges_preferred_leaders_from_the_cluster(nb_pipeline, cluster):
    tb = nb_pipeline
    # what the checker says is what the cluster holds now
    wait_until(lambda: tb.value("check_exercise()") is _preferred(describe("ch01-ha", cluster)), 60,
               "checker agrees with the cluster")
    # a wrong state made on purpose: reorder partition 0's replicas so that its leader is no longer first
    p0 = describe("ch01-ha", cluster)[0]
    new_order = [r for r in p0["replicas"] if r != p0["leader"]] + [p0["leader"]]
    with admin_client(cluster) as admin:
        admin.alter_partition_reassignments({TopicPartition("ch01-ha", 0): new_order})
    wait_until(lambda: describe("ch01-ha", cluster)[0]["replicas"] == new_order, 120, "복제본 순서 바뀜")
    assert describe("ch01-ha", cluster)[0]["leader"] != new_order[0]
    assert tb.value("check_exercise()") is False
    # the exercise's answer: a preferred leader election, then the checker says right
    with admin_client(cluster) as admin:
        admin.elect_leaders(0, ["ch01-ha"])
    wait_until(lambda: _preferred(describe("ch01-ha", cluster)), 120, "선호 리더")
    # under load a follower can drop out of the ISR for a moment: the checker must come round to right
    wait_until(lambda: tb.value("check_exercise()") is True, 120, "checker says right")
    assert _preferred(describe("ch01-ha", cluster))


def test_group_wait_treats_a_member_without_assignment_as_not_yet(broker):
    """Mid-rebalance, describe_groups lists a member that joined but has no assignment with an empty
    member_assignment (not a dict). The waits must treat it as "not settled" and time out cleanly."""
    topic, group = "ch01-midrebalance", "ch01-midrebalance"
    fresh_topic(topic, partitions=2)
    groups.delete_group(group)
    conf = dict(bootstrap_servers=settings.BOOTSTRAP, group_id=group, enable_auto_commit=False,
                session_timeout_ms=30_000)
    a = KafkaConsumer(topic, client_id="a", **conf)
    b = KafkaConsumer(topic, client_id="b", **conf)
    try:
        def a_holds_both():
            groups.unstick(a)
            a.poll(timeout_ms=1000)
            return len(a.assignment()) == 2 and groups.describe(group)["group_state"] == "Stable"
        wait_until(a_holds_both, 120, "a 안정")
        b.poll(timeout_ms=3000)            # b joins; a does not poll, so the rebalance waits for a
        d = wait_until(lambda: (lambda d: d if d["group_state"] != "Stable" and len(d["members"]) == 2 else None)(
            groups.describe(group)), 60, "리밸런스 중")
        raw = {m["client_id"]: m["member_assignment"] for m in d["members"]}
        assert not isinstance(raw["b"], dict)                       # what used to raise TypeError
        assert groups.assigned_partitions(d["members"][[m["client_id"] for m in d["members"]].index("b")]) is None
        with pytest.raises(WaitTimeout):
            groups.wait_settled(group, topic, 2, timeout=3, progress=None)
    finally:
        a.close()
        b.close()


# ---------------------------------------------------------------- 1.3 데이터 레이크

nb_data_lake = notebook_fixture("ch01/03_data_lake.ipynb")


def _events():
    return [json.loads(r.value) for r in read_all("ch01-pageviews")]


def test_data_lake_replay_equals_the_speed_view_recomputed_here(nb_data_lake):
    tb = nb_data_lake
    events = _events()
    assert len(events) == 60
    views = dict(Counter(e["page"] for e in events if e["action"] == "view"))
    assert tb.ref("speed_view") == views
    assert tb.ref("batch_view") == views
    assert tb.ref("serving_layer") == views


def test_data_lake_new_logic_replayed_over_all_history(nb_data_lake):
    users = {}
    for e in _events():
        users.setdefault(e["page"], set()).add(e["user"])
    assert nb_data_lake.ref("unique_users") == {p: len(u) for p, u in users.items()}


def test_data_lake_groups_committed_to_the_end_and_topic_keeps_everything(nb_data_lake):
    ends = {("ch01-pageviews", p): off for p, off in end_offsets("ch01-pageviews").items()}
    for group in ("ch01-speed", "ch01-replay", "ch01-replay-v2"):
        assert _committed(group) == ends, group
    with admin_client() as admin:
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "ch01-pageviews")])
    assert configs["topic"]["ch01-pageviews"]["retention.ms"]["value"] == "-1"


REPLAY_CLICKS = """
def apply_clicks(view, event):
    if event["action"] == {action!r}:
        view[event["page"]] = view.get(event["page"], 0) + 1
    return view

with admin_client() as admin:
    if "ch01-replay-clicks" in {{g["group_id"] for g in admin.list_groups()}}:
        admin.delete_groups(["ch01-replay-clicks"])
with consumer(TOPIC, group_id="ch01-replay-clicks", auto_offset_reset="earliest",
              enable_auto_commit=False) as replay:
    clicks_view = consume_to_end(replay, apply_clicks, {{}})
"""


def test_data_lake_exercise_checker_says_wrong_then_right(nb_data_lake):
    tb = nb_data_lake
    assert "아직이다" in "".join(o.get("text", "") for o in tb.cells[-1].outputs)
    assert tb.value("check_exercise()") is False
    clicks = dict(Counter(e["page"] for e in _events() if e["action"] == "click"))
    tb.inject(REPLAY_CLICKS.format(action="view"))            # the old rule by mistake: wrong numbers
    assert tb.value("clicks_view") != clicks
    assert tb.value("check_exercise()") is False
    tb.inject(REPLAY_CLICKS.format(action="click"))
    assert tb.value("clicks_view") == clicks
    assert _committed("ch01-replay-clicks") == {("ch01-pageviews", p): o for p, o in end_offsets("ch01-pageviews").items()}
    assert tb.value("check_exercise()") is True


# ---------------------------------------------------------------- 1.4 정리

nb_summary = notebook_fixture("ch01/04_summary.ipynb", "cluster")


def test_summary_checklist_all_ticked(nb_summary):
    checklist = nb_summary.ref("checklist")
    assert len(checklist) == 7
    assert all(checklist.values()), [k for k, v in checklist.items() if not v]


def test_summary_checks_hold_on_the_brokers(nb_summary, cluster):
    assert sum(end_offsets("ch01-summary").values()) == 2006
    assert sum(_committed("ch01-summary-a").values()) == 6
    assert sum(_committed("ch01-summary-c").values()) == 2006
    parts = describe("ch01-summary-ha", cluster)
    assert len(parts) == 6 and all(len(set(p["replicas"])) == 3 for p in parts)
    assert len({p["leader"] for p in parts[:3]}) == 3
    # item 7: group a stopped after item 1, so the 2,000 records of item 2 are its lag
    assert sum(end_offsets("ch01-summary").values()) - sum(_committed("ch01-summary-a").values()) == 2000
    assert "랙 2000" in "".join(o.get("text", "") for c in nb_summary.cells for o in c.get("outputs", []))


ORDER_SEND = """
with producer() as p:
    for i in {order}:
        p.send(ORDER_TOPIC, f"순서-{{i}}".encode(), partition=1).get(timeout=10)
got = [r.value.decode() for r in read_all(ORDER_TOPIC) if r.partition == 1]
check("순서 보장: 같은 파티션 안에서는 보낸 순서대로 읽힌다",
      got == [f"순서-{{i}}" for i in {order}], got)
"""


def test_summary_exercise_checker_tests_the_order_on_the_broker(nb_summary):
    tb = nb_summary
    assert "아직이다" in "".join(o.get("text", "") for o in tb.cells[-1].outputs)
    assert tb.value("check_exercise()") is False
    # sent out of order: the partition keeps the order of arrival, which is not 0..9
    tb.inject(ORDER_SEND.format(order=[1, 0, *range(2, 10)]))
    assert [r.value.decode() for r in read_all("ch01-summary-order") if r.partition == 1][:2] == ["순서-1", "순서-0"]
    assert tb.value("check_exercise()") is False
    # done as asked, on a fresh topic (the prepare cell again)
    tb.inject(_src(_cells("04_summary.ipynb")[-2]))
    assert end_offsets("ch01-summary-order") == {0: 0, 1: 0, 2: 0}
    tb.inject(ORDER_SEND.format(order=list(range(10))))
    assert [(r.offset, r.value.decode()) for r in read_all("ch01-summary-order")] == \
        [(i, f"순서-{i}") for i in range(10)]
    assert tb.value("check_exercise()") is True
