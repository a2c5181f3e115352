"""
t04 - the set-up resources of API.md section 4 (contact centers, users,
processes, leads, campaigns, campaign users, campaign leads, lead-user):
create/get/list/delete, pagination, validation, duplicates, deletion rules
and cascades of docs/decisions.md.
"""
import json

from harness import *  # noqa: F401,F403

S = None
F = None
SYS = None
A = None


def setup_module():
    global S, F, SYS, A
    S = use(Server().start())
    F = make_fixture(extra_agents=2)
    SYS = S.sys_auth()
    A = F.auth("admin")


def listing(path, auth=None, limit=1000):
    sep = "&" if "?" in path else "?"
    r = req("GET", "%s%slimit=%d" % (path, sep, limit), auth=auth or A)
    b = expect(r, 200, "list")
    assert isinstance(b, list), "%s: not a list: %s" % (path, short(r.raw))
    tc = r.headers.get("x-total-count")
    assert tc is not None and tc.isdigit(), "%s: X-Total-Count %r" % (path, tc)
    return b, int(tc)


def no_secrets_in(raw, pw, what):
    txt = raw.decode("utf-8", "replace")
    assert pw not in txt, "%s contains the password" % what
    assert "$argon2" not in txt, "%s contains a password hash" % what
    def keys(o):
        if isinstance(o, dict):
            for k, v in o.items():
                yield k
                for kk in keys(v):
                    yield kk
        elif isinstance(o, list):
            for v in o:
                for kk in keys(v):
                    yield kk
    bad = [k for k in keys(json.loads(txt)) if "pass" in k.lower() or "hash" in k.lower()]
    assert not bad, "%s has keys %r" % (what, bad)


def bad_field(method, path, body, field, auth=None, what=""):
    r = req(method, path, body, auth=auth or A)
    b = assert_error(r, 400, "CONF-1002", what or "%s %r" % (field, body.get(field, "<missing>")
                                                            if isinstance(body, dict) else body))
    assert_field(b, field, what or "invalid %s" % field)
    return b


BAD_NAMES = [("", "empty"), (None, "null"), (5, "number"), (True, "boolean"), (["x"], "array"),
             ({"a": 1}, "object"), ("x" * 257, "257 bytes"), ("\u00e9" * 129, "258 bytes in 129 chars"),
             ("a\nb", "newline"), ("a\x01b", "control character"), ("\t", "tab"),
             ("a\x7fb", "DEL")]


def check_name_validation(method, path, key, extra=None, auth=None):
    for v, what in BAD_NAMES + [(KeyError, "missing")]:
        body = dict(extra or {})
        if v is not KeyError:
            body[key] = v
        bad_field(method, path, body, key, auth, "%s %s" % (key, what))


def check_name_accepted(path, key, id_key, auth=None):
    """256-byte, multi-byte and escaped names are stored and echoed exactly."""
    for name in ("n" * 240 + uniq()).ljust(256, "n")[:256], \
            ("\u00e9" * 120 + uniq()), ('a "quoted" \\ name / ' + uniq()), \
            ("Caf\u00e9 \u260e \u6771\u4eac " + uniq()):
        assert len(name.encode()) <= 256
        r = req("POST", path, {key: name}, auth=auth or A)
        b = expect(r, 201, "name %r" % name[:30])
        eq(b[key], name, "echoed %s" % key)
        r = req("GET", "%s/%s" % (path, b[id_key]), auth=auth or A)
        eq(expect(r, 200)[key], name, "stored %s" % key)


# ---- contact centers ------------------------------------------------------------

def test_cc_create_get_list_delete():
    name = "cc-" + uniq()
    r = req("POST", BASE + "/cc", {"name": name}, auth=SYS)
    b = expect(r, 201)
    eq(set(b), {"contactCenterId", "name"}, "cc keys")
    assert is_pos_int(b["contactCenterId"]), "contactCenterId %r" % b["contactCenterId"]
    eq(b["name"], name, "name")
    cc = b["contactCenterId"]
    eq(expect(req("GET", cc_path(cc), auth=SYS), 200), b, "GET cc")
    items, total = listing(BASE + "/cc", SYS)
    assert b in items, "new cc not listed"
    eq(total, len(items), "X-Total-Count of GET /cc (all on one page)")
    r = req("DELETE", cc_path(cc), auth=SYS)
    expect(r, 204, "delete empty cc")
    eq(r.raw, b"", "204 body")
    assert_error(req("GET", cc_path(cc), auth=SYS), 404, "CONF-1001", "deleted cc")
    assert_error(req("DELETE", cc_path(cc), auth=SYS), 404, "CONF-1001", "deleted cc twice")
    items, total2 = listing(BASE + "/cc", SYS)
    assert cc not in [c["contactCenterId"] for c in items], "deleted cc still listed"
    eq(total2, total - 1, "X-Total-Count after delete")


def test_cc_duplicate_name_409():
    name = "cc-" + uniq()
    create_cc(SYS, name)
    assert_error(req("POST", BASE + "/cc", {"name": name}, auth=SYS), 409, "CONF-1004")
    eq(sum(1 for c in listing(BASE + "/cc", SYS)[0] if c["name"] == name), 1, "ccs named so")


def test_cc_name_validation():
    check_name_validation("POST", BASE + "/cc", "name", auth=SYS)


def test_cc_name_edge_values_accepted():
    check_name_accepted(BASE + "/cc", "name", "contactCenterId", auth=SYS)


def test_cc_body_must_be_an_object():
    for raw in ("[]", '"name"', "42", "null", "", "{", '{"name": "a",}', "{'name': 'a'}",
                '{"name": "a"} x', '{"name": "dup-%s", "name": "dup2-%s"}' % (uniq(), uniq())):
        r = req("POST", BASE + "/cc", raw=raw, auth=SYS)
        assert_error(r, 400, "CONF-1002", "body %r" % raw)


