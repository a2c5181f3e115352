"""
t60 - the change feed and the agent's view (API.md section 8, docs/feed.md),
black-box against a real cmsd, written from the contract alone.

    1. every cause appends its event with the right fields: a mapping PUT (only
       the users whose state changed; a PUT that changes nothing, a dry run and
       a refused PUT append nothing), campaignUserRemoved, leadDetached,
       userDeleted, campaignDeleted; deleting an attached lead is still 409 and
       appends nothing;
    2. the event's fields and types exactly as docs/feed.md gives them: cursor
       16 lowercase hex digits, increasing; at RFC 3339; requestId the
       X-Request-Id of the causing request; actor its caller;
    3. pagination with after/limit and the returned cursor; the filters
       campaignId, leadId, userId; scope (another tenant, an Agent, the system
       administrator); bad input 400 CONF-1002; 401;
    4. long-poll (wait=): wakes within 100 ms of a commit, times out empty with
       the same cursor;
    5. Server-Sent Events: id: lines are the cursors, data the poll's JSON,
       Last-Event-ID resumes, heartbeats, SIGTERM ends the body cleanly and
       cmsd exits 0; Node's fetch reads the stream too;
    6. 410 CONF-1007 past the retention window and ahead of the feed;
    7. X-Change-Cursor on every mapping GET form, and snapshot + feed: the
       feed from a GET's cursor has exactly the later changes;
    8. GET /cc/{cc}/user/{userId}/assignments against the mapping;
    9. on SQLite a PUT's event goes into the node's memory as the writer
       wrote it, not read back, and never past an event another process
       appended that the node has not read yet (on PostgreSQL it is read).

Runs on whichever store the harness uses (SQLite, or PostgreSQL with
CMSD_TEST_PG).
"""
import datetime
import http.client
import json
import re
import os
import shutil
import socket
import subprocess
import threading
import time
import types

import harness
from harness import *  # noqa: F401,F403
from harness import SLOW
from feedlib import (CHANGES, FAR_AHEAD, SSE, assert_gone, by_request, changes, check_cursor,
                     check_event, check_page, query, read_all, sse_open, tail)

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_CLIENT = os.path.join(HERE, "feed_sse.mjs")
# cmsd's options for the feed (docs/feed.md; names checked against --help)
HEARTBEAT_OPT = ["--sse-heartbeat", "1"]
RETENTION_OPT = ["--change-retention", "1s"]

S = None
F = None
G = None   # another contact center
ASSIGNMENT_KEYS = {"campaignId", "campaignName", "processId", "leadId", "leadName",
                   "campaignLeadId", "campaignUserId", "priority", "enabled"}


def setup_module():
    global S, F, G
    S = use(Server().start())
    F = make_fixture(extra_agents=6)
    G = make_fixture(extra_agents=2)


def sysauth():
    return S.sys_auth()


def new_campaign(f=None, leads=1, users=None, name=None):
    """A fresh campaign in f's process, `leads` new leads attached, users
    enrolled (default: f's supervisor, agent and extra agents)."""
    f = f or F
    sa = sysauth()
    k = types.SimpleNamespace()
    k.name = name or "fc-" + uniq()
    k.campaign = create_campaign(sa, f.cc, f.process, k.name)
    k.leads = [create_lead(sa, f.cc, f.process) for _ in range(leads)]
    k.cl = {l: attach(sa, f.cc, f.process, k.campaign, l) for l in k.leads}
    k.cu = enroll(sa, f.cc, f.process, k.campaign,
                  list(users) if users is not None else [f.sup, f.agent] + f.agents)
    k.path = camp_path(f.cc, f.process, k.campaign)
    return k


def put(auth, campaign, lead, assigned=(), unassigned=(), what="PUT", query_str=""):
    r = req("PUT", MAPPING + query_str, {"leadId": lead, "campaignId": campaign,
                                         "assignedUserIds": list(assigned),
                                         "unassignedUserIds": list(unassigned)}, auth=auth)
    expect(r, 200, what)
    return r


def rid(r):
    v = r.headers.get("x-request-id")
    assert v, "no X-Request-Id on %s %s" % (r.method, r.path)
    return v


def since(c0, auth=None, **filters):
    return read_all(auth or sysauth(), after=c0, **filters)[0]


def expect_event(ev, f, campaign, lead, campaign_lead, assigned, unassigned, cause, actor,
                 request_id, what="event"):
    check_event(ev, what)
    got = {k: ev[k] for k in ("contactCenterId", "campaignId", "leadId", "campaignLeadId",
                              "assigned", "unassigned", "cause", "actor", "requestId")}
    want = {"contactCenterId": f.cc, "campaignId": campaign, "leadId": lead,
            "campaignLeadId": campaign_lead, "assigned": sorted(assigned),
            "unassigned": sorted(unassigned), "cause": cause, "actor": actor,
            "requestId": request_id}
    eq(got, want, what)


def assert_recent(ev, t0, what="event"):
    at = parse_rfc3339(ev["at"])
    now = utcnow()
    slack = datetime.timedelta(seconds=5 * SLOW)
    assert t0 - slack <= at <= now + slack, "%s: at %s is not between %s and %s" % (
        what, ev["at"], rfc3339(t0), rfc3339(now))


def delete(path, auth, what):
    r = req("DELETE", path, auth=auth)
    assert r.status in (200, 204), "%s: DELETE %s -> %d: %s" % (what, path, r.status,
                                                               short(r.raw))
    return r


# ---- 1, 2. causes and fields --------------------------------------------------------------

def test_mapping_put_appends_one_event_with_the_changed_users():
    k = new_campaign(leads=2)
    l0 = k.leads[0]
    c0 = tail(sysauth())
    t0 = utcnow()
    a = F.agents
    r1 = put(F.auth("sup"), k.campaign, l0, [a[1], a[0]], [a[2]], "PUT 1")
    evs = since(c0)
    eq(len(evs), 1, "events after one PUT: %r" % evs)
    # a[2] was not mapped: unassigning it changed nothing, so it is not named
    expect_event(evs[0], F, k.campaign, l0, k.cl[l0], [a[0], a[1]], [], "mapping", F.sup,
                 rid(r1), "PUT 1's event")
    assert_recent(evs[0], t0, "PUT 1's event")
    assert evs[0]["cursor"] > c0, "event cursor %s not after %s" % (evs[0]["cursor"], c0)
    # a[1] is already mapped (no change), a[3] new, a[0] unmapped: by the administrator
    r2 = put(F.auth("admin"), k.campaign, l0, [a[3], a[1]], [a[0]], "PUT 2")
    evs2 = since(evs[0]["cursor"])
    eq(len(evs2), 1, "events after PUT 2: %r" % evs2)
    expect_event(evs2[0], F, k.campaign, l0, k.cl[l0], [a[3]], [a[0]], "mapping", F.admin,
                 rid(r2), "PUT 2's event")
    assert evs2[0]["cursor"] > evs[0]["cursor"], "cursors do not increase"
    # the system administrator's PUT names it as the actor
    r3 = put(sysauth(), k.campaign, k.leads[1], [F.agent], [], "PUT 3")
    evs3 = since(evs2[0]["cursor"])
    eq(len(evs3), 1, "events after PUT 3")
    expect_event(evs3[0], F, k.campaign, k.leads[1], k.cl[k.leads[1]], [F.agent], [],
                 "mapping", S.admin_user, rid(r3), "the system administrator's event")


def test_a_put_that_changes_nothing_a_dry_run_and_a_refused_put_append_nothing():
    k = new_campaign()
    l0 = k.leads[0]
    a = F.agents
    put(F.auth("sup"), k.campaign, l0, [a[0]], [], "set up")
    c0 = tail(sysauth())
    put(F.auth("sup"), k.campaign, l0, [a[0]], [a[1]], "the same state again")
    put(F.auth("sup"), k.campaign, l0, [], [a[2], a[3]], "unassign users never mapped")
    put(F.auth("sup"), k.campaign, l0, [], [], "empty lists")
    b = put(F.auth("sup"), k.campaign, l0, [a[4]], [a[0]], "dry run",
            query_str="?dryRun=true").json
    eq(b.get("dryRun"), True, "the dry run answered as one")
    eq(b.get("changes"), {"assignedUserIds": [a[4]], "unassignedUserIds": [a[0]]},
       "the dry run's changes")
    assert_error(put_mapping(F.auth("sup"), k.campaign, l0, ["nobody_" + uniq()]), 404,
                 "CONF-1001", "unknown user")
    assert_error(put_mapping(F.auth("agent"), k.campaign, l0, [a[5]]), 403, "AUTH-1003",
                 "an agent's PUT")
    assert_error(put_mapping(F.auth("sup"), k.campaign, l0, [a[5]], [a[5]]), 400,
                 "CONF-1003", "both assigned and unassigned")
    assert_error(put_mapping(G.auth("admin"), k.campaign, l0, [a[5]]), 404, "CONF-1001",
                 "another tenant's PUT")
    evs, c1 = read_all(sysauth(), after=c0)
    eq(evs, [], "events after PUTs that changed nothing")
    eq(c1, c0, "the feed's cursor after PUTs that changed nothing")
    # and the feed still works: a real change is one event
    r = put(F.auth("sup"), k.campaign, l0, [a[4]], [], "a real change")
    evs = since(c0)
    eq([(e["requestId"], e["assigned"]) for e in evs], [(rid(r), [a[4]])], "the real change")


