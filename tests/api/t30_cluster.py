"""
t30 - many cmsd nodes on one PostgreSQL store behind HAProxy (issue 4;
API.md section 3 rule 4: "no update is lost, on one node or many").

Runs only on the PostgreSQL backend (CMSD_TEST_PG); on SQLite every test is
a SKIP.  Needs HAProxy (/usr/sbin/haproxy, or CMSD_HAPROXY; scripts/bootstrap
installs it).

    1. three cmsd processes start on one fresh database at the same moment,
       so that their migrations race; all come up on one schema;
    2. HAProxy, in the foreground with a generated configuration, balances
       round robin over them and checks each with `GET /health`;
    3. everything the mapping needs is set up through the balancer;
    4. WRITERS threads PUT mappings through the balancer at once:
         - on the shared leads each writer toggles only its own users, so
           every (lead, user) pair has one writer and its last acknowledged
           value must be the final one; now and then the writer reads the
           lead back through the balancer (most likely through another node)
           and must see its own last writes;
         - on the contested lead every writer only ASSIGNS: a user of its own
           that nobody else ever names (a witness) plus some users that every
           writer names; every acknowledged assignment must be there at the
           end (no lost update), and nothing else;
    5. every node, asked directly, shows exactly that final state;
    6. every answer was 200 (a 503 SYS-1003, retryable, is counted and
       tolerated up to 2%; what it did counts as unknown, since a COMMIT cut
       off may have landed); every request id the balancer returned is in
       exactly one node's log, with the same status, and every node served a
       fair share;
    7. enrolling a campaign user on one node stays idempotent while another
       node removes and re-adds it;
    8. a node stopped with SIGTERM exits 0 and HAProxy takes it out of the
       rotation while the others keep answering; then the others exit 0 too.
"""
import atexit
import csv
import io
import json
import os
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import harness
from harness import *  # noqa: F401,F403
from harness import SLOW, REQ_TIMEOUT

