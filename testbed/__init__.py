"""Test and benchmark harness: the controller and the target joined in one process.

Not part of the product. `controlplane/` must never import `softswitch/` (the
import-linter contracts in pyproject.toml), so the one place that uses both, the
in-process NIDS switch of `tests/` and `bench/`, lives here, and no product package
imports it.
"""
