"""Chapter 4, 4.3.3 (컨슈머 배포 프로세스) and 4.5 (정리). Each notebook runs twice in a row against the
single broker; the tests read groups, offsets, topics and the group tool's output back themselves.
"""
from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from conftest import notebook_fixture
from kafkabook import kafka_sh
from kafkabook.connection import admin_client
from kafkabook.consumers import committed
from kafkabook.topics import end_offsets, read_all


def _judge(tb, code=None):
    """Run `code` (the reader's answer) in the notebook's kernel, then the checker cell (the last) again."""
    if code:
        tb.inject(code, pop=True)
    tb.execute_cell(len(tb.cells) - 1)
    return tb.value("verdict")


def _cell_index(tb, text):
    return next(i for i, c in enumerate(tb.cells) if c.cell_type == "code" and text in c.source)


# ---------------------------------------------------------------- 4.3.3 컨슈머 배포 프로세스

nb_deploy = notebook_fixture("ch04/03_3_deployment.ipynb")


def test_eager_rolling_gives_up_every_partition_cooperative_only_the_moved_ones(nb_deploy):
    tb = nb_deploy
    eager = tb.value("sum(deploy.revocations(eager_events).values())")
    coop = tb.value("sum(deploy.revocations(coop_events).values())")
    # eager: every member gives up all it holds in each of the six rebalances (>= 6 partitions per
    # rolling step); cooperative: only partitions that move to another member
    assert eager >= 3 * 6, eager
    assert coop < eager, (coop, eager)
    # three rolling steps measured for each; stop-the-world stops every partition when all restart
    steps = tb.value("steps")
    assert [len(steps[k]) for k in ("eager 롤링", "협력적 롤링")] == [3, 3], steps
    assert steps["stop-the-world"][-1][1] == list(range(6)), steps["stop-the-world"]


def test_rolling_per_partition_unconsumed_times_are_measured_in_one_run(nb_deploy):
    results = nb_deploy.value("results")
    assert set(results) == {"eager 롤링", "협력적 롤링", "stop-the-world"}
    for label, per in results.items():
        assert sorted(int(p) for p in per) == list(range(6)), label
    # stop-the-world stops every partition for at least the time new JVMs take to start and join
    assert all(v >= 1.0 for v in results["stop-the-world"].values()), results["stop-the-world"]
    # every group measured is gone from the broker's members: the JVMs were stopped
    with admin_client() as admin:
        for g in ("deploy-eager", "deploy-coop", "deploy-stw"):
            assert not admin.describe_groups([g])[g]["members"], g


def test_blue_green_has_no_gap_and_no_duplicate(nb_deploy):
    tb = nb_deploy
    check = tb.value("bg_check")
    assert sorted(int(p) for p in check) == list(range(6))
    for p, (missing, dup) in check.items():
        assert missing == [] and dup == [], (p, missing[:5], dup[:5])
    # read back: green committed up to the end; blue had stopped in the middle
    ends = end_offsets("deploy-bg")
    assert committed("deploy-green", "deploy-bg") == ends
    blue = committed("deploy-blue", "deploy-bg")
    assert all(0 < blue[p] < ends[p] for p in ends), (blue, ends)
    # green processed exactly the offsets from blue's commit to the end, record by record
    seen = sorted(tb.value("green_seen"))
    assert seen == sorted([p, o] for p in ends for o in range(blue[p], ends[p]))


def test_canary_took_a_share_of_partitions_and_nothing_was_lost(nb_deploy):
    tb = nb_deploy
    share = tb.value("canary_share")
    assert share and len(share) < 6, share
    counts = tb.value("dict(Counter(m for _, m, *_ in app.records))")
    assert counts.get("v2-canary", 0) > 0, counts
    check = tb.value("canary_check")
    assert all(missing == [] for missing, _ in check.values())
    assert committed("deploy-canary", "deploy-canary") == end_offsets("deploy-canary")


def test_kip848_group_is_a_consumer_group_and_the_first_member_kept_some_partitions(nb_deploy):
    tb = nb_deploy
    lines = tb.value("listing_lines")
    row = next(l for l in lines if l.split()[0] == "deploy-848")
    assert row.split()[1] == "Consumer", row
    assert any(l.split()[0] == "deploy-eager" and l.split()[1] == "Classic" for l in lines)
    # the broker still knows the group as a consumer-protocol group after its members left
    out = kafka_sh("kafka-consumer-groups.sh --bootstrap-server localhost:9092 --list --type")
    assert any(l.split()[:2] == ["deploy-848", "Consumer"] for l in out.lines), out.stdout
    revoked = tb.value("java1_revoked")
    assert 0 < len(revoked) < 6, revoked        # incremental: java-1 gave up only what moved


def test_deploy_exercise_checker_judges_from_the_broker(nb_deploy):
    tb = nb_deploy
    assert _judge(tb) == "답 없음"
    wrong = ("from kafkabook.connection import admin_client\n"
             "from kafka import TopicPartition\n"
             "from kafka.structs import OffsetAndMetadata\n"
             "with admin_client() as a:\n"
             "    a.alter_group_offsets('deploy-blue-again', {TopicPartition('deploy-bg', p): "
             "OffsetAndMetadata(1, '', -1) for p in range(6)})\n")
    assert _judge(tb, wrong) == "오답"
    green = committed("deploy-green", "deploy-bg")
    with admin_client() as admin:
        admin.alter_group_offsets("deploy-blue-again", {
            TopicPartition("deploy-bg", p): OffsetAndMetadata(o, "", -1) for p, o in green.items()})
    assert _judge(tb) == "정답"


# ---------------------------------------------------------------- 4.5 정리

nb_summary = notebook_fixture("ch04/05_summary.ipynb")


def test_every_checklist_item_passes_on_the_broker(nb_summary):
    tb = nb_summary
    results = tb.value("checks.results")
    assert len(results) == 7
    assert all(results.values()), results
    assert tb.value("all_passed") is True
    # what the items claim, read back here
    assert committed("summary-app", "summary-orders") == end_offsets("summary-orders")
    assert sorted(r.value for r in read_all("summary-txn")) == [b"aborted-1", b"committed-1"]


def test_a_broken_item_shows_a_cross(nb_summary):
    tb = nb_summary
    cell = _cell_index(tb, "partition_count(DLT)")
    tb.inject("DLT = 'summary-orders-short-dlt'\nfresh_topic(DLT, partitions=1)", pop=True)
    out = tb.execute_cell(cell)
    text = "".join(o.get("text", "") for o in out["outputs"])
    assert "✘ 데드 레터 토픽의 파티션 수" in text, text
    assert tb.value("checks.results['데드 레터 토픽의 파티션 수']") is False
    tb.inject("DLT = 'summary-orders-dlt'", pop=True)
    tb.execute_cell(cell)
    assert tb.value("checks.results['데드 레터 토픽의 파티션 수']") is True


def test_summary_exercise_checker_judges_from_the_broker(nb_summary):
    tb = nb_summary
    assert _judge(tb) == "답 없음"
    grow = ("from kafkabook.connection import admin_client\n"
            "with admin_client() as a:\n"
            "    a.create_partitions({{'summary-payments-dlt': {}}})\n")
    assert _judge(tb, grow.format(2)) == "오답"      # still fewer than the source's 4
    assert _judge(tb, grow.format(4)) == "정답"
    assert [r.value for r in read_all("summary-payments-dlt")] == [b"failed-payment-1"]