def test_cc_delete_refused_while_in_use():
    cc = create_cc(SYS)
    uid = create_user(SYS, cc, role="Agent")
    b = assert_error(req("DELETE", cc_path(cc), auth=SYS), 409, "CONF-1005", "cc with a user")
    expect(req("DELETE", cc_path(cc) + "/user/" + uid, auth=SYS), 204)
    p = create_process(SYS, cc)
    assert_error(req("DELETE", cc_path(cc), auth=SYS), 409, "CONF-1005", "cc with a process")
    expect(req("GET", cc_path(cc), auth=SYS), 200, "cc still there")
    expect(req("DELETE", proc_path(cc, p), auth=SYS), 204)
    expect(req("DELETE", cc_path(cc), auth=SYS), 204, "emptied cc")


def test_ids_are_never_reused():
    a = create_cc(SYS)
    expect(req("DELETE", cc_path(a), auth=SYS), 204)
    b = create_cc(SYS)
    assert b > a, "new cc id %d not above the deleted %d" % (b, a)
    p = create_process(A, F.cc)
    expect(req("DELETE", proc_path(F.cc, p), auth=A), 204)
    q = create_process(A, F.cc)
    assert q > p, "new process id %d not above the deleted %d" % (q, p)


def test_odd_ids_in_paths():
    for seg in ("abc", "0", "-1", "1.5", "99999999999999999999999", "1e3", "%20", "0x10"):
        r = req("GET", BASE + "/cc/" + seg, auth=SYS)
        code = (r.json or {}).get("errorCode") if isinstance(r.json, dict) else None
        assert (r.status, code) in ((400, "CONF-1002"), (404, "CONF-1001"), (404, "HTTP-1404")), \
            "GET /cc/%s -> %d: %s" % (seg, r.status, short(r.raw))
        assert_error(r, r.status, code, "GET /cc/%s" % seg)


# ---- users ------------------------------------------------------------------------

def test_user_create_get_list():
    pw = random_password()
    uid = "u_" + uniq()
    r = req("POST", F.cc_path + "/user", {"userId": uid, "name": "Jane Doe", "role": "Supervisor",
                                          "password": pw}, auth=A)
    b = expect(r, 201)
    eq(b, {"userId": uid, "name": "Jane Doe", "role": "Supervisor", "contactCenterId": F.cc},
       "created user")
    no_secrets_in(r.raw, pw, "POST user answer")
    r = req("GET", F.cc_path + "/user/" + uid, auth=A)
    eq(expect(r, 200), b, "GET user")
    no_secrets_in(r.raw, pw, "GET user answer")
    items, total = listing(F.cc_path + "/user")
    assert b in items, "new user not listed"
    eq(total, len(items), "X-Total-Count of users")
    r = req("GET", F.cc_path + "/user?limit=1000", auth=A)
    no_secrets_in(r.raw, pw, "user list")


def test_user_without_password_field():
    uid = "u_" + uniq()
    r = req("POST", F.cc_path + "/user", {"userId": uid, "name": "No Pw", "role": "Agent"}, auth=A)
    eq(expect(r, 201), {"userId": uid, "name": "No Pw", "role": "Agent", "contactCenterId": F.cc},
       "user without password")


def test_user_duplicate_409_even_across_contact_centers():
    uid = create_user(A, F.cc)
    r = req("POST", F.cc_path + "/user", {"userId": uid, "name": "Again", "role": "Agent"}, auth=A)
    assert_error(r, 409, "CONF-1004", "same cc")
    other = create_cc(SYS)
    r = req("POST", cc_path(other) + "/user", {"userId": uid, "name": "Again", "role": "Agent"},
            auth=SYS)
    assert_error(r, 409, "CONF-1004", "other cc")
    r = req("POST", cc_path(other) + "/user", {"userId": S.admin_user, "name": "Sys",
                                               "role": "Administrator"}, auth=SYS)
    assert_error(r, 409, "CONF-1004", "the system administrator's userId")
    eq(listing(cc_path(other) + "/user", SYS)[0], [], "users of the other cc")


def test_user_id_validation():
    bad = ["", "a b", "a/b", "a:b", "\u00e9t\u00e9", "a%20b", "x" * 129, "a\nb", "a?b", "a#b",
           "a,b", "a;b", "a\\b", "a'b", "a\"b", "a*b", 5, None, True, ["a"]]
    for v in bad:
        body = {"userId": v, "name": "N", "role": "Agent"}
        bad_field("POST", F.cc_path + "/user", body, "userId", what="userId %r" % (v,))
    bad_field("POST", F.cc_path + "/user", {"name": "N", "role": "Agent"}, "userId",
              what="missing userId")


def test_user_id_edge_values_accepted():
    u = uniq()
    for uid in ("Ok.user_1-2@x+y" + u, ("L" + u).ljust(128, "z"), "Z" + u, "1" + u):
        r = req("POST", F.cc_path + "/user", {"userId": uid, "name": "N", "role": "Agent"}, auth=A)
        eq(expect(r, 201, "userId %r" % uid)["userId"], uid, "userId")
        r = req("GET", F.cc_path + "/user/" + uid, auth=A)
        eq(expect(r, 200, "GET userId %r" % uid)["userId"], uid, "userId by path")


def test_user_role_validation():
    for v in ("admin", "administrator", "ADMINISTRATOR", "agent", "System", "Root", "", 1, None,
              ["Agent"]):
        bad_field("POST", F.cc_path + "/user", {"userId": "u_" + uniq(), "name": "N", "role": v},
                  "role", what="role %r" % (v,))
    bad_field("POST", F.cc_path + "/user", {"userId": "u_" + uniq(), "name": "N"}, "role",
              what="missing role")


def test_user_name_validation():
    check_name_validation("POST", F.cc_path + "/user", "name",
                          extra={"userId": "u_" + uniq(), "role": "Agent"})


