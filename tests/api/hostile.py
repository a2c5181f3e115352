"""
hostile.py - helpers for the hardening tests (t40-t49): requests from another
loopback address, raw exchanges, answers that libmicrohttpd writes itself,
percentiles, and a TLS server.  Standard library only; builds on harness.py
without changing it.
"""
import http.client
import os
import socket
import ssl
import subprocess
import threading
import time

import harness
from harness import REQ_TIMEOUT, SLOW, START_TIMEOUT

# The well-behaved client's address: a second loopback address, so that
# cmsd's per-address limits on 127.0.0.1 (where the hostile clients are) do
# not apply to it.  Linux routes all of 127.0.0.0/8 to lo.
OTHER_ADDR = "127.0.0.2"


class Pinned(object):
    """A stand-in for a Server in req(srv=...) whose port stays the one the
    server had when it was made: after a kill, harness.Server forgets its port
    (None, which http.client would take for port 80), and a later start may
    pick another.  Everything else (the response counters) goes to the server."""

    def __init__(self, srv):
        object.__setattr__(self, "_srv", srv)
        object.__setattr__(self, "port", srv.port)

    def __getattr__(self, name):
        return getattr(object.__getattribute__(self, "_srv"), name)

    def __setattr__(self, name, value):
        setattr(object.__getattribute__(self, "_srv"), name, value)


def req_from(src, method, path, body=None, headers=None, auth=None, raw=None, srv=None,
             timeout=None):
    """harness.req, but from the local address `src` (e.g. OTHER_ADDR)."""
    return harness.req(method, path, body=body, headers=headers, auth=auth, raw=raw, srv=srv,
                       timeout=timeout, source=src)


def connect(srv=None, src=None, timeout=None):
    """A raw TCP connection to the server, from `src` if given."""
    s = srv or harness.current()
    return socket.create_connection(("127.0.0.1", s.port), timeout=timeout or REQ_TIMEOUT,
                                    source_address=(src, 0) if src else None)


def drain(sock, wait):
    """Read until the peer closes or `wait` s pass without data.
    Returns (bytes, closed): closed is True when the peer closed or reset."""
    out = b""
    sock.settimeout(wait)
    while True:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return out, False
        except (ConnectionResetError, BrokenPipeError):
            return out, True
        if not chunk:
            return out, True
        out += chunk


def exchange(data, srv=None, src=None, wait=3.0):
    """Send raw bytes on a new connection; return what came back until close
    (or `wait` s of silence) as bytes."""
    sock = connect(srv, src, timeout=wait)
    try:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        out, _ = drain(sock, wait)
        return out
    finally:
        sock.close()


