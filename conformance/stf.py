"""Parser for STF files, the packet-test format of p4c's test suite.

Only the syntax lives here; the meaning of each command (P4Runtime writes, packets,
checks) is in :mod:`conformance.runner`. Commands are kept in file order with their
line numbers, so errors and reports point at ``file:line``.

Supported commands::

    packet PORT HEX...                 send a frame
    expect PORT HEX... [$]             next frame out of PORT; `*` nibbles are don't-care,
                                       `$` requires the exact length (else a prefix)
    add TABLE [PRIO] KEY:VAL... ACTION(P:V, ...)
    setdefault TABLE ACTION(P:V, ...)
    remove TABLE [PRIO] KEY:VAL...     (also `remove_entry`)
    mirroring_add SESSION PORT         clone session to one port
    mirroring_add_mc SESSION GROUP     clone session to a multicast group
    mc_mgrp_create GROUP
    mc_node_create RID PORT...         node handles are numbered 0, 1, ... in file order
    mc_node_associate GROUP HANDLE
    check_counter NAME(INDEX) [packets|bytes] [OP] VALUE
    wait                               let every packet sent so far come out first
    # comment (also after a command)

Key values: ``0x..``, decimal, ``0b..``, nibble wildcards (``0x12**``), ``V&&&M``,
``LO->HI``, ``V/LEN``, ``*``. A key name may carry ``$N`` stack indices (``extra$0.h``)
and ``$valid$``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path


class StfError(Exception):
    """A malformed or unsupported STF line, reported as `file:line: message`."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Packet:
    line: int
    port: int
    data: bytes


@dataclass(frozen=True)
class Expect:
    """An expected frame: `pattern` holds one hex digit or `*` per nibble."""

    line: int
    port: int
    pattern: str
    exact_length: bool

    def matches(self, data: bytes, padded_to: int = 0) -> bool:
        """True if `data` fits the pattern (prefix unless `exact_length`).

        With `padded_to`, a frame that was zero-padded to that length on the wire still
        meets an exact length shorter than it, if the bytes past the pattern are zero.
        """
        got = data.hex()
        if len(got) < len(self.pattern):
            return False
        if self.exact_length and len(got) != len(self.pattern):
            wire_pad = len(data) == padded_to and not got[len(self.pattern) :].strip("0")
            if not wire_pad:
                return False
        return all(p == "*" or p == g for p, g in zip(self.pattern, got, strict=False))

    def text(self) -> str:
        """The pattern as bytes separated by spaces (for messages)."""
        p = self.pattern
        return " ".join(p[i : i + 2] for i in range(0, len(p), 2)) + (
            " $" if self.exact_length else ""
        )


@dataclass(frozen=True)
class ActionCall:
    name: str
    args: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class AddEntry:
    line: int
    table: str
    priority: int | None
    keys: tuple[tuple[str, str], ...]
    action: ActionCall


@dataclass(frozen=True)
class RemoveEntry:
    line: int
    table: str
    priority: int | None
    keys: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SetDefault:
    line: int
    table: str
    action: ActionCall


@dataclass(frozen=True)
class MirroringAdd:
    line: int
    session: int
    port: int | None
    group: int | None


@dataclass(frozen=True)
class McGroupCreate:
    line: int
    group: int


@dataclass(frozen=True)
class McNodeCreate:
    line: int
    handle: int
    rid: int
    ports: tuple[int, ...]


@dataclass(frozen=True)
class McNodeAssociate:
    line: int
    group: int
    handle: int


@dataclass(frozen=True)
class CheckCounter:
    line: int
    name: str
    index: int
    kind: str  # "packets" or "bytes"
    op: str
    value: int


@dataclass(frozen=True)
class Wait:
    line: int


Command = (
    Packet
    | Expect
    | AddEntry
    | RemoveEntry
    | SetDefault
    | MirroringAdd
    | McGroupCreate
    | McNodeCreate
    | McNodeAssociate
    | CheckCounter
    | Wait
)


@dataclass
class StfFile:
    path: str
    commands: list[Command] = field(default_factory=list)

    def ports(self) -> list[int]:
        """Every port a packet enters or is expected on, sorted."""
        ps = {c.port for c in self.commands if isinstance(c, Packet | Expect)}
        for c in self.commands:
            if isinstance(c, MirroringAdd) and c.port is not None:
                ps.add(c.port)
            if isinstance(c, McNodeCreate):
                ps.update(c.ports)
        return sorted(ps)


_HEX_BODY = re.compile(r"^[0-9a-fA-F*]*$")
_ACTION = re.compile(r"^([A-Za-z_][\w.$\[\]]*)\s*\((.*)\)\s*$")
_COUNTER = re.compile(
    r"^([A-Za-z_][\w.]*)\s*\(\s*(\d+)\s*\)\s*(?:(packets|bytes)\s*)?(==|!=|<=|>=|<|>)?\s*(\S+)$"
)


