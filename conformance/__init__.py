"""Differential conformance runner: p4c-style STF tests on the softswitch and on BMv2.

`python -m conformance run FILE.stf...` compiles each STF file's program with each
target's own compiler, drives the target over P4Runtime (entries, defaults, clone
sessions, multicast groups, counter reads) and through its ports, and compares the
output packets with the STF expectations and, with `--target both`, with each other.
docs/conformance.md describes the STF dialect, the targets and the report.
"""
