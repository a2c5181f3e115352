"""
t31 - PostgreSQL goes away under load and comes back (issue 4).

cmsd runs on a PostgreSQL server of this module's own (tests/pgserver), so
that stopping it disturbs no other test.  While readers and writers keep
calling, the server is stopped: every request must answer within two
seconds, 503 SYS-1003 in the error envelope, /health 503, and cmsd must stay
up; a crowd of readers of a lead nobody writes makes cmsd share their looks
(src/looker.c), so looks parked with that thread meet the outage too.  Then PostgreSQL starts again on the same port and cmsd must serve again
by itself, without a restart, having lost no change it acknowledged.

Runs only when the suite runs on PostgreSQL (CMSD_TEST_PG).
"""
import os
import shutil
import subprocess
import tempfile
import threading
import time

from harness import *  # noqa: F401,F403
from harness import SLOW

HERE = os.path.dirname(os.path.abspath(__file__))
PGSERVER = os.path.join(HERE, "..", "pgserver")
ANSWER_WITHIN = 2.0   # seconds: the promise of issue 4 for an outage
BACK_WITHIN = 15.0    # seconds after PostgreSQL accepts connections again

S = None
F = None
PGDIR = None


def pgserver(*args):
    p = subprocess.run([PGSERVER] + list(args), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if p.returncode != 0:
        raise AssertionError("tests/pgserver %s exited %d: %s" % (
            " ".join(args), p.returncode, short(p.stderr)))
    return p.stdout.decode().strip()


def setup_module():
    global S, F, PGDIR
    if backend() != "postgresql":
        skip("needs the PostgreSQL backend (CMSD_TEST_PG)")
    PGDIR = tempfile.mkdtemp(prefix="cmsd-outage-")
    base = pgserver("start", PGDIR)
    psql('CREATE DATABASE outage', url=base + "/postgres")
    S = use(Server(db_arg=False, env={"CMSD_DB": base + "/outage"}).start())
    F = make_fixture(extra_agents=4)
    # a lead nobody writes: its GETs take the plain look, which a crowd of
    # them makes cmsd share (src/looker.c)
    sa = F.auth("sys")
    F.quiet = create_lead(sa, F.cc, F.process)
    attach(sa, F.cc, F.process, F.campaign, F.quiet)


def teardown_module():
    if PGDIR and os.path.isdir(PGDIR):
        try:
            pgserver("stop", PGDIR)
        finally:
            shutil.rmtree(PGDIR, ignore_errors=True)


class Load(object):
    """Readers and writers that call cmsd until stopped, recording for each
    request when it started, how long it took, its status and error code."""

    def __init__(self, writers=2, readers=2, crowd=6):
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.log = []            # (start, seconds, status, code, kind)
        self.acked = {}          # user -> last assigned state answered 200
        self.errors = []
        self.threads = []
        agents = F.agents
        for i in range(writers):
            mine = agents[i::writers]
            self.threads.append(threading.Thread(target=self.write, args=(mine,)))
        for _ in range(readers):
            self.threads.append(threading.Thread(target=self.read))
        for _ in range(crowd):
            self.threads.append(threading.Thread(target=self.read, args=(F.quiet, 0)))

    def record(self, t0, r, kind):
        code = r.json.get("errorCode") if r.status != 200 and isinstance(r.json, dict) else None
        with self.lock:
            self.log.append((t0, time.time() - t0, r.status, code, kind))

    def write(self, users):
        n = 0
        while not self.stop.is_set():
            u = users[n % len(users)]
            on = (n // len(users)) % 2 == 0
            n += 1
            t0 = time.time()
            try:
                r = req("PUT", MAPPING, {"leadId": F.lead, "campaignId": F.campaign,
                                         "assignedUserIds": [u] if on else [],
                                         "unassignedUserIds": [] if on else [u]},
                        auth=bearer(F.tok["admin"]), timeout=10)
            except Exception as e:       # a hang or a dropped connection
                with self.lock:
                    self.errors.append("PUT: %r after %.1f s" % (e, time.time() - t0))
                continue
            self.record(t0, r, "put")
            if r.status == 200:
                with self.lock:
                    self.acked[u] = on
            time.sleep(0.01)

    def read(self, lead=None, pause=0.01):
        while not self.stop.is_set():
            t0 = time.time()
            try:
                r = req("GET", "%s?campaignId=%s&leadId=%s" % (MAPPING, F.campaign,
                                                               lead or F.lead),
                        auth=bearer(F.tok["sup"]), timeout=10)
            except Exception as e:
                with self.lock:
                    self.errors.append("GET: %r after %.1f s" % (e, time.time() - t0))
                continue
            self.record(t0, r, "get")
            time.sleep(pause)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def since(self, t):
        with self.lock:
            return [e for e in self.log if e[0] >= t]


def health():
    return req("GET", "/health", timeout=10)


def wait_for(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("%s: not within %.0f s" % (what, timeout))


def test_outage_answers_503_fast_and_recovers_without_restart():
    eq(health().status, 200, "/health before the outage")
    with Load() as load:
        time.sleep(1.0)
        before = load.since(0)
        assert any(e[2] == 200 and e[4] == "put" for e in before), \
            "no PUT succeeded before the outage: %r" % before[:5]
        assert all(e[2] == 200 for e in before), \
            "errors before the outage: %r" % [e for e in before if e[2] != 200][:5]
        # the crowd's looks are shared, so the outage also meets looks
        # parked with the looker, which must fail as fast as the others
        shared = [l for l in req("GET", "/metrics", timeout=10).raw.decode().splitlines()
                  if l.startswith("cmsd_store_shared_looks_total ")]
        assert shared and int(shared[0].split()[-1]) > 0, \
            "no look shared before the outage: %r" % shared

        pgserver("stop-server", PGDIR)
        down = time.time()
        # every request started a moment after the stop fails fast and cleanly
        time.sleep(1.5)
        r = health()
        assert_error(r, 503, "SYS-1003", "/health during the outage")
        eq(r.headers.get("retry-after"), "1", "/health during the outage: Retry-After")
        r = req("GET", "%s?campaignId=%s&leadId=%s" % (MAPPING, F.campaign, F.lead),
                auth=bearer(F.tok["sup"]), timeout=10)
        assert_error(r, 503, "SYS-1003", "mapping GET during the outage")
        r = put_mapping(bearer(F.tok["admin"]), F.campaign, F.lead, [F.agents[0]], [])
        assert_error(r, 503, "SYS-1003", "mapping PUT during the outage")
        eq(r.headers.get("retry-after"), "1", "PUT during the outage: Retry-After")
        assert S.running, "cmsd exited when PostgreSQL stopped"
        # the engineer on call can still read the metrics, and they show it
        r = req("GET", "/metrics", timeout=10)
        eq(r.status, 200, "/metrics during the outage")
        unavailable = [l for l in r.raw.decode().splitlines()
                       if l.startswith('cmsd_store_errors_total{kind="unavailable"}')]
        assert unavailable and float(unavailable[0].split()[-1]) > 0, \
            "store errors not counted during the outage: %r" % unavailable

        up = time.time()       # from here on PostgreSQL may answer again
        pgserver("restart-server", PGDIR)
        wait_for(lambda: health().status == 200, BACK_WITHIN, "/health 200 after the restart")
        back = time.time()
        time.sleep(1.5)

    assert not load.errors, "requests that hung or lost their connection: %r" % \
        load.errors[:5]
    outage = [e for e in load.log if down + 0.5 <= e[0] and e[0] + e[1] < up]
    assert len(outage) >= 10, "too few requests during the outage: %d" % len(outage)
    slow = [e for e in load.log if e[1] > ANSWER_WITHIN]
    assert not slow, "%d requests took over %.0f s, e.g. %r" % (len(slow), ANSWER_WITHIN, slow[:3])
    bad = [e for e in load.log if e[2] not in (200, 503) or (e[2] == 503 and e[3] != "SYS-1003")]
    assert not bad, "answers other than 200 or 503 SYS-1003: %r" % bad[:5]
    assert all(e[2] == 503 for e in outage), \
        "a request answered 200 while PostgreSQL was down: %r" % \
        [e for e in outage if e[2] != 503][:3]
    after = [e for e in load.log if e[0] >= back]
    assert after and all(e[2] == 200 for e in after), \
        "errors after /health came back: %r" % [e for e in after if e[2] != 200][:5]
    assert any(e[4] == "put" for e in after), "no PUT after the recovery"

    # nothing acknowledged was lost, and the store still agrees with itself
    obj = get_mapping(bearer(F.tok["sup"]), F.campaign, F.lead)
    for u, on in load.acked.items():
        where = obj["assignedUserIds"] if on else obj["unassignedUserIds"]
        assert u in where, "%s: last acknowledged %s, store says otherwise: %r" % (
            u, "assigned" if on else "unassigned", obj)
    eq(sorted(obj["assignedUserIds"] + obj["unassignedUserIds"]),
       sorted([F.sup, F.agent] + F.agents), "every campaign user once")
    assert any("connection lost" in line for line in S.stderr_text().splitlines()), \
        "cmsd did not log the lost connection"


def test_login_and_tokens_work_after_the_outage():
    # the authentication path runs outside the request's transaction: it
    # must have reconnected too
    tok = login(F.admin, F.pw[F.admin], "ContactCenter", F.cc)
    r = req("GET", "%s?campaignId=%s&leadId=%s" % (MAPPING, F.campaign, F.lead),
            auth=bearer(tok))
    expect(r, 200, "GET with a token issued after the outage")


def test_own_notifications_known_again_after_the_reconnect():
    # every session reconnected to a new server process: the feed thread
    # must still take this node's own notifications for its own
    # (store_pg.c, `own`), and hear each one (its session listens again)
    before = metrics_by("cmsd_feed_notifications_total", "from", ("own", "other"))
    obj = get_mapping(bearer(F.tok["sup"]), F.campaign, F.lead)
    who = F.agents[-1]
    on, off = ([], [who]) if who in obj["assignedUserIds"] else ([who], [])
    for k in range(2):  # a change and back: each appends an event
        r = put_mapping(bearer(F.tok["admin"]), F.campaign, F.lead, on, off)
        expect(r, 200, "PUT %d after the outage" % (k + 1))
        on, off = off, on
    now = before
    for _ in range(100):
        now = metrics_by("cmsd_feed_notifications_total", "from", ("own", "other"))
        if now["own"] >= before["own"] + 2:
            break
        time.sleep(0.05 * SLOW)
    assert now["own"] >= before["own"] + 2, \
        "the PUTs' notifications were not taken for this node's own: %r then %r" % (before, now)
    eq(now["other"], before["other"], "notifications counted as another node's (none writes)")
    print("# t31: notifications %r -> %r" % (before, now), flush=True)