def _int(text: str, path: str, line: int, what: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise StfError(path, line, f"{what}: expected a number, got {text!r}") from None


def _hex_bytes(words: list[str], path: str, line: int, wildcards: bool) -> tuple[str, bool]:
    exact = False
    if words and words[-1] == "$":
        exact = True
        words = words[:-1]
    body = "".join(words)
    if body.startswith(("0x", "0X")):
        body = body[2:]
    if not _HEX_BODY.match(body) or ("*" in body and not wildcards):
        raise StfError(path, line, f"bad packet data {' '.join(words)!r}")
    if len(body) % 2:
        # p4c's runner pads an odd nibble count with a trailing nibble
        body += "*" if wildcards else "0"
    return body.lower(), exact


def _parse_action(text: str, path: str, line: int) -> ActionCall:
    m = _ACTION.match(text.strip())
    if not m:
        raise StfError(path, line, f"expected ACTION(PARAM:VALUE, ...), got {text!r}")
    args: list[tuple[str, str]] = []
    inner = m.group(2).strip()
    if inner:
        for part in inner.split(","):
            name, sep, value = part.partition(":")
            if not sep or not name.strip() or not value.strip():
                raise StfError(path, line, f"action argument {part.strip()!r} is not NAME:VALUE")
            args.append((name.strip(), value.strip()))
    return ActionCall(m.group(1), tuple(args))


def _parse_keys(
    words: list[str], path: str, line: int
) -> tuple[int | None, tuple[tuple[str, str], ...]]:
    priority = None
    if words and re.fullmatch(r"\d+", words[0]):
        priority = int(words[0])
        words = words[1:]
    keys: list[tuple[str, str]] = []
    for w in words:
        name, sep, value = w.partition(":")
        if not sep or not name or not value:
            raise StfError(path, line, f"key {w!r} is not NAME:VALUE")
        keys.append((name, value))
    return priority, tuple(keys)


def _split_entry(rest: str, path: str, line: int) -> tuple[str, list[str], str]:
    """`TABLE [PRIO] KEY:VAL ... ACTION(ARGS)` -> table, key words, action text."""
    paren = rest.find("(")
    if paren < 0:
        raise StfError(path, line, "add needs an action call ACTION(...)")
    head = rest[:paren].split()
    if len(head) < 2:
        raise StfError(path, line, "add needs TABLE [KEY:VALUE...] ACTION(...)")
    action_text = head[-1] + rest[paren:]
    return head[0], head[1:-1], action_text


def parse_text(text: str, path: str = "<stf>") -> StfFile:
    """Parse STF `text`; raises StfError for the first bad or unsupported line."""
    stf = StfFile(path)
    node_handles = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        cmd, _, rest = line.partition(" ")
        cmd = cmd.lower()
        words = rest.split()
        if cmd in ("packet", "expect"):
            if not words:
                raise StfError(path, lineno, f"{cmd} needs a port")
            port = _int(words[0], path, lineno, "port")
            pattern, exact = _hex_bytes(words[1:], path, lineno, wildcards=cmd == "expect")
            if cmd == "packet":
                if exact:
                    raise StfError(path, lineno, "`$` is only meaningful in expect")
                stf.commands.append(Packet(lineno, port, bytes.fromhex(pattern)))
            else:
                stf.commands.append(Expect(lineno, port, pattern, exact))
        elif cmd == "add":
            table, key_words, action_text = _split_entry(rest, path, lineno)
            priority, keys = _parse_keys(key_words, path, lineno)
            action = _parse_action(action_text, path, lineno)
            stf.commands.append(AddEntry(lineno, table, priority, keys, action))
        elif cmd in ("remove", "remove_entry"):
            if not words:
                raise StfError(path, lineno, "remove needs a table")
            priority, keys = _parse_keys(words[1:], path, lineno)
            stf.commands.append(RemoveEntry(lineno, words[0], priority, keys))
        elif cmd == "setdefault":
            if len(words) < 2:
                raise StfError(path, lineno, "setdefault needs TABLE ACTION(...)")
            table = words[0]
            stf.commands.append(
                SetDefault(lineno, table, _parse_action(rest.split(None, 1)[1], path, lineno))
            )
        elif cmd in ("mirroring_add", "mirroring_add_mc"):
            if len(words) != 2:
                raise StfError(
                    path, lineno, f"{cmd} needs SESSION {'GROUP' if 'mc' in cmd else 'PORT'}"
                )
            session = _int(words[0], path, lineno, "session")
            target = _int(words[1], path, lineno, "port/group")
            if cmd == "mirroring_add":
                stf.commands.append(MirroringAdd(lineno, session, target, None))
            else:
                stf.commands.append(MirroringAdd(lineno, session, None, target))
        elif cmd == "mc_mgrp_create":
            if len(words) != 1:
                raise StfError(path, lineno, "mc_mgrp_create needs GROUP")
            stf.commands.append(McGroupCreate(lineno, _int(words[0], path, lineno, "group")))
        elif cmd == "mc_node_create":
            if len(words) < 2:
                raise StfError(path, lineno, "mc_node_create needs RID PORT...")
            rid = _int(words[0], path, lineno, "rid")
            ports = tuple(_int(w, path, lineno, "port") for w in words[1:])
            stf.commands.append(McNodeCreate(lineno, node_handles, rid, ports))
            node_handles += 1
        elif cmd == "mc_node_associate":
            if len(words) != 2:
                raise StfError(path, lineno, "mc_node_associate needs GROUP HANDLE")
            stf.commands.append(
                McNodeAssociate(
                    lineno,
                    _int(words[0], path, lineno, "group"),
                    _int(words[1], path, lineno, "node handle"),
                )
            )
        elif cmd == "check_counter":
            m = _COUNTER.match(rest.strip())
            if not m:
                raise StfError(
                    path, lineno, "check_counter needs NAME(INDEX) [packets|bytes] [OP] VALUE"
                )
            stf.commands.append(
                CheckCounter(
                    lineno,
                    m.group(1),
                    int(m.group(2)),
                    m.group(3) or "packets",
                    m.group(4) or "==",
                    _int(m.group(5), path, lineno, "counter value"),
                )
            )
        elif cmd == "wait":
            stf.commands.append(Wait(lineno))
        else:
            raise StfError(path, lineno, f"STF command {cmd!r} is not supported by this runner")
    return stf


def parse_file(path: str | Path) -> StfFile:
    """Read and parse an STF file."""
    p = Path(path)
    return parse_text(p.read_text(), str(p))