def test_user_password_validation():
    for v in ("1234567", "", "x" * 1025, 12345678, True, ["password1"], {"p": "password1"}):
        bad_field("POST", F.cc_path + "/user", {"userId": "u_" + uniq(), "name": "N",
                                                "role": "Agent", "password": v},
                  "password", what="password %r" % (v if not isinstance(v, str) else v[:12],))
    for pw in ("12345678", "p" * 1024, "\u00e9\u00e8 spaces & symbols!"):
        uid = "u_" + uniq()
        note_secret(pw)
        r = req("POST", F.cc_path + "/user", {"userId": uid, "name": "N", "role": "Agent",
                                              "password": pw}, auth=A)
        expect(r, 201, "password of %d bytes" % len(pw.encode()))
        login(uid, pw)


def test_user_create_refuses_nothing_half_done():
    uid = "u_" + uniq()
    bad_field("POST", F.cc_path + "/user", {"userId": uid, "name": "N", "role": "Agent",
                                            "password": "short"}, "password")
    assert_error(req("GET", F.cc_path + "/user/" + uid, auth=A), 404, "CONF-1001",
                 "user of a refused POST")


def put_user(uid, body, auth=None):
    r = req("PUT", F.cc_path + "/user/" + uid, body, auth=auth or A)
    assert r.status in (200, 204), "PUT user %s %r -> %d: %s" % (uid, body, r.status, short(r.raw))
    if r.status == 200:
        eq(set(r.json), {"userId", "name", "role", "contactCenterId"}, "PUT user answer keys")
    return r


def test_user_put_changes_name_role_password():
    old = random_password()
    uid = create_user(A, F.cc, role="Agent", password=old, name="Before")
    r = put_user(uid, {"name": "After"})
    if r.status == 200:
        eq(r.json["name"], "After", "PUT answer name")
    g = expect(req("GET", F.cc_path + "/user/" + uid, auth=A), 200)
    eq((g["name"], g["role"]), ("After", "Agent"), "after a name change")
    put_user(uid, {"role": "Supervisor"})
    g = expect(req("GET", F.cc_path + "/user/" + uid, auth=A), 200)
    eq((g["name"], g["role"]), ("After", "Supervisor"), "after a role change")
    login(uid, old)
    new = random_password()
    note_secret(new)
    r = put_user(uid, {"password": new})
    no_secrets_in(r.raw or b"{}", new, "PUT user answer")
    b = expect(login_resp(uid, new), 200, "login with the new password")
    eq(b["userRole"], "Supervisor", "userRole")
    assert_error(login_resp(uid, old), 401, "AUTH-1001", "login with the old password")
    assert_error(req("GET", F.cc_path, auth=basic(uid, old)), 401, "AUTH-1001", "Basic old password")
    expect(req("GET", F.cc_path, auth=basic(uid, new)), 200, "Basic new password")
    put_user(uid, {"name": "All", "role": "Administrator", "password": old})
    g = expect(req("GET", F.cc_path + "/user/" + uid, auth=A), 200)
    eq(g, {"userId": uid, "name": "All", "role": "Administrator", "contactCenterId": F.cc},
       "after changing everything")
    login(uid, old)


def test_user_put_validation():
    uid = create_user(A, F.cc, role="Agent", name="Stable")
    for body, field in (({"role": "boss"}, "role"), ({"role": 3}, "role"), ({"name": ""}, "name"),
                        ({"name": "x" * 257}, "name"), ({"name": 7}, "name"),
                        ({"password": "short"}, "password"), ({"password": 123456789}, "password"),
                        ({"name": "Good", "role": "boss"}, "role")):
        bad_field("PUT", F.cc_path + "/user/" + uid, body, field, what="PUT %r" % body)
    g = expect(req("GET", F.cc_path + "/user/" + uid, auth=A), 200)
    eq((g["name"], g["role"]), ("Stable", "Agent"), "user after refused PUTs")
    for raw in ("[]", "{", '"x"'):
        assert_error(req("PUT", F.cc_path + "/user/" + uid, raw=raw, auth=A), 400, "CONF-1002",
                     "PUT body %r" % raw)


def test_user_put_and_delete_unknown_404():
    nobody = "nosuch_" + uniq()
    assert_error(req("PUT", F.cc_path + "/user/" + nobody, {"name": "X"}, auth=A), 404,
                 "CONF-1001", "PUT unknown user")
    assert_error(req("DELETE", F.cc_path + "/user/" + nobody, auth=A), 404, "CONF-1001",
                 "DELETE unknown user")
    assert_error(req("GET", F.cc_path + "/user/" + nobody, auth=A), 404, "CONF-1001",
                 "GET unknown user")


def test_user_delete_cascades():
    pw = random_password()
    uid = create_user(A, F.cc, role="Agent", password=pw)
    t = login(uid, pw)
    enroll(A, F.cc, F.process, F.campaign, [uid])
    check_mapping(expect(put_mapping(A, F.campaign, F.lead, [uid]), 200), assigned=[uid])
    r = req("DELETE", F.cc_path + "/user/" + uid, auth=A)
    expect(r, 204, "delete user")
    eq(r.raw, b"", "204 body")
    assert_error(req("GET", F.cc_path + "/user/" + uid, auth=A), 404, "CONF-1001", "deleted user")
    assert_error(req("DELETE", F.cc_path + "/user/" + uid, auth=A), 404, "CONF-1001", "twice")
    assert uid not in campaign_users(A, F.cc, F.process, F.campaign), "campaign membership kept"
    m = get_mapping(A, F.campaign, F.lead)
    assert uid not in m["assignedUserIds"] + m["unassignedUserIds"], "mapping kept: %r" % m
    assert_error(req("GET", F.cc_path, auth=bearer(t)), 401, "AUTH-1001", "token of a deleted user")
    r = put_mapping(A, F.campaign, F.lead, [uid])
    b = assert_error(r, 404, "CONF-1001", "mapping a deleted user")
    assert_missing(b, [("campaignUser", uid)])
    # the login is free again
    r = req("POST", F.cc_path + "/user", {"userId": uid, "name": "Reborn", "role": "Agent"}, auth=A)
    expect(r, 201, "re-creating a deleted userId")
    assert uid not in campaign_users(A, F.cc, F.process, F.campaign), "old membership resurrected"


