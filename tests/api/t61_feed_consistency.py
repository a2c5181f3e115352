"""
t61 - snapshot + change feed stays exact under concurrent writers (API.md
section 8: "A consumer resuming from the last cursor it processed gets every
later event exactly once, on one node or many").

WRITERS threads PUT random assign/unassign sets on many leads of two
campaigns, and a churn thread removes campaign users and enrols them again
(campaignUserRemoved events, PUTs naming a removed user answer 404), for
CMSD_FEED_SOAK seconds (default 12; set it higher for a soak).  Meanwhile
two consumers each take a snapshot (the campaign mapping GETs, each with its
X-Change-Cursor) and follow the feed from there, one unfiltered and one
filtered to a campaign.  Every session of a consumer ends abruptly (a
connection dropped mid-stream, events it had read but not processed
thrown away: all it keeps is its mapping and the last cursor it processed)
and the next resumes from that cursor, alternating long-poll and
Server-Sent Events.  At the end:

  - each consumer's rebuilt mapping of every lead equals the final GET;
  - no cursor was processed twice, and cursors only increased;
  - every event names a request that the writers saw succeed;
  - the filtered consumer saw only its campaign's events.

On SQLite: one cmsd.  On PostgreSQL (CMSD_TEST_PG): three cmsd nodes on one
database, the writers spread over them and each consumer on another node
every time it resumes.
"""
import os
import random
import re
import threading
import time
import types

from harness import *  # noqa: F401,F403
from harness import SLOW
from feedlib import SSE, changes, check_cursor, check_event, check_page, query

DURATION = float(os.environ.get("CMSD_FEED_SOAK", "12"))
WRITERS = 4
CAMPAIGNS = 2
LEADS = 12                 # per campaign
USERS = 10                 # agents enrolled in every campaign
CHURN = 2                  # of them, removed from and enrolled in campaigns again
MAX_503_SHARE = 0.02

N = []                     # the cmsd nodes
D = None                   # what setup made
SEED = random.SystemRandom().randrange(1 << 30)


def setup_module():
    global D
    first = Server().start()
    N[:] = [first]
    if backend() == "postgresql":
        for _ in range(2):
            N.append(Server(share=first, admin_password=first.admin_password).start())
    use(first)
    f = make_fixture(extra_agents=USERS)
    d = types_ns()
    d.f = f
    sa = first.sys_auth()
    d.campaigns = []
    d.leads = {}
    for _ in range(CAMPAIGNS):
        c = create_campaign(sa, f.cc, f.process)
        d.campaigns.append(c)
        d.leads[c] = []
        for _ in range(LEADS):
            lead = create_lead(sa, f.cc, f.process)
            attach(sa, f.cc, f.process, c, lead)
            d.leads[c].append(lead)
        enroll(sa, f.cc, f.process, c, f.agents)
    # tokens of the contact center's supervisor and administrator: valid on every node
    d.sup = f.auth("sup")
    d.admin = f.auth("admin")
    D = d
    print("# t61: %d node(s) on %s, %d s of writes, seed %d" % (
        len(N), backend(), DURATION, SEED), flush=True)


def types_ns():
    return types.SimpleNamespace()


class Log(object):
    def __init__(self):
        self.lock = threading.Lock()
        self.ok_ids = set()        # request ids answered 200/204/201
        self.refused_ids = set()   # request ids answered 4xx
        self.statuses = {}
        self.errors = []
        self.unknown = 0           # no answer (a cut connection): its effect is unknown

    def note(self, r, ok=(200, 201, 204), fine=()):
        with self.lock:
            self.statuses[r.status] = self.statuses.get(r.status, 0) + 1
            rid = r.headers.get("x-request-id")
            if r.status in ok:
                self.ok_ids.add(rid)
            elif r.status in fine or r.status == 503:
                self.refused_ids.add(rid)
            else:
                self.errors.append("%s %s -> %d %s" % (r.method, r.path, r.status,
                                                       short(r.raw, 200)))


def writer(i, deadline, log):
    rng = random.Random(SEED + i)
    node = N[i % len(N)]
    users = D.f.agents
    while time.time() < deadline:
        c = rng.choice(D.campaigns)
        lead = rng.choice(D.leads[c])
        pool = rng.sample(users, rng.randint(1, 5))
        cut = rng.randint(0, len(pool))
        try:
            r = put_mapping(D.sup, c, lead, pool[:cut], pool[cut:], srv=node)
        except OSError as e:
            with log.lock:
                log.unknown += 1
                log.errors.append("writer %d: %s" % (i, e))
            continue
        # 404: a churned user is not a campaign user just now
        log.note(r, fine=(404,))


