"""Ids and aliases exactly as p4c allocates them."""

from __future__ import annotations

import pytest
from p4info_golden import DATA, GOLDEN_PROGRAMS, golden_p4info

from softswitch.p4info import ids


def test_jenkins_one_at_a_time_known_values() -> None:
    assert ids.jenkins_one_at_a_time("") == 0
    assert ids.jenkins_one_at_a_time("a") == 0xCA2E9442
    # str and bytes hash the same UTF-8 bytes
    assert ids.jenkins_one_at_a_time("NoAction") == ids.jenkins_one_at_a_time(b"NoAction")


def test_noaction_id_is_the_one_in_every_v1model_p4info() -> None:
    assert ids.hashed_id(ids.ACTION, "NoAction") == 21257015


def test_tutorials_basic_ids() -> None:
    # p4lang/tutorials exercises/basic: basic.p4info.txt
    assert ids.hashed_id(ids.TABLE, "MyIngress.ipv4_lpm") == 37375156
    assert ids.hashed_id(ids.ACTION, "MyIngress.ipv4_forward") == 28792405
    assert ids.hashed_id(ids.ACTION, "MyIngress.drop") == 25652968


def test_other_resource_prefixes() -> None:
    # ids from p4c outputs: a direct meter, a value set, a controller header
    assert ids.hashed_id(ids.DIRECT_METER, "ingress.namedmeter") == 354402025
    assert ids.hashed_id(ids.VALUE_SET, "MyParser.pvs") == 56033750
    assert ids.hashed_id(ids.CONTROLLER_HEADER, "packet_in_header_t") == 81826293
    assert ids.hashed_id(ids.REGISTER, "ingress.flowlet_id") == 384519412


def _preambles(info):  # type: ignore[no-untyped-def]
    kinds = [
        (ids.TABLE, info.tables),
        (ids.ACTION, info.actions),
        (ids.COUNTER, info.counters),
        (ids.DIRECT_COUNTER, info.direct_counters),
        (ids.METER, info.meters),
        (ids.DIRECT_METER, info.direct_meters),
        (ids.REGISTER, info.registers),
        (ids.DIGEST, info.digests),
        (ids.VALUE_SET, info.value_sets),
    ]
    for prefix, msgs in kinds:
        for m in msgs:
            yield prefix, m.preamble


# Programs without @id annotations: every id there is computed from names alone.
HASHED_ONLY = [p for p in GOLDEN_PROGRAMS if "@id(" not in (DATA / p).read_text(encoding="utf-8")]


@pytest.mark.parametrize("program", HASHED_ONLY)
def test_every_id_and_alias_in_p4c_outputs(program: str) -> None:
    info = golden_p4info(program)
    table = ids.SymbolTable()
    pre = list(_preambles(info))
    for prefix, p in pre:
        table.add(prefix, p.name)
    table.compute_ids()
    assert pre
    for prefix, p in pre:
        assert table.get_id(prefix, p.name) == p.id, p.name
        assert table.get_alias(p.name) == p.alias, p.name


def _colliding_names() -> tuple[str, str]:
    seen: dict[int, str] = {}
    i = 0
    while True:
        name = f"c.t{i}"
        low = ids.jenkins_one_at_a_time(name) & 0xFFFFFF
        if low in seen:
            return seen[low], name
        seen[low] = name
        i += 1


def test_collisions_probe_linearly_in_sorted_name_order() -> None:
    a, b = sorted(_colliding_names())
    table = ids.SymbolTable()
    table.add(ids.TABLE, b)  # insertion order must not matter
    table.add(ids.TABLE, a)
    table.compute_ids()
    base = ids.hashed_id(ids.TABLE, a)
    assert ids.hashed_id(ids.TABLE, b) == base
    assert table.get_id(ids.TABLE, a) == base
    assert table.get_id(ids.TABLE, b) == base + 1


def test_explicit_ids_get_the_prefix_and_are_avoided() -> None:
    name = "MyIngress.drop"
    hashed = ids.hashed_id(ids.ACTION, name)
    table = ids.SymbolTable()
    table.add(ids.ACTION, "MyIngress.pinned", hashed & 0xFFFFFF)  # @id without prefix
    table.add(ids.ACTION, name)
    table.add(ids.TABLE, "MyIngress.t", (ids.TABLE << 24) | 7)  # @id with the right prefix
    table.compute_ids()
    assert table.get_id(ids.ACTION, "MyIngress.pinned") == hashed
    assert table.get_id(ids.ACTION, name) == hashed + 1
    assert table.get_id(ids.TABLE, "MyIngress.t") == (2 << 24) | 7


def test_explicit_id_with_wrong_prefix_is_refused() -> None:
    table = ids.SymbolTable()
    with pytest.raises(ids.IdError):
        table.add(ids.ACTION, "a", (ids.TABLE << 24) | 1)


def test_aliases_are_shortest_unique_suffixes() -> None:
    table = ids.SymbolTable()
    for name in ("ingress.on_miss", "egress.on_miss", "ingress.set_bd", "a.b.c", "d.b.c", "x.c"):
        table.add(ids.ACTION, name)
    table.compute_ids()
    assert table.get_alias("ingress.on_miss") == "ingress.on_miss"
    assert table.get_alias("ingress.set_bd") == "set_bd"
    assert table.get_alias("a.b.c") == "a.b.c"
    assert table.get_alias("x.c") == "x.c"


def test_field_ids_sequential_with_overrides() -> None:
    assert ids.allocate_field_ids([None, None, None]) == [1, 2, 3]
    # p4c: a field with @id still advances the counter; taken ids are skipped
    assert ids.allocate_field_ids([None, 1, None]) == [2, 1, 3]
    assert ids.allocate_field_ids([3, None, None]) == [3, 2, 4]
    with pytest.raises(ids.IdError):
        ids.allocate_field_ids([2, 2])
