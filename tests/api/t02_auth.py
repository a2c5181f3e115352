"""
t02 - authentication (API.md section 2, docs/decisions.md "Authentication"):
POST/DELETE /basicauth, token forms, Basic credentials, 401s, expiry,
revocation, the system administrator from the environment.
"""
import base64
import datetime
import time

from harness import *  # noqa: F401,F403
from harness import TOKEN_RE, SLOW

S = None
F = None
G = None   # a second contact center


def setup_module():
    global S, F, G
    S = use(Server().start())
    F = make_fixture(extra_agents=0)
    G = make_fixture(extra_agents=0)


LOGIN_KEYS = {"authToken", "tokenType", "expiresAt", "context", "contextId", "userRole"}


def get_cc(auth, **kw):
    return req("GET", F.cc_path, auth=auth, **kw)


# ---- POST /basicauth ----------------------------------------------------------

def test_login_response_shape_for_every_role():
    for uid, role in ((F.admin, "Administrator"), (F.sup, "Supervisor"), (F.agent, "Agent")):
        r = login_resp(uid, F.pw[uid], "ContactCenter", F.cc)
        b = expect(r, 200, "login of %s" % uid)
        eq(set(b), LOGIN_KEYS, "login answer keys")
        assert isinstance(b["authToken"], str) and TOKEN_RE.match(b["authToken"]), \
            "token is not 43 characters of unpadded base64url: %r" % b["authToken"]
        eq(b["tokenType"], "Bearer", "tokenType")
        parse_rfc3339(b["expiresAt"])
        eq(b["context"], "ContactCenter", "context")
        assert is_int(b["contextId"]), "contextId is not an integer: %r" % b["contextId"]
        eq(b["contextId"], F.cc, "contextId")
        eq(b["userRole"], role, "userRole of %s" % uid)
        ct = r.headers.get("content-type", "")
        assert ct.startswith("application/json"), "login Content-Type %r" % ct


def test_default_expiry_is_24_hours():
    r = login_resp(F.agent, F.pw[F.agent])
    b = expect(r, 200)
    exp = parse_rfc3339(b["expiresAt"])
    delta = (exp - utcnow()).total_seconds()
    assert abs(delta - 86400) < 300, "default expiry is %.0f s away, not ~24 h" % delta


def test_context_is_inferred():
    b = expect(login_resp(F.sup, F.pw[F.sup]), 200)
    eq(b["context"], "ContactCenter", "inferred context")
    eq(b["contextId"], F.cc, "inferred contextId")
    b = expect(login_resp(F.sup, F.pw[F.sup], context="ContactCenter"), 200)
    eq(b["contextId"], F.cc, "contextId with context but without contextId")


def test_tokens_are_distinct_and_all_valid():
    toks = [login(F.agent, F.pw[F.agent]) for _ in range(3)]
    eq(len(set(toks)), 3, "distinct tokens")
    for t in toks:
        expect(get_cc(bearer(t)), 200, "token %s..." % t[:4])


def test_date_expiry_is_honoured():
    want = (utcnow() + datetime.timedelta(days=2)).replace(microsecond=0)
    b = expect(login_resp(F.agent, F.pw[F.agent], dateExpiry=rfc3339(want)), 200)
    got = parse_rfc3339(b["expiresAt"])
    assert abs((got - want).total_seconds()) <= 1, "expiresAt %s, asked %s" % (got, want)
    expect(get_cc(bearer(b["authToken"])), 200)


def test_date_expiry_with_offset():
    want = (utcnow() + datetime.timedelta(days=3)).replace(microsecond=0)
    tz = datetime.timezone(datetime.timedelta(hours=2))
    s = want.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    b = expect(login_resp(F.agent, F.pw[F.agent], dateExpiry=s), 200, "dateExpiry %s" % s)
    got = parse_rfc3339(b["expiresAt"])
    assert abs((got - want).total_seconds()) <= 1, "expiresAt %s, asked %s" % (got, s)


