"""
t64 - what a mapping request costs the store (issue 13; docs/decisions.md
"Answers from memory, writes in groups").

cmsd under --faults answers every request with X-Cmsd-Statements: how many
store statements it ran (on PostgreSQL each one is a round trip).  A request
that asks for no fault runs as it would without --faults, so these counts
are the production ones.  Caches warm (the token and the campaign's scope
read once before), on PostgreSQL:

    1. a PUT that changes the mapping is the look and one call of
       cmsd_mapping_put: 2 statements, answered and applied exactly (GET,
       history, feed), for assignments, unassignments, both, nothing to
       change, a dry run (which changes nothing);
    2. a PUT naming unknown users or a lead not attached is 2 statements
       too, and changes nothing;
    3. a PUT with If-Match holds the lead in a transaction first: more
       statements, and a stale tag changes nothing (412).

On SQLite a statement costs no round trip, and the steps run one by one:
there the same requests must answer the same, and their count is at most
what a PUT did before issue 13 (12).
"""
from harness import *  # noqa: F401,F403

S = None
F = None


def setup_module():
    global S, F
    S = use(Server(extra_args=["--faults"]).start())
    F = make_fixture(extra_agents=4)


def teardown_module():
    if S:
        S.stop()


def put(body, headers=None, query=""):
    return req("PUT", MAPPING + query, body, auth=F.auth("sup"), headers=headers)


def ran(r):
    v = r.headers.get("x-cmsd-statements")
    assert v and v.isdigit(), "X-Cmsd-Statements %r" % (v,)
    return int(v)


def get_state():
    r = req("GET", MAPPING + "?campaignId=%d&leadId=%d" % (F.campaign, F.lead), auth=F.auth("sup"))
    expect(r, 200, "GET the lead")
    return sorted(r.json["assignedUserIds"]), r.headers.get("etag")


def history_len():
    r = req("GET", F.camp_path + "/lead-user/history?leadId=%d&limit=1000" % F.lead,
            auth=F.auth("sup"))
    expect(r, 200, "history")
    return len(r.json)


def body(assigned, unassigned, lead=None):
    return {"leadId": lead or F.lead, "campaignId": F.campaign,
            "assignedUserIds": assigned, "unassignedUserIds": unassigned}


def statements_want(n_pg, n_sqlite_max=12):
    return (lambda n: n == n_pg) if backend() == "postgresql" else (lambda n: 0 < n <= n_sqlite_max)


def test_changing_puts_are_two_statements_on_postgresql():
    a = F.agents
    expect(put(body([], a)), 200, "warm: token and scope")
    ok = statements_want(2)
    cases = [
        (body([a[0], a[1]], []), [a[0], a[1]], 1),
        (body([a[2]], [a[0]]), [a[1], a[2]], 1),
        (body([], [a[1], a[2]]), [], 1),
        (body([], [a[1]]), [], 0),                 # nothing to change: no history
        (body([a[3]], [a[0]]), [a[3]], 1),
    ]
    for b, want, entries in cases:
        before = history_len()
        r = put(b)
        expect(r, 200, "PUT %r" % b)
        assert ok(ran(r)), "PUT %r ran %d statements on %s" % (b, ran(r), backend())
        eq(r.json["assignedUserIds"], b["assignedUserIds"], "the answer names what it was sent")
        eq(get_state()[0], sorted(want), "state after PUT %r" % b)
        eq(history_len(), before + entries, "history entries of PUT %r" % b)
    # a dry run says what would change, and changes nothing
    before, hist = get_state(), history_len()
    r = put(body([a[0]], [a[3]]), query="?dryRun=true")
    expect(r, 200, "dry run")
    assert ok(ran(r)), "dry run ran %d statements" % ran(r)
    eq(r.json["changes"], {"assignedUserIds": [a[0]], "unassignedUserIds": [a[3]]}, "dry changes")
    eq(get_state(), before, "a dry run changes nothing")
    eq(history_len(), hist, "a dry run records nothing")


def test_refused_puts_change_nothing_in_two_statements():
    a = F.agents
    expect(put(body([a[0]], [])), 200, "set-up")
    ok = statements_want(2)
    before, hist = get_state(), history_len()
    r = put(body([a[1], "nobody_" + F.u], ["ghost_" + F.u]))
    assert_error(r, 404, "CONF-1001", "unknown users")
    assert_missing(r.json, [("campaignUser", "nobody_" + F.u), ("campaignUser", "ghost_" + F.u)])
    assert ok(ran(r)), "unknown users: %d statements" % ran(r)
    lead2 = create_lead(S.sys_auth(), F.cc, F.process)   # not attached to the campaign
    r = put(body([a[1]], [], lead=lead2))
    assert_error(r, 404, "CONF-1001", "a lead not attached")
    assert_missing(r.json, [("lead", str(lead2))])
    assert ok(ran(r)), "lead not attached: %d statements" % ran(r)
    eq(get_state(), before, "refused PUTs change nothing")
    eq(history_len(), hist, "refused PUTs record nothing")


def test_if_match_holds_the_lead_first():
    a = F.agents
    expect(put(body([a[0]], a[1:])), 200, "set-up")
    state, tag = get_state()
    r = put(body([a[1]], []), headers={"If-Match": tag})
    expect(r, 200, "If-Match with the current tag")
    if backend() == "postgresql":
        assert ran(r) > 2, "If-Match PUT ran only %d statements" % ran(r)
    new_state, new_tag = get_state()
    eq(new_state, sorted([a[0], a[1]]), "state after the If-Match PUT")
    eq(r.headers.get("etag"), new_tag, "the answer's ETag is the new state's")
    hist = history_len()
    r = put(body([], [a[0]]), headers={"If-Match": tag})
    assert_error(r, 412, "CONF-1006", "stale If-Match")
    eq(get_state(), (new_state, new_tag), "a stale If-Match changes nothing")
    eq(history_len(), hist, "nor records anything")