def test_campaign_user_removed_unmaps_it_on_each_lead():
    k = new_campaign(leads=3)
    a = F.agents
    put(F.auth("sup"), k.campaign, k.leads[0], [a[0], a[1]], [], "lead 0")
    put(F.auth("sup"), k.campaign, k.leads[1], [a[0]], [], "lead 1")
    put(F.auth("sup"), k.campaign, k.leads[2], [a[1]], [], "lead 2")
    c0 = tail(sysauth())
    t0 = utcnow()
    r = delete("%s/campaign-user/%s" % (k.path, a[0]), F.auth("admin"), "remove a[0]")
    evs = since(c0)
    eq(sorted(e["leadId"] for e in evs), sorted(k.leads[:2]),
       "one event per lead a[0] was mapped to: %r" % evs)
    for e in evs:
        expect_event(e, F, k.campaign, e["leadId"], k.cl[e["leadId"]], [], [a[0]],
                     "campaignUserRemoved", F.admin, rid(r), "campaignUserRemoved event")
        assert_recent(e, t0)
    # a campaign user mapped nowhere: nothing
    c1 = tail(sysauth())
    delete("%s/campaign-user/%s" % (k.path, a[5]), F.auth("sup"), "remove a[5]")
    eq(since(c1), [], "removing a campaign user mapped nowhere")


def test_lead_detached_unmaps_every_user_in_one_event():
    k = new_campaign(leads=2)
    a = F.agents
    put(F.auth("sup"), k.campaign, k.leads[0], [a[2], a[0], a[1]], [], "lead 0")
    put(F.auth("sup"), k.campaign, k.leads[1], [a[3]], [], "lead 1")
    c0 = tail(sysauth())
    r = delete("%s/campaign-lead/%s" % (k.path, k.leads[0]), F.auth("admin"), "detach lead 0")
    evs = since(c0)
    eq(len(evs), 1, "events of one detach: %r" % evs)
    expect_event(evs[0], F, k.campaign, k.leads[0], k.cl[k.leads[0]], [], [a[0], a[1], a[2]],
                 "leadDetached", F.admin, rid(r), "leadDetached event")


def test_user_deleted_unmaps_it_on_each_lead_of_each_campaign():
    u = create_user(F.auth("admin"), F.cc, "fdel_" + uniq(), "Agent")
    k1 = new_campaign(leads=2, users=[u, F.agents[0]])
    k2 = new_campaign(leads=1, users=[u])
    k3 = new_campaign(leads=1, users=[u])       # enrolled, mapped nowhere
    put(F.auth("sup"), k1.campaign, k1.leads[0], [u, F.agents[0]], [], "k1 lead 0")
    put(F.auth("sup"), k1.campaign, k1.leads[1], [u], [], "k1 lead 1")
    put(F.auth("sup"), k2.campaign, k2.leads[0], [u], [], "k2 lead 0")
    c0 = tail(sysauth())
    r = delete("%s/user/%s" % (F.cc_path, u), F.auth("admin"), "delete the user")
    evs = since(c0)
    got = sorted((e["campaignId"], e["leadId"]) for e in evs)
    want = sorted([(k1.campaign, k1.leads[0]), (k1.campaign, k1.leads[1]),
                   (k2.campaign, k2.leads[0])])
    eq(got, want, "(campaign, lead) of the userDeleted events")
    cls = dict(k1.cl)
    cls.update(k2.cl)
    for e in evs:
        expect_event(e, F, e["campaignId"], e["leadId"], cls[e["leadId"]], [], [u],
                     "userDeleted", F.admin, rid(r), "userDeleted event")
    assert k3.campaign not in [e["campaignId"] for e in evs]


def test_campaign_deleted_unmaps_every_user_one_event_per_lead():
    k = new_campaign(leads=3)
    a = F.agents
    put(F.auth("sup"), k.campaign, k.leads[0], [a[1], a[0]], [], "lead 0")
    put(F.auth("sup"), k.campaign, k.leads[1], [a[2]], [], "lead 1")
    c0 = tail(sysauth())
    r = delete(k.path, F.auth("admin"), "delete the campaign")
    evs = [e for e in since(c0) if e["leadId"] in k.leads[:2]]
    eq(sorted(e["leadId"] for e in evs), sorted(k.leads[:2]), "one event per mapped lead")
    users = {k.leads[0]: [a[0], a[1]], k.leads[1]: [a[2]]}
    for e in evs:
        expect_event(e, F, k.campaign, e["leadId"], k.cl[e["leadId"]], [], users[e["leadId"]],
                     "campaignDeleted", F.admin, rid(r), "campaignDeleted event")


def test_removals_that_unmap_nobody_append_nothing():
    # API.md section 8: "A request that changes nothing appends nothing" -- an
    # event with empty assigned and unassigned would tell a dialer nothing
    k = new_campaign(leads=2)
    u = create_user(F.auth("admin"), F.cc, "fnone_" + uniq(), "Agent")
    enroll(F.auth("admin"), F.cc, F.process, k.campaign, [u])
    c0 = tail(sysauth())
    delete("%s/campaign-lead/%s" % (k.path, k.leads[0]), F.auth("admin"), "detach unmapped")
    delete("%s/user/%s" % (F.cc_path, u), F.auth("admin"), "delete an unmapped user")
    delete(k.path, F.auth("admin"), "delete a campaign with no mapping")
    evs = since(c0)
    eq(evs, [], "events of deletes that unmapped nobody")


def test_deleting_an_attached_lead_is_409_and_appends_nothing():
    k = new_campaign()
    put(F.auth("sup"), k.campaign, k.leads[0], [F.agents[0]], [], "map")
    c0 = tail(sysauth())
    r = req("DELETE", "%s/lead/%s" % (F.proc_path, k.leads[0]), auth=F.auth("admin"))
    assert_error(r, 409, "CONF-1005", "delete an attached lead")
    eq(since(c0), [], "events after the refused delete")
    m = get_mapping(F.auth("sup"), k.campaign, k.leads[0])
    eq(m["assignedUserIds"], [F.agents[0]], "the mapping after the refused delete")


def test_cursors_are_fixed_width_hex_increasing_and_unique():
    evs, cur = read_all(sysauth(), after="0")
    assert len(evs) >= 10, "expected the earlier tests' events, got %d" % len(evs)
    cs = [e["cursor"] for e in evs]
    eq(len(set(cs)), len(cs), "cursors unique")
    eq(cs, sorted(cs), "cursors increasing as strings")
    eq([int(c, 16) for c in cs], sorted(int(c, 16) for c in cs), "cursors increasing as numbers")
    assert cur >= cs[-1], "the answer's cursor %s lies before the last event %s" % (cur, cs[-1])
    # no after, after=0 and after=0000000000000000 all start at the oldest event
    first = check_page(changes(sysauth(), limit=5), "no after")["events"]
    eq([e["cursor"] for e in first], cs[:5], "no after: the oldest events")
    eq([e["cursor"] for e in check_page(changes(sysauth(), after="0", limit=5))["events"]],
       cs[:5], "after=0")
    eq([e["cursor"] for e in check_page(changes(sysauth(), after="0" * 16,
                                                limit=5))["events"]], cs[:5], "after=0*16")


def test_pagination_with_after_limit_and_the_returned_cursor():
    k = new_campaign()
    l0 = k.leads[0]
    c0 = tail(sysauth())
    a = F.agents
    steps = [([a[0]], []), ([a[1]], []), ([a[2]], []), ([], [a[0]]), ([], [a[1]]),
             ([], [a[2]]), ([a[5]], [])]
    rids = [rid(put(F.auth("sup"), k.campaign, l0, asg, una, "PUT %d" % i))
            for i, (asg, una) in enumerate(steps)]
    whole = since(c0)
    eq([e["requestId"] for e in whole], rids, "one event per PUT, in order")
    pages = []
    cur = c0
    for n in (3, 3, 1, 0):
        b = check_page(changes(sysauth(), after=cur, limit=3), "page after %s" % cur)
        eq(len(b["events"]), n, "page size after %s" % cur)
        if n:
            eq(b["cursor"], b["events"][-1]["cursor"], "an unfiltered page's cursor")
        else:
            eq(b["cursor"], cur, "an empty page's cursor is the one asked after")
        pages += b["events"]
        cur = b["cursor"]
    eq(pages, whole, "three pages of limit=3 vs one read")
    # limit=1 walks the same sequence
    one = []
    cur = c0
    for _ in range(8):
        b = check_page(changes(sysauth(), after=cur, limit=1))
        assert len(b["events"]) <= 1, "limit=1 answered %d events" % len(b["events"])
        one += b["events"]
        cur = b["cursor"]
    eq(one, whole, "limit=1 pages")


