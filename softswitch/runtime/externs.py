"""v1model externs held by the device: registers, counters and meters.

Out-of-range indexes behave as BMv2 does at run time: a read gives 0, a write
or count is ignored (BMv2 logs an error and carries on); a meter gives GREEN.

Meters are BMv2's two-rate three-colour marker (RFC 2698): two token buckets,
the peak one (PIR, PBS) checked first and marking RED, then the committed one
(CIR, CBS) marking YELLOW; a packet that fits both takes tokens from both and
is GREEN. Buckets start full when configured. Rates are units per second and
bursts units, as P4Runtime's MeterConfig gives them; BMv2 counts tokens since
a fixed time origin, so tokens accrue as floor(now_us * rate / 1e6) with no
drift from repeated rounding. An unconfigured meter marks everything GREEN.
"""

from __future__ import annotations

from dataclasses import dataclass

from softswitch.runtime.errors import Code, RuntimeStateError

GREEN = 0
YELLOW = 1
RED = 2


@dataclass(frozen=True, slots=True)
class MeterConfig:
    """P4Runtime MeterConfig: rates in units/s, bursts in units."""

    cir: int
    cburst: int
    pir: int
    pburst: int


class _Bucket:
    __slots__ = ("burst", "color", "last", "rate", "tokens")

    def __init__(self, rate: int, burst: int, color: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.last = 0
        self.color = color


class MeterState:
    """One meter cell: configuration and token buckets."""

    __slots__ = ("_buckets", "config", "unit")

    def __init__(self, unit: str) -> None:
        if unit not in ("BYTES", "PACKETS"):
            raise ValueError(f"meter unit must be BYTES or PACKETS, not {unit!r}")
        self.unit = unit
        self.config: MeterConfig | None = None
        self._buckets: tuple[_Bucket, ...] = ()

    def configure(self, config: MeterConfig | None) -> None:
        """Set (or with None, clear) the rates; INVALID_ARGUMENT if CIR > PIR or negative."""
        if config is None:
            self.config = None
            self._buckets = ()
            return
        if min(config.cir, config.cburst, config.pir, config.pburst) < 0:
            raise RuntimeStateError(Code.INVALID_ARGUMENT, "meter rates and bursts must be >= 0")
        if config.cir > config.pir:
            # BMv2 refuses a committed rate above the peak rate
            raise RuntimeStateError(Code.INVALID_ARGUMENT, "meter CIR must not exceed PIR")
        self.config = config
        self._buckets = (
            _Bucket(config.pir, config.pburst, RED),
            _Bucket(config.cir, config.cburst, YELLOW),
        )

    def execute(self, nbytes: int, now_us: int) -> int:
        """Colour one packet of `nbytes` bytes at time `now_us` (microseconds)."""
        if not self._buckets:
            return GREEN
        need = 1 if self.unit == "PACKETS" else nbytes
        for b in self._buckets:
            since_origin = now_us * b.rate // 1_000_000
            if since_origin > b.last:
                # time going backwards (merged pcaps) adds nothing rather than failing
                b.tokens = min(b.tokens + since_origin - b.last, b.burst)
                b.last = since_origin
            if b.tokens < need:
                return b.color
            b.tokens -= need
        return GREEN


def _check_unit(unit: str, allowed: tuple[str, ...]) -> str:
    if unit not in allowed:
        raise ValueError(f"unit must be one of {allowed}, not {unit!r}")
    return unit


class Register:
    """register<T>(size): `bitwidth`-bit cells, reduced modulo 2**bitwidth on write."""

    def __init__(self, name: str, id: int, size: int, bitwidth: int) -> None:
        self.name = name
        self.id = id
        self.size = size
        self.bitwidth = bitwidth
        self._mask = (1 << bitwidth) - 1
        self.values: list[int] = [0] * size

    def read(self, i: int) -> int:
        """Cell `i`, or 0 if out of range."""
        if 0 <= i < self.size:
            return self.values[i]
        return 0

    def write(self, i: int, v: int) -> None:
        """Set cell `i` (ignored if out of range)."""
        if 0 <= i < self.size:
            self.values[i] = v & self._mask

    def reset(self) -> None:
        """All cells back to 0."""
        self.values = [0] * self.size


class Counter:
    """counter(size, type): per-index packet and byte counts (BMv2 keeps both)."""

    def __init__(self, name: str, id: int, size: int, unit: str) -> None:
        self.name = name
        self.id = id
        self.size = size
        self.unit = _check_unit(unit, ("BYTES", "PACKETS", "BOTH"))
        self.packets: list[int] = [0] * size
        self.bytes: list[int] = [0] * size

    def count(self, i: int, nbytes: int) -> None:
        """Count one packet of `nbytes` bytes at index `i` (ignored if out of range)."""
        if 0 <= i < self.size:
            self.packets[i] += 1
            self.bytes[i] += nbytes

    def read(self, i: int) -> tuple[int, int]:
        """(bytes, packets) at index `i`."""
        if 0 <= i < self.size:
            return self.bytes[i], self.packets[i]
        return 0, 0

    def write(self, i: int, nbytes: int, npackets: int) -> None:
        """Set the counts at index `i`."""
        if 0 <= i < self.size:
            self.bytes[i] = nbytes
            self.packets[i] = npackets

    def reset(self) -> None:
        """All counts back to 0."""
        self.packets = [0] * self.size
        self.bytes = [0] * self.size


class DirectCounter:
    """direct_counter(type) attached to a table; the counts live on each `Entry`."""

    def __init__(self, name: str, id: int, unit: str, table_id: int) -> None:
        self.name = name
        self.id = id
        self.unit = _check_unit(unit, ("BYTES", "PACKETS", "BOTH"))
        self.table_id = table_id


class Meter:
    """meter(size, type): an array of two-rate three-colour markers."""

    def __init__(self, name: str, id: int, size: int, unit: str) -> None:
        self.name = name
        self.id = id
        self.size = size
        self.unit = _check_unit(unit, ("BYTES", "PACKETS"))
        self.cells: list[MeterState] = [MeterState(unit) for _ in range(size)]

    def execute(self, i: int, nbytes: int, now_us: int) -> int:
        """Colour of a packet by cell `i` (GREEN if out of range or unconfigured)."""
        if 0 <= i < self.size:
            return self.cells[i].execute(nbytes, now_us)
        return GREEN

    def reset(self) -> None:
        """Every cell unconfigured."""
        self.cells = [MeterState(self.unit) for _ in range(self.size)]


class DirectMeter:
    """direct_meter<T>(type) attached to a table; the state lives on each `Entry`."""

    def __init__(self, name: str, id: int, unit: str, table_id: int) -> None:
        self.name = name
        self.id = id
        self.unit = _check_unit(unit, ("BYTES", "PACKETS"))
        self.table_id = table_id
