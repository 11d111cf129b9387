"""Consumer groups in notebooks: members on threads, and waiting until the broker reports a settled group.

Why the waits look the way they do (kafka-python 3.0.12 against Kafka 4.3's classic group protocol):

* While a group rebalances, DescribeGroups lists a member that joined but has no assignment yet (and
  every member, after a rebalance interrupted CompletingRebalance) with empty assignment bytes
  (ClassicGroupMember.EMPTY_ASSIGNMENT); kafka-python decodes only non-empty ones, so such a member's
  ``member_assignment`` is ``''`` instead of a dict. `assigned_partitions` returns None for it
  ("not yet"), never raises.
* kafka-python runs JoinGroup/SyncGroup as a task on the client's I/O thread, but it picks the result
  up only inside ``poll()``. If the task finishes after one ``poll()`` gave up and before the next
  one looks (``join_group_async``: ``if self._join_task is None or self._join_task.is_done`` starts
  a new join), the result is dropped and the member joins again. When that member is the group
  leader, the coordinator starts a new rebalance ("Leader ... re-joining group during Stable" in
  the broker log), and the other members notice it only at their next heartbeat. Short polls
  (100 ms) and a CPU-starved process make this gap a large share of the time, so a group can keep
  rebalancing for a long time. The book's members therefore poll with a 1 s timeout and heartbeat
  every second, and `wait_settled` has a generous deadline and shows progress.
* Worse, when a rejoin was started by a metadata change (the leader's first assignment was made before
  it knew the topic's partitions, so it rejoins about 100 ms later), the finished task also makes
  ``need_rejoin()`` false: the next ``poll()`` neither joins again nor applies the result. The member
  stays REBALANCING with heartbeats off and no partitions; the coordinator removes it when its
  session times out ("removing member ... on heartbeat expiration") and it never comes back. A
  three-member group then never matches what its members think they hold. `unstick` finds that state
  between two polls and asks the member to join again.
"""
import threading
import time

from kafka.structs import MemberState

from .connection import admin_client
from .settings import BOOTSTRAP
from .waiting import wait_until
from .waitclock import clocked


def unstick(consumer):
    """Between two ``poll()`` calls on the consumer's own thread: if kafka-python 3.0.12 has lost a
    finished rejoin (member REBALANCING, join task done, nothing asks to rejoin), ask it to join
    again so that the next ``poll()`` does. Returns True if it did."""
    coordinator = getattr(consumer, "_coordinator", None)
    if coordinator is None or coordinator.group_id is None:
        return False
    task = getattr(coordinator, "_join_task", None)
    stuck = (coordinator.state == MemberState.REBALANCING and task is not None and task.is_done
             and not coordinator.need_rejoin())
    if stuck:
        coordinator.request_rejoin()
    return stuck


def assigned_partitions(member, topic=None):
    """Sorted partitions (of `topic`, or all) in a describe_groups member's assignment, or None while
    the broker has no assignment for the member yet (mid-rebalance: empty bytes, not decoded)."""
    assignment = member.get("member_assignment")
    if not isinstance(assignment, dict):
        return None
    return sorted(p for a in assignment.get("assigned_partitions", [])
                  if topic is None or a["topic"] == topic for p in a["partitions"])


def describe(group, bootstrap=BOOTSTRAP, admin=None):
    """The coordinator's description of `group` (state, members ...)."""
    if admin is None:
        with admin_client(bootstrap) as admin:
            return admin.describe_groups([group])[group]
    return admin.describe_groups([group])[group]


@clocked("wait", ("group", 0))
def delete_group(group, bootstrap=BOOTSTRAP, timeout=60):
    """Delete `group` (its committed offsets) if it exists. A member left by a crashed run keeps the
    group alive until its session times out, so this waits until the deletion is accepted."""
    with admin_client(bootstrap) as admin:
        def gone():
            if group not in {g["group_id"] for g in admin.list_groups()}:
                return True
            return admin.delete_groups([group])[group] == "OK"
        wait_until(gone, timeout, f"그룹 {group} 삭제", interval=0.5)


def _settled(d, topic, partitions, members):
    """{client_id: partitions} if `d` shows a Stable group in which every partition is held exactly
    once and, if `members` ({name: partitions} as each member sees itself) is given, all agree."""
    if d["group_state"] != "Stable" or not d["members"]:
        return None
    view = {m["client_id"]: assigned_partitions(m, topic) for m in d["members"]}
    if any(parts is None for parts in view.values()):
        return None
    if sorted(p for parts in view.values() for p in parts) != list(range(partitions)):
        return None
    if members is not None and dict(members) != view:
        return None
    return view


@clocked("wait", ("group", 0))
def wait_settled(group, topic, partitions, members=None, bootstrap=BOOTSTRAP, timeout=120,
                 progress=print):
    """Wait until the coordinator reports `group` Stable with all `partitions` of `topic` assigned
    (and, if `members` {name: partitions} is given, each member knowing the same). Prints each new
    (state, member count) while waiting. Returns (description, {client_id: partitions})."""
    start, last = time.monotonic(), [None]
    with admin_client(bootstrap) as admin:
        def settled():
            d = admin.describe_groups([group])[group]
            view = _settled(d, topic, partitions, members)
            now = (d["group_state"], len(d["members"]))
            if progress and view is None and now != last[0]:
                progress(f"  {time.monotonic() - start:5.1f}초: 그룹 {group} {now[0]}, 멤버 {now[1]}명")
                last[0] = now
            return (d, view) if view is not None else None
        return wait_until(settled, timeout, f"그룹 {group} 안정화", interval=0.5)


class Threads:
    """Functions running on threads of their own, stopped together: `fn(name, stop)` per name.

    Each function loops until the `stop` event is set. An exception in one is kept in `.errors`.
    """

    def __init__(self, fn, names):
        self.stop_event = threading.Event()
        self.errors = []
        self.threads = [threading.Thread(target=self._run, args=(fn, name), name=f"kafkabook-{name}",
                                         daemon=True) for name in names]
        for t in self.threads:
            t.start()

    def _run(self, fn, name):
        try:
            fn(name, self.stop_event)
        except Exception as e:
            self.errors.append(e)

    def stop(self, timeout=60):
        """Set the stop event and wait for every thread to finish; returns the errors."""
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout)
        return self.errors

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        errors = self.stop()
        if errors and exc_type is None:
            raise errors[0]


def on_threads(fn, names):
    """Start `fn(name, stop)` on one thread per name; returns a `Threads` handle (`.stop()`)."""
    return Threads(fn, names)
