"""
t03 - roles and tenancy (API.md section 2, docs/decisions.md "Authorisation
order"): what Agents, Supervisors, Administrators and the system
administrator may do, and that a tenant learns nothing about another one.
"""

from harness import *  # noqa: F401,F403

S = None
F = None   # tenant A
G = None   # tenant B
F_LEAD2 = None   # a lead of F's process not attached to any campaign
F_FREE = None    # a user of F not enrolled in F's campaign


def setup_module():
    global S, F, G, F_LEAD2, F_FREE
    S = use(Server().start())
    F = make_fixture(extra_agents=2)
    G = make_fixture(extra_agents=1)
    F_LEAD2 = create_lead(S.sys_auth(), F.cc, F.process)
    F_FREE = create_user(S.sys_auth(), F.cc, role="Agent")


def reads(f):
    q = "?campaignId=%d&leadId=%d" % (f.campaign, f.lead)
    return [
        BASE + "/cc", f.cc_path, f.cc_path + "/user", f.cc_path + "/user/" + f.agent,
        f.cc_path + "/user/" + f.admin,
        f.cc_path + "/process", f.proc_path, f.proc_path + "/lead",
        f.proc_path + "/lead/%d" % f.lead, f.proc_path + "/campaign", f.camp_path,
        f.camp_path + "/campaign-user", f.camp_path + "/campaign-lead",
        f.camp_path + "/lead-user?leadId=%d" % f.lead,
        MAPPING + q, MAPPING + "?campaignId=%d" % f.campaign, MAPPING, MAPPING_DOUBLED + q,
        MAPPING_DOUBLED,
    ]


def mapping_body(f, assigned=(), unassigned=()):
    return {"leadId": f.lead, "campaignId": f.campaign, "assignedUserIds": list(assigned),
            "unassignedUserIds": list(unassigned)}


def snapshot(f):
    """What a forbidden write must leave untouched."""
    a = f.auth("sys")
    out = {}
    for path in (f.cc_path, f.cc_path + "/user?limit=1000", f.cc_path + "/process?limit=1000",
                 f.proc_path + "/lead?limit=1000", f.proc_path + "/campaign?limit=1000",
                 f.camp_path + "/campaign-user?limit=1000", f.camp_path + "/campaign-lead?limit=1000",
                 MAPPING + "?campaignId=%d&leadId=%d" % (f.campaign, f.lead)):
        out[path] = expect(req("GET", path, auth=a), 200, "snapshot")
    return out


def forbidden_writes(f, lead2, free_user):
    """Writes neither an Agent nor a Supervisor may do (valid bodies)."""
    return [
        ("POST", BASE + "/cc", {"name": "cc-" + uniq()}),
        ("DELETE", f.cc_path, None),
        ("POST", f.cc_path + "/user", {"userId": "x_" + uniq(), "name": "X", "role": "Agent",
                                       "password": random_password()}),
        ("PUT", f.cc_path + "/user/" + f.sup, {"role": "Agent"}),
        ("PUT", f.cc_path + "/user/" + f.agent, {"name": "Renamed"}),
        ("DELETE", f.cc_path + "/user/" + f.agents[0], None),
        ("POST", f.cc_path + "/process", {"processName": "p-" + uniq()}),
        ("DELETE", f.proc_path, None),
        ("POST", f.proc_path + "/lead", {"leadName": "l-" + uniq()}),
        ("DELETE", f.proc_path + "/lead/%d" % lead2, None),
        ("POST", f.proc_path + "/campaign", {"campaignName": "c-" + uniq()}),
        ("DELETE", f.camp_path, None),
        ("POST", f.camp_path + "/campaign-lead", {"leadId": lead2}),
        ("DELETE", f.camp_path + "/campaign-lead/%d" % f.lead, None),
    ]


def agent_only_forbidden(f, free_user):
    """Writes a Supervisor may do but an Agent may not."""
    return [
        ("POST", f.camp_path + "/campaign-user", {"userIds": [free_user]}),
        ("DELETE", f.camp_path + "/campaign-user/" + f.agents[0], None),
        ("PUT", MAPPING, mapping_body(f, [f.agents[0]])),
    ]


# ---- reads ------------------------------------------------------------------------

