"""
t64 - what a mapping request costs the store (issue 13; docs/decisions.md
"Answers from memory, writes in groups").

cmsd under --faults answers every request with X-Cmsd-Statements: how many
store statements it ran (on PostgreSQL each one is a round trip).  A request
that asks for no fault runs as it would without --faults, so these counts
are the production ones.  Caches warm (the token and the campaign's scope
read once before), on PostgreSQL:

    1. a PUT that changes the mapping is the look and one call of
       cmsd_mapping_put_group (under --faults every group is one PUT): 2
       statements, answered and applied exactly (GET, history, feed), for
       assignments, unassignments, both, nothing to change, a dry run
       (which changes nothing);
    2. a PUT naming unknown users or a lead not attached is 2 statements
       too, and changes nothing;
    3. a PUT with If-Match holds the lead in a transaction first: on
       PostgreSQL 9 statements (the lead found and held in one), and a
       stale tag changes nothing (412);
    4. a single-lead GET, both forms (campaignLeadUserMapping?campaignId=
       &leadId= and .../campaign/{c}/lead-user?leadId=), is 1 statement
       whether the cache holds its answer or not: a hit, a miss after a PUT
       (the look reads the lead's rows when the cache's copy is stale), a
       304, a lead not attached (404 naming the lead); the miss answers
       exactly the state, with the ETag that If-Match compares.  On SQLite
       a hit and a 304 are 1 statement, and a miss reads in a transaction
       of its own: at most 7 (the look, BEGIN, its own look, the campaign
       lead, the users, the mapped ones, COMMIT); a hit costs no statement
       at all while nothing has committed since the worker's connection
       last looked at that lead (the look's memo, by the WAL index:
       cmsd_store_looks_total{look="memo"}), so 0 or 1 there.
       A hit takes the plain look (/metrics cmsd_store_looks_total) once
       the feed has read this node's last change; a lead changed behind
       cmsd's back (no event to drop the cache's copy by) is found stale
       by that plain look and read by an aimed one on PostgreSQL, the
       new state.

    5. without --faults, PUTs sent together are committed in groups by the
       writer (src/writer.c): a GROUP_BURST of concurrent PUTs, tokens and
       scope warm.  On PostgreSQL a group, whatever its size, is 2
       statements, so 2 round trips: the look and one call of
       cmsd_mapping_put_group, which is the group's transaction
       (cmsd_write_group_statements_total against cmsd_write_groups_total);
       bursts until one group holds more than one PUT.  On SQLite a group
       is BEGIN, the look and COMMIT, and at most five statements a PUT: no
       savepoint.  A burst where every third PUT names an unknown user too:
       those answer 404 having written nothing, the writer runs every PUT
       once (no group runs again) and the others commit.  A burst where
       every third PUT is a dry run: a dry run reads and writes nothing, so
       no group runs again (cmsd_write_group_agains_total) and each answers
       what would change.  SQLite: a burst where every fourth PUT fails a
       statement (--faults with X-Cmsd-Group: yes): its group runs again,
       each PUT alone; it answers 500 and leaves nothing, the others commit.
       The figures are printed on both stores.

    6. SQLite: a GET repeated while nothing commits is answered with no
       statement (the memo), and one commit by another process (sqlite3,
       behind cmsd's back) ends that on every connection: the GETs after it
       look at the store and answer the new state.

On SQLite a statement costs no round trip, and the steps run one by one:
there the same requests must answer the same, and their count is at most
what a PUT did before issue 13 (12).
"""
import re
import time

from harness import *  # noqa: F401,F403
from harness import SLOW, VALGRIND

