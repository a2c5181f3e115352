"""
t40 - crash safety (issue 5): cmsd is SIGKILLed at random moments while
clients write, restarted on the same store, and every answer it gave before
dying must hold: a change answered 200/201/204 is in the store, and no
request is ever half applied.

The check is exact.  Each lead has two writers, each owning a disjoint group
of four campaign users; a writer's PUT names the whole group, assigning a
subset T and unassigning the rest, with at least one user going each way.
So after its k-th acknowledged PUT the group's state is exactly T_k, and after
the restart it must be T_k, or T_{k+1} when PUT k+1 was in flight at the kill
(sent, never answered).  Any other state is a lost acknowledgement (an older
T_j) or a half-applied PUT (a mix of T_k and T_{k+1}).  Alongside, one client
creates processes (acknowledged ones must exist after the restart), one deletes
leads (acknowledged deletes must stay deleted, untouched leads must stay), and
one deletes whole campaigns, whose cascade (campaign users, campaign leads,
mappings) must be all or nothing; at the end the store is checked for rows
that name a deleted parent.

Runs with the default durability and with CMSD_SQLITE_SYNC=full (SQLite
only), and on PostgreSQL when CMSD_TEST_PG is set.  The random seed is
printed ("# t40 seed N"); CMSD_T40_SEED=N replays it.
"""
import http.client
import os
import random
import re
import threading
import time

from harness import *  # noqa: F401,F403
from harness import SLOW, VALGRIND
import hostile

SEED = int(os.environ.get("CMSD_T40_SEED") or random.SystemRandom().randrange(1, 10 ** 6))

LEADS = 2 if VALGRIND else 3
WRITERS = 2                 # per lead, each with its own group of users
GROUP = 4                   # users per writer
KILLS = 2 if VALGRIND else 3
CAMPAIGNS_TO_DELETE = 3
LEADS_TO_DELETE = 4

# not-applied answers: the request changed nothing (API.md, decisions.md)
NOT_APPLIED = (503,)


class Outcome(object):
    """What one client thread knows after the kill."""

    def __init__(self):
        self.acked = []          # items acknowledged, in order
        self.refused = []        # items answered with an error that changes nothing
        self.in_flight = None    # the item sent when the connection broke, if any
        self.error = None        # an unexpected answer: a test failure


def client_loop(out, items, send, ok_status, stop, check=None):
    """Send items one by one until the connection breaks (the kill) or stop
    is set.  check(item, resp) may assert on an acknowledged answer."""
    try:
        for it in items:
            if stop.is_set():
                return
            out.in_flight = it
            try:
                r = send(it)
            except (OSError, http.client.HTTPException):
                return              # cmsd died with this request in flight
            out.in_flight = None
            if r.status == ok_status:
                if check:
                    check(it, r)
                out.acked.append((it, r))
            elif r.status in NOT_APPLIED:
                out.refused.append(it)
            else:
                out.error = "%s -> %d %s" % (it, r.status, short(r.raw))
                return
    except Exception as e:  # noqa: BLE001 - reported by the main thread
        out.error = "%s: %s" % (type(e).__name__, e)


