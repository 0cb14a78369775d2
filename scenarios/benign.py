"""Benign scenarios: real Debian programs as server (scn-s) and client (scn-c)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from scenarios.hosts import wait_listening
from scenarios.run import Run, Scenario


def _blob(path: Path, size: int, r: Run) -> None:
    path.write_bytes(r.rng.randbytes(size))


def _curl(r: Run, *args: str, check: bool = True) -> str:
    res = r.net.run(
        r.site.client_ns, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} ", *args
    )
    if check and res.returncode != 0:
        raise RuntimeError(f"curl {' '.join(args)}: exit {res.returncode}: {res.stderr}")
    return res.stdout


def _nginx(r: Run, tls: bool) -> None:
    root = r.work / "www"
    root.mkdir()
    os.chmod(root, 0o755)
    conf = r.work / "nginx.conf"
    ssl = ""
    if tls:
        key, cert = r.work / "key.pem", r.work / "cert.pem"
        r.net.run(
            r.site.server_ns,
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=scn-server",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            check=True,
        )
        ssl = (
            f"listen {r.site.server_addr}:443 ssl; ssl_certificate {cert}; "
            f"ssl_certificate_key {key};"
        )
    conf.write_text(
        "user root; worker_processes 1; daemon off; master_process on;\n"
        f"pid {r.work}/nginx.pid; error_log {r.work}/nginx-error.log;\n"
        "events { worker_connections 256; }\n"
        "http { access_log off; keepalive_timeout 10s; sendfile off;\n"
        f"  client_body_temp_path {r.work}/body; proxy_temp_path {r.work}/proxy;\n"
        f"  fastcgi_temp_path {r.work}/fcgi; uwsgi_temp_path {r.work}/uwsgi;\n"
        f"  scgi_temp_path {r.work}/scgi;\n"
        f"  server {{ listen {r.site.server_addr}:80; {ssl} root {root}; }} }}\n",
        encoding="utf-8",
    )
    r.server("nginx", r.site.server_ns, ["nginx", "-c", str(conf), "-p", str(r.work)])
    wait_listening(r.net, r.site.server_ns, 443 if tls else 80)


def http(r: Run) -> None:
    """small objects, a large object, keep-alive, an aborted transfer."""
    _nginx(r, tls=False)
    root = r.work / "www"
    small = [f"s{i}.html" for i in range(r.rng.randint(3, 5))]
    for name in small:
        _blob(root / name, r.rng.randint(500, 20_000), r)
    _blob(root / "large.bin", r.rng.randint(2_000_000, 6_000_000), r)
    _blob(root / "huge.bin", 40_000_000, r)
    with r.sub("small-objects", "benign", "client", {"tcp/80": len(small)}):
        for name in small:
            _curl(r, f"http://{r.site.server_addr}/{name}")
    with r.sub("large-object", "benign", "client", {"tcp/80": 1}):
        _curl(r, f"http://{r.site.server_addr}/large.bin")
    with r.sub("keep-alive", "benign", "client", {"tcp/80": 1}):
        args: list[str] = []
        for name in small:
            args += [f"http://{r.site.server_addr}/{name}", "-o", "/dev/null"]
        _curl(r, *args)
    with r.sub("aborted-transfer", "benign", "client", {"tcp/80": 1}):
        _curl(
            r,
            "--limit-rate",
            "2M",
            "--max-time",
            "0.5",
            f"http://{r.site.server_addr}/huge.bin",
            check=False,
        )


def tls(r: Run) -> None:
    """HTTPS GETs with curl (new connection each, one keep-alive) and an s_client handshake."""
    _nginx(r, tls=True)
    root = r.work / "www"
    names = [f"p{i}.html" for i in range(r.rng.randint(2, 4))]
    for name in names:
        _blob(root / name, r.rng.randint(1_000, 200_000), r)
    url = f"https://{r.site.server_addr}"
    with r.sub("https-get", "benign", "client", {"tcp/443": len(names)}):
        for name in names:
            _curl(r, "-k", f"{url}/{name}")
    with r.sub("https-keep-alive", "benign", "client", {"tcp/443": 1}):
        args: list[str] = ["-k"]
        for name in names:
            args += [f"{url}/{name}", "-o", "/dev/null"]
        _curl(r, *args)
    with r.sub("s-client-handshake", "benign", "client", {"tcp/443": 1}):
        r.net.run(
            r.site.client_ns,
            "openssl",
            "s_client",
            "-connect",
            f"{r.site.server_addr}:443",
            "-servername",
            "scn-server",
            input_text="Q\n",
            check=True,
        )


def dns(r: Run) -> None:
    """dnsmasq as the authoritative server, dig as client, over UDP and TCP."""
    hosts = r.work / "hosts"
    names = [f"h{i}.scn.test" for i in range(r.rng.randint(4, 8))]
    hosts.write_text(
        "".join(f"192.0.2.{r.rng.randint(1, 254)} {n}\n" for n in names),
        encoding="utf-8",
    )
    txt = "x" * 200
    r.server(
        "dnsmasq",
        r.site.server_ns,
        [
            "dnsmasq",
            "--no-daemon",
            "--no-resolv",
            "--no-hosts",
            f"--addn-hosts={hosts}",
            f"--listen-address={r.site.server_addr},{r.site.server_addr6}",
            "--bind-interfaces",
            "--user=root",
            f"--pid-file={r.work}/dnsmasq.pid",
            "--log-facility=-",
            *[f"--txt-record=big.scn.test,{txt}{i}" for i in range(8)],
        ],
    )
    wait_listening(r.net, r.site.server_ns, 53, "udp")
    wait_listening(r.net, r.site.server_ns, 53, "tcp")
    with r.sub("udp-queries", "benign", "client", {"udp/53": len(names) + 1}):
        for n in names:
            r.net.run(
                r.site.client_ns,
                "dig",
                f"@{r.site.server_addr}",
                "+tries=1",
                "+time=2",
                n,
                "A",
                check=True,
            )
        r.net.run(
            r.site.client_ns, "dig", f"@{r.site.server_addr}", "+tries=1", "nx.scn.test", check=True
        )
    with r.sub("udp-queries-ipv6", "benign", "client", {"udp/53": 2}):
        for n in names[:2]:
            r.net.run(
                r.site.client_ns,
                "dig",
                f"@{r.site.server_addr6}",
                "+tries=1",
                "+time=2",
                n,
                "A",
                check=True,
            )
    with r.sub("tcp-queries", "benign", "client", {"tcp/53": 2}):
        r.net.run(r.site.client_ns, "dig", "+tcp", f"@{r.site.server_addr}", names[0], check=True)
        r.net.run(
            r.site.client_ns,
            "dig",
            "+tcp",
            f"@{r.site.server_addr}",
            "big.scn.test",
            "TXT",
            check=True,
        )


def ssh(r: Run) -> None:
    """OpenSSH with keys made for this run: a login running a command, an scp upload."""
    _sshd(r)
    key = r.work / "id_client"
    opts = [*_ssh_opts(r), "-i", str(key)]
    data = r.work / "upload.bin"
    _blob(data, r.rng.randint(100_000, 2_000_000), r)
    with r.sub("login", "benign", "client", {"tcp/22": 1}):
        r.net.run(
            r.site.client_ns,
            "ssh",
            *opts,
            f"root@{r.site.server_addr}",
            "uname -s; sleep 0.2",
            check=True,
        )
    with r.sub("scp-upload", "benign", "client", {"tcp/22": 1}):
        r.net.run(
            r.site.client_ns,
            "scp",
            "-q",
            *opts,
            str(data),
            f"root@{r.site.server_addr}:{r.work}/up.bin",
            check=True,
        )


def _ssh_opts(r: Run, batch: bool = True) -> list[str]:
    return [
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        f"UserKnownHostsFile={r.work}/known_hosts",
        "-o",
        f"BatchMode={'yes' if batch else 'no'}",
        "-o",
        "ConnectTimeout=5",
        "-F",
        "/dev/null",
    ]


def _sshd(r: Run, password: bool = False) -> None:
    """sshd on port 22 of the server with a host key and the client's key made now."""
    hostkey, key = r.work / "ssh_host_ed25519_key", r.work / "id_client"
    for path in (hostkey, key):
        r.net.run(
            r.site.server_ns,
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            str(path),
            check=True,
        )
    auth = r.work / "authorized_keys"
    auth.write_text((r.work / "id_client.pub").read_text(), encoding="utf-8")
    conf = r.work / "sshd_config"
    conf.write_text(
        f"ListenAddress {r.site.server_addr}\nHostKey {hostkey}\nAuthorizedKeysFile {auth}\n"
        f"PidFile {r.work}/sshd.pid\nPermitRootLogin prohibit-password\nUsePAM no\n"
        f"StrictModes no\nPasswordAuthentication {'yes' if password else 'no'}\n"
        "Subsystem sftp internal-sftp\nKbdInteractiveAuthentication no\n"
        "MaxStartups 100\nMaxAuthTries 2\nLoginGraceTime 10\n",
        encoding="utf-8",
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    r.server("sshd", r.site.server_ns, [_which("sshd"), "-D", "-e", "-f", str(conf)])
    wait_listening(r.net, r.site.server_ns, 22)


def _which(prog: str) -> str:
    for d in ("/usr/sbin", "/usr/bin", "/sbin"):
        if (Path(d) / prog).exists():
            return str(Path(d) / prog)
    return prog


def ftp(r: Run) -> None:
    """vsftpd (anonymous area with an upload directory) and curl: get, put, mget, a failed
    login. Passive mode: a data connection per transfer and per listing."""
    root = r.work / "ftp"
    (root / "pub").mkdir(parents=True)
    (root / "incoming").mkdir()
    os.chmod(root, 0o555)
    os.chmod(root / "incoming", 0o777)
    files = [f"f{i}.dat" for i in range(r.rng.randint(2, 4))]
    for name in files:
        _blob(root / "pub" / name, r.rng.randint(5_000, 300_000), r)
    up = r.work / "up.dat"
    _blob(up, r.rng.randint(5_000, 100_000), r)
    conf = r.work / "vsftpd.conf"
    conf.write_text(
        f"listen=YES\nlisten_address={r.site.server_addr}\nbackground=NO\nanonymous_enable=YES\n"
        f"anon_root={root}\nno_anon_password=YES\nlocal_enable=YES\nwrite_enable=YES\n"
        "anon_upload_enable=YES\nanon_umask=022\npasv_enable=YES\npasv_min_port=40000\n"
        "pasv_max_port=40100\nseccomp_sandbox=NO\nxferlog_enable=NO\n"
        "secure_chroot_dir=/var/run/vsftpd/empty\npam_service_name=vsftpd\n"
        "delay_failed_login=0\n",
        encoding="utf-8",
    )
    conf.chmod(0o600)
    Path("/var/run/vsftpd/empty").mkdir(parents=True, exist_ok=True)
    r.server("vsftpd", r.site.server_ns, [_which("vsftpd"), str(conf)])
    wait_listening(r.net, r.site.server_ns, 21)
    url = f"ftp://{r.site.server_addr}"
    with r.sub("get", "benign", "client", {"tcp/21": 1, "tcp/*": 1}):
        _curl(r, f"{url}/pub/{files[0]}")
    with r.sub("put", "benign", "client", {"tcp/21": 1, "tcp/*": 1}):
        _curl(r, "-T", str(up), f"{url}/incoming/up.dat")
    with r.sub("mget", "benign", "client", {"tcp/21": 1, "tcp/*": len(files) + 1}):
        args = [f"{url}/pub/"]  # the listing, then each file on the same control connection
        for name in files:
            args += ["-o", "/dev/null", f"{url}/pub/{name}"]
        _curl(r, "-l", *args)
    with r.sub("failed-login", "benign", "client", {"tcp/21": 1}):
        _curl(r, "-u", "scnuser:wrong", f"{url}/", check=False)


def smtp(r: Run) -> None:
    """aiosmtpd (PyPI) as the mail server, swaks as client: plain mails and one with an
    attachment, then a session that quits after EHLO."""
    r.server(
        "aiosmtpd",
        r.site.server_ns,
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"{r.site.server_addr}:25",
            "-c",
            "aiosmtpd.handlers.Sink",
        ],
    )
    wait_listening(r.net, r.site.server_ns, 25)
    n = r.rng.randint(2, 4)
    att = r.work / "attachment.bin"
    _blob(att, r.rng.randint(10_000, 100_000), r)
    base = ["swaks", "--server", r.site.server_addr, "--from", "alice@scn.test", "--silent", "1"]
    with r.sub("send-mail", "benign", "client", {"tcp/25": n + 1}):
        for i in range(n):
            r.net.run(
                r.site.client_ns,
                *base,
                "--to",
                f"bob{i}@scn.test",
                "--body",
                f"message {i}: " + "y" * r.rng.randint(10, 900),
                check=True,
            )
        r.net.run(
            r.site.client_ns, *base, "--to", "carol@scn.test", "--attach", str(att), check=True
        )
    with r.sub("quit-after-ehlo", "benign", "client", {"tcp/25": 1}):
        r.net.run(
            r.site.client_ns, *base, "--to", "dave@scn.test", "--quit-after", "EHLO", check=True
        )
    time.sleep(0.1)


BENIGN = [
    Scenario(
        "http",
        ("nginx", "curl"),
        http,
        "nginx + curl: small/large objects, keep-alive, aborted transfer",
    ),
    Scenario(
        "tls", ("nginx", "curl", "openssl"), tls, "nginx TLS (self-signed) + curl, openssl s_client"
    ),
    Scenario("ssh", ("sshd", "ssh", "scp", "ssh-keygen"), ssh, "OpenSSH: login, scp"),
    Scenario("ftp", ("vsftpd", "curl"), ftp, "vsftpd + curl: get, put, mget, failed login"),
    Scenario("dns", ("dnsmasq", "dig"), dns, "dnsmasq + dig over UDP and TCP"),
    Scenario("smtp", ("swaks",), smtp, "aiosmtpd + swaks: mails, attachment, quit after EHLO"),
]
