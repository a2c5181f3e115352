"""
t48_trusted_proxies.py - the client's address behind a load balancer (issue
14 point 14, docs/reliability.md "Behind a load balancer").

Behind a balancer every connection comes from the balancer's address, so the
per-address limits (failed logins per address, connections per address)
would throttle every client at once.  cmsd --trusted-proxies takes the
client's address from X-Forwarded-For, the right-most entry that is not a
trusted proxy itself, and only on connections from a trusted proxy.

The "proxy" here is a socket bound to 127.0.0.5 (the trusted address) that
writes its own X-Forwarded-For, then a real HAProxy with `option forwardfor`
whose server connections leave from 127.0.0.5.  Against a binary without
the option (the code before issue 14) the module starts cmsd without it and
the tests show what happens there: one client's failures throttle all.
"""

import json
import os
import socket
import subprocess
import tempfile
import time

from harness import (BASICAUTH, SLOW, Server, assert_error, basic, cc_path, create_cc,
                     create_user, expect, random_password, req, short, uniq)

PROXY = "127.0.0.5"            # the trusted balancer
UNTRUSTED = "127.0.0.7"        # anyone else
ADDR_LIMIT = 3                 # --login-addr-limit
PER_IP = 4                     # --per-ip-limit
HAPROXY = os.environ.get("CMSD_HAPROXY", "/usr/sbin/haproxy")

S = {}


def server():
    """The module's cmsd; started without --trusted-proxies when the binary
    does not know it (the old code), so that its tests show the old
    behaviour failing rather than a start-up error."""
    if "srv" not in S:
        args = ["--login-limit", "1000", "--login-addr-limit", str(ADDR_LIMIT),
                "--login-window", "300", "--per-ip-limit", str(PER_IP)]
        srv = Server(extra_args=args + ["--trusted-proxies", PROXY])
        try:
            srv.start()
            S["old"] = False
        except RuntimeError as e:
            if "trusted-proxies" not in str(e):
                raise
            print("# this cmsd has no --trusted-proxies (the code before issue 14): "
                  "started without it")
            srv = Server(extra_args=args).start()
            S["old"] = True
        S["srv"] = srv
        S["cc"] = create_cc(srv.sys_auth(), srv=srv)
    return S["srv"]


def new_user(pw):
    srv = server()
    uid = "px_" + uniq()
    create_user(srv.sys_auth(), S["cc"], uid, "Agent", pw, srv=srv)
    return uid


def login_via(source, xff, user, pw, extra_headers=()):
    """POST basicauth from local address `source`, with X-Forwarded-For
    `xff` (a string, a list of fields, or None), on a raw socket so that
    several X-Forwarded-For fields can be sent."""
    srv = server()
    body = json.dumps({"username": user, "password": pw}).encode()
    lines = ["POST %s HTTP/1.1" % BASICAUTH, "Host: 127.0.0.1",
             "Content-Type: application/json", "Content-Length: %d" % len(body),
             "Connection: close"]
    for v in ([xff] if isinstance(xff, str) else xff or []):
        lines.append("X-Forwarded-For: %s" % v)
    lines += list(extra_headers)
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30 * SLOW,
                                 source_address=(source, 0))
    try:
        s.sendall(raw)
        from harness import read_response
        return read_response(s, "POST", BASICAUTH, srv)
    finally:
        s.close()


def fail_logins(source, xff, n, what):
    for i in range(n):
        assert_error(login_via(source, xff, "ghost_%s" % uniq(), "wrong-password"), 401,
                     "AUTH-1001", "%s: failure %d" % (what, i + 1))


def assert_throttled(r, what):
    assert_error(r, 429, "HTTP-1429", what)


def log_lines(pred):
    out = []
    for line in server().run.stderr:
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if isinstance(o, dict) and o.get("msg") == "request" and pred(o):
            out.append(o)
    return out