# ---- processes ------------------------------------------------------------------------

def test_process_crud():
    name = "proc-" + uniq()
    r = req("POST", F.cc_path + "/process", {"processName": name}, auth=A)
    b = expect(r, 201)
    eq(set(b), {"processId", "processName", "contactCenterId"}, "process keys")
    assert is_pos_int(b["processId"]), "processId %r" % b["processId"]
    eq((b["processName"], b["contactCenterId"]), (name, F.cc), "process values")
    p = b["processId"]
    eq(expect(req("GET", proc_path(F.cc, p), auth=A), 200), b, "GET process")
    items, total = listing(F.cc_path + "/process")
    assert b in items, "new process not listed"
    eq(total, len(items), "X-Total-Count")
    assert_error(req("POST", F.cc_path + "/process", {"processName": name}, auth=A), 409,
                 "CONF-1004", "duplicate process name")
    other = create_cc(SYS)
    r = req("POST", cc_path(other) + "/process", {"processName": name}, auth=SYS)
    expect(r, 201, "same process name in another cc")
    expect(req("DELETE", proc_path(F.cc, p), auth=A), 204)
    assert_error(req("GET", proc_path(F.cc, p), auth=A), 404, "CONF-1001", "deleted process")
    assert_error(req("DELETE", proc_path(F.cc, p), auth=A), 404, "CONF-1001", "twice")
    r = req("POST", F.cc_path + "/process", {"processName": name}, auth=A)
    expect(r, 201, "the name of a deleted process is free again")


def test_process_name_validation():
    check_name_validation("POST", F.cc_path + "/process", "processName")


def test_process_name_edge_values_accepted():
    check_name_accepted(F.cc_path + "/process", "processName", "processId")


def test_process_delete_refused_while_in_use():
    p = create_process(A, F.cc)
    lead = create_lead(A, F.cc, p)
    assert_error(req("DELETE", proc_path(F.cc, p), auth=A), 409, "CONF-1005", "process with a lead")
    expect(req("DELETE", proc_path(F.cc, p) + "/lead/%d" % lead, auth=A), 204)
    c = create_campaign(A, F.cc, p)
    assert_error(req("DELETE", proc_path(F.cc, p), auth=A), 409, "CONF-1005",
                 "process with a campaign")
    expect(req("GET", proc_path(F.cc, p) + "/campaign/%d" % c, auth=A), 200, "campaign kept")
    expect(req("DELETE", camp_path(F.cc, p, c), auth=A), 204)
    expect(req("DELETE", proc_path(F.cc, p), auth=A), 204, "emptied process")


def test_process_parent_chain():
    other = create_cc(SYS)
    assert_error(req("GET", proc_path(other, F.process), auth=SYS), 404, "CONF-1001",
                 "process through another cc")
    assert_error(req("DELETE", proc_path(other, F.process), auth=SYS), 404, "CONF-1001",
                 "delete process through another cc")
    assert_error(req("GET", proc_path(other, F.process) + "/lead", auth=SYS), 404, "CONF-1001",
                 "leads of a process through another cc")
    assert_error(req("POST", proc_path(other, F.process) + "/campaign",
                     {"campaignName": "c-" + uniq()}, auth=SYS), 404, "CONF-1001",
                 "campaign in a process through another cc")
    expect(req("GET", F.proc_path, auth=A), 200, "process still there")
    assert_error(req("GET", proc_path(NX, F.process), auth=SYS), 404, "CONF-1001", "nonexistent cc")


# ---- leads --------------------------------------------------------------------------------

def test_lead_crud():
    name = "lead-" + uniq()
    r = req("POST", F.proc_path + "/lead", {"leadName": name}, auth=A)
    b = expect(r, 201)
    eq(set(b), {"leadId", "leadName", "processId"}, "lead keys")
    assert is_pos_int(b["leadId"]), "leadId %r" % b["leadId"]
    eq((b["leadName"], b["processId"]), (name, F.process), "lead values")
    lead = b["leadId"]
    eq(expect(req("GET", F.proc_path + "/lead/%d" % lead, auth=A), 200), b, "GET lead")
    items, total = listing(F.proc_path + "/lead")
    assert b in items, "lead not listed"
    eq(total, len(items), "X-Total-Count")
    assert_error(req("POST", F.proc_path + "/lead", {"leadName": name}, auth=A), 409, "CONF-1004",
                 "duplicate lead name")
    p2 = create_process(A, F.cc)
    expect(req("POST", proc_path(F.cc, p2) + "/lead", {"leadName": name}, auth=A), 201,
           "same lead name in another process")
    expect(req("DELETE", F.proc_path + "/lead/%d" % lead, auth=A), 204)
    assert_error(req("GET", F.proc_path + "/lead/%d" % lead, auth=A), 404, "CONF-1001", "deleted")
    assert_error(req("DELETE", F.proc_path + "/lead/%d" % lead, auth=A), 404, "CONF-1001", "twice")


def test_lead_name_validation():
    check_name_validation("POST", F.proc_path + "/lead", "leadName")


def test_lead_delete_refused_while_attached():
    lead = create_lead(A, F.cc, F.process)
    attach(A, F.cc, F.process, F.campaign, lead)
    assert_error(req("DELETE", F.proc_path + "/lead/%d" % lead, auth=A), 409, "CONF-1005",
                 "attached lead")
    expect(req("DELETE", F.camp_path + "/campaign-lead/%d" % lead, auth=A), 204, "detach")
    expect(req("DELETE", F.proc_path + "/lead/%d" % lead, auth=A), 204, "detached lead")


def test_lead_parent_chain():
    p2 = create_process(A, F.cc)
    assert_error(req("GET", proc_path(F.cc, p2) + "/lead/%d" % F.lead, auth=A), 404, "CONF-1001",
                 "lead through another process")
    assert_error(req("DELETE", proc_path(F.cc, p2) + "/lead/%d" % F.lead, auth=A), 404,
                 "CONF-1001", "delete lead through another process")
    expect(req("GET", F.proc_path + "/lead/%d" % F.lead, auth=A), 200, "lead still there")
    assert_error(req("GET", F.proc_path + "/lead/%d" % NX, auth=A), 404, "CONF-1001", "no lead")