def churner(deadline, log):
    rng = random.Random(SEED - 1)
    f = D.f
    k = 0
    while time.time() < deadline:
        node = N[k % len(N)]
        k += 1
        c = rng.choice(D.campaigns)
        u = rng.choice(f.agents[:CHURN])
        r = req("DELETE", "%s/campaign-user/%s" % (camp_path(f.cc, f.process, c), u),
                auth=D.admin, srv=node)
        log.note(r, fine=(404,))
        time.sleep(rng.uniform(0.05, 0.3))
        r = req("POST", camp_path(f.cc, f.process, c) + "/campaign-user", {"userIds": [u]},
                auth=D.admin, srv=N[k % len(N)])
        log.note(r)
        time.sleep(rng.uniform(0.2, 0.8))


class Consumer(object):
    """Follows the feed from a snapshot; keeps only (state, cursor) across
    its sessions."""

    def __init__(self, name, campaign=None):
        self.name = name
        self.campaign = campaign        # a campaignId filter, or None
        self.rng = random.Random(SEED + hash(name) % 1000)
        self.state = {}                 # (campaignId, leadId) -> set of userIds
        self.snap = {}                  # campaignId -> snapshot cursor
        self.cursor = None
        self.seen = set()
        self.violations = []
        self.events = []                # every processed event
        self.sessions = {"poll": 0, "sse": 0}
        self.nodes_used = set()
        self.node_i = 0
        self.error = None
        self.dropped = 0                # events read but thrown away by a "kill"

    def node(self):
        return N[self.node_i % len(N)]

    def campaigns(self):
        return [self.campaign] if self.campaign else D.campaigns

    def filt(self):
        return {"campaignId": self.campaign} if self.campaign else {}

    def snapshot(self):
        for c in self.campaigns():
            r = req("GET", "%s?campaignId=%s&limit=1000" % (MAPPING, c), auth=D.sup,
                    srv=self.node())
            rows = expect(r, 200, "%s: snapshot of campaign %s" % (self.name, c))
            eq(len(rows), LEADS, "%s: leads in the snapshot" % self.name)
            self.snap[c] = check_cursor(r.headers.get("x-change-cursor"),
                                        "%s: snapshot X-Change-Cursor" % self.name)
            for o in rows:
                self.state[(c, o["leadId"])] = set(o["assignedUserIds"])
        self.cursor = min(self.snap.values())
        self.start = self.cursor        # where its feed begins

    def apply(self, ev, via):
        check_event(ev, "%s: event via %s" % (self.name, via))
        c = ev["cursor"]
        if c in self.seen:
            self.violations.append("cursor %s delivered twice (again via %s)" % (c, via))
            return
        if c <= self.cursor:
            self.violations.append("cursor %s after %s (via %s): out of order" % (
                c, self.cursor, via))
            return
        self.seen.add(c)
        self.cursor = c
        self.events.append(ev)
        if self.campaign and ev["campaignId"] != self.campaign:
            self.violations.append("event %s of campaign %s on a stream filtered to %s" % (
                c, ev["campaignId"], self.campaign))
            return
        key = (ev["campaignId"], ev["leadId"])
        if key not in self.state:
            self.violations.append("event %s names an unknown lead %r" % (c, key))
            return
        if c <= self.snap[ev["campaignId"]]:
            return                      # already in the snapshot
        s = self.state[key]
        s |= set(ev["assigned"])
        s -= set(ev["unassigned"])

    def poll_session(self, until):
        self.sessions["poll"] += 1
        while time.time() < until:
            r = changes(D.sup, srv=self.node(), after=self.cursor,
                        limit=self.rng.randint(1, 200), wait=1, **self.filt())
            b = check_page(r, "%s: poll" % self.name)
            for ev in b["events"]:
                self.apply(ev, "poll")
            if b["cursor"] < self.cursor:
                self.violations.append("poll after %s answered cursor %s" % (self.cursor,
                                                                              b["cursor"]))
            else:
                self.cursor = b["cursor"]

    def sse_session(self, until):
        self.sessions["sse"] += 1
        hdrs = {}
        q = dict(self.filt())
        if self.rng.random() < 0.5:
            hdrs["Last-Event-ID"] = self.cursor
        else:
            q["after"] = self.cursor
        s = SSE(D.sup, srv=self.node(), qs=query(**q), headers=hdrs).open()
        try:
            eq(s.status, 200, "%s: SSE status %s" % (self.name, short(s.raw)))
            while time.time() < until:
                ev = s.next_event(max(0.0, until - time.time()))
                if ev is None:
                    if s.ended:
                        break
                    continue
                eq(ev["id"], ev["json"] and ev["json"].get("cursor"), "%s: id: vs cursor" %
                   self.name)
                self.apply(ev["json"], "sse")
            # killed: whatever was read and not processed is lost
            self.dropped += len(s.queue)
        finally:
            s.close()

    def run(self, stop):
        try:
            self.snapshot()
            while not stop.is_set():
                self.node_i += 1
                self.nodes_used.add(self.node_i % len(N))
                until = time.time() + self.rng.uniform(0.2, 1.2)
                if self.rng.random() < 0.5:
                    self.poll_session(until)
                else:
                    self.sse_session(until)
            self.catch_up()
        except BaseException as e:   # noqa: B902
            import traceback
            self.error = "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc()[-1500:])

    def catch_up(self):
        self.node_i += 1
        while True:
            b = check_page(changes(D.sup, srv=self.node(), after=self.cursor, limit=1000,
                                   **self.filt()), "%s: catch up" % self.name)
            for ev in b["events"]:
                self.apply(ev, "catch-up poll")
            if not b["events"] and b["cursor"] == self.cursor:
                return
            self.cursor = max(self.cursor, b["cursor"])


