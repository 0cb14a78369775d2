"""Labelled traffic scenarios from real programs in network namespaces (docs/scenarios.md)."""
