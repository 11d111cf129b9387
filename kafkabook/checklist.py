"""The chapter-4 summary as a checklist: each item is judged from what the broker says, printed as
✔ or ✘ with the reason, and kept in `results` for the summary line (and the tests)."""
from kafka.admin import ConfigResource, ConfigResourceType

from .connection import admin_client
from .settings import BOOTSTRAP
from .topics import describe


class Checklist:
    """{item: True/False} of the items ticked so far."""

    def __init__(self):
        self.results = {}

    def tick(self, item, ok, why):
        """Record `item` as passed or failed and print it with the reason read from the broker."""
        self.results[item] = bool(ok)
        print(f"{'✔' if ok else '✘'} {item}: {why}")

    def summary(self):
        passed = sum(self.results.values())
        print(f"{passed}/{len(self.results)} 항목 통과")
        for item, ok in self.results.items():
            print(f"  {'✔' if ok else '✘'} {item}")
        return passed == len(self.results)


def topic_config(topic, key, bootstrap=BOOTSTRAP):
    """The value of one topic config as the broker reports it (str)."""
    with admin_client(bootstrap) as admin:
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    return described["topic"][topic][key]["value"]


def partition_count(topic, bootstrap=BOOTSTRAP):
    """Number of partitions of `topic` (0 if it does not exist)."""
    try:
        return len(describe(topic, bootstrap))
    except Exception:
        return 0


def min_isr_and_isr(topic, bootstrap=BOOTSTRAP):
    """(min.insync.replicas, smallest ISR size over the topic's partitions)."""
    return (int(topic_config(topic, "min.insync.replicas", bootstrap)),
            min(len(p["isr"]) for p in describe(topic, bootstrap)))
