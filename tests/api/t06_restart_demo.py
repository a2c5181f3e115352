"""
t06 - durability across restarts (SIGTERM and SIGKILL), graceful shutdown
with requests in flight, the --demo mode's curl command, and the logs
(API.md section 6).
"""
import base64
import http.client
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import threading
import time

from harness import *  # noqa: F401,F403
from harness import SLOW, REQ_TIMEOUT

S = None
F = None


def setup_module():
    global S, F
    S = use(Server().start())
    F = make_fixture(extra_agents=1)


# ---- restarts -------------------------------------------------------------------------

def snapshot(R, f, a, leads):
    out = {}
    for lead in leads:
        out[lead] = get_mapping(a, f.campaign, lead, srv=R)
    return out


def check_model(snap, model, cu, what):
    for lead, m in snap.items():
        check_mapping(m, assigned=sorted(model[lead]), unassigned=sorted(set(cu) - model[lead]),
                      cu=cu, what="%s, lead %d" % (what, lead))


def random_puts(R, f, a, leads, model, cu, rng, n):
    for _ in range(n):
        lead = rng.choice(leads)
        users = rng.sample(sorted(cu), 3)
        k = rng.randint(0, 3)
        assigned, unassigned = users[:k], users[k:]
        r = put_mapping(a, f.campaign, lead, assigned, unassigned, srv=R)
        check_mapping(expect(r, 200, "PUT before restart"), f.campaign, lead,
                      assigned=assigned, unassigned=unassigned, cu=cu)
        model[lead] = (model[lead] | set(assigned)) - set(unassigned)


def test_restart_keeps_every_acknowledged_change():
    R = Server().start()
    f = make_fixture(extra_agents=6, srv=R)
    a = f.auth("admin")
    lead2 = create_lead(a, f.cc, f.process, srv=R)
    attach(a, f.cc, f.process, f.campaign, lead2, srv=R)
    leads = [f.lead, lead2]
    cu = dict(f.cu)
    model = {f.lead: set(), lead2: set()}
    rng = random.Random(7)
    random_puts(R, f, a, leads, model, cu, rng, 24)
    # a few other kinds of change
    p = create_process(a, f.cc, srv=R)
    gone = f.agents[5]
    expect(req("DELETE", f.cc_path + "/user/" + gone, auth=a, srv=R), 204)
    out = f.agents[4]
    expect(req("DELETE", f.camp_path + "/campaign-user/" + out, auth=a, srv=R), 204)
    for u in (gone, out):
        del cu[u]
        for lead in leads:
            model[lead].discard(u)
    snap = snapshot(R, f, a, leads)
    check_model(snap, model, cu, "before the restart")
    eq(R.stop(), 0, "exit code after SIGTERM")
    R.start()
    eq(snapshot(R, f, a, leads), snap, "mappings after a SIGTERM restart (old token)")
    expect(req("GET", proc_path(f.cc, p), auth=a, srv=R), 200, "process after restart")
    assert_error(req("GET", f.cc_path + "/user/" + gone, auth=a, srv=R), 404, "CONF-1001",
                 "deleted user after restart")
    eq(set(campaign_users(a, f.cc, f.process, f.campaign, srv=R)), set(cu),
       "campaign users after restart")
    login(f.agent, f.pw[f.agent], srv=R)
    # acknowledged changes also survive a SIGKILL
    random_puts(R, f, a, leads, model, cu, rng, 10)
    snap = snapshot(R, f, a, leads)
    check_model(snap, model, cu, "before the kill")
    R.kill()
    R.start()
    eq(snapshot(R, f, a, leads), snap, "mappings after SIGKILL and restart")
    eq(R.stop(), 0, "exit code after SIGTERM")