GROUP_BURST = 8 if VALGRIND else 32     # test 5: concurrent PUTs of a burst
GROUP_TRIES = 5                         # tests 5: bursts until a group of more than one forms

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
        # the look, BEGIN, the lead found and held in one, its users and
        # mapped ones for the ETag, the call, the new state's two, COMMIT
        eq(ran(r), 9, "statements of an If-Match PUT")
    new_state, new_tag = get_state()
    eq(new_state, sorted([a[0], a[1]]), "state after the If-Match PUT")
    eq(r.headers.get("etag"), new_tag, "the answer's ETag is the new state's")
    hist = history_len()
    r = put(body([], [a[0]]), headers={"If-Match": tag})
    assert_error(r, 412, "CONF-1006", "stale If-Match")
    eq(get_state(), (new_state, new_tag), "a stale If-Match changes nothing")
    eq(history_len(), hist, "nor records anything")


def get_forms(lead):
    """The two single-lead GETs of lead in F's campaign."""
    return ("%s?campaignId=%s&leadId=%s" % (MAPPING, F.campaign, lead),
            "%s/lead-user?leadId=%s" % (F.camp_path, lead))


def get_one(path, status=200, headers=None, what=""):
    r = req("GET", path, auth=F.auth("agent"), headers=headers)
    expect(r, status, what)
    return r


def one_statement(r, what, miss=False):
    """1 statement; on SQLite a miss reads in its own read transaction, and
    a hit may be answered by the look's memo (no statement)."""
    if miss and backend() == "sqlite":
        assert 1 < ran(r) <= 7, "%s: %d statements of %s %s" % (what, ran(r), r.method, r.path)
    elif backend() == "sqlite":
        assert ran(r) in (0, 1), "%s: %d statements of %s %s" % (what, ran(r), r.method, r.path)
    else:
        eq(ran(r), 1, "%s: statements of %s %s" % (what, r.method, r.path))


def test_single_lead_get_is_one_statement_hit_or_miss():
    a, b = F.agents[:2]
    for path in get_forms(F.lead):
        get_one(path, what="warm: token and scope")
        for round_, (assigned, unassigned) in enumerate((([a], [b]), ([b], [a]), ([a, b], []))):
            what = "%s, round %d" % (path, round_)
            hit = get_one(path, what=what + ": hit")
            one_statement(hit, what + ": hit")
            expect(put(body(assigned, unassigned)), 200, what + ": PUT")
            miss = get_one(path, what=what + ": miss after the PUT")
            one_statement(miss, what + ": miss after the PUT", miss=True)
            eq(miss.json["assignedUserIds"], sorted(assigned), what + ": assignedUserIds")
            eq(miss.json["unassignedUserIds"], sorted(set(F.cu) - set(assigned)),
               what + ": unassignedUserIds")
            assert miss.headers.get("etag") != hit.headers.get("etag"), \
                "%s: the ETag did not change with the state" % what
            assert int(miss.headers["x-change-cursor"], 16) > \
                int(hit.headers["x-change-cursor"], 16), \
                "%s: the cursor did not move past the PUT's event" % what
            # from memory now: the same bytes, ETag and cursor
            again = get_one(path, what=what + ": hit after the miss")
            one_statement(again, what + ": hit after the miss")
            eq(again.raw, miss.raw, what + ": the hit's body")
            for h in ("etag", "x-change-cursor"):
                eq(again.headers.get(h), miss.headers.get(h), what + ": the hit's " + h)
            r = get_one(path, 304, {"If-None-Match": miss.headers["etag"]}, what + ": conditional")
            one_statement(r, what + ": conditional")
            # the ETag the miss rendered is the one a PUT's If-Match compares
            expect(put(body(assigned, unassigned), headers={"If-Match": miss.headers["etag"]}),
                   200, what + ": If-Match with the miss's ETag")