class World(object):
    """The objects one server's store holds for the test, and the model."""

    def __init__(self, srv, rng):
        self.srv = srv
        self.rng = rng
        a = srv.sys_auth()
        self.cc = create_cc(a, srv=srv)
        self.p = create_process(a, self.cc, srv=srv)
        self.c = create_campaign(a, self.cc, self.p, srv=srv)
        self.groups = {}        # (lead, writer) -> [user ids]
        users = []
        self.leads = []
        for li in range(LEADS):
            lead = create_lead(a, self.cc, self.p, srv=srv)
            self.leads.append(lead)
            for w in range(WRITERS):
                g = ["k%d%d%d_%s" % (li, w, i, uniq()) for i in range(GROUP)]
                self.groups[(lead, w)] = g
                users += g
        for u in users:
            create_user(a, self.cc, u, srv=srv)
        self.cu = enroll(a, self.cc, self.p, self.c, users, srv=srv)
        for lead in self.leads:
            attach(a, self.cc, self.p, self.c, lead, srv=srv)
        self.state = {k: frozenset() for k in self.groups}   # the model
        self.round = 0

    def auth(self):
        return self.srv.sys_auth()

    def plan_puts(self, key, n):
        """n targets for a writer, each changing at least two users from the
        one before (so that any part of a PUT differs from both its ends),
        one of them each way whenever the group is neither empty nor full."""
        g = self.groups[key]
        prev = self.state[key]
        out = []
        for _ in range(n):
            while True:
                t = frozenset(u for u in g if self.rng.random() < 0.5)
                both_ways = (t - prev and prev - t) or not prev or len(prev) == len(g)
                if len(t ^ prev) >= 2 and both_ways:
                    break
            out.append(t)
            prev = t
        return out

    def observed(self):
        """The state of every writer's group, read through the API."""
        out = {}
        for lead in self.leads:
            m = get_mapping(self.auth(), self.c, lead, srv=self.srv)
            check_mapping(m, self.c, lead, cu=self.cu, what="mapping after restart")
            assigned = set(m["assignedUserIds"])
            listed = set(m["assignedUserIds"]) | set(m["unassignedUserIds"])
            for w in range(WRITERS):
                g = self.groups[(lead, w)]
                assert set(g) <= listed, "lead %d: campaign users missing from the GET: %r" % (
                    lead, sorted(set(g) - listed))
                out[(lead, w)] = frozenset(assigned & set(g))
        return out


def describe_set(s):
    return "{%s}" % ", ".join(sorted(x.split("_")[0] for x in s))


