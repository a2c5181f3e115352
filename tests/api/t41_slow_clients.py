"""
t41 - slow and greedy clients (issue 5): a slowloris crowd on 127.0.0.1 must
not starve a well-behaved client on 127.0.0.2; silent connections are closed
by --timeout; requests that trickle in one byte at a time are cut --timeout
seconds after they began (a whole request must arrive within it), while a
connection whose requests each arrive in time lives on; headers over
libmicrohttpd's buffer answer 431/414 (its
own HTML, docs/decisions.md "HTTP details"); bodies over --body-limit answer
the 413 envelope and the connection is closed; --per-ip-limit refuses the
connections of one address beyond it while another address is served.

The well-behaved client binds its socket to 127.0.0.2 (hostile.OTHER_ADDR):
every address of 127.0.0.0/8 reaches lo on Linux, and cmsd counts per-address
limits on the client's address.
"""
import http.client
import json
import select
import socket
import subprocess
import threading
import time

from harness import *  # noqa: F401,F403
from harness import SLOW, VALGRIND
import hostile
from hostile import OTHER_ADDR

TIMEOUT = 3                      # cmsd's --timeout in this module
SLOW_HEADS = 60 if VALGRIND else 200
SLOW_BODIES = 10 if VALGRIND else 20
BODY_LIMIT = 4096
TRICKLE_OBSERVE = 4 * TIMEOUT    # how long the trickle tests keep trickling

S = None
F = None
TRICKLES = {}


def setup_module():
    global S, F
    S = use(Server(extra_args=["--timeout", str(TIMEOUT), "--per-ip-limit", "250",
                               "--body-limit", str(BODY_LIMIT)]).start())
    F = make_fixture(extra_agents=2)
    # The two trickle tests observe for TRICKLE_OBSERVE seconds; they run in
    # the background from here, while the other tests use the server.
    for name, head, rest in (
            ("head", b"GET /health HTTP/1.1\r\nHost: x\r\n", b"X-Trickle: " + b"a" * 200),
            ("body", request_head("PUT", MAPPING, {
                "Content-Type": "application/json", "Content-Length": "300",
                "Authorization": F.auth("admin")}), b" " * 300)):
        t = Trickle(name, head, rest, 1.0, TRICKLE_OBSERVE)
        t.start()
        TRICKLES[name] = t


class Trickle(threading.Thread):
    """One connection: sends `head` at once, then `rest` one byte every
    `interval` s (always within cmsd's --timeout), watching for the server to
    answer or close, for at most `observe` s."""

    def __init__(self, name, head, rest, interval, observe):
        threading.Thread.__init__(self, daemon=True)
        self.what, self.head, self.rest = name, head, rest
        self.interval, self.observe = interval, observe
        self.closed_after = None    # seconds from the first byte to the close
        self.answer = b""
        self.sent = 0
        self.error = None

    def run(self):
        try:
            sock = hostile.connect(timeout=5)
        except OSError as e:
            self.error = "connect: %s" % e
            return
        t0 = time.time()
        try:
            sock.sendall(self.head)
            while time.time() - t0 < self.observe:
                r, _, _ = select.select([sock], [], [], self.interval)
                if r:
                    try:
                        data = sock.recv(65536)
                    except (ConnectionResetError, OSError):
                        data = b""
                    self.answer += data
                    if not data:
                        self.closed_after = time.time() - t0
                        return
                    continue
                if self.sent < len(self.rest):
                    try:
                        sock.sendall(self.rest[self.sent:self.sent + 1])
                    except (BrokenPipeError, ConnectionResetError):
                        self.closed_after = time.time() - t0
                        return
                    self.sent += 1
        finally:
            sock.close()


# ---- the slowloris crowd -----------------------------------------------------------