def test_sigterm_finishes_requests_in_flight():
    T = Server().start()
    f = make_fixture(extra_agents=7, srv=T)
    a = f.auth("admin")
    slow_user = f.agents[6]
    load_users = f.agents[:6]
    body = json.dumps({"leadId": f.lead, "campaignId": f.campaign,
                       "assignedUserIds": [slow_user], "unassignedUserIds": []}).encode()
    sock = open_socket(T)
    sock.sendall(request_head("PUT", MAPPING, {"Content-Type": "application/json",
                                              "Content-Length": str(len(body)),
                                              "Authorization": a}) + body[:10])
    stop = threading.Event()
    errors = []
    history = {u: [] for u in load_users}   # (action, outcome) with outcome ok/unknown

    def load(u):
        k = 0
        while not stop.is_set() and k < 2000:
            act = (k % 2 == 0)
            k += 1
            try:
                r = put_mapping(a, f.campaign, f.lead, [u] if act else [], [] if act else [u],
                                srv=T)
            except (OSError, http.client.HTTPException, AssertionError):
                # connection refused or reset during shutdown: outcome unknown
                history[u].append((act, "unknown"))
                return
            except Exception as e:
                errors.append("%s: %s: %s" % (u, type(e).__name__, e))
                return
            if r.status == 200:
                history[u].append((act, "ok"))
            elif r.status == 503:
                history[u].append((act, "refused"))
                return
            else:
                errors.append("%s: %d %s" % (u, r.status, short(r.raw)))
                return
    ts = [threading.Thread(target=load, args=(u,), daemon=True) for u in load_users]
    for t in ts:
        t.start()
    # once every load thread has had an answer, the server has accepted the
    # slow connection too (it was opened first)
    deadline = time.time() + 10 * SLOW
    while time.time() < deadline and not all(history[u] for u in load_users):
        time.sleep(0.02)
    time.sleep(0.2 * SLOW)
    T.terminate()
    time.sleep(0.3 * SLOW)
    try:
        sock.sendall(body[10:])
        r = read_response(sock, "PUT", MAPPING, srv=T, timeout=30 * SLOW)
    finally:
        sock.close()
    check_mapping(expect(r, 200, "request in flight at SIGTERM"), f.campaign, f.lead,
                  assigned=[slow_user], unassigned=[])
    rc = T.wait()
    stop.set()
    for t in ts:
        t.join(REQ_TIMEOUT)
    eq(rc, 0, "exit code after SIGTERM with requests in flight")
    assert not errors, "unexpected answers during shutdown: %s" % errors[:3]
    acked = sum(1 for h in history.values() for _, o in h if o == "ok")
    assert acked >= len(load_users), "the load threads got only %d answers" % acked
    T.start()
    m = get_mapping(a, f.campaign, f.lead, srv=T)
    assigned = set(m["assignedUserIds"])
    assert slow_user in assigned, "the in-flight PUT was lost: %r" % m
    for u, h in history.items():
        last_ok = None
        for i, (act, o) in enumerate(h):
            if o == "ok":
                last_ok = i
        possible = set()
        possible.add(h[last_ok][0] if last_ok is not None else False)
        for act, o in h[(last_ok + 1 if last_ok is not None else 0):]:
            if o == "unknown":
                possible.add(act)
        assert (u in assigned) in possible, \
            "%s: mapped=%s after restart, acknowledged history allows only %s (%s)" % (
                u, u in assigned, possible, h[-3:])
    eq(T.stop(), 0, "exit code after SIGTERM")


# ---- --demo -------------------------------------------------------------------------------------

def curl_commands(lines):
    cmds = []
    i = 0
    while i < len(lines):
        l = lines[i].strip()
        if l.startswith("curl "):
            cmd = l
            while cmd.endswith("\\") and i + 1 < len(lines):
                i += 1
                cmd = cmd + "\n" + lines[i]
            cmds.append(cmd)
        i += 1
    return cmds


def wait_curl_lines(D):
    ok = D.wait_stdout(lambda ls: any(l.strip().startswith("curl ") for l in ls), 20 * SLOW)
    assert ok, "--demo printed no line starting with 'curl ' on stdout within %d s; stdout: %s" % (
        20 * SLOW, short("\n".join(D.run.stdout)))
    # let the rest of the command (continuation lines) arrive
    n = -1
    while n != len(D.run.stdout):
        n = len(D.run.stdout)
        time.sleep(0.5)
    return curl_commands(list(D.run.stdout))


