"""Kafka, with Bytewax's classes (``bytewax.connectors.kafka``), on
eddy's Rust connectors (librdkafka): no ``confluent-kafka`` needed.

:class:`KafkaSource` reads topics partition by partition, spread over the
workers; offsets go into snapshots, so a resumed run reads on from them.
Each item is a :class:`KafkaSourceMessage` with ``bytes`` key and value.
:class:`KafkaSink` writes :class:`KafkaSinkMessage` items (``bytes`` or
``None`` key and value) to one topic; a key's messages go to the
partition Kafka's own clients pick for it (murmur2). After a resume, what
was written after the snapshot is written again (at-least-once).
"""

from dataclasses import dataclass, field
from typing import Dict, Generic, Iterable, List, Optional, Tuple, TypeVar, Union

K = TypeVar("K")
V = TypeVar("V")

OFFSET_BEGINNING = -2
"""Start at the oldest message the broker holds (``confluent_kafka``'s value)."""

OFFSET_END = -1
"""Start after the newest message (``confluent_kafka``'s value)."""


@dataclass(frozen=True)
class KafkaSourceMessage(Generic[K, V]):
    """A message read from Kafka."""

    key: K
    value: V
    topic: Optional[str] = field(default=None)
    headers: List[Tuple[str, bytes]] = field(default_factory=list)
    latency: Optional[float] = field(default=None)
    offset: Optional[int] = field(default=None)
    partition: Optional[int] = field(default=None)
    timestamp: Optional[Tuple[int, int]] = field(default=None)
    """``(1, ms since the Unix epoch)`` for a message with a timestamp."""

    def _with_key(self, key):
        return KafkaSourceMessage(key, self.value, self.topic, self.headers, self.latency, self.offset, self.partition, self.timestamp)

    def _with_value(self, value):
        return KafkaSourceMessage(self.key, value, self.topic, self.headers, self.latency, self.offset, self.partition, self.timestamp)

    def to_sink(self) -> "KafkaSinkMessage[K, V]":
        """The same key and value, to write."""
        return KafkaSinkMessage(self.key, self.value, headers=self.headers)


@dataclass(frozen=True)
class KafkaSinkMessage(Generic[K, V]):
    """A message to write to Kafka."""

    key: K
    value: V
    topic: Optional[str] = None
    headers: List[Tuple[str, bytes]] = field(default_factory=list)
    partition: Optional[int] = None
    timestamp: int = 0


def _message(key, value, topic, partition, offset, timestamp) -> KafkaSourceMessage:
    return KafkaSourceMessage(key, value, topic=topic, partition=partition, offset=offset, timestamp=timestamp)


def _brokers(brokers: Union[str, Iterable[str]]) -> List[str]:
    listed = [brokers] if isinstance(brokers, str) else list(brokers)
    out = [b.strip() for item in listed for b in item.split(",") if b.strip()]
    if not out:
        raise ValueError("brokers must name at least one HOST:PORT")
    return out


def _options(add_config: Optional[Dict[str, str]]) -> List[Tuple[str, str]]:
    return [(str(k), str(v)) for k, v in (add_config or {}).items()]


def create_topic(brokers: Union[str, Iterable[str]], topic: str, partitions: int = 1) -> bool:
    """Creates ``topic`` with ``partitions`` partitions (replication 1)
    unless the broker has it; ``True`` when it was made."""
    from eddy import _eddy

    return _eddy.create_topic(_brokers(brokers), topic, partitions)


class KafkaSource:
    """Reads ``topics`` from ``brokers``: from the oldest messages
    (``starting_offset=OFFSET_BEGINNING``, the default) or the newest
    (``OFFSET_END``); with ``tail=False`` each partition ends at the end it
    had when first opened (a bounded replay). ``add_config`` holds
    librdkafka settings (``security.protocol`` …). ``batch_size`` is
    Bytewax's; eddy reads in batches of its own."""

    def __init__(
        self,
        brokers: Union[str, Iterable[str]],
        topics: Union[str, Iterable[str]],
        tail: bool = True,
        starting_offset: int = OFFSET_BEGINNING,
        add_config: Optional[Dict[str, str]] = None,
        batch_size: int = 1000,
        raise_on_errors: bool = True,
    ) -> None:
        self.brokers = _brokers(brokers)
        self.topics = [topics] if isinstance(topics, str) else list(topics)
        if not self.topics:
            raise ValueError("topics must name at least one topic")
        if starting_offset not in (OFFSET_BEGINNING, OFFSET_END):
            raise ValueError("starting_offset must be OFFSET_BEGINNING or OFFSET_END")
        if not raise_on_errors:
            raise NotImplementedError("eddy stops on a Kafka error (raise_on_errors=False is not supported)")
        self.tail = bool(tail)
        self.starting_offset = starting_offset
        self.options = _options(add_config)

    def _args(self) -> list:
        return [self.brokers, self.topics, self.tail, self.starting_offset, self.options, _message]


class KafkaSink:
    """Writes :class:`KafkaSinkMessage` items to ``topic`` on ``brokers``
    (``add_config``: librdkafka settings). The topic must exist."""

    def __init__(
        self,
        brokers: Union[str, Iterable[str]],
        topic: Optional[str],
        add_config: Optional[Dict[str, str]] = None,
    ) -> None:
        if not topic:
            raise NotImplementedError("eddy's KafkaSink writes to one topic: name it")
        self.brokers = _brokers(brokers)
        self.topic = topic
        self.options = _options(add_config)

    def _args(self) -> list:
        return [self.brokers, self.topic, self.options]


__all__ = [
    "OFFSET_BEGINNING",
    "OFFSET_END",
    "KafkaSourceMessage",
    "KafkaSinkMessage",
    "KafkaSource",
    "KafkaSink",
    "create_topic",
]