def timed_requests(duration, src=OTHER_ADDR):
    """Alternate GET /health and a mapping GET from `src` for `duration` s;
    return the latencies in seconds of each kind."""
    lat = {"health": [], "mapping": []}
    q = "%s?campaignId=%d&leadId=%d" % (MAPPING, F.campaign, F.lead)
    end = time.time() + duration
    while time.time() < end:
        t0 = time.perf_counter()
        r = hostile.req_from(src, "GET", "/health", timeout=10 * SLOW)
        lat["health"].append(time.perf_counter() - t0)
        expect(r, 200, "health from %s" % src)
        t0 = time.perf_counter()
        r = hostile.req_from(src, "GET", q, auth=F.auth("agent"), timeout=10 * SLOW)
        lat["mapping"].append(time.perf_counter() - t0)
        check_mapping(expect(r, 200, "mapping GET from %s" % src), F.campaign, F.lead)
    return lat


def figures(lat):
    return ", ".join("%s p50 %.1f ms p99 %.1f ms max %.1f ms (n=%d)" % (
        k, 1000 * hostile.median(v), 1000 * hostile.percentile(v, 99), 1000 * max(v), len(v))
        for k, v in sorted(lat.items()))


class Crowd(object):
    """Slowloris: `heads` connections sending a request head and `bodies`
    sending a body, one byte per connection per second, each reopened as
    soon as the server cuts it (an attacker keeps its crowd up).  Records how
    long each cut connection had lived.  One thread drives them all without
    ever blocking (connects are non-blocking too), looking twice a second, so
    that a slow connect cannot delay noticing the others' cuts."""

    TICK = 0.5

    def __init__(self, heads, bodies):
        self.starts = [b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow-%d: " % i
                       for i in range(heads)]
        body_head = request_head("PUT", MAPPING, {
            "Content-Type": "application/json", "Content-Length": str(BODY_LIMIT),
            "Authorization": F.auth("admin")})
        self.starts += [body_head + b'{"pad": "'] * bodies
        n = len(self.starts)
        self.socks = [None] * n
        self.state = [None] * n         # "connecting" or "open"
        self.opened = [0.0] * n         # when the connection was established
        self.last_byte = [0.0] * n
        self.lifetimes = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def open(self, i):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", S.port))
        self.socks[i], self.state[i] = s, "connecting"

    def drop(self, i, cut):
        if cut:
            self.lifetimes.append(time.time() - self.opened[i])
        self.socks[i].close()
        self.open(i)

    def start(self):
        for i in range(len(self.starts)):
            self.open(i)
        self.thread.start()
        return self

    def tick(self):
        poller = select.poll()
        fds = {}
        for i, s in enumerate(self.socks):
            poller.register(s, select.POLLOUT if self.state[i] == "connecting" else select.POLLIN)
            fds[s.fileno()] = i
        for fd, ev in poller.poll(0):
            i = fds[fd]
            s = self.socks[i]
            if self.state[i] == "connecting":
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    self.drop(i, False)       # refused: try again next tick
                    continue
                try:
                    s.send(self.starts[i])
                except OSError:
                    self.drop(i, False)
                    continue
                self.state[i] = "open"
                self.opened[i] = self.last_byte[i] = time.time()
                continue
            try:
                data = s.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                self.drop(i, True)
        now = time.time()
        for i, s in enumerate(self.socks):
            if self.state[i] == "open" and now - self.last_byte[i] >= 1.0:
                try:
                    s.send(b"a")
                    self.last_byte[i] = now
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    self.drop(i, True)

    def run(self):
        while not self.stop.wait(self.TICK):
            self.tick()

    def finish(self):
        self.stop.set()
        self.thread.join(10)
        for s in self.socks:
            s.close()


def test_slowloris_does_not_starve_another_address():
    base = timed_requests(2.0)
    crowd = Crowd(SLOW_HEADS, SLOW_BODIES).start()
    try:
        time.sleep(0.5)
        under = timed_requests(3 * TIMEOUT)
    finally:
        crowd.finish()
    life = crowd.lifetimes
    print("# t41 slowloris: %d trickling connections from 127.0.0.1 (%d heads, %d bodies, one "
          "byte each per second, reopened when cut) for %d s: %d cut, longest lived %.1f s "
          "(--timeout %d); %s client before: %s; during: %s" % (
              len(crowd.starts), SLOW_HEADS, SLOW_BODIES, 3 * TIMEOUT, len(life),
              max(life) if life else 0, TIMEOUT, OTHER_ADDR, figures(base), figures(under)),
          flush=True)
    bound = 0.5 * (4 if VALGRIND else 1)
    for k, v in sorted(under.items()):
        p99 = hostile.percentile(v, 99)
        assert p99 < bound, "%s from %s during the slowloris: p99 %.0f ms >= %.0f ms (%s)" % (
            k, OTHER_ADDR, 1000 * p99, 1000 * bound, figures(under))
    # a whole request must arrive within --timeout: every trickler is cut,
    # none lives much past it (the crowd looks twice a second)
    assert len(life) >= len(crowd.starts), "only %d of %d trickling connections cut in %d s" % (
        len(life), len(crowd.starts), 3 * TIMEOUT)
    assert max(life) <= TIMEOUT + 1 + 2 * SLOW, "a trickling connection lived %.1f s " \
        "(--timeout %d)" % (max(life), TIMEOUT)
    hostile.healthy()


