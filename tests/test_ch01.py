"""Chapter 1 (들어가며): each notebook runs against the real broker (and the cluster profile for 1.2 and 1.4);
the tests read the results back from the brokers themselves and compare them with what the notebooks computed."""
import json
from collections import Counter

import pytest
from kafka.admin import ConfigResource, ConfigResourceType

from conftest import NOTEBOOKS, notebook_fixture
from kafkabook import runtime, settings
from kafkabook.connection import admin_client
from kafkabook.topics import describe, end_offsets, read_all

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


# ---------------------------------------------------------------- 1.2 파이프라인에서의 역할

nb_pipeline = notebook_fixture("ch01/02_pipeline.ipynb", "cluster")


def test_pipeline_batched_sends_are_at_least_5x_the_synchronous_rate(nb_pipeline):
    tb = nb_pipeline
    assert tb.ref("speedup") >= 5
    assert tb.ref("batch_rate") / tb.ref("sync_rate") == pytest.approx(tb.ref("speedup"))
    assert tb.ref("sync_metrics")["records-per-request-avg"] == 1.0
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
