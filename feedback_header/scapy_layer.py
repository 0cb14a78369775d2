"""Scapy layer for the feedback header, built from `feedback_header.spec`.

    from feedback_header.scapy_layer import FeedbackHeader, TLV_CLASSES
    p = Ether() / FeedbackHeader(device_id=1, tlvs=[FBCounterReport(rule_slot=0)]) / IP() / TCP()

`length`, `tlv_count` and each TLV's `tlv_length` are computed when left unset; the layer
after the header is chosen by `orig_ethertype` (IP, IPv6, ARP, ... as after Ethernet;
nothing but padding for 0x0000; raw bytes under flag FOREIGN). Importing this module
binds the layer to Ether, Dot1Q and Dot1AD with EtherType 0x88B5.
"""

from __future__ import annotations

from typing import Any

from scapy.data import ETHER_TYPES
from scapy.fields import (
    BitField,
    ByteEnumField,
    ByteField,
    Field,
    FlagsField,
    IntField,
    IP6Field,
    IPField,
    LongField,
    PacketListField,
    ShortField,
    StrLenField,
    XByteField,
    XIntField,
    XShortEnumField,
)
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether
from scapy.packet import Packet, Padding, Raw, bind_layers

from feedback_header import codec, spec

TLV_CLASSES: dict[int, type[Packet]] = {}
"""TLV type code -> Scapy class (filled below from spec.TLVS)."""


class _HistoryField(BitField):
    """48-bit history shown as Zeek letters."""

    def i2repr(self, pkt: Packet | None, x: Any) -> str:
        if x is None:
            return "None"
        return f"{x:#014x} ({codec.history_letters(int(x))})"


def _scapy_field(f: spec.Field) -> Field[Any, Any]:
    if f.fmt == "ipv4":
        return IPField(f.name, "0.0.0.0")
    if f.fmt == "ipv6":
        return IP6Field(f.name, "::")
    if f.fmt == "history":
        return _HistoryField(f.name, 0, 48)
    if f.fmt == "flags" and f.enum is not None:
        names = {v.code.bit_length() - 1: v.name for v in spec.ENUMS[f.enum].values}
        return FlagsField(f.name, 0, f.bits, [names.get(i, f"bit{i}") for i in range(f.bits)])
    if f.fmt == "enum" and f.enum is not None and f.bits == 8:
        return ByteEnumField(f.name, 0, spec.ENUMS[f.enum].by_code())
    if f.fmt == "ethertype":
        return XShortEnumField(f.name, 0, ETHER_TYPES)
    default = spec.VERSION if f.name == "version" else 0
    hexa = f.fmt == "hex"
    if f.bits == 8:
        return XByteField(f.name, default) if hexa else ByteField(f.name, default)
    if f.bits == 16:
        return ShortField(f.name, default)
    if f.bits == 32:
        return XIntField(f.name, default) if hexa else IntField(f.name, default)
    if f.bits == 48:
        return BitField(f.name, default, 48)
    return LongField(f.name, default)


class FeedbackTLV(Packet):
    """Base of the TLV classes: dispatches on the type byte through TLV_CLASSES."""

    name = "Feedback TLV"

    @classmethod
    def dispatch_hook(cls, _pkt: bytes | None = None, *args: Any, **kargs: Any) -> type[Packet]:
        if _pkt:
            return TLV_CLASSES.get(_pkt[0], FBUnknownTLV)
        return cls

    def extract_padding(self, s: bytes) -> tuple[bytes, bytes]:
        # The rest belongs to the next TLV, not to this one's payload.
        return b"", s

    def post_build(self, pkt: bytes, pay: bytes) -> bytes:
        if self.getfieldval("tlv_length") is None:
            pkt = pkt[:1] + bytes((len(pkt),)) + pkt[2:]
        return pkt + pay


class FBUnknownTLV(FeedbackTLV):
    """A TLV of a type this version does not know: type, length, raw value."""

    name = "Feedback unknown TLV"
    fields_desc = [  # noqa: RUF012 (Scapy's API)
        ByteField("tlv_type", 0),
        ByteField("tlv_length", None),
        StrLenField("value", b"", length_from=lambda p: max(0, (p.tlv_length or 2) - 2)),
    ]