def test_silent_connections_closed_by_timeout():
    """Connections that stop sending are closed --timeout seconds later,
    whatever state their request is in."""
    cases = {
        "nothing sent": b"",
        "half a request line": b"GET /hea",
        "headers without the end": b"GET /health HTTP/1.1\r\nHost: x\r\n",
        "half a body": request_head("PUT", MAPPING, {
            "Content-Type": "application/json", "Content-Length": "100",
            "Authorization": F.auth("admin")}) + b'{"leadId": ',
        "half a chunked body": request_head("PUT", MAPPING, {
            "Content-Type": "application/json", "Transfer-Encoding": "chunked",
            "Authorization": F.auth("admin")}) + b"5\r\n{\"lea\r\n",
        "idle after an answer": b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
    }
    socks = {}
    t0 = time.time()
    for name, data in cases.items():
        s = hostile.connect(timeout=5)
        if data:
            s.sendall(data)
        socks[name] = s
    results = {}
    deadline = t0 + TIMEOUT + 3 * SLOW
    try:
        pending = dict(socks)
        got = {n: b"" for n in socks}
        while pending and time.time() < deadline:
            r, _, _ = select.select(list(pending.values()), [], [], 0.1)
            for s in r:
                name = next(n for n, x in pending.items() if x is s)
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                got[name] += data
                if not data:
                    results[name] = time.time() - t0
                    del pending[name]
        assert not pending, "still open %.1f s after going silent (--timeout %d): %s" % (
            time.time() - t0, TIMEOUT, sorted(pending))
    finally:
        for s in socks.values():
            s.close()
    for name, took in sorted(results.items()):
        assert took >= TIMEOUT - 0.5, "%s: closed after %.1f s, before --timeout %d" % (
            name, took, TIMEOUT)
        if name == "idle after an answer":
            p = hostile.parse_http(got[name])
            assert p and p[0] == 200, "%s: the request before the silence: %r" % (name, got[name])
        else:
            # no half request is ever answered as if it were whole
            assert not got[name].startswith(b"HTTP/1.1 2"), "%s: answered %r" % (name, got[name])
    print("# t41 silent connections closed after: %s" % ", ".join(
        "%s %.1f s" % kv for kv in sorted(results.items())), flush=True)
    hostile.healthy()


def check_trickle(t, part, bound):
    """cmsd bounds a whole request by --timeout (src/deadline.c): a request
    still arriving --timeout s after its connection opened (or its previous
    answer ended) has its connection shut down, however steadily it trickles.
    Before that, --timeout was libmicrohttpd's inactivity timeout and one
    byte a second held a connection forever."""
    t.join(TRICKLE_OBSERVE + 10)
    assert not t.is_alive(), "the %s trickle did not end" % part
    assert t.error is None, t.error
    assert t.closed_after is not None, (
        "a %s trickled one byte per second is still open after %.0f s (%d bytes sent, "
        "--timeout %d): the whole %s must arrive within --timeout" % (
            part, t.observe, t.sent, TIMEOUT, part))
    print("# t41 trickled %s: cut after %.1f s (%d bytes sent, --timeout %d)" % (
        part, t.closed_after, t.sent, TIMEOUT), flush=True)
    assert t.closed_after <= bound, "the %s trickle was cut after %.1f s, later than %.1f s" % (
        part, t.closed_after, bound)
    assert t.closed_after >= TIMEOUT - 0.5, "the %s trickle was cut after %.1f s, before " \
        "--timeout %d" % (part, t.closed_after, TIMEOUT)
    assert not t.answer.startswith(b"HTTP/1.1 2"), "a trickled %s was served: %r" % (
        part, t.answer[:200])