def wait_log(pred):
    """The request log lines that match, once there is one (a line is
    written when libmicrohttpd reports the request complete, after the
    client may have read the answer)."""
    deadline = time.time() + 5 * SLOW
    while True:
        out = log_lines(pred)
        if out or time.time() > deadline:
            return out
        time.sleep(0.05)


def test_clients_behind_the_proxy_are_throttled_each_on_its_own():
    server()
    pw = random_password()
    uid = new_user(pw)
    fail_logins(PROXY, "203.0.113.1", ADDR_LIMIT, "client 203.0.113.1 via the proxy")
    assert_throttled(login_via(PROXY, "203.0.113.1", uid, pw),
                     "203.0.113.1 at its limit, even with the right password")
    r = login_via(PROXY, "203.0.113.2", uid, pw)
    assert r.status == 200, (
        "another client (203.0.113.2) behind the same proxy was refused %d after "
        "203.0.113.1's %d failures: the proxy's clients are throttled all at once%s; %s"
        % (r.status, ADDR_LIMIT, " (this cmsd has no --trusted-proxies)" if S["old"] else "",
           short(r.raw)))
    # the proxy's IPv6 clients too, each its own
    expect(login_via(PROXY, "2001:db8::1", uid, pw), 200, "IPv6 client via the proxy")
    # a client connecting directly is not the proxy's clients either
    expect(req("POST", BASICAUTH, {"username": uid, "password": pw}, srv=server()), 200,
           "a direct client")


def test_the_proxy_appends_so_only_the_right_most_entry_counts():
    pw = random_password()
    uid = new_user(pw)
    # the client wrote X-Forwarded-For itself, different each time; the proxy
    # appended its real address: all of it counts against 203.0.113.3
    for i in range(ADDR_LIMIT):
        assert_error(login_via(PROXY, "198.51.100.%d, 203.0.113.3" % (i + 1),
                               "ghost_%s" % uniq(), "wrong"), 401, "AUTH-1001",
                     "failure %d of 203.0.113.3 under invented addresses" % (i + 1))
    assert_throttled(login_via(PROXY, "198.51.100.99, 203.0.113.3", uid, pw),
                     "203.0.113.3 hiding behind an invented address")
    # two X-Forwarded-For fields are one list (RFC 9110 5.3): the last counts
    assert_throttled(login_via(PROXY, ["198.51.100.98", "203.0.113.3"], uid, pw),
                     "203.0.113.3 in a second X-Forwarded-For field")
    # and the proxy itself as the right-most hop is skipped over
    assert_throttled(login_via(PROXY, "203.0.113.3, %s" % PROXY, uid, pw),
                     "203.0.113.3 behind two hops of the proxy")


def test_spoofed_header_from_an_untrusted_address_is_ignored():
    pw = random_password()
    uid = new_user(pw)
    for i in range(ADDR_LIMIT):
        assert_error(login_via(UNTRUSTED, "192.0.2.%d" % (i + 10), "ghost_%s" % uniq(), "x"),
                     401, "AUTH-1001", "failure %d from %s" % (i + 1, UNTRUSTED))
    assert_throttled(login_via(UNTRUSTED, "192.0.2.99", uid, pw),
                     "%s inventing a new X-Forwarded-For for each attempt" % UNTRUSTED)
    lines = log_lines(lambda o: "192.0.2.99" in json.dumps(o))
    assert not lines, "an untrusted peer's X-Forwarded-For reached the log: %s" % lines[:2]