def test_date_expiry_lower_case_t_and_z():
    # RFC 3339 5.6: "T" and "Z" may be written "t" and "z" (issue 14 point 15);
    # the code before issue 14 refused them (400 CONF-1002); a letter other
    # than t/T or z/Z in those places is still refused
    want = (utcnow() + datetime.timedelta(days=2)).replace(microsecond=0)
    tz = datetime.timezone(datetime.timedelta(hours=-3))
    for s in (want.strftime("%Y-%m-%dt%H:%M:%Sz"), want.strftime("%Y-%m-%dT%H:%M:%Sz"),
              want.strftime("%Y-%m-%dt%H:%M:%S.250Z"),
              want.astimezone(tz).strftime("%Y-%m-%dt%H:%M:%S-03:00")):
        b = expect(login_resp(F.agent, F.pw[F.agent], dateExpiry=s), 200, "dateExpiry %s" % s)
        got = parse_rfc3339(b["expiresAt"])
        assert abs((got - want).total_seconds()) <= 1, "expiresAt %s, asked %s" % (got, s)
    for s in (want.strftime("%Y-%m-%dx%H:%M:%SZ"), want.strftime("%Y-%m-%dT%H:%M:%Sy")):
        b = assert_error(login_resp(F.agent, F.pw[F.agent], dateExpiry=s), 400, "CONF-1002",
                         "dateExpiry %r" % s)
        assert_field(b, "dateExpiry", "dateExpiry %r" % s)


def test_date_expiry_364_days_is_fine():
    want = (utcnow() + datetime.timedelta(days=364)).replace(microsecond=0)
    b = expect(login_resp(F.agent, F.pw[F.agent], dateExpiry=rfc3339(want)), 200)
    got = parse_rfc3339(b["expiresAt"])
    assert abs((got - want).total_seconds()) <= 1, "expiresAt %s, asked %s" % (got, want)


def test_date_expiry_invalid_400():
    now = utcnow()
    bad = [
        rfc3339(now - datetime.timedelta(hours=1)),
        rfc3339(now - datetime.timedelta(days=400)),
        rfc3339(now + datetime.timedelta(days=366)),
        rfc3339(now + datetime.timedelta(days=365, hours=2)),
        rfc3339(now + datetime.timedelta(days=5000)),
        "tomorrow", "", "2030-13-45T00:00:00Z", "2030-01-01", "2030-01-01 00:00:00",
        12345, True, ["2030-01-01T00:00:00Z"], {"at": 1},
    ]
    for v in bad:
        r = login_resp(F.agent, F.pw[F.agent], dateExpiry=v)
        b = assert_error(r, 400, "CONF-1002", "dateExpiry %r" % (v,))
        assert_field(b, "dateExpiry", "dateExpiry %r" % (v,))


def test_login_body_errors():
    r = req("POST", BASICAUTH, raw='{"username": "x", ')
    assert_error(r, 400, "CONF-1002", "malformed JSON")
    r = req("POST", BASICAUTH, [F.agent, F.pw[F.agent]])
    assert_error(r, 400, "CONF-1002", "an array body")
    r = req("POST", BASICAUTH, raw='{"username":"%s","username":"%s","password":"%s"}'
            % (F.agent, F.agent, F.pw[F.agent]))
    assert_error(r, 400, "CONF-1002", "duplicate keys")


# ---- the token forms ----------------------------------------------------------

def test_token_as_basic_and_as_bearer():
    t = login(F.admin, F.pw[F.admin])
    expect(get_cc(token_basic(t)), 200, "Basic <token>")
    expect(get_cc(bearer(t)), 200, "Bearer <token>")
    r = req("POST", F.cc_path + "/process", {"processName": "tb-" + uniq()}, auth=token_basic(t))
    expect(r, 201, "write with Basic <token>")