def test_trickled_request_head_is_bounded():
    check_trickle(TRICKLES["head"], "request head", TIMEOUT + 2 * SLOW)


def test_trickled_body_is_bounded():
    check_trickle(TRICKLES["body"], "request body", TIMEOUT + 2 * SLOW)


def test_keep_alive_outlives_the_timeout_when_requests_arrive_in_time():
    """The deadline is per request, not per connection: one connection that
    sends a whole request every 1.5 s is served for longer than --timeout."""
    conn = http.client.HTTPConnection("127.0.0.1", S.port, timeout=10 * SLOW)
    t0 = time.time()
    n = 0
    try:
        while time.time() - t0 < 2 * TIMEOUT + 1:
            conn.request("GET", "/health")
            r = conn.getresponse()
            r.read()
            eq(r.status, 200, "request %d on one connection after %.1f s" % (
                n + 1, time.time() - t0))
            S.responses += 1
            assert r.getheader("X-Request-Id"), "no X-Request-Id"
            n += 1
            assert conn.sock is not None, "the connection was closed after request %d" % n
            time.sleep(1.5)
    finally:
        conn.close()
    assert n >= 4, "only %d requests" % n


class StoreLock(threading.Thread):
    """Holds the write lock of srv's store for `seconds` from outside cmsd:
    SQLite's BEGIN IMMEDIATE on the file, or on PostgreSQL an exclusive lock
    on campaign_lead, which the mapping PUT must lock too."""

    def __init__(self, srv, seconds):
        threading.Thread.__init__(self, daemon=True)
        self.url, self.seconds = srv.store_url(), seconds
        self.held = threading.Event()
        self.error = None

    def run(self):
        try:
            if self.url.startswith("sqlite:"):
                import sqlite3
                db = sqlite3.connect(self.url[len("sqlite:"):], timeout=10,
                                     isolation_level=None)
                db.execute("BEGIN IMMEDIATE")
                self.held.set()
                time.sleep(self.seconds)
                db.execute("COMMIT")
                db.close()
            else:
                p = subprocess.Popen(
                    ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url, "-c",
                     "BEGIN; LOCK TABLE campaign_lead IN ACCESS EXCLUSIVE MODE; "
                     "SELECT pg_sleep(%s); COMMIT;" % self.seconds],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                time.sleep(0.5)       # psql connects and takes the lock
                self.held.set()
                _, err = p.communicate(timeout=self.seconds + 30)
                if p.returncode:
                    self.error = "psql: %s" % err.decode("utf-8", "replace")
        except Exception as e:  # noqa: BLE001
            self.error = "%s: %s" % (type(e).__name__, e)
            self.held.set()


def test_a_request_that_arrived_in_time_is_answered_however_long_it_runs():
    """The deadline is on arriving, not on answering: a PUT that arrived
    whole at once, then waits on a busy store past --timeout, must get its
    answer, not a cut connection (which would leave the client unsure
    whether a change it was never told about was made)."""
    R = Server(extra_args=["--timeout", "2"]).start()
    f = make_fixture(extra_agents=1, srv=R)
    who = f.agents[0]
    lock = StoreLock(R, 3.5)
    lock.start()
    assert lock.held.wait(10), "the store lock was not taken"
    assert lock.error is None, lock.error
    t0 = time.time()
    try:
        r = put_mapping(f.auth("admin"), f.campaign, f.lead, [who], [], srv=R)
    except (OSError, http.client.HTTPException) as e:
        lost = time.time() - t0
        lock.join(30)
        R.wait_stderr(lambda ls: any('"route":"mapping.put"' in l for l in ls), 10 * SLOW)
        done = [l for l in R.run.stderr if '"route":"mapping.put"' in l]
        m = get_mapping(f.auth("admin"), f.campaign, f.lead, srv=R)
        raise AssertionError(
            "a PUT sent whole at once, then waiting on the store, lost its connection after "
            "%.1f s (--timeout 2): %s: %s; cmsd logged it as %s and the mapping %s changed" % (
                lost, type(e).__name__, e,
                "status %s" % json.loads(done[-1]).get("status") if done else "nothing",
                "WAS" if who in m["assignedUserIds"] else "was not"))
    took = time.time() - t0
    lock.join(30)
    assert lock.error is None, lock.error
    check_mapping(expect(r, 200, "PUT that waited %.1f s on the store" % took), f.campaign,
                  f.lead, assigned=[who], unassigned=[], cu=f.cu)
    assert took >= 2.5, "the PUT did not wait for the store lock (%.1f s)" % took
    R.stop()