def test_every_role_reads_everything_in_its_cc():
    for who in ("agent", "sup", "admin", "sys"):
        for path in reads(F):
            r = req("GET", path, auth=F.auth(who))
            expect(r, 200, "%s reading" % who)


# ---- Agent ---------------------------------------------------------------------------

def test_agent_every_write_403():
    before = snapshot(F)
    for method, path, body in forbidden_writes(F, F_LEAD2, F_FREE) + \
            agent_only_forbidden(F, F_FREE):
        r = req(method, path, body, auth=F.auth("agent"))
        assert_error(r, 403, "AUTH-1003", "agent")
    eq(snapshot(F), before, "state after the agent's refused writes")


def test_agent_cannot_change_own_user():
    r = req("PUT", F.cc_path + "/user/" + F.agent, {"password": random_password()},
            auth=F.auth("agent"))
    assert_error(r, 403, "AUTH-1003", "agent changing its own password")
    login(F.agent, F.pw[F.agent])


def test_agent_can_log_out():
    t = login(F.agent, F.pw[F.agent])
    expect(req("DELETE", BASICAUTH, auth=bearer(t)), 204, "agent revoking its own token")


# ---- Supervisor ---------------------------------------------------------------------------

def test_supervisor_forbidden_writes_403():
    before = snapshot(F)
    for method, path, body in forbidden_writes(F, F_LEAD2, F_FREE):
        r = req(method, path, body, auth=F.auth("sup"))
        assert_error(r, 403, "AUTH-1003", "supervisor")
    eq(snapshot(F), before, "state after the supervisor's refused writes")


def test_supervisor_maps_and_manages_campaign_users():
    a = F.auth("sup")
    u = F.agents[1]
    r = req("PUT", MAPPING, mapping_body(F, [u]), auth=a)
    check_mapping(expect(r, 200, "supervisor PUT mapping"), F.campaign, F.lead,
                  assigned=[u], unassigned=[], cu=F.cu)
    r = req("PUT", MAPPING, mapping_body(F, [], [u]), auth=a)
    expect(r, 200, "supervisor PUT mapping (unassign)")
    r = req("POST", F.camp_path + "/campaign-user", {"userIds": [F_FREE]}, auth=a)
    assert r.status == 201, "supervisor adding a campaign user: %d %s" % (r.status, short(r.raw))
    eq([o["userId"] for o in r.json], [F_FREE], "added campaign users")
    r = req("DELETE", F.camp_path + "/campaign-user/" + F_FREE, auth=a)
    expect(r, 204, "supervisor removing a campaign user")
    users = campaign_users(a, F.cc, F.process, F.campaign)
    assert F_FREE not in users, "removed campaign user still listed"


# ---- Administrator ------------------------------------------------------------------------

def test_administrator_does_everything_in_its_cc():
    a = F.auth("admin")
    uid = create_user(a, F.cc, role="Agent", password=random_password())
    r = req("PUT", F.cc_path + "/user/" + uid, {"name": "New Name", "role": "Supervisor"}, auth=a)
    assert r.status in (200, 204), "admin PUT user: %d %s" % (r.status, short(r.raw))
    p = create_process(a, F.cc)
    lead = create_lead(a, F.cc, p)
    c = create_campaign(a, F.cc, p)
    cu = enroll(a, F.cc, p, c, [uid])
    cl = attach(a, F.cc, p, c, lead)
    r = put_mapping(a, c, lead, [uid], [])
    check_mapping(expect(r, 200, "admin PUT mapping"), c, lead, cl, [uid], [], cu)
    cp = camp_path(F.cc, p, c)
    expect(req("DELETE", cp + "/campaign-user/" + uid, auth=a), 204, "admin removes campaign user")
    expect(req("DELETE", cp + "/campaign-lead/%d" % lead, auth=a), 204, "admin detaches lead")
    expect(req("DELETE", cp, auth=a), 204, "admin deletes campaign")
    expect(req("DELETE", proc_path(F.cc, p) + "/lead/%d" % lead, auth=a), 204, "admin deletes lead")
    expect(req("DELETE", proc_path(F.cc, p), auth=a), 204, "admin deletes process")
    expect(req("DELETE", F.cc_path + "/user/" + uid, auth=a), 204, "admin deletes user")