def crash_round(world, what):
    """Write from many threads, SIGKILL cmsd at a random moment, restart it,
    and check every acknowledged change and the atomicity of the rest."""
    srv, rng = world.srv, world.rng
    world.round += 1
    a = world.auth()
    tag = "r%d%s" % (world.round, uniq())
    # things to delete during the round
    del_leads = [create_lead(a, world.cc, world.p, srv=srv) for _ in range(LEADS_TO_DELETE)]
    del_camps = []
    for i in range(CAMPAIGNS_TO_DELETE):
        c = create_campaign(a, world.cc, world.p, srv=srv)
        some = [u for u in world.cu][i * 2:i * 2 + 3]
        cu = enroll(a, world.cc, world.p, c, some, srv=srv)
        lead = create_lead(a, world.cc, world.p, srv=srv)
        cl = attach(a, world.cc, world.p, c, lead, srv=srv)
        expect(put_mapping(a, c, lead, some[:2], some[2:], srv=srv), 200, "mapping of a victim")
        m = get_mapping(a, c, lead, srv=srv)
        del_camps.append({"c": c, "lead": lead, "cl": cl, "cu": cu, "mapping": m})

    n_puts = 2000
    pinned = hostile.Pinned(srv)   # the clients must not follow srv.port to a new run
    plans = {k: world.plan_puts(k, n_puts) for k in world.groups}
    outs = {k: Outcome() for k in world.groups}
    stop = threading.Event()

    def put_sender(key):
        lead, w = key
        g = world.groups[key]

        def split(t):
            return [u for u in g if u in t], [u for u in g if u not in t]

        def send(t):
            return put_mapping(a, world.c, lead, *split(t), srv=pinned)

        def check(t, r):
            check_mapping(r.json, world.c, lead, assigned=split(t)[0], unassigned=split(t)[1],
                          cu=world.cu, what="PUT answer")
        return lambda: client_loop(outs[key], plans[key], send, 200, stop, check)

    creates = Outcome()
    names = ["crash-%s-%d" % (tag, i) for i in range(1000)]
    deletes = Outcome()
    cdeletes = Outcome()
    threads = [threading.Thread(target=put_sender(k), daemon=True) for k in world.groups]
    threads.append(threading.Thread(target=client_loop, daemon=True, args=(
        creates, names,
        lambda n: req("POST", cc_path(world.cc) + "/process", {"processName": n}, auth=a,
                      srv=pinned),
        201, stop)))
    # the deletes are paced, so that the kill finds some done, some not tried
    # and sometimes one in flight
    def lead_delete(lead):
        time.sleep(rng.uniform(0.0, 0.4) * SLOW)
        return req("DELETE", proc_path(world.cc, world.p) + "/lead/%d" % lead, auth=a,
                   srv=pinned)
    threads.append(threading.Thread(target=client_loop, daemon=True, args=(
        deletes, del_leads, lead_delete, 204, stop)))

    def slow_camp_delete(v):
        time.sleep(rng.uniform(0.0, 0.5) * SLOW)
        return req("DELETE", camp_path(world.cc, world.p, v["c"]), auth=a, srv=pinned)
    threads.append(threading.Thread(target=client_loop, daemon=True, args=(
        cdeletes, del_camps, slow_camp_delete, 204, stop)))
    for t in threads:
        t.start()
    # kill at a random moment once some PUTs were answered
    t0 = time.time()
    while sum(len(o.acked) for o in outs.values()) < 3 * len(outs) and time.time() - t0 < 20 * SLOW:
        time.sleep(0.01)
    time.sleep(rng.uniform(0.05, 1.0) * SLOW)
    srv.kill()
    stop.set()
    for t in threads:
        t.join(REQ_TIMEOUT + 5)
    assert not any(t.is_alive() for t in threads), \
        "%s: a client did not return after the kill" % what
    for o in list(outs.values()) + [creates, deletes, cdeletes]:
        assert o.error is None, "%s: unexpected answer before the kill: %s" % (what, o.error)
    srv.start()

    # the mapping: per writer, T_k or (in flight) T_{k+1}
    seen = world.observed()
    n_acked = 0
    in_flight_applied = 0
    for key, o in sorted(outs.items()):
        n_acked += len(o.acked)
        k = len(o.acked) + len(o.refused)
        prefix = [world.state[key]] + plans[key][:k]
        # each PUT sets the whole group: the last acknowledged one decides
        last_acked = o.acked[-1][0] if o.acked else world.state[key]
        allowed = {last_acked}
        if o.in_flight is not None:
            allowed.add(o.in_flight)
        got = seen[key]
        if got not in allowed:
            older = [i for i, t in enumerate(prefix) if t == got]
            why = ("an acknowledged PUT was lost (state of PUT %d of %d)" % (older[-1], k)
                   if older else "a PUT was half applied or the state is foreign")
            raise AssertionError("%s, lead %d writer %d: %s: after restart %s, allowed %s "
                                 "(%d acknowledged, in flight: %s) [seed %d]" % (
                                     what, key[0], key[1], why, describe_set(got),
                                     " or ".join(describe_set(s) for s in allowed), len(o.acked),
                                     "none" if o.in_flight is None else
                                     describe_set(o.in_flight),
                                     SEED))
        if o.in_flight is not None and got == o.in_flight and got != last_acked:
            in_flight_applied += 1
        world.state[key] = got
    assert n_acked > 0, "%s: no PUT was acknowledged before the kill" % what

    # creates: every acknowledged process exists; nothing beyond the one in flight
    # every page: three rounds of creates outgrow one page of 1,000
    have = set(p["processName"] for p in
               list_all(cc_path(world.cc) + "/process", world.auth(), srv, "process list")
               if p["processName"].startswith("crash-%s-" % tag))
    acked = set(n for n, _ in creates.acked)
    missing = acked - have
    assert not missing, "%s: acknowledged creates lost: %s" % (what, sorted(missing)[:5])
    extra = have - acked - ({creates.in_flight} if creates.in_flight else set())
    assert not extra, "%s: processes nobody was told were created: %s" % (what, sorted(extra))

    # lead deletes: acknowledged ones gone, untried ones still there
    for lead in del_leads:
        r = req("GET", proc_path(world.cc, world.p) + "/lead/%d" % lead, auth=world.auth(), srv=srv)
        if lead in [x for x, _ in deletes.acked]:
            assert_error(r, 404, "CONF-1001",
                         "%s: lead %d whose delete was acknowledged" % (what, lead))
        elif lead != deletes.in_flight:
            expect(r, 200, "%s: lead %d never deleted" % (what, lead))

    # campaign deletes: all of the cascade or none of it
    for v in del_camps:
        r = req("GET", camp_path(world.cc, world.p, v["c"]), auth=world.auth(), srv=srv)
        if any(x is v for x, _ in cdeletes.acked):
            assert_error(r, 404, "CONF-1001", "%s: campaign %d whose delete was acknowledged"
                         % (what, v["c"]))
        elif r.status == 404 and v is cdeletes.in_flight:
            pass
        else:
            expect(r, 200, "%s: campaign %d not deleted" % (what, v["c"]))
            eq(get_mapping(world.auth(), v["c"], v["lead"], srv=srv), v["mapping"],
               "%s: mapping of campaign %d that was not deleted" % (what, v["c"]))
            eq(campaign_users(world.auth(), world.cc, world.p, v["c"], srv=srv), v["cu"],
               "%s: campaign users of campaign %d that was not deleted" % (what, v["c"]))
    print("# %s: %d PUTs acknowledged, %d in flight applied, %d creates, %d lead and %d "
          "campaign deletes acknowledged" % (what, n_acked, in_flight_applied, len(creates.acked),
                                             len(deletes.acked), len(cdeletes.acked)), flush=True)
    hostile.healthy(srv)