# ---- oversized headers -----------------------------------------------------------------

def test_headers_over_the_buffer_answer_431():
    before = get_mapping(F.auth("admin"), F.campaign, F.lead)
    target = [u for u in F.agents if u not in before["assignedUserIds"]][:1]
    body = json.dumps({"leadId": F.lead, "campaignId": F.campaign, "assignedUserIds": target,
                       "unassignedUserIds": []}).encode()
    put_head = ("PUT %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Authorization: %s\r\nContent-Length: %d\r\n" % (MAPPING, F.auth("admin"),
                                                                len(body))).encode()
    cases = [
        ("one header of 100 KB", b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 100000
         + b"\r\n\r\n", 431),
        ("5,000 small headers", b"GET /health HTTP/1.1\r\nHost: x\r\n"
         + b"".join(b"X-H%d: v\r\n" % i for i in range(5000)) + b"\r\n", 431),
        ("a mapping PUT with 64 KB of headers", put_head + b"X-Pad: " + b"p" * 65536
         + b"\r\n\r\n" + body, 431),
        ("a request line of 100 KB", b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
         414),
    ]
    for what, data, status in cases:
        t0 = time.time()
        raw = hostile.exchange(data, wait=5 * SLOW)
        hostile.assert_mhd_error(raw, status, what)
        assert time.time() - t0 < 4 * SLOW, "%s: answered after %.1f s" % (what, time.time() - t0)
    eq(get_mapping(F.auth("admin"), F.campaign, F.lead), before, "mapping after a 431 PUT")
    # just under the buffer is served, and the same PUT with normal headers works
    raw = hostile.exchange(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: "
                           + b"b" * 16000 + b"\r\n\r\n")
    r = hostile.as_resp(raw, "GET", "/health (16 KB header)", S)
    expect(r, 200, "16 KB of headers")
    raw = hostile.exchange(put_head + b"Connection: close\r\n\r\n" + body)
    check_mapping(expect(hostile.as_resp(raw, "PUT", MAPPING, S), 200, "the PUT without padding"),
                  F.campaign, F.lead, assigned=target, unassigned=[])
    expect(put_mapping(F.auth("admin"), F.campaign, F.lead, [], target), 200, "undo")
    hostile.healthy()


# ---- bodies over --body-limit ---------------------------------------------------------

def test_declared_oversized_body_413_at_once_and_closed():
    """A client that announces a body over --body-limit and sends it slowly
    (or never) gets the 413 envelope at once, and the connection is closed:
    the server does not wait for, nor read, the body."""
    for auth in (F.auth("admin"), None):
        sock = hostile.connect(timeout=5)
        try:
            sock.sendall(request_head("PUT", MAPPING, {
                "Content-Type": "application/json", "Content-Length": str(BODY_LIMIT + 1)}
                if auth is None else {
                "Content-Type": "application/json", "Content-Length": str(BODY_LIMIT + 1),
                "Authorization": auth}))
            sock.sendall(b'{"leadId"')
            t0 = time.time()
            raw, closed = hostile.drain(sock, 3 * SLOW)
            took = time.time() - t0
        finally:
            sock.close()
        what = "Content-Length %d over --body-limit %d%s" % (
            BODY_LIMIT + 1, BODY_LIMIT, "" if auth else ", no credentials")
        r = hostile.as_resp(raw, "PUT", MAPPING, S)
        assert_error(r, 413, "HTTP-1413", what)
        eq(r.headers.get("connection", "").lower(), "close", what + ": Connection header")
        assert closed, "%s: connection left open after the 413" % what
        assert took < 2 * SLOW, "%s: the 413 took %.1f s" % (what, took)