def test_looks_never_scan_the_history_on_postgresql():
    """PostgreSQL: a look finds the lead's last history entry through
    mapping_history_lead, never by reading the whole table (cmsd's sessions
    set enable_seqscan off: a generic plan made while the history was nearly
    empty scanned it all on every look, whatever its size later).  A server
    of its own, whose history holds one entry, where a scan is the cheapest
    plan (the old code made one for each of the 100 GETs).  Counted by the
    server (pg_stat_user_tables.seq_scan), which a session reports at the
    latest 10 s after it goes idle; psql's own scan, counted, shows that the
    count moves."""
    if backend() != "postgresql":
        skip("the server's plans")
    T = Server().start()
    try:
        url = T.store_url()

        def seq_scans():
            rows = psql("SELECT seq_scan FROM pg_stat_user_tables"
                        " WHERE relname = 'mapping_history'", url=url)
            eq(len(rows), 1, "pg_stat_user_tables rows of mapping_history")
            return int(rows[0][0])
        psql("ANALYZE mapping_history", url=url)
        f = make_fixture(extra_agents=1, srv=T)
        path = MAPPING + "?campaignId=%d&leadId=%d" % (f.campaign, f.lead)
        sup = f.auth("sup")
        for i in range(3):      # the first looks, planned on the empty table
            expect(req("GET", path, auth=sup, srv=T), 200, "GET %d" % i)
        expect(put_mapping(sup, f.campaign, f.lead, f.agents, [], srv=T), 200, "a PUT")
        time.sleep(11)
        before = seq_scans()
        psql("SELECT count(*) FROM mapping_history", url=url)  # one scan, reported at exit
        n = 100
        for i in range(n):
            expect(req("GET", path, auth=sup, srv=T), 200, "look %d" % i)
        time.sleep(11)
        scans = seq_scans() - before
        print("# t64 %d GETs and one psql count: %d sequential scans of mapping_history"
              % (n, scans), flush=True)
        assert scans >= 1, "psql's count(*) was not counted: the statistics are not reported"
        assert scans - 1 <= 2, "%d GETs made %d sequential scans of mapping_history" % (
            n, scans - 1)
    finally:
        eq(T.stop(), 0, "exit code of the server")


def test_get_of_a_lead_not_attached_is_one_statement():
    lead = create_lead(S.sys_auth(), F.cc, F.process)
    for path in get_forms(lead):
        get_one(get_forms(F.lead)[0], what="warm")
        r = req("GET", path, auth=F.auth("agent"))
        assert_missing(assert_error(r, 404, "CONF-1001", path), [("lead", lead)])
        one_statement(r, path + ": a lead not attached", miss=True)


def look_counts():
    """{plain, aimed, memo, stale}: the looks of S so far, from /metrics."""
    text = req("GET", "/metrics", headers={"Accept": "text/plain"}).raw.decode()
    out = {}
    for look in ("plain", "aimed", "memo"):
        m = re.search(r'^cmsd_store_looks_total\{look="%s"\} (\d+)$' % look, text, re.M)
        assert m, "/metrics has no cmsd_store_looks_total{look=%r}" % look
        out[look] = int(m.group(1))
    m = re.search(r"^cmsd_store_looks_stale_total (\d+)$", text, re.M)
    assert m, "/metrics has no cmsd_store_looks_stale_total"
    out["stale"] = int(m.group(1))
    if backend() == "postgresql":
        eq(out["memo"], 0, "memo looks on PostgreSQL (no WAL index to tell by)")
    return out


def looks():
    """(plain, aimed, stale) looks of S so far, a memo's answer counting as
    the plain look it stands for."""
    c = look_counts()
    return (c["plain"] + c["memo"], c["aimed"], c["stale"])


def looks_of(fn):
    """fn's result, and the looks S took while it ran."""
    before = looks()
    r = fn()
    return r, tuple(x - y for x, y in zip(looks(), before))


def plain_hit(path, what):
    """A GET answered from memory after the plain look: once the feed has
    read this node's last commit (a moment after it), until then the aimed
    look, which reads nothing more when the stamps match.  Fails when the
    plain look does not come within 5 s."""
    deadline = time.time() + 5 * SLOW
    while True:
        r, d = looks_of(lambda: get_one(path, what=what))
        one_statement(r, what)
        if d == (1, 0, 0):
            return r
        eq(d, (0, 1, 0), what + ": looks (plain, aimed, stale) before the feed has read")
        assert time.time() < deadline, what + ": still the aimed look after 5 s"
        time.sleep(0.01)


