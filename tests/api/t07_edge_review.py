"""
t07 - behaviour at the HTTP edge chosen after review: refusals decided on the
headers before the body is read, tokens revoked by a password change, paths
that are not UTF-8, ids that cannot exist, Accept with q=0, an endless chunked
body, a second cmsd on a busy port, and bad CMSD_ADMIN_* values.
"""
import json
import os
import subprocess
import time

from harness import *  # noqa: F401,F403
from harness import SLOW

S = None
F = None


def setup_module():
    global S, F
    S = use(Server().start())
    F = make_fixture(extra_agents=1)


def test_refused_on_headers_before_the_body():
    # No credentials, a body of 512 KiB announced but never sent: the 401
    # must come without waiting for it.
    sock = open_socket(timeout=10 * SLOW)
    try:
        sock.sendall(request_head("PUT", MAPPING, {
            "Content-Type": "application/json", "Content-Length": str(512 * 1024)}))
        t0 = time.time()
        r = read_response(sock, "PUT", MAPPING, timeout=10 * SLOW)
        assert_error(r, 401, "AUTH-1001", "unauthenticated PUT with an unsent body")
        assert time.time() - t0 < 5 * SLOW, "401 took %.1f s" % (time.time() - t0)
    finally:
        sock.close()
    # Same for a wrong Content-Type with good credentials.
    sock = open_socket(timeout=10 * SLOW)
    try:
        sock.sendall(request_head("PUT", MAPPING, {
            "Content-Type": "text/plain", "Content-Length": str(512 * 1024),
            "Authorization": F.auth("admin")}))
        r = read_response(sock, "PUT", MAPPING, timeout=10 * SLOW)
        assert_error(r, 415, "HTTP-1415", "text/plain with an unsent body")
    finally:
        sock.close()


def test_new_password_revokes_tokens():
    uid = "pwrev_" + uniq()
    pw = random_password()
    create_user(F.auth("admin"), F.cc, uid, "Agent", pw)
    tok = login(uid, pw, "ContactCenter", F.cc)
    expect(req("GET", F.cc_path, auth=bearer(tok)), 200, "token before the change")
    new_pw = random_password()
    r = req("PUT", F.cc_path + "/user/" + uid, {"password": new_pw}, auth=F.auth("admin"))
    expect(r, 200, "password change")
    assert_error(req("GET", F.cc_path, auth=bearer(tok)), 401, "AUTH-1001",
                 "old token after a password change")
    expect(req("GET", F.cc_path, auth=basic(uid, new_pw)), 200, "new password")
    # A change of name only keeps the sessions.
    tok2 = login(uid, new_pw, "ContactCenter", F.cc)
    expect(req("PUT", F.cc_path + "/user/" + uid, {"name": "Renamed"}, auth=F.auth("admin")),
           200, "rename")
    expect(req("GET", F.cc_path, auth=bearer(tok2)), 200, "token after a rename")


def test_path_that_is_not_utf8():
    r = req("GET", F.cc_path + "/user/%FF%FEx", auth=F.auth("admin"))
    assert_error(r, 404, "CONF-1001", "user id with bytes that are not UTF-8")
    eq(details(r.json), [{"object": "user", "id": "%FF%FEx"}], "details name the id re-escaped")
    # the request's log line is whole: id, method, status and a path
    rid = r.headers["x-request-id"]
    deadline = time.time() + 5 * SLOW
    line = None
    while time.time() < deadline and line is None:
        for l in list(S.run.stderr):
            if rid in l:
                line = json.loads(l)
        time.sleep(0.05)
    assert line is not None, "no log line carries request id %s" % rid
    eq((line.get("method"), line.get("status")), ("GET", 404), "log line fields")
    assert "%FF%FE" in line.get("path", ""), "path in the log: %r" % line.get("path")


def test_ids_that_cannot_exist_are_named_as_given():
    for path, obj, given in (("/cms/configuration/cc/0", "contactCenter", "0"),
                             (F.cc_path + "/process/99999999999999999999", "process",
                              "99999999999999999999"),
                             (F.proc_path + "/lead/0", "lead", "0"),
                             (F.camp_path + "/campaign-lead/0", "campaignLead", "0")):
        method = "DELETE" if "campaign-lead" in path else "GET"
        r = req(method, path, auth=F.auth("admin"))
        assert_error(r, 404, "CONF-1001", path)
        eq(details(r.json), [{"object": obj, "id": given}], "details of " + path)


