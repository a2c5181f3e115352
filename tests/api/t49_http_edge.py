"""
t49 - the HTTP edge as ordinary clients meet it (issue 14, points 11-13):

- an answer given before the body was read (413 over --body-limit, 401,
  415, 405...) reaches Python's http.client, Node's fetch and curl while they
  are still sending: the close lingers (src/linger.c), within its bounds;
- HEAD is served wherever GET is, without a body; a request without Host (in
  HTTP/1.1), with two Host or two Authorization fields, is refused 400; a
  head over cmsd's bounds (src/head.h) gets the 431 envelope;
- Cache-Control: no-store on every answer but the embedded files; over TLS
  Strict-Transport-Security, and only TLS 1.2 suites with forward secrecy
  and AEAD; names with C1 control characters refused.
"""
import http.client
import json
import os
import shutil
import socket
import subprocess
import time

from harness import *  # noqa: F401,F403
from harness import SLOW, VALGRIND, HERE
import hostile

S = None
F = None
BIG = 2 * 1000 * 1000          # a body twice the 1 MiB limit
TRIES = 4 if VALGRIND else 10   # under valgrind each try is slow and tells less


def setup_module():
    global S, F
    S = use(Server().start())
    F = make_fixture(extra_agents=0)


# ---- point 11: the answer reaches a client still sending its body -------------------------

def python_tries(method, path, size, auth=None, ctype="application/json", tries=TRIES):
    """`tries` requests with http.client, each sending `size` bytes whole
    before it reads; [(status, json) or ("error", repr)]."""
    out = []
    for _ in range(tries):
        c = http.client.HTTPConnection("127.0.0.1", S.port, timeout=20 * SLOW)
        hdrs = {"Content-Type": ctype}
        if auth:
            hdrs["Authorization"] = auth
        try:
            c.request(method, path, body=b"x" * size, headers=hdrs)
            r = c.getresponse()
            raw = r.read()
            out.append((r.status, json.loads(raw.decode("utf-8")) if raw else None))
        except (OSError, http.client.HTTPException) as e:
            out.append(("error", repr(e)))
        finally:
            c.close()
    return out


def check_all_read(results, status, code, what):
    bad = [r for r in results if r[0] != status or (r[1] or {}).get("errorCode") != code]
    print("# %s: %d of %d read the %d %s" % (what, len(results) - len(bad), len(results),
                                            status, code))
    assert not bad, "%s: %d of %d did not read the %d envelope: %s" % (
        what, len(bad), len(results), status, short(repr(bad[:3]), 300))


def test_python_http_client_reads_the_413():
    check_all_read(python_tries("POST", BASICAUTH, BIG), 413, "HTTP-1413",
                   "http.client, 2 MB login body")
    check_all_read(python_tries("PUT", MAPPING, BIG, auth=F.auth("admin")), 413, "HTTP-1413",
                   "http.client, 2 MB mapping PUT")


def test_python_http_client_reads_refusals_decided_on_the_headers():
    n = 3 if VALGRIND else 5
    size = 900 * 1000   # under the limit: refused for what the head says
    check_all_read(python_tries("PUT", MAPPING, size, tries=n), 401, "AUTH-1001",
                   "http.client, PUT without credentials")
    check_all_read(python_tries("PUT", MAPPING, size, auth=F.auth("admin"), ctype="text/plain",
                                tries=n), 415, "HTTP-1415", "http.client, text/plain PUT")
    check_all_read(python_tries("POST", F.cc_path, size, auth=F.auth("admin"), tries=n),
                   405, "HTTP-1405", "http.client, POST where only GET and DELETE are")
    check_all_read(python_tries("POST", BASE + "/nowhere", size, tries=n), 404, "HTTP-1404",
                   "http.client, POST to no endpoint")
    check_all_read(python_tries("POST", F.cc_path + "/process", size, auth=F.auth("agent"),
                                tries=n), 403, "AUTH-1003", "http.client, an Agent's create")


def node_tries(method, path, size, auth=None, tries=TRIES):
    node = shutil.which("node")
    if not node:
        skip("node is not installed")
    p = subprocess.run([node, os.path.join(HERE, "post_big.mjs"),
                        "http://127.0.0.1:%d%s" % (S.port, path), method, str(size), str(tries)]
                       + ([auth] if auth else []),
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60 * SLOW)
    lines = [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]
    assert len(lines) == tries, "node printed %d lines: %s %s" % (
        len(lines), short(p.stdout), short(p.stderr))
    return [(l["status"], json.loads(l["body"])) if "status" in l else ("error", l)
            for l in lines]