def test_a_lead_held_in_memory_gets_the_plain_look():
    """A GET of a lead the cache holds, when the feed has read every change
    this node made, takes the plain look, which costs PostgreSQL less than
    the aimed one, and answers from memory.  A change made behind cmsd's
    back (another process writes lead_user: no event for the feed to drop
    the copy by; the epoch moves) is found by that plain look, and an aimed
    one follows on PostgreSQL, and the new state is answered; when that
    second look fails the answer is the envelope and the next GET reads
    the lead whole.  After a PUT
    of this node the next GET takes the aimed look at once (one statement,
    the miss of test 4), whether or not the feed has read the PUT's event."""
    a = F.agents
    path = get_forms(F.lead)[0]
    pg = backend() == "postgresql"
    expect(put(body([a[0]], a[1:])), 200, "set-up")
    get_one(path, what="warm")
    plain_hit(path, "hit")

    r, d = looks_of(lambda: expect(put(body([a[1]], [])), 200, "PUT"))
    r, d = looks_of(lambda: get_one(path, what="the GET after this node's PUT"))
    one_statement(r, "the GET after this node's PUT", miss=True)
    eq(sorted(r.json["assignedUserIds"]), sorted([a[0], a[1]]), "the state after the PUT")
    eq(d, (0, 1, 0) if pg else (d[0], 0, 0), "looks of the GET after the PUT")
    plain_hit(path, "hit after the PUT")

    eq(direct_dml(S.store_url(), [
        "INSERT INTO lead_user (campaign_lead_id, campaign_user_id) VALUES (%d, %d)"
        % (F.campaign_lead, F.cu[a[2]])]), [1], "lead_user row inserted behind cmsd's back")
    r, d = looks_of(lambda: get_one(path, what="the GET after the direct write"))
    eq(sorted(r.json["assignedUserIds"]), sorted(a[:3]), "the state after the direct write")
    if pg:
        # the epoch moved too: the token and the scope are read again
        assert ran(r) > 2, "the GET after the direct write ran %d statements" % ran(r)
        eq(d, (1, 1, 1), "looks of the GET after the direct write (plain, aimed, stale)")
    else:
        eq(d[1:], (0, 0), "looks of the GET after the direct write (aimed, stale)")
    r2, d = looks_of(lambda: get_one(path, what="hit after the direct write"))
    one_statement(r2, "hit after the direct write")
    eq(d, (1, 0, 0), "looks of the hit after the direct write")
    eq(r2.raw, r.raw, "the hit's body")
    eq(r2.headers.get("etag"), r.headers.get("etag"), "the hit's ETag")

    # the aimed look after a stale plain one fails: the envelope, and the
    # next GET reads the lead as if nothing had happened
    eq(direct_dml(S.store_url(), [
        "DELETE FROM lead_user WHERE campaign_lead_id = %d AND campaign_user_id = %d"
        % (F.campaign_lead, F.cu[a[2]])]), [1], "lead_user row deleted behind cmsd's back")
    if pg:
        r, d = looks_of(lambda: req("GET", path, auth=F.auth("agent"),
                                    headers={"X-Cmsd-Fault": "store-unavailable@2"}))
        assert_error(r, 503, "SYS-1003", "the second look failed")
        eq(d, (1, 1, 1), "looks of the GET whose second look failed")
    r, d = looks_of(lambda: get_one(path, what="the GET after the direct delete"))
    eq(sorted(r.json["assignedUserIds"]), sorted(a[:2]), "the state after the direct delete")
    eq(d, (1, 1, 1) if pg else (d[0], 0, 0), "looks of the GET after the direct delete")


# ---- 5. a group's round trips ----------------------------------------------------------------