# ---- campaigns ------------------------------------------------------------------------------

def test_campaign_crud():
    name = "camp-" + uniq()
    r = req("POST", F.proc_path + "/campaign", {"campaignName": name}, auth=A)
    b = expect(r, 201)
    eq(set(b), {"campaignId", "campaignName", "campaignType", "processId"}, "campaign keys")
    assert is_pos_int(b["campaignId"]), "campaignId %r" % b["campaignId"]
    eq((b["campaignName"], b["campaignType"], b["processId"]), (name, "voice", F.process),
       "campaign values")
    c = b["campaignId"]
    eq(expect(req("GET", F.proc_path + "/campaign/%d" % c, auth=A), 200), b, "GET campaign")
    items, total = listing(F.proc_path + "/campaign")
    assert b in items, "campaign not listed"
    eq(total, len(items), "X-Total-Count")
    assert_error(req("POST", F.proc_path + "/campaign", {"campaignName": name}, auth=A), 409,
                 "CONF-1004", "duplicate campaign name")
    p2 = create_process(A, F.cc)
    expect(req("POST", proc_path(F.cc, p2) + "/campaign", {"campaignName": name}, auth=A), 201,
           "same campaign name in another process")
    expect(req("DELETE", camp_path(F.cc, F.process, c), auth=A), 204)
    assert_error(req("GET", camp_path(F.cc, F.process, c), auth=A), 404, "CONF-1001", "deleted")


def test_campaign_name_validation():
    check_name_validation("POST", F.proc_path + "/campaign", "campaignName")


def test_campaign_delete_cascades():
    p = create_process(A, F.cc)
    lead = create_lead(A, F.cc, p)
    c = create_campaign(A, F.cc, p)
    u1, u2 = create_user(A, F.cc), create_user(A, F.cc)
    enroll(A, F.cc, p, c, [u1, u2])
    attach(A, F.cc, p, c, lead)
    expect(put_mapping(A, c, lead, [u1], [u2]), 200)
    cp = camp_path(F.cc, p, c)
    expect(req("DELETE", cp, auth=A), 204, "delete campaign with users, leads and mappings")
    assert_error(req("GET", cp, auth=A), 404, "CONF-1001", "deleted campaign")
    assert_error(req("GET", cp + "/campaign-user", auth=A), 404, "CONF-1001", "its users")
    assert_error(req("GET", cp + "/campaign-lead", auth=A), 404, "CONF-1001", "its leads")
    assert_error(req("GET", MAPPING + "?campaignId=%d" % c, auth=A), 404, "CONF-1001",
                 "its mappings")
    assert_error(put_mapping(A, c, lead, [u1]), 404, "CONF-1001", "PUT on the deleted campaign")
    objs, _ = listing(MAPPING)
    assert c not in [o["campaignId"] for o in objs], "mapping of a deleted campaign listed"
    for u in (u1, u2):
        expect(req("GET", F.cc_path + "/user/" + u, auth=A), 200, "users survive the campaign")
    expect(req("DELETE", proc_path(F.cc, p) + "/lead/%d" % lead, auth=A), 204,
           "the lead is no longer attached")
    expect(req("DELETE", proc_path(F.cc, p), auth=A), 204, "the process is empty")


def test_campaign_parent_chain():
    p2 = create_process(A, F.cc)
    c2 = camp_path(F.cc, p2, F.campaign)
    for method, path, body in (("GET", c2, None), ("DELETE", c2, None),
                               ("GET", c2 + "/campaign-user", None),
                               ("POST", c2 + "/campaign-user", {"userIds": [F.agent]}),
                               ("GET", c2 + "/campaign-lead", None),
                               ("POST", c2 + "/campaign-lead", {"leadId": F.lead}),
                               ("DELETE", c2 + "/campaign-user/" + F.agent, None),
                               ("DELETE", c2 + "/campaign-lead/%d" % F.lead, None),
                               ("GET", c2 + "/lead-user?leadId=%d" % F.lead, None)):
        assert_error(req(method, path, body, auth=A), 404, "CONF-1001",
                     "campaign through another process")
    expect(req("GET", F.camp_path, auth=A), 200, "campaign still there")
    assert F.agent in campaign_users(A, F.cc, F.process, F.campaign), "campaign user kept"


# ---- campaign users ------------------------------------------------------------------------

def test_campaign_user_post_get_delete():
    c = create_campaign(A, F.cc, F.process)
    cp = camp_path(F.cc, F.process, c)
    u1, u2 = create_user(A, F.cc), create_user(A, F.cc)
    r = req("POST", cp + "/campaign-user", {"userIds": [u1, u2]}, auth=A)
    b = expect(r, 201, "enrol two users")
    assert isinstance(b, list) and len(b) == 2, "answer %s" % short(r.raw)
    for o in b:
        eq(set(o), {"campaignUserId", "userId", "campaignId"}, "campaign user keys")
        assert is_pos_int(o["campaignUserId"]), "campaignUserId %r" % o["campaignUserId"]
        eq(o["campaignId"], c, "campaignId")
    eq(sorted(o["userId"] for o in b), sorted([u1, u2]), "enrolled users")
    items, total = listing(cp + "/campaign-user")
    eq(sorted(items, key=lambda o: o["campaignUserId"]), sorted(b, key=lambda o: o["campaignUserId"]),
       "GET campaign users")
    eq(total, 2, "X-Total-Count")
    eq(items, sorted(items, key=lambda o: o["campaignUserId"]), "list ordered by id")
    r = req("DELETE", cp + "/campaign-user/" + u1, auth=A)
    expect(r, 204, "remove campaign user")
    eq(r.raw, b"", "204 body")
    assert_error(req("DELETE", cp + "/campaign-user/" + u1, auth=A), 404, "CONF-1001", "twice")
    items, total = listing(cp + "/campaign-user")
    eq([o["userId"] for o in items], [u2], "campaign users after removal")
    eq(total, 1, "X-Total-Count after removal")
    expect(req("GET", F.cc_path + "/user/" + u1, auth=A), 200, "the user itself survives")


