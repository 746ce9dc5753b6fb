"""``bytewax.connectors.kafka``: KafkaSource and KafkaSink on Eddy's Rust
connectors."""

from eddy.connectors.kafka import *  # noqa: F401,F403
from eddy.connectors.kafka import __all__  # noqa: F401