def test_consumers_rebuild_the_mapping_exactly_while_writers_write():
    assert D is not None, "setup failed"
    log = Log()
    stop = threading.Event()
    consumers = [Consumer("unfiltered"), Consumer("campaign-filtered", D.campaigns[0])]
    cts = [threading.Thread(target=c.run, args=(stop,), daemon=True) for c in consumers]
    deadline = time.time() + DURATION
    wts = [threading.Thread(target=writer, args=(i, deadline, log), daemon=True)
           for i in range(WRITERS)]
    wts.append(threading.Thread(target=churner, args=(deadline, log), daemon=True))
    t0 = time.time()
    for t in wts:
        t.start()
    # the snapshots are taken while the writers write
    time.sleep(min(1.0, DURATION / 4))
    for t in cts:
        t.start()
    for t in wts:
        t.join(DURATION + 120 * SLOW)
    assert not any(t.is_alive() for t in wts), "writers still running"
    # every churned user enrolled again (POST is idempotent): the end state is settled
    for c in D.campaigns:
        enroll(D.admin, D.f.cc, D.f.process, c, D.f.agents[:CHURN], srv=N[0])
    stop.set()
    for t in cts:
        t.join(120 * SLOW)
    assert not any(t.is_alive() for t in cts), "a consumer did not finish catching up"
    elapsed = time.time() - t0
    puts = sum(log.statuses.values())
    print("# t61: %d requests in %.1f s (%.0f/s), statuses %r" % (
        puts, elapsed, puts / elapsed, sorted(log.statuses.items())), flush=True)
    for c in consumers:
        print("# t61: %s consumer: %d events, sessions %r, nodes %r, %d read and dropped "
              "by kills" % (c.name, len(c.events), c.sessions, sorted(c.nodes_used), c.dropped),
              flush=True)
    for c in consumers:
        assert c.error is None, "%s consumer failed: %s" % (c.name, c.error)
    eq(log.errors, [], "unexpected answers to the writers")
    if backend() == "postgresql":
        n503 = log.statuses.get(503, 0)
        assert n503 <= MAX_503_SHARE * puts, "%d of %d answers were 503" % (n503, puts)
    else:
        eq(log.statuses.get(503, 0), 0, "503 answers on one node")
    assert log.statuses.get(200, 0) >= 50, "too few successful PUTs to mean anything: %r" % (
        log.statuses,)

    # the final state, read lead by lead (from every node in turn)
    final = {}
    for i, c in enumerate(D.campaigns):
        for j, lead in enumerate(D.leads[c]):
            m = get_mapping(D.sup, c, lead, srv=N[(i + j) % len(N)])
            final[(c, lead)] = set(m["assignedUserIds"])
    assert any(final.values()), "no lead has any user at the end"
    for c in consumers:
        eq(c.violations[:10], [], "%s consumer: exactly-once and order violations" % c.name)
        assert sum(c.sessions.values()) >= 4, "%s consumer resumed only %r times" % (
            c.name, c.sessions)
        if len(N) > 1:
            eq(sorted(c.nodes_used), list(range(len(N))), "%s consumer: nodes used" % c.name)
        want = {k: v for k, v in final.items() if c.campaign is None or k[0] == c.campaign}
        wrong = sorted((k, sorted(c.state.get(k, set())), sorted(v))
                       for k, v in want.items() if c.state.get(k) != v)
        eq(wrong[:5], [], "%s consumer: leads whose rebuilt mapping differs from the final "
           "GET ((campaign, lead), rebuilt, GET) of %d" % (c.name, len(wrong)))
        # every event stems from a request that succeeded
        stray = [ev for ev in c.events if ev["requestId"] not in log.ok_ids]
        eq([(ev["cursor"], ev["requestId"], ev["cause"]) for ev in stray[:5]], [],
           "%s consumer: events of requests that did not succeed (%d)" % (c.name, len(stray)))
        causes = {ev["cause"] for ev in c.events}
        assert "mapping" in causes, "%s: no mapping event" % c.name
    assert "campaignUserRemoved" in {ev["cause"] for ev in consumers[0].events}, \
        "the churn removed no mapped campaign user (nothing tested of that cause)"
    # on SQLite the writer's events went into memory as written, the churn's
    # were read back, and the consumers found the two sources one feed; on
    # PostgreSQL the group function does not say its entries' ids: all read
    text = req("GET", "/metrics", srv=N[0], headers={"Accept": "text/plain"}).raw.decode()
    src = {k: int(v) for k, v in re.findall(
        r'^cmsd_feed_events_total\{source="(\w+)"\} (\d+)$', text, re.M)}
    print("# t61: node 0 took events into memory by source: %r" % (src,), flush=True)
    if backend() == "sqlite":
        assert src.get("writer", 0) > 0 and src.get("read", 0) > 0, \
            "events into memory by source %r: both sources wanted" % (src,)
    else:
        eq(src.get("writer"), 0, "events handed over by the writer on PostgreSQL")
    # both consumers saw the same events of the filtered one's campaign, from
    # where both of them follow the feed (each begins at its own snapshot)
    both = max(consumers[0].start, consumers[1].snap[D.campaigns[0]])
    eq([ev["cursor"] for ev in consumers[0].events if ev["campaignId"] == D.campaigns[0]
        and ev["cursor"] > both],
       [ev["cursor"] for ev in consumers[1].events if ev["cursor"] > both],
       "the filtered consumer's events vs the unfiltered one's of that campaign")


