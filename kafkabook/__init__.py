"""Shared code of the Kafka interactive textbook: broker runtime, CLI runner, waiting, widgets, views."""
from .cli import kafka_sh
from .connection import admin_client, check_broker, consumer, producer
from .errors import BrokerUnavailable, InvalidInput, KafkaCliError
from .settings import BOOTSTRAP, KAFKA_VERSION, cluster_bootstrap
from .waiting import wait_until

__all__ = ["BOOTSTRAP", "KAFKA_VERSION", "BrokerUnavailable", "InvalidInput", "KafkaCliError",
           "admin_client", "check_broker", "cluster_bootstrap", "consumer", "kafka_sh", "producer",
           "wait_until"]
