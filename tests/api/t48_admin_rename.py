"""
t48 - renaming the system administrator (issue 14 point 10).

CMSD_ADMIN_USER names THE system administrator (docs/decisions.md,
"Authentication"): when cmsd starts with another name than before, it
creates the new one and deletes the former one with its tokens, so that
nothing keeps working under a name the operator no longer configures (no
API can delete a system administrator: it belongs to no contact center).

    1. restarted with another CMSD_ADMIN_USER, the former administrator's
       tokens are refused (401), as are its login and its Basic credentials;
       the new one logs in, and every object is still there; the start
       logged the deletion;
    2. a second node still running on the same store (with the former name
       in its environment, its cache holding the former token) refuses that
       token too;
    3. a restart under the same name deletes nothing: the administrator's
       token taken before it still works;
    4. the former name is free: a contact-center user can take it.
"""
from harness import *  # noqa: F401,F403

S = None      # the node that is restarted under a new name
B = None      # a second node on the same store, never restarted
OLD = None    # (name, password, token) of the former system administrator


def renamed_lines(srv):
    return [l for l in srv.run.stderr if "former system administrator" in l]


def test_renamed_admin_replaces_the_former_one():
    global S, B, OLD
    S = Server().start()
    B = Server(share=S, admin_password=S.admin_password).start()
    old, old_pw = S.admin_user, S.admin_password
    tok = login(old, old_pw, "System", srv=S)
    tok_b = login(old, old_pw, srv=B)
    cc = create_cc(bearer(tok), srv=S)
    # both tokens work on both nodes, and are in their caches now
    for srv in (S, B):
        for t in (tok, tok_b):
            expect(req("GET", cc_path(cc), auth=bearer(t), srv=srv), 200, "before the rename")
    assert not renamed_lines(S), "a first start deleted an administrator"

    new, new_pw = "root_" + uniq(), random_password()
    S.admin_user = new
    eq(S.restart(admin_password=new_pw), 0, "exit code of the first run")
    OLD = (old, old_pw, tok)
    for t, what in ((tok, "the former administrator's token"),
                    (tok_b, "its token from the other node")):
        assert_error(req("GET", cc_path(cc), auth=bearer(t), srv=S), 401, "AUTH-1001", what)
    assert_error(req("GET", BASE + "/cc", auth=basic(old, old_pw), srv=S), 401, "AUTH-1001",
                 "the former administrator's Basic credentials")
    assert_error(login_resp(old, old_pw, srv=S), 401, "AUTH-1001",
                 "the former administrator's login")
    r = req("GET", cc_path(cc), auth=S.sys_auth(), srv=S)
    eq(expect(r, 200, "the new administrator")["contactCenterId"], cc, "the contact center kept")
    lines = renamed_lines(S)
    eq(len(lines), 1, "lines of the start that say a former administrator went")
    assert "1 former" in lines[0], lines[0]
    assert old_pw not in S.stderr_text(), "a password was logged"


def test_a_node_still_running_refuses_the_former_token():
    assert OLD is not None, "needs the rename (an earlier test failed)"
    old, old_pw, tok = OLD
    cc = create_cc(S.sys_auth(), srv=S)
    assert_error(req("GET", cc_path(cc), auth=bearer(tok), srv=B), 401, "AUTH-1001",
                 "the former token on the node that was not restarted")
    assert_error(login_resp(old, old_pw, srv=B), 401, "AUTH-1001",
                 "the former login on the node that was not restarted")
    # the new administrator works there too
    expect(req("GET", cc_path(cc), auth=bearer(login(S.admin_user, S.admin_password, srv=B)),
               srv=B), 200, "the new administrator on the other node")


def test_a_restart_under_the_same_name_deletes_nothing():
    assert OLD is not None, "needs the rename (an earlier test failed)"
    tok = S.sys_token()
    eq(S.restart(), 0, "exit code")
    assert not renamed_lines(S), "a restart under the same name deleted an administrator: %s" \
        % renamed_lines(S)
    expect(req("GET", BASE + "/cc?limit=1", auth=bearer(tok), srv=S), 200,
           "the administrator's token across a restart under the same name")


def test_the_former_name_is_free_again():
    assert OLD is not None, "needs the rename (an earlier test failed)"
    old = OLD[0]
    cc = create_cc(S.sys_auth(), srv=S)
    create_user(S.sys_auth(), cc, old, "Agent", srv=S)
    r = req("GET", cc_path(cc) + "/user/" + old, auth=S.sys_auth(), srv=S)
    eq(expect(r, 200, "the former name as a user")["role"], "Agent", "its role")