def test_campaign_user_post_is_idempotent_in_request_order():
    c = create_campaign(A, F.cc, F.process)
    cp = camp_path(F.cc, F.process, c)
    u1, u2, u3 = create_user(A, F.cc), create_user(A, F.cc), create_user(A, F.cc)
    first = enroll(A, F.cc, F.process, c, [u1])
    r = req("POST", cp + "/campaign-user", {"userIds": [u2, u1]}, auth=A)
    b = expect(r, 201, "re-enrolment (201, new or already there)")
    eq([(o["userId"], o["campaignId"]) for o in b], [(u2, c), (u1, c)], "answer in request order")
    again = {o["userId"]: o["campaignUserId"] for o in b}
    eq(again[u1], first[u1], "campaignUserId of a re-enrolled user")
    r = req("POST", cp + "/campaign-user", {"userIds": [u3, u1, u2]}, auth=A)
    b = expect(r, 201, "third enrolment")
    eq([o["userId"] for o in b], [u3, u1, u2], "answer in request order")
    eq({o["userId"]: o["campaignUserId"] for o in b if o["userId"] != u3}, again,
       "campaign-user ids after a third enrolment")
    items, total = listing(cp + "/campaign-user")
    eq(total, 3, "no duplicates after repeated enrolment")
    eq([o["userId"] for o in items], [u1, u2, u3], "list ordered by campaignUserId")


def test_system_administrator_cannot_be_enrolled():
    r = req("POST", F.camp_path + "/campaign-user", {"userIds": [S.admin_user]}, auth=SYS)
    b = assert_error(r, 404, "CONF-1001", "enrolling the system administrator")
    assert_missing(b, [("user", S.admin_user)])
    assert S.admin_user not in campaign_users(A, F.cc, F.process, F.campaign), "sysadmin enrolled"


def test_campaign_user_unknown_users_404_lists_all_adds_nothing():
    c = create_campaign(A, F.cc, F.process)
    cp = camp_path(F.cc, F.process, c)
    known = create_user(A, F.cc)
    n1, n2, n3 = ("nosuch_%s_%d" % (uniq(), i) for i in range(3))
    r = req("POST", cp + "/campaign-user", {"userIds": [n1, known, n2, n3]}, auth=A)
    b = assert_error(r, 404, "CONF-1001")
    assert_missing(b, [("user", n1), ("user", n2), ("user", n3)], "unknown users")
    eq(listing(cp + "/campaign-user")[0], [], "campaign users after the refused POST")


def test_campaign_user_validation():
    cp = F.camp_path + "/campaign-user"
    for body in ({}, {"userIds": "x"}, {"userIds": None}, {"userIds": 5}, {"userIds": {"a": 1}},
                 {"userIds": [5]}, {"userIds": [None]}, {"userIds": [""]}, {"userIds": [["a"]]}):
        bad_field("POST", cp, body, "userIds", what="campaign-user body %r" % (body,))
    assert_error(req("POST", cp, raw="[]", auth=A), 400, "CONF-1002", "array body")


def test_campaign_user_delete_unknown_404():
    assert_error(req("DELETE", F.camp_path + "/campaign-user/nosuch_" + uniq(), auth=A), 404,
                 "CONF-1001", "unknown user")
    free = create_user(A, F.cc)
    assert_error(req("DELETE", F.camp_path + "/campaign-user/" + free, auth=A), 404, "CONF-1001",
                 "user not enrolled")


def test_campaign_user_removal_removes_mappings():
    u = create_user(A, F.cc)
    cu = enroll(A, F.cc, F.process, F.campaign, [u])
    check_mapping(expect(put_mapping(A, F.campaign, F.lead, [u]), 200), assigned=[u], cu=cu)
    expect(req("DELETE", F.camp_path + "/campaign-user/" + u, auth=A), 204)
    m = get_mapping(A, F.campaign, F.lead)
    assert u not in m["assignedUserIds"] + m["unassignedUserIds"], "mapping kept %r" % m
    cu2 = enroll(A, F.cc, F.process, F.campaign, [u])
    assert cu2[u] != cu[u], "campaignUserId reused (%d)" % cu[u]
    m = get_mapping(A, F.campaign, F.lead)
    assert u in m["unassignedUserIds"], "re-enrolled user not unassigned: %r" % m
    assert u not in m["assignedUserIds"], "old mapping resurrected: %r" % m


# ---- campaign leads -----------------------------------------------------------------------

def test_campaign_lead_defaults():
    lead = create_lead(A, F.cc, F.process)
    r = req("POST", F.camp_path + "/campaign-lead", {"leadId": lead}, auth=A)
    b = expect(r, 201)
    eq(set(b), {"campaignLeadId", "campaignId", "leadId", "priority", "enabled"}, "keys")
    assert is_pos_int(b["campaignLeadId"]), "campaignLeadId %r" % b["campaignLeadId"]
    eq((b["campaignId"], b["leadId"], b["priority"], b["enabled"]), (F.campaign, lead, 1, True),
       "campaign lead values")
    items, total = listing(F.camp_path + "/campaign-lead")
    assert b in items, "campaign lead not listed"
    eq(total, len(items), "X-Total-Count")
    eq(items, sorted(items, key=lambda o: o["campaignLeadId"]), "ordered by campaignLeadId")


def test_campaign_lead_explicit_values():
    for prio, en in ((1000, False), (1, True), (500, False)):
        lead = create_lead(A, F.cc, F.process)
        r = req("POST", F.camp_path + "/campaign-lead",
                {"leadId": lead, "priority": prio, "enabled": en}, auth=A)
        b = expect(r, 201)
        eq((b["priority"], b["enabled"]), (prio, en), "priority/enabled")
        items, _ = listing(F.camp_path + "/campaign-lead")
        assert b in items, "listed"


