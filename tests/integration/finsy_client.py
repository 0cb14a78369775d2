"""A finsy 0.30 controller session against a P4Runtime server running p4rt_basic.p4.

Runs in its own virtualenv (.venv-finsy, from requirements-finsy.lock): finsy needs
protobuf >= 6, which p4runtime-shell in the main .venv cannot share. It imports
nothing of this project. tests/integration/test_finsy.py runs it as a subprocess:

    .venv-finsy/bin/python tests/integration/finsy_client.py ADDR P4INFO DEVICE_CONFIG

Every step prints one line `ok <step>`; the first failed check prints `FAIL <step>: why`
and the exit status is 1.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import finsy as fy

CPU_PORT = 64
DEVICE_ID = 1

# IPv4/UDP frame 10.1.2.3 -> 172.16.0.9, built by hand (no scapy in this venv)
FRAME = (
    bytes.fromhex(
        "000000000002"
        "000000000001"
        "0800"  # Ethernet
        "45000023"
        "00010000"
        "4011"
        "0000"
        "0a010203"
        "ac100009"  # IPv4, checksum left 0
        "04d20035"
        "000f0000"  # UDP 1234 -> 53
    )
    + b"payload"
)


class StepFailed(Exception):
    pass


def check(cond: bool, why: str) -> None:
    if not cond:
        raise StepFailed(why)


async def read_all(sw: fy.Switch, entity: object) -> list:
    return [e async for e in sw.read(entity)]  # type: ignore[arg-type]


def dmac(mac: str, port: int | None = None, act: str = "set_egress") -> fy.P4TableEntry:
    action = fy.Action(act, port=port) if port is not None else fy.Action(act)
    return fy.P4TableEntry("dmac", match=fy.Match(dst_addr=mac), action=action)


async def session(sw: fy.Switch, step: Callable[[str, Awaitable[None]], Awaitable[None]]) -> None:
    async def connected() -> None:
        check(sw.is_primary, "finsy is not the primary client")

    await step("connect and push the pipeline", connected())

    async def empty_at_start() -> None:
        check(await read_all(sw, fy.P4TableEntry()) == [], "tables not empty after the push")

    await step("read all tables: empty", empty_at_start())

    async def insert_exact() -> None:
        await sw.insert([dmac("00:11:22:33:44:55", 3)])
        (got,) = await read_all(sw, fy.P4TableEntry("dmac"))
        check(got.match["dst_addr"] == 0x001122334455, f"match read back {got.match}")
        check(got.action.args == {"port": 3}, f"action read back {got.action}")

    await step("insert and read an exact entry", insert_exact())

    async def modify_exact() -> None:
        await sw.modify([dmac("00:11:22:33:44:55", 4)])
        (got,) = await read_all(sw, fy.P4TableEntry("dmac"))
        check(got.action.args == {"port": 4}, f"modified action read back {got.action}")

    await step("modify an exact entry", modify_exact())

    async def duplicate() -> None:
        try:
            await sw.insert([dmac("00:11:22:33:44:55", 5)])
        except fy.P4ClientError as e:
            codes = [d.canonical_code for d in e.details.values()]
            check(codes == [fy.GRPCStatusCode.ALREADY_EXISTS.value], f"codes {codes}")
        else:
            raise StepFailed("a duplicate INSERT was accepted")

    await step("duplicate insert is ALREADY_EXISTS", duplicate())

    async def lpm() -> None:
        entry = fy.P4TableEntry(
            "routes", match=fy.Match(dst_addr="192.168.0.0/16"), action=fy.Action("drop")
        )
        await sw.insert([entry])
        (got,) = await read_all(sw, fy.P4TableEntry("routes"))
        check(got.match["dst_addr"] == (0xC0A80000, 16), f"lpm read back {got.match}")
        await sw.delete([entry])
        check(await read_all(sw, fy.P4TableEntry("routes")) == [], "lpm entry not deleted")

    await step("insert, read and delete an lpm entry", lpm())

    async def default_entry() -> None:
        await sw.modify([fy.P4TableEntry("dmac", action=fy.Action("drop"), is_default_action=True)])
        (got,) = await read_all(sw, fy.P4TableEntry("dmac", is_default_action=True))
        check(got.action.name == "drop", f"default action {got.action}")
        await sw.modify([fy.P4TableEntry("dmac", is_default_action=True)])  # reset
        (got,) = await read_all(sw, fy.P4TableEntry("dmac", is_default_action=True))
        check(got.action.name == "NoAction", f"reset default action {got.action}")

    await step("modify and reset the default entry", default_entry())

    acl = fy.P4TableEntry(
        "acl",
        match=fy.Match(src_addr="10.0.0.0/8"),
        action=fy.Action("send_to_cpu", reason=5),
        priority=10,
    )

    async def ternary() -> None:
        await sw.insert([acl])
        (got,) = await read_all(sw, fy.P4TableEntry("acl"))
        check(got.priority == 10, f"priority {got.priority}")
        check(set(got.match) == {"src_addr"}, f"don't-care fields read back {got.match}")

    await step("insert and read a ternary entry with priority", ternary())

    async def packet_out_in() -> None:
        async def first_packet_in() -> fy.P4PacketIn:
            async for pkt in sw.read_packets():
                return pkt
            raise StepFailed("packet-in stream ended")

        waiter = asyncio.ensure_future(first_packet_in())
        await asyncio.sleep(0.1)  # the queue is open before the packet goes out
        await sw.write([fy.P4PacketOut(FRAME, egress_port=0, _pad=0)])
        pkt = await asyncio.wait_for(waiter, 10)
        check(pkt.payload == FRAME, "packet-in payload differs from the packet-out")
        check(pkt["ingress_port"] == CPU_PORT, f"ingress_port {pkt['ingress_port']}")
        check(pkt["reason"] == 5, f"reason {pkt['reason']}")

    await step("packet-out through the pipeline comes back as packet-in", packet_out_in())

    async def direct_counter() -> None:
        (got,) = await read_all(sw, fy.P4DirectCounterEntry("acl_counter"))
        check(got.data is not None and got.data.packet_count == 1, f"counter {got.data}")
        got.data = fy.P4CounterData(packet_count=0, byte_count=0)
        await sw.modify([got])
        (again,) = await read_all(sw, fy.P4DirectCounterEntry("acl_counter"))
        check(again.data is not None and again.data.packet_count == 0, f"counter {again.data}")

    await step("read and reset the direct counter", direct_counter())

    async def delete_all() -> None:
        await sw.delete([acl, dmac("00:11:22:33:44:55")])
        check(await read_all(sw, fy.P4TableEntry()) == [], "entries left after delete")

    await step("delete entries", delete_all())


async def main(addr: str, p4info: Path, config: Path) -> int:
    failed: list[str] = []

    async def step(name: str, body: Awaitable[None]) -> None:
        if failed:
            body.close()  # type: ignore[attr-defined]
            return
        try:
            await body
        except Exception as e:  # report every kind of failure as the step's
            failed.append(name)
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
            return
        print(f"ok {name}", flush=True)

    options = fy.SwitchOptions(
        p4info=p4info, p4blob=config, device_id=DEVICE_ID, p4force=True, fail_fast=True
    )
    async with fy.Switch("sw", addr, options) as sw:
        await session(sw, step)
    return 1 if failed else 0


if __name__ == "__main__":
    a, info, blob = sys.argv[1:4]
    sys.exit(asyncio.run(main(a, Path(info), Path(blob))))
