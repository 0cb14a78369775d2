"""P4Runtime ids and aliases allocated exactly as p4c allocates them.

p4c (control-plane/p4RuntimeSymbolTable.cpp) gives every control-plane object
of a resource type an id ``(prefix << 24) | (jenkins(name) & 0xffffff)``,
where ``prefix`` comes from the ``P4Ids`` enum of p4info.proto. Names without
an ``@id`` are hashed in sorted (byte) order and a collision moves the id to
the next free hash value (linear probing), so the sorted order matters.
Aliases are the shortest dot-separated suffix that no other symbol of any
type shares. Match fields, action parameters and packet-IO metadata get small
sequential ids with ``@id`` overrides (p4c's FieldIdAllocator).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from p4.config.v1 import p4info_pb2

P4Ids = p4info_pb2.P4Ids

ACTION = P4Ids.ACTION
TABLE = P4Ids.TABLE
VALUE_SET = P4Ids.VALUE_SET
CONTROLLER_HEADER = P4Ids.CONTROLLER_HEADER
ACTION_PROFILE = P4Ids.ACTION_PROFILE
COUNTER = P4Ids.COUNTER
DIRECT_COUNTER = P4Ids.DIRECT_COUNTER
METER = P4Ids.METER
DIRECT_METER = P4Ids.DIRECT_METER
REGISTER = P4Ids.REGISTER
DIGEST = P4Ids.DIGEST

_MASK32 = 0xFFFFFFFF


class IdError(ValueError):
    """An ``@id`` that p4c would reject (wrong prefix, duplicate, zero)."""


def jenkins_one_at_a_time(key: str | bytes) -> int:
    """Bob Jenkins' one-at-a-time hash on the UTF-8 bytes of ``key`` (32-bit)."""
    data = key.encode() if isinstance(key, str) else key
    h = 0
    for byte in data:
        h = (h + byte) & _MASK32
        h = (h + (h << 10)) & _MASK32
        h ^= h >> 6
    h = (h + (h << 3)) & _MASK32
    h ^= h >> 11
    h = (h + (h << 15)) & _MASK32
    return h


def hashed_id(prefix: int, name: str) -> int:
    """The id p4c gives ``name`` when nothing collides with it."""
    return (prefix << 24) | (jenkins_one_at_a_time(name) & 0xFFFFFF)


class SymbolTable:
    """Collects (type, name, optional @id) and then assigns every id at once.

    Usage mirrors p4c: ``add`` every symbol, call ``compute_ids`` once, then
    ``get_id`` / ``get_alias``. Adding the same (type, name) twice is harmless.
    """

    def __init__(self) -> None:
        self._tables: dict[int, dict[str, int | None]] = {}
        self._assigned: set[int] = set()
        self._suffixes = _SuffixSet()
        self._computed = False

    def add(self, prefix: int, name: str, explicit_id: int | None = None) -> None:
        """Register ``name`` for resource type ``prefix``; ``explicit_id`` is its @id value."""
        table = self._tables.setdefault(prefix, {})
        if name in table:
            return
        table[name] = self._try_assign(prefix, explicit_id)
        self._suffixes.add(name)

    def _try_assign(self, prefix: int, explicit_id: int | None) -> int | None:
        if explicit_id is None:
            return None
        type_prefix = prefix << 24
        if explicit_id & 0xFF000000 and explicit_id & 0xFF000000 != type_prefix:
            raise IdError(f"@id {explicit_id:#x} has the wrong 8-bit prefix")
        full = explicit_id | type_prefix
        if full in self._assigned:
            raise IdError(f"@id {explicit_id} is assigned to multiple declarations")
        self._assigned.add(full)
        return full

    def compute_ids(self) -> None:
        """Hash every name without an @id, type by type, in sorted name order."""
        for prefix in sorted(self._tables):
            table = self._tables[prefix]
            # p4c sorts cstrings with strcmp, i.e. by bytes.
            for name in sorted((n for n, i in table.items() if i is None), key=str.encode):
                table[name] = self._probe(prefix, jenkins_one_at_a_time(name))
        self._computed = True

    def _probe(self, prefix: int, start: int) -> int:
        value = start
        while True:
            candidate = (prefix << 24) | (value & 0xFFFFFF)
            if candidate not in self._assigned:
                self._assigned.add(candidate)
                return candidate
            value = (value + 1) & _MASK32
            if value == start:
                raise IdError("no id left for this resource type")

    def get_id(self, prefix: int, name: str) -> int:
        """The id of a symbol previously added (after ``compute_ids``)."""
        if not self._computed:
            raise RuntimeError("compute_ids() has not run")
        value = self._tables[prefix][name]
        assert value is not None
        return value

    def has(self, prefix: int, name: str) -> bool:
        return name in self._tables.get(prefix, {})

    def get_alias(self, name: str) -> str:
        """Shortest unique dotted suffix of ``name`` among all symbols."""
        return self._suffixes.shortest_unique_suffix(name)


class _SuffixNode:
    __slots__ = ("edges", "instances")

    def __init__(self) -> None:
        self.edges: dict[str, _SuffixNode] = {}
        self.instances = 0


class _SuffixSet:
    """p4c's P4SymbolSuffixSet: a trie of name components read right to left."""

    def __init__(self) -> None:
        self._root = _SuffixNode()
        self._symbols: set[str] = set()

    def add(self, symbol: str) -> None:
        if symbol in self._symbols:
            return
        self._symbols.add(symbol)
        node = self._root
        for component in reversed(symbol.split(".")):
            node = node.edges.setdefault(component, _SuffixNode())
            node.instances += 1

    def shortest_unique_suffix(self, symbol: str) -> str:
        components = symbol.split(".")
        needed = 0
        node = self._root
        for component in reversed(components):
            node = node.edges[component]
            needed += 1
            if node.instances < 2:
                break
        return ".".join(components[len(components) - needed :])


def allocate_field_ids(explicit: Sequence[int | None]) -> list[int]:
    """Ids for match fields / params / metadata given each one's @id (or None).

    Mirrors p4c's FieldIdAllocator: user ids first; the others get 1, 2, ...
    in order, where a field with a user id still advances the counter and
    taken values are skipped.
    """
    assigned: set[int] = set()
    for value in explicit:
        if value is None:
            continue
        if value == 0:
            raise IdError("0 is not a valid @id value")
        if value in assigned:
            raise IdError(f"@id {value} is used multiple times")
        assigned.add(value)
    result: list[int] = []
    index = 1
    for value in explicit:
        if value is not None:
            result.append(value)
            index += 1
            continue
        while index in assigned:
            index += 1
        result.append(index)
        assigned.add(index)
    return result


def ids_for_names(prefix: int, names: Iterable[str]) -> dict[str, int]:
    """Convenience: ids of ``names`` of one resource type, none with an @id."""
    table = SymbolTable()
    for name in names:
        table.add(prefix, name)
    table.compute_ids()
    return {name: table.get_id(prefix, name) for name in names}