def test_campaign_lead_validation():
    lead = create_lead(A, F.cc, F.process)
    path = F.camp_path + "/campaign-lead"
    for body, field in (({"leadId": lead, "priority": 0}, "priority"),
                        ({"leadId": lead, "priority": 1001}, "priority"),
                        ({"leadId": lead, "priority": -1}, "priority"),
                        ({"leadId": lead, "priority": 1.5}, "priority"),
                        ({"leadId": lead, "priority": "5"}, "priority"),
                        ({"leadId": lead, "priority": True}, "priority"),
                        ({"leadId": lead, "enabled": "yes"}, "enabled"),
                        ({"leadId": lead, "enabled": 1}, "enabled"),
                        ({}, "leadId"), ({"leadId": 0}, "leadId"), ({"leadId": -1}, "leadId"),
                        ({"leadId": "abc"}, "leadId"), ({"leadId": None}, "leadId"),
                        ({"leadId": 1.5}, "leadId"), ({"leadId": [lead]}, "leadId"),
                        ({"leadId": True}, "leadId")):
        bad_field("POST", path, body, field, what="campaign-lead %r" % body)
    items, _ = listing(path)
    assert lead not in [o["leadId"] for o in items], "a refused POST attached the lead"


def test_campaign_lead_twice_409():
    lead = create_lead(A, F.cc, F.process)
    attach(A, F.cc, F.process, F.campaign, lead)
    r = req("POST", F.camp_path + "/campaign-lead", {"leadId": lead}, auth=A)
    assert_error(r, 409, "CONF-1004", "attaching a lead twice")


def test_campaign_lead_of_another_process_404():
    p2 = create_process(A, F.cc)
    other = create_lead(A, F.cc, p2)
    r = req("POST", F.camp_path + "/campaign-lead", {"leadId": other}, auth=A)
    b = assert_error(r, 404, "CONF-1001", "lead of another process")
    if details(b):
        assert_missing(b, [("lead", other)], "lead of another process")
    r = req("POST", F.camp_path + "/campaign-lead", {"leadId": NX}, auth=A)
    assert_error(r, 404, "CONF-1001", "nonexistent lead")
    items, _ = listing(F.camp_path + "/campaign-lead")
    assert other not in [o["leadId"] for o in items], "foreign lead attached"


def test_same_lead_in_two_campaigns():
    lead = create_lead(A, F.cc, F.process)
    c2 = create_campaign(A, F.cc, F.process)
    cu2 = enroll(A, F.cc, F.process, c2, [F.agent])
    cl1 = attach(A, F.cc, F.process, F.campaign, lead)
    cl2 = attach(A, F.cc, F.process, c2, lead)
    assert cl1 != cl2, "one campaignLeadId for two attachments"
    check_mapping(expect(put_mapping(A, c2, lead, [F.agent]), 200), c2, lead, cl2, [F.agent], [],
                  cu2)
    m1 = get_mapping(A, F.campaign, lead)
    assert F.agent in m1["unassignedUserIds"], "mapping leaked across campaigns: %r" % m1
    eq(m1["campaignLeadId"], cl1, "campaignLeadId in the first campaign")


def test_campaign_lead_delete_removes_mappings():
    lead = create_lead(A, F.cc, F.process)
    cl = attach(A, F.cc, F.process, F.campaign, lead)
    expect(put_mapping(A, F.campaign, lead, [F.agent]), 200)
    r = req("DELETE", F.camp_path + "/campaign-lead/%d" % lead, auth=A)
    expect(r, 204, "detach")
    eq(r.raw, b"", "204 body")
    assert_error(req("DELETE", F.camp_path + "/campaign-lead/%d" % lead, auth=A), 404, "CONF-1001",
                 "detach twice")
    assert_error(req("GET", F.camp_path + "/lead-user?leadId=%d" % lead, auth=A), 404, "CONF-1001",
                 "lead-user of a detached lead")
    assert_error(req("GET", MAPPING + "?campaignId=%d&leadId=%d" % (F.campaign, lead), auth=A), 404,
                 "CONF-1001", "mapping of a detached lead")
    cl2 = attach(A, F.cc, F.process, F.campaign, lead)
    assert cl2 != cl, "campaignLeadId reused"
    m = get_mapping(A, F.campaign, lead)
    eq(m["assignedUserIds"], [], "mappings after re-attaching")
    assert F.agent in m["unassignedUserIds"], "agent unassigned after re-attaching"


def test_campaign_lead_delete_unknown_404():
    lead = create_lead(A, F.cc, F.process)
    assert_error(req("DELETE", F.camp_path + "/campaign-lead/%d" % lead, auth=A), 404, "CONF-1001",
                 "lead not attached")
    assert_error(req("DELETE", F.camp_path + "/campaign-lead/%d" % NX, auth=A), 404, "CONF-1001",
                 "no such lead")


# ---- lead-user -----------------------------------------------------------------------------

def test_lead_user_get_equals_mapping_get():
    expect(put_mapping(A, F.campaign, F.lead, [F.agents[0]], [F.agents[1]]), 200)
    r = req("GET", F.camp_path + "/lead-user?leadId=%d" % F.lead, auth=A)
    b = expect(r, 200)
    check_mapping(b, F.campaign, F.lead, F.campaign_lead, cu=F.cu)
    eq(b, get_mapping(A, F.campaign, F.lead), "lead-user vs mapping GET")
    assert F.agents[0] in b["assignedUserIds"], "assigned agent missing: %r" % b


def test_lead_user_errors():
    base = F.camp_path + "/lead-user"
    for q in ("", "?leadId=", "?leadId=abc", "?leadId=0", "?leadId=-3", "?leadId=1.5"):
        r = req("GET", base + q, auth=A)
        b = assert_error(r, 400, "CONF-1002", "lead-user%s" % q)
        assert_field(b, "leadId", "lead-user%s" % q)
    lead = create_lead(A, F.cc, F.process)
    assert_error(req("GET", base + "?leadId=%d" % lead, auth=A), 404, "CONF-1001", "not attached")
    assert_error(req("GET", base + "?leadId=%d" % NX, auth=A), 404, "CONF-1001", "no such lead")