def test_authorization_header_name_is_case_insensitive():
    t = F.tok["agent"]
    for name in ("authorization", "AUTHORIZATION", "AuThOrIzAtIoN"):
        r = req("GET", F.cc_path, headers={name: bearer(t)})
        expect(r, 200, "header name %s" % name)


def test_auth_scheme_is_case_insensitive():
    t = F.tok["agent"]
    for v in ("bearer " + t, "BEARER " + t, "basic " + t):
        expect(get_cc(v), 200, "scheme %r" % v.split()[0])


def test_basic_password_credentials():
    expect(get_cc(basic(F.admin, F.pw[F.admin])), 200, "Basic user:password")
    expect(get_cc(basic(F.agent, F.pw[F.agent])), 200, "Basic user:password (agent)")
    r = req("POST", F.cc_path + "/process", {"processName": "bp-" + uniq()},
            auth=basic(F.admin, F.pw[F.admin]))
    expect(r, 201, "write with Basic user:password")
    r = req("GET", BASE + "/cc", auth=basic(S.admin_user, S.admin_password))
    expect(r, 200, "system administrator with Basic user:password")


def test_password_containing_colons():
    pw = "pw:%s:x:" % random_password()
    uid = create_user(F.auth("admin"), F.cc, role="Agent", password=pw)
    expect(get_cc(basic(uid, pw)), 200, "Basic with a password containing ':'")
    login(uid, pw)


UNKNOWN_TOKEN = "Q" * 43


def bad_credentials():
    t = F.tok["agent"]
    return [
        basic(F.admin, "wrong-password-1"),
        basic(F.admin, F.pw[F.admin] + "x"),
        basic(F.admin, ""),
        basic("nosuch_" + uniq(), "whatever-123"),
        bearer(UNKNOWN_TOKEN), token_basic(UNKNOWN_TOKEN),
        bearer(t + "x"), bearer(t[:-1]), bearer(t[:-1] + ("A" if t[-1] != "A" else "B")),
        "Basic", "Bearer", "Basic ", "Bearer ", "Basic !!!!####", "Bearer %%%%",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        'Digest username="%s"' % F.admin, "Token " + t, t, "",
        "Bearer " + t + " extra",
    ]


def test_bad_credentials_401():
    for v in bad_credentials():
        r = get_cc(v)
        assert_error(r, 401, "AUTH-1001", "Authorization %r" % v[:60])


def test_no_authorization_header_401():
    for method, path, body in (("GET", F.cc_path, None), ("GET", BASE + "/cc", None),
                               ("POST", BASE + "/cc", {"name": "x" + uniq()}),
                               ("GET", MAPPING, None),
                               ("PUT", MAPPING, {"leadId": F.lead, "campaignId": F.campaign,
                                                 "assignedUserIds": [], "unassignedUserIds": []}),
                               ("DELETE", BASICAUTH, None),
                               ("GET", F.camp_path + "/lead-user?leadId=%d" % F.lead, None)):
        assert_error(req(method, path, body), 401, "AUTH-1001", "no credentials")


def test_login_failures_401():
    cases = [(F.admin, "wrong-password-1", None, None),
             ("nosuch_" + uniq(), "whatever-123", None, None),
             (F.admin, F.pw[F.admin], "ContactCenter", G.cc),
             (F.admin, F.pw[F.admin], "ContactCenter", NX),
             (F.admin, F.pw[F.admin], "System", None),
             (F.agent, F.pw[F.agent], "System", None)]
    for user, pw, ctx, cid in cases:
        r = login_resp(user, pw, ctx, cid)
        assert_error(r, 401, "AUTH-1001", "login %s context %s/%s" % (user, ctx, cid))


def strip_varying(h):
    return {k: v for k, v in h.items() if k not in ("x-request-id", "date")}