def test_administrator_cannot_create_contact_centers():
    name = "cc-" + uniq()
    r = req("POST", BASE + "/cc", {"name": name}, auth=F.auth("admin"))
    assert_error(r, 403, "AUTH-1003", "admin POST /cc")
    r = req("GET", BASE + "/cc?limit=1000", auth=F.auth("sys"))
    assert name not in [c["name"] for c in expect(r, 200)], "refused POST /cc created it"


def test_system_administrator_everywhere():
    a = F.auth("sys")
    expect(req("POST", BASE + "/cc", {"name": "cc-" + uniq()}, auth=a), 201, "sys POST /cc")
    p = create_process(a, G.cc)
    expect(req("DELETE", proc_path(G.cc, p), auth=a), 204, "sys deleting in G")
    r = req("PUT", MAPPING, mapping_body(F, [F.agents[0]]), auth=a)
    check_mapping(expect(r, 200, "sys PUT mapping in F"), F.campaign, F.lead)
    r = req("PUT", MAPPING, mapping_body(F, [], [F.agents[0]]), auth=a)
    expect(r, 200)


# ---- role changes -----------------------------------------------------------------------

def test_demoted_administrator_loses_rights_at_once():
    a = F.auth("admin")
    pw = random_password()
    uid = create_user(a, F.cc, role="Administrator", password=pw)
    t = login(uid, pw)
    create_process(bearer(t), F.cc)
    r = req("PUT", F.cc_path + "/user/" + uid, {"role": "Agent"}, auth=a)
    assert r.status in (200, 204), "demote: %d %s" % (r.status, short(r.raw))
    r = req("POST", F.cc_path + "/process", {"processName": "p-" + uniq()}, auth=bearer(t))
    assert_error(r, 403, "AUTH-1003", "token of a demoted administrator")
    r = req("POST", F.cc_path + "/process", {"processName": "p-" + uniq()}, auth=basic(uid, pw))
    assert_error(r, 403, "AUTH-1003", "password of a demoted administrator")
    b = expect(login_resp(uid, pw), 200)
    eq(b["userRole"], "Agent", "userRole after demotion")


# ---- tenancy ---------------------------------------------------------------------------------

def foreign_requests(f, g):
    """Requests by tenant g naming tenant f's objects (all must be 404 CONF-1001)."""
    q = "?campaignId=%d&leadId=%d" % (f.campaign, f.lead)
    gp = proc_path(g.cc, g.process)
    return [
        ("GET", f.cc_path, None),
        ("DELETE", f.cc_path, None),
        ("GET", f.cc_path + "/user", None),
        ("POST", f.cc_path + "/user", {"userId": "x_" + uniq(), "name": "X", "role": "Agent"}),
        ("GET", f.cc_path + "/user/" + f.agent, None),
        ("PUT", f.cc_path + "/user/" + f.agent, {"name": "Hijacked"}),
        ("DELETE", f.cc_path + "/user/" + f.agent, None),
        ("GET", g.cc_path + "/user/" + f.agent, None),
        ("PUT", g.cc_path + "/user/" + f.agent, {"name": "Hijacked"}),
        ("DELETE", g.cc_path + "/user/" + f.agent, None),
        ("GET", f.cc_path + "/process", None),
        ("POST", f.cc_path + "/process", {"processName": "p-" + uniq()}),
        ("GET", f.proc_path, None),
        ("DELETE", f.proc_path, None),
        ("GET", g.cc_path + "/process/%d" % f.process, None),
        ("DELETE", g.cc_path + "/process/%d" % f.process, None),
        ("GET", f.proc_path + "/lead", None),
        ("POST", f.proc_path + "/lead", {"leadName": "l-" + uniq()}),
        ("GET", f.proc_path + "/lead/%d" % f.lead, None),
        ("DELETE", f.proc_path + "/lead/%d" % f.lead, None),
        ("GET", gp + "/lead/%d" % f.lead, None),
        ("GET", f.proc_path + "/campaign", None),
        ("POST", f.proc_path + "/campaign", {"campaignName": "c-" + uniq()}),
        ("GET", f.camp_path, None),
        ("DELETE", f.camp_path, None),
        ("GET", gp + "/campaign/%d" % f.campaign, None),
        ("GET", f.camp_path + "/campaign-user", None),
        ("POST", f.camp_path + "/campaign-user", {"userIds": [f.agent]}),
        ("DELETE", f.camp_path + "/campaign-user/" + f.agent, None),
        ("GET", f.camp_path + "/campaign-lead", None),
        ("POST", f.camp_path + "/campaign-lead", {"leadId": f.lead}),
        ("DELETE", f.camp_path + "/campaign-lead/%d" % f.lead, None),
        ("GET", f.camp_path + "/lead-user?leadId=%d" % f.lead, None),
        ("GET", MAPPING + q, None),
        ("GET", MAPPING + "?campaignId=%d" % f.campaign, None),
        ("GET", MAPPING_DOUBLED + q, None),
        ("PUT", MAPPING, mapping_body(f, [f.agents[0]], [f.agent])),
    ]