HAPROXY = os.environ.get("CMSD_HAPROXY", "/usr/sbin/haproxy")
NODES = 3
WRITERS = 8
OWN_USERS = 3                      # users each writer toggles on the shared leads
SHARED_LEADS = 4
COMMON_USERS = 4                   # named by every writer on the contested lead
ROUNDS = max(8, 120 // SLOW)       # shared-lead PUTs per writer
CONTEST_EVERY = 2                  # a contested PUT after every 2nd shared one
READ_EVERY = 4                     # a read-back after every 4th shared one
MAX_503_SHARE = 0.02

N = []                             # the cmsd nodes (harness.Server)
LB = None                          # the Balancer
D = None                           # what test_setup_through_the_balancer made
W = None                           # the writers' logs (test_concurrent_writers)
STORE = None                       # the --db URL of all three nodes


def setup_module():
    if backend() != "postgresql":
        skip("needs the PostgreSQL backend (set CMSD_TEST_PG)")
    assert os.access(HAPROXY, os.X_OK), \
        "no HAProxy at %s (scripts/bootstrap installs the package haproxy)" % HAPROXY


def teardown_module():
    # whatever happened: HAProxy must not outlive the module (the nodes are
    # stopped by the harness)
    if LB is not None:
        LB.stop()


@atexit.register
def _stop_haproxy():
    # an interrupted run skips teardown_module
    if LB is not None:
        LB.stop()


def need(what, ok):
    assert ok, "needs %s (an earlier test failed)" % what


# ---- HAProxy -------------------------------------------------------------------------------

def free_port():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


HAPROXY_CFG = """\
global
    maxconn 4000
    stats socket {sock} mode 600 level admin

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout queue 30s
    timeout check 5s
    retries 3
    option redispatch

frontend cms
    bind 127.0.0.1:{port}
    default_backend cmsd

backend cmsd
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
    default-server check inter {inter}ms fall 2 rise 2 maxconn 200
{servers}
"""


class Balancer(object):
    """HAProxy in the foreground (-db) on a free port, round robin over
    `backends` [(name, port)].  Quacks enough like a harness.Server for
    harness.req(srv=...)."""

    def __init__(self, backends):
        self.backends = list(backends)
        self.dir = tempfile.mkdtemp(prefix="cmsd-haproxy-")
        self.sock = os.path.join(self.dir, "admin.sock")
        self.cfg = os.path.join(self.dir, "haproxy.cfg")
        self.logpath = os.path.join(self.dir, "haproxy.log")
        self.port = None
        self.proc = None
        self.responses = 0
        self.missing_request_id = []

    def start(self, timeout=20 * SLOW):
        for attempt in range(3):
            self.port = free_port()
            with open(self.cfg, "w") as f:
                servers = "\n".join("    server %s 127.0.0.1:%d" % (n, p)
                                     for n, p in self.backends)
                f.write(HAPROXY_CFG.format(sock=self.sock, port=self.port, inter=300 * SLOW,
                                           servers=servers))
            log = open(self.logpath, "ab")
            try:
                self.proc = subprocess.Popen([HAPROXY, "-db", "-f", self.cfg],
                                             stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, cwd=self.dir)
            finally:
                log.close()
            deadline = time.time() + timeout
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    st = self.status()
                    if len(st) == len(self.backends) and \
                            all(v.startswith("UP") for v in st.values()):
                        return self
                except OSError:
                    pass
                time.sleep(0.05)
            if self.proc.poll() is None:
                raise AssertionError("haproxy: not every server UP within %d s: %r; log: %s"
                                     % (timeout, self.status(), short(self.log_text())))
            self.proc = None
            if "cannot bind" not in self.log_text() and "Address already in use" not in \
                    self.log_text():
                break
        raise AssertionError("haproxy exited at start: %s" % short(self.log_text(), 1500))

    def log_text(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def command(self, line):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(self.sock)
            s.sendall(line.encode() + b"\n")
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        finally:
            s.close()
        return out.decode("utf-8", "replace")

    def status(self):
        """{server name: status} of the backend, from `show stat`."""
        text = self.command("show stat").lstrip("# ")
        out = {}
        for row in csv.DictReader(io.StringIO(text)):
            if row.get("pxname") == "cmsd" and row.get("svname") not in ("FRONTEND", "BACKEND"):
                out[row["svname"]] = row.get("status", "")
        return out

    def wait_status(self, name, prefix, timeout):
        deadline = time.time() + timeout
        st = None
        while time.time() < deadline:
            st = self.status().get(name, "")
            if st.startswith(prefix):
                return st
            time.sleep(0.05)
        raise AssertionError("haproxy: server %s is %r after %d s, expected %s"
                             % (name, st, timeout, prefix))

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- node logs ---------------------------------------------------------------------------

def log_objects(srv):
    out = []
    for line in list(srv.run.stderr):
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if isinstance(o, dict):
            out.append(o)
    return out


def request_lines(srv):
    """{request_id: log object} of every request srv logged."""
    return {o["request_id"]: o for o in log_objects(srv)
            if o.get("msg") == "request" and isinstance(o.get("request_id"), str)}


def wait_logged(pred, timeout=5 * SLOW):
    """Wait until pred() is true: cmsd writes its log lines some 50 ms after
    the requests (docs/decisions.md, "Logs")."""
    deadline = time.time() + timeout
    while not pred() and time.time() < deadline:
        time.sleep(0.05)


# ---- 1. three nodes at once ----------------------------------------------------------------

def test_three_nodes_start_at_once_on_one_new_database():
    global STORE
    first = Server()
    STORE = first.store_url()              # a new, empty database
    assert not store_in_use(STORE), "the new database already has tables"
    nodes = [first] + [Server(share=first, admin_password=first.admin_password)
                       for _ in range(NODES - 1)]
    barrier = threading.Barrier(NODES)
    errors = []

    def start(s):
        try:
            barrier.wait(30)
            s.start()
        except BaseException as e:   # noqa: B902
            errors.append("%s: %s" % (type(e).__name__, e))

    ts = [threading.Thread(target=start, args=(s,), daemon=True) for s in nodes]
    t0 = time.time()
    for t in ts:
        t.start()
    for t in ts:
        t.join(harness.START_TIMEOUT + 30)
    assert not errors, "%d of %d nodes did not start: %s" % (len(errors), NODES, errors[0])
    assert all(s.port for s in nodes), "a node has no port"
    N[:] = nodes
    print("# t30: %d nodes up in %.2f s" % (NODES, time.time() - t0), flush=True)

    # each migration was applied exactly once, by one of the nodes
    applied = {}
    for i, s in enumerate(nodes):
        for o in log_objects(s):
            assert o.get("level") not in ("error", "fatal"), \
                "node %d logged an error at start: %s" % (i + 1, json.dumps(o)[:300])
            m = o.get("msg", "")
            if "schema migrated to version" in m:
                v = int(m.rsplit(" ", 1)[1])
                applied.setdefault(v, []).append(i + 1)
    assert applied, "no node logged a migration of the new database"
    twice = {v: who for v, who in applied.items() if len(who) > 1}
    assert not twice, "migrations applied more than once (version: nodes): %r" % twice
    versions = [int(r[0]) for r in harness.psql(
        "SELECT version FROM schema_version ORDER BY version", STORE)]
    eq(versions, sorted(applied), "schema_version rows vs the migrations the nodes logged")
    eq(versions, list(range(1, max(versions) + 1)), "schema versions")
    print("# t30: migrations %s applied by nodes %s" % (
        versions, [applied[v][0] for v in versions]), flush=True)

    # and every node works on it: the system administrator (created by
    # whichever node won) logs in on each, and each reads the same data
    seen = []
    for i, s in enumerate(nodes):
        r = req("GET", BASE + "/cc?limit=1000", auth=s.sys_auth(), srv=s)
        seen.append(expect(r, 200, "node %d: GET /cc" % (i + 1)))
    for i in range(1, NODES):
        eq(seen[i], seen[0], "node %d's contact centers vs node 1's" % (i + 1))


# ---- 2. the balancer -----------------------------------------------------------------------

def test_haproxy_round_robin_with_health_checks():
    global LB
    need("three nodes", len(N) == NODES)
    before = [len(request_lines(s)) for s in N]
    LB = Balancer([("n%d" % (i + 1), s.port) for i, s in enumerate(N)])
    LB.start()
    # HAProxy's checks reach every node as GET /health
    deadline = time.time() + 10 * SLOW
    while time.time() < deadline:
        checks = [sum(1 for o in list(request_lines(s).values())[b:]
                      if o.get("path") == "/health" and o.get("status") == 200)
                  for s, b in zip(N, before)]
        if all(checks):
            break
        time.sleep(0.1)
    assert all(checks), "GET /health checks per node: %r" % (checks,)
    r = req("GET", "/health", srv=LB)
    eq(expect(r, 200, "GET /health through haproxy"), {"status": "ok"}, "health body")
    assert r.headers.get("x-request-id"), "no X-Request-Id through haproxy"


# ---- 3. set up through the balancer --------------------------------------------------------

def test_setup_through_the_balancer():
    global D
    need("the balancer", LB is not None and LB.proc is not None)
    d = harness.Fixture(u=uniq())
    sysauth = bearer(login(N[0].admin_user, N[0].admin_password, srv=LB))
    d.cc = create_cc(sysauth, "cc-" + d.u, srv=LB)
    d.admin, d.sup = "adm_" + d.u, "sup_" + d.u
    d.pw = {d.admin: random_password(), d.sup: random_password()}
    create_user(sysauth, d.cc, d.admin, "Administrator", d.pw[d.admin], srv=LB)
    create_user(sysauth, d.cc, d.sup, "Supervisor", d.pw[d.sup], srv=LB)
    adm = bearer(login(d.admin, d.pw[d.admin], "ContactCenter", d.cc, srv=LB))
    d.process = create_process(adm, d.cc, "proc-" + d.u, srv=LB)
    d.campaign = create_campaign(adm, d.cc, d.process, "camp-" + d.u, srv=LB)

    d.own = [["w%d_%d_%s" % (w, k, d.u) for k in range(OWN_USERS)] for w in range(WRITERS)]
    d.common = ["common%d_%s" % (k, d.u) for k in range(COMMON_USERS)]
    contests = ROUNDS // CONTEST_EVERY
    d.witness = [["wit%d_%d_%s" % (w, k, d.u) for k in range(contests)]
                 for w in range(WRITERS)]
    everyone = [u for l in d.own for u in l] + d.common + [u for l in d.witness for u in l]
    # users and leads are created by WRITERS threads at once, through the balancer
    chunks = [everyone[i::WRITERS] for i in range(WRITERS)]
    parallel([lambda c=c: [create_user(adm, d.cc, u, "Agent", srv=LB) for u in c]
              for c in chunks], "creating %d users" % len(everyone))
    leads = {}

    def make_lead(k):
        leads[k] = create_lead(adm, d.cc, d.process, "lead%d-%s" % (k, d.u), srv=LB)
    parallel([lambda k=k: make_lead(k) for k in range(SHARED_LEADS + 1)], "creating leads")
    d.shared = [leads[k] for k in range(SHARED_LEADS)]
    d.contested = leads[SHARED_LEADS]
    d.cu = enroll(adm, d.cc, d.process, d.campaign, everyone, srv=LB)
    for lead in d.shared + [d.contested]:
        attach(adm, d.cc, d.process, d.campaign, lead, srv=LB)
    d.everyone = everyone
    d.sup_auth = bearer(login(d.sup, d.pw[d.sup], "ContactCenter", d.cc, srv=LB))
    # every node sees all of it: campaign users through each node directly
    for i, s in enumerate(N):
        eq(campaign_users(d.sup_auth, d.cc, d.process, d.campaign, srv=s), d.cu,
           "campaign users through node %d" % (i + 1))
    D = d


# ---- 4. concurrent writers -----------------------------------------------------------------

class Writer(object):
    def __init__(self, w, seed):
        self.w = w
        self.seed = seed
        self.rng = random.Random(seed)
        self.last = {}        # (lead, user) -> True/False acknowledged last; None: unknown
        self.acked = set()    # contested-lead users whose assignment was acknowledged
        self.unknown = set()  # contested-lead users whose PUT had no clear answer
        self.sent = []        # (request_id or None, method, status) through the balancer
        self.n503 = 0
        self.bad = []         # unexpected answers, as text
        self.stale = []       # read-backs that missed this writer's own last write

    def call(self, method, path, body=None):
        try:
            r = req(method, path, body, auth=D.sup_auth, srv=LB)
        except (OSError, harness.http.client.HTTPException) as e:
            self.sent.append((None, method, None))
            self.bad.append("%s %s: no answer: %s: %s" % (method, path, type(e).__name__, e))
            return None
        self.sent.append((r.headers.get("x-request-id"), method, r.status))
        if r.status == 503 and isinstance(r.json, dict) and r.json.get("errorCode") == "SYS-1003":
            self.n503 += 1
        elif r.status != 200:
            self.bad.append("%s %s -> %d: %s" % (method, path, r.status, short(r.raw, 300)))
        return r

    def put(self, lead, assigned, unassigned):
        """PUT through the balancer; True when answered 200 (and checked)."""
        r = self.call("PUT", MAPPING, {"leadId": lead, "campaignId": D.campaign,
                                       "assignedUserIds": assigned,
                                       "unassignedUserIds": unassigned})
        if r is not None and r.status == 200:
            try:
                check_mapping(r.json, D.campaign, lead, None, assigned, unassigned, D.cu,
                              "PUT answer")
            except AssertionError as e:
                self.bad.append(str(e))
            return True
        # no answer, a 503 (a COMMIT cut off may have landed) or an error
        # that fails the test anyway: the outcome is unknown
        return False

    def run(self):
        own = D.own[self.w]
        witnesses = list(D.witness[self.w])
        for i in range(ROUNDS):
            lead = self.rng.choice(D.shared)
            assigned = [u for u in own if self.rng.random() < 0.5]
            unassigned = [u for u in own if u not in assigned]
            if not self.put(lead, assigned, unassigned):
                for u in own:
                    self.last[(lead, u)] = None
            else:
                for u in assigned:
                    self.last[(lead, u)] = True
                for u in unassigned:
                    self.last[(lead, u)] = False
            if i % CONTEST_EVERY == CONTEST_EVERY - 1 and witnesses:
                mine = witnesses.pop(0)
                names = [mine] + self.rng.sample(D.common, 2)
                if self.put(D.contested, names, []):
                    self.acked.update(names)
                else:
                    self.unknown.update(names)
            if i % READ_EVERY == READ_EVERY - 1:
                # read back through the balancer (round robin: most likely
                # another node than the PUT's): this writer's own last
                # acknowledged values must show, since nobody else writes them
                lead = self.rng.choice(D.shared)
                r = self.call("GET", "%s?campaignId=%d&leadId=%d" % (MAPPING, D.campaign, lead))
                if r is not None and r.status == 200:
                    got = set(r.json["assignedUserIds"])
                    for u in own:
                        want = self.last.get((lead, u), False)
                        if want is not None and (u in got) != want:
                            self.stale.append("lead %d user %s: %s expected, read %s" % (
                                lead, u, want, u in got))


def test_concurrent_writers_through_the_balancer():
    global W
    need("the set-up", D is not None)
    base = random.randrange(1 << 30)
    writers = [Writer(w, base + w) for w in range(WRITERS)]
    t0 = time.time()
    parallel([wr.run for wr in writers], "writers", timeout=REQ_TIMEOUT * ROUNDS)
    took = time.time() - t0
    W = writers
    sent = sum(len(wr.sent) for wr in writers)
    puts = sum(1 for wr in writers for x in wr.sent if x[1] == "PUT")
    n503 = sum(wr.n503 for wr in writers)
    print("# t30: %d writers sent %d requests (%d PUTs) in %.2f s (%.0f/s), %d answered 503; "
          "seed %d" % (WRITERS, sent, puts, took, sent / took, n503, base), flush=True)
    bad = [b for wr in writers for b in wr.bad]
    assert not bad, "%d unexpected answers (seed %d), first: %s" % (len(bad), base, bad[0])
    assert n503 <= MAX_503_SHARE * sent, "%d of %d requests answered 503 SYS-1003" % (n503, sent)
    stale = ["writer %d: %s" % (wr.w, s) for wr in writers for s in wr.stale]
    assert not stale, "%d read-backs missed an acknowledged write (seed %d), first: %s" % (
        len(stale), base, stale[0])


# ---- 5. the final state, through every node ----------------------------------------------

def expected_state():
    """{lead: (users that must be mapped, users that may be mapped)}."""
    want = {}
    for lead in D.shared:
        must, may = set(), set()
        for wr in W:
            for u in D.own[wr.w]:
                v = wr.last.get((lead, u), False)
                if v is None:
                    may.add(u)
                elif v:
                    must.add(u)
        want[lead] = (must, may)
    must = set().union(*(wr.acked for wr in W))
    may = set().union(*(wr.unknown for wr in W)) - must
    want[D.contested] = (must, may)
    return want


def test_every_node_shows_what_the_acknowledged_puts_imply():
    need("the writers' log", W is not None)
    want = expected_state()
    allusers = set(D.cu)
    views = []
    for i, s in enumerate(N):
        r = req("GET", "%s?campaignId=%d&limit=1000" % (MAPPING, D.campaign),
                auth=D.sup_auth, srv=s)
        objs = expect(r, 200, "node %d: the campaign's mappings" % (i + 1))
        eq(r.headers.get("x-total-count"), str(SHARED_LEADS + 1),
           "node %d: X-Total-Count" % (i + 1))
        eq(sorted(o["leadId"] for o in objs), sorted(want), "node %d: leads" % (i + 1))
        for o in objs:
            lead = o["leadId"]
            must, may = want[lead]
            got = set(o["assignedUserIds"])
            check_mapping(o, D.campaign, lead, None, sorted(got), sorted(allusers - got), D.cu,
                          "node %d lead %d" % (i + 1, lead))
            lost = must - got
            assert not lost, "node %d lead %d: %d acknowledged assignments lost, e.g. %s" % (
                i + 1, lead, len(lost), sorted(lost)[:5])
            extra = got - must - may
            assert not extra, "node %d lead %d: %d users mapped that should not be, e.g. %s" % (
                i + 1, lead, len(extra), sorted(extra)[:5])
        views.append(r.raw)
    for i in range(1, NODES):
        assert views[i] == views[0], "node %d's answer differs from node 1's" % (i + 1)
    # the contested lead really was contested: every writer got assignments in
    eq(sorted(w for w in range(WRITERS) if any(u in W[w].acked for u in D.witness[w])),
       list(range(WRITERS)), "writers with an acknowledged contested assignment")


# ---- 6. every answer accounted for, on every node --------------------------------------

def test_requests_spread_over_every_node():
    need("the writers' log", W is not None)
    sent = [x for wr in W for x in wr.sent]
    rids = {rid for rid, _, _ in sent if rid is not None}
    wait_logged(lambda: rids <= set().union(*[request_lines(s) for s in N]))
    logs = [request_lines(s) for s in N]
    per_node = [0] * NODES
    problems = []
    for rid, method, status in sent:
        if rid is None:
            problems.append("%s answered without X-Request-Id (status %r)" % (method, status))
            continue
        where = [i for i in range(NODES) if rid in logs[i]]
        if len(where) != 1:
            problems.append("request %s is in the log of %d nodes" % (rid, len(where)))
            continue
        o = logs[where[0]][rid]
        if o.get("method") != method or o.get("status") != status:
            problems.append("request %s: node %d logged %s %r, the client saw %s %r" % (
                rid, where[0] + 1, o.get("method"), o.get("status"), method, status))
        per_node[where[0]] += 1
    print("# t30: requests per node %s" % per_node, flush=True)
    assert not problems, "%d requests unaccounted for, first: %s" % (len(problems), problems[0])
    for i, n in enumerate(per_node):
        assert n >= len(sent) / NODES / 2, \
            "node %d served %d of %d requests (round robin: about a third)" % (i + 1, n, len(sent))


# ---- 7. enrolment raced by a removal on another node ---------------------------------------

def test_enrolment_stays_idempotent_while_another_node_removes_the_user():
    # decisions.md: POST campaign-user answers 201 with the enrolment of every
    # listed user, new or already there.  While node 1 removes and re-adds a
    # campaign user, node 2 enrols it again and again: in any serial order
    # that answers 201 naming the user, never 404 (the campaign and the user
    # exist throughout).
    need("the set-up", D is not None and len(N) == NODES)
    adm = bearer(login(D.admin, D.pw[D.admin], "ContactCenter", D.cc, srv=N[0]))
    user = D.own[0][0]
    path = camp_path(D.cc, D.process, D.campaign) + "/campaign-user"
    until = time.time() + 3
    got = {}
    bad = []

    def churn():
        while time.time() < until:
            r = req("DELETE", path + "/" + user, auth=adm, srv=N[0])
            assert r.status in (204, 404), "DELETE -> %d: %s" % (r.status, short(r.raw))
            expect(req("POST", path, {"userIds": [user]}, auth=adm, srv=N[0]), 201,
                   "re-enrol on node 1")

    def enrol():
        while time.time() < until:
            r = req("POST", path, {"userIds": [user]}, auth=adm, srv=N[1])
            got[r.status] = got.get(r.status, 0) + 1
            if r.status != 201 or [o.get("userId") for o in r.json] != [user]:
                bad.append("POST %s -> %d (X-Request-Id %s): %s" % (
                    path, r.status, r.headers.get("x-request-id"), short(r.raw, 300)))

    parallel([churn, enrol, enrol], "enrol while removing")
    assert not bad, "%d of %d enrolments on node 2 failed, first: %s" % (
        len(bad), sum(got.values()), bad[0])
    expect(req("POST", path, {"userIds": [user]}, auth=adm, srv=N[2]), 201, "enrolled at the end")


# ---- 8. SIGTERM, one node after another ------------------------------------------------------

def test_sigterm_each_node_exits_0_and_the_balancer_routes_around():
    need("three nodes", len(N) == NODES)
    last = N[-1]
    eq(last.stop(), 0, "exit code of node %d after SIGTERM" % NODES)
    if LB is not None and LB.proc is not None:
        LB.wait_status("n%d" % NODES, "DOWN", 10 * SLOW)
        before = [len(request_lines(s)) for s in N[:-1]]
        for k in range(12):
            r = req("GET", "/health", srv=LB)
            expect(r, 200, "GET /health through haproxy with node %d stopped" % NODES)
        wait_logged(lambda: all(len(request_lines(s)) > b for s, b in zip(N[:-1], before)))
        after = [len(request_lines(s)) for s in N[:-1]]
        assert all(a > b for a, b in zip(after, before)), \
            "the remaining nodes did not both serve: log lines %r -> %r" % (before, after)
        if D is not None:
            r = req("GET", "%s?campaignId=%d&leadId=%d" % (MAPPING, D.campaign, D.contested),
                    auth=D.sup_auth, srv=LB)
            expect(r, 200, "mapping GET through haproxy with node %d stopped" % NODES)
    rcs = []
    for s in N[:-1]:
        s.terminate()
    for s in N[:-1]:
        rcs.append(s.wait())
    eq(rcs, [0] * (NODES - 1), "exit codes of the other nodes after SIGTERM")