def test_limit_defaults_to_100_and_1000_is_allowed():
    k = new_campaign()
    c0 = tail(sysauth())
    for i in range(105):
        u = F.agents[i % 6]
        expect(put_mapping(F.auth("sup"), k.campaign, k.leads[0],
                           [u] if (i // 6) % 2 == 0 else [], [] if (i // 6) % 2 == 0 else [u]),
               200, "PUT %d" % i)
    b = check_page(changes(sysauth(), after=c0), "default limit")
    eq(len(b["events"]), 100, "events with the default limit")
    b = check_page(changes(sysauth(), after=c0, limit=1000), "limit=1000")
    eq(len(b["events"]), 105, "events with limit=1000")


def test_filters_campaign_lead_and_user():
    k1 = new_campaign(leads=2)
    k2 = new_campaign(leads=1)
    # k1's lead 0 is attached to k2 too: a lead filter follows it in both
    k2.cl[k1.leads[0]] = attach(sysauth(), F.cc, F.process, k2.campaign, k1.leads[0])
    a = F.agents
    c0 = tail(sysauth())
    put(F.auth("sup"), k1.campaign, k1.leads[0], [a[0], a[1]], [], "k1 l0")
    put(F.auth("sup"), k2.campaign, k2.leads[0], [a[0]], [], "k2 l0")
    put(F.auth("sup"), k1.campaign, k1.leads[1], [a[2]], [], "k1 l1")
    put(F.auth("sup"), k2.campaign, k1.leads[0], [a[1]], [], "k2 k1.l0")
    put(F.auth("sup"), k1.campaign, k1.leads[0], [], [a[0]], "k1 l0 unassign")
    put(G.auth("sup"), G.campaign, G.lead, [G.agents[0]], [], "G's change")
    put(F.auth("sup"), k1.campaign, k1.leads[1], [a[3]], [a[2]], "k1 l1 again")
    whole = since(c0)
    eq(len(whole), 7, "events of the seven PUTs")
    cases = [
        ({"campaignId": k1.campaign}, lambda e: e["campaignId"] == k1.campaign),
        ({"campaignId": k2.campaign}, lambda e: e["campaignId"] == k2.campaign),
        ({"leadId": k1.leads[0]}, lambda e: e["leadId"] == k1.leads[0]),
        ({"userId": a[0]}, lambda e: a[0] in e["assigned"] + e["unassigned"]),
        ({"userId": a[2]}, lambda e: a[2] in e["assigned"] + e["unassigned"]),
        ({"campaignId": k1.campaign, "userId": a[1]},
         lambda e: e["campaignId"] == k1.campaign and a[1] in e["assigned"] + e["unassigned"]),
        ({"campaignId": k2.campaign, "leadId": k1.leads[0]},
         lambda e: e["campaignId"] == k2.campaign and e["leadId"] == k1.leads[0]),
        ({"userId": "nobody_" + uniq()}, lambda e: False),
    ]
    for filt, pred in cases:
        want = [e for e in whole if pred(e)]
        got, cur = read_all(sysauth(), after=c0, **filt)
        eq(got, want, "filter %r" % filt)
        assert cur >= (want[-1]["cursor"] if want else c0), "filter %r: cursor %s" % (filt, cur)
        # limit=1 paging of a filtered feed: the same events, each once
        paged, c = [], c0
        for _ in range(len(want) + 2):
            b = check_page(changes(sysauth(), after=c, limit=1, **filt), "filter %r" % filt)
            paged += b["events"]
            c = b["cursor"]
        eq(paged, want, "filter %r, limit=1 pages" % filt)
        # resuming from the returned cursor finds nothing more
        b = check_page(changes(sysauth(), after=c, **filt))
        eq(b["events"], [], "filter %r resumed at its cursor" % filt)
        assert c <= tail(sysauth()), "filter %r: cursor %s past the feed's end" % (filt, c)


def test_scope_tenants_agents_and_the_system_administrator():
    kg = new_campaign(G, users=G.agents)
    c0 = tail(sysauth())
    rf = put(F.auth("sup"), F.campaign, F.lead, [F.agent, F.agents[0]], [], "F: the agent")
    put(F.auth("sup"), F.campaign, F.lead, [F.agents[1]], [F.agents[0]], "F: others")
    rg = put(G.auth("sup"), kg.campaign, kg.leads[0], [G.agents[0]], [], "G")
    put(F.auth("sup"), F.campaign, F.lead, [], [F.agent], "F: the agent again")
    put(F.auth("sup"), F.campaign, F.lead, [], [F.agents[1]], "F: clean up")
    every = read_all(sysauth(), after="0")[0]
    new = [e for e in every if e["cursor"] > c0]
    eq(len(new), 5, "the system administrator sees all five, both tenants")
    assert {e["contactCenterId"] for e in every} >= {F.cc, G.cc}, "sys sees both tenants"
    for who in ("sup", "admin"):
        got = read_all(F.auth(who), after="0")[0]
        eq(got, [e for e in every if e["contactCenterId"] == F.cc], "F's %s sees F's events" % who)
        got = read_all(G.auth(who), after="0")[0]
        eq(got, [e for e in every if e["contactCenterId"] == G.cc], "G's %s sees G's events" % who)
    assert rid(rg) in by_request(read_all(G.auth("sup"), after=c0)[0]), "G sees its own PUT"
    assert rid(rf) not in by_request(read_all(G.auth("sup"), after="0")[0]), \
        "G's supervisor sees F's event"
    # F's agent: exactly the events that name it
    got = read_all(F.auth("agent"), after="0")[0]
    want = [e for e in every if e["contactCenterId"] == F.cc
            and F.agent in e["assigned"] + e["unassigned"]]
    assert len([e for e in want if e["cursor"] > c0]) == 2, "two new events name the agent"
    eq(got, want, "F's agent sees the events naming itself")
    # asking by filter for what is out of scope yields nothing
    for auth, filt, what in ((G.auth("sup"), {"campaignId": F.campaign}, "G on F's campaign"),
                             (G.auth("sup"), {"leadId": F.lead}, "G on F's lead"),
                             (G.auth("sup"), {"userId": F.agent}, "G on F's agent"),
                             (F.auth("agent"), {"userId": F.agents[1]},
                              "an agent on another user")):
        r = changes(auth, after="0", limit=1000, **filt)
        if r.status == 200:
            eq(check_page(r, what)["events"], [], what)
        else:
            assert r.status in (403, 404), "%s: %d %s" % (what, r.status, short(r.raw))


def test_bad_input_is_400_conf_1002():
    bad = ["after=xyz", "after=-1", "after=12345", "after=" + "0" * 17,
           "after=0000000000000g00", "after=000000000000000A", "after=ffffffffffffffff",
           "after=8000000000000000", "limit=0", "limit=1001", "limit=abc", "limit=-1",
           "wait=61", "wait=abc", "wait=-1", "campaignId=abc", "leadId=abc",
           "campaignId=-1"]
    for qs in bad:
        assert_error(changes(F.auth("sup"), raw_query=qs), 400, "CONF-1002", qs)
    # the stream form answers the same envelope, not a stream
    for qs in ("after=xyz", "limit=0", "wait=abc"):
        s = SSE(F.auth("sup"), qs=qs).open()
        assert_error(s.resp, 400, "CONF-1002", "SSE " + qs)
    s = SSE(F.auth("sup"), headers={"Last-Event-ID": "xyz"}).open()
    assert_error(s.resp, 400, "CONF-1002", "SSE Last-Event-ID: xyz")
    # the bounds themselves are fine
    for qs in ("limit=1", "limit=1000", "wait=0", "after=" + "0" * 16, "after=0"):
        check_page(changes(F.auth("sup"), raw_query=qs), qs)


def test_401_without_or_with_bad_credentials():
    for auth in (None, "Bearer nonsense" + "x" * 30, basic(F.sup, "wrong-password")):
        assert_error(changes(auth), 401, "AUTH-1001", "poll, auth %r" % (auth and auth[:12]))
        s = SSE(auth).open()
        assert_error(s.resp, 401, "AUTH-1001", "SSE, auth %r" % (auth and auth[:12]))


# ---- 4. long-poll ----------------------------------------------------------------------------

def test_long_poll_wakes_within_100_ms_of_a_commit():
    k = new_campaign()
    deltas = []
    for attempt in range(3):
        c = tail(F.auth("sup"), campaignId=k.campaign)
        box = {}

        def poll():
            conn = http.client.HTTPConnection("127.0.0.1", S.port, timeout=30)
            try:
                box["t0"] = time.monotonic()
                conn.request("GET", "%s?%s" % (CHANGES, query(after=c, wait=10,
                                                              campaignId=k.campaign)),
                             headers={"Authorization": F.auth("sup")})
                r = conn.getresponse()
                body = r.read()
                box["t1"] = time.monotonic()
                box["resp"] = harness.make_resp(r.status, r.getheaders(), body, "GET", CHANGES, S)
            finally:
                conn.close()
        t = threading.Thread(target=poll, daemon=True)
        t.start()
        time.sleep(0.5)
        u = F.agents[attempt]
        t_sent = time.monotonic()
        r = put(F.auth("sup"), k.campaign, k.leads[0], [u], [], "PUT %d" % attempt)
        t_put = time.monotonic()
        t.join(15)
        assert not t.is_alive(), "the long-poll did not return within 15 s of the PUT"
        b = check_page(box["resp"], "long-poll")
        eq([e["requestId"] for e in b["events"]], [rid(r)], "the long-poll's events")
        assert box["t1"] >= t_sent, "the long-poll returned before the PUT was sent " \
            "(after %.3f s): it did not wait" % (box["t1"] - box["t0"])
        deltas.append(box["t1"] - t_put)
        if deltas[-1] < 0.1 * SLOW:
            break
    print("# t60: long-poll wake-up after the PUT's answer: %s ms"
          % ", ".join("%.1f" % (d * 1000) for d in deltas), flush=True)
    assert min(deltas) < 0.1 * SLOW, "the long-poll answered %.0f ms after the PUT's answer " \
        "(best of %d)" % (min(deltas) * 1000, len(deltas))


def test_long_poll_times_out_empty_with_the_same_cursor():
    k = new_campaign()
    c = tail(F.auth("sup"))
    t0 = time.monotonic()
    r = changes(F.auth("sup"), after=c, wait=1, campaignId=k.campaign)
    dt = time.monotonic() - t0
    b = check_page(r, "wait=1")
    eq(b["events"], [], "events of an idle wait=1")
    eq(b["cursor"], c, "the cursor of an idle wait=1")
    assert 0.9 <= dt <= 3 * SLOW, "wait=1 answered after %.2f s" % dt
    t0 = time.monotonic()
    check_page(changes(F.auth("sup"), after=c, wait=0), "wait=0")
    dt = time.monotonic() - t0
    assert dt < 0.5 * SLOW, "wait=0 took %.2f s" % dt
    # with events already there, wait does not hold the answer
    put(F.auth("sup"), k.campaign, k.leads[0], [F.agents[0]], [], "an event")
    t0 = time.monotonic()
    b = check_page(changes(F.auth("sup"), after=c, wait=30), "wait=30 with an event there")
    assert time.monotonic() - t0 < 1 * SLOW, "wait=30 held an answer that had an event"
    eq(len(b["events"]), 1, "the event that was there")


# ---- 5. Server-Sent Events -------------------------------------------------------------------

def three_events(k):
    """Three PUTs on k's lead; returns their responses."""
    a = F.agents
    return [put(F.auth("sup"), k.campaign, k.leads[0], [a[0]], [], "SSE 1"),
            put(F.auth("sup"), k.campaign, k.leads[0], [a[1]], [a[0]], "SSE 2"),
            put(F.auth("sup"), k.campaign, k.leads[0], [], [a[1]], "SSE 3")]


def test_sse_ids_are_cursors_and_data_is_the_poll_json():
    k = new_campaign()
    c0 = tail(F.auth("sup"))
    s = sse_open(F.auth("sup"), after=c0, campaignId=k.campaign)
    try:
        eq(s.status, 200, "SSE status")
        ct = s.headers.get("content-type", "")
        eq(ct.split(";")[0].strip(), "text/event-stream", "Content-Type")
        assert s.headers.get("x-request-id"), "no X-Request-Id on the stream"
        eq(s.headers.get("x-change-cursor"), c0, "the stream's X-Change-Cursor (where it starts)")
        rs = three_events(k)
        got = s.take(3, 10 * SLOW)
        eq(len(got), 3, "events on the stream within 10 s")
        extra = s.next_event(0.5)
        eq(extra, None, "an event beyond the three")
    finally:
        s.close()
    poll = read_all(F.auth("sup"), after=c0, campaignId=k.campaign)[0]
    eq([e["requestId"] for e in poll], [rid(r) for r in rs], "poll: the three PUTs")
    for i, (ev, pe) in enumerate(zip(got, poll)):
        eq(ev["event"], "change", "event %d: event name" % i)
        eq(ev["id"], pe["cursor"], "event %d: id: vs the cursor" % i)
        assert ev["json"] is not None, "event %d: data is not JSON: %r" % (i, ev["data"])
        eq(ev["json"], pe, "event %d: data vs the poll's event" % i)
    assert s.retry is not None, "no retry: field in the stream"


def test_sse_resumes_with_last_event_id_or_after():
    k = new_campaign()
    c0 = tail(F.auth("sup"))
    three_events(k)
    evs = read_all(F.auth("sup"), after=c0, campaignId=k.campaign)[0]
    ids = [e["cursor"] for e in evs]
    eq(len(ids), 3, "three events")
    for what, hdrs, q, want in (
            ("Last-Event-ID", {"Last-Event-ID": ids[0]}, {}, ids[1:]),
            ("after", {}, {"after": ids[0]}, ids[1:]),
            ("Last-Event-ID wins over after", {"Last-Event-ID": ids[1]}, {"after": c0},
             ids[2:]),
            ("Last-Event-ID wins over a later after", {"Last-Event-ID": ids[0]},
             {"after": ids[2]}, ids[1:])):
        s = sse_open(F.auth("sup"), headers=hdrs, campaignId=k.campaign, **q)
        try:
            eq(s.status, 200, what + ": status")
            got = s.take(len(want), 5 * SLOW)
            eq([e["id"] for e in got], want, what + ": ids")
            eq(s.next_event(0.5), None, what + ": nothing after the last")
        finally:
            s.close()


def long_users(prefix, n, f=None, srv=None):
    """n new Agents of f's contact center with 110-character userIds."""
    f = f or F
    srv = srv or S
    users = ["%s_%s_%05d_%s" % (prefix, RUN_ID, i, "x" * 95) for i in range(n)]
    for u in users:
        create_user(srv.sys_auth(), f.cc, u, "Agent", srv=srv)
    return users


def test_a_large_event_arrives_whole_by_poll_and_stream():
    # API.md section 3 allows 10,000 users per array: one PUT of 2,500
    # long userIds is one event of some 300 KB, in the poll and on a stream
    users = long_users("big", 2500 // SLOW)
    k = new_campaign(users=users)
    c0 = tail(F.auth("sup"))
    s = sse_open(F.auth("sup"), after=c0, campaignId=k.campaign)
    try:
        r = put(F.auth("sup"), k.campaign, k.leads[0], list(reversed(users)), [], "big PUT")
        ev = s.next_event(20 * SLOW)
        assert ev is not None, "the large event did not arrive on the stream"
        assert ev["json"] is not None, "the large event's data is not one JSON object " \
            "(%d bytes)" % len(ev["data"] or "")
        eq(ev["json"]["assigned"], sorted(users), "assigned of the large event (stream)")
        eq(ev["json"]["requestId"], rid(r), "requestId (stream)")
    finally:
        s.close()
    evs = read_all(F.auth("sup"), after=c0, campaignId=k.campaign)[0]
    eq(len(evs), 1, "one event")
    eq(evs[0]["assigned"], sorted(users), "assigned of the large event (poll)")
    eq(ev["id"], evs[0]["cursor"], "the stream's id vs the poll's cursor")
    # and taking them all away again (a campaign delete) is one event as large
    c1 = evs[0]["cursor"]
    r = delete(k.path, F.auth("admin"), "delete the large campaign")
    evs = read_all(F.auth("sup"), after=c1, campaignId=k.campaign)[0]
    eq([(e["cause"], e["unassigned"] == sorted(users), e["requestId"]) for e in evs],
       [("campaignDeleted", True, rid(r))], "the large campaignDeleted event")


def test_the_whole_feed_reads_the_same_past_what_a_node_keeps_in_memory():
    # some 20 MB of events (large ones, 4,000 long userIds each, between
    # small ones): more than a node is likely to keep in memory, so reading
    # from the start crosses from the store to memory; the feed must be the
    # same sequence whatever the page size, filter or form
    h = Server().start()
    f = make_fixture(extra_agents=1, srv=h)
    sa = h.sys_auth()
    n = 4000 // SLOW
    users = long_users("m", n, f=f, srv=h)
    enroll(sa, f.cc, f.process, f.campaign, users, srv=h)
    small = f.agents[0]
    rids = []

    def p(assigned, unassigned):
        r = req("PUT", MAPPING, {"leadId": f.lead, "campaignId": f.campaign,
                                 "assignedUserIds": assigned, "unassignedUserIds": unassigned},
                auth=f.auth("sup"), srv=h)
        expect(r, 200, "PUT on the memory server")
        rids.append(rid(r))
    for i in range(20):
        p(users if i % 2 == 0 else [], [] if i % 2 == 0 else users)
        p([small] if i % 2 == 0 else [], [] if i % 2 == 0 else [small])
        p([], [])    # changes nothing: no event
        rids.pop()
    smalls = rids[1::2]
    au = f.auth("sup")
    for limit in (1000, 7, 1):
        evs = read_all(au, after="0", srv=h, limit=limit)[0]
        eq([e["requestId"] for e in evs], rids, "the whole feed, limit=%d" % limit)
        for e, i in zip(evs, range(len(evs))):
            if i % 2 == 0:
                assert len(e["assigned"] + e["unassigned"]) == n, "large event %d" % i
    evs = read_all(au, after="0", srv=h, userId=small)[0]
    eq([e["requestId"] for e in evs], smalls, "the whole feed filtered to the small user")
    evs = read_all(au, after="0", srv=h, userId=users[-1])[0]
    eq([e["requestId"] for e in evs], rids[0::2], "the whole feed filtered to a large user")
    # and as a stream from the start
    s = SSE(au, srv=h, qs=query(after="0")).open()
    try:
        eq(s.status, 200, "stream from the start")
        got = s.take(len(rids), 60 * SLOW)
        eq([e["json"]["requestId"] for e in got], rids, "the stream from the start")
        eq(s.next_event(0.5), None, "an event past the last")
    finally:
        s.close()


def test_stalled_streams_hold_up_neither_other_streams_nor_writers():
    # a dialer that stops reading (hung, or behind a full network path):
    # its stream backs up on its own socket; other streams and PUTs go on
    users = long_users("st", 1000 // SLOW)
    k = new_campaign(users=users)
    c0 = tail(F.auth("sup"))
    stalled = []
    for _ in range(3):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", S.port))
        sock.sendall(request_head("GET", "%s?%s" % (CHANGES, query(after=c0)), {
            "Authorization": F.auth("sup"), "Accept": "text/event-stream"}))
        stalled.append(sock)
    s = sse_open(F.auth("sup"), after=c0, campaignId=k.campaign)
    rids, slow = [], []
    try:
        for i in range(60):
            t0 = time.monotonic()
            r = put(F.auth("sup"), k.campaign, k.leads[0], users if i % 2 == 0 else [],
                    [] if i % 2 == 0 else users, "big PUT %d" % i)
            dt = time.monotonic() - t0
            if dt > 2 * SLOW:
                slow.append((i, round(dt, 2)))
            rids.append(rid(r))
        got = s.take(len(rids), 30 * SLOW)
        eq([e["json"]["requestId"] for e in got], rids, "the reading stream's events")
        eq(slow, [], "PUTs slower than 2 s while streams were stalled (PUT, seconds)")
        # a plain read still answers at once
        t0 = time.monotonic()
        check_page(changes(F.auth("sup"), after=c0, limit=1), "a poll")
        assert time.monotonic() - t0 < 2 * SLOW, "a poll took %.1f s" % (time.monotonic() - t0)
    finally:
        s.close()
        for sock in stalled:
            sock.close()
    expect(req("GET", "/health"), 200, "health after the stalled streams")


def test_sse_agent_sees_only_events_naming_itself():
    c0 = tail(F.auth("agent"))
    s = sse_open(F.auth("agent"), after=c0)
    try:
        eq(s.status, 200, "the agent's stream")
        put(F.auth("sup"), F.campaign, F.lead, [F.agents[2]], [], "not the agent")
        r = put(F.auth("sup"), F.campaign, F.lead, [F.agent], [F.agents[2]], "the agent")
        ev = s.next_event(5 * SLOW)
        assert ev is not None, "no event on the agent's stream"
        eq(ev["json"]["requestId"], rid(r), "the agent's first event")
        put(F.auth("sup"), F.campaign, F.lead, [], [F.agent], "clean up")
    finally:
        s.close()


def test_sse_read_by_nodes_fetch():
    node = shutil.which("node")
    if not node:
        skip("node is not installed")
    k = new_campaign()
    c0 = tail(F.auth("sup"))
    url = "http://127.0.0.1:%d%s?%s" % (S.port, CHANGES, query(after=c0, campaignId=k.campaign))
    p = subprocess.Popen([node, NODE_CLIENT, url, F.auth("sup"), "3", str(20000 * SLOW)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        rs = three_events(k)
        out, err = p.communicate(timeout=30 * SLOW)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError("node's client did not finish: %s %s" % (short(out), short(err)))
    lines = [json.loads(l) for l in out.decode().splitlines() if l.strip()]
    assert lines, "node printed nothing: %s" % short(err)
    eq(lines[0].get("status"), 200, "status seen by fetch: %r" % lines[0])
    assert (lines[0].get("contentType") or "").startswith("text/event-stream"), lines[0]
    evs = [l for l in lines[1:] if "id" in l]
    assert not any(l.get("timeout") for l in lines), "node's client timed out: %r" % lines
    poll = read_all(F.auth("sup"), after=c0, campaignId=k.campaign)[0]
    eq([e["requestId"] for e in poll], [rid(r) for r in rs], "poll")
    eq([e["id"] for e in evs], [e["cursor"] for e in poll], "ids read by fetch")
    eq([json.loads(e["data"]) for e in evs], poll, "data read by fetch")
    eq(p.returncode, 0, "node's exit code: %s" % short(err))


def test_sse_errors_before_the_stream_are_json_envelopes():
    s = SSE(None).open()
    assert_error(s.resp, 401, "AUTH-1001", "SSE without credentials")
    s = SSE(F.auth("sup"), qs=query(after=FAR_AHEAD)).open()
    assert_gone(s.resp, "SSE from a cursor ahead of the feed")
    s = SSE(F.auth("sup"), headers={"Last-Event-ID": FAR_AHEAD}).open()
    assert_gone(s.resp, "SSE resumed from a Last-Event-ID ahead of the feed")


def start_option_server(opts, what):
    """A second cmsd with extra options (skips if this cmsd lacks them)."""
    srv = Server(extra_args=opts)
    try:
        srv.start()
    except RuntimeError as e:
        if "unknown option" in str(e).lower() or "usage" in str(e).lower():
            raise AssertionError("cmsd does not take %s (%s): %s" % (" ".join(opts), what,
                                                                     short(str(e), 300)))
        raise
    return srv


def test_sse_heartbeat_and_a_clean_end_on_sigterm():
    h = start_option_server(HEARTBEAT_OPT, "the heartbeat interval")
    f = make_fixture(extra_agents=1, srv=h)
    s = SSE(f.auth("sup"), srv=h, qs=query(after=tail(f.auth("sup"), srv=h))).open()
    try:
        eq(s.status, 200, "stream on the heartbeat server")
        eq(s.resp.headers.get("content-type", "").split(";")[0], "text/event-stream",
           "Content-Type")
        t0 = time.monotonic()
        deadline = t0 + 6 * SLOW
        while len([c for c in s.comments if c[0] > t0]) < 2 and time.monotonic() < deadline:
            s.pump(deadline)
        beats = [c for c in s.comments if c[0] > t0]
        assert len(beats) >= 2, "fewer than two comment lines in %.1f s with %s: %r" % (
            time.monotonic() - t0, " ".join(HEARTBEAT_OPT), s.comments)
        gap = beats[1][0] - beats[0][0]
        assert gap <= 2.0 * SLOW, "heartbeats %.2f s apart with %s" % (gap, HEARTBEAT_OPT)
        eq(s.queue, [], "events on an idle stream")
        # an event still arrives, then SIGTERM ends the body cleanly
        r = req("PUT", MAPPING, {"leadId": f.lead, "campaignId": f.campaign,
                                 "assignedUserIds": [f.agents[0]], "unassignedUserIds": []},
                auth=f.auth("sup"), srv=h)
        expect(r, 200, "PUT on the heartbeat server")
        ev = s.next_event(5 * SLOW)
        assert ev is not None and ev["json"]["requestId"] == rid(r), "event before SIGTERM"
        t_term = time.monotonic()
        h.terminate()
        ended = s.wait_end(20 * SLOW)
        assert ended, "the stream did not end within 20 s of SIGTERM (closed=%s)" % s.closed
        assert s.clean_end, "the stream ended without the terminating chunk " \
            "(closed=%s, chunked=%s)" % (s.closed, s.chunked)
        eq(s.junk_after_end, b"", "bytes after the terminating chunk")
        print("# t60: stream ended %.2f s after SIGTERM" % (time.monotonic() - t_term),
              flush=True)
    finally:
        s.close()
    rc = h.wait()
    eq(rc, 0, "cmsd's exit code after SIGTERM with a stream open")


def test_a_stream_ends_when_its_token_is_revoked_or_its_user_deleted():
    # docs/feed.md: "A stream opened with a token ends at the next heartbeat
    # after the token is revoked or expires, or its user is deleted."
    h = start_option_server(HEARTBEAT_OPT, "the heartbeat interval")
    f = make_fixture(extra_agents=1, srv=h)
    c = tail(f.auth("sup"), srv=h)
    # a second token of the supervisor: revoking it leaves the fixture's alone
    tok = login(f.sup, f.pw[f.sup], "ContactCenter", f.cc, srv=h)
    revoked = SSE(bearer(tok), srv=h, qs=query(after=c)).open()
    kept = SSE(f.auth("sup"), srv=h, qs=query(after=c)).open()
    agent_tok = login(f.agent, f.pw[f.agent], "ContactCenter", f.cc, srv=h)
    deleted = SSE(bearer(agent_tok), srv=h, qs=query(after=c)).open()
    exp_tok = login(f.admin, f.pw[f.admin], "ContactCenter", f.cc, srv=h,
                    dateExpiry=rfc3339(utcnow() + datetime.timedelta(seconds=3)))
    expiring = SSE(bearer(exp_tok), srv=h, qs=query(after=c)).open()
    try:
        for s in (revoked, kept, deleted, expiring):
            eq(s.status, 200, "stream status")
        r = req("DELETE", BASICAUTH, auth=bearer(tok), srv=h)
        assert r.status in (200, 204), "revoke: %d %s" % (r.status, short(r.raw))
        r = req("DELETE", "%s/user/%s" % (cc_path(f.cc), f.agent), auth=h.sys_auth(), srv=h)
        assert r.status in (200, 204), "delete the agent: %d %s" % (r.status, short(r.raw))
        for s, what in ((revoked, "revoked token"), (deleted, "deleted user"),
                        (expiring, "token that expired")):
            assert s.wait_end(8 * SLOW) or s.closed, "the stream of a %s did not end" % what
            eq(s.queue, [], "events on the stream of a %s" % what)
        # the other stream goes on: a heartbeat and an event still arrive
        put_r = req("PUT", MAPPING, {"leadId": f.lead, "campaignId": f.campaign,
                                     "assignedUserIds": [f.agents[0]], "unassignedUserIds": []},
                    auth=f.auth("sup"), srv=h)
        expect(put_r, 200, "PUT")
        ev = kept.next_event(5 * SLOW)
        assert ev is not None and ev["json"]["requestId"] == rid(put_r), \
            "the stream of a valid token stopped too"
        # and the revoked token opens no new stream
        s = SSE(bearer(tok), srv=h, qs=query(after=c)).open()
        assert_error(s.resp, 401, "AUTH-1001", "a new stream with the revoked token")
    finally:
        for s in (revoked, kept, deleted, expiring):
            s.close()


def test_long_poll_during_sigterm_is_answered_and_cmsd_exits_0():
    h = Server().start()
    f = make_fixture(extra_agents=1, srv=h)
    c = tail(f.auth("sup"), srv=h)
    box = {}

    def poll():
        try:
            box["r"] = req("GET", "%s?%s" % (CHANGES, query(after=c, wait=30)),
                           auth=f.auth("sup"), srv=h, timeout=40)
        except Exception as e:   # noqa: B902
            box["e"] = e
    t = threading.Thread(target=poll, daemon=True)
    t.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    h.terminate()
    t.join(35)
    rc = h.wait()
    assert "r" in box, "the long-poll got no answer when cmsd stopped: %r" % box.get("e")
    # an empty page (the time is up early) or 503 (come back elsewhere): either is an answer
    if box["r"].status == 200:
        eq(check_page(box["r"], "long-poll cut short by SIGTERM")["events"], [], "events")
    else:
        assert_error(box["r"], 503, "SYS-1003", "long-poll cut short by SIGTERM")
    assert time.monotonic() - t0 < 15 * SLOW, "cmsd took %.1f s to stop with a long-poll" % (
        time.monotonic() - t0)
    eq(rc, 0, "exit code")


# ---- 6. 410 ----------------------------------------------------------------------------------

def test_410_for_a_cursor_ahead_of_the_feed():
    assert_gone(changes(F.auth("sup"), after=FAR_AHEAD), "far ahead")
    t0 = time.monotonic()
    assert_gone(changes(F.auth("sup"), after=FAR_AHEAD, wait=5), "far ahead, wait=5")
    assert time.monotonic() - t0 < 2 * SLOW, "a 410 waited"
    assert_gone(changes(sysauth(), after="7fffffffffffffff"), "the largest cursor")


def test_410_past_the_retention_window():
    r_srv = start_option_server(RETENTION_OPT, "the retention window")
    f = make_fixture(extra_agents=3, srv=r_srv)
    au = f.auth("sup")

    def p(assigned, unassigned):
        r = req("PUT", MAPPING, {"leadId": f.lead, "campaignId": f.campaign,
                                 "assignedUserIds": assigned, "unassignedUserIds": unassigned},
                auth=au, srv=r_srv)
        expect(r, 200, "PUT on the retention server")
        return r
    # c0: a consumer that processed the first event and nothing after it
    p([f.agents[0]], [])
    c0 = tail(au, srv=r_srv)
    check_cursor(c0)
    assert c0 != "0" * 16, "no event after a PUT"
    p([f.agents[1]], [])
    p([], [f.agents[1]])
    first = read_all(au, after=c0, srv=r_srv)[0]
    eq(len(first), 2, "two events after c0")
    # wait for the window to pass (and for cmsd to purge, however it does)
    deadline = time.monotonic() + 60 * SLOW
    while True:
        time.sleep(0.5)
        r = changes(au, srv=r_srv, after=c0)
        r1 = changes(au, srv=r_srv, after=first[0]["cursor"])
        if (r.status == 410 and r1.status == 410) or time.monotonic() > deadline:
            break
        # later writes, in case cmsd purges as it appends
        p([f.agents[2]], [])
        p([], [f.agents[2]])
    assert r.status == 410, "after=%s still %s %s 60 s after its events left the window" % (
        c0, r.status, short(r.raw))
    assert_gone(r, "a cursor past the retention window")
    assert_gone(r1, "the first event's cursor")
    s = SSE(au, srv=r_srv, qs=query(after=c0)).open()
    assert_gone(s.resp, "SSE from a cursor past the window")
    # from the oldest retained (after=0) and from the end, the feed answers
    b = check_page(changes(au, srv=r_srv, after="0"), "after=0 past retention")
    end = read_all(au, after=b["cursor"], srv=r_srv)[1] if b["events"] else b["cursor"]
    check_page(changes(au, srv=r_srv, after=end), "from the end of the feed")


def test_a_stream_that_falls_behind_the_window_ends_and_resuming_is_410():
    # docs/feed.md: "A stream whose reader falls behind the retention window
    # ends; reconnecting answers 410" -- never a silent gap: what the stalled
    # reader gets is a prefix of the feed, then the end of the body
    if harness.VALGRIND:
        # the stall must outlast the window; under valgrind the reader, slowed
        # with everything else, sometimes keeps up (the other phases test it)
        skip("a timing scenario: too slow to set up under valgrind")
    r_srv = start_option_server(RETENTION_OPT, "the retention window")
    f = make_fixture(extra_agents=1, srv=r_srv)
    au = f.auth("sup")
    users = long_users("fb", 1000 // SLOW, f=f, srv=r_srv)
    enroll(r_srv.sys_auth(), f.cc, f.process, f.campaign, users, srv=r_srv)
    c0 = tail(au, srv=r_srv)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", r_srv.port))
    stalled = SSE(au, srv=r_srv, qs=query(after=c0))
    stalled.sock = sock
    sock.sendall(request_head("GET", "%s?%s" % (CHANGES, query(after=c0)),
                              {"Authorization": au, "Accept": "text/event-stream"}))
    rids = []
    for i in range(100):
        r = req("PUT", MAPPING, {"leadId": f.lead, "campaignId": f.campaign,
                                 "assignedUserIds": users if i % 2 == 0 else [],
                                 "unassignedUserIds": [] if i % 2 == 0 else users},
                auth=au, srv=r_srv)
        expect(r, 200, "large PUT %d" % i)
        rids.append(rid(r))
    time.sleep(3.5)         # the window (1 s) passes; cmsd purges
    r = req("PUT", MAPPING, {"leadId": f.lead, "campaignId": f.campaign,
                             "assignedUserIds": [f.agents[0]], "unassignedUserIds": []},
            auth=au, srv=r_srv)
    expect(r, 200, "a later small PUT")
    rids.append(rid(r))
    # now read what the stalled stream has
    buf = b""
    sock.settimeout(20 * SLOW)
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, "closed before the head"
        buf += chunk
    head, stalled.inbuf = buf.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200"), "stalled stream's head: %r" % head[:100]
    stalled.chunked = b"chunked" in head.lower()
    stalled.status = 200
    got = stalled.take(len(rids), 30 * SLOW)
    ids = [e["json"]["requestId"] for e in got]
    eq(ids, rids[:len(ids)], "the stalled stream's events: a prefix of the feed, no gap")
    assert len(ids) < len(rids), "the stalled stream got every event: it never fell behind " \
        "(nothing tested)"
    print("# t60: the stalled stream read %d of %d events, then its end" % (len(ids), len(rids)),
          flush=True)
    ended = stalled.wait_end(20 * SLOW)
    assert ended or stalled.closed, "the stream that fell behind the window did not end " \
        "(%d of %d events read)" % (len(ids), len(rids))
    stalled.close()
    last = got[-1]["id"] if got else c0
    s = SSE(au, srv=r_srv, headers={"Last-Event-ID": last}).open()
    assert_gone(s.resp, "resuming the stream that fell behind")


def test_a_consumer_at_the_end_of_the_feed_is_not_410_when_the_window_passes():
    # the consumer has processed everything; nothing it has not seen was
    # purged, so "every later event exactly once" still holds: no 410
    r_srv = start_option_server(RETENTION_OPT, "the retention window")
    f = make_fixture(extra_agents=1, srv=r_srv)
    au = f.auth("sup")
    r = req("PUT", MAPPING, {"leadId": f.lead, "campaignId": f.campaign,
                             "assignedUserIds": [f.agents[0]], "unassignedUserIds": []},
            auth=au, srv=r_srv)
    expect(r, 200, "PUT")
    end = tail(au, srv=r_srv)
    time.sleep(3.5)
    r = changes(au, srv=r_srv, after=end)
    b = check_page(r, "a caught-up consumer after the window passed")
    eq(b["events"], [], "events")


# ---- 7. X-Change-Cursor and snapshot + feed ---------------------------------------------------

def get_forms(f, campaign, lead):
    return [("one lead", "%s?campaignId=%s&leadId=%s" % (MAPPING, campaign, lead)),
            ("one lead, doubled path", "%s?campaignId=%s&leadId=%s" % (MAPPING_DOUBLED,
                                                                         campaign, lead)),
            ("campaign list", "%s?campaignId=%s" % (MAPPING, campaign)),
            ("every lead", MAPPING + "?limit=1000"),
            ("lead-user", "%s/lead-user?leadId=%s" % (camp_path(f.cc, f.process, campaign), lead))]


def test_x_change_cursor_on_every_mapping_get():
    k = new_campaign()
    c0 = tail(sysauth())
    r = put(F.auth("sup"), k.campaign, k.leads[0], [F.agents[0]], [], "a change")
    ev = by_request(since(c0))[rid(r)][0]
    for what, path in get_forms(F, k.campaign, k.leads[0]):
        g = req("GET", path, auth=F.auth("sup"))
        expect(g, 200, what)
        c = check_cursor(g.headers.get("x-change-cursor"), what + ": X-Change-Cursor")
        assert c >= ev["cursor"], "%s: X-Change-Cursor %s before the change %s it shows" % (
            what, c, ev["cursor"])
        assert c <= tail(sysauth()), "%s: X-Change-Cursor %s past the feed's end" % (what, c)
        # the agent's reads carry it too
        g = req("GET", path, auth=F.auth("agent"))
        expect(g, 200, what + " (agent)")
        check_cursor(g.headers.get("x-change-cursor"), what + " (agent): X-Change-Cursor")


def test_snapshot_then_feed_has_exactly_the_later_changes():
    for what, path in get_forms(F, F.campaign, F.lead):
        g = req("GET", path, auth=F.auth("sup"))
        expect(g, 200, what)
        c = check_cursor(g.headers.get("x-change-cursor"), what)
        r1 = put(F.auth("sup"), F.campaign, F.lead, [F.agents[3]], [], what + ": PUT 1")
        r2 = put(F.auth("sup"), F.campaign, F.lead, [], [F.agents[3]], what + ": PUT 2")
        evs = read_all(F.auth("sup"), after=c)[0]
        eq([e["requestId"] for e in evs], [rid(r1), rid(r2)],
           "%s: the feed after the GET's cursor" % what)


def test_x_change_cursor_is_read_with_the_snapshot_under_concurrent_writes():
    # a writer toggles a user; each GET's assigned set must be what the
    # feed says at that GET's cursor: the last event on that lead naming
    # the user up to the cursor decides
    k = new_campaign()
    u = F.agents[4]
    stop = threading.Event()
    errors = []

    def writer():
        i = 0
        while not stop.is_set():
            r = put_mapping(F.auth("sup"), k.campaign, k.leads[0],
                            [u] if i % 2 == 0 else [], [] if i % 2 == 0 else [u])
            if r.status != 200:
                errors.append(r.status)
            i += 1
    c0 = tail(sysauth())
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    snaps = []
    try:
        for _ in range(40):
            g = req("GET", "%s?campaignId=%s&leadId=%s" % (MAPPING, k.campaign, k.leads[0]),
                    auth=F.auth("sup"))
            expect(g, 200, "GET")
            snaps.append((check_cursor(g.headers.get("x-change-cursor")),
                          u in g.json["assignedUserIds"]))
    finally:
        stop.set()
        t.join(30)
    eq(errors, [], "writer's non-200 answers")
    evs = since(c0, campaignId=k.campaign)
    assert len(evs) >= 5, "the writer made only %d changes" % len(evs)
    bad = []
    for c, assigned in snaps:
        state = False
        for e in evs:
            if e["cursor"] <= c:
                state = u in e["assigned"] or (state and u not in e["unassigned"])
        if state != assigned:
            bad.append((c, assigned, state))
    eq(bad, [], "GETs whose state is not the feed's at their X-Change-Cursor "
       "(cursor, GET says assigned, feed says)")


# ---- 8. the agent's view -----------------------------------------------------------------------

AV = None


def av_setup():
    global AV
    if AV is not None:
        return AV
    a = types.SimpleNamespace()
    a.pw = random_password()
    a.user = create_user(F.auth("admin"), F.cc, "fview_" + uniq(), "Agent", a.pw)
    sa = sysauth()
    a.k1 = new_campaign(leads=3, users=[a.user, F.agents[0]], name="view-a-" + uniq())
    a.k2 = new_campaign(leads=1, users=[a.user], name="view-b-" + uniq())
    a.never = create_user(F.auth("admin"), F.cc, "fnever_" + uniq(), "Agent")
    a.k3 = new_campaign(leads=1, users=[a.user, a.never], name="view-c-" + uniq())  # unmapped
    # k1's third lead: disabled, priority 7
    a.disabled_lead = create_lead(sa, F.cc, F.process, "view-dis-" + uniq())
    r = req("POST", a.k1.path + "/campaign-lead",
            {"leadId": a.disabled_lead, "priority": 7, "enabled": False}, auth=sa)
    a.k1.cl[a.disabled_lead] = expect(r, 201, "attach a disabled lead")["campaignLeadId"]
    put(F.auth("sup"), a.k1.campaign, a.k1.leads[0], [a.user, F.agents[0]], [], "k1 l0")
    put(F.auth("sup"), a.k1.campaign, a.k1.leads[2], [a.user], [], "k1 l2")
    put(F.auth("sup"), a.k1.campaign, a.disabled_lead, [a.user], [], "k1 disabled lead")
    put(F.auth("sup"), a.k2.campaign, a.k2.leads[0], [a.user], [], "k2 l0")
    put(F.auth("sup"), a.k1.campaign, a.k1.leads[1], [F.agents[0]], [], "k1 l1 not the user")
    a.token = login(a.user, a.pw, "ContactCenter", F.cc)
    AV = a
    return a


def assignments(user, auth, qs="", cc=None):
    return req("GET", "%s/user/%s/assignments%s" % (cc_path(cc or F.cc), user, qs), auth=auth)


def lead_names():
    out = {}
    off = 0
    while True:
        r = req("GET", "%s/lead?limit=1000&offset=%d" % (F.proc_path, off), auth=sysauth())
        page = expect(r, 200, "leads")
        for o in page:
            out[o["leadId"]] = o["leadName"]
        if len(page) < 1000:
            return out
        off += 1000


def expected_assignments(a):
    names = lead_names()
    rows = []
    for k in (a.k1, a.k2):
        leads = {}
        r = req("GET", k.path + "/campaign-lead?limit=1000", auth=sysauth())
        for cl in expect(r, 200, "campaign leads"):
            leads[cl["leadId"]] = cl
        for lead, cl in sorted(leads.items()):
            m = get_mapping(sysauth(), k.campaign, lead)
            if a.user in m["assignedUserIds"]:
                rows.append({"campaignId": k.campaign, "campaignName": k.name,
                             "processId": F.process, "leadId": lead, "leadName": names[lead],
                             "campaignLeadId": cl["campaignLeadId"],
                             "campaignUserId": k.cu[a.user], "priority": cl["priority"],
                             "enabled": cl["enabled"]})
    rows.sort(key=lambda o: (o["campaignId"], o["leadId"]))
    return rows


def test_assignments_list_what_the_mapping_says():
    a = av_setup()
    want = expected_assignments(a)
    eq(len(want), 4, "the mapping puts the user on four campaign leads")
    assert any(o["enabled"] is False and o["priority"] == 7 for o in want), "the disabled lead"
    r = assignments(a.user, F.auth("sup"))
    got = expect(r, 200, "assignments")
    assert isinstance(got, list), "not a list: %s" % short(r.raw)
    for o in got:
        eq(set(o), ASSIGNMENT_KEYS, "keys of an assignment")
    eq(got, want, "assignments vs the mapping (ordered by campaign, then lead)")
    eq(r.headers.get("x-total-count"), "4", "X-Total-Count")
    c = check_cursor(r.headers.get("x-change-cursor"), "X-Change-Cursor")
    assert c <= tail(sysauth()), "X-Change-Cursor past the feed's end"
    # a campaign user mapped nowhere: an empty list
    r = assignments(a.never, F.auth("sup"))
    eq(expect(r, 200, "a user mapped nowhere"), [], "assignments of a user mapped nowhere")
    eq(r.headers.get("x-total-count"), "0", "X-Total-Count of nothing")


def test_assignments_page_with_limit_and_offset():
    a = av_setup()
    whole = expect(assignments(a.user, F.auth("sup")), 200, "all")
    got = []
    for off in range(0, len(whole) + 1):
        r = assignments(a.user, F.auth("sup"), "?limit=1&offset=%d" % off)
        page = expect(r, 200, "offset %d" % off)
        eq(r.headers.get("x-total-count"), str(len(whole)), "X-Total-Count at offset %d" % off)
        check_cursor(r.headers.get("x-change-cursor"), "X-Change-Cursor at offset %d" % off)
        assert len(page) <= 1, "limit=1 answered %d" % len(page)
        got += page
    eq(got, whole, "limit=1 pages")
    eq(expect(assignments(a.user, F.auth("sup"), "?limit=2&offset=1"), 200, "2 at 1"),
       whole[1:3], "limit=2 offset=1")
    for qs in ("?limit=0", "?limit=abc", "?offset=-1"):
        assert_error(assignments(a.user, F.auth("sup"), qs), 400, "CONF-1002", qs)


def test_assignments_follow_the_feed():
    a = av_setup()
    r0 = assignments(a.user, F.auth("sup"))
    c = check_cursor(r0.headers.get("x-change-cursor"))
    r = put(F.auth("sup"), a.k2.campaign, a.k2.leads[0], [], [a.user], "unassign from k2")
    evs = read_all(F.auth("sup"), after=c, userId=a.user)[0]
    eq([e["requestId"] for e in evs], [rid(r)], "the feed from the view's cursor")
    r1 = assignments(a.user, F.auth("sup"))
    got = expect(r1, 200, "after the unassign")
    eq([(o["campaignId"], o["leadId"]) for o in got],
       [(o["campaignId"], o["leadId"]) for o in r0.json if o["campaignId"] != a.k2.campaign],
       "assignments after the unassign")
    assert r1.headers.get("x-change-cursor") >= evs[0]["cursor"], "cursor before the change"
    put(F.auth("sup"), a.k2.campaign, a.k2.leads[0], [a.user], [], "map again")


def test_assignments_who_may_read():
    a = av_setup()
    mine = expect(assignments(a.user, bearer(a.token)), 200, "an Agent reads its own")
    eq(mine, expect(assignments(a.user, F.auth("sup")), 200, "sup"), "the agent's own view")
    expect(assignments(a.user, F.auth("admin")), 200, "the administrator")
    expect(assignments(a.user, sysauth()), 200, "the system administrator")
    assert_error(assignments(F.agents[0], bearer(a.token)), 403, "AUTH-1003",
                 "an Agent reads another's")
    assert_error(assignments(F.sup, F.auth("agent")), 403, "AUTH-1003",
                 "an Agent reads its supervisor's")
    b = assert_error(assignments("nobody_" + uniq(), F.auth("sup")), 404, "CONF-1001",
                     "unknown user")
    assert b
    assert_error(assignments(G.agent, F.auth("sup")), 404, "CONF-1001",
                 "another tenant's user under F's contact center")
    assert_error(assignments(G.agent, F.auth("sup"), cc=G.cc), 404, "CONF-1001",
                 "another tenant's user under its own contact center")
    assert_error(assignments(a.user, G.auth("admin"), cc=F.cc), 404, "CONF-1001",
                 "another tenant's administrator")
    assert_error(assignments(a.user, sysauth(), cc=G.cc), 404, "CONF-1001",
                 "F's user under G's contact center")
    assert_error(assignments(a.user, None), 401, "AUTH-1001", "no credentials")


# ---- 9. this node's own PUTs, taken in as the writer wrote them -------------------------------

def feed_events_metric():
    """cmsd_feed_events_total by source, from /metrics."""
    return metrics_by("cmsd_feed_events_total", "source", ("read", "writer"))


def test_own_puts_enter_the_feed_as_written_never_past_an_event_not_yet_read():
    k = new_campaign(leads=2)
    a = F.agents
    c0 = tail(sysauth())  # a poll reads the store: memory is at its head
    m0 = feed_events_metric()
    r1 = put(F.auth("sup"), k.campaign, k.leads[0], [a[2], a[0]], [a[1]], "PUT 1")
    r2 = put(F.auth("sup"), k.campaign, k.leads[1], [a[1]], [], "PUT 2")
    evs = since(c0)  # a poll that reads what memory lacks: all taken in by now
    m1 = feed_events_metric()
    eq(len(evs), 2, "events after PUTs 1 and 2: %r" % evs)
    expect_event(evs[0], F, k.campaign, k.leads[0], k.cl[k.leads[0]], [a[0], a[2]], [],
                 "mapping", F.sup, rid(r1), "PUT 1's event")
    expect_event(evs[1], F, k.campaign, k.leads[1], k.cl[k.leads[1]], [a[1]], [],
                 "mapping", F.sup, rid(r2), "PUT 2's event")
    took = (m1["writer"] - m0["writer"], m1["read"] - m0["read"])
    # PostgreSQL's group function does not say its entries' ids: read back
    eq(took, (2, 0) if backend() == "sqlite" else (0, 2),
       "the PUTs' events (writer, read) into the node's memory")
    # Another process appends an event the node has not read (its feed
    # thread looks once a second, or on PostgreSQL on a NOTIFY, which this
    # one does not send); the PUT right after must not go into memory past
    # it, or the feed would skip it for good.
    url = S.store_url()
    for i in range(3):
        c = tail(sysauth())
        ext = "%016x" % (0xe0000000 + i)
        row = ("%d, %d, %d, %d, 'someone_else', '%s', '[\"%s\"]', '[]', %d, 'mapping'"
               % (k.campaign, k.leads[0], k.cl[k.leads[0]], int(time.time() * 1000), ext,
                  a[3], F.cc))
        cols = ("campaign_id, lead_id, campaign_lead_id, changed_at, changed_by, request_id,"
                " assigned, unassigned, cc_id, cause")
        if backend() == "sqlite":
            sql = ["INSERT INTO mapping_history (%s) VALUES (%s)" % (cols, row)]
        else:  # the next cursor as cmsd takes it (migration 4), without a NOTIFY
            sql = ["UPDATE change_head SET last = last + 1 WHERE id = 1",
                   "INSERT INTO mapping_history (id, %s) SELECT last, %s FROM change_head"
                   " WHERE id = 1" % (cols, row)]
        eq(direct_dml(url, sql), [1] * len(sql), "an event appended by another process")
        r = put(F.auth("sup"), k.campaign, k.leads[1], [a[2 + i]], [], "PUT %d after it" % i)
        evs = since(c)
        eq([(e["requestId"], e["leadId"]) for e in evs],
           [(ext, k.leads[0]), (rid(r), k.leads[1])],
           "round %d: the other process's event, then the PUT's" % i)
        eq(evs[0]["actor"], "someone_else", "the other process's event as it wrote it")