def test_wrong_password_and_unknown_user_answer_identically():
    a = login_resp(F.admin, "wrong-password-1")
    b = login_resp("nosuch_" + uniq(), "wrong-password-1")
    c = login_resp(F.admin, F.pw[F.admin], "ContactCenter", G.cc)
    eq(a.status, 401, "wrong password status")
    for other, what in ((b, "unknown user"), (c, "context mismatch")):
        eq(other.status, a.status, what + " status")
        eq(other.raw, a.raw, what + " body vs wrong password body")
        eq(strip_varying(other.headers), strip_varying(a.headers), what + " headers")
    a = get_cc(basic(F.admin, "wrong-password-1"))
    b = get_cc(basic("nosuch_" + uniq(), "wrong-password-1"))
    d = get_cc(bearer(UNKNOWN_TOKEN))
    eq(a.status, 401, "Basic wrong password status")
    for other, what in ((b, "Basic unknown user"), (d, "unknown token")):
        eq(other.raw, a.raw, what + " body vs Basic wrong password body")
        eq(strip_varying(other.headers), strip_varying(a.headers), what + " headers")


def test_user_without_password_cannot_log_in():
    uid = create_user(F.auth("admin"), F.cc, role="Administrator")
    r = req("GET", F.cc_path + "/user/" + uid, auth=F.auth("admin"))
    eq(expect(r, 200).get("userId"), uid, "user without password exists")
    for pw in ("anything-123", "x" * 8):
        assert_error(login_resp(uid, pw), 401, "AUTH-1001", "login without password, %r" % pw)
        assert_error(get_cc(basic(uid, pw)), 401, "AUTH-1001", "Basic without password")
    assert_error(get_cc(basic(uid, "")), 401, "AUTH-1001", "Basic with an empty password")


# ---- DELETE /basicauth -----------------------------------------------------------

def test_revoke_bearer_token():
    t = login(F.agent, F.pw[F.agent])
    keep = login(F.agent, F.pw[F.agent])
    expect(get_cc(bearer(t)), 200)
    r = req("DELETE", BASICAUTH, auth=bearer(t))
    expect(r, 204, "revoke (as an Agent)")
    eq(r.raw, b"", "204 body")
    assert_error(get_cc(bearer(t)), 401, "AUTH-1001", "revoked token as Bearer")
    assert_error(get_cc(token_basic(t)), 401, "AUTH-1001", "revoked token as Basic")
    assert_error(req("DELETE", BASICAUTH, auth=bearer(t)), 401, "AUTH-1001", "revoke twice")
    expect(get_cc(bearer(keep)), 200, "another token of the same user")


def test_revoke_basic_token():
    t = login(F.sup, F.pw[F.sup])
    expect(req("DELETE", BASICAUTH, auth=token_basic(t)), 204, "revoke Basic <token>")
    assert_error(get_cc(bearer(t)), 401, "AUTH-1001", "revoked token")


def test_revoke_with_password_credentials_400():
    r = req("DELETE", BASICAUTH, auth=basic(F.sup, F.pw[F.sup]))
    assert_error(r, 400, "CONF-1002", "DELETE basicauth with a password")
    expect(get_cc(basic(F.sup, F.pw[F.sup])), 200, "password still works")
    expect(get_cc(F.auth("sup")), 200, "tokens of the user still work")


def test_revoke_without_or_with_bad_credentials_401():
    assert_error(req("DELETE", BASICAUTH), 401, "AUTH-1001", "no credentials")
    assert_error(req("DELETE", BASICAUTH, auth=bearer(UNKNOWN_TOKEN)), 401, "AUTH-1001")
    assert_error(req("DELETE", BASICAUTH, auth=basic(F.sup, "wrong-password-1")), 401,
                 "AUTH-1001", "DELETE with a wrong password")


# ---- the system administrator ------------------------------------------------------

