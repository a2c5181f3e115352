"""
t65 - a single-lead mapping GET costs one statement (issue 13; docs/decisions.md
"Answers from memory, writes in groups"), whether its answer is in memory or
not, once the token and the campaign's scope are: the request's one look at
the store reads the lead's stamps and, when the cache does not hold the lead
at those stamps, the rows its mapping is made of, in the same snapshot.

cmsd --faults answers X-Cmsd-Statements, the statements the request ran
(the look included).  Both forms of the GET (campaignLeadUserMapping with
campaignId and leadId, and .../campaign/{c}/lead-user?leadId=) are counted:
a hit, a miss after a PUT, a 304, a lead that is not attached (404 naming
the lead); and the miss's answer is exactly the state, its ETag the one a
PUT's If-Match compares.  On SQLite, or on PostgreSQL with CMSD_TEST_PG.
"""
from harness import *  # noqa: F401,F403

S = None
F = None


def setup_module():
    global S, F
    S = use(Server(extra_args=["--faults"]).start())
    F = make_fixture(extra_agents=2)


def statements(r):
    n = r.headers.get("x-cmsd-statements")
    assert n and n.isdigit(), "%s %s: X-Cmsd-Statements %r" % (r.method, r.path, n)
    return int(n)


def forms(lead):
    """The two single-lead GETs of lead in F's campaign."""
    return ("%s?campaignId=%s&leadId=%s" % (MAPPING, F.campaign, lead),
            "%s/lead-user?leadId=%s" % (F.camp_path, lead))


def get(path, auth, headers=None, status=200, what=""):
    r = req("GET", path, auth=auth, headers=headers)
    expect(r, status, what)
    return r


def one_statement(r, what):
    eq(statements(r), 1, "%s: statements of %s %s" % (what, r.method, r.path))


def put(auth, assigned, unassigned, headers=None):
    r = req("PUT", MAPPING, {"leadId": F.lead, "campaignId": F.campaign,
                             "assignedUserIds": assigned, "unassignedUserIds": unassigned},
            auth=auth, headers=headers)
    return expect(r, 200, "PUT")


def test_hit_and_miss_after_a_put_are_one_statement_each():
    sup, agent = F.auth("sup"), F.auth("agent")
    a, b = F.agents
    for path in forms(F.lead):
        for auth in (sup, agent):
            get(path, auth, what="warm")   # the token and the scope, kept
        for round_, (assigned, unassigned) in enumerate((([a], [b]), ([b], [a]), ([a, b], []))):
            what = "%s, round %d" % (path, round_)
            hit = get(path, agent, what=what + ": hit")
            one_statement(hit, what + ": hit")
            put(sup, assigned, unassigned)
            miss = get(path, agent, what=what + ": miss after the PUT")
            one_statement(miss, what + ": miss after the PUT")
            body = miss.json
            eq(body["assignedUserIds"], sorted(assigned), what + ": assignedUserIds")
            eq(body["unassignedUserIds"], sorted(set(F.cu) - set(assigned)),
               what + ": unassignedUserIds")
            assert miss.headers.get("etag") != hit.headers.get("etag"), \
                "%s: the ETag did not change with the state" % what
            assert int(miss.headers["x-change-cursor"], 16) > \
                int(hit.headers["x-change-cursor"], 16), \
                "%s: the cursor did not move past the PUT's event" % what
            # from memory now: the same bytes, the same ETag and cursor
            again = get(path, agent, what=what + ": hit after the miss")
            one_statement(again, what + ": hit after the miss")
            eq(again.raw, miss.raw, what + ": the hit's body")
            eq(again.headers.get("etag"), miss.headers.get("etag"), what + ": the hit's ETag")
            eq(again.headers.get("x-change-cursor"), miss.headers.get("x-change-cursor"),
               what + ": the hit's cursor")
            r = get(path, agent, headers={"If-None-Match": miss.headers["etag"]}, status=304,
                    what=what + ": conditional")
            one_statement(r, what + ": conditional")
            # the ETag the miss rendered is the one a PUT compares
            put(sup, assigned, unassigned, headers={"If-Match": miss.headers["etag"]})


def test_a_lead_not_attached_is_one_statement_and_names_the_lead():
    lead = create_lead(F.auth("sys"), F.cc, F.process)
    for path in forms(lead):
        get(forms(F.lead)[0], F.auth("agent"), what="warm")
        r = req("GET", path, auth=F.auth("agent"))
        assert_missing(assert_error(r, 404, "CONF-1001", path), [("lead", lead)])
        one_statement(r, path + ": a lead not attached")
