"""
t62 - every answer is exactly as fresh as the store, on every node (API.md
sections 2, 3, 5 and 8; docs/decisions.md "Authentication", "Safe concurrent
edits", "The change feed").

Written before cmsd keeps anything in memory between requests (verified
tokens and their principal, campaign and lead scope, a lead's rendered
mapping and its ETag), so that such caches are held to what cmsd answers
without them: a request answered by any node sees every change committed
before it began, whichever node, or which other process, made it.  Each
test first makes the node that will be asked serve the same thing several
times (a cache would now hold it), then changes it elsewhere, then asks
at once and checks the exact answer.

Three cmsd nodes share one store: one SQLite file (three processes), or
one PostgreSQL database (CMSD_TEST_PG).

    1. read-your-writes across nodes: a PUT on one node, then the GETs of
       another (every form, conditional ones with the old ETag too) answer
       the new state, its ETag and an X-Change-Cursor at or past the PUT's
       event, round after round; and while writers write, every GET (200 or
       304) answers exactly the state at its own X-Change-Cursor; and while
       a crowd of GETs keeps one node's looks busy (on PostgreSQL shared,
       many requests' looks in one statement: src/looker.c), its GET right
       after each PUT on another node answers the new state; and a GET that
       arrives while an older look is still being taken (a fourth node
       holds each look, --look-delay) waits for the next look: it answers
       a write done after the older look's snapshot;
    2. a revoked token, 3. a deleted user (token and password), 4. a role
       change, 5. a password change: refused or in force on every node at
       the next request;
    6. campaign users enrolled and removed, a lead detached (and attached
       again), a campaign deleted on one node: another node's next answer
       shows it;
    7. the store changed behind cmsd's back by another process (sqlite3 on
       the file, psql on the database): token row, user row, role, campaign
       user, and the mapping rows themselves (test_direct_mapping_write_is_seen,
       kept apart: the caches may document it as a limit);
    8. concurrent PUTs on several leads, some naming unknown users and one
       a dry run: each refused one changes nothing and lists exactly its own
       unknown ids; each other one is in the final state, in the history and
       in the feed exactly once.

The random choices print their seed; T62_SEED=N repeats them.
"""
import hashlib
import json
import os
import random
import re
import subprocess
import threading
import time
import types

from harness import *  # noqa: F401,F403
from harness import SLOW, VALGRIND
from feedlib import check_cursor, read_all, tail

NODES = 3
RYW_ROUNDS = 12 if VALGRIND else 50     # test 1
ROUNDS = 2 if VALGRIND else 4           # the auth and scope tests
GC_ROUNDS = 1 if VALGRIND else 3        # test 8
GC_PUTS = 20
GC_LEADS = 5
WARM = 2 if VALGRIND else 4             # how often a node serves a thing before it changes
SEED = int(os.environ.get("T62_SEED") or random.SystemRandom().randrange(1 << 30))

N = []          # the nodes (harness.Server), one store
F = None        # make_fixture() on N[0]


def setup_module():
    global F
    first = Server().start()
    N[:] = [first]
    for _ in range(NODES - 1):
        N.append(Server(share=first, admin_password=first.admin_password).start())
    use(first)
    F = make_fixture(extra_agents=15, srv=first)
    print("# t62: %d nodes on one %s store, seed %d" % (NODES, backend(), SEED), flush=True)


def others(i):
    """(A, B, C): node i and the two others, B the next one."""
    return N[i % NODES], N[(i + 1) % NODES], N[(i + 2) % NODES]


# ---- building blocks -----------------------------------------------------------------------

def new_campaign(users, leads=1, srv=None):
    """A fresh campaign of F's process with `leads` new leads attached and
    `users` enrolled, made through srv (default node 1)."""
    s = srv or N[0]
    sa = F.auth("sys")
    k = types.SimpleNamespace()
    k.campaign = create_campaign(sa, F.cc, F.process, srv=s)
    k.leads = [create_lead(sa, F.cc, F.process, srv=s) for _ in range(leads)]
    k.cl = {l: attach(sa, F.cc, F.process, k.campaign, l, srv=s) for l in k.leads}
    k.cu = enroll(sa, F.cc, F.process, k.campaign, list(users), srv=s) if users else {}
    k.path = camp_path(F.cc, F.process, k.campaign)
    return k


def get_one(auth, k, lead, srv, headers=None):
    return req("GET", "%s?campaignId=%s&leadId=%s" % (MAPPING, k.campaign, lead), auth=auth,
               srv=srv, headers=headers)


def get_lead_user(auth, k, lead, srv, headers=None):
    return req("GET", "%s/lead-user?leadId=%s" % (k.path, lead), auth=auth, srv=srv,
               headers=headers)


def get_list(auth, k, srv):
    return req("GET", "%s?campaignId=%s&limit=1000" % (MAPPING, k.campaign), auth=auth, srv=srv)


def etag_of(r):
    tag = r.headers.get("etag")
    assert tag and tag.startswith('"') and tag.endswith('"'), \
        "%s %s: no strong ETag: %r" % (r.method, r.path, tag)
    return tag


def cursor_of(r):
    return check_cursor(r.headers.get("x-change-cursor"),
                        "%s %s: X-Change-Cursor" % (r.method, r.path))


def state(b, k, lead, assigned, cu=None, cl=None, what="mapping"):
    """b is exactly lead's object: `assigned` mapped, every other campaign
    user of cu (default k.cu) not, with their campaign-user ids."""
    cu = k.cu if cu is None else cu
    a = sorted(assigned)
    u = sorted(set(cu) - set(assigned))
    check_mapping(b, k.campaign, lead, cl or k.cl[lead], a, u, cu, what)
    eq(b["assignedCampaignUserIds"], [cu[x] for x in a], what + ": assignedCampaignUserIds")
    eq(b["unassignedCampaignUserIds"], [cu[x] for x in u], what + ": unassignedCampaignUserIds")
    return b


def expect_state(r, k, lead, assigned, cu=None, cl=None, what="mapping GET"):
    return state(expect(r, 200, what), k, lead, assigned, cu, cl, what)


def history(auth, k, lead, srv):
    r = req("GET", "%s/lead-user/history?leadId=%s&limit=1000" % (k.path, lead), auth=auth,
            srv=srv)
    return expect(r, 200, "history of lead %s" % lead)


def user_path(uid):
    return "%s/user/%s" % (F.cc_path, uid)


def lead_create(auth, srv):
    return req("POST", F.proc_path + "/lead", {"leadName": "fr-" + uniq()}, auth=auth, srv=srv)


def assignments(uid, srv):
    r = req("GET", "%s/assignments?limit=1000" % user_path(uid), auth=F.auth("sys"), srv=srv)
    return {(o["campaignId"], o["leadId"]) for o in expect(r, 200, "assignments of " + uid)}


def event_of(r_put, lead, after, srv):
    """The one feed event of the PUT answer r_put (on lead, after cursor `after`)."""
    rid = r_put.headers.get("x-request-id")
    evs = read_all(F.auth("sup"), after=after, srv=srv, leadId=lead)[0]
    eq([e["requestId"] for e in evs], [rid],
       "events of lead %s after %s (the PUT's only)" % (lead, after))
    return evs[0]


# ---- the store, written by another process ------------------------------------------------

def store_url():
    return N[0].store_url()


def blob(b):
    """A byte string as an SQL literal of the store's dialect."""
    return ("X'%s'" if backend() == "sqlite" else "'\\x%s'::bytea") % b.hex()


def text(s):
    return "'%s'" % s.replace("'", "''")


def token_hash(tok):
    """docs/decisions.md: tokens are stored as their BLAKE2b-256 hash."""
    return hashlib.blake2b(tok.encode("ascii"), digest_size=32).digest()


