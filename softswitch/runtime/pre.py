"""Packet replication engine: multicast groups and clone sessions (BMv2's PRE)."""

from __future__ import annotations

from dataclasses import dataclass, field

from softswitch.runtime.errors import Code, RuntimeStateError

Replica = tuple[int, int]  # (egress_port, instance / egress_rid)


@dataclass(slots=True)
class CloneSession:
    """A clone session: where clones go and how much of the packet they keep."""

    session_id: int
    replicas: list[Replica] = field(default_factory=list)
    class_of_service: int = 0
    packet_length_bytes: int = 0  # 0 = whole packet


def _check_replicas(replicas: list[Replica]) -> None:
    seen = set()
    for r in replicas:
        if r in seen:
            raise RuntimeStateError(
                Code.INVALID_ARGUMENT, f"duplicate replica (port {r[0]}, instance {r[1]})"
            )
        seen.add(r)


class PacketReplicationEngine:
    """Multicast groups (id -> replicas) and clone sessions (id -> CloneSession)."""

    def __init__(self) -> None:
        self.groups: dict[int, list[Replica]] = {}
        self.sessions: dict[int, CloneSession] = {}

    # -- data-plane side

    def multicast(self, group: int) -> list[Replica]:
        """Replicas of multicast group `group` ([] if it does not exist)."""
        return self.groups.get(group, [])

    def clone_session(self, session: int) -> CloneSession | None:
        """Clone session `session`, or None if not configured."""
        return self.sessions.get(session)

    # -- control-plane side (P4Runtime INSERT / MODIFY / DELETE semantics)

    def insert_group(self, group: int, replicas: list[Replica]) -> None:
        """Create a multicast group; ALREADY_EXISTS if it exists."""
        if group == 0:
            raise RuntimeStateError(Code.INVALID_ARGUMENT, "multicast group id 0 is reserved")
        if group in self.groups:
            raise RuntimeStateError(Code.ALREADY_EXISTS, f"multicast group {group} exists")
        _check_replicas(replicas)
        self.groups[group] = list(replicas)

    def modify_group(self, group: int, replicas: list[Replica]) -> None:
        """Replace the replicas of a group; NOT_FOUND if absent."""
        if group not in self.groups:
            raise RuntimeStateError(Code.NOT_FOUND, f"no multicast group {group}")
        _check_replicas(replicas)
        self.groups[group] = list(replicas)

    def delete_group(self, group: int) -> None:
        """Remove a group; NOT_FOUND if absent."""
        if self.groups.pop(group, None) is None:
            raise RuntimeStateError(Code.NOT_FOUND, f"no multicast group {group}")

    def insert_session(self, s: CloneSession) -> None:
        """Create a clone session; ALREADY_EXISTS if it exists."""
        if s.session_id == 0:
            raise RuntimeStateError(Code.INVALID_ARGUMENT, "clone session id 0 is reserved")
        if s.session_id in self.sessions:
            raise RuntimeStateError(Code.ALREADY_EXISTS, f"clone session {s.session_id} exists")
        _check_replicas(s.replicas)
        self.sessions[s.session_id] = s

    def modify_session(self, s: CloneSession) -> None:
        """Replace a clone session; NOT_FOUND if absent."""
        if s.session_id not in self.sessions:
            raise RuntimeStateError(Code.NOT_FOUND, f"no clone session {s.session_id}")
        _check_replicas(s.replicas)
        self.sessions[s.session_id] = s

    def delete_session(self, session: int) -> None:
        """Remove a clone session; NOT_FOUND if absent."""
        if self.sessions.pop(session, None) is None:
            raise RuntimeStateError(Code.NOT_FOUND, f"no clone session {session}")