def test_other_tenant_admin_gets_404_everywhere():
    before = snapshot(F)
    for method, path, body in foreign_requests(F, G):
        r = req(method, path, body, auth=G.auth("admin"))
        assert_error(r, 404, "CONF-1001", "tenant B admin")
    eq(snapshot(F), before, "tenant A after tenant B's attempts")


def test_other_tenant_agent_gets_404_not_403():
    # the tenant is checked before the role
    before = snapshot(F)
    for who in ("agent", "sup"):
        for method, path, body in foreign_requests(F, G):
            if method == "PUT" and path == MAPPING:
                continue   # the mapping's tenant is in its body, see below
            if method != "GET" and path.startswith(G.cc_path + "/"):
                continue   # own contact center: the role (403) comes before the object
            r = req(method, path, body, auth=G.auth(who))
            assert_error(r, 404, "CONF-1001", "tenant B %s" % who)
    eq(snapshot(F), before, "tenant A after tenant B's attempts")


def test_mapping_put_of_other_tenant_names_the_campaign():
    r = req("PUT", MAPPING, mapping_body(F, [F.agents[0]]), auth=G.auth("admin"))
    b = assert_error(r, 404, "CONF-1001")
    assert_missing(b, [("campaign", F.campaign)], "foreign campaign")
    r = req("PUT", MAPPING, mapping_body(F, [F.agents[0]]), auth=G.auth("sup"))
    b = assert_error(r, 404, "CONF-1001", "foreign campaign, supervisor")
    # G's own campaign, F's users: they are unknown there
    body = mapping_body(G, [F.agent, G.agent], [F.sup])
    r = req("PUT", MAPPING, body, auth=G.auth("admin"))
    b = assert_error(r, 404, "CONF-1001")
    assert_missing(b, [("campaignUser", F.agent), ("campaignUser", F.sup)], "F's users in G")


def test_campaign_user_post_with_other_tenants_user():
    r = req("POST", G.camp_path + "/campaign-user", {"userIds": [F.agent, F_FREE]},
            auth=G.auth("admin"))
    b = assert_error(r, 404, "CONF-1001")
    assert_missing(b, [("user", F.agent), ("user", F_FREE)], "F's users enrolled in G")
    users = campaign_users(G.auth("admin"), G.cc, G.process, G.campaign)
    assert F.agent not in users and F_FREE not in users, "F's users were enrolled in G"


def compare_with_nonexistent(method, path_other, path_none, ids, body=None, auth=None):
    a = req(method, path_other, body, auth=auth)
    b = req(method, path_none, body, auth=auth)
    ba = assert_error(a, 404, "CONF-1001", "other tenant")
    bb = assert_error(b, 404, "CONF-1001", "nonexistent")
    eq(norm_404(ba, ids), norm_404(bb, ids), "404 of another tenant's object vs a nonexistent one")
    ha = {k: v for k, v in a.headers.items() if k not in ("x-request-id", "date", "content-length")}
    hb = {k: v for k, v in b.headers.items() if k not in ("x-request-id", "date", "content-length")}
    eq(ha, hb, "headers of the two 404s")


