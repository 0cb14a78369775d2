"""Comparing frames that carry a feedback header: masks for the switch clock and
readable failure messages. The clock fields are found from the one spec
(feedback_header/spec.py: every field rendered as `time_us`), so no offsets are
written here twice."""

from __future__ import annotations

from ptf.mask import Mask

from feedback_header import codec, spec

_FIXED_TIMES = tuple(off for f, off in spec.FIXED.offsets() if f.fmt == "time_us")
_RECORD_TIMES: dict[int, tuple[int, ...]] = {
    t.code: tuple(off for f, off in t.offsets() if f.fmt == "time_us") for t in spec.TLVS
}


def clock_mask(expected: bytes) -> Mask:
    """Mask over `expected` that ignores only the switch clock: the fixed part's
    timestamp and every time field of every record (on veths the clock is wall time)."""
    mask = Mask(expected)
    h0 = codec.find_header(expected)
    if h0 is None:
        return mask
    for t in _FIXED_TIMES:
        mask.set_do_not_care((h0 + t) * 8, 48)
    off = h0 + codec.FIXED_SIZE
    for rec in codec.decode(expected).records:
        for t in _RECORD_TIMES.get(getattr(rec, "TYPE", -1), ()):
            mask.set_do_not_care((off + t) * 8, 48)
        off += len(rec.pack())
    return mask


def describe(frame: bytes) -> str:
    """A readable account of a frame for failure messages."""
    try:
        d = codec.try_decode(frame)
    except codec.FeedbackDecodeError as e:
        return f"malformed feedback header ({e}); {len(frame)} bytes {frame.hex()}"
    if d is None:
        return f"no feedback header; {len(frame)} bytes {frame.hex()}"
    recs = "\n    ".join(repr(r) for r in d.records)
    return f"feedback {d.header!r}\n    {recs}\n  {len(frame)} bytes {frame.hex()}"