def _make_tlv_class(t: spec.TlvSpec) -> type[Packet]:
    fields: list[Field[Any, Any]] = [
        ByteEnumField("tlv_type", t.code, {x.code: x.name.upper() for x in spec.TLVS}),
        ByteField("tlv_length", None),
    ]
    fields += [_scapy_field(f) for f in t.value_fields]
    cls = type(
        "FB" + t.class_name,
        (FeedbackTLV,),
        {
            "name": f"Feedback {t.name.upper()}",
            "fields_desc": fields,
            "__doc__": f"{t.name.upper()} TLV (type {t.code}, {t.size} bytes).",
        },
    )
    TLV_CLASSES[t.code] = cls
    return cls


for _t in spec.TLVS:
    globals()["FB" + _t.class_name] = _make_tlv_class(_t)

FBCounterReport: type[Packet] = TLV_CLASSES[1]
FBThresholdAlert: type[Packet] = TLV_CLASSES[2]
FBCollision: type[Packet] = TLV_CLASSES[3]
FBSynSummary: type[Packet] = TLV_CLASSES[4]
FBNotOffloaded: type[Packet] = TLV_CLASSES[5]
FBFlowIdOffset: type[Packet] = TLV_CLASSES[6]
FBReassemblyState: type[Packet] = TLV_CLASSES[7]
FBPrefilterMatch: type[Packet] = TLV_CLASSES[8]


def _fixed_fields() -> list[Any]:
    out: list[Any] = []
    for f in spec.FIXED.fields:
        if f.name in ("length", "tlv_count"):
            out.append(ShortField(f.name, None) if f.bits == 16 else ByteField(f.name, None))
        else:
            out.append(_scapy_field(f))
    out.append(
        PacketListField(
            "tlvs",
            [],
            FeedbackTLV,
            length_from=lambda p: max(0, (p.length or spec.FIXED.size) - spec.FIXED.size),
        )
    )
    return out


class FeedbackHeader(Packet):
    """The feedback header: fixed part, then `tlvs`; the payload is the original packet."""

    name = "P4 NIDS feedback header"
    fields_desc = _fixed_fields()

    def post_build(self, pkt: bytes, pay: bytes) -> bytes:
        offsets = {f.name: o for f, o in spec.FIXED.offsets()}
        if self.getfieldval("length") is None:
            o = offsets["length"]
            pkt = pkt[:o] + len(pkt).to_bytes(2, "big") + pkt[o + 2 :]
        if self.getfieldval("tlv_count") is None:
            o = offsets["tlv_count"]
            pkt = pkt[:o] + bytes((len(self.tlvs),)) + pkt[o + 1 :]
        return pkt + pay

    def guess_payload_class(self, payload: bytes) -> type[Packet]:
        et = self.orig_ethertype
        if et == spec.ORIG_ETHERTYPE_NONE:
            return Padding
        if self.flags & spec.FLAG_FOREIGN:
            return Raw  # the network's frame: never dissected as a header of the switch
        # Whatever Ether would put after this EtherType.
        for fval, cls in Ether.payload_guess:
            if fval.get("type") == et:
                return cls
        return Raw

    def mysummary(self) -> str:
        names = ", ".join(t.name.removeprefix("Feedback ") for t in self.tlvs)
        return self.sprintf("P4FB dev=%device_id% ") + f"[{names}]"


bind_layers(Ether, FeedbackHeader, type=spec.ETHERTYPE)
bind_layers(Dot1Q, FeedbackHeader, type=spec.ETHERTYPE)
bind_layers(Dot1AD, FeedbackHeader, type=spec.ETHERTYPE)
# Building FeedbackHeader()/IP() fills orig_ethertype; dissection uses guess_payload_class.
bind_layers(FeedbackHeader, IP, orig_ethertype=0x0800)
bind_layers(FeedbackHeader, IPv6, orig_ethertype=0x86DD)
bind_layers(FeedbackHeader, ARP, orig_ethertype=0x0806)