def test_slow_chunked_body_over_the_limit_413():
    """A chunked body trickled in small chunks past --body-limit is answered
    with the 413 envelope once it ends, and changes nothing."""
    before = get_mapping(F.auth("admin"), F.campaign, F.lead)
    body = json.dumps({"leadId": F.lead, "campaignId": F.campaign,
                       "assignedUserIds": F.agents[:1], "unassignedUserIds": [],
                       "pad": "x" * (BODY_LIMIT + 100)}).encode()
    sock = hostile.connect(timeout=10 * SLOW)
    try:
        sock.sendall(request_head("PUT", MAPPING, {
            "Content-Type": "application/json", "Transfer-Encoding": "chunked",
            "Authorization": F.auth("admin")}))
        for i in range(0, len(body), 512):
            c = body[i:i + 512]
            sock.sendall(b"%x\r\n" % len(c) + c + b"\r\n")
            time.sleep(0.05)
        sock.sendall(b"0\r\n\r\n")
        raw, closed = hostile.drain(sock, 5 * SLOW)
    finally:
        sock.close()
    r = hostile.as_resp(raw, "PUT", MAPPING + " (slow chunked)", S)
    assert_error(r, 413, "HTTP-1413", "slow chunked body of %d bytes" % len(body))
    assert closed, "connection left open after the 413"
    eq(get_mapping(F.auth("admin"), F.campaign, F.lead), before, "mapping after the 413")


# ---- connections per address -----------------------------------------------------------

def hold(srv, src=None):
    """A connection with half a request line sent: it stays open (within the
    server's timeout).  Returns the socket, or None when the server closed it
    at once (refused)."""
    s = hostile.connect(srv, src, timeout=5)
    s.sendall(b"GET /health HTTP/1.1\r\n")
    r, _, _ = select.select([s], [], [], 0.3 * SLOW)
    if r:
        try:
            data = s.recv(100)
        except OSError:
            data = b""
        if not data:
            s.close()
            return None
        raise AssertionError("a half request was answered: %r" % data)
    return s


def test_per_address_connection_limit():
    limit = 5
    R = Server(extra_args=["--per-ip-limit", str(limit)]).start()
    sys_auth = R.sys_auth()        # a login from 127.0.0.1 needs a free slot: now
    held = []
    try:
        # the harness's own start-up request may linger a moment: fill up to the limit
        deadline = time.time() + 5 * SLOW
        while len(held) < limit and time.time() < deadline:
            s = hold(R)
            if s is not None:
                held.append(s)
            else:
                time.sleep(0.1)
        eq(len(held), limit, "connections held from 127.0.0.1 with --per-ip-limit %d" % limit)
        for i in range(3):
            s = hold(R)
            if s is not None:
                s.close()
                raise AssertionError("connection %d beyond --per-ip-limit %d was kept open"
                                     % (limit + 1 + i, limit))
        # a full request from the limited address gets no answer at all
        raw = hostile.exchange(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", srv=R, wait=1)
        eq(raw, b"", "answer to a connection beyond the limit")
        # the other address is served, with connections of its own held too
        hostile.healthy(R, OTHER_ADDR)
        # (each health check's connection may linger a moment: room for one)
        others = [hold(R, OTHER_ADDR) for _ in range(limit - 2)]
        assert all(o is not None for o in others), "127.0.0.2 refused below its own limit"
        r = hostile.req_from(OTHER_ADDR, "GET", BASE + "/cc", auth=sys_auth, srv=R)
        expect(r, 200, "a listing from 127.0.0.2 while it holds %d connections" % len(others))
        for o in others:
            o.close()
        # one slot freed: 127.0.0.1 is served again
        held.pop().close()
        deadline = time.time() + 3 * SLOW
        while True:
            raw = hostile.exchange(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                   srv=R, wait=2)
            if raw or time.time() > deadline:
                break
            time.sleep(0.1)
        expect(hostile.as_resp(raw, "GET", "/health", R), 200, "127.0.0.1 after one slot freed")
    finally:
        for s in held:
            s.close()
    R.stop()