def test_node_fetch_reads_the_413():
    # fetch fails less often than http.client (before the lingering close:
    # 1 to 5 tries of 10 with 2 MB, 17 of 30 with 3.5 MB): 30 tries of 3.5 MB
    check_all_read(node_tries("POST", BASICAUTH, 3500 * 1000, tries=8 if VALGRIND else 30), 413, "HTTP-1413",
                   "Node fetch, 3.5 MB login body")
    check_all_read(node_tries("POST", BASICAUTH, BIG), 413, "HTTP-1413",
                   "Node fetch, 2 MB login body")
    check_all_read(node_tries("PUT", MAPPING, 900 * 1000, tries=5), 401, "AUTH-1001",
                   "Node fetch, PUT without credentials")


def test_curl_reads_the_413():
    curl = shutil.which("curl")
    if not curl:
        skip("curl is not installed")
    path = os.path.join(S.tmpdir, "big.json")
    with open(path, "wb") as f:
        f.write(b"x" * BIG)
    # curl waits for 100-continue on a large body; with `Expect:` empty it sends at once
    for expect_hdr in ([], ["-H", "Expect:"]):
        for _ in range(3):
            p = subprocess.run([curl, "-sS", "-o", "-", "-w", "\n%{http_code}", "-X", "POST",
                                "-H", "Content-Type: application/json"] + expect_hdr +
                               ["--data-binary", "@" + path,
                                "http://127.0.0.1:%d%s" % (S.port, BASICAUTH)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=30 * SLOW)
            body, _, code = p.stdout.decode().rpartition("\n")
            what = "curl %s" % " ".join(expect_hdr or ["(Expect: 100-continue)"])
            assert code == "413", "%s: %r exit %d %s" % (what, code, p.returncode,
                                                         short(p.stderr))
            eq(json.loads(body).get("errorCode"), "HTTP-1413", what)
    print("# curl, with and without Expect: 100-continue: 6 of 6 read the 413")


def send_after_answer(sock, chunk, pace, limit_s):
    """Send `chunk` every `pace` s until the peer stops taking it or limit_s
    passes; returns (bytes sent, seconds)."""
    t0 = time.time()
    sent = 0
    sock.settimeout(5 * SLOW)
    while time.time() - t0 < limit_s:
        try:
            sock.sendall(chunk)
        except OSError:
            break
        sent += len(chunk)
        if pace:
            time.sleep(pace)
    return sent, time.time() - t0


def server_holds(sock):
    """Whether cmsd still holds (a descriptor of) its end of the connection
    `sock` is the client end of: its row in /proc/net/tcp has an inode; an
    orphan (closed, the kernel finishing it) has none."""
    lport = sock.getsockname()[1]
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            local, remote, inode = parts[1], parts[2], parts[9]
            if int(local.split(":")[1], 16) == S.port and \
                    int(remote.split(":")[1], 16) == lport:
                return inode != "0"
    return False


def held_for(sock, limit):
    """Seconds until cmsd lets go of the connection (at most `limit`)."""
    t0 = time.time()
    while server_holds(sock) and time.time() - t0 < limit:
        time.sleep(0.05)
    return time.time() - t0


def test_lingering_is_bounded():
    """After an early answer cmsd reads and throws away at most 4 MiB
    (4 x --body-limit), for at most 10 s, with at most 2 s of silence."""
    head = request_head("POST", BASICAUTH, {"Content-Type": "application/json",
                                            "Content-Length": str(10 ** 12)})
    # a client that never stops: cut after the byte bound (plus what the
    # kernel's buffers hold)
    s = open_socket()
    try:
        s.sendall(head)
        sent, took = send_after_answer(s, b"x" * 65536, 0, 30 * SLOW)
        raw, _ = hostile.drain(s, 1)
    finally:
        s.close()
    print("# endless body after the 413: taken %.1f MB in %.1f s, then cut" % (sent / 1e6, took))
    assert sent < 4 * MIB + 16 * MIB, "cmsd took %d bytes after its answer" % sent
    assert took < 12 * SLOW, "the lingering lasted %.1f s" % took
    # a client that goes silent: closed after about 2 s
    s = open_socket()
    try:
        s.sendall(head + b"x" * 1000)
        raw, closed = hostile.drain(s, 1 * SLOW)  # the answer, then the end of stream
        took = held_for(s, 8 * SLOW)
    finally:
        s.close()
    assert closed, "no end of stream after the answer"
    r = hostile.as_resp(raw, "POST", BASICAUTH, S)
    assert_error(r, 413, "HTTP-1413", "413 before the silence")
    print("# a silent client after the 413: closed after %.1f s" % took)
    assert 0.5 < took < 4 * SLOW, "closed after %.1f s of silence (bound 2 s)" % took
    # a client that trickles: closed at the 10 s bound
    if not VALGRIND:
        s = open_socket()
        try:
            s.sendall(head)
            sent, took = send_after_answer(s, b"x" * 100, 0.5, 20)
        finally:
            s.close()
        print("# a trickle after the 413: cut after %.1f s" % took)
        assert 9 < took < 13, "a trickle lingered %.1f s (bound 10 s)" % took
    expect(req("GET", "/health"), 200, "health after the lingering")


# ---- point 12: HEAD, Host, Authorization, 431 -------------------------------------------------

def raw_exchange(data, wait=2.0):
    return hostile.exchange(data, S, wait=wait * SLOW)


def test_head_is_served_like_get_without_a_body():
    cases = [("/health", None), (BASE + "/cc", F.auth("admin")), (F.cc_path, F.auth("agent")),
             (F.cc_path + "/user", F.auth("sup")),
             (MAPPING + "?campaignId=%d&leadId=%d" % (F.campaign, F.lead), F.auth("admin")),
             ("/cms/openapi.json", None), ("/cms/ui/", None),
             (F.cc_path + "/process/%d" % NX, F.auth("admin")),   # 404 as GET
             (BASE + "/cc", None)]                                  # 401 as GET
    same = ("content-type", "content-length", "etag", "x-total-count", "allow",
            "www-authenticate", "cache-control", "x-change-cursor")
    for path, auth in cases:
        g = req("GET", path, auth=auth)
        hdrs = {"Authorization": auth} if auth else {}
        sock = open_socket()
        try:
            # HEAD, then GET on the same connection: a body sent after the
            # HEAD's head would be read as the second answer's start
            sock.sendall(request_head("HEAD", path, hdrs) + request_head("GET", "/health", {}))
            raw, _ = hostile.drain(sock, 1.5 * SLOW)
        finally:
            sock.close()
        head, sep, rest = raw.partition(b"\r\n\r\n")
        p = hostile.parse_http(head + sep)
        assert p, "HEAD %s: no answer: %r" % (path, raw[:200])
        status, h, _ = p
        eq(status, g.status, "HEAD %s status" % path)
        for k in same:
            if k not in ("etag", "x-change-cursor") or g.status < 400:
                eq(h.get(k), g.headers.get(k), "HEAD %s header %s" % (path, k))
        if g.status < 400:
            eq(int(h["content-length"]), len(g.raw), "HEAD %s Content-Length" % path)
        # a refusal decided on the headers closes the connection: nothing follows
        ok_after = rest.startswith(b"HTTP/1.1 200") or (rest == b"" and g.status == 401)
        assert ok_after, "HEAD %s: bytes after the head: %r" % (path, rest[:80])
    # a path without GET: 405, and HEAD is not offered
    r = req("HEAD", BASICAUTH)
    eq(r.status, 405, "HEAD on POST/DELETE-only path")
    allow = {m.strip() for m in r.headers.get("allow", "").split(",")}
    eq(allow, {"POST", "DELETE"}, "Allow of basicauth")
    r = req("PATCH", F.cc_path, auth=F.auth("admin"))
    allow = {m.strip() for m in r.headers.get("allow", "").split(",")}
    eq(allow, {"GET", "HEAD", "DELETE"}, "Allow lists HEAD where GET is")
    print("# HEAD: %d GET paths answered with the GET's status and headers, no body" % len(cases))


def envelope_of(raw, what):
    r = hostile.as_resp(raw, "GET", "(raw)", S)
    return r


def test_host_is_required_once():
    ok = raw_exchange(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    eq(hostile.parse_http(ok)[0], 200, "with one Host")
    ok = raw_exchange(b"GET /health HTTP/1.0\r\n\r\n")
    eq(hostile.parse_http(ok)[0], 200, "HTTP/1.0 without Host")
    for what, head in (("no Host", b"GET /health HTTP/1.1\r\n\r\n"),
                       ("two Host", b"GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
                       ("two Host, HTTP/1.0", b"GET /health HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n"),
                       ("a Host with a space", b"GET /health HTTP/1.1\r\nHost: a b\r\n\r\n"),
                       ("a Host with a slash", b"GET /health HTTP/1.1\r\nHost: a/b\r\n\r\n")):
        r = envelope_of(raw_exchange(head), what)
        assert_error(r, 400, "CONF-1002", what)
        eq(details(r.json)[0].get("field"), "Host", what + ": the field named")
    # a write without Host changes nothing
    before = get_mapping(F.auth("admin"), F.campaign, F.lead)
    body = json.dumps({"leadId": F.lead, "campaignId": F.campaign,
                       "assignedUserIds": [F.agent], "unassignedUserIds": []}).encode()
    raw = raw_exchange(b"PUT " + MAPPING.encode() + b" HTTP/1.1\r\nAuthorization: " +
                       F.auth("admin").encode() + b"\r\nContent-Type: application/json\r\n"
                       b"Content-Length: %d\r\n\r\n" % len(body) + body)
    assert_error(envelope_of(raw, "PUT without Host"), 400, "CONF-1002", "PUT without Host")
    eq(get_mapping(F.auth("admin"), F.campaign, F.lead), before, "mapping after it")


def test_two_authorization_fields_are_refused():
    good, bad = F.auth("admin"), "Bearer " + "A" * 43
    for first, second in ((good, bad), (bad, good), (good, good)):
        r = envelope_of(raw_exchange(
            b"GET " + F.cc_path.encode() + b" HTTP/1.1\r\nHost: a\r\nAuthorization: " +
            first.encode() + b"\r\nauthorization: " + second.encode() + b"\r\n\r\n"),
            "two Authorization")
        assert_error(r, 400, "CONF-1002", "two Authorization fields")
        eq(details(r.json)[0].get("field"), "Authorization", "the field named")


def test_heads_over_the_bounds_get_the_431_envelope():
    def get(extra):
        return raw_exchange(b"GET /health HTTP/1.1\r\nHost: a\r\n" + extra + b"\r\n")
    eq(hostile.parse_http(get(b"X-A: " + b"a" * 15000 + b"\r\n"))[0], 200, "15 KB of headers")
    eq(hostile.parse_http(get(b"".join(b"X-H%d: v\r\n" % i for i in range(99))))[0], 200,
       "100 fields")
    for what, extra in (("17 KB of headers", b"X-A: " + b"a" * 17000 + b"\r\n"),
                        ("28 KB of headers", b"X-A: " + b"a" * 28000 + b"\r\n"),
                        ("101 fields", b"".join(b"X-H%d: v\r\n" % i for i in range(100))),
                        ("300 fields", b"".join(b"X-H%d: v\r\n" % i for i in range(299)))):
        r = envelope_of(get(extra), what)
        eq(r.status, 431, what)
        eq(r.json, {"statusCode": 431, "status": "Request Header Fields Too Large",
                    "errorCode": "HTTP-1431", "errorMessage": "Request header fields too large"},
           what)
    # beyond libmicrohttpd's buffer (32 KiB) it answers itself (decisions.md)
    hostile.assert_mhd_error(get(b"X-A: " + b"a" * 34000 + b"\r\n"), 431, "34 KB of headers")


# ---- point 13: Cache-Control, TLS, C1 -------------------------------------------------------

def test_no_store_on_every_answer_but_the_embedded_files():
    pw = random_password()
    uid = "nostore_" + uniq()
    create_user(F.auth("admin"), F.cc, uid, "Agent", pw)
    r = req("POST", BASICAUTH, {"username": uid, "password": pw, "context": "ContactCenter",
                                "contextId": F.cc})
    expect(r, 200, "login")
    note_secret(r.json["authToken"])
    eq(r.headers.get("cache-control"), "no-store", "Cache-Control of the token's answer")
    for what, r in (("a list", req("GET", F.cc_path + "/user", auth=F.auth("admin"))),
                    ("basic", req("GET", F.cc_path, auth=basic(uid, pw))),
                    ("a mapping", req("GET", MAPPING + "?campaignId=%d&leadId=%d" % (
                        F.campaign, F.lead), auth=F.auth("agent"))),
                    ("a 401", req("GET", F.cc_path)),
                    ("a 404", req("GET", "/nowhere")),
                    ("health", req("GET", "/health")),
                    ("metrics", req("GET", "/metrics"))):
        eq(r.headers.get("cache-control"), "no-store", "Cache-Control of " + what)
    for path in ("/cms/openapi.json", "/cms/ui/"):
        r = req("GET", path)
        eq((r.status, r.headers.get("cache-control")), (200, None), "Cache-Control of " + path)


def test_names_with_c1_control_characters_are_refused():
    admin = F.auth("admin")
    for ch in ("\u0085", "\u009b", "\u0080", "\u009f"):
        name = "Sales" + ch + "31m"
        r = req("POST", F.cc_path + "/process", {"processName": name}, auth=admin)
        assert_error(r, 400, "CONF-1002", "processName with U+%04X" % ord(ch))
        assert_field(r.json, "processName")
        r = req("POST", F.proc_path + "/lead", {"leadName": name}, auth=admin)
        assert_error(r, 400, "CONF-1002", "leadName with U+%04X" % ord(ch))
        r = req("POST", F.cc_path + "/user", {"userId": "c1_" + uniq(), "name": name,
                                              "role": "Agent"}, auth=admin)
        assert_error(r, 400, "CONF-1002", "user name with U+%04X" % ord(ch))
        r = req("POST", BASE + "/cc", {"name": name}, auth=S.sys_auth())
        assert_error(r, 400, "CONF-1002", "contact center name with U+%04X" % ord(ch))
    # their neighbours are text
    r = req("POST", F.cc_path + "/process", {"processName": "Caf\u00e9\u00a0\u00a9 " + uniq()},
            auth=admin)
    expect(r, 201, "U+00A0, U+00A9, U+00E9 in a name")


def s_client(port, args):
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port] + args,
                       input=b"", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30 * SLOW)
    out = p.stdout.decode("latin-1") + p.stderr.decode("latin-1")
    cipher = None
    for l in out.splitlines():
        if "Cipher is" in l:
            cipher = l.split("Cipher is")[-1].strip()
    return p.returncode, cipher, out


T = None


def tls_server():
    global T
    if not shutil.which("openssl"):
        skip("openssl is not installed")
    if T is None:
        T = use(hostile.TlsServer().start())
    return T


def test_tls_sends_hsts():
    T = tls_server()
    r = hostile.https_req("GET", "/health", srv=T)
    eq((r.status, r.headers.get("strict-transport-security")), (200, "max-age=31536000"),
       "HSTS over TLS")
    r = hostile.https_req("GET", BASE + "/cc", srv=T)
    eq((r.status, r.headers.get("strict-transport-security")), (401, "max-age=31536000"),
       "HSTS on an error over TLS")
    eq(req("GET", "/health", srv=S).headers.get("strict-transport-security"), None,
       "no HSTS over plain HTTP")


def test_tls_early_answer_reaches_http_client():
    """The lingering close over TLS: after libmicrohttpd's close_notify the
    copy of the socket is shut down for writing and read as over TCP."""
    T = tls_server()
    out = []
    for _ in range(TRIES):
        c = http.client.HTTPSConnection("127.0.0.1", T.port, timeout=20 * SLOW,
                                        context=hostile.client_context())
        try:
            c.request("POST", BASICAUTH, body=b"x" * BIG,
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            out.append((r.status, json.loads(r.read().decode("utf-8"))))
        except (OSError, http.client.HTTPException) as e:
            out.append(("error", repr(e)))
        finally:
            c.close()
    check_all_read(out, 413, "HTTP-1413", "http.client over TLS, 2 MB login body")


def test_tls_offers_forward_secret_aead_suites_only():
    T = tls_server()
    refused = ["AES128-SHA", "AES256-SHA", "AES128-GCM-SHA256", "AES256-SHA256",
               "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384"]
    accepted = ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                "ECDHE-RSA-CHACHA20-POLY1305"]
    for c in refused:
        rc, cipher, out = s_client(T.port, ["-tls1_2", "-cipher", c + ":@SECLEVEL=0"])
        assert cipher in (None, "(NONE)"), "TLS 1.2 %s accepted (%s)" % (c, cipher)
    for c in accepted:
        rc, cipher, out = s_client(T.port, ["-tls1_2", "-cipher", c])
        eq(cipher, c, "TLS 1.2 %s" % c)
    rc, cipher, out = s_client(T.port, ["-tls1_3"])
    assert cipher and cipher.startswith("TLS_"), "TLS 1.3: %s" % short(out, 300)
    print("# TLS 1.2: %d suites without forward secrecy or AEAD refused, %d accepted; "
          "TLS 1.3 %s" % (len(refused), len(accepted), cipher))