def test_accept_refusing_json_explicitly():
    for accept in ("application/json;q=0, */*", "*/*, application/json; q=0.0"):
        r = req("GET", F.cc_path, auth=F.auth("admin"), headers={"Accept": accept})
        assert_error(r, 406, "HTTP-1406", "Accept: " + accept)
    expect(req("GET", F.cc_path, auth=F.auth("admin"),
               headers={"Accept": "text/html;q=0, application/json"}), 200, "json allowed")


def test_paging_checked_before_parents():
    r = req("GET", F.cc_path + "/process/999999/lead?limit=0", auth=F.auth("admin"))
    assert_error(r, 400, "CONF-1002", "bad limit below a missing process")
    assert_field(r.json, "limit")


def test_endless_chunked_body_is_cut_off():
    sock = open_socket(timeout=30 * SLOW)
    chunk = b"a" * 65536
    cut = False
    try:
        sock.sendall(request_head("PUT", MAPPING, {
            "Content-Type": "application/json", "Transfer-Encoding": "chunked",
            "Authorization": F.auth("admin")}))
        frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
        for _ in range(16 * 20):  # up to 20 MiB, 20x the limit
            try:
                sock.sendall(frame)
            except (BrokenPipeError, ConnectionResetError):
                cut = True
                break
    finally:
        sock.close()
    assert cut, "the server read 20 MiB of an oversized chunked body without closing"
    expect(req("GET", "/health"), 200, "health after the cut")


def test_second_server_on_a_busy_port_fails():
    other = Server()
    cmd = other.command([])
    i = cmd.index("127.0.0.1:0")
    cmd[i] = "127.0.0.1:%d" % S.port
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMSD_")}
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, cwd=other.tmpdir, timeout=60 * SLOW)
    assert p.returncode != 0, "a second cmsd started on busy port %d" % S.port
    assert b"cannot listen" in p.stderr, p.stderr[-500:]
    expect(req("GET", "/health"), 200, "first server still serves")


def test_bad_admin_environment_refused():
    for user, pw in (("bad user", "longenough1"), ("okadmin", "short")):
        other = Server()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CMSD_")}
        env.update({"CMSD_ADMIN_USER": user, "CMSD_ADMIN_PASSWORD": pw})
        p = subprocess.run(other.command([]), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, cwd=other.tmpdir, timeout=60 * SLOW)
        assert p.returncode != 0, "cmsd started with CMSD_ADMIN_USER=%r" % user
        assert b"CMSD_ADMIN_USER" in p.stderr, p.stderr[-500:]
        assert pw.encode() not in p.stderr, "the password was logged"


def test_migrates_an_older_schema_at_start():
    """The store is turned back into schema version 1 (migration 2's campaign
    indexes, migration 3's history table, migration 4's feed head and
    migration 5's triggers dropped) while cmsd is down; the next start
    migrates it again."""
    srv = Server().start()
    url = srv.store_url()
    if backend() == "sqlite":
        index_names = "SELECT name FROM sqlite_master WHERE type='index'"
    else:
        index_names = "SELECT indexname FROM pg_catalog.pg_indexes"
    try:
        sysauth = srv.sys_auth()
        cc = create_cc(sysauth, srv=srv)
        expect_version = None
        eq(srv.stop(), 0, "first run's exit code")
        expect_version = int(store_sql(url, "SELECT MAX(version) FROM schema_version")[0][0])
        assert expect_version >= 2, "schema version %r" % expect_version
        # turn the store back into version 1
        if backend() == "sqlite":
            triggers = ["DROP TRIGGER %s" % r[0] for r in
                        store_sql(url, "SELECT name FROM sqlite_master WHERE type='trigger'")]
        else:
            triggers = ["DROP FUNCTION cmsd_bump_epoch() CASCADE"]
        assert len(triggers) >= 1, "migration 5's triggers are missing"
        store_sql(url, triggers + ["DROP INDEX campaign_user_campaign",
                        "DROP INDEX campaign_lead_campaign",
                        "DROP TABLE mapping_history",
                        "DROP TABLE change_head",
                        "DELETE FROM schema_version WHERE version >= 2"])
        srv.start()
        expect(req("GET", cc_path(cc), auth=srv.sys_auth(), srv=srv), 200, "data kept across the migration")
        assert any("migrated to version %d" % expect_version in l for l in srv.run.stderr), \
            "no migration logged: %s" % srv.run.stderr[:5]
    finally:
        if srv.running:
            srv.stop()
    eq(int(store_sql(url, "SELECT MAX(version) FROM schema_version")[0][0]), expect_version,
       "version after the restart")
    names = {r[0] for r in store_sql(url, index_names)}
    assert {"campaign_user_campaign", "campaign_lead_campaign"} <= names, names
