"""
t08 - failed-login limits (429 HTTP-1429 with Retry-After) and the store
failure paths (500 SYS-1000, 503 SYS-1003), the latter through cmsd's fault
injection (--faults: the X-Cmsd-Fault header fails the commit after the
handler has written, so a test sees the writes rolled back).
"""
import time

from harness import *  # noqa: F401,F403
from harness import SLOW

S = None      # --login-limit 3 --login-window 60 --faults (address limit out of the way)
F = None


def setup_module():
    global S, F
    S = use(Server(extra_args=["--login-limit", "3", "--login-addr-limit", "1000",
                               "--login-window", "60", "--faults"]).start())
    F = make_fixture(extra_agents=2)


def new_user(pw=None):
    uid = "thr_" + uniq()
    create_user(F.auth("admin"), F.cc, uid, "Agent", pw or random_password())
    return uid


def assert_429(r, what):
    assert_error(r, 429, "HTTP-1429", what)
    ra = r.headers.get("retry-after")
    assert ra is not None and ra.isdigit() and 1 <= int(ra) <= 60, \
        "%s: Retry-After %r" % (what, ra)


def test_failed_logins_limited_per_user():
    pw = random_password()
    uid = new_user(pw)
    for i in range(3):
        assert_error(login_resp(uid, "wrong-" + str(i)), 401, "AUTH-1001", "failure %d" % i)
    assert_429(login_resp(uid, pw), "right password after 3 failures")
    assert_429(req("GET", F.cc_path, auth=basic(uid, pw)), "Basic credentials of that user")
    # others are not affected, nor are tokens
    other_pw = random_password()
    other = new_user(other_pw)
    expect(login_resp(other, other_pw), 200, "another user logs in")
    expect(req("GET", F.cc_path, auth=F.auth("agent")), 200, "a token still works")


def test_unknown_user_limited_like_a_known_one():
    ghost = "ghost_" + uniq()
    for i in range(3):
        assert_error(login_resp(ghost, "pw-%d-xxxxxxxx" % i), 401, "AUTH-1001", "ghost %d" % i)
    assert_429(login_resp(ghost, "whatever-pass"), "unknown user after 3 failures")


def test_success_clears_the_users_failures():
    pw = random_password()
    uid = new_user(pw)
    for _ in range(2):
        assert_error(login_resp(uid, "nope-nope-nope"), 401, "AUTH-1001", "failure")
    expect(login_resp(uid, pw), 200, "success after 2 failures")
    for _ in range(2):
        assert_error(login_resp(uid, "nope-nope-nope"), 401, "AUTH-1001",
                     "failures after a success start again from zero")


def test_failed_logins_limited_per_address():
    srv = Server(extra_args=["--login-limit", "100", "--login-addr-limit", "4",
                             "--login-window", "60"]).start()
    for i in range(4):
        assert_error(login_resp("nobody%d_%s" % (i, uniq()), "wrong-password", srv=srv),
                     401, "AUTH-1001", "address failure %d" % i)
    r = login_resp(srv.admin_user, srv.admin_password, srv=srv)
    assert_429(r, "a fresh user name from the same address")
    srv.stop()


def test_limit_ends_with_the_window():
    srv = Server(extra_args=["--login-limit", "1", "--login-window", "2"]).start()
    assert_error(login_resp(srv.admin_user, "wrong-password", srv=srv), 401, "AUTH-1001", "fail")
    r = login_resp(srv.admin_user, srv.admin_password, srv=srv)
    assert_error(r, 429, "HTTP-1429", "inside the window")
    time.sleep(2.5)
    expect(login_resp(srv.admin_user, srv.admin_password, srv=srv), 200, "after the window")
    srv.stop()


# ---- store failures -------------------------------------------------------------

def state():
    return get_mapping(F.auth("admin"), F.campaign, F.lead)["assignedUserIds"]


def test_store_error_is_500_and_changes_nothing():
    before = state()
    who = [u for u in F.agents if u not in before][:1]
    assert who, "an unassigned agent to assign"
    r = req("PUT", MAPPING, {"leadId": F.lead, "campaignId": F.campaign,
                             "assignedUserIds": who, "unassignedUserIds": []},
            auth=F.auth("admin"), headers={"X-Cmsd-Fault": "store-error"})
    assert_error(r, 500, "SYS-1000", "PUT with a failing commit")
    assert "details" not in r.json, "internals in details: %r" % r.json
    eq(state(), before, "mapping after the failed PUT")
    r = req("POST", F.cc_path + "/process", {"processName": "never-" + uniq()},
            auth=F.auth("admin"), headers={"X-Cmsd-Fault": "store-error"})
    assert_error(r, 500, "SYS-1000", "POST with a failing commit")
    names = [p["processName"] for p in req("GET", F.cc_path + "/process?limit=1000",
                                           auth=F.auth("admin")).json]
    assert not any(n.startswith("never-") for n in names), names


def test_store_unavailable_and_busy_are_503():
    before = state()
    who = [u for u in F.agents if u not in before][:1]
    for fault in ("store-unavailable", "store-busy"):
        t0 = time.time()
        r = req("PUT", MAPPING, {"leadId": F.lead, "campaignId": F.campaign,
                                 "assignedUserIds": who, "unassignedUserIds": []},
                auth=F.auth("admin"), headers={"X-Cmsd-Fault": fault})
        assert_error(r, 503, "SYS-1003", fault)
        assert time.time() - t0 < 10 * SLOW, "%s took %.1f s" % (fault, time.time() - t0)
        eq(state(), before, "mapping after " + fault)
    # and the same PUT without a fault goes through
    expect(req("PUT", MAPPING, {"leadId": F.lead, "campaignId": F.campaign,
                                "assignedUserIds": who, "unassignedUserIds": []},
               auth=F.auth("admin")), 200, "PUT without a fault")
    eq(sorted(state()), sorted(set(before) | set(who)), "mapping after the good PUT")


def test_fault_header_ignored_without_the_option():
    srv = Server().start()
    tok = srv.sys_token()
    r = req("POST", "/cms/configuration/cc", {"name": "cc-" + uniq()}, auth=bearer(tok),
            headers={"X-Cmsd-Fault": "store-error"}, srv=srv)
    expect(r, 201, "fault header on a server without --faults")
    srv.stop()
