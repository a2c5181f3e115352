"""
t43 - HTTPS (issue 5): cmsd with --tls-cert/--tls-key and a self-signed
certificate made by openssl; the vendor page's own curl lines (from
../shared/seed/, PUT and GET, with -k added and the host replaced) run with
the real curl binary; plain HTTP and silence on the TLS port end cleanly;
TLS 1.0 and 1.1 refused, 1.2 and 1.3 served; a missing
or broken certificate or key stops cmsd at start, saying so.
"""
import concurrent.futures
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import types

import harness
from harness import *  # noqa: F401,F403
from harness import SLOW, REQ_TIMEOUT, VALGRIND
import hostile

# the vendor page's curl lines, copied from ../shared/seed/ as printed there,
# so that the test runs from any clone
SEED_DIR = os.path.join(harness.REPO, "tests", "api", "data", "vendor")
T = None        # the TLS server
V = None        # the vendor example's objects on it


def setup_module():
    global T, V
    T = hostile.TlsServer(extra_args=["--timeout", "3"]).start()
    V = vendor_example(T)


def tls(method, path, body=None, **kw):
    return T.req(method, path, body, **kw)


def vendor_example(srv):
    """The seed's example, made over HTTPS: users anav_agent, exe_gs and
    madhur1 enrolled in a campaign with one lead attached, and a token of a
    Supervisor of that contact center."""
    v = types.SimpleNamespace()
    sysauth = bearer(srv.sys_token())
    v.cc = expect(srv.req("POST", BASE + "/cc", {"name": "tls-" + uniq()}, auth=sysauth),
                  201, "cc")["contactCenterId"]
    v.users = ["anav_agent", "exe_gs", "madhur1"]
    v.sup = "sup_" + uniq()
    pw = random_password()
    note_secret(pw)
    for uid, role, p in [(u, "Agent", None) for u in v.users] + [(v.sup, "Supervisor", pw)]:
        b = {"userId": uid, "name": uid, "role": role}
        if p:
            b["password"] = p
        expect(srv.req("POST", cc_path(v.cc) + "/user", b, auth=sysauth), 201, "user " + uid)
    v.p = expect(srv.req("POST", cc_path(v.cc) + "/process", {"processName": "p"}, auth=sysauth),
                 201, "process")["processId"]
    v.lead = expect(srv.req("POST", proc_path(v.cc, v.p) + "/lead", {"leadName": "l"},
                            auth=sysauth), 201, "lead")["leadId"]
    v.c = expect(srv.req("POST", proc_path(v.cc, v.p) + "/campaign", {"campaignName": "c"},
                         auth=sysauth), 201, "campaign")["campaignId"]
    r = srv.req("POST", camp_path(v.cc, v.p, v.c) + "/campaign-user", {"userIds": v.users},
                auth=sysauth)
    v.cu = {o["userId"]: o["campaignUserId"] for o in expect(r, 201, "enroll")}
    v.cl = expect(srv.req("POST", camp_path(v.cc, v.p, v.c) + "/campaign-lead",
                          {"leadId": v.lead}, auth=sysauth), 201, "attach")["campaignLeadId"]
    r = srv.req("POST", BASICAUTH, {"username": v.sup, "password": pw})
    v.token = expect(r, 200, "supervisor login over TLS")["authToken"]
    note_secret(v.token)
    return v


# ---- the vendor's curl lines ------------------------------------------------------------

def seed_curl_lines():
    """The vendor page's curl commands, as printed (its line continuations were
    flattened into ' \\ ' when the page was saved; they are restored)."""
    lines = []
    for f in sorted(os.listdir(SEED_DIR)):
        with open(os.path.join(SEED_DIR, f), encoding="utf-8") as fh:
            lines += [l.strip() for l in fh if l.strip().startswith("curl ")]
    return [l.replace(" \\ ", " \\\n") for l in lines]


def run_curl(cmd, what):
    assert shutil.which("curl"), "curl is not installed"
    p = subprocess.run(["bash", "-c", cmd], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=REQ_TIMEOUT + 10)
    return p


def vendor_command(template):
    """A seed curl line with the host and port of T, the example's ids and
    token filled in, and -k added (the certificate is self-signed)."""
    cmd = template
    for k, v in (("{{Cms_Domain_Name}}:{{port}}", "127.0.0.1:%d" % T.port),
                 ("{Cms_Domain_Name}:443", "127.0.0.1:%d" % T.port),
                 ("{{authToken}}", V.token), ("{{leadId}}", str(V.lead)),
                 ("{{campaignId}}", str(V.c)), ("{{assignedUserIds}}", '["anav_agent"]'),
                 ("{{unassignedUserIds}}", '["exe_gs","madhur1"]')):
        cmd = cmd.replace(k, v)
    assert "{" + "{" not in cmd and "{Cms" not in cmd, "unfilled template: %s" % cmd
    assert cmd.startswith("curl "), cmd
    return "curl -k " + cmd[len("curl "):]