def writer_counters(srv):
    """(groups, requests, statements, groups run again) of the group writer,
    from /metrics."""
    text = req("GET", "/metrics", srv=srv, headers={"Accept": "text/plain"}).raw.decode()
    sizes = re.findall(r'^cmsd_write_groups_total\{size="[^"]+"\} (\d+)$', text, re.M)
    assert len(sizes) == 4, "/metrics: cmsd_write_groups_total by size: %r" % (sizes,)
    out = [sum(int(x) for x in sizes)]
    for name in ("cmsd_write_group_requests_total", "cmsd_write_group_statements_total",
                 "cmsd_write_group_agains_total"):
        m = re.search(r"^%s (\d+)$" % name, text, re.M)
        assert m, "/metrics has no " + name
        out.append(int(m.group(1)))
    return tuple(out)


def on_group_server(run, args=()):
    """run(T, f, sup) on a server of its own (without --faults, unless args
    say so: PUTs that arrive together form groups), with a fixture of
    GROUP_BURST agents whose Supervisor's token and campaign scope are
    warm."""
    T = Server(extra_args=list(args)).start()
    try:
        f = make_fixture(extra_agents=GROUP_BURST, srv=T)
        sup = f.auth("sup")
        expect(put_mapping(sup, f.campaign, f.lead, [], f.agents, srv=T), 200,
               "warm: token and scope")
        run(T, f, sup)
    finally:
        eq(T.stop(), 0, "exit code of the group server")


def burst(T, f, sup, rnd, fails=(), dry=(), faulted=()):
    """One burst of GROUP_BURST concurrent PUTs, each assigning (even rounds)
    or unassigning its own agent; a PUT whose index is in `fails` names an
    unknown user too and must answer 404 CONF-1001 having changed nothing; one
    in `dry` (even rounds) is a dry run, which answers the change it would make
    and makes none; one in `faulted` (a server with --faults, every PUT asking
    to be grouped) fails its fifth statement (counted from its admission: in
    a group after its first PUT, the history row, after the mapping's
    write) and must answer 500 SYS-1000 having changed nothing.
    Returns (PUTs run by the writer, groups, statements, groups run again)
    from /metrics."""
    c0 = writer_counters(T)
    ghost = "nobody_" + f.u
    mine = [([a], []) if rnd % 2 == 0 else ([], [a]) for a in f.agents]
    for p in fails:
        mine[p] = (mine[p][0] + [ghost], mine[p][1]) if rnd % 2 == 0 else \
            (mine[p][0], mine[p][1] + [ghost])
    answers = [None] * GROUP_BURST

    def one(p):
        b = {"leadId": f.lead, "campaignId": f.campaign, "assignedUserIds": mine[p][0],
             "unassignedUserIds": mine[p][1]}
        h = {"X-Cmsd-Group": "yes"} if faulted else {}
        if p in faulted:
            h["X-Cmsd-Fault"] = "store-error@5"
        answers[p] = req("PUT", MAPPING + ("?dryRun=true" if p in dry else ""), b, auth=sup,
                         srv=T, headers=h)
    parallel([lambda p=p: one(p) for p in range(GROUP_BURST)], "burst %d" % rnd)
    for p, r in enumerate(answers):
        if p in fails:
            assert_error(r, 404, "CONF-1001", "burst %d, PUT %d (an unknown user)" % (rnd, p))
            assert ghost in r.raw.decode(), "burst %d, PUT %d: the 404 names %s: %s" % (
                rnd, p, ghost, r.raw.decode())
            continue
        if p in faulted:
            assert_error(r, 500, "SYS-1000", "burst %d, PUT %d (a statement failed)" % (rnd, p))
            continue
        b = expect(r, 200, "burst %d, PUT %d" % (rnd, p))
        eq(b["assignedUserIds"], mine[p][0], "burst %d, PUT %d: assignedUserIds" % (rnd, p))
        if p in dry:
            eq(b.get("dryRun"), True, "burst %d, PUT %d: dryRun" % (rnd, p))
            eq(b.get("changes"), {"assignedUserIds": mine[p][0], "unassignedUserIds": []},
               "burst %d, PUT %d: the changes a dry run would make" % (rnd, p))
    c1 = writer_counters(T)
    out = (c1[1] - c0[1], c1[0] - c0[0], c1[2] - c0[2], c1[3] - c0[3])
    kinds = "".join(" (%d %s)" % (len(ps), k) for ps, k in
                    ((fails, "failing"), (dry, "dry"), (faulted, "faulted")) if ps)
    print("# t64 %s burst %d%s: %d PUTs in %d groups, %d statements: %.1f a group, "
          "%.2f a PUT; %d groups again" % (
              backend(), rnd, kinds, out[0], out[1], out[2],
              out[2] / max(out[1], 1), out[2] / max(out[0], 1), out[3]), flush=True)
    # the lead as the PUTs that succeeded left it: a failing one and a dry
    # run changed nothing
    want = sorted(a for p, a in enumerate(f.agents)
                  if p not in fails and p not in dry and p not in faulted) \
        if rnd % 2 == 0 else []
    b = expect(req("GET", "%s?campaignId=%s&leadId=%s" % (MAPPING, f.campaign, f.lead),
                   auth=sup, srv=T), 200, "burst %d: GET" % rnd)
    eq(b["assignedUserIds"], want, "burst %d: the lead after it" % rnd)
    return out