def test_refusals_without_a_body_keep_the_connection():
    """A refusal of a request without a body (another tenant's object, a
    bad token, no credentials, a wrong role) leaves a keep-alive connection
    open: libmicrohttpd closes a connection answered from the request's first
    call, and such refusals were answered there or later by whether the
    token's look was shared, so a 404 closed the connection at random (seen
    in CI as a Connection: close on one of two identical 404s)."""
    refusals = [
        ("GET", F.cc_path, G.auth("admin"), 404),
        ("DELETE", F.cc_path, G.auth("admin"), 404),
        ("GET", cc_path(NX), G.auth("admin"), 404),
        ("GET", F.cc_path, "Bearer " + "x" * 40, 401),
        ("GET", F.cc_path, None, 401),
        ("DELETE", F.cc_path, F.auth("agent"), 403),
    ]
    conn = http.client.HTTPConnection("127.0.0.1", S.port, timeout=REQ_TIMEOUT)
    try:
        for rnd in range(5):
            for method, path, auth, status in refusals:
                what = "round %d, %s %s -> %d" % (rnd, method, path, status)
                conn.request(method, path, headers={"Authorization": auth} if auth else {})
                r = conn.getresponse()
                body = json.loads(r.read())
                S.responses += 1
                eq(r.status, status, what)
                eq(body.get("statusCode"), status, what + ": the envelope's statusCode")
                eq(r.getheader("connection"), None, what + ": Connection header")
                assert conn.sock is not None, what + ": the connection was closed"
            conn.request("GET", "/health")
            r = conn.getresponse()
            r.read()
            S.responses += 1
            eq(r.status, 200, "round %d: /health on the same connection" % rnd)
    finally:
        conn.close()


def test_other_tenant_404_identical_to_nonexistent():
    a = G.auth("admin")
    compare_with_nonexistent("GET", F.cc_path, cc_path(NX), [F.cc, NX], auth=a)
    compare_with_nonexistent("DELETE", F.cc_path, cc_path(NX), [F.cc, NX], auth=a)
    compare_with_nonexistent("GET", F.cc_path + "/user", cc_path(NX) + "/user", [F.cc, NX], auth=a)
    missing_user = "nosuch_" + uniq()
    compare_with_nonexistent("GET", G.cc_path + "/user/" + F.agent,
                             G.cc_path + "/user/" + missing_user, [F.agent, missing_user], auth=a)
    compare_with_nonexistent("GET", G.cc_path + "/process/%d" % F.process,
                             G.cc_path + "/process/%d" % NX, [F.process, NX], auth=a)
    compare_with_nonexistent("GET", F.proc_path, proc_path(NX, F.process), [F.cc, NX], auth=a)
    gp = proc_path(G.cc, G.process)
    compare_with_nonexistent("GET", gp + "/lead/%d" % F.lead, gp + "/lead/%d" % NX,
                             [F.lead, NX], auth=a)
    compare_with_nonexistent("GET", gp + "/campaign/%d" % F.campaign, gp + "/campaign/%d" % NX,
                             [F.campaign, NX], auth=a)
    compare_with_nonexistent("GET", MAPPING + "?campaignId=%d&leadId=%d" % (F.campaign, F.lead),
                             MAPPING + "?campaignId=%d&leadId=%d" % (NX, F.lead),
                             [F.campaign, NX], auth=a)
    compare_with_nonexistent("GET", MAPPING + "?campaignId=%d" % F.campaign,
                             MAPPING + "?campaignId=%d" % NX, [F.campaign, NX], auth=a)
    bo = mapping_body(F, [F.agents[0]])
    bn = dict(bo, campaignId=NX)
    ra = req("PUT", MAPPING, bo, auth=a)
    rb = req("PUT", MAPPING, bn, auth=a)
    ba = assert_error(ra, 404, "CONF-1001", "PUT, other tenant's campaign")
    bb = assert_error(rb, 404, "CONF-1001", "PUT, nonexistent campaign")
    eq(norm_404(ba, [F.campaign, NX]), norm_404(bb, [F.campaign, NX]), "PUT 404 bodies")


def test_cc_list_shows_only_own_cc():
    for who in ("admin", "sup", "agent"):
        r = req("GET", BASE + "/cc", auth=F.auth(who))
        eq(expect(r, 200), [{"contactCenterId": F.cc, "name": F.cc_name}], "GET /cc as " + who)
        eq(r.headers.get("x-total-count"), "1", "X-Total-Count of GET /cc as " + who)
    r = req("GET", BASE + "/cc?limit=1000", auth=F.auth("sys"))
    ids = [c["contactCenterId"] for c in expect(r, 200)]
    assert F.cc in ids and G.cc in ids, "system administrator sees %r" % ids