def run_shell(cmd):
    p = subprocess.run(["bash", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=REQ_TIMEOUT + 10)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def demo_put_facts(cmd):
    """The token, campaignId and leadId used by a demo curl PUT."""
    m = re.search(r"[Aa]uthorization:\s*(?:Basic|Bearer)\s+([A-Za-z0-9_\-]+)", cmd)
    assert m, "no Authorization token in the demo's command: %s" % cmd
    tok = m.group(1)
    note_secret(tok)
    args = shlex.split(cmd.replace("\\\n", " "))
    data = None
    for i, x in enumerate(args):
        if x in ("--data", "-d", "--data-raw", "--data-binary") and i + 1 < len(args):
            data = args[i + 1]
        elif x.startswith("--data="):
            data = x.split("=", 1)[1]
    assert data, "no --data in the demo's PUT command: %s" % cmd
    d = json.loads(data)
    return tok, int(d["campaignId"]), int(d["leadId"])


def check_demo(D):
    assert shutil.which("curl"), "curl is not installed"
    cmds = wait_curl_lines(D)
    assert cmds, "no curl command found"
    puts = [c for c in cmds if re.search(r"(-X|--request)\s*'?PUT", c)]
    assert puts, "the demo printed no curl PUT: %r" % cmds
    for cmd in cmds:
        rc, out, err = run_shell(cmd)
        assert rc == 0, "demo command failed (exit %d): %s\nstdout: %s stderr: %s" % (
            rc, cmd, short(out), short(err))
        if cmd.rstrip("'").endswith("/metrics"):
            assert out.startswith("# HELP cmsd_"), "the demo's metrics command: %s" % short(out)
            continue
        try:
            b = json.loads(out)
        except ValueError:
            raise AssertionError("demo command printed no JSON: %s -> %s" % (cmd, short(out)))
        assert not (isinstance(b, dict) and "errorCode" in b), "demo command answered an error: %s" % out
        if cmd in puts:
            check_mapping(b, what="the demo PUT's answer")
    # the console's address, printed alone on its line
    ui = [l.strip() for l in D.run.stdout if l.strip().endswith("/cms/ui/")]
    assert ui and ui[0].startswith("http"), "the demo printed no console address"
    rc, out, err = run_shell("curl -s '%s'" % ui[0])
    assert rc == 0 and "<html" in out.lower(), "the console at %s: %s" % (ui[0], short(out))
    cmd = puts[0]
    rc, out, err = run_shell(cmd + " --silent --output /dev/null --write-out '%{http_code}'")
    eq(out.strip(), "200", "HTTP status of the demo's curl PUT")
    for l in D.run.stdout:   # what the demo shows once must never reach the logs
        for m in re.finditer(r"(?:password|token)[^:=]*[:=]?\s+([A-Za-z0-9_\-+/=.]{12,})", l, re.I):
            note_secret(m.group(1))
    tok, campaign, lead = demo_put_facts(cmd)
    m = get_mapping(bearer(tok), campaign, lead, srv=D)
    check_mapping(m, campaign, lead)
    assert "anav_agent" in m["assignedUserIds"], "anav_agent not assigned: %r" % m
    for u in ("exe_gs", "madhur1"):
        assert u in m["unassignedUserIds"], "%s not an unassigned campaign user: %r" % (u, m)
    return tok


def demo_users(D):
    sysauth = D.sys_auth()
    r = req("GET", BASE + "/cc?limit=1000", auth=sysauth, srv=D)
    ccs = expect(r, 200)
    users = []
    for c in ccs:
        r = req("GET", cc_path(c["contactCenterId"]) + "/user?limit=1000", auth=sysauth, srv=D)
        users += expect(r, 200)
    return ccs, users


def test_demo_prints_a_working_curl_command_twice():
    D = Server(extra_args=["--demo"]).start()
    tok = check_demo(D)
    ccs, users = demo_users(D)
    ids = {u["userId"]: u for u in users}
    for u in ("anav_agent", "exe_gs", "madhur1"):
        assert u in ids, "demo data lacks user %s: %r" % (u, sorted(ids))
    assert any(u["role"] == "Administrator" for u in users), "demo data has no Administrator"
    stderr_before = "\n".join(D.run.stderr)
    eq(D.stop(), 0, "exit code after SIGTERM")
    assert tok not in stderr_before, "the demo's token appears in stderr"
    # a second start on the same database still prints a working command
    D.start()
    tok2 = check_demo(D)
    ccs2, users2 = demo_users(D)
    eq(len(ccs2), len(ccs), "contact centers after a second --demo start")
    eq(sorted(u["userId"] for u in users2), sorted(ids), "users after a second --demo start")
    stderr_after = "\n".join(D.run.stderr)
    assert tok2 not in stderr_after, "the demo's token appears in stderr"
    eq(D.stop(), 0, "exit code after SIGTERM")


# ---- logs -----------------------------------------------------------------------------------------

def test_listening_line():
    lines = [json.loads(l) for l in S.run.stderr if l.startswith("{")]
    ls = [o for o in lines if isinstance(o, dict) and o.get("msg") == "listening"]
    assert ls, "no listening line"
    eq(ls[0].get("address"), "127.0.0.1", "listening address")
    eq(ls[0].get("port"), S.port, "listening port")
    eq(ls[0].get("level"), "info", "listening level")


def test_logs_are_json_without_secrets_and_carry_request_ids():
    sysauth = S.sys_auth()
    pw = random_password()
    uid = create_user(sysauth, F.cc, role="Agent", password=pw)
    tok = login(uid, pw)
    wrong = random_password()
    note_secret(wrong)
    newpw = random_password()
    note_secret(newpw)
    rs = [req("GET", F.cc_path, auth=basic(uid, pw)),
          req("GET", F.cc_path, auth=bearer(tok)),
          req("GET", F.cc_path, auth=token_basic(tok)),
          login_resp(uid, wrong),
          req("GET", F.cc_path, auth=basic(uid, wrong)),
          req("GET", "/nope"),
          req("PUT", F.cc_path + "/user/" + uid, {"password": newpw}, auth=F.auth("admin")),
          req("POST", BASICAUTH, {"username": uid, "password": newpw}),
          # a client that forgot the quotes around the password
          req("POST", BASICAUTH, raw='{"username": "%s", "password": %s}' % (uid, wrong))]
    eq([r.status for r in rs[:6]], [200, 200, 200, 401, 401, 404],
       "statuses of the sample requests")
    assert rs[6].status in (200, 204), "password change: %d" % rs[6].status
    assert_error(rs[8], 400, "CONF-1002", "login with malformed JSON")
    eq(rs[7].status, 200, "login with the new password")
    note_secret(rs[7].json["authToken"])
    rids = [r.headers.get("x-request-id") for r in rs]
    assert all(rids), "missing request ids"

    def all_logged(lines):
        text = "\n".join(lines)
        return all('"%s"' % rid in text for rid in rids)
    ok = S.wait_stderr(all_logged, 5 * SLOW)
    text = "\n".join(S.run.stderr)
    missing = [rid for rid in rids if '"%s"' % rid not in text]
    assert ok, "request ids not found in any log line: %r" % missing
    for rid in rids:
        line = next(l for l in S.run.stderr if '"%s"' % rid in l)
        o = json.loads(line)
        assert isinstance(o, dict), "log line is not an object: %s" % line
    secrets = [pw, tok, wrong, newpw, rs[7].json["authToken"], S.admin_password,
               base64.b64encode(("%s:%s" % (uid, pw)).encode()).decode(),
               base64.b64encode(("%s:%s" % (uid, wrong)).encode()).decode()] + list(F.pw.values()) \
        + list(F.tok.values())
    for i, l in enumerate(S.run.stderr):
        if re.match(r"^(==\d+==|--\d+--)", l):
            continue
        try:
            o = json.loads(l)
        except ValueError:
            raise AssertionError("stderr line %d is not JSON: %r" % (i + 1, l[:200]))
        assert isinstance(o, dict), "stderr line %d is not a JSON object: %r" % (i + 1, l[:200])
        assert "level" in o and "msg" in o, "log line without level/msg: %r" % l[:200]
        for s in secrets:
            assert s not in l, "a password or token (%s...) is logged: %s" % (
                s[:4], l.replace(s, "<SECRET>")[:300])
        assert "authorization" not in l.lower() or ("Basic " not in l and "Bearer " not in l), \
            "an Authorization header is logged: %s" % l[:200]


# ---- at rest ------------------------------------------------------------------------------------

def test_no_password_or_token_at_rest():
    R = Server().start()
    f = make_fixture(extra_agents=0, srv=R)
    extra = [login(f.admin, f.pw[f.admin], srv=R) for _ in range(3)]
    newpw = random_password()
    r = req("PUT", f.cc_path + "/user/" + f.agent, {"password": newpw}, auth=f.auth("admin"), srv=R)
    assert r.status in (200, 204), "password change: %d %s" % (r.status, short(r.raw))
    secrets = list(f.pw.values()) + list(f.tok.values()) + extra + [newpw, R.admin_password]
    # the SQLite files as they are, or a pg_dump of the PostgreSQL database
    data = store_bytes(R)
    assert data, "nothing stored in %s" % R.store_url()
    for s in secrets:
        assert s.encode() not in data, "a password or token (%s...) is stored in clear" % s[:4]
    assert b"$argon2id$" in data, "no argon2id hash in the database"
    eq(R.stop(), 0, "exit code after SIGTERM")
    data = store_bytes(R)
    for s in secrets:
        assert s.encode() not in data, "a password or token (%s...) is stored in clear" % s[:4]


# ---- SIGINT, and two nodes on one store --------------------------------------------------------

def test_sigint_also_exits_cleanly():
    R = Server().start()
    f = make_fixture(extra_agents=0, srv=R)
    R.proc.send_signal(signal.SIGINT)
    eq(R.wait(), 0, "exit code after SIGINT")
    R.start()
    expect(req("GET", f.cc_path, auth=f.auth("admin"), srv=R), 200, "data after SIGINT")
    eq(R.stop(), 0, "exit code after SIGTERM")


def test_two_servers_on_one_database():
    """'no update is lost, on one node or many': two cmsd processes share one
    store (SQLite file or PostgreSQL database); writers alternate between them."""
    R1 = Server().start()
    f = make_fixture(extra_agents=6, srv=R1)
    R2 = Server(share=R1, admin_password=R1.admin_password).start()
    nodes = [R1, R2]
    a = f.auth("admin")
    expect(req("GET", f.cc_path, auth=a, srv=R2), 200, "a token from node 1 on node 2")
    users = f.agents
    rounds = 10
    plans = {u: [random.Random(50 + i).random() < 0.5 for _ in range(rounds)]
             for i, u in enumerate(users)}
    errors = []

    def worker(i, u):
        try:
            for k, act in enumerate(plans[u]):
                node = nodes[(i + k) % 2]
                r = put_mapping(a, f.campaign, f.lead, [u] if act else [], [] if act else [u],
                                srv=node)
                if r.status != 200:
                    errors.append("%s on node %d: %d %s" % (u, (i + k) % 2 + 1, r.status,
                                                            short(r.raw)))
                    return
        except Exception as e:
            errors.append("%s: %s: %s" % (u, type(e).__name__, e))
    ts = [threading.Thread(target=worker, args=(i, u), daemon=True) for i, u in enumerate(users)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(REQ_TIMEOUT * rounds)
    assert not any(t.is_alive() for t in ts), "writers still running"
    assert not errors, "%d failed PUTs, first: %s" % (len(errors), errors[0])
    want = set(u for u in users if plans[u][-1])
    for n, node in enumerate(nodes):
        m = get_mapping(a, f.campaign, f.lead, srv=node)
        check_mapping(m, assigned=sorted(want), unassigned=sorted(set(f.cu) - want), cu=f.cu,
                      what="node %d after concurrent writes on two nodes" % (n + 1))
    eq(R2.stop(), 0, "exit code of node 2")
    eq(R1.stop(), 0, "exit code of node 1")


# ---- options ------------------------------------------------------------------------------------

def test_options_from_the_environment():
    """API.md section 6: each option is also settable as CMSD_<NAME>; the
    command line wins."""
    R = Server(db_arg=False)
    via_env = new_store(R.tmpdir, "from-env")
    R.extra_env["CMSD_DB"] = via_env
    R.start()
    create_cc(R.sys_auth(), srv=R)
    eq(R.stop(), 0, "exit code after SIGTERM")
    assert store_in_use(via_env), "CMSD_DB was not used (%s is empty)" % via_env
    # the default, sqlite:cms.db in the working directory, whatever the backend
    assert not os.path.exists(os.path.join(R.tmpdir, "cms.db")), "the default store was used"
    Q = Server()
    ignored = new_store(Q.tmpdir, "ignored")
    Q.extra_env["CMSD_DB"] = ignored
    Q.start()
    create_cc(Q.sys_auth(), srv=Q)
    eq(Q.stop(), 0, "exit code after SIGTERM")
    assert store_in_use(Q.store_url()), "--db was not used"
    assert not store_in_use(ignored), "CMSD_DB won over --db"


def test_body_limit_option():
    """README: --body-limit BYTES (default 1048576)."""
    R = Server(extra_args=["--body-limit", "4096"]).start()
    f = make_fixture(extra_agents=1, srv=R)
    base = {"leadId": f.lead, "campaignId": f.campaign, "assignedUserIds": [f.agents[0]],
            "unassignedUserIds": [], "pad": ""}
    for size, want in ((4096, 200), (4097, 413)):
        b = dict(base)
        b["pad"] = "x" * (size - len(json.dumps(b).encode()))
        raw = json.dumps(b).encode()
        eq(len(raw), size, "body size arithmetic")
        r = req("PUT", MAPPING, raw=raw, auth=f.auth("admin"), srv=R)
        if want == 413:
            assert_error(r, 413, "HTTP-1413", "%d bytes with --body-limit 4096" % size)
        else:
            expect(r, 200, "%d bytes with --body-limit 4096" % size)
    eq(R.stop(), 0, "exit code after SIGTERM")
