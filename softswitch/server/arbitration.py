"""Client arbitration (P4Runtime 1.4 section 5, "Client Arbitration and Controller Replication").

Per (device_id, role) the server remembers the highest election id it has
ever accepted for a primary (`election_id_past`). A client whose election id
is at least that high becomes (or stays) primary; any other client is a
backup, and a client without an election id is a backup that can never be
primary. When the primary's stream ends, or the primary re-arbitrates with a
lower id, there is no primary until some client arbitrates again with an id
at least `election_id_past`: a connected backup with a lower id is NOT
promoted (section 5.3). Every client gets a MasterArbitrationUpdate when it
arbitrates and whenever the primary of its role changes: status OK for the
primary, ALREADY_EXISTS for a backup while a primary exists, NOT_FOUND when
there is none. The update carries `election_id_past`, left unset while the
role has never had a primary.

A stream that has arbitrated keeps its device id and role: a later update
naming another one ends the stream with FAILED_PRECONDITION.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from google.rpc import code_pb2, status_pb2
from p4.v1 import p4runtime_pb2

from softswitch.runtime.errors import Code, RuntimeStateError


def election_id_of(u: p4runtime_pb2.Uint128) -> int:
    """Uint128 -> int."""
    high: int = u.high
    low: int = u.low
    return (high << 64) | low


def uint128(v: int) -> p4runtime_pb2.Uint128:
    """int -> Uint128."""
    return p4runtime_pb2.Uint128(high=v >> 64, low=v & 0xFFFFFFFFFFFFFFFF)


@dataclass(eq=False)
class Client:
    """One StreamChannel; `send` queues a StreamMessageResponse to it."""

    send: Callable[[p4runtime_pb2.StreamMessageResponse], None]
    role: str | None = None  # None until the first arbitration message
    election_id: int | None = None


@dataclass
class _Role:
    clients: list[Client] = field(default_factory=list)
    primary: Client | None = None
    highest: int | None = None  # election_id_past: highest id ever accepted for a primary


class Arbiter:
    """Arbitration state of one device. Thread-safe."""

    def __init__(self, device_id: int) -> None:
        self.device_id = device_id
        self._lock = threading.Lock()
        self._roles: dict[str, _Role] = {}

    def arbitrate(self, client: Client, update: p4runtime_pb2.MasterArbitrationUpdate) -> None:
        """Handle a MasterArbitrationUpdate from `client`; raises to end the stream."""
        role_name = update.role.name if update.HasField("role") else ""
        eid = election_id_of(update.election_id) if update.HasField("election_id") else None
        if update.device_id != self.device_id:
            code = Code.FAILED_PRECONDITION if client.role is not None else Code.NOT_FOUND
            raise RuntimeStateError(code, f"no device with id {update.device_id}")
        with self._lock:
            if client.role is not None and client.role != role_name:
                raise RuntimeStateError(
                    Code.FAILED_PRECONDITION,
                    f"this stream arbitrated for role {client.role!r}; open a new stream "
                    f"for role {role_name!r}",
                )
            role = self._roles.setdefault(role_name, _Role())
            if eid is not None and any(
                c is not client and c.election_id == eid for c in role.clients
            ):
                raise RuntimeStateError(
                    Code.INVALID_ARGUMENT,
                    f"election id {eid} is already used by another client of this role",
                )
            if client not in role.clients:
                role.clients.append(client)
            client.role = role_name
            client.election_id = eid
            # everyone hears of a new (or confirmed) primary and of a primary that
            # downgrades itself; a client that arbitrates as a backup, only itself
            everyone = False
            if eid is not None and (role.highest is None or eid >= role.highest):
                role.primary = client
                role.highest = eid
                everyone = True
            elif role.primary is client:
                role.primary = None
                everyone = True
            targets = list(role.clients) if everyone else [client]
            msgs = [(c, self._update_for(role_name, role, c)) for c in targets]
        for c, m in msgs:
            c.send(m)

    def remove(self, client: Client) -> None:
        """The client's stream ended; if it was the primary, the role has none and all are told."""
        with self._lock:
            if client.role is None:
                return
            role_name = client.role
            role = self._roles.get(role_name)
            changed = self._detach(client)
            msgs = (
                [(c, self._update_for(role_name, role, c)) for c in role.clients]
                if changed and role is not None
                else []
            )
        for c, m in msgs:
            c.send(m)

    def _detach(self, client: Client) -> bool:
        """Forget the client; True if it was the primary (the role now has none)."""
        role = self._roles.get(client.role or "")
        client.role = None
        if role is None or client not in role.clients:
            return False
        role.clients.remove(client)
        if role.primary is client:
            role.primary = None
            return True
        return False

    def _update_for(
        self, role_name: str, role: _Role, c: Client
    ) -> p4runtime_pb2.StreamMessageResponse:
        msg = p4runtime_pb2.StreamMessageResponse()
        u = msg.arbitration
        u.device_id = self.device_id
        if role_name:
            u.role.name = role_name
        if role.highest is not None:
            u.election_id.CopyFrom(uint128(role.highest))
        if role.primary is None:
            u.status.CopyFrom(status_pb2.Status(code=code_pb2.NOT_FOUND, message="no primary"))
        elif role.primary is c:
            u.status.CopyFrom(status_pb2.Status(code=code_pb2.OK, message="is primary"))
        else:
            u.status.CopyFrom(status_pb2.Status(code=code_pb2.ALREADY_EXISTS, message="is backup"))
        return msg

    def has_role(self, role_name: str) -> bool:
        """The default role always exists; another once a client has arbitrated for it."""
        with self._lock:
            return role_name == "" or role_name in self._roles

    def is_primary(self, role_name: str, election_id: int) -> bool:
        """True if `election_id` is the current primary's for the role."""
        with self._lock:
            role = self._roles.get(role_name)
            return (
                role is not None
                and role.primary is not None
                and role.primary.election_id == election_id
            )

    def is_primary_client(self, client: Client) -> bool:
        """True if this stream is the primary of its role."""
        with self._lock:
            role = self._roles.get(client.role) if client.role is not None else None
            return role is not None and role.primary is client

    def primary(self, role_name: str = "") -> Client | None:
        """The primary client of a role, if any."""
        with self._lock:
            role = self._roles.get(role_name)
            return role.primary if role else None