def notifications(node):
    """cmsd_feed_notifications_total of one node, by where they came from."""
    return metrics_by("cmsd_feed_notifications_total", "from", ("own", "other"), srv=node)


def test_a_long_poll_on_one_node_wakes_for_a_commit_on_another():
    # the contract promises exactly-once on many nodes; a long-poll that
    # only woke for its own node's commits would still be correct but slow
    # -- here it must at least wake well before its wait runs out
    if len(N) < 2:
        skip("one node (SQLite)")
    f = D.f
    cur = "0"
    for _ in range(1000):
        b = check_page(changes(D.sup, srv=N[0], after=cur, limit=1000))
        cur = b["cursor"]
        if not b["events"]:
            break
    box = {}

    def poll():
        t = time.time()
        box["r"] = changes(D.sup, srv=N[1], after=cur, wait=20, timeout=40)
        box["t"] = time.time()
        box["dt"] = box["t"] - t
    n2, n3 = notifications(N[1]), notifications(N[2])
    th = threading.Thread(target=poll, daemon=True)
    th.start()
    time.sleep(0.5)
    lead = D.leads[D.campaigns[0]][0]
    # a PUT that changes the lead (one that finds it so appends nothing)
    who = f.agents[-1]
    mapped = who in get_mapping(D.sup, D.campaigns[0], lead, srv=N[2])["assignedUserIds"]
    on, off = ([], [who]) if mapped else ([who], [])
    r = put_mapping(D.sup, D.campaigns[0], lead, on, off, srv=N[2])
    t_put = time.time()
    expect(r, 200, "PUT on node 3")
    th.join(30)
    expect(put_mapping(D.sup, D.campaigns[0], lead, off, on, srv=N[2]), 200, "PUT back on node 3")
    assert "r" in box, "the long-poll on node 2 never answered"
    b = check_page(box["r"], "long-poll on node 2")
    assert b["events"], "the long-poll on node 2 came back empty after %.1f s" % box["dt"]
    print("# t61: long-poll on node 2 answered %.0f ms after the PUT on node 3 was answered"
          % ((box["t"] - t_put) * 1000), flush=True)
    eq(b["events"][0]["requestId"], r.headers.get("x-request-id"), "the event it woke for")
    assert box["dt"] < 10, "the long-poll took %.1f s to see another node's commit" % box["dt"]
    # node 2 woke for node 3's notification, not for its safety read once a
    # second; node 3 passed over its own notifications: its PUTs had woken
    # its feed thread already (store_pg.c, `own`)
    got2 = notifications(N[1])
    assert got2["other"] > n2["other"], \
        "node 2 counts no notification from another node: %r then %r" % (n2, got2)
    for _ in range(100):
        got3 = notifications(N[2])
        if got3["own"] > n3["own"]:
            break
        time.sleep(0.05 * SLOW)
    assert got3["own"] > n3["own"], \
        "node 3 took none of its own PUTs' notifications for its own: %r then %r" % (n3, got3)
    print("# t61: notifications on node 2 %r -> %r, on node 3 %r -> %r"
          % (n2, got2, n3, got3), flush=True)