# ---- pagination ----------------------------------------------------------------------------

def test_pagination_limit_offset():
    p = create_process(A, F.cc)
    leads = [create_lead(A, F.cc, p) for _ in range(5)]
    path = proc_path(F.cc, p) + "/lead"
    full, total = listing(path)
    eq(total, 5, "X-Total-Count")
    eq([o["leadId"] for o in full], sorted(leads), "ordered by id")
    got = []
    for off in (0, 2, 4):
        r = req("GET", "%s?limit=2&offset=%d" % (path, off), auth=A)
        page = expect(r, 200)
        eq(r.headers.get("x-total-count"), "5", "X-Total-Count at offset %d" % off)
        eq(len(page), 2 if off < 4 else 1, "page size at offset %d" % off)
        got += page
    eq(got, full, "pages concatenated")
    for off in (5, 100):
        r = req("GET", "%s?offset=%d" % (path, off), auth=A)
        eq(expect(r, 200), [], "page past the end (offset %d)" % off)
        eq(r.headers.get("x-total-count"), "5", "X-Total-Count past the end")
    r = req("GET", path + "?limit=1&offset=3", auth=A)
    eq(expect(r, 200), full[3:4], "limit=1 offset=3")


def test_pagination_default_limit_is_100():
    p = create_process(A, F.cc)
    for _ in range(101):
        create_lead(A, F.cc, p)
    path = proc_path(F.cc, p) + "/lead"
    r = req("GET", path, auth=A)
    eq(len(expect(r, 200)), 100, "default page size")
    eq(r.headers.get("x-total-count"), "101", "X-Total-Count")
    r = req("GET", path + "?limit=1000", auth=A)
    eq(len(expect(r, 200)), 101, "limit=1000")
    r = req("GET", path + "?offset=100", auth=A)
    eq(len(expect(r, 200)), 1, "offset=100")


def collection_paths():
    return [BASE + "/cc", F.cc_path + "/user", F.cc_path + "/process", F.proc_path + "/lead",
            F.proc_path + "/campaign", F.camp_path + "/campaign-user",
            F.camp_path + "/campaign-lead"]


def test_pagination_bad_values_400():
    bad = [("limit", "0"), ("limit", "1001"), ("limit", "-1"), ("limit", "abc"), ("limit", ""),
           ("limit", "1.5"), ("limit", "10x"), ("limit", "99999999999999999999"),
           ("offset", "-1"), ("offset", "x"), ("offset", "1.5"), ("offset", "")]
    for path in collection_paths():
        for k, v in bad:
            r = req("GET", "%s?%s=%s" % (path, k, v), auth=A)
            b = assert_error(r, 400, "CONF-1002", "%s=%r" % (k, v))
            assert_field(b, k, "%s=%r" % (k, v))
        for q in ("limit=1", "limit=1000", "offset=0", "limit=1&offset=0"):
            r = req("GET", "%s?%s" % (path, q), auth=A)
            expect(r, 200, q)
            assert r.headers.get("x-total-count", "").isdigit(), "X-Total-Count with %s" % q


# ---- not-found details ------------------------------------------------------------------

def test_not_found_details_name_the_object():
    lead = create_lead(A, F.cc, F.process)
    free = create_user(A, F.cc)
    cases = [("GET", cc_path(NX), ("contactCenter",), NX),
             ("DELETE", cc_path(NX), ("contactCenter",), NX),
             ("GET", F.cc_path + "/process/%d" % NX, ("process",), NX),
             ("GET", F.proc_path + "/lead/%d" % NX, ("lead",), NX),
             ("DELETE", F.proc_path + "/lead/%d" % NX, ("lead",), NX),
             ("GET", F.proc_path + "/campaign/%d" % NX, ("campaign",), NX),
             ("GET", F.proc_path + "/campaign/%d/campaign-user" % NX, ("campaign",), NX),
             ("GET", F.cc_path + "/user/nosuch_x", ("user",), "nosuch_x"),
             ("DELETE", F.cc_path + "/user/nosuch_x", ("user",), "nosuch_x"),
             ("DELETE", F.camp_path + "/campaign-user/nosuch_x", ("campaignUser", "user"), "nosuch_x"),
             ("DELETE", F.camp_path + "/campaign-user/" + free, ("campaignUser",), free),
             ("DELETE", F.camp_path + "/campaign-lead/%d" % lead, ("campaignLead", "lead"), lead),
             ("GET", F.camp_path + "/lead-user?leadId=%d" % lead, ("lead", "campaignLead"), lead)]
    for method, path, objs, oid in cases:
        b = assert_error(req(method, path, auth=SYS), 404, "CONF-1001", path)
        ds = details(b)
        assert len(ds) == 1, "%s %s: details should name the one missing object: %r" % (
            method, path, ds)
        assert ds[0].get("object") in objs and ds[0].get("id") == str(oid), \
            "%s %s: details %r, expected object %s with id %r" % (method, path, ds, "/".join(objs),
                                                                str(oid))


def test_validation_lists_every_bad_field_at_once():
    r = req("POST", F.cc_path + "/user", {"userId": "a b", "name": "", "role": "boss",
                                          "password": "short"}, auth=A)
    b = assert_error(r, 400, "CONF-1002", "four bad fields")
    for f in ("userId", "name", "role", "password"):
        assert_field(b, f, "user with four bad fields")
    r = req("POST", F.camp_path + "/campaign-lead", {"leadId": "x", "priority": 0,
                                                     "enabled": "yes"}, auth=A)
    b = assert_error(r, 400, "CONF-1002", "three bad fields")
    for f in ("leadId", "priority", "enabled"):
        assert_field(b, f, "campaign lead with three bad fields")
