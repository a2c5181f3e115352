"""
t53 - the fault sweep (issue 11): every route that touches the store, with
its Nth store statement failed, for N = 1, 2, ... until the request runs out
of statements and succeeds.

cmsd --faults honours `X-Cmsd-Fault: KIND@N`: the Nth statement the request
runs through the store's executor (the token lookup, BEGIN, the access
checks, the handler's statements, COMMIT all count) fails with KIND
(store-error: 500 SYS-1000; store-unavailable: 503 SYS-1003) without being
run, and answers carry X-Cmsd-Statements (how many statements ran).  Each
failed request must answer that status in the API.md section 5 envelope and
change nothing that the API can read back; once N passes the last statement
(and only then: a request that ran statement N and succeeded swallowed a
failure), the same request must succeed.  N alternates the two kinds.
The cache is off (--cache-size 0): with it, what one attempt read would be
answered from memory by the next, and the count of statements would shrink
as the sweep goes.

Requests are valid ones (so the last answer is the route's success); deletes
get a fresh object each, built with mappings and history where the route
would cascade, so that a fault inside a cascade is seen rolled back.
"""

from harness import *  # noqa: F401,F403
from routes import fill, load_routes, placeholders

S = None
F = None
ROUTES = None
MAX_STATEMENTS = 80
KINDS = (("store-error", 500, "SYS-1000"), ("store-unavailable", 503, "SYS-1003"))
SUCCESS = {"GET": (200,), "POST": (200, 201), "PUT": (200,), "DELETE": (204,)}


def setup_module():
    global S, F, ROUTES
    S = use(Server(extra_args=["--faults", "--cache-size", "0"]).start())
    F = make_fixture(extra_agents=3)
    F.lead2 = create_lead(S.sys_auth(), F.cc, F.process)   # a lead not attached
    F.free = create_user(S.sys_auth(), F.cc, role="Agent")  # a user not enrolled
    # a mapping, so that reads and history have something to show
    expect(req("PUT", MAPPING, {"leadId": F.lead, "campaignId": F.campaign,
                                "assignedUserIds": [F.agents[0]], "unassignedUserIds": []},
               auth=F.auth("admin")), 200, "fixture mapping")
    ROUTES = load_routes()


def snapshot():
    """What the API can read back of the fixture's tenant and the contact centers."""
    a = S.sys_auth()
    out = {}
    for path in (BASE + "/cc?limit=1000", F.cc_path + "/user?limit=1000",
                 F.cc_path + "/process?limit=1000", F.proc_path + "/lead?limit=1000",
                 F.proc_path + "/campaign?limit=1000",
                 F.camp_path + "/campaign-user?limit=1000",
                 F.camp_path + "/campaign-lead?limit=1000",
                 MAPPING + "?limit=1000",
                 F.camp_path + "/lead-user/history?leadId=%d" % F.lead):
        r = req("GET", path, auth=a)
        out[path] = (r.status, r.json)
    return out


# --------------------------------------------------------------------------
# one valid request of each route
# --------------------------------------------------------------------------

def fresh_campaign_with_mapping():
    """A campaign of the fixture's process with a user enrolled, a lead attached
    and mapped: deleting it cascades through all three."""
    sysauth = S.sys_auth()
    c = create_campaign(sysauth, F.cc, F.process)
    lead = create_lead(sysauth, F.cc, F.process)
    user = create_user(sysauth, F.cc, role="Agent")
    enroll(sysauth, F.cc, F.process, c, [user])
    attach(sysauth, F.cc, F.process, c, lead)
    expect(req("PUT", MAPPING, {"leadId": lead, "campaignId": c, "assignedUserIds": [user],
                                "unassignedUserIds": []}, auth=sysauth), 200, "map")
    return c, lead, user