ORPHANS = [
    "SELECT count(*) FROM campaign_user x WHERE NOT EXISTS "
    "(SELECT 1 FROM campaign c WHERE c.id = x.campaign_id)",
    "SELECT count(*) FROM campaign_lead x WHERE NOT EXISTS "
    "(SELECT 1 FROM campaign c WHERE c.id = x.campaign_id)",
    "SELECT count(*) FROM lead_user x WHERE NOT EXISTS "
    "(SELECT 1 FROM campaign_lead c WHERE c.id = x.campaign_lead_id)",
    "SELECT count(*) FROM lead_user x WHERE NOT EXISTS "
    "(SELECT 1 FROM campaign_user c WHERE c.id = x.campaign_user_id)",
]


def check_store_at_rest(srv, what):
    """With cmsd stopped: no row names a missing parent; SQLite's own check."""
    url = srv.store_url()
    for q in ORPHANS:
        n = int(store_sql(url, q)[0][0])
        eq(n, 0, "%s: rows naming a deleted parent (%s)" % (what, q))
    if url.startswith("sqlite:"):
        eq(store_sql(url, "PRAGMA integrity_check"), [["ok"]], what + ": PRAGMA integrity_check")


def run_kills(env, what):
    print("# t40 seed %d (%s)" % (SEED, what), flush=True)
    rng = random.Random("%d-%s" % (SEED, what))
    srv = Server(env=env).start()
    world = World(srv, rng)
    for i in range(KILLS):
        crash_round(world, "%s, kill %d" % (what, i + 1))
    eq(srv.stop(), 0, what + ": exit code after the last round")
    check_store_at_rest(srv, what)


def test_sigkill_default_durability():
    run_kills({}, "default durability")


def test_sigkill_sqlite_sync_full():
    if backend() != "sqlite":
        skip("CMSD_SQLITE_SYNC applies to SQLite only; this run is on %s" % backend())
    run_kills({"CMSD_SQLITE_SYNC": "full"}, "CMSD_SQLITE_SYNC=full")