def test_malformed_forwarded_for_names_the_proxy_itself():
    if S.get("old"):
        raise AssertionError("this cmsd has no --trusted-proxies (the code before issue 14)")
    pw = random_password()
    uid = new_user(pw)
    bad = ["garbage", "203.0.113.4, garbage", "999.1.1.1", "203.0.113.4x", "[2001:db8::1",
           "for=203.0.113.4", "\"203.0.113.4\"", "1" * 300]
    # each malformed entry ends the walk at the proxy: the proxy's own address
    # takes the failures, never an address the client chose
    for i, v in enumerate(bad[:ADDR_LIMIT]):
        assert_error(login_via(PROXY, v, "ghost_%s" % uniq(), "x"), 401, "AUTH-1001",
                     "failure with X-Forwarded-For %r" % v)
    for v in bad:
        assert_throttled(login_via(PROXY, v, uid, pw),
                         "X-Forwarded-For %r counts as the proxy's own address" % v[:40])
    # the proxy's well-formed clients are not held by that
    expect(login_via(PROXY, "203.0.113.5", uid, pw), 200, "a good client after the bad ones")
    # and what comes after a bad entry still counts: the proxy appended it
    expect(login_via(PROXY, "garbage, 203.0.113.6", uid, pw), 200,
           "'garbage, 203.0.113.6' is 203.0.113.6")


def test_the_log_names_the_real_client_and_the_proxy():
    if S.get("old"):
        raise AssertionError("this cmsd has no --trusted-proxies (the code before issue 14)")
    pw = random_password()
    uid = new_user(pw)
    expect(login_via(PROXY, "203.0.113.7", uid, pw), 200, "login via the proxy")
    expect(login_via("127.0.0.9", "203.0.113.8", uid, pw), 200, "login from an untrusted peer")
    via = wait_log(lambda o: o.get("client") == "203.0.113.7")
    assert via and via[-1].get("proxy") == PROXY, "log of the proxied request: %s" % via[-1:]
    direct = wait_log(lambda o: o.get("client") == "127.0.0.9")
    assert direct and "proxy" not in direct[-1], "log of the direct request: %s" % direct[-1:]
    assert not log_lines(lambda o: o.get("client") == "203.0.113.8"), \
        "the untrusted peer's X-Forwarded-For was logged as its client"
    print("# log of a proxied request: client %s proxy %s" % (via[-1]["client"],
                                                             via[-1]["proxy"]))


def hold(source, n):
    """n open connections from `source`, each with a request in flight
    (headers only): the per-address connection limit counts them."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", server().port), timeout=10 * SLOW,
                                     source_address=(source, 0))
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    return socks


def test_per_address_connection_limit_spares_the_proxy():
    held = []
    try:
        held += hold(PROXY, PER_IP * 2)
        time.sleep(0.2 * SLOW)
        # the proxy carries many clients: beyond --per-ip-limit it is still served
        try:
            r = login_via(PROXY, "203.0.113.9", "ghost_%s" % uniq(), "x")
            status = r.status
        except OSError as e:
            status = "closed (%s)" % e
        assert status == 401, (
            "the trusted proxy, holding %d connections (--per-ip-limit %d), was refused: "
            "%s%s" % (PER_IP * 2, PER_IP, status,
                      " (this cmsd has no --trusted-proxies)" if S.get("old") else ""))
        # an ordinary address still is limited
        held += hold("127.0.0.8", PER_IP)
        time.sleep(0.2 * SLOW)
        try:
            r = login_via("127.0.0.8", None, "ghost_%s" % uniq(), "x")
            status = r.status
        except OSError as e:
            status = None
        assert status is None, "127.0.0.8 beyond --per-ip-limit %d was served: %s" % (
            PER_IP, status)
    finally:
        for s in held:
            s.close()
    # and once they are gone it is served again
    deadline = time.time() + 5 * SLOW
    while True:
        try:
            r = login_via("127.0.0.8", None, "ghost_%s" % uniq(), "x")
            break
        except OSError:
            assert time.time() < deadline, "127.0.0.8 refused after closing its connections"
            time.sleep(0.05)
    expect(r, 401, "127.0.0.8 after closing its connections")


# ---- through a real HAProxy ---------------------------------------------------------------

HAPROXY_CFG = """\
global
    maxconn 200

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option forwardfor

frontend cms
    bind 127.0.0.1:{port}
    default_backend cmsd