def test_system_administrator_logs_in_with_context_system():
    for ctx in ("System", None):
        r = login_resp(S.admin_user, S.admin_password, context=ctx)
        b = expect(r, 200, "system administrator login, context %r" % ctx)
        eq(b.get("context"), "System", "context")
        assert b.get("contextId") is None, "System token with contextId %r" % b.get("contextId")
        assert set(b) <= LOGIN_KEYS and {"authToken", "tokenType", "expiresAt", "context",
                                         "userRole"} <= set(b), "keys %s" % sorted(b)
        assert TOKEN_RE.match(b["authToken"]), "token shape %r" % b["authToken"]
        eq(b["tokenType"], "Bearer", "tokenType")
        t = bearer(b["authToken"])
        expect(req("GET", BASE + "/cc", auth=t), 200, "system administrator lists cc")
        expect(req("GET", F.cc_path, auth=t), 200, "system administrator reads any cc")
    r = login_resp(S.admin_user, S.admin_password, "ContactCenter", F.cc)
    assert_error(r, 401, "AUTH-1001", "system administrator asking a ContactCenter context")
    assert_error(login_resp(S.admin_user, "wrong-password-1"), 401, "AUTH-1001")


def test_contact_center_user_asking_system_401():
    assert_error(login_resp(F.admin, F.pw[F.admin], "System"), 401, "AUTH-1001")


def test_contact_center_user_with_other_context_id_401():
    assert_error(login_resp(F.admin, F.pw[F.admin], "ContactCenter", G.cc), 401, "AUTH-1001")
    assert_error(login_resp(G.agent, G.pw[G.agent], "ContactCenter", F.cc), 401, "AUTH-1001")


# ---- expiry and deletion -------------------------------------------------------------

def test_expired_token_401():
    exp = (utcnow() + datetime.timedelta(seconds=4 + 2 * SLOW)).replace(microsecond=0)
    t = login(F.agent, F.pw[F.agent], dateExpiry=rfc3339(exp))
    r = get_cc(bearer(t))
    if utcnow() < exp - datetime.timedelta(seconds=1):
        expect(r, 200, "token before its expiry")
    left = (exp - utcnow()).total_seconds()
    time.sleep(max(0.0, left) + 1.5)
    assert_error(get_cc(bearer(t)), 401, "AUTH-1001", "expired token as Bearer")
    assert_error(get_cc(token_basic(t)), 401, "AUTH-1001", "expired token as Basic")


def test_deleted_user_loses_tokens_and_login():
    pw = random_password()
    uid = create_user(F.auth("admin"), F.cc, role="Supervisor", password=pw)
    t = login(uid, pw)
    expect(get_cc(bearer(t)), 200)
    expect(req("DELETE", F.cc_path + "/user/" + uid, auth=F.auth("admin")), 204, "delete user")
    assert_error(get_cc(bearer(t)), 401, "AUTH-1001", "token of a deleted user")
    assert_error(login_resp(uid, pw), 401, "AUTH-1001", "login of a deleted user")
    assert_error(get_cc(basic(uid, pw)), 401, "AUTH-1001", "Basic of a deleted user")


# ---- CMSD_ADMIN_PASSWORD across restarts ------------------------------------------------

def test_admin_password_from_environment_updated_on_restart():
    R = Server()
    R.start()
    old = R.admin_password
    t_old = login(R.admin_user, old, srv=R)
    cc = create_cc(bearer(t_old), srv=R)
    eq(R.stop(), 0, "exit code after SIGTERM")
    new = random_password()
    R.admin_password = new
    R.start()
    assert_error(login_resp(R.admin_user, old, srv=R), 401, "AUTH-1001", "old admin password")
    t_new = login(R.admin_user, new, "System", srv=R)
    r = req("GET", cc_path(cc), auth=bearer(t_new), srv=R)
    expect(r, 200, "data kept across the restart")
    eq(R.stop(), 0, "exit code after SIGTERM")
    # same password again: start-up must not fail on the existing account
    R.start()
    login(R.admin_user, new, srv=R)
    eq(R.stop(), 0, "exit code after SIGTERM")