def parse_http(raw):
    """(status, {lower-case header: value}, body) of one raw HTTP/1.1
    response, or None when `raw` holds no status line."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if not sep or not lines or not lines[0].startswith(b"HTTP/1."):
        return None
    parts = lines[0].split(b" ", 2)
    try:
        status = int(parts[1])
    except (IndexError, ValueError):
        return None
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    n = headers.get("content-length")
    if n is not None and n.isdigit():
        body = body[:int(n)]
    return status, headers, body


def as_resp(raw, method, path, srv=None):
    """A harness.Resp made from raw response bytes (counted for the module's
    X-Request-Id check when srv is given)."""
    p = parse_http(raw)
    assert p is not None, "%s %s: no HTTP answer, got %r" % (method, path, raw[:200])
    status, headers, body = p
    return harness.make_resp(status, list(headers.items()), body, method, path, srv)


def assert_mhd_error(raw, status, what):
    """An error that libmicrohttpd answers itself, before cmsd sees the request
    (docs/decisions.md "HTTP details": 414, 431, 400 for broken chunk framing):
    the status, a short HTML body, and the connection closed."""
    p = parse_http(raw)
    assert p is not None, "%s: expected libmicrohttpd's %d, got no HTTP answer: %r" % (
        what, status, raw[:200])
    got, headers, body = p
    assert got == status, "%s: expected %d, got %d: %r" % (what, status, got, raw[:300])
    eq_close = headers.get("connection", "").lower()
    assert eq_close == "close", "%s: %d without Connection: close (%r)" % (what, status, eq_close)
    assert len(body) < 1024, "%s: %d body of %d bytes" % (what, status, len(body))
    return p


def percentile(values, p):
    """The p-th percentile (0-100) of values, nearest-rank."""
    v = sorted(values)
    if not v:
        return float("nan")
    k = max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))
    return v[k]


def median(values):
    v = sorted(values)
    n = len(v)
    return (v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2.0) if n else float("nan")


def healthy(srv=None, src=None):
    """/health answers 200 {"status":"ok"} (from `src` if given)."""
    r = req_from(src, "GET", "/health", srv=srv) if src else harness.req("GET", "/health", srv=srv)
    harness.expect(r, 200, "health")
    harness.eq(r.json, {"status": "ok"}, "/health body")
    return r


# --------------------------------------------------------------------------
# TLS
# --------------------------------------------------------------------------

def make_cert(directory, cn="localhost"):
    """A self-signed certificate and its key (PEM) in `directory`, made with
    the openssl command; returns (cert_path, key_path)."""
    crt = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=" + cn,
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-keyout", key, "-out", crt],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    assert p.returncode == 0, "openssl req failed: %s" % harness.short(p.stderr)
    return crt, key


def client_context(version=None):
    """An ssl context that trusts anything (the certificate is self-signed);
    `version` (an ssl.TLSVersion) pins both ends of the protocol range."""
    import warnings
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version is not None:
        # TLS 1.0/1.1 need OpenSSL's security level 0 on the client side
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = version
            ctx.maximum_version = version
    return ctx


def https_req(method, path, body=None, headers=None, auth=None, srv=None, timeout=None):
    """harness.req over HTTPS (certificate not verified)."""
    import json
    s = srv or harness.current()
    hdrs = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        hdrs["Content-Type"] = "application/json"
    if auth is not None:
        hdrs["Authorization"] = auth
    hdrs.update(headers or {})
    conn = http.client.HTTPSConnection("127.0.0.1", s.port, timeout=timeout or REQ_TIMEOUT,
                                       context=client_context())
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        rawb = r.read()
        resp = harness.make_resp(r.status, r.getheaders(), rawb, method, path, s)
    finally:
        conn.close()
    if path.split("?")[0].rstrip("/") == harness.BASICAUTH and isinstance(resp.json, dict):
        harness.note_secret(resp.json.get("authToken"))
    return resp


class TlsServer(harness.Server):
    """A harness.Server serving HTTPS with a self-signed certificate made in
    its temporary directory.  start() waits for /health over HTTPS; the
    module's exit and X-Request-Id checks apply as to any Server.  Use
    https_req (or srv.req) instead of harness.req."""

    def __init__(self, extra_args=(), **kw):
        harness.Server.__init__(self, extra_args=extra_args, **kw)
        self.cert, self.key = make_cert(self.tmpdir)
        self.extra_args = ["--tls-cert", self.cert, "--tls-key", self.key] + self.extra_args

    def req(self, method, path, body=None, **kw):
        return https_req(method, path, body, srv=self, **kw)

    def sys_token(self):
        if self._sys_token is None:
            r = self.req("POST", harness.BASICAUTH, {"username": self.admin_user,
                                                    "password": self.admin_password})
            harness.expect(r, 200, "login of the system administrator over TLS")
            self._sys_token = r.json["authToken"]
        return self._sys_token

    def start(self, extra_args=None, env=None):
        # harness.Server.start checks /health over plain HTTP, which a TLS
        # port cannot answer: the same steps, with the check over HTTPS.
        import base64
        assert self.proc is None, "server already running"
        args = self.extra_args if extra_args is None else list(extra_args)
        envd = {k: v for k, v in os.environ.items() if not k.startswith("CMSD_")}
        envd["CMSD_ADMIN_USER"] = self.admin_user
        envd["CMSD_ADMIN_PASSWORD"] = self.admin_password
        envd.update(self.extra_env)
        envd.update(env or {})
        harness.note_secret(self.admin_password)
        harness.note_secret(base64.b64encode(("%s:%s" % (self.admin_user, self.admin_password))
                                             .encode()).decode())
        cmd = self.command(args)
        run = harness.Run(cmd)
        self.runs.append(run)
        self.run = run
        self._sys_token = None
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=envd, cwd=self.tmpdir)
        for stream, lines in ((self.proc.stderr, run.stderr), (self.proc.stdout, run.stdout)):
            t = threading.Thread(target=self._reader, args=(stream, lines, run), daemon=True)
            t.start()
            run.readers.append(t)
        deadline = time.time() + START_TIMEOUT
        ok = self.wait_stderr(lambda ls: any(harness._listening_port(l) for l in ls)
                              or self.proc.poll() is not None, START_TIMEOUT)
        port = next((harness._listening_port(l) for l in list(run.stderr)
                     if harness._listening_port(l)), None)
        if not ok or port is None:
            if self.proc.poll() is None:
                self.proc.kill()
                run.killed = True
            self.proc.wait()
            for t in run.readers:
                t.join(5)
            run.rc = self.proc.returncode
            self.proc = None
            raise RuntimeError("TLS cmsd did not start: %s" % harness.short(
                "\n".join(run.stderr[-20:]), 2000))
        self.port = port
        while True:
            try:
                r = self.req("GET", "/health", timeout=5 * SLOW)
                if r.status == 200:
                    return self
            except (OSError, http.client.HTTPException):
                pass
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("TLS cmsd on %d never answered /health over HTTPS: %s" % (
                    port, harness.short("\n".join(run.stderr[-20:]))))
            time.sleep(0.05)
