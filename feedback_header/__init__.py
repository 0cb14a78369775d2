"""The feedback header: the switch's tagged reports to the monitor.

- `spec`: the wire format as data (the one place to edit).
- `generate`: writes records.py, the P4 include, the Wireshark dissector and the spec page.
- `records`: generated record dataclasses and enums.
- `codec`: pure-Python decode/encode/strip/insert and JSON.
- `scapy_layer`: Scapy layer on the same layout.
- `golden_vectors`: the shared golden frames (`golden/vectors.json`).

Spec page: docs/feedback-header.md.
"""