def curl_json(cmd, what):
    p = run_curl(cmd, what)
    assert p.returncode == 0, "%s: curl exit %d: %s" % (what, p.returncode, short(p.stderr))
    try:
        return json.loads(p.stdout.decode())
    except ValueError:
        raise AssertionError("%s: curl printed no JSON: %s" % (what, short(p.stdout)))


def test_vendor_curl_lines_over_https():
    lines = seed_curl_lines()
    puts = [l for l in lines if "PUT" in l.split("\n")[0]]
    gets = [l for l in lines if "'GET'" in l.split("\n")[0] or " GET " in l.split("\n")[0]]
    eq((len(puts), len(gets)), (1, 1), "curl lines in the seed (PUT, GET)")
    put = vendor_command(puts[0])
    assert "https://127.0.0.1:%d/" % T.port in put, put
    b = curl_json(put, "the vendor's PUT")
    check_mapping(b, V.c, V.lead, V.cl, ["anav_agent"], ["exe_gs", "madhur1"], V.cu,
                  "the vendor's PUT over HTTPS")
    # the same line again, looking only at the status
    p = run_curl(put + " --silent --output /dev/null --write-out '%{http_code} %{scheme}'", "PUT")
    eq(p.stdout.decode().strip(), "200 HTTPS", "status and scheme of the vendor's PUT")
    get = vendor_command(gets[0])
    got = curl_json(get, "the vendor's GET")
    assert isinstance(got, list), "the vendor's GET (no query): not a list: %r" % got
    eq(len(got), 1, "lead mappings of the contact center")
    check_mapping(got[0], V.c, V.lead, V.cl, ["anav_agent"], ["exe_gs", "madhur1"], V.cu,
                  "the vendor's GET over HTTPS")
    # the certificate is really checked by curl, and really is ours
    p = run_curl("curl " + put[len("curl -k "):], "PUT without -k")
    eq(p.returncode, 60, "curl without -k against a self-signed certificate (exit code): %s"
       % short(p.stderr))
    p = run_curl(put.replace("curl -k ", "curl --cacert '%s' " % T.cert, 1), "PUT with --cacert")
    eq(p.returncode, 0, "curl trusting the server's own certificate: %s" % short(p.stderr))


def test_https_keeps_the_api_contract():
    """Errors, the body limit and keep-alive behave over TLS as over HTTP."""
    r = tls("GET", cc_path(V.cc))
    assert_error(r, 401, "AUTH-1001", "no credentials over TLS")
    r = tls("PUT", MAPPING, {"leadId": V.lead, "campaignId": V.c, "assignedUserIds": ["nobody"],
                             "unassignedUserIds": []}, auth=bearer(V.token))
    assert_missing(assert_error(r, 404, "CONF-1001", "unknown user over TLS"),
                   [("campaignUser", "nobody")])
    # a body announced over the limit is refused before it is sent
    raw = socket.create_connection(("127.0.0.1", T.port), timeout=REQ_TIMEOUT)
    sock = hostile.client_context().wrap_socket(raw)
    try:
        sock.sendall(request_head("PUT", MAPPING, {
            "Content-Type": "application/json", "Content-Length": str(MIB + 1),
            "Authorization": bearer(V.token)}))
        r = read_response(sock, "PUT", MAPPING, srv=T)
    finally:
        sock.close()
    assert_error(r, 413, "HTTP-1413", "1 MiB + 1 announced over TLS")
    # several requests on one TLS connection
    conn = http.client.HTTPSConnection("127.0.0.1", T.port, timeout=REQ_TIMEOUT,
                                       context=hostile.client_context())
    try:
        for i in range(5):
            conn.request("GET", "%s?campaignId=%d&leadId=%d" % (MAPPING, V.c, V.lead),
                         headers={"Authorization": bearer(V.token)})
            r = conn.getresponse()
            body = r.read()
            eq(r.status, 200, "request %d on one TLS connection: %s" % (i + 1, short(body)))
            assert r.getheader("X-Request-Id"), "no X-Request-Id"
            T.responses += 1
    finally:
        conn.close()
    # many at once (fewer under valgrind, where handshakes queue past --timeout 3)
    n, width = (8, 4) if VALGRIND else (48, 16)
    with concurrent.futures.ThreadPoolExecutor(width) as ex:
        rs = list(ex.map(lambda i: tls("GET", "/health"), range(n)))
    eq(sorted(set(r.status for r in rs)), [200], "%d concurrent HTTPS /health" % n)