def direct(statements):
    """direct_dml (harness) on the nodes' store."""
    return direct_dml(store_url(), statements)


# ---- 1. read-your-writes ----------------------------------------------------------------


class Toggler(object):
    """PUTs that flip one user of `users` at a time on one lead, in turn;
    `now` is the set of them assigned, which the caller keeps up to date."""

    def __init__(self, users, campaign, lead):
        self.users, self.campaign, self.lead = users, campaign, lead
        self.now = set()
        self.n = 0

    def put(self, auth, node):
        u = self.users[self.n % len(self.users)]
        self.n += 1
        on, off = ([u], []) if u not in self.now else ([], [u])
        return put_mapping(auth, self.campaign, self.lead, on, off, srv=node), u

def test_read_your_writes_across_nodes():
    rng = random.Random(SEED)
    sup = F.auth("sup")
    users = F.agents[:8]
    k = new_campaign(users, leads=3)
    now = {l: set() for l in k.leads}
    pairs = [(a, b) for a in range(NODES) for b in range(NODES) if a != b]
    for i in range(RYW_ROUNDS):
        lead = k.leads[i % len(k.leads)]
        ai, bi = pairs[(i // len(k.leads)) % len(pairs)]
        A, B = N[ai], N[bi]
        what = "round %d (PUT on node %d, GET on node %d, lead %d)" % (i, ai + 1, bi + 1, lead)
        # B serves the lead again and again, as it is (last changed by another node)
        for j in range(WARM):
            r = get_one(sup, k, lead, B)
            expect_state(r, k, lead, now[lead], what="%s: warm GET %d" % (what, j))
        old = etag_of(r)
        before = cursor_of(r)
        eq(get_one(sup, k, lead, B, {"If-None-Match": old}).status, 304, what + ": warm 304")
        eq(get_lead_user(sup, k, lead, B, {"If-None-Match": old}).status, 304,
           what + ": warm lead-user 304")
        # A changes one to three users
        flip = rng.sample(users, rng.randint(1, 3))
        on = [u for u in flip if u not in now[lead]]
        off = [u for u in flip if u in now[lead]]
        rp = put_mapping(sup, k.campaign, lead, on, off, srv=A)
        check_mapping(expect(rp, 200, what + ": PUT"), k.campaign, lead, k.cl[lead], on, off,
                      k.cu, what + ": PUT answer")
        now[lead] ^= set(flip)
        # B, at once: half the rounds ask conditionally with the old tag first
        if i % 2 == 0:
            r1 = get_one(sup, k, lead, B)
            r2 = get_one(sup, k, lead, B, {"If-None-Match": old})
        else:
            r2 = get_one(sup, k, lead, B, {"If-None-Match": old})
            r1 = get_one(sup, k, lead, B)
        b1 = expect_state(r1, k, lead, now[lead], what=what + ": GET on B after the PUT")
        eq(r2.status, 200, what + ": If-None-Match with the old ETag after the PUT")
        eq(r2.json, b1, what + ": conditional GET's body")
        new = etag_of(r1)
        assert new != old, "%s: ETag %s unchanged by the PUT" % (what, old)
        eq(etag_of(r2), new, what + ": conditional GET's ETag")
        eq(get_one(sup, k, lead, B, {"If-None-Match": new}).status, 304,
           what + ": If-None-Match with the new ETag")
        r3 = get_lead_user(sup, k, lead, B, {"If-None-Match": old})
        eq(expect(r3, 200, what + ": lead-user GET with the old ETag"), b1,
           what + ": lead-user body")
        eq(etag_of(r3), new, what + ": lead-user ETag")
        r4 = get_list(sup, k, B)
        eq([o for o in expect(r4, 200, what + ": list GET") if o["leadId"] == lead], [b1],
           what + ": the lead in the campaign's list")
        # the agent's view of a user that changed, on B
        u = flip[0]
        eq((k.campaign, lead) in assignments(u, B), u in now[lead],
           "%s: lead in %s's assignments on B" % (what, u))
        # A and the third node answer the same object and tag
        for s in N:
            if s is not B:
                r5 = get_one(sup, k, lead, s)
                eq(expect(r5, 200, what + ": GET on another node"), b1, what + ": other node")
                eq(etag_of(r5), new, what + ": other node's ETag")
        # every answer of B after the PUT was read at or past the PUT's event
        ev = event_of(rp, lead, before, A)
        eq((sorted(ev["assigned"]), sorted(ev["unassigned"])), (sorted(on), sorted(off)),
           what + ": the PUT's event")
        assert ev["cursor"] > before, "%s: the PUT's event %s is not after the warm GET's %s" % (
            what, ev["cursor"], before)
        for r in (r1, r2, r3, r4):
            c = cursor_of(r)
            assert c >= ev["cursor"], "%s: %s %s on B answered X-Change-Cursor %s, before " \
                "the PUT's event %s" % (what, r.method, r.path, c, ev["cursor"])


def test_reads_during_writes_answer_the_state_at_their_cursor():
    # writers PUT on two nodes while readers GET on all three, half of the
    # GETs conditional on the ETag the reader last saw.  The feed gives the
    # order of the writes: every answer must be exactly the state after the
    # events up to its X-Change-Cursor (docs/decisions.md: the cursor is read
    # in the GET's own read transaction), and one ETag always one body.  A
    # cache that stored what it read under a version it read later fails.
    sup = F.auth("sup")
    users = F.agents[:6]
    k = new_campaign(users, leads=2)
    c0 = tail(sup, srv=N[0], campaignId=k.campaign)
    until = time.time() + (3.0 if VALGRIND else 1.5)
    reads = []
    bad = []

    def writer(w):
        rng = random.Random(SEED + 100 + w)
        while time.time() < until:
            flip = rng.sample(users, rng.randint(1, 3))
            cut = rng.randint(0, len(flip))
            r = put_mapping(sup, k.campaign, rng.choice(k.leads), flip[:cut], flip[cut:],
                            srv=N[w % NODES])
            if r.status != 200:
                bad.append("writer %d: %d %s" % (w, r.status, short(r.raw, 200)))

    def reader(w):
        rng = random.Random(SEED + 200 + w)
        seen = {}
        while time.time() < until:
            lead = rng.choice(k.leads)
            sent = seen.get(lead) if rng.random() < 0.5 else None
            r = get_one(sup, k, lead, N[w % NODES], {"If-None-Match": sent} if sent else None)
            reads.append((w, lead, sent, r))
            if r.status == 200:
                seen[lead] = r.headers.get("etag")
    parallel([lambda w=w: writer(w) for w in (0, 2)] +
             [lambda w=w: reader(w) for w in range(NODES)], "readers and writers")
    eq(bad, [], "writers' answers")
    evs = read_all(sup, after=c0, srv=N[1], campaignId=k.campaign)[0]
    assert len(evs) >= 5, "only %d changes were made" % len(evs)

    def at(lead, c):
        now = set()
        for e in evs:
            if e["cursor"] > c:
                break
            if e["leadId"] == lead:
                now = (now | set(e["assigned"])) - set(e["unassigned"])
        return now
    bodies = {}                        # ETag -> the body answered with it
    n304 = 0
    for w, lead, sent, r in reads:
        what = "reader on node %d, lead %d, %s" % (w + 1, lead, r.headers.get("x-request-id"))
        assert r.status in (200, 304), "%s: %d %s" % (what, r.status, short(r.raw))
        c = cursor_of(r)
        assert c >= c0, "%s: X-Change-Cursor %s before the start %s" % (what, c, c0)
        if r.status == 304:
            n304 += 1
            eq(r.headers.get("etag"), sent, what + ": the 304's ETag")
            b = json.loads(bodies[sent])
            eq(set(b["assignedUserIds"]), at(lead, c),
               what + ": the state at the 304's cursor %s vs the body of its ETag" % c)
            continue
        state(r.json, k, lead, at(lead, c), what="%s at cursor %s" % (what, c))
        tag = etag_of(r)
        eq(bodies.setdefault(tag, r.raw), r.raw, what + ": the body of ETag %s" % tag)
    print("# t62: %d reads (%d of them 304) during %d writes" % (len(reads), n304, len(evs)),
          flush=True)


def shared_looks(srv):
    """(requests, statements) of srv's shared looks so far, from /metrics."""
    text = req("GET", "/metrics", srv=srv, headers={"Accept": "text/plain"}).raw.decode()
    m1 = re.search(r'^cmsd_store_looks_total\{look="shared"\} (\d+)$', text, re.M)
    m2 = re.search(r"^cmsd_store_shared_looks_total (\d+)$", text, re.M)
    assert m1 and m2, "/metrics: no cmsd_store_looks_total{look=\"shared\"} or " \
        "cmsd_store_shared_looks_total"
    return int(m1.group(1)), int(m2.group(1))


def shared_row_looks(srv):
    """Shared looks that read their lead's rows so far, from /metrics."""
    text = req("GET", "/metrics", srv=srv, headers={"Accept": "text/plain"}).raw.decode()
    m = re.search(r"^cmsd_store_shared_row_looks_total (\d+)$", text, re.M)
    assert m, "/metrics: no cmsd_store_shared_row_looks_total"
    return int(m.group(1))


def test_gets_under_load_share_their_looks_and_see_every_write():
    # a crowd of GETs keeps node B busy, so that on PostgreSQL its looks are
    # taken many in one statement (looker.c); meanwhile each PUT on node A
    # (every fourth round a write by another process instead, which leaves
    # B's copy in memory for its look to find stale) is followed at once by
    # a GET on B of that lead, which B held as it was: the answer must be
    # the new state.  What this cannot make happen at will: a GET queued
    # while a shared statement is already on its way, which a looker that
    # answered it from that statement would answer stale; the window is far
    # shorter than a round trip of this test, and the order in looker.c
    # (take the queue, then send) is what keeps it closed.
    sup = F.auth("sup")
    users = F.agents[:6]
    k = new_campaign(users, leads=4)
    A, B = N[0], N[1]
    busy, watched = k.leads[0], k.leads[1:]
    now = {l: set() for l in k.leads}
    for lead in k.leads:
        for j in range(WARM):
            expect_state(get_one(sup, k, lead, B), k, lead, set(), what="warm GET %d" % j)
    s0 = shared_looks(B)
    r0 = shared_row_looks(B)
    done = threading.Event()
    bad = []
    rounds = [0]

    def crowd():
        while not done.is_set():
            r = get_one(sup, k, busy, B)
            if r.status != 200 or r.json["assignedUserIds"] != []:
                bad.append("crowd GET: %d %s" % (r.status, short(r.raw, 200)))

    def checker():
        try:
            for i in range(RYW_ROUNDS):
                lead = watched[i % len(watched)]
                u = users[i % len(users)]
                on, off = ([u], []) if u not in now[lead] else ([], [u])
                what = "round %d (lead %d, %s)" % (i, lead, u)
                if i % 4 == 3:
                    # behind cmsd's back: no event drops B's copy, only the
                    # epoch moves, and B's look must find that
                    sql = ("INSERT INTO lead_user (campaign_lead_id, campaign_user_id) "
                           "VALUES (%d, %d)" if on else "DELETE FROM lead_user WHERE "
                           "campaign_lead_id = %d AND campaign_user_id = %d")
                    eq(direct([sql % (k.cl[lead], k.cu[u])]), [1], what + ": direct write")
                else:
                    expect(put_mapping(sup, k.campaign, lead, on, off, srv=A), 200,
                           what + ": PUT on A")
                now[lead] ^= {u}
                expect_state(get_one(sup, k, lead, B), k, lead, now[lead],
                             what=what + ": GET on B right after")
                rounds[0] += 1
        finally:
            done.set()
    parallel([checker] + [crowd] * 12, "a crowd of GETs and a checker")
    eq(bad, [], "the crowd's answers")
    eq(rounds[0], RYW_ROUNDS, "rounds checked")
    s1 = shared_looks(B)
    reqs, stmts = s1[0] - s0[0], s1[1] - s0[1]
    rows = shared_row_looks(B) - r0
    print("# t62 %s: %d looks shared in %d statements on node B, %d of them with rows" % (
        backend(), reqs, stmts, rows), flush=True)
    if backend() == "postgresql":
        assert stmts > 0 and reqs > stmts, "no look shared under load: %d looks in %d " \
            "statements" % (reqs, stmts)
        # the GETs right after a change found B's copy stale: their rows
        # were read by the looker too, not by a round trip of their worker
        assert rows > 0, "no shared look read a lead's rows in %d rounds" % RYW_ROUNDS
    else:
        eq((reqs, stmts, rows), (0, 0, 0), "shared looks on SQLite (its look needs no "
           "round trip)")


LOOK_DELAY = 2.5 if VALGRIND else 1.0    # --look-delay of the node that holds its looks


def test_a_get_arriving_while_a_look_is_held_waits_for_the_next_look():
    # the rule that keeps a shared look fresh (looker.c): a request that
    # arrives while a look is on its way (its snapshot taken) waits for the
    # next look, never answers from that one.  The test above cannot make
    # this happen at will; here a fourth node holds each look LOOK_DELAY
    # after its statement (--look-delay, tests only), as a slow statement
    # would.  An early GET's look is taken; the mapping is written; a late
    # GET of the same lead, sent while the early look is still held, must
    # answer the write.  The write is another process's (psql), as a PUT on
    # another node whose event has not reached this node yet: no event
    # drops the node's copy of the lead, only its look can find it stale.
    # A looker that answered the late GET from the early look would answer
    # the old state, as the early GET does.
    D = Server(share=N[0], admin_password=N[0].admin_password,
               extra_args=["--look-delay", str(int(LOOK_DELAY * 1000))]).start()
    try:
        # the option says itself at start, and on SQLite that it does nothing
        pg = backend() == "postgresql"
        assert D.wait_stderr(lambda ls: any('--look-delay: each look of the looker is held '
                                            '%d ms (tests only)%s' % (
                                                LOOK_DELAY * 1000,
                                                "" if pg else "; no looker runs here") in l
                                            for l in ls), 10), \
            "no --look-delay warning: %s" % short(D.stderr_text(), 600)
        if not pg:
            k = new_campaign(F.agents[:1])
            t0 = time.monotonic()
            expect_state(get_one(F.auth("sup"), k, k.leads[0], D), k, k.leads[0], set(),
                         what="GET on a node with --look-delay and no looker")
            assert time.monotonic() - t0 < LOOK_DELAY, "a GET held without a looker"
            skip("no shared looks on SQLite (its look needs no round trip)")
        sup = F.auth("sup")
        users = F.agents[:3]
        k = new_campaign(users)
        lead = k.leads[0]
        now = set()
        for attempt, u in enumerate(users):
            what = "attempt %d (%s)" % (attempt, u)
            for j in range(WARM):
                expect_state(get_one(sup, k, lead, D), k, lead, now,
                             what="%s: warm GET %d" % (what, j))
            s0 = shared_looks(D)[0]
            # sent right after a look that took LOOK_DELAY: handed to the
            # looker's thread (looker_here), so that every worker stays free
            # to read the late GET while the early look is held
            early = {}

            def send_early():
                try:
                    early["r"] = get_one(sup, k, lead, D)
                except Exception as e:  # said by the main thread
                    early["error"] = e
                early["end"] = time.monotonic()
            d0 = time.monotonic()
            th = threading.Thread(target=send_early)
            th.start()
            time.sleep(LOOK_DELAY / 4)  # the early look's statement has run: it is held
            eq(direct(["INSERT INTO lead_user (campaign_lead_id, campaign_user_id) "
                       "VALUES (%d, %d)" % (k.cl[lead], k.cu[u])]), [1],
               what + ": the write (psql)")
            sent = time.monotonic()
            late = get_one(sup, k, lead, D)
            late_end = time.monotonic()
            th.join()
            if "error" in early:
                raise early["error"]
            shared = shared_looks(D)[0] - s0
            old = sorted(now)
            now.add(u)
            # set up as meant only if the early GET's look predates the
            # write (it answers the old state) and was still held well after
            # the late GET was sent (a tenth of the hold: time for it to
            # reach the node while the early look is held)
            if early["r"].status == 200 and early["r"].json["assignedUserIds"] == old \
                    and early["end"] - sent > LOOK_DELAY / 10:
                expect_state(late, k, lead, now,
                             what="%s: GET sent after the write, while an older look was "
                             "held" % what)
                assert late_end > early["end"], "%s: the late GET was answered before the " \
                    "early one, so not by a later look" % what
                # it arrived while a look was held: queued for the thread
                assert shared >= 2, "%s: %d looks taken by the looker's thread, not the " \
                    "early and the late GET's" % (what, shared)
                print("# t62: the early GET answered %.0f ms after it was sent and %.0f ms "
                      "after the late one, which answered %.0f ms after it was sent; %d looks "
                      "shared" % ((early["end"] - d0) * 1e3, (early["end"] - sent) * 1e3,
                                  (late_end - sent) * 1e3, shared), flush=True)
                return
            print("# t62: %s: the early GET's look was not held across the write and the "
                  "late GET (%d %s, answered %.0f ms after it was sent, the late GET sent at "
                  "%.0f); again" % (what, early["r"].status, short(early["r"].raw, 120),
                                    (early["end"] - d0) * 1e3, (sent - d0) * 1e3), flush=True)
            expect_state(late, k, lead, now, what=what + ": GET after the write")
        assert False, "in %d attempts the early GET's look was never held across the " \
            "write" % len(users)
    finally:
        D.stop()


def test_made_up_tokens_under_load_read_no_lead_rows():
    # a crowd of GETs with tokens nobody issued, of leads no node holds in
    # memory: each answers 401, and though on PostgreSQL their looks are
    # shared (the crowd keeps the looker busy), not one reads a lead's rows,
    # which only a token the cache knows may cost the store (as when a
    # worker takes its own look: auth.c, token_get)
    k = new_campaign(F.agents[:2], leads=3)
    B = N[1]
    s0, r0 = shared_looks(B), shared_row_looks(B)
    bad = []
    counts = [0]
    lock = threading.Lock()

    def crowd(w):
        for i in range(60):
            tok = "Q" * 37 + "%02d%04d" % (w, i)     # a token's 43 characters
            r = get_one(bearer(tok), k, k.leads[i % 3], B)
            with lock:
                counts[0] += 1
                try:
                    assert_error(r, 401, "AUTH-1001", "GET with a made-up token")
                except AssertionError as e:
                    bad.append(str(e))
    parallel([lambda w=w: crowd(w) for w in range(12)], "a crowd with made-up tokens")
    eq(bad[:3], [], "the crowd's answers (401 AUTH-1001 each)")
    s1, r1 = shared_looks(B), shared_row_looks(B)
    reqs, rows = s1[0] - s0[0], r1 - r0
    print("# t62 %s: %d GETs with made-up tokens, %d looks shared, %d with rows" % (
        backend(), counts[0], reqs, rows), flush=True)
    if backend() == "postgresql":
        assert reqs > 0, "no look of the crowd shared: the test proves nothing"
    eq(rows, 0, "shared looks that read a lead's rows for a token nobody issued")


# ---- 2-5. credentials and roles -------------------------------------------------------------

def test_revoked_token_is_refused_by_every_node_at_once():
    k = new_campaign(F.agents[:2])
    lead = k.leads[0]
    pw = F.pw[F.sup]
    keep = bearer(login(F.sup, pw, "ContactCenter", F.cc, srv=N[2]))
    for i in range(ROUNDS):
        A, B, C = others(i)
        what = "round %d (revoked on node %d, asked on node %d)" % (i, N.index(A) + 1,
                                                                    N.index(B) + 1)
        t = login(F.sup, pw, "ContactCenter", F.cc, srv=B if i % 2 else A)
        # B serves the token many times, both forms, several routes
        for j in range(WARM):
            for auth in (bearer(t), token_basic(t)):
                expect_state(get_one(auth, k, lead, B), k, lead, [], what=what + ": warm")
                expect(req("GET", F.cc_path, auth=auth, srv=B), 200, what + ": warm cc GET")
        expect(req("GET", MAPPING + "/changes?limit=1", auth=bearer(t), srv=B), 200,
               what + ": warm feed")
        expect(get_one(bearer(t), k, lead, A), 200, what + ": on A")
        expect(get_one(bearer(t), k, lead, C), 200, what + ": on C")
        r = req("DELETE", BASICAUTH, auth=bearer(t), srv=A)
        expect(r, 204, what + ": revoke on A")
        # the very next request on B
        assert_error(get_one(bearer(t), k, lead, B), 401, "AUTH-1001",
                     what + ": B, the revoked token")
        assert_error(req("GET", F.cc_path, auth=token_basic(t), srv=B), 401, "AUTH-1001",
                     what + ": B, Basic <revoked token>")
        assert_error(put_mapping(bearer(t), k.campaign, lead, [F.agents[0]], srv=B), 401,
                     "AUTH-1001", what + ": B, PUT with the revoked token")
        assert_error(req("GET", MAPPING + "/changes?limit=1", auth=bearer(t), srv=B), 401,
                     "AUTH-1001", what + ": B, the feed")
        assert_error(req("DELETE", BASICAUTH, auth=bearer(t), srv=B), 401, "AUTH-1001",
                     what + ": B, revoking it again")
        assert_error(get_one(bearer(t), k, lead, C), 401, "AUTH-1001", what + ": C")
        assert_error(get_one(bearer(t), k, lead, A), 401, "AUTH-1001", what + ": A")
        # the user's other token is not affected, and the refused PUT changed nothing
        expect_state(get_one(keep, k, lead, B), k, lead, [], what=what + ": another token on B")


def test_deleted_user_cannot_authenticate_on_another_node():
    adm = F.auth("admin")
    k = new_campaign(F.agents[:2])
    lead = k.leads[0]
    for i in range(ROUNDS):
        A, B, C = others(i)
        what = "round %d (deleted on node %d, asked on node %d)" % (i, N.index(A) + 1,
                                                                    N.index(B) + 1)
        uid, pw = "del_" + uniq(), random_password()
        create_user(adm, F.cc, uid, "Supervisor", pw, srv=A)
        cu = dict(k.cu)
        cu.update(enroll(adm, F.cc, F.process, k.campaign, [uid], srv=A))
        t = login(uid, pw, "ContactCenter", F.cc, srv=B)
        for j in range(WARM):
            expect_state(get_one(bearer(t), k, lead, B), k, lead, [], cu, what=what + ": warm")
        for j in range(2):
            expect_state(get_one(basic(uid, pw), k, lead, B), k, lead, [], cu,
                         what=what + ": warm with the password")
        expect(put_mapping(bearer(t), k.campaign, lead, [uid], srv=B), 200, what + ": own PUT")
        expect_state(get_one(bearer(t), k, lead, C), k, lead, [uid], cu, what=what + ": on C")
        expect(req("DELETE", user_path(uid), auth=adm, srv=A), 204, what + ": delete on A")
        assert_error(get_one(bearer(t), k, lead, B), 401, "AUTH-1001", what + ": B, token")
        assert_error(get_one(basic(uid, pw), k, lead, B), 401, "AUTH-1001",
                     what + ": B, password")
        assert_error(login_resp(uid, pw, srv=B), 401, "AUTH-1001", what + ": B, login")
        assert_error(put_mapping(bearer(t), k.campaign, lead, [], [F.agents[0]], srv=B), 401,
                     "AUTH-1001", what + ": B, PUT with the token")
        assert_error(get_one(bearer(t), k, lead, C), 401, "AUTH-1001", what + ": C, token")
        # its mapping and enrolment went with it, as B answers at once
        expect_state(get_one(adm, k, lead, B), k, lead, [], what=what + ": the lead on B")
        eq(campaign_users(adm, F.cc, F.process, k.campaign, srv=B), k.cu,
           what + ": campaign users on B")
        # the same userId made again, an Agent with another password: the
        # old token and password stay dead, the new ones carry the new role
        pw2 = random_password()
        create_user(adm, F.cc, uid, "Agent", pw2, srv=A)
        assert_error(get_one(bearer(t), k, lead, B), 401, "AUTH-1001",
                     what + ": B, the old token after the user is made again")
        assert_error(get_one(basic(uid, pw), k, lead, B), 401, "AUTH-1001",
                     what + ": B, the old password after the user is made again")
        expect_state(get_one(basic(uid, pw2), k, lead, B), k, lead, [],
                     what=what + ": B, the new password")
        assert_error(put_mapping(basic(uid, pw2), k.campaign, lead, [F.agents[0]], srv=B),
                     403, "AUTH-1003", what + ": B, the new Agent's PUT")
        expect(req("DELETE", user_path(uid), auth=adm, srv=C), 204, what + ": clean up")


def test_role_change_takes_effect_on_every_node_at_once():
    adm = F.auth("admin")
    users = F.agents[:4]
    k = new_campaign(users)
    lead = k.leads[0]
    uid, pw = "role_" + uniq(), random_password()
    create_user(adm, F.cc, uid, "Supervisor", pw, srv=N[0])
    tok = bearer(login(uid, pw, "ContactCenter", F.cc, srv=N[1]))
    pwa = basic(uid, pw)
    t = Toggler(users, k.campaign, lead)
    now, put_as = t.now, t.put

    # every node serves the Supervisor's PUTs, with its token and its password
    for node in N:
        for j in range(WARM):
            r, u = put_as(tok if j % 2 == 0 else pwa, node)
            expect(r, 200, "warm PUT as Supervisor")
            now ^= {u}
    plan = ["Agent", "Administrator", "Supervisor", "Agent", "Supervisor"]
    for i, role in enumerate(plan[:max(3, ROUNDS + 1)]):
        A, B, C = others(i)
        what = "step %d (role %s set on node %d)" % (i, role, N.index(A) + 1)
        r = req("PUT", user_path(uid), {"role": role}, auth=adm, srv=A)
        eq(expect(r, 200, what + ": role change")["role"], role, what + ": role in the answer")
        for node in (B, C, A):
            w = "%s, node %d" % (what, N.index(node) + 1)
            for auth, form in ((tok, "token"), (pwa, "password")):
                r, u = put_as(auth, node)
                if role == "Agent":
                    assert_error(r, 403, "AUTH-1003", "%s: an Agent's PUT (%s)" % (w, form))
                else:
                    expect(r, 200, "%s: a %s's PUT (%s)" % (w, role, form))
                    now ^= {u}
                r = lead_create(auth, node)
                if role == "Administrator":
                    expect(r, 201, "%s: an Administrator creates a lead (%s)" % (w, form))
                else:
                    assert_error(r, 403, "AUTH-1003", "%s: a %s creates a lead (%s)" % (
                        w, role, form))
            eq(expect(req("GET", user_path(uid), auth=tok, srv=node), 200, w)["role"], role,
               w + ": the user's role as read")
            expect_state(get_one(tok, k, lead, node), k, lead, now, what=w + ": the lead")


def test_password_change_revokes_tokens_on_every_node():
    adm = F.auth("admin")
    uid, pw = "pw_" + uniq(), random_password()
    create_user(adm, F.cc, uid, "Supervisor", pw, srv=N[0])
    for i in range(max(2, ROUNDS // 2)):
        A = N[i % NODES]
        what = "round %d (password set on node %d)" % (i, N.index(A) + 1)
        toks = [login(uid, pw, "ContactCenter", F.cc, srv=s) for s in N]
        for s in N:
            for t in toks:
                for j in range(WARM // 2 + 1):
                    expect(req("GET", F.cc_path, auth=bearer(t), srv=s), 200, what + ": warm")
            expect(req("GET", F.cc_path, auth=basic(uid, pw), srv=s), 200,
                   what + ": warm password")
        pw2 = random_password()
        note_secret(pw2)
        expect(req("PUT", user_path(uid), {"password": pw2}, auth=adm, srv=A), 200,
               what + ": new password")
        for s in N[N.index(A) + 1:] + N[:N.index(A) + 1]:
            w = "%s, node %d" % (what, N.index(s) + 1)
            for t in toks:
                assert_error(req("GET", F.cc_path, auth=bearer(t), srv=s), 401, "AUTH-1001",
                             w + ": a token issued before the change")
            assert_error(req("GET", F.cc_path, auth=basic(uid, pw), srv=s), 401, "AUTH-1001",
                         w + ": the old password")
            expect(req("GET", F.cc_path, auth=basic(uid, pw2), srv=s), 200, w + ": new password")
            t2 = login(uid, pw2, "ContactCenter", F.cc, srv=s)
            expect(req("GET", F.cc_path, auth=bearer(t2), srv=s), 200, w + ": a new token")
        pw = pw2


# ---- 6. campaign users, campaign leads, campaigns ----------------------------------------

def test_enrolment_and_removal_show_on_another_node_at_once():
    adm, sup = F.auth("admin"), F.auth("sup")
    k = new_campaign(F.agents[:3])
    lead = k.leads[0]
    now = set()
    for i in range(ROUNDS):
        A, B, C = others(i)
        what = "round %d (changed on node %d, read on node %d)" % (i, N.index(A) + 1,
                                                                   N.index(B) + 1)
        uid = "enr_" + uniq()
        create_user(adm, F.cc, uid, "Agent", srv=A)
        for j in range(WARM):
            r = get_one(sup, k, lead, B)
            expect_state(r, k, lead, now, what=what + ": warm")
        old = etag_of(r)
        eq(campaign_users(sup, F.cc, F.process, k.campaign, srv=B), k.cu, what + ": warm list")
        # enrolled on A
        k.cu[uid] = enroll(sup, F.cc, F.process, k.campaign, [uid], srv=A)[uid]
        r = get_one(sup, k, lead, B, {"If-None-Match": old})
        expect_state(r, k, lead, now, what=what + ": B after the enrolment (old ETag)")
        assert etag_of(r) != old, what + ": ETag unchanged by the enrolment"
        eq(campaign_users(sup, F.cc, F.process, k.campaign, srv=B), k.cu,
           what + ": campaign users on B after the enrolment")
        r = put_mapping(sup, k.campaign, lead, [uid], srv=B)
        check_mapping(expect(r, 200, what + ": B maps the new campaign user"), k.campaign, lead,
                      k.cl[lead], [uid], [], k.cu, what + ": PUT answer")
        now.add(uid)
        expect_state(get_one(sup, k, lead, A), k, lead, now, what=what + ": A after B's PUT")
        # removed on A
        for j in range(WARM):
            r = get_one(sup, k, lead, B)
            expect_state(r, k, lead, now, what=what + ": warm again")
        old = etag_of(r)
        r = req("DELETE", "%s/campaign-user/%s" % (k.path, uid), auth=sup, srv=A)
        expect(r, 204, what + ": remove on A")
        gone = k.cu.pop(uid)
        now.discard(uid)
        r = get_one(sup, k, lead, B, {"If-None-Match": old})
        expect_state(r, k, lead, now, what=what + ": B after the removal (old ETag)")
        expect_state(get_lead_user(sup, k, lead, B), k, lead, now,
                     what=what + ": B's lead-user GET after the removal")
        eq(campaign_users(sup, F.cc, F.process, k.campaign, srv=B), k.cu,
           what + ": campaign users on B after the removal")
        b = assert_error(put_mapping(sup, k.campaign, lead, [uid], srv=B), 404, "CONF-1001",
                         what + ": B maps the removed user")
        assert_missing(b, [("campaignUser", uid)], what + ": B's 404")
        eq((k.campaign, lead) in assignments(uid, B), False, what + ": B, the user's assignments")
        # enrolled again on C: a new campaign-user id, unassigned
        k.cu[uid] = enroll(sup, F.cc, F.process, k.campaign, [uid], srv=C)[uid]
        assert k.cu[uid] != gone, "%s: re-enrolment reused campaign-user id %s" % (what, gone)
        expect_state(get_one(sup, k, lead, B), k, lead, now, what=what + ": B after re-enrolment")
        r = put_mapping(sup, k.campaign, lead, [uid], srv=B)
        eq(expect(r, 200, what + ": B maps it again")["assignedCampaignUserIds"], [k.cu[uid]],
           what + ": the new campaign-user id in B's PUT answer")
        now.add(uid)


def test_detached_lead_answers_404_on_another_node_at_once():
    adm, sup = F.auth("admin"), F.auth("sup")
    k = new_campaign(F.agents[:4], leads=ROUNDS)
    mapped = F.agents[:2]
    for i, lead in enumerate(k.leads):
        A, B, C = others(i)
        what = "lead %d (detached on node %d, read on node %d)" % (lead, N.index(A) + 1,
                                                                   N.index(B) + 1)
        expect(put_mapping(sup, k.campaign, lead, mapped, srv=A), 200, what + ": map")
        for j in range(WARM):
            r = get_one(sup, k, lead, B)
            expect_state(r, k, lead, mapped, what=what + ": warm")
        old = etag_of(r)
        eq(get_lead_user(sup, k, lead, B, {"If-None-Match": old}).status, 304, what + ": warm")
        r = get_list(sup, k, B)
        eq(sorted(o["leadId"] for o in expect(r, 200, what + ": warm list")), sorted(k.cl),
           what + ": warm list")
        eq((k.campaign, lead) in assignments(mapped[0], B), True, what + ": warm assignments")
        expect(req("DELETE", "%s/campaign-lead/%s" % (k.path, lead), auth=adm, srv=A), 204,
               what + ": detach on A")
        del k.cl[lead]
        b = assert_error(get_one(sup, k, lead, B), 404, "CONF-1001", what + ": B's GET")
        eq(details(b), [{"object": "lead", "id": str(lead)}], what + ": details")
        assert_error(get_one(sup, k, lead, B, {"If-None-Match": old}), 404, "CONF-1001",
                     what + ": B's GET with the old ETag")
        assert_error(get_lead_user(sup, k, lead, B), 404, "CONF-1001",
                     what + ": B's lead-user GET")
        b = assert_error(put_mapping(sup, k.campaign, lead, [], mapped, srv=B), 404,
                         "CONF-1001", what + ": B's PUT")
        eq(details(b), [{"object": "lead", "id": str(lead)}], what + ": PUT's details")
        r = get_list(sup, k, B)
        eq(sorted(o["leadId"] for o in expect(r, 200, what + ": B's list")), sorted(k.cl),
           what + ": leads in B's list")
        eq(r.headers.get("x-total-count"), str(len(k.cl)), what + ": B's X-Total-Count")
        r = req("GET", k.path + "/campaign-lead?limit=1000", auth=sup, srv=B)
        eq(sorted(o["leadId"] for o in expect(r, 200, what + ": campaign leads")), sorted(k.cl),
           what + ": B's campaign leads")
        eq((k.campaign, lead) in assignments(mapped[0], B), False, what + ": B's assignments")
        # attached again on C: B answers the new attachment, nothing mapped
        cl = attach(adm, F.cc, F.process, k.campaign, lead, srv=C)
        k.cl[lead] = cl
        expect_state(get_one(sup, k, lead, B), k, lead, [], what=what + ": B after re-attach")
        expect_state(get_lead_user(sup, k, lead, B, {"If-None-Match": old}), k, lead, [],
                     what=what + ": B's lead-user GET after re-attach")
        expect(put_mapping(sup, k.campaign, lead, mapped[:1], srv=B), 200,
               what + ": B maps the re-attached lead")
        expect_state(get_one(sup, k, lead, C), k, lead, mapped[:1], what=what + ": C")


def test_deleted_campaign_answers_404_on_another_node_at_once():
    adm, sup = F.auth("admin"), F.auth("sup")
    for i in range(max(2, ROUNDS // 2)):
        A, B, C = others(i)
        what = "round %d (deleted on node %d, read on node %d)" % (i, N.index(A) + 1,
                                                                   N.index(B) + 1)
        k = new_campaign(F.agents[:3], leads=2, srv=C)
        for lead in k.leads:
            expect(put_mapping(sup, k.campaign, lead, F.agents[:1], srv=A), 200, what + ": map")
        for j in range(WARM):
            for lead in k.leads:
                expect_state(get_one(sup, k, lead, B), k, lead, F.agents[:1],
                             what=what + ": warm")
            expect(get_list(sup, k, B), 200, what + ": warm list")
            expect(req("GET", k.path, auth=sup, srv=B), 200, what + ": warm campaign GET")
        r = req("GET", MAPPING + "?limit=1000", auth=sup, srv=B)
        have = {(o["campaignId"], o["leadId"]) for o in expect(r, 200, what + ": every lead")}
        assert {(k.campaign, l) for l in k.leads} <= have, what + ": warm cc-wide list"
        expect(req("DELETE", k.path, auth=adm, srv=A), 204, what + ": delete on A")
        for lead in k.leads:
            b = assert_error(get_one(sup, k, lead, B), 404, "CONF-1001", what + ": B's GET")
            eq(details(b), [{"object": "campaign", "id": str(k.campaign)}], what + ": details")
            assert_error(put_mapping(sup, k.campaign, lead, F.agents[1:2], srv=B), 404,
                         "CONF-1001", what + ": B's PUT")
        assert_error(get_list(sup, k, B), 404, "CONF-1001", what + ": B's campaign list")
        assert_error(req("GET", k.path, auth=sup, srv=B), 404, "CONF-1001",
                     what + ": B's campaign GET")
        assert_error(req("GET", k.path + "/campaign-user", auth=sup, srv=B), 404, "CONF-1001",
                     what + ": B's campaign-user list")
        r = req("GET", MAPPING + "?limit=1000", auth=sup, srv=B)
        have = {(o["campaignId"], o["leadId"]) for o in expect(r, 200, what + ": every lead")}
        eq({l for c, l in have if c == k.campaign}, set(), what + ": B's cc-wide list")
        # the leads are no longer attached anywhere: B deletes one at once
        expect(req("DELETE", "%s/lead/%s" % (F.proc_path, k.leads[0]), auth=adm, srv=B), 204,
               what + ": B deletes a lead of the deleted campaign")


# ---- 7. the store changed by another process ----------------------------------------------

def warm_everywhere(auth, k, lead, assigned, what):
    tags = []
    for s in N:
        for j in range(WARM):
            r = get_one(auth, k, lead, s)
            expect_state(r, k, lead, assigned, what="%s: warm on node %d" % (what, N.index(s) + 1))
        tags.append(etag_of(r))
        eq(get_one(auth, k, lead, s, {"If-None-Match": tags[-1]}).status, 304, what + ": warm 304")
    eq(len(set(tags)), 1, what + ": every node's ETag")
    return tags[0]


def test_direct_token_delete_is_refused():
    k = new_campaign(F.agents[:2])
    lead = k.leads[0]
    pw = F.pw[F.agent]
    keep = bearer(login(F.agent, pw, "ContactCenter", F.cc, srv=N[0]))
    for i in range(max(2, ROUNDS // 2)):
        t = login(F.agent, pw, "ContactCenter", F.cc, srv=N[i % NODES])
        warm_everywhere(bearer(t), k, lead, [], "round %d" % i)
        eq(direct(["DELETE FROM token WHERE hash = %s" % blob(token_hash(t))]), [1],
           "token rows deleted behind cmsd's back")
        for s in N:
            w = "round %d, node %d" % (i, N.index(s) + 1)
            assert_error(get_one(bearer(t), k, lead, s), 401, "AUTH-1001",
                         w + ": the token whose row was deleted")
            assert_error(req("GET", F.cc_path, auth=token_basic(t), srv=s), 401, "AUTH-1001",
                         w + ": the same as Basic <token>")
            expect_state(get_one(keep, k, lead, s), k, lead, [], what=w + ": another token")


def test_direct_user_delete_is_refused():
    adm = F.auth("admin")
    k = new_campaign(F.agents[:2])
    lead = k.leads[0]
    uid, pw = "ddel_" + uniq(), random_password()
    create_user(adm, F.cc, uid, "Agent", pw, srv=N[0])
    t = login(uid, pw, "ContactCenter", F.cc, srv=N[1])
    warm_everywhere(bearer(t), k, lead, [], "user " + uid)
    for s in N:
        expect(get_one(basic(uid, pw), k, lead, s), 200, "warm the password")
    eq(direct(["DELETE FROM token WHERE user_pk IN (SELECT pk FROM users WHERE user_id = %s)"
               % text(uid),
               "DELETE FROM users WHERE user_id = %s" % text(uid)]), [1, 1],
       "token and user rows deleted behind cmsd's back")
    for s in N:
        w = "node %d" % (N.index(s) + 1)
        assert_error(get_one(bearer(t), k, lead, s), 401, "AUTH-1001", w + ": the token")
        assert_error(get_one(basic(uid, pw), k, lead, s), 401, "AUTH-1001", w + ": the password")
        assert_error(req("GET", user_path(uid), auth=adm, srv=s), 404, "CONF-1001",
                     w + ": the user")


def test_direct_role_update_takes_effect():
    adm = F.auth("admin")
    users = F.agents[:3]
    k = new_campaign(users)
    lead = k.leads[0]
    uid, pw = "drole_" + uniq(), random_password()
    create_user(adm, F.cc, uid, "Supervisor", pw, srv=N[0])
    tok = bearer(login(uid, pw, "ContactCenter", F.cc, srv=N[2]))
    t = Toggler(users, k.campaign, lead)
    now, put_as = t.now, t.put

    for s in N:
        for j in range(WARM):
            r, u = put_as(tok if j % 2 == 0 else basic(uid, pw), s)
            expect(r, 200, "warm: the Supervisor's PUT on node %d" % (N.index(s) + 1))
            now ^= {u}
    for role in ("Agent", "Administrator", "Supervisor"):
        eq(direct(["UPDATE users SET role = %s WHERE user_id = %s" % (text(role), text(uid))]),
           [1], "role set to %s behind cmsd's back" % role)
        for s in N:
            w = "role %s, node %d" % (role, N.index(s) + 1)
            for auth, form in ((tok, "token"), (basic(uid, pw), "password")):
                r, u = put_as(auth, s)
                if role == "Agent":
                    assert_error(r, 403, "AUTH-1003", "%s: PUT (%s)" % (w, form))
                else:
                    expect(r, 200, "%s: PUT (%s)" % (w, form))
                    now ^= {u}
                r = lead_create(auth, s)
                if role == "Administrator":
                    expect(r, 201, "%s: create a lead (%s)" % (w, form))
                else:
                    assert_error(r, 403, "AUTH-1003", "%s: create a lead (%s)" % (w, form))
            expect_state(get_one(tok, k, lead, s), k, lead, now, what=w + ": the lead")


def test_direct_campaign_user_delete_is_seen():
    sup = F.auth("sup")
    users = F.agents[:4]
    k = new_campaign(users, leads=2)
    for lead in k.leads:
        expect(put_mapping(sup, k.campaign, lead, users[:2], srv=N[0]), 200, "map")
    tags = {lead: warm_everywhere(sup, k, lead, users[:2], "lead %d" % lead)
            for lead in k.leads}
    for s in N:
        eq(campaign_users(sup, F.cc, F.process, k.campaign, srv=s), k.cu, "warm campaign users")
    gone = users[0]
    cu = k.cu.pop(gone)
    eq(direct(["DELETE FROM lead_user WHERE campaign_user_id = %d" % cu,
               "DELETE FROM campaign_user WHERE id = %d" % cu]), [len(k.leads), 1],
       "lead_user and campaign_user rows deleted behind cmsd's back")
    for s in N:
        w = "node %d" % (N.index(s) + 1)
        for lead in k.leads:
            r = get_one(sup, k, lead, s, {"If-None-Match": tags[lead]})
            expect_state(r, k, lead, users[1:2], what=w + ": lead %d with the old ETag" % lead)
            expect_state(get_one(sup, k, lead, s), k, lead, users[1:2],
                         what=w + ": lead %d" % lead)
        eq(campaign_users(sup, F.cc, F.process, k.campaign, srv=s), k.cu, w + ": campaign users")
        b = assert_error(put_mapping(sup, k.campaign, k.leads[0], [gone], srv=s), 404,
                         "CONF-1001", w + ": PUT naming the removed user")
        assert_missing(b, [("campaignUser", gone)], w + ": the 404")


def test_direct_mapping_write_is_seen():
    """INSERT and DELETE in lead_user by another process: the mapping GETs
    of every node show it at the next request (the rows ARE the mapping)."""
    sup = F.auth("sup")
    users = F.agents[:3]
    k = new_campaign(users, leads=2)
    lead = k.leads[0]
    now = set()
    for i, u in enumerate(users[:2]):
        old = warm_everywhere(sup, k, lead, now, "step %d" % i)
        eq(direct(["INSERT INTO lead_user (campaign_lead_id, campaign_user_id) VALUES (%d, %d)"
                   % (k.cl[lead], k.cu[u])]), [1], "lead_user row inserted behind cmsd's back")
        now.add(u)
        for s in N:
            w = "insert %s, node %d" % (u, N.index(s) + 1)
            r = get_one(sup, k, lead, s, {"If-None-Match": old})
            expect_state(r, k, lead, now, what=w + ": GET with the old ETag")
            assert etag_of(r) != old, w + ": ETag unchanged"
            expect_state(get_lead_user(sup, k, lead, s), k, lead, now, what=w + ": lead-user")
            eq((k.campaign, lead) in assignments(u, s), True, w + ": the user's assignments")
    # the other lead of the campaign is untouched
    expect_state(get_one(sup, k, k.leads[1], N[1]), k, k.leads[1], [], what="the other lead")
    u = users[0]
    old = warm_everywhere(sup, k, lead, now, "before the delete")
    eq(direct(["DELETE FROM lead_user WHERE campaign_lead_id = %d AND campaign_user_id = %d"
               % (k.cl[lead], k.cu[u])]), [1], "lead_user row deleted behind cmsd's back")
    now.discard(u)
    for s in N:
        w = "delete %s, node %d" % (u, N.index(s) + 1)
        r = get_one(sup, k, lead, s, {"If-None-Match": old})
        expect_state(r, k, lead, now, what=w + ": GET with the old ETag")
        r = get_list(sup, k, s)
        eq([o["assignedUserIds"] for o in expect(r, 200, w + ": list") if o["leadId"] == lead],
           [sorted(now)], w + ": the lead in the list")
        eq((k.campaign, lead) in assignments(u, s), False, w + ": the user's assignments")
    # and a PUT goes on from what the store holds
    r = put_mapping(sup, k.campaign, lead, [users[2]], [users[1]], srv=N[2])
    check_mapping(expect(r, 200, "PUT after the direct writes"), k.campaign, lead, k.cl[lead],
                  [users[2]], [users[1]], k.cu)
    expect_state(get_one(sup, k, lead, N[0]), k, lead, [users[2]], what="after the PUT")


# ---- 8. concurrent PUTs, some refused --------------------------------------------------------

def test_concurrent_puts_with_unknown_users_are_isolated():
    sup = F.auth("sup")
    adm = F.auth("admin")
    agents = F.agents[:15]
    # slot s of a lead: PUT s assigns pair[s] and unassigns pre[s], which
    # nobody else on that lead names; slot GC_PUTS // GC_LEADS is the dry run's
    slots = GC_PUTS // GC_LEADS + 1
    assert 3 * slots <= len(agents)
    pair = [agents[3 * s:3 * s + 2] for s in range(slots)]
    pre = [agents[3 * s + 2] for s in range(slots)]
    outsider = create_user(adm, F.cc, "out_" + uniq(), "Agent", srv=N[0])   # in no campaign
    for rnd in range(GC_ROUNDS):
        k = new_campaign(agents, leads=GC_LEADS, srv=N[rnd % NODES])
        for lead in k.leads:
            expect(put_mapping(sup, k.campaign, lead, pre, srv=N[lead % NODES]), 200, "pre")
        # every node serves every lead as it is before the PUTs
        old = {lead: warm_everywhere(sup, k, lead, pre, "round %d, lead %d" % (rnd, lead))
               for lead in k.leads}
        c0 = tail(sup, srv=N[0], campaignId=k.campaign)
        plan = []
        for p in range(GC_PUTS):
            lead = k.leads[p % GC_LEADS]
            s = p // GC_LEADS
            fail = (p + rnd) % 3 == 1
            missing = []
            assigned, unassigned = list(pair[s]), [pre[s]]
            if fail:
                missing = ["ghost%d_%s" % (p, uniq())]
                if p % 2:
                    missing.append("ghost%db_%s" % (p, uniq()))
                if p % 4 == 1:
                    missing.append(outsider)
                assigned = assigned[:1] + missing[:1] + assigned[1:]
                unassigned = unassigned + missing[1:]
            plan.append(types.SimpleNamespace(p=p, lead=lead, slot=s, fail=fail, dry=False,
                                              missing=missing, assigned=assigned,
                                              unassigned=unassigned, node=N[p % NODES]))
        dl = k.leads[rnd % GC_LEADS]
        plan.append(types.SimpleNamespace(p=GC_PUTS, lead=dl, slot=slots - 1, fail=False,
                                          dry=True, missing=[], assigned=list(pair[-1]),
                                          unassigned=[pre[-1]], node=N[rnd % NODES]))

        def run(x):
            x.r = req("PUT", MAPPING + ("?dryRun=true" if x.dry else ""),
                      {"leadId": x.lead, "campaignId": k.campaign,
                       "assignedUserIds": x.assigned, "unassignedUserIds": x.unassigned},
                      auth=sup, srv=x.node)
        parallel([lambda x=x: run(x) for x in plan], "round %d: concurrent PUTs" % rnd)

        want = {lead: set(pre) for lead in k.leads}
        ok = {}                                   # request id -> plan entry
        for x in plan:
            what = "round %d, PUT %d (lead %d, node %d%s)" % (
                rnd, x.p, x.lead, N.index(x.node) + 1,
                ", dry run" if x.dry else ", unknown %s" % x.missing if x.fail else "")
            if x.fail:
                b = assert_error(x.r, 404, "CONF-1001", what)
                assert_missing(b, [("campaignUser", m) for m in x.missing], what)
                continue
            b = expect(x.r, 200, what)
            if x.dry:
                eq(b.get("dryRun"), True, what + ": dryRun")
                ch = b.get("changes")
                assert isinstance(ch, dict), "%s: changes %r" % (what, ch)
                eq({kk: sorted(v) for kk, v in ch.items()},
                   {"assignedUserIds": sorted(x.assigned), "unassignedUserIds": x.unassigned},
                   what + ": changes")
                b = {kk: v for kk, v in b.items() if kk not in ("dryRun", "changes")}
            else:
                want[x.lead] = (want[x.lead] | set(x.assigned)) - set(x.unassigned)
                ok[x.r.headers.get("x-request-id")] = x
            check_mapping(b, k.campaign, x.lead, k.cl[x.lead], x.assigned, x.unassigned, k.cu,
                          what + ": answer")
        assert 0 < len(ok) < GC_PUTS, "round %d: %d PUTs succeeded" % (rnd, len(ok))
        # the final state, on every node
        for s in N:
            for lead in k.leads:
                w = "round %d, node %d, final lead %d" % (rnd, N.index(s) + 1, lead)
                r = get_one(sup, k, lead, s, {"If-None-Match": old[lead]})
                if want[lead] == set(pre):
                    eq(r.status, 304, w + ": unchanged lead, If-None-Match with its ETag")
                else:
                    expect_state(r, k, lead, want[lead], what=w + " (old ETag)")
                expect_state(get_one(sup, k, lead, s), k, lead, want[lead], what=w)
        # the history: each successful PUT once, nothing of the others
        for lead in k.leads:
            h = history(sup, k, lead, N[lead % NODES])
            mine = [x for x in ok.values() if x.lead == lead]
            got = sorted((e["requestId"], sorted(e["assignedUserIds"]),
                          sorted(e["unassignedUserIds"])) for e in h if e["requestId"] in ok)
            eq(got, sorted((x.r.headers["x-request-id"], sorted(x.assigned), x.unassigned)
                           for x in mine), "round %d, lead %d: history entries" % (rnd, lead))
            eq(len(h), 1 + len(mine), "round %d, lead %d: history length (pre + PUTs)" % (
                rnd, lead))
        # the feed: each successful PUT exactly once, nothing else
        evs = read_all(sup, after=c0, srv=N[(rnd + 1) % NODES], campaignId=k.campaign)[0]
        got = sorted((e["requestId"], e["leadId"], e["assigned"], e["unassigned"], e["cause"])
                     for e in evs)
        eq(got, sorted((rid, x.lead, sorted(x.assigned), x.unassigned, "mapping")
                       for rid, x in ok.items()), "round %d: the feed's events" % rnd)


def teardown_module():
    print("# t62: requests answered per node %r" % [s.responses for s in N], flush=True)
