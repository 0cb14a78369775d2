"""The flow key BLB reasons about: addresses, ports and protocol of a connection."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

TCP = 6
UDP = 17
ICMP = 1


@dataclass(frozen=True, slots=True)
class Flow:
    """A connection as its originator opened it. `version` is 4 or 6; addresses are the
    integer values of the IP addresses; ports are 0 for protocols without ports."""

    src: int
    dst: int
    sport: int
    dport: int
    proto: int
    version: int = 4

    @classmethod
    def of(cls, src: str, dst: str, sport: int, dport: int, proto: int) -> Flow:
        """A flow from address strings (both of one IP version)."""
        s = ipaddress.ip_address(src)
        d = ipaddress.ip_address(dst)
        if s.version != d.version:
            raise ValueError(f"{src} and {dst} are of different IP versions")
        return cls(int(s), int(d), sport, dport, proto, s.version)

    @property
    def bits(self) -> int:
        """Address width: 32 or 128."""
        return 32 if self.version == 4 else 128

    def src_text(self) -> str:
        return str(ipaddress.ip_address(self.src) if self.version == 4 else _v6(self.src))

    def dst_text(self) -> str:
        return str(ipaddress.ip_address(self.dst) if self.version == 4 else _v6(self.dst))


def _v6(value: int) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(value)