def test_user_list_shows_only_own_users():
    r = req("GET", F.cc_path + "/user?limit=1000", auth=F.auth("admin"))
    users = expect(r, 200)
    ids = set(u["userId"] for u in users)
    assert {F.admin, F.sup, F.agent} <= ids, "own users missing from %r" % sorted(ids)
    assert not ({G.admin, G.sup, G.agent} & ids), "other tenant's users listed"
    assert S.admin_user not in ids, "the system administrator is listed as a cc user"
    for u in users:
        eq(u.get("contactCenterId"), F.cc, "contactCenterId of listed user %s" % u.get("userId"))


def test_mapping_list_shows_only_own_cc():
    for f, other in ((F, G), (G, F)):
        r = req("GET", MAPPING + "?limit=1000", auth=f.auth("admin"))
        objs = expect(r, 200)
        assert isinstance(objs, list) and objs, "no mappings listed for own cc: %r" % objs
        camps = set(o["campaignId"] for o in objs)
        assert f.campaign in camps, "own campaign missing from the list"
        assert other.campaign not in camps, "other tenant's campaign listed"
        r2 = req("GET", MAPPING_DOUBLED + "?limit=1000", auth=f.auth("agent"))
        eq(expect(r2, 200), objs, "the doubled path lists the same")


# ---- the order of checks -------------------------------------------------------------------

def test_role_is_checked_before_the_body():
    r = req("PUT", MAPPING, raw='{"leadId": "x"', auth=F.auth("agent"))
    assert_error(r, 403, "AUTH-1003", "agent, malformed mapping body")
    r = req("PUT", MAPPING, {"leadId": 0}, auth=F.auth("agent"))
    assert_error(r, 403, "AUTH-1003", "agent, invalid mapping body")
    r = req("POST", F.cc_path + "/process", raw="{", auth=F.auth("sup"))
    assert_error(r, 403, "AUTH-1003", "supervisor, malformed body")
    r = req("POST", F.cc_path + "/process", [1, 2], auth=F.auth("agent"))
    assert_error(r, 403, "AUTH-1003", "agent, array body")


def test_tenant_is_checked_before_the_role_and_body():
    r = req("POST", F.cc_path + "/process", raw="{", auth=G.auth("agent"))
    assert_error(r, 404, "CONF-1001", "other tenant's agent, malformed body")
    r = req("POST", cc_path(NX) + "/process", {"processName": ""}, auth=G.auth("admin"))
    assert_error(r, 404, "CONF-1001", "nonexistent cc, invalid body")


def test_body_is_checked_before_the_objects():
    body = {"leadId": 0, "campaignId": NX, "assignedUserIds": [], "unassignedUserIds": []}
    r = req("PUT", MAPPING, body, auth=F.auth("admin"))
    assert_error(r, 400, "CONF-1002", "invalid leadId, unknown campaign")
    r = req("POST", F.camp_path + "/campaign-lead", {"leadId": NX, "priority": 0},
            auth=F.auth("admin"))
    assert_error(r, 400, "CONF-1002", "invalid priority, unknown lead")


def test_credentials_are_checked_before_everything_but_routing():
    r = req("POST", BASE + "/cc", raw="{", headers={"Content-Type": "text/plain", "Accept": "text/html"},
            auth=bearer("Z" * 43))
    assert_error(r, 401, "AUTH-1001", "unknown token, bad everything")


def test_role_is_checked_before_the_objects():
    r = req("DELETE", G.cc_path + "/user/nosuch_" + uniq(), auth=G.auth("agent"))
    assert_error(r, 403, "AUTH-1003", "agent deleting an unknown user of its own cc")
    r = req("PUT", MAPPING, {"leadId": NX, "campaignId": NX, "assignedUserIds": ["x"],
                             "unassignedUserIds": []}, auth=G.auth("agent"))
    assert_error(r, 403, "AUTH-1003", "agent mapping on an unknown campaign")
    r = req("POST", G.proc_path + "/campaign/%d/campaign-lead" % NX, {"leadId": NX},
            auth=G.auth("sup"))
    assert_error(r, 403, "AUTH-1003", "supervisor attaching to an unknown campaign")
