"""zeek_replay.parse_conn_log reads any conn.log Zeek can write: any subset and order
of columns (per `#fields`), the `#separator`, `#set_separator`, `#empty_field` and
`#unset_field` header lines, and JSON logs (one object per line)."""

from __future__ import annotations

import json
from pathlib import Path

import zeek_replay as z

A, B = 0x0A000002, 0x0A000001


def test_no_uid_column(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(
        "#separator \\x09\n"
        "#fields\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\thistory\n"
        "10.0.0.2\t40000\t10.0.0.1\t80\tShADaFf\n"
        "10.0.0.2\t40001\t10.0.0.1\t80\tS\n"
    )
    rows = z.parse_conn_log(log)
    assert [(r.orig, r.resp, r.history) for r in rows] == [
        ((A, 40000), (B, 80), "ShADaFf"),
        ((A, 40001), (B, 80), "S"),
    ]
    assert len({r.uid for r in rows}) == 2  # still told apart in messages


def test_only_history_column(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text("#separator \\x09\n#fields\thistory\nShADaFf\n")
    (row,) = z.parse_conn_log(log)
    assert (row.history, row.orig, row.packets, row.proto) == ("ShADaFf", None, None, None)


def test_other_separator_and_markers(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(
        "#separator ,\n"
        "#set_separator,|\n"
        "#empty_field,EMPTY\n"
        "#unset_field,NONE\n"
        "#path,conn\n"
        "#fields,history,resp_pkts,id.resp_p,id.resp_h,orig_pkts,id.orig_p,id.orig_h,"
        "tunnel_parents,uid,proto\n"
        "#types,string,count,port,addr,count,port,addr,set[string],string,enum\n"
        "ShAD,3,80,10.0.0.1,4,40000,10.0.0.2,EMPTY,Ca,tcp\n"
        "NONE,NONE,80,10.0.0.1,1,40001,10.0.0.2,Cx|Cy,Cb,tcp\n"
        "#close,2026-01-01-00-00-00\n"
    )
    a, b = z.parse_conn_log(log)
    assert a == z.ZeekConn(
        uid="Ca", history="ShAD", proto="tcp", orig=(A, 40000), resp=(B, 80), packets=7
    )
    assert (b.history, b.packets, b.tunnel) == ("", None, True)


def test_json_log(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    rows = [
        {
            "ts": 1.5,
            "uid": "Ca",
            "id.orig_h": "10.0.0.2",
            "id.orig_p": 40000,
            "id.resp_h": "10.0.0.1",
            "id.resp_p": 80,
            "proto": "tcp",
            "history": "ShADadFf",
            "orig_pkts": 5,
            "resp_pkts": 4,
        },
        {
            "id.orig_h": "10.0.0.2",
            "id.orig_p": 1,
            "id.resp_h": "10.0.0.1",
            "id.resp_p": 2,
            "tunnel_parents": ["Cz"],
        },
        {
            "history": "S",
            "id.orig_h": "fe80::1",
            "id.orig_p": 1,
            "id.resp_h": "fe80::2",
            "id.resp_p": 2,
        },
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    a, b, c = z.parse_conn_log(log)
    assert a == z.ZeekConn(
        uid="Ca", history="ShADadFf", proto="tcp", orig=(A, 40000), resp=(B, 80), packets=9
    )
    assert (b.history, b.tunnel, b.orig) == ("", True, (A, 1))
    assert (c.ipv6, c.orig) == (True, (z.ip4("fe80::1"), 1))  # IPv6 endpoints are keys too


def test_ipv6_and_empty_set_tunnel(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
        "#fields\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\ttunnel_parents\thistory\n"
        "Ca\t2001:db8::1\t1\t2001:db8::2\t2\t(empty)\tS\n"
        "Cb\t10.0.0.2\t1\t10.0.0.1\t2\t(empty)\tS\n"
    )
    a, b = z.parse_conn_log(log)
    assert (a.ipv6, a.orig, a.tunnel) == (True, (z.ip4("2001:db8::1"), 1), False)
    assert (b.ipv6, b.tunnel, b.orig) == (False, False, (A, 1))
