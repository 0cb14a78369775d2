"""The P4Runtime controller: rules.yaml -> stats-stage entries, feedback decoding, counters.

Commands (python -m controlplane --help): install, check, watch, status.
Reference: docs/controller.md.
"""