def test_checkpoints_carry_the_wal_into_the_database():
    """SQLite: while writers keep writing, cmsd's checkpoint thread copies the
    WAL into the database file (docs/performance.md, recommendation 4), so
    the database file alone holds all but the last few hundred changes, and
    every change is in the store once cmsd stops."""
    if backend() != "sqlite":
        skip("checkpoints are SQLite's; this run is on %s" % backend())
    import shutil
    import sqlite3
    # a round every 500 WAL pages (the default is 4,000: README), so that
    # 1,500 PUTs see several however they group: four writers' groups of up
    # to four PUTs write 1.3 to 6 pages a PUT (at 4,000 a loaded run stayed
    # under the threshold and left everything in the WAL)
    srv = Server(env={"CMSD_SQLITE_CHECKPOINT_PAGES": "500"}).start()
    use(srv)
    F = make_fixture(extra_agents=4)
    auth = bearer(F.tok["admin"])
    per_writer = 375
    statuses = []

    def writer(user):
        def go():
            for i in range(per_writer):
                assigned = [user] if i % 2 == 0 else []
                unassigned = [] if i % 2 == 0 else [user]
                statuses.append(put_mapping(auth, F.campaign, F.lead, assigned, unassigned).status)
        return go

    parallel([writer(u) for u in F.agents], "toggling writers", timeout=300 * SLOW)
    total = per_writer * len(F.agents)
    eq(statuses, [200] * total, "answers to %d toggling PUTs" % total)
    path = srv.store_url()[len("sqlite:"):]
    alone = os.path.join(srv.tmpdir, "file-alone.db")

    def count_in_file():
        """History rows in a copy of the database file without its WAL, or
        None when the copy was torn by a checkpoint writing meanwhile."""
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(alone + suffix):
                os.unlink(alone + suffix)
        shutil.copyfile(path, alone)
        try:
            db = sqlite3.connect(alone)
            try:
                return db.execute("SELECT count(*) FROM mapping_history WHERE lead_id = ?",
                                  (F.lead,)).fetchone()[0]
            finally:
                db.close()
        except sqlite3.DatabaseError:
            return None

    # the last checkpoint, if one was due, finishes: two copies agree
    counts = [None]
    for _ in range(20):
        time.sleep(0.5 * SLOW)
        counts.append(count_in_file())
        if counts[-1] is not None and counts[-1] == counts[-2]:
            break
    in_file = counts[-1]
    assert in_file is not None, "the database file could not be read: %r" % counts
    print("# t40 checkpoints: %d of %d history rows in the database file without its WAL"
          % (in_file, total), flush=True)
    # a round is due every 500 WAL pages; the last one leaves at most the
    # PUTs of 500 pages in the WAL
    assert in_file >= total - 1000, \
        "only %d of %d changes reached the database file: no checkpoints?" % (in_file, total)
    # /metrics counts those rounds, the pages they copied and how long each
    # held the writers (README, "Metrics")
    r = req("GET", "/metrics", srv=srv, headers={"Accept": "text/plain"})
    eq(r.status, 200, "/metrics")
    text = r.raw.decode("utf-8")

    def series(name):
        m = re.search(r"^%s (\d+(?:\.\d+)?)$" % re.escape(name), text, re.M)
        assert m, "/metrics has no %s" % name
        return float(m.group(1))
    rounds = series('cmsd_sqlite_checkpoints_total{by="thread"}')
    forced = series('cmsd_sqlite_checkpoints_total{by="writer"}')
    frames = series("cmsd_sqlite_checkpoint_frames_total")
    print("# t40 checkpoints: /metrics %d rounds by the thread, %d forced, %d frames"
          % (rounds, forced, frames), flush=True)
    assert rounds >= 1, "/metrics counts no checkpoint round"
    assert frames >= 500, "/metrics counts %d frames checkpointed, under one round's 500" % frames
    for by, n in (("thread", rounds), ("writer", forced)):
        eq(series('cmsd_sqlite_checkpoint_writers_held_seconds_count{by="%s"}' % by), n,
           "held-time observations by the %s" % by)
        eq(series('cmsd_sqlite_checkpoint_writers_held_seconds_bucket{by="%s",le="+Inf"}' % by),
           n, "the +Inf bucket by the %s" % by)
    eq(srv.stop(), 0, "exit code")
    eq(int(store_sql(srv.store_url(), "SELECT count(*) FROM mapping_history WHERE lead_id = %d"
                     % F.lead)[0][0]), total, "history rows after the stop")
