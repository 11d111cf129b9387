"""Topic names (3.2): Kafka's rules checked before a request is sent, and a naming convention.

The rules are the broker's own, from org.apache.kafka.common.internals.Topic (4.3.1):
legal characters [a-zA-Z0-9._-], at most 249 characters, not "." or "..", and no two
topics whose names differ only by '.' versus '_' (Topic.hasCollision, checked by the
controller in ReplicationControlManager.validateNewTopicNames).
"""
import re

from kafka import KafkaProducer

from .connection import admin_client
from .errors import InvalidInput
from .settings import BOOTSTRAP
from .waiting import wait_until

#: Topic.LEGAL_CHARS
LEGAL = re.compile(r"[a-zA-Z0-9._-]+")
#: Topic.MAX_NAME_LENGTH
MAX_LENGTH = 249
#: Topic.INTERNAL_TOPICS and Topic.CLUSTER_METADATA_TOPIC_NAME
INTERNAL = ("__consumer_offsets", "__transaction_state",
            "__share_group_state", "__cluster_metadata")
#: this book's convention: <env>.<team>.<dataset>.v<version>
CONVENTION = re.compile(
    r"(?P<env>dev|stg|prd)\.(?P<team>[a-z][a-z0-9-]*)"
    r"\.(?P<dataset>[a-z][a-z0-9-]*)\.v(?P<version>[1-9][0-9]*)")


def collision_key(name):
    """The name with '.' turned into '_' (Topic.unifyCollisionChars): equal keys collide."""
    return name.replace(".", "_")


def name_problems(name, existing=()):
    """Korean reasons why the broker would refuse `name` (or why this book does); [] if none.

    `existing` is the broker's topic list, used for the '.'/'_' collision check.
    """
    if not isinstance(name, str):
        return [f"토픽 이름은 문자열이어야 한다 (받은 값의 타입: {type(name).__name__})."]
    if not name:
        return ["토픽 이름이 비어 있다."]
    if name in (".", ".."):
        return [f"'{name}'은(는) 파일 시스템에서 현재·상위 폴더를 뜻하는 이름이라 토픽 이름으로 쓸 수 없다."]
    problems = []
    if len(name) > MAX_LENGTH:
        problems.append(f"이름이 {len(name)}자로 너무 길다 (최대 {MAX_LENGTH}자).")
    bad = list(dict.fromkeys(c for c in name if not LEGAL.fullmatch(c)))
    if bad:
        shown = ", ".join(repr(c) for c in bad[:5])
        problems.append(f"쓸 수 없는 문자 {shown}이(가) 있다. 영문자, 숫자, "
                        "마침표(.), 밑줄(_), 하이픈(-)만 쓸 수 있다.")
    if name in INTERNAL:
        problems.append(f"'{name}'은(는) 카프카가 쓰는 내부 토픽 이름이다.")
    elif name.startswith("__"):
        problems.append("밑줄 두 개(__)로 시작하는 이름은 카프카 내부 토픽의 관례다. "
                        "브로커는 막지 않지만 이 책은 쓰지 않는다.")
    twins = [t for t in existing if t != name and collision_key(t) == collision_key(name)]
    if twins:
        problems.append(f"이미 있는 토픽 '{twins[0]}'과 '.'/'_'만 달라 지표 이름이 겹친다 "
                        "(브로커도 거절한다).")
    return problems


def convention_problems(name):
    """Korean reasons why `name` does not follow <env>.<team>.<dataset>.v<version>; [] if it does."""
    if CONVENTION.fullmatch(name or ""):
        return []
    parts = (name or "").split(".")
    if len(parts) != 4:
        return [f"마침표로 나눈 칸이 {len(parts)}개다. <환경>.<팀>.<데이터셋>.v<버전> 네 칸이어야 한다."]
    env, team, dataset, version = parts
    problems = []
    if env not in ("dev", "stg", "prd"):
        problems.append(f"환경 칸 '{env}'은(는) dev, stg, prd 중 하나여야 한다.")
    for label, part in (("팀", team), ("데이터셋", dataset)):
        if not re.fullmatch(r"[a-z][a-z0-9-]*", part):
            problems.append(f"{label} 칸 '{part}'은(는) 영소문자로 시작하고 영소문자, "
                            "숫자, 하이픈만 써야 한다.")
    if not re.fullmatch(r"v[1-9][0-9]*", version):
        problems.append(f"버전 칸 '{version}'은(는) v1, v2처럼 써야 한다.")
    return problems


def check_topic_name(name, existing=(), convention=False):
    """Return `name`, or raise InvalidInput with every reason in Korean (nothing is sent)."""
    problems = name_problems(name, existing)
    if convention and not problems:
        problems = convention_problems(name)
    if problems:
        shown = name if not isinstance(name, str) or len(name) <= 40 else name[:37] + "..."
        raise InvalidInput(f"토픽 '{shown}'을(를) 만들지 않았다:\n- " + "\n- ".join(problems))
    return name


def create_checked(name, partitions=1, convention=True, bootstrap=BOOTSTRAP):
    """Check `name` against the rules (and the broker's topic list), then create it.

    Returns the partition count read back from the broker; bad input raises
    InvalidInput before any request, so nothing is created.
    """
    with admin_client(bootstrap) as admin:
        check_topic_name(name, admin.list_topics(), convention)
        admin.create_topics({name: {"num_partitions": partitions}},
                            wait_for_metadata=True)
        [meta] = admin.describe_topics([name])
    return len(meta["partitions"])


def ensure_internal_topics(bootstrap=BOOTSTRAP, timeout=60):
    """Make the broker create __consumer_offsets and __transaction_state if they are missing.

    Both are created by the broker itself on the first FindCoordinator request for a
    group (listing a group's offsets) and for a transactional id (init_transactions).
    Returns {name: partition count}.
    """
    wanted = ("__consumer_offsets", "__transaction_state")
    with admin_client(bootstrap) as admin:
        if "__consumer_offsets" not in admin.list_topics():
            wait_until(lambda: admin.list_group_offsets("kafkabook-ch03-probe") is not None,
                       timeout, "__consumer_offsets 생성")
        if "__transaction_state" not in admin.list_topics():
            p = KafkaProducer(bootstrap_servers=bootstrap,
                              transactional_id="kafkabook-ch03-probe")
            try:
                p.init_transactions()
            finally:
                p.close()
        wait_until(lambda: set(wanted) <= set(admin.list_topics()), timeout, "내부 토픽 생성")
        return {t["name"]: len(t["partitions"]) for t in admin.describe_topics(list(wanted))}
