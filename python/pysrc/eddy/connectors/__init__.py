"""Connectors: where a dataflow's items come from and go to."""