backend cmsd
    server n1 127.0.0.1:{backend} source {source}
"""


def free_port():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class Haproxy(object):
    def __init__(self, backend):
        self.dir = tempfile.mkdtemp(prefix="cmsd-t48-")
        self.port = free_port()
        self.cfg = os.path.join(self.dir, "haproxy.cfg")
        with open(self.cfg, "w") as f:
            f.write(HAPROXY_CFG.format(port=self.port, backend=backend, source=PROXY))
        self.log = os.path.join(self.dir, "haproxy.log")
        with open(self.log, "ab") as lf:
            self.proc = subprocess.Popen([HAPROXY, "-db", "-f", self.cfg],
                                         stdin=subprocess.DEVNULL, stdout=lf,
                                         stderr=subprocess.STDOUT, cwd=self.dir)
        deadline = time.time() + 10 * SLOW
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise AssertionError("haproxy did not start: %s" % open(self.log).read())
                time.sleep(0.05)

    def login(self, source, user, pw, xff=None):
        import http.client
        from harness import make_resp
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30 * SLOW,
                                       source_address=(source, 0))
        try:
            h = {"Content-Type": "application/json"}
            if xff:
                h["X-Forwarded-For"] = xff
            c.request("POST", BASICAUTH, json.dumps({"username": user, "password": pw}), h)
            r = c.getresponse()
            return make_resp(r.status, r.getheaders(), r.read(), "POST", BASICAUTH, server())
        finally:
            c.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def test_through_haproxy_option_forwardfor():
    if not os.access(HAPROXY, os.X_OK):
        raise AssertionError("no HAProxy at %s (scripts/bootstrap installs it)" % HAPROXY)
    lb = Haproxy(server().port)
    try:
        pw = random_password()
        uid = new_user(pw)
        a, b = "127.0.0.21", "127.0.0.22"
        for i in range(ADDR_LIMIT):
            # client a pretends to be b: HAProxy appends a's real address
            r = lb.login(a, "ghost_%s" % uniq(), "wrong", xff=b)
            assert_error(r, 401, "AUTH-1001", "failure %d of %s through HAProxy" % (i + 1, a))
        assert_throttled(lb.login(a, uid, pw), "%s at its limit through HAProxy" % a)
        r = lb.login(b, uid, pw)
        assert r.status == 200, (
            "client %s through HAProxy was refused %d after %s's %d failures: every client "
            "of the balancer is throttled at once%s; %s" % (
                b, r.status, a, ADDR_LIMIT,
                " (this cmsd has no --trusted-proxies)" if S.get("old") else "", short(r.raw)))
        logged = wait_log(lambda o: o.get("client") == b and o.get("proxy") == PROXY)
        assert logged, "no log line names %s as the client via %s" % (b, PROXY)
        print("# through HAProxy: %s throttled after %d failures, %s served; log: client %s "
              "proxy %s" % (a, ADDR_LIMIT, b, logged[-1]["client"], logged[-1]["proxy"]))
    finally:
        lb.stop()


def test_bad_trusted_proxies_refuse_to_start():
    from harness import cmsd_bin
    for bad in ("10.0.0.0/33", "balancer.example", "::1/129", "10.0.0.1/", "127.0.0.5,x"):
        d = tempfile.mkdtemp(prefix="cmsd-t48-")
        p = subprocess.run([cmsd_bin(), "--listen", "127.0.0.1:0", "--db",
                            "sqlite:" + os.path.join(d, "cms.db"), "--trusted-proxies", bad],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30 * SLOW,
                           env={k: v for k, v in os.environ.items()
                                if not k.startswith("CMSD_")})
        err = p.stderr.decode("utf-8", "replace")
        assert p.returncode != 0 and "trusted-proxies" in err, (
            "cmsd --trusted-proxies %r: exit %s, stderr %s" % (bad, p.returncode, short(err)))
