"""
t20 - cmsctl, the command-line client (issue #3, docs/cmsctl.md), run as a
black box against a real cmsd: URL derivation and the configuration file,
help and usage errors, login/logout, create/list/show/delete of every set-up
resource, mapping set/get, --json, --print-curl (prints, sends nothing, masks
secrets), exit codes 0/1/2/3/4, and mapping import with good and bad rows.

CMSCTL_BIN names the binary (or a wrapper script that runs it under
valgrind); by default the cmsctl next to CMSD_BIN, else build/cmsctl.  A
sanitizer or valgrind report on cmsctl's stderr fails the test.  cmsctl
itself is not run under valgrind by CMSD_VALGRIND=1 (it only slows the
timeouts down).
"""
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import cmsctl_run
import harness
from cmsctl_run import closed_port, cmsctl_bin, code, ok
from harness import *  # noqa: F401,F403
from harness import SLOW

S = None
F = None
SYS = None
TMP = None


def cmsctl(*args, **kw):
    """Run cmsctl with a clean environment: HOME is a private directory (no
    user configuration), CMS_URL points at the server unless url= says
    otherwise, CMS_TOKEN is token= when given; env= adds variables."""
    return cmsctl_run.run(TMP, S, args, kw)


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w", newline="") as f:
        f.write(text)
    return path


def setup_module():
    global S, F, SYS, TMP
    TMP = tempfile.mkdtemp(prefix="cmsctl-test-")
    S = use(Server().start())
    F = make_fixture(extra_agents=6)
    SYS = S.sys_token()
    b = cmsctl_bin()
    assert os.access(b, os.X_OK), "no executable cmsctl at %s (make, or set CMSCTL_BIN)" % b


def teardown_module():
    shutil.rmtree(TMP, ignore_errors=True)


def state(campaign=None, lead=None):
    return get_mapping(F.auth("admin"), campaign or F.campaign, lead or F.lead)


# ---- the CMS URL (API.md section 7) ---------------------------------------