def test_a_group_of_puts_is_two_statements_on_postgresql():
    def run(T, f, sup):
        seen = []
        for rnd in range(GROUP_TRIES):
            puts, groups, stmts, agains = burst(T, f, sup, rnd)
            seen.append((puts, groups, stmts))
            eq(puts, GROUP_BURST, "burst %d: PUTs run by the group writer" % rnd)
            eq(agains, 0, "burst %d: groups run again" % rnd)
            assert 0 < groups <= puts, "burst %d: %d groups for %d PUTs" % (rnd, groups, puts)
            if backend() == "postgresql":
                eq(stmts, 2 * groups, "burst %d: statements of %d groups (the look and one call "
                   "each)" % (rnd, groups))
            else:
                # per group BEGIN, the look, COMMIT; per PUT at most five (the
                # campaign lead held, its users resolved, the mapping's writes,
                # the history row) and no savepoint (SAVEPOINT, RELEASE: two more)
                assert stmts <= groups * 3 + puts * 5, \
                    "burst %d: %d statements for %d PUTs in %d groups" % (rnd, stmts, puts, groups)
            if groups < puts:
                break
        assert any(g < p for p, g, _ in seen), \
            "no group of more than one PUT in %d bursts: %r" % (len(seen), seen)
    on_group_server(run)


def bursts_without_agains(**kinds):
    """Bursts (burst()'s `kinds`: fails or dry) on a group server until a
    group holds more than one PUT: the writer runs each PUT once (its PUTs
    count exactly the burst) and no group runs again."""
    def run(T, f, sup):
        seen = []
        for rnd in range(GROUP_TRIES):
            # odd rounds unassign what the even round before assigned
            puts, groups, stmts, agains = burst(T, f, sup, 2 * rnd, **kinds)
            seen.append((puts, groups))
            eq((puts, agains), (GROUP_BURST, 0), "burst %d: PUTs and groups again" % rnd)
            expect(put_mapping(sup, f.campaign, f.lead, [], f.agents, srv=T), 200, "reset")
            if groups < puts:
                break
        assert any(g < p for p, g in seen), \
            "no group of more than one PUT in %d bursts: %r" % (len(seen), seen)
    on_group_server(run)


def test_a_put_that_fails_in_a_group_runs_once_and_the_others_commit():
    """Every third PUT of a burst names an unknown user: it answers 404 having
    written nothing, so its group neither undoes nor runs again anything and
    the others commit."""
    bursts_without_agains(fails=tuple(range(0, GROUP_BURST, 3)))


def test_a_dry_run_in_a_group_writes_nothing_and_sends_nothing_again():
    """Every third PUT of a burst is a dry run.  A dry run reads what would
    change and writes nothing, on both stores, so its group neither undoes
    nor runs again anything; its answer says what would change after the
    PUTs before it, and the lead's state is the other PUTs'."""
    bursts_without_agains(dry=tuple(range(1, GROUP_BURST, 3)))