# ---- what is not TLS ---------------------------------------------------------------------

def test_plain_http_to_the_tls_port_fails_cleanly():
    """Plain HTTP is refused at once; other bytes that are not TLS at the
    latest by --timeout (3 s here).  Never a plain-text answer."""
    cases = [(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 1.5),
             (b"PUT " + MAPPING.encode() + b" HTTP/1.1\r\nHost: x\r\n"
              b"Content-Length: 2\r\nContent-Type: application/json\r\n\r\n{}", 1.5),
             (b"\x16\x03\x01\x00\x05hello", 3 + 1.5), (b"\x00" * 64, 3 + 1.5),
             (b"\xff" * 5000, 3 + 1.5)]
    socks = []
    t0 = time.time()
    try:
        for data, bound in cases:
            sock = hostile.connect(T, timeout=5)
            socks.append(sock)
            try:
                sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
        for (data, bound), sock in zip(cases, socks):
            raw, closed = hostile.drain(sock, max(0.1, t0 + 5 * SLOW - time.time()))
            took = time.time() - t0
            assert closed, "plain %r: connection still open after %.1f s" % (data[:16], took)
            assert took < bound * SLOW, "plain %r: closed only after %.1f s" % (data[:16], took)
            assert not raw.startswith(b"HTTP/"), "plain %r answered in plain HTTP: %r" % (
                data[:16], raw[:100])
    finally:
        for sock in socks:
            sock.close()
    # the plain client library sees a clean failure, not a hang
    conn = http.client.HTTPConnection("127.0.0.1", T.port, timeout=5)
    try:
        conn.request("GET", "/health")
        try:
            conn.getresponse()
            raise AssertionError("a plain HTTP request to the TLS port got an HTTP answer")
        except (http.client.HTTPException, ConnectionError):
            pass
    finally:
        conn.close()
    # 30 at once, and TLS still works
    def plain(i):
        return hostile.exchange(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", srv=T, wait=3)
    with concurrent.futures.ThreadPoolExecutor(10) as ex:
        outs = list(ex.map(plain, range(30)))
    assert not any(o.startswith(b"HTTP/") for o in outs), "a plain answer among 30"
    expect(tls("GET", "/health"), 200, "health over TLS afterwards")


def test_silent_and_half_handshakes_are_closed_by_timeout():
    """A connection that never finishes its TLS handshake is closed by
    --timeout (3 s here) like any silent one."""
    socks = {"nothing": b"", "half a ClientHello": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"}
    opened = {}
    t0 = time.time()
    try:
        for name, data in socks.items():
            s = hostile.connect(T, timeout=5)
            if data:
                s.sendall(data)
            opened[name] = s
        for name, s in opened.items():
            raw, closed = hostile.drain(s, max(0.1, t0 + 3 + 3 * SLOW - time.time()))
            assert closed, "%s: still open %.1f s later (--timeout 3)" % (name, time.time() - t0)
    finally:
        for s in opened.values():
            s.close()
    assert time.time() - t0 >= 2.5, "closed before the timeout"
    expect(tls("GET", "/health"), 200, "health over TLS afterwards")


def handshake(port, version):
    """The TLS version negotiated with 127.0.0.1:port pinned to `version`, or
    the error text."""
    ctx = hostile.client_context(version)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw) as s:
                return s.version()
    except (ssl.SSLError, OSError) as e:
        return "refused: %s" % e


class OldTlsReference(threading.Thread):
    """A Python TLS server that allows TLS 1.0: shows whether this client can
    speak TLS 1.0/1.1 at all before cmsd is judged on refusing them."""

    def __init__(self, cert, key):
        threading.Thread.__init__(self, daemon=True)
        import warnings
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self.ctx.minimum_version = ssl.TLSVersion.TLSv1
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.2)
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            try:
                c.settimeout(5)
                with self.ctx.wrap_socket(c, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass
        self.sock.close()


def test_tls_versions():
    got = {}
    for name in ("TLSv1", "TLSv1_1", "TLSv1_2", "TLSv1_3"):
        got[name] = handshake(T.port, getattr(ssl.TLSVersion, name))
    print("# t43 TLS versions against cmsd: %s" % ", ".join(
        "%s %s" % (k, "accepted" if not v.startswith("refused") else "refused")
        for k, v in got.items()), flush=True)
    eq(got["TLSv1_2"], "TLSv1.2", "TLS 1.2 handshake")
    eq(got["TLSv1_3"], "TLSv1.3", "TLS 1.3 handshake")
    ref = OldTlsReference(T.cert, T.key)
    ref.start()
    try:
        can = {n: handshake(ref.port, getattr(ssl.TLSVersion, n)) for n in ("TLSv1", "TLSv1_1")}
    finally:
        ref.stop.set()
        ref.join(5)
    old_ok = [n for n in ("TLSv1", "TLSv1_1") if not can[n].startswith("refused")]
    if not old_ok:
        skip("this machine's OpenSSL cannot speak TLS 1.0/1.1 (%s): cannot test their refusal"
             % can)
    # RFC 8996: TLS 1.0 and 1.1 are deprecated (libmicrohttpd's default GnuTLS
    # priorities, "NORMAL", still offered them before cmsd set its own)
    accepted = [n for n in old_ok if not got[n].startswith("refused")]
    assert not accepted, "cmsd accepts %s" % " and ".join(
        n.replace("TLSv1_1", "TLS 1.1").replace("TLSv1", "TLS 1.0") for n in accepted)
    expect(tls("GET", "/health"), 200, "health after the old handshakes")


# ---- bad certificate or key ----------------------------------------------------------------

def start_fails(args, what):
    """Start cmsd with `args`; it must exit non-zero, soon, without listening.
    Returns its stderr lines."""
    other = Server()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMSD_")}
    env.update({"CMSD_ADMIN_USER": "tlsadmin", "CMSD_ADMIN_PASSWORD": random_password()})
    t0 = time.time()
    p = subprocess.run(other.command(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, cwd=other.tmpdir, timeout=60 * SLOW)
    took = time.time() - t0
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode != 0, "%s: cmsd started (exit %d): %s" % (what, p.returncode, short(err))
    assert took < 20 * SLOW, "%s: took %.1f s to give up" % (what, took)
    lines = err.splitlines()
    assert not any(harness._listening_port(l) for l in lines), "%s: it listened" % what
    for m in harness.SAN_MARKERS:
        assert m not in err, "%s: %s in stderr: %s" % (what, m, short(err))
    for l in lines:
        if "definitely lost" in l and re.search(r"[1-9][\d,]* bytes", l):
            raise AssertionError("%s: %s" % (what, l))
    return lines


def bad_tls_files():
    d = T.tmpdir
    garbage = os.path.join(d, "garbage.pem")
    with open(garbage, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    empty = os.path.join(d, "empty.pem")
    open(empty, "w").close()
    other_dir = os.path.join(d, "other")
    os.makedirs(other_dir, exist_ok=True)
    other_crt, other_key = hostile.make_cert(other_dir, "other")
    missing = os.path.join(d, "no-such-file.pem")
    c, k = T.cert, T.key
    return [
        ("a missing certificate", missing, k, missing),
        ("a missing key", c, missing, missing),
        ("a directory as certificate", d, k, d),
        ("an empty certificate", empty, k, empty),
        ("an empty key", c, empty, empty),
        ("a garbage certificate", garbage, k, garbage),
        ("a garbage key", c, garbage, garbage),
        ("a key of another certificate", c, other_key, other_key),
        ("certificate and key swapped", k, c, None),
    ]


_BAD_RUNS = []


def bad_runs():
    """(what, culprit, stderr lines) of cmsd started with each bad file, once
    for both tests below (each start costs seconds under valgrind)."""
    if not _BAD_RUNS:
        files = bad_tls_files()
        with concurrent.futures.ThreadPoolExecutor(3) as ex:
            runs = list(ex.map(lambda f: start_fails(["--tls-cert", f[1], "--tls-key", f[2]],
                                                     f[0]), files))
        _BAD_RUNS.extend((f[0], f[3], lines) for f, lines in zip(files, runs))
    return _BAD_RUNS


def test_bad_certificate_or_key_stops_cmsd():
    for what, culprit, lines in bad_runs():
        text = "\n".join(lines).lower()
        assert "tls" in text and ("certificate" in text or "key" in text), \
            "%s: nothing in stderr says the TLS certificate or key is at fault: %s" % (
                what, short("\n".join(lines)))
    for args, what in ((["--tls-cert", T.cert], "--tls-cert without --tls-key"),
                       (["--tls-key", T.key], "--tls-key without --tls-cert")):
        lines = start_fails(args, what)
        assert any("--tls-cert" in l and "--tls-key" in l for l in lines), \
            "%s: %s" % (what, short("\n".join(lines)))


def test_bad_tls_file_is_named_in_the_error():
    """An operator with two files wants to know which one is wrong: the
    error names the file (and, for files that cannot be read, why)."""
    problems = []
    for what, culprit, lines in bad_runs():
        if culprit is None:
            continue
        errors = [l for l in lines if '"level":"error"' in l.replace(" ", "")]
        if not any(culprit in l for l in errors):
            problems.append("%s: %s" % (what, " | ".join(l[-110:] for l in errors)
                                        or "no error line"))
    assert not problems, "the error does not name the file at fault: %s" % "; ".join(problems)