URL_TABLE = [
    ("http://gateway.bdt.cc.exotel.com", "https://cms.bdt.cc.exotel.com"),
    ("https://exotel.ecc-prod.cc.exotel.com", "https://cms.engg-prod.cc.exotel.com"),
    ("https://cms.bdt.cc.exotel.com", "https://cms.bdt.cc.exotel.com"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("http://localhost:8080", "http://localhost:8080"),
    ("HTTPS://Gateway.BDT.cc.exotel.com:8443/cms/configuration/?x=1", "https://cms.bdt.cc.exotel.com:8443"),
    ("http://[::1]:8080/", "http://[::1]:8080"),
    ("example.com", "https://cms.example.com"),
    # a "://" in a query is no scheme
    ("gateway.bdt.cc.exotel.com/login?next=https://x.y.z/", "https://cms.bdt.cc.exotel.com"),
    # names of the local machine or network are never rewritten
    ("http://host.docker.internal:8080", "http://host.docker.internal:8080"),
    ("http://localhost.localdomain:8080/", "http://localhost.localdomain:8080"),
    ("mybox.local:8080", "http://mybox.local:8080"),
]


def test_url_table():
    for given, want in URL_TABLE:
        r = ok(cmsctl("url", given), given)
        eq(r.out, want + "\n", "cmsctl url %s" % given)


def test_url_garbage_is_usage_error():
    for bad in ("ftp://a.b.c", "http://", "http://a.b.c:99999", "http://a..b.c", "http://[::1"):
        r = code(cmsctl("url", bad), 2, bad)
        assert "invalid URL" in r.err, r
        eq(r.out, "", "stdout of a usage error")


def test_url_of_the_run():
    # without an argument: the URL this run would use, from --url, --cms-url or CMS_URL
    eq(ok(cmsctl("url")).out, "http://127.0.0.1:%d\n" % S.port, "url from CMS_URL")
    eq(ok(cmsctl("--url", "https://gw.ecc-prod.x.y/z", "url")).out,
       "https://cms.engg-prod.x.y\n", "url from --url")
    eq(ok(cmsctl("url", "--cms-url", "https://gw.ecc-prod.x.y/prefix/")).out,
       "https://gw.ecc-prod.x.y/prefix\n", "--cms-url is used as given")
    code(cmsctl("url", url=None), 2, "no URL anywhere")
    code(cmsctl("--url", "http://a.b.c", "--cms-url", "http://a.b.c", "url"), 2, "both")


def test_url_config_file():
    cfg = write("cmsctl.conf", "# test\nrename bdt bdt-prod\nrename ecc-prod ecc-prod\n")
    env = {"CMSCTL_CONFIG": cfg}
    eq(ok(cmsctl("url", "http://gateway.bdt.cc.exotel.com", env=env)).out,
       "https://cms.bdt-prod.cc.exotel.com\n", "a renaming of the file")
    eq(ok(cmsctl("url", "https://exotel.ecc-prod.cc.exotel.com", env=env)).out,
       "https://cms.ecc-prod.cc.exotel.com\n", "a built-in renaming overridden")
    # the default file: ~/.config/cmsctl/config, with a url line as the default URL
    d = os.path.join(TMP, ".config", "cmsctl")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config"), "w") as f:
        f.write("url http://127.0.0.1:%d/whatever\n" % S.port)
    try:
        r = ok(cmsctl("--json", "cc", "show", "--cc", str(F.cc), url=None, token=F.tok["admin"]),
               "URL from the default configuration file")
        eq(r.json["contactCenterId"], F.cc, "contact center from the configured URL")
    finally:
        shutil.rmtree(os.path.join(TMP, ".config"))
    # local names, trailing comments and a byte-order mark (Windows editors)
    cfg = write("local.conf", "\ufefflocal cms-dev.lab.example  # the test box\n"
                "rename bdt bdt2 # moved\n")
    env = {"CMSCTL_CONFIG": cfg}
    eq(ok(cmsctl("url", "http://cms-dev.lab.example:8080", env=env)).out,
       "http://cms-dev.lab.example:8080\n", "a local line")
    eq(ok(cmsctl("url", "http://gw.bdt.cc.exotel.com", env=env)).out,
       "https://cms.bdt2.cc.exotel.com\n", "a rename line with a comment")
    r = code(cmsctl("url", "x.y.z", env={"CMSCTL_CONFIG": write("bad.conf", "rename x\n")}), 2)
    assert "bad.conf:1:" in r.err, r
    code(cmsctl("url", "x.y.z", env={"CMSCTL_CONFIG": os.path.join(TMP, "missing.conf")}), 2)


def test_url_password_not_echoed():
    # a URL holding a password is refused, and the message does not repeat it
    secret = "s3cret-" + uniq()
    for args in (["--url", "http://adm:%s@gw.bdt.cc.exotel.com" % secret, "cc", "list"],
                 ["url", "https://adm:%s@gw.bdt.cc.exotel.com/x" % secret],
                 ["cc", "list"]):
        r = code(cmsctl(*args, token=F.tok["admin"],
                        env={"CMS_URL": "http://adm:%s@gw.bdt.cc.exotel.com" % secret}), 2,
                 " ".join(args))
        assert secret not in r.err and secret not in r.out, r
        assert "***@gw.bdt.cc.exotel.com" in r.err and "user or password" in r.err, r


# ---- help and usage errors --------------------------------------------------

HELP = [
    ["--help"], ["help"], ["url", "--help"], ["login", "--help"], ["logout", "--help"],
    ["mapping", "--help"], ["mapping", "set", "--help"], ["mapping", "get", "--help"],
    ["mapping", "import", "--help"], ["help", "mapping", "import"], ["-h"],
]
RESOURCES = ["cc", "user", "process", "lead", "campaign", "campaign-user", "campaign-lead"]


def test_help_on_every_command():
    cases = HELP + [[res, "--help"] for res in RESOURCES] + \
        [[res, act, "--help"] for res in RESOURCES for act in ("create", "list", "show", "delete")]
    for args in cases:
        r = ok(cmsctl(*args, url=None), " ".join(args))
        assert "usage:" in r.out, "no usage in the help of %s: %r" % (args, r)
    r = ok(cmsctl("lead", "create", "--help"))
    for opt in ("--cc ID", "--process ID", "--name TEXT"):
        assert opt in r.out, "lead create --help lacks %s: %r" % (opt, r)


def test_version():
    """--version (issue 16): one line `cmsctl VERSION`, the version cmsd
    prints; it sends nothing, anywhere on the line, and takes no value."""
    r = ok(cmsctl("--version", url=None))
    eq(r.err, "", "stderr of --version")
    words = r.out.split()
    eq((len(r.out.splitlines()), words[0]), (1, "cmsctl"), "one line naming cmsctl: %r" % r.out)
    p = subprocess.run([harness.cmsd_bin(), "--version"], stdout=subprocess.PIPE)
    eq(p.stdout.decode().split(), ["cmsd", words[1]], "cmsd's version")
    # nothing is sent: even an unreachable URL answers at once
    r = ok(cmsctl("cc", "list", "--version", url="http://127.0.0.1:%d" % closed_port()))
    eq(r.out, "cmsctl %s\n" % words[1], "--version after a command")
    code(cmsctl("--version=yes", url=None), 2, "--version takes no value")


def test_usage_errors_exit_2():
    t = F.tok["admin"]
    cases = [
        [], ["nope"], ["cc", "frobnicate"], ["cc", "list", "--bogus"], ["cc", "show"],
        ["cc", "show", "--cc", "abc"], ["cc", "show", "--cc", "0"], ["user", "list"],
        ["user", "create", "--cc", "1", "--name", "x"], ["mapping"], ["mapping", "frob"],
        ["mapping", "set", "--campaign", "1", "--lead", "1"],
        ["mapping", "set", "--campaign", "1", "--assign", "a"],
        ["mapping", "set", "--campaign", "1", "--campaign", "2", "--lead", "1", "--assign", "a"],
        ["mapping", "get", "--lead", "1"], ["mapping", "import"],
        ["mapping", "import", "a.csv", "b.csv"], ["--timeout", "0", "cc", "list"],
        ["--timeout"], ["cc", "list", "--limit", "5000"], ["cc", "list", "extra"],
        ["campaign-lead", "create", "--cc", "1", "--process", "1", "--campaign", "1",
         "--lead", "1", "--enabled", "maybe"],
        ["--json=yes", "cc", "list"],
    ]
    for args in cases:
        r = code(cmsctl(*args, token=t), 2, " ".join(args) or "<nothing>")
        assert r.err.strip(), "a usage error says nothing: %r" % r
    # no credentials at all
    r = code(cmsctl("cc", "list"), 2, "no credentials")
    assert "credentials" in r.err, r
    code(cmsctl("cc", "list", "--user", F.admin), 2, "user without a password")
    code(cmsctl("cc", "list", "--user", "", "--password", "x"), 2, "an empty user")
    code(cmsctl("cc", "list", "--token", t, "--user", F.admin, "--password", "x"), 2,
         "token and user")


# ---- login and logout -------------------------------------------------------

def test_login_logout():
    r = ok(cmsctl("login", "--user", F.admin, "--password", F.pw[F.admin]))
    tok = r.out.strip()
    note_secret(tok)
    assert TOKEN_RE.match(tok), "login printed %r, not a token" % r.out
    ok(cmsctl("cc", "show", "--cc", str(F.cc), token=tok), "the new token works")
    # the environment, and --json
    r = ok(cmsctl("--json", "login", env={"CMS_USER": F.sup, "CMS_PASSWORD": F.pw[F.sup]}))
    body = r.json
    note_secret(body.get("authToken"))
    eq(body.get("userRole"), "Supervisor", "login --json userRole")
    assert TOKEN_RE.match(body.get("authToken", "")), r
    # logout revokes it
    r = ok(cmsctl("logout", token=tok))
    # a refused token: exit 4 and the command that logs in again, at this URL
    r = code(cmsctl("cc", "show", "--cc", str(F.cc), token=tok, env={"CMS_USER": F.admin}), 4,
             "revoked token")
    assert "AUTH-1001" in r.err, r
    assert "cmsctl --cms-url http://127.0.0.1:%d login --user %s" % (S.port, F.admin) in r.err, r
    # a wrong password: exit 4, and no advice to log in (that is what failed)
    r = code(cmsctl("login", "--user", F.admin, "--password", "wrong-password-1"), 4)
    assert "AUTH-1001" in r.err and "Authentication required" in r.err, r
    assert "refused the user and password" in r.err and " login --user" not in r.err, r
    code(cmsctl("login"), 2, "login without a user")


def test_token_read_from_a_file():
    # a token saved by a Windows editor ends in CR LF; $(cat file) keeps the CR
    t = F.tok["admin"]
    for value in (t + "\r", " " + t + "\r\n"):
        r = ok(cmsctl("--json", "cc", "show", "--cc", str(F.cc), token=value), repr(value[-2:]))
        eq(r.json["contactCenterId"], F.cc, "cc show with a token and white space")
        ok(cmsctl("cc", "show", "--cc", str(F.cc), "--token", value), "--token " + repr(value[-2:]))
    # a control character inside it: a usage error that does not show the token
    r = code(cmsctl("cc", "list", "--token", t[:20] + "\n" + t[20:]), 2)
    assert t[:20] not in r.err and "control character" in r.err, r
    r = code(cmsctl("cc", "list", token="  \r\n"), 2, "a blank CMS_TOKEN")
    assert "CMS_TOKEN is empty" in r.err, r


def test_basic_credentials():
    r = ok(cmsctl("--json", "cc", "show", "--cc", str(F.cc), "--user", F.admin,
                  "--password", F.pw[F.admin]))
    eq(r.json["contactCenterId"], F.cc, "cc show with a password")
    r = ok(cmsctl("--json", "cc", "show", "--cc", str(F.cc),
                  env={"CMS_USER": F.admin, "CMS_PASSWORD": F.pw[F.admin]}))
    eq(r.json["name"], F.cc_name, "cc show with CMS_USER/CMS_PASSWORD")


# ---- the set-up resources ---------------------------------------------------

def test_resources_lifecycle():
    u = uniq()
    t = SYS

    def j(*args):
        return ok(cmsctl("--json", *args, token=t)).json

    cc = j("cc", "create", "--name", "cc-" + u)
    assert is_pos_int(cc["contactCenterId"]), cc
    ccs = str(cc["contactCenterId"])
    eq(j("cc", "show", "--cc", ccs), cc, "cc show")
    assert cc in j("cc", "list"), "cc list lacks the new contact center"
    human = ok(cmsctl("cc", "list", token=t)).out
    assert human.startswith("contactCenterId") and ("cc-" + u) in human, human

    pw = random_password()
    note_secret(pw)
    user = j("user", "create", "--cc", ccs, "--user-id", "ag_" + u, "--name", "Agent " + u,
             "--role", "Agent", "--user-password", pw)
    eq(user, {"userId": "ag_" + u, "name": "Agent " + u, "role": "Agent",
              "contactCenterId": cc["contactCenterId"]}, "user create")
    j("user", "create", "--cc", ccs, "--user-id", "ag2_" + u, "--name", "Two", "--role", "Agent")
    eq(j("user", "show", "--cc", ccs, "--user-id", "ag_" + u), user, "user show")
    eq([x["userId"] for x in j("user", "list", "--cc", ccs)], ["ag_" + u, "ag2_" + u], "user list")
    login("ag_" + u, pw)  # the password was set

    proc = j("process", "create", "--cc", ccs, "--name", "proc-" + u)
    ps = str(proc["processId"])
    eq(j("process", "show", "--cc", ccs, "--process", ps), proc, "process show")
    eq(j("process", "list", "--cc", ccs), [proc], "process list")

    lead = j("lead", "create", "--cc", ccs, "--process", ps, "--name", "lead-" + u)
    ls = str(lead["leadId"])
    eq(lead["leadName"], "lead-" + u, "lead create")
    eq(j("lead", "show", "--cc", ccs, "--process", ps, "--lead", ls), lead, "lead show")
    eq(j("lead", "list", "--cc", ccs, "--process", ps), [lead], "lead list")

    camp = j("campaign", "create", "--cc", ccs, "--process", ps, "--name", "camp-" + u)
    cs = str(camp["campaignId"])
    eq(camp["campaignType"], "voice", "campaign create")
    eq(j("campaign", "show", "--cc", ccs, "--process", ps, "--campaign", cs), camp, "campaign show")
    eq(j("campaign", "list", "--cc", ccs, "--process", ps), [camp], "campaign list")

    ids = ["--cc", ccs, "--process", ps, "--campaign", cs]
    cus = j("campaign-user", "create", *(ids + ["--user-ids", "ag_%s, ag2_%s" % (u, u)]))
    eq(sorted(x["userId"] for x in cus), sorted(["ag_" + u, "ag2_" + u]), "campaign-user create")
    eq(j("campaign-user", "list", *ids), cus, "campaign-user list")
    eq(j("campaign-user", "show", *(ids + ["--user-id", "ag2_" + u])),
       [x for x in cus if x["userId"] == "ag2_" + u][0], "campaign-user show")
    code(cmsctl("campaign-user", "show", *(ids + ["--user-id", "nobody"]), token=t), 1,
         "campaign-user show of a user not enrolled")

    cl = j("campaign-lead", "create", *(ids + ["--lead", ls, "--priority", "5", "--enabled",
                                                "false"]))
    eq((cl["leadId"], cl["priority"], cl["enabled"]), (lead["leadId"], 5, False),
       "campaign-lead create")
    eq(j("campaign-lead", "list", *ids), [cl], "campaign-lead list")
    eq(j("campaign-lead", "show", *(ids + ["--lead", ls])), cl, "campaign-lead show")
    human = ok(cmsctl("campaign-lead", "show", *(ids + ["--lead", ls]), token=t)).out
    assert "priority" in human and "false" in human, human

    # the same through the API, then delete everything from the bottom up
    r = req("GET", camp_path(cc["contactCenterId"], proc["processId"], camp["campaignId"]) +
            "/campaign-lead", auth=bearer(t))
    eq(expect(r, 200), [cl], "campaign leads as the API sees them")
    for args in (["campaign-lead", "delete"] + ids + ["--lead", ls],
                 ["campaign-user", "delete"] + ids + ["--user-id", "ag_" + u],
                 ["campaign", "delete", "--cc", ccs, "--process", ps, "--campaign", cs],
                 ["lead", "delete", "--cc", ccs, "--process", ps, "--lead", ls],
                 ["process", "delete", "--cc", ccs, "--process", ps],
                 ["user", "delete", "--cc", ccs, "--user-id", "ag_" + u],
                 ["user", "delete", "--cc", ccs, "--user-id", "ag2_" + u],
                 ["cc", "delete", "--cc", ccs]):
        r = ok(cmsctl(*args, token=t), " ".join(args))
        assert r.out.startswith("deleted "), r
    assert_error(req("GET", cc_path(cc["contactCenterId"]), auth=bearer(t)), 404, "CONF-1001")


def test_show_by_list_with_leading_zeros():
    # campaign-lead show looks the lead up in the list: --lead 007 is lead 7
    ids = ["--cc", str(F.cc), "--process", str(F.process), "--campaign", str(F.campaign)]
    r = ok(cmsctl("--json", "campaign-lead", "show", *(ids + ["--lead", "00" + str(F.lead)]),
                  token=F.tok["admin"]))
    eq(r.json["leadId"], F.lead, "campaign-lead show --lead 00ID")
    r = ok(cmsctl("--json", "lead", "show", "--cc", str(F.cc), "--process", str(F.process),
                  "--lead", "0" + str(F.lead), token=F.tok["admin"]))
    eq(r.json["leadId"], F.lead, "lead show --lead 0ID")


def test_list_paging():
    # more than one page of 1000: cmsctl fetches every page and merges them
    t = SYS
    cc = create_cc(bearer(t))
    for i in range(1003):
        r = req("POST", cc_path(cc) + "/user",
                {"userId": "p%04d_%s" % (i, RUN_ID), "name": "n", "role": "Agent"},
                auth=bearer(t))
        expect(r, 201, "create user %d" % i)
    rows = ok(cmsctl("--json", "user", "list", "--cc", str(cc), token=t)).json
    eq(len(rows), 1003, "users listed over two pages")
    eq(len(set(x["userId"] for x in rows)), 1003, "distinct users")
    human = ok(cmsctl("user", "list", "--cc", str(cc), token=t)).out
    eq(len(human.splitlines()), 1004, "table lines (header + rows)")
    page = ok(cmsctl("--json", "user", "list", "--cc", str(cc), "--limit", "2", "--offset", "1001",
                     token=t)).json
    eq([x["userId"] for x in page], ["p1001_%s" % RUN_ID, "p1002_%s" % RUN_ID], "one page")


def test_json_is_as_it_came():
    r = ok(cmsctl("--json", "cc", "show", "--cc", str(F.cc), token=F.tok["admin"]))
    raw = req("GET", F.cc_path, auth=F.auth("admin")).raw.decode()
    eq(r.out.rstrip("\n"), raw.rstrip("\n"), "--json output vs the API's body")


def test_api_errors_exit_1():
    t = F.tok["admin"]
    r = code(cmsctl("cc", "show", "--cc", str(NX), token=t), 1)
    assert "CONF-1001" in r.err and "Object doesn't exist" in r.err and "contactCenter" in r.err, r
    r = code(cmsctl("--json", "cc", "show", "--cc", str(NX), token=t), 1)
    eq(r.json["errorCode"], "CONF-1001", "--json prints the error envelope")
    r = code(cmsctl("process", "create", "--cc", str(F.cc), "--name", "proc-" + F.u, token=t), 1)
    assert "CONF-1004" in r.err, r
    r = code(cmsctl("user", "create", "--cc", str(F.cc), "--user-id", "x_" + uniq(), "--name", "X",
                    "--role", "King", token=t), 1)
    assert "CONF-1002" in r.err and "role" in r.err, r
    r = code(cmsctl("cc", "create", "--name", "nope", token=F.tok["agent"]), 1)
    assert "AUTH-1003" in r.err, r


# ---- the mapping ------------------------------------------------------------

def test_mapping_set_and_get():
    a = F.agents
    t = F.tok["sup"]
    r = ok(cmsctl("mapping", "set", "--campaign", str(F.campaign), "--lead", str(F.lead),
                  "--assign", "%s,%s" % (a[0], a[1]), "--unassign", a[2], token=t))
    assert "assigned" in r.out and a[0] in r.out and "campaignUserId" in r.out, r
    s = state()
    assert a[0] in s["assignedUserIds"] and a[1] in s["assignedUserIds"], s
    assert a[2] in s["unassignedUserIds"], s
    # --json: the PUT answer's seven keys, repeatable options
    r = ok(cmsctl("--json", "mapping", "set", "--campaign", str(F.campaign), "--lead",
                  str(F.lead), "--unassign", a[0], "--unassign", a[1], token=t))
    check_mapping(r.json, campaign=F.campaign, lead=F.lead, assigned=[],
                  unassigned=[a[0], a[1]], cu=F.cu)
    # get: one lead, as the API answers it
    r = ok(cmsctl("--json", "mapping", "get", "--campaign", str(F.campaign), "--lead",
                  str(F.lead), token=F.tok["agent"]))
    eq(r.json, state(), "mapping get --json")
    r = ok(cmsctl("mapping", "get", "--campaign", str(F.campaign), "--lead", str(F.lead),
                  token=F.tok["agent"]))
    for uid in [F.sup, F.agent] + a:
        assert uid in r.out, "mapping get lacks %s: %r" % (uid, r)
    # get: the campaign's leads, and every lead
    r = ok(cmsctl("--json", "mapping", "get", "--campaign", str(F.campaign), token=t))
    eq([o["leadId"] for o in r.json], [F.lead], "mapping get --campaign")
    r = ok(cmsctl("mapping", "get", "--campaign", str(F.campaign), token=t))
    assert r.out.startswith("campaignId") and str(F.campaign_lead) in r.out, r
    ok(cmsctl("--json", "mapping", "get", token=t), "mapping get without a campaign")


def test_mapping_set_errors():
    t = F.tok["sup"]
    before = state()
    r = code(cmsctl("mapping", "set", "--campaign", str(F.campaign), "--lead", str(F.lead),
                    "--assign", "ghost1_%s,%s" % (F.u, F.agents[0]), "--unassign", "ghost2_" + F.u,
                    token=t), 1)
    assert "CONF-1001" in r.err and "ghost1_" + F.u in r.err and "ghost2_" + F.u in r.err, r
    eq(state(), before, "nothing changed")
    r = code(cmsctl("mapping", "set", "--campaign", str(F.campaign), "--lead", str(F.lead),
                    "--assign", F.agents[0], "--unassign", F.agents[0], token=t), 1)
    assert "CONF-1003" in r.err, r
    r = code(cmsctl("mapping", "set", "--campaign", str(NX), "--lead", str(F.lead), "--assign",
                    F.agents[0], token=t), 1)
    assert "campaign" in r.err, r
    r = code(cmsctl("mapping", "set", "--campaign", str(F.campaign), "--lead", str(F.lead),
                    "--assign", F.agents[0], token=F.tok["agent"]), 1)
    assert "AUTH-1003" in r.err, r


def test_tables_have_no_blank_cells():
    # a lead with nobody assigned: "-", not a blank at the end of the line
    l2 = fixture_lead(F)
    r = ok(cmsctl("mapping", "get", "--campaign", str(F.campaign), token=F.tok["sup"]))
    line = [x for x in r.out.splitlines() if x.split()[1:2] == [str(l2)]]
    assert line and line[0].endswith("-") and line[0] == line[0].rstrip(), r


def test_output_write_error_is_not_success():
    if not os.path.exists("/dev/full"):
        return
    e = {k: v for k, v in os.environ.items() if not k.startswith("CMS")}
    e.update({"HOME": TMP, "CMS_URL": "http://127.0.0.1:%d" % S.port, "CMS_TOKEN": F.tok["admin"]})
    with open("/dev/full", "w") as full:
        p = subprocess.run([cmsctl_bin(), "cc", "list"], stdout=full, stderr=subprocess.PIPE,
                           env=e, timeout=60 * SLOW)
    eq(p.returncode, 1, "exit code when stdout is full: %r" % p.stderr)
    assert b"cannot write the output" in p.stderr, p.stderr


def test_error_details_are_escaped():
    # the server echoes the user ids it did not find: an escape sequence in
    # one must not reach the terminal
    r = code(cmsctl("mapping", "set", "--campaign", str(F.campaign), "--lead", str(F.lead),
                    "--assign", "evil\x1b[2J_" + F.u, token=F.tok["sup"]), 1)
    assert "\x1b" not in r.err and "evil\\x1B[2J_" + F.u in r.err, r


# ---- --print-curl -------------------------------------------------------------

def test_print_curl_sends_nothing():
    t = F.tok["sup"]
    before = state()
    r = ok(cmsctl("--print-curl", "mapping", "set", "--campaign", str(F.campaign), "--lead",
                  str(F.lead), "--assign", F.agents[5], token=t))
    line = r.out.strip()
    assert line.startswith("curl ") and "--request PUT" in line, r
    assert "/cms/configuration/voice/campaignLeadUserMapping" in line, r
    assert "Authorization: Bearer ***" in line and t not in line, r
    assert '"assignedUserIds":["%s"]' % F.agents[5] in line, r
    eq(state(), before, "state after --print-curl")
    # the printed command is a working one once the token is put back
    cmd = line.replace("Bearer ***", "Bearer " + t)
    p = subprocess.run(["sh", "-c", cmd + " --silent --show-error"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30 * SLOW)
    if p.returncode != 127:  # curl present
        eq(p.returncode, 0, "the printed curl command: %s" % p.stderr[:300])
        check_mapping(json.loads(p.stdout), assigned=[F.agents[5]])
        assert F.agents[5] in state()["assignedUserIds"], "the printed command did not apply"
        put_mapping(F.auth("sup"), F.campaign, F.lead, unassigned=[F.agents[5]])


def test_print_curl_masks_and_never_connects():
    dead = "http://127.0.0.1:%d" % closed_port()
    # a password in the body, Basic credentials, a token: all masked; nothing sent
    r = ok(cmsctl("--print-curl", "login", "--user", F.admin, "--password", F.pw[F.admin],
                  url=dead))
    assert F.pw[F.admin] not in r.out and '"password":"***"' in r.out, r
    assert "/cms/configuration/basicauth" in r.out, r
    r = ok(cmsctl("--print-curl", "cc", "list", "--user", F.admin, "--password", F.pw[F.admin],
                  url=dead))
    assert "Authorization: Basic ***" in r.out, r
    assert basic(F.admin, F.pw[F.admin]).split()[1] not in r.out, r
    pw = random_password()
    r = ok(cmsctl("--print-curl", "user", "create", "--cc", str(F.cc), "--user-id", "pc_" + F.u,
                  "--name", "P", "--role", "Agent", "--user-password", pw, token=SYS, url=dead))
    assert pw not in r.out and SYS not in r.out and '"password":"***"' in r.out, r
    r = ok(cmsctl("--print-curl", "--insecure", "cc", "delete", "--cc", str(F.cc), token=SYS,
                  url=dead))
    assert r.out.startswith("curl --insecure --request DELETE") and SYS not in r.out, r
    assert_error(req("GET", cc_path(F.cc) + "/user/pc_" + F.u, auth=F.auth("admin")), 404,
                 "CONF-1001")
    expect(req("GET", F.cc_path, auth=F.auth("admin")), 200, "contact center still there")


# ---- exit code 3 ------------------------------------------------------------

def test_unreachable_exit_3():
    r = code(cmsctl("cc", "list", token=F.tok["admin"],
                    url="http://127.0.0.1:%d" % closed_port()), 3)
    assert "cannot reach" in r.err, r


def test_timeout_exit_3():
    # a listener that never answers
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    try:
        r = code(cmsctl("--timeout", "1", "cc", "list", token=F.tok["admin"],
                        url="http://127.0.0.1:%d" % s.getsockname()[1]), 3)
        assert "no answer" in r.err, r
    finally:
        s.close()


def test_https_to_a_plain_http_server():
    r = code(cmsctl("cc", "list", token=F.tok["admin"], url="https://127.0.0.1:%d" % S.port), 3)
    assert "plain HTTP" in r.err and "http://" in r.err, r
    assert "--insecure" not in r.err, "a misleading hint: %r" % r


def test_tls_self_signed():
    assert shutil.which("openssl"), "openssl is not installed (scripts/bootstrap installs it)"
    d = tempfile.mkdtemp(prefix="cmsctl-tls-", dir=TMP)
    crt, key = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "2", "-subj", "/CN=127.0.0.1"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=60)
    pw = random_password()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMSD_")}
    env.update({"CMSD_ADMIN_USER": "tlsadmin", "CMSD_ADMIN_PASSWORD": pw})
    note_secret(pw)
    p = subprocess.Popen([harness.cmsd_bin(), "--listen", "127.0.0.1:0", "--db",
                          harness.new_store(d, "tls"), "--pwhash", "min", "--tls-cert",
                          crt, "--tls-key", key], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env, cwd=d)
    try:
        port = None
        for line in p.stderr:
            port = harness._listening_port(line.decode("utf-8", "replace"))
            if port:
                break
        assert port, "the TLS cmsd did not start"
        threading.Thread(target=p.stderr.read, daemon=True).start()
        url = "https://127.0.0.1:%d" % port
        creds = ["--user", "tlsadmin", "--password", pw]
        r = code(cmsctl("cc", "list", *creds, url=url), 3, "self-signed without --insecure")
        assert "TLS" in r.err and "--insecure" in r.err, r
        r = ok(cmsctl("--insecure", "--json", "cc", "list", *creds, url=url), "with --insecure")
        eq(r.json, [], "contact centers of the TLS server")
    finally:
        p.terminate()
        try:
            p.wait(30 * SLOW)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


# ---- mapping import ---------------------------------------------------------

def fixture_lead(f, attach_it=True):
    lead = create_lead(f.srv.sys_auth(), f.cc, f.process)
    if attach_it:
        attach(f.srv.sys_auth(), f.cc, f.process, f.campaign, lead)
    return lead


def test_import_mixed_rows():
    a = F.agents
    c, l = F.campaign, F.lead
    l2 = fixture_lead(F)
    l_unattached = fixture_lead(F, attach_it=False)
    put_mapping(F.auth("sup"), c, l, assigned=[a[3], a[4]], unassigned=[a[0], a[1], a[2]])
    lines = [
        "campaignId,leadId,userId,action",               # 1
        "%s,%s,%s,assign" % (c, l, a[0]),                 # 2 good
        "%s,%s,ghost1_%s,assign" % (c, l, F.u),           # 3 unknown user
        '"%s", %s ,"%s",Assign' % (c, l, a[1]),           # 4 good (quotes, spaces, case)
        "",                                               # 5 blank
        "%s,%s,%s,unassign" % (c, l, a[3]),               # 6 good
        "%s,%s,%s,maybe" % (c, l, a[2]),                  # 7 bad action
        "abc,%s,%s,assign" % (l, a[2]),                   # 8 bad campaignId
        "%s,0,%s,assign" % (c, a[2]),                     # 9 bad leadId
        "%s,%s,,assign" % (c, l),                         # 10 empty userId
        "%s,%s,ghost2_%s,unassign" % (c, l, F.u),         # 11 unknown user
        "%s,%s,%s,assign" % (c, l_unattached, a[0]),      # 12 lead not attached
        "%s,%s,%s,assign" % (NX, l, a[0]),                # 13 no such campaign
        "%s,%s,%s,assign" % (c, l2, a[5]),                # 14 good, other lead
        "%s,%s,%s,unassign" % (c, l, a[4]),               # 15 superseded by 16
        "%s,%s,%s,assign" % (c, l, a[4]),                 # 16 good: the last row decides
        "%s,%s" % (c, l),                                 # 17 too few fields
        '%s,%s,"%s,assign' % (c, l, a[2]),                # 18 unterminated quote
        "%s,%s,ghost1_%s,unassign" % (c, l2, F.u),        # 19 unknown user, other lead
        "%s,%s,%s,assign" % (NX, l2, a[0]),               # 20 no such campaign (again)
    ]
    path = write("mixed.csv", "\r\n".join(lines) + "\r\n")
    r = code(cmsctl("mapping", "import", path, token=F.tok["sup"]), 1)
    bad = {3: "ghost1_" + F.u, 7: "maybe", 8: "campaignId", 9: "leadId", 10: "userId",
           11: "ghost2_" + F.u, 12: "not attached", 13: "does not exist", 17: "4 fields",
           18: "quote", 19: "ghost1_" + F.u, 20: "does not exist"}
    reported = {}
    for line in r.err.splitlines():
        if line.startswith("line "):
            n, _, why = line[5:].partition(": ")
            reported[int(n)] = why
    eq(sorted(reported), sorted(bad), "lines reported as failed")
    for n, word in bad.items():
        assert word in reported[n], "line %d: %r does not mention %r" % (n, reported[n], word)
    assert "not a campaign user" in reported[3], reported[3]
    assert "6 rows applied, 12 failed" in r.err, r
    s = state(c, l)
    for u in (a[0], a[1], a[4]):
        assert u in s["assignedUserIds"], "%s not assigned: %r" % (u, s)
    for u in (a[2], a[3]):
        assert u in s["unassignedUserIds"], "%s not unassigned: %r" % (u, s)
    assert a[5] in state(c, l2)["assignedUserIds"], "the other lead's good row"
    # --json: the same report on stdout
    r = code(cmsctl("--json", "mapping", "import", path, token=F.tok["sup"]), 1)
    rep = r.json
    eq((rep["applied"], rep["failed"]), (6, 12), "--json counts")
    eq([x["line"] for x in rep["failures"]], sorted(bad), "--json failure lines")


def test_import_fewest_puts():
    # one PUT per lead when every row is good; the unknown-user retry adds one
    a = F.agents
    l2 = fixture_lead(F)
    rows = ["campaignId,leadId,userId,action"]
    for lead in (F.lead, l2):
        for u in a:
            rows.append("%s,%s,%s,assign" % (F.campaign, lead, u))
    r = ok(cmsctl("--json", "mapping", "import", write("few.csv", "\n".join(rows)),
                  token=F.tok["sup"]))
    eq((r.json["applied"], r.json["failed"], r.json["requests"]), (len(rows) - 1, 0, 2),
       "applied, failed, requests")
    rows.append("%s,%s,ghost_%s,assign" % (F.campaign, l2, F.u))
    r = code(cmsctl("--json", "mapping", "import", write("few2.csv", "\n".join(rows)),
                    token=F.tok["sup"]), 1)
    eq((r.json["failed"], r.json["requests"]), (1, 3), "failed, requests with one unknown user")
    eq(sorted(state(F.campaign, l2)["assignedUserIds"]), sorted(a), "the rest was applied")


def test_import_header_and_file_errors():
    before = state()
    t = F.tok["sup"]
    for name, text in (("hdr1.csv", "campaign,lead,user,action\n1,1,x,assign\n"),
                       ("hdr2.csv", "leadId,campaignId,userId,action\n"),
                       ("hdr3.csv", "%s,%s,%s,assign\n" % (F.campaign, F.lead, F.agents[0])),
                       ("empty.csv", ""), ("blank.csv", "\n\n  \n")):
        r = code(cmsctl("mapping", "import", write(name, text), token=t), 2, name)
        assert "campaignId,leadId,userId,action" in r.err, r
    code(cmsctl("mapping", "import", os.path.join(TMP, "missing.csv"), token=t), 2, "no file")
    eq(state(), before, "nothing sent")
    # a header alone (with a byte-order mark) is an empty, successful import
    r = ok(cmsctl("mapping", "import", write("bom.csv", "\ufeffcampaignId,leadId,userId,action\n"),
                  token=t))
    assert "0 rows applied, 0 failed" in r.err, r


def test_import_stdin_and_basic_credentials():
    a = F.agents
    text = "campaignId,leadId,userId,action\n%s,%s,%s,unassign\n%s,%s,%s,assign\n" % (
        F.campaign, F.lead, a[0], F.campaign, F.lead, a[1])
    r = ok(cmsctl("mapping", "import", "-", stdin=text.encode(),
                  env={"CMS_USER": F.sup, "CMS_PASSWORD": F.pw[F.sup]}))
    assert "2 rows applied, 0 failed" in r.err, r
    s = state()
    assert a[0] in s["unassignedUserIds"] and a[1] in s["assignedUserIds"], s


def test_import_errors_of_the_api():
    # an Agent may not change mappings: the import stops at the first PUT
    text = "campaignId,leadId,userId,action\n%s,%s,%s,assign\n" % (F.campaign, F.lead, F.agents[0])
    r = code(cmsctl("mapping", "import", write("agent.csv", text), token=F.tok["agent"]), 1)
    assert "import stopped at line 2 (campaign %s, lead %s): AUTH-1003" % (F.campaign, F.lead) \
        in r.err, r
    assert "0 rows applied, 0 failed, 1 not sent" in r.err, r
    # nobody answering: the import stops, exit 3 (t23 has more)
    r = code(cmsctl("mapping", "import", write("dead.csv", text), token=F.tok["sup"],
                    url="http://127.0.0.1:%d" % closed_port()), 3)
    assert "stopped at line 2" in r.err and "cannot reach" in r.err, r
    assert "0 rows applied, 0 failed, 1 not sent" in r.err, r


def test_import_print_curl():
    before = state()
    text = "campaignId,leadId,userId,action\n%s,%s,%s,assign\n%s,%s,x,bad\n" % (
        F.campaign, F.lead, F.agents[2], F.campaign, F.lead)
    r = code(cmsctl("--print-curl", "mapping", "import", write("pc.csv", text),
                    token=F.tok["sup"]), 1)
    eq(len(r.out.strip().splitlines()), 1, "one curl command")
    assert r.out.startswith("curl ") and F.tok["sup"] not in r.out and "***" in r.out, r
    assert "line 3: action" in r.err, r
    eq(state(), before, "nothing sent")


def test_import_long_file_progress():
    a = F.agents
    leads = [F.lead, fixture_lead(F), fixture_lead(F)]
    rows = ["campaignId,leadId,userId,action"]
    want = {}  # the last row of each (lead, user) decides
    for i in range(1500):
        key = (leads[i % 3], a[(i // 3) % len(a)])
        want[key] = (i // 7) % 2 == 1
        rows.append("%s,%s,%s,%s" % (F.campaign, key[0], key[1],
                                     "assign" if want[key] else "unassign"))
    rows.append("%s,%s,nobody_%s,assign" % (F.campaign, leads[1], F.u))
    r = code(cmsctl("--json", "mapping", "import", write("long.csv", "\n".join(rows)),
                    token=F.tok["sup"]), 1)
    assert "rows sent" in r.err, "no progress on stderr: %r" % r
    eq((r.json["applied"], r.json["failed"]), (1500, 1), "applied, failed")
    eq([x["line"] for x in r.json["failures"]], [1502], "the failed line")
    assert r.json["requests"] <= 4, "too many PUTs: %d" % r.json["requests"]
    eq(len(want), 3 * len(a), "pairs covered")
    for (lead, u), assigned in sorted(want.items()):
        side = "assignedUserIds" if assigned else "unassignedUserIds"
        s = state(F.campaign, lead)
        assert u in s[side], "lead %s user %s should be in %s: %r" % (lead, u, side, s)


def test_import_what_spreadsheets_write():
    # any case in the header, empty columns at the end of lines, a user id
    # with a comma (quoted), a control character in a user id
    a = F.agents
    text = ("CampaignID,LeadID,UserID,Action,,\r\n"
            "%s,%s,%s,unassign,,\r\n"
            '%s,%s,"%s, x",assign\r\n'
            "%s,%s,\"bad\x1b[2Jid\",assign\r\n" % (F.campaign, F.lead, a[0], F.campaign, F.lead,
                                                  a[1], F.campaign, F.lead))
    r = code(cmsctl("mapping", "import", write("sheet.csv", text), token=F.tok["sup"]), 1)
    assert "line 3: user '%s, x' is not a campaign user" % a[1] in r.err, r
    assert "\x1b" not in r.err and "bad\\x1B[2Jid" in r.err, "control character not escaped: %r" % r
    assert "1 row applied, 2 failed" in r.err, r
    assert a[0] in state()["unassignedUserIds"], "the good row"


def test_import_header_says_what_is_wrong():
    t = F.tok["sup"]
    r = code(cmsctl("mapping", "import", write("semi.csv", "campaignId;leadId;userId;action\n"),
                    token=t), 2)
    assert "not 'campaignId;leadId;userId;action'" in r.err and "';'" in r.err, r
    path = os.path.join(TMP, "utf16.csv")
    with open(path, "wb") as f:
        f.write("campaignId,leadId,userId,action\n1,1,x,assign\n".encode("utf-16"))
    r = code(cmsctl("mapping", "import", path, token=t), 2)
    assert "UTF-16" in r.err, r
    r = code(cmsctl("mapping", "import", write("cr.csv", "campaignId,leadId,userId,action\r"
                                                "1,1,x,assign\r"), token=t), 2)
    assert "CR alone" in r.err and "\\x0D" in r.err, r


class FakeCms(object):
    """An HTTP server that answers PUTs of the mapping as told: each item of
    `script` is (status, headers, body) for one PUT, None to close the
    connection without an answer; the last item repeats."""

    def __init__(self, script):
        self.script, self.puts = list(script), []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_PUT(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                fake.puts.append(json.loads(body))
                step = fake.script[min(len(fake.puts), len(fake.script)) - 1]
                if step is None:
                    self.close_connection = True
                    return
                status, headers, out = step
                raw = json.dumps(out).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def cms_error(status, code_, msg):
    return (status, {}, {"statusCode": status, "status": harness.REASONS[status],
                         "errorCode": code_, "errorMessage": msg})


MAPPED = (200, {}, {"campaignLeadId": 1, "assignedCampaignUserIds": [1],
                    "unassignedCampaignUserIds": [], "leadId": 2, "campaignId": 1,
                    "assignedUserIds": ["a"], "unassignedUserIds": []})
BUSY = cms_error(503, "SYS-1003", "Service unavailable")


def import_against(script, rows=("1,2,a,assign",), args=()):
    fake = FakeCms(script)
    try:
        t0 = time.time()
        r = cmsctl(*(list(args) + ["--json", "mapping", "import",
                                   write("fake.csv", "campaignId,leadId,userId,action\n" +
                                         "\n".join(rows) + "\n")]),
                   token="fake-token", url=fake.url)
        return r, fake.puts, time.time() - t0
    finally:
        fake.close()


def test_import_retries_what_the_server_could_not_take_then():
    # a busy server (503) is asked again after a wait, and the rows apply
    r, puts, took = import_against([BUSY, MAPPED])
    ok(r, "503 then 200")
    eq((r.json["applied"], r.json["requests"], r.json["retries"]), (1, 2, 1), "applied, PUTs, retries")
    eq(puts[0], puts[1], "the same PUT again")
    assert "SYS-1003" in r.err and "trying again" in r.err, r
    # Retry-After is honoured (0 s here: three quick tries again), then the rows fail
    busy_now = (503, {"Retry-After": "0"}, BUSY[2])
    r, puts, took = import_against([busy_now])
    code(r, 1, "always 503")
    eq((r.json["notSent"], r.json["requests"], r.json["retries"]), (1, 4, 3),
       "not sent, PUTs, retries")
    eq(r.json["stopped"]["outcome"], "busy", "why the import stopped")
    assert "SYS-1003" in r.json["stopped"]["reason"], r
    assert took < 3 * SLOW, "Retry-After: 0 was not honoured (%.1f s)" % took
    # 429 too, after the Retry-After it names
    r, puts, took = import_against([(429, {"Retry-After": "1"}, cms_error(429, "HTTP-1429",
                                                                          "Too many requests")[2]),
                                    MAPPED])
    ok(r, "429, then 200")
    eq((len(puts), r.json["retries"]), (2, 1), "PUTs, retries")
    assert took >= 1, "Retry-After: 1 was not waited for (%.1f s)" % took
    # a request without an answer (connection closed) is tried once more
    r, puts, took = import_against([None, MAPPED])
    ok(r, "no answer, then 200")
    eq((len(puts), r.json["retries"]), (2, 1), "PUTs, retries")
    r, puts, took = import_against([None])
    code(r, 3, "never an answer")
    eq((len(puts), r.json["retries"]), (2, 1), "PUTs, retries without an answer")
    # a refusal that will not change is not asked again
    r, puts, took = import_against([cms_error(400, "CONF-1002", "Invalid request")])
    code(r, 1, "400")
    eq((len(puts), r.json["retries"]), (1, 0), "PUTs, retries after a 400")