def test_a_statement_failing_in_a_group_sends_it_again_each_alone():
    """SQLite: every fourth PUT of a burst fails a statement (--faults,
    `X-Cmsd-Group: yes` so that they still form groups), which only the
    whole transaction can undo (a failed statement; in a group after its
    first PUT, the history row, after the PUT's mapping write): a group of more
    than one that holds one runs again, each PUT alone
    (cmsd_write_group_agains_total, the PUTs of those groups counted twice);
    alone, the failing PUT answers 500 SYS-1000 and is rolled back, and every
    other PUT commits.  (On PostgreSQL the group's writes are one call sent
    after every PUT's steps, so a fault armed per PUT does not name one.)"""
    if backend() == "postgresql":
        skip("a statement fault names one PUT of a group on SQLite only")

    def run(T, f, sup):
        faulted = tuple(range(2, GROUP_BURST, 4))
        seen = []
        for rnd in range(2 * GROUP_TRIES):
            puts, groups, stmts, agains = burst(T, f, sup, 2 * rnd, faulted=faulted)
            seen.append((puts, groups, agains))
            # a group run again is counted again, PUT by PUT
            eq(puts > GROUP_BURST, agains > 0, "burst %d: PUTs run again (%d) as groups "
               "again (%d)" % (rnd, puts - GROUP_BURST, agains))
            expect(put_mapping(sup, f.campaign, f.lead, [], f.agents, srv=T), 200, "reset")
            if agains:
                break
        if not VALGRIND:
            assert any(a for _, _, a in seen), \
                "no group with a failing statement ran again in %d bursts: %r" % (len(seen), seen)
    on_group_server(run, ["--faults"])


# ---- 6. the look's memo (SQLite) -----------------------------------------------------------

def test_sqlite_memo_answers_while_nothing_commits():
    if backend() != "sqlite":
        skip("the memo reads SQLite's WAL index")
    a = F.agents
    path = get_forms(F.lead)[0]
    expect(put(body([a[0]], a[1:])), 200, "set-up")
    state = get_one(path, what="warm").json["assignedUserIds"]
    # every worker's connection looks once and then answers from the memo:
    # enough GETs that each worker gets more than one
    before = look_counts()
    zero = 0
    for i in range(40):
        r = get_one(path, what="GET %d with nothing committing" % i)
        eq(r.json["assignedUserIds"], state, "GET %d: the state" % i)
        zero += ran(r) == 0
    after = look_counts()
    assert zero > 0, "no GET of 40 was answered without a statement"
    eq(after["memo"] - before["memo"], zero, "memo looks against GETs of no statement")
    assert zero >= 40 - 8, "only %d of 40 GETs from the memo" % zero

    # one commit by another process: no connection's memo answers after it
    for rnd, (sql, want) in enumerate((
            ("INSERT INTO lead_user (campaign_lead_id, campaign_user_id) VALUES (%d, %d)"
             % (F.campaign_lead, F.cu[a[1]]), sorted([a[0], a[1]])),
            ("DELETE FROM lead_user WHERE campaign_lead_id = %d AND campaign_user_id = %d"
             % (F.campaign_lead, F.cu[a[0]]), [a[1]]))):
        for i in range(10):     # the memo warm on every connection again
            get_one(path, what="round %d: warm %d" % (rnd, i))
        eq(direct_dml(S.store_url(), [sql]), [1], "round %d: written behind cmsd's back" % rnd)
        first = get_one(path, what="round %d: the GET after the direct write" % rnd)
        assert ran(first) >= 1, "round %d: the GET after another process's commit ran no " \
            "statement" % rnd
        for i in range(8):
            r = first if not i else get_one(path, what="round %d: GET %d after it" % (rnd, i))
            eq(sorted(r.json["assignedUserIds"]), want,
               "round %d: GET %d after the direct write" % (rnd, i))