def request_of(route):
    """(path, body, auth) of a valid request of the route; fresh objects for
    deletes (and whatever they cascade over)."""
    n, sysauth, admin = route["name"], S.sys_auth(), F.auth("admin")
    ids = {"contactCenter": F.cc, "process": F.process, "campaign": F.campaign,
           "lead": F.lead, "campaignLead": F.lead, "str": F.agent, "rest": "index.html"}
    body = None
    auth = admin
    if n == "cc.delete":
        ids["contactCenter"] = create_cc(sysauth)
        auth = sysauth
    elif n == "cc.create":
        body, auth = {"name": "cc-" + uniq()}, sysauth
    elif n == "user.delete":
        ids["str"] = create_user(sysauth, F.cc, role="Agent")
    elif n == "process.delete":
        ids["process"] = create_process(sysauth, F.cc)
    elif n == "lead.delete":
        ids["lead"] = create_lead(sysauth, F.cc, F.process)
    elif n == "campaign.delete":
        ids["campaign"] = fresh_campaign_with_mapping()[0]
    elif n == "campaignUser.delete":
        ids["campaign"], _, ids["str"] = fresh_campaign_with_mapping()
    elif n == "campaignLead.delete":
        ids["campaign"], ids["campaignLead"], _ = fresh_campaign_with_mapping()
    elif n == "logout":
        auth = bearer(login(F.admin, F.pw[F.admin], "ContactCenter", F.cc))
    elif n == "login":
        body, auth = {"username": F.admin, "password": F.pw[F.admin]}, None
    elif n == "user.create":
        body = {"userId": "t53_" + uniq(), "name": "T53", "role": "Agent", "password": "pw-" + uniq()}
    elif n == "user.update":
        body = {"name": "Renamed " + uniq(), "password": "pw-" + uniq()}
    elif n in ("process.create", "lead.create", "campaign.create"):
        body = {{"process.create": "processName", "lead.create": "leadName",
                 "campaign.create": "campaignName"}[n]: "x-" + uniq()}
    elif n == "campaignUser.add":
        body = {"userIds": [create_user(sysauth, F.cc, role="Agent"), F.agent]}
    elif n == "campaignLead.add":
        body = {"leadId": create_lead(sysauth, F.cc, F.process)}
    elif n == "mapping.put":
        body = {"leadId": F.lead, "campaignId": F.campaign,
                "assignedUserIds": [F.agents[1], F.agents[2]], "unassignedUserIds": [F.agents[0]]}
    elif route["method"] in ("POST", "PUT"):
        raise AssertionError("t53 has no request for %s %s" % (route["method"], n))
    query = {"leadUser.get": "?leadId=%d" % F.lead, "leadUser.history": "?leadId=%d" % F.lead,
             "mapping.get": "?campaignId=%d&leadId=%d" % (F.campaign, F.lead)}.get(n, "")
    path = fill(route, [ids[p] for p in placeholders(route["pattern"])]) + query
    return path, body, auth


def still_valid(auth):
    """A token that a failed logout must not have revoked."""
    expect(req("GET", F.cc_path, auth=auth), 200, "the token still works")


def sweep(route):
    """Fail statement 1, 2, ... of one request of the route; returns how many
    statements the request runs."""
    path, body, auth = request_of(route)
    write = route["method"] != "GET"
    for nth in range(1, MAX_STATEMENTS + 1):
        kind, status, code = KINDS[nth % 2]
        before = snapshot() if write else None
        r = req(route["method"], path, body, auth=auth,
                headers={"X-Cmsd-Fault": "%s@%d" % (kind, nth)})
        what = "%s %s, statement %d failed (%s)" % (route["method"], route["name"], nth, kind)
        if r.status not in (500, 503):
            assert r.status in SUCCESS[route["method"]], "%s -> %d: %s" % (
                what, r.status, short(r.raw))
            ran = r.headers.get("x-cmsd-statements")
            assert ran and ran.isdigit(), "%s: X-Cmsd-Statements %r" % (what, ran)
            # success only once the fault fell past the last statement: a
            # request that ran statement N and still succeeded swallowed it
            assert int(ran) < nth, "%s: ran %s statements and succeeded anyway" % (what, ran)
            eq(int(ran), nth - 1, what + ": statements run")
            assert nth > 1, "%s: the request ran no store statement" % what
            return nth - 1
        assert_error(r, status, code, what)
        if write:
            eq(snapshot(), before, what + ": nothing changed")
        if route["name"] == "logout":
            still_valid(auth)
    raise AssertionError("%s %s: still failing after %d statements" % (
        route["method"], route["name"], MAX_STATEMENTS))


def store_routes():
    return [r for r in ROUTES if r["store"]]


def test_every_store_route_fails_cleanly_at_every_statement():
    counts = {}
    failures = []
    for r in store_routes():
        try:
            counts[r["method"] + " " + r["name"]] = sweep(r)
        except AssertionError as e:
            failures.append(str(e))
    assert not failures, "%d routes failed the sweep:\n  %s" % (len(failures), "\n  ".join(
        failures[:10]))
    # every route ran its transaction: BEGIN, a statement, COMMIT at least
    for r in store_routes():
        if r["transaction"]:
            assert counts[r["method"] + " " + r["name"]] >= 3, "%s: %d statements" % (
                r["name"], counts[r["method"] + " " + r["name"]])
    print("# statements per request: " + ", ".join(
        "%s %d" % (k, v) for k, v in sorted(counts.items())))


def test_fault_header_without_faults_is_ignored():
    """Without --faults the header is nobody's to honour."""
    plain = Server().start()
    try:
        r = req("GET", "/health", headers={"X-Cmsd-Fault": "store-error@1"}, srv=plain)
        expect(r, 200, "health with a fault header, no --faults")
    finally:
        plain.stop()


def test_malformed_fault_header_injects_nothing():
    for h in ("store-error@0", "store-error@x", "store-error@", "nonsense@1", "@1",
              "store-error@99999999999999999999"):
        expect(req("GET", F.cc_path, auth=F.auth("admin"), headers={"X-Cmsd-Fault": h}),
               200, "X-Cmsd-Fault: %s" % h)


def test_a_fault_does_not_outlive_its_request():
    """A fault armed past the request's last statement is disarmed with it:
    the next request on the same connection's worker is served."""
    for _ in range(8):
        expect(req("GET", F.cc_path, auth=F.auth("admin"),
                   headers={"X-Cmsd-Fault": "store-error@70"}), 200, "fault beyond the end")
        expect(req("GET", F.cc_path, auth=F.auth("admin")), 200, "the next request")
