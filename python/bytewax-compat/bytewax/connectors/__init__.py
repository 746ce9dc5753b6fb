"""``bytewax.connectors``."""
