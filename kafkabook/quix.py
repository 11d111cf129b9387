"""Quix Streams (Python, on confluent-kafka/librdkafka) beside the book's Java Streams apps.

Importing this module imports quixstreams once with its import-time deprecation warnings
silenced, so a notebook's `from quixstreams import Application` prints nothing extra.
"""
import shutil
import warnings
import zlib

from . import settings
from .consumers import delete_group

with warnings.catch_warnings():          # authlib (a quixstreams dependency) adds an "always" filter
    try:                                 # for its own warnings when imported: import it first, then
        import authlib.deprecate  # noqa: F401   leave that filter behind with this block
    except ImportError:
        pass
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import quixstreams  # noqa: F401

QUIX_DIR = settings.STATE_DIR / "streams" / "quix"


def state_dir(group):
    """The Application's state_dir for `group`: .kafka/streams/quix/<group>."""
    return QUIX_DIR / group


def reset(group):
    """Start a Quix app from scratch: delete its consumer group (and offsets) and its state_dir."""
    delete_group(group)
    shutil.rmtree(state_dir(group), ignore_errors=True)
    return str(state_dir(group))


def murmur2_partition(key, partitions):
    """The Java client's (and kafka-python's) partition for a key: murmur2(key bytes) & 0x7fffffff % n."""
    from kafka.partitioner import murmur2
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def crc32_partition(key, partitions):
    """librdkafka's consistent_random partition for a non-empty key: crc32(key bytes) % n."""
    return zlib.crc32(key.encode()) % partitions
