"""
t22 - cmsctl and the change feed (docs/feed.md, API.md §8), run as a black
box against a real cmsd: `mapping watch` (--once, human and --json lines,
filters, --cursor-file resumes without printing an event twice, 410 and 401
messages and exit codes, reconnection with backoff while the server is down,
SIGTERM/SIGINT end it with exit 0 and the cursor file intact), the `cursor:`
line of `mapping get`, and `user assignments USERID`.

The binary is found as in t20 (CMSCTL_BIN, else next to CMSD_BIN).  Timings
are loose (multiplied by SLOW under valgrind): they bound how long a test
waits, never how fast cmsctl must be, except where a bound is the point
(SIGTERM during a 25 s long-poll must end the watch in a few seconds).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import cmsctl_run
from cmsctl_run import Proxy, closed_port, cmsctl_bin, code, ok
from harness import *  # noqa: F401,F403
from harness import SLOW

S = None
F = None
TMP = None
WATCHES = []

FEED = MAPPING + "/changes"
CURSOR_RE = re.compile(r"^[0-9a-f]{16}$")
EVENT_KEYS = {"cursor", "contactCenterId", "campaignId", "leadId", "campaignLeadId",
              "assigned", "unassigned", "cause", "actor", "at", "requestId"}


def cmsctl(*args, **kw):
    """cmsctl run to its end against srv= (default S); see cmsctl_run."""
    return cmsctl_run.run(TMP, kw.pop("srv", S), args, kw)


def setup_module():
    global S, F, TMP
    TMP = tempfile.mkdtemp(prefix="cmsctl-feed-")
    S = use(Server().start())
    F = make_fixture(extra_agents=6)
    b = cmsctl_bin()
    assert os.access(b, os.X_OK), "no executable cmsctl at %s (make, or set CMSCTL_BIN)" % b


def teardown_module():
    for w in WATCHES:
        w.kill()
    shutil.rmtree(TMP, ignore_errors=True)


# ---- helpers ------------------------------------------------------------------

def head(f=None, srv=None):
    """The feed's position now: the X-Change-Cursor of a mapping GET."""
    f = f or F
    r = req("GET", "%s?campaignId=%s&leadId=%s" % (MAPPING, f.campaign, f.lead),
            auth=f.auth("admin"), srv=srv or f.srv)
    expect(r, 200, "mapping GET for its cursor")
    c = r.headers.get("x-change-cursor", "")
    assert CURSOR_RE.match(c), "X-Change-Cursor of a mapping GET: %r" % c
    return c


def events(after, f=None, srv=None, **query):
    """The events after `after` as the server answers them (wait=0)."""
    f = f or F
    q = "".join("&%s=%s" % kv for kv in sorted(query.items()))
    r = req("GET", "%s?after=%s&wait=0&limit=1000%s" % (FEED, after, q), auth=f.auth("admin"),
            srv=srv or f.srv)
    return expect(r, 200, "feed GET")["events"]


def change(f=None, lead=None, assigned=(), unassigned=(), srv=None):
    """A mapping PUT as the Supervisor that must change something."""
    f = f or F
    expect(put_mapping(f.auth("sup"), f.campaign, lead or f.lead, assigned, unassigned,
                       srv=srv or f.srv), 200, "mapping PUT")


def human(ev):
    """The line cmsctl prints for the event ev."""
    return "%s campaign %s lead %s%s%s (%s by %s)" % (
        ev["cursor"], ev["campaignId"], ev["leadId"],
        "".join(" +" + u for u in ev["assigned"]), "".join(" -" + u for u in ev["unassigned"]),
        ev["cause"], ev["actor"])


def watch_args(after, *more):
    return ["mapping", "watch", "--once", "--wait", "0", "--after", after] + list(more)


def read(path):
    try:
        with open(path) as fh:
            return fh.read()
    except FileNotFoundError:
        return None


class Watch(object):
    """`cmsctl ARGS` running in the background, stdout and stderr in files."""

    def __init__(self, args, srv=None, **kw):
        self.args = list(args)
        self.out_path = tempfile.mktemp(prefix="watch-out-", dir=TMP)
        self.err_path = tempfile.mktemp(prefix="watch-err-", dir=TMP)
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.p = subprocess.Popen([cmsctl_bin()] + self.args, stdin=subprocess.DEVNULL,
                                      stdout=out, stderr=err,
                                      env=cmsctl_run.environment(TMP, srv or S, kw), cwd=TMP)
        WATCHES.append(self)

    @property
    def out(self):
        return read(self.out_path) or ""

    @property
    def err(self):
        return read(self.err_path) or ""

    def __repr__(self):
        return "cmsctl %s (exit %r)\n  stdout: %s\n  stderr: %s" % (
            " ".join(self.args), self.p.poll(), short(self.out, 800), short(self.err, 800))

    def wait_for(self, pred, timeout, what):
        """Wait until pred(self) holds while the watch runs."""
        deadline = time.time() + timeout * SLOW
        while not pred(self):
            assert self.p.poll() is None, "%s: the watch ended: %r" % (what, self)
            assert time.time() < deadline, "%s: not within %d s: %r" % (what, timeout, self)
            time.sleep(0.1)

    def wait_lines(self, n, timeout, what):
        self.wait_for(lambda w: len(w.out.splitlines()) >= n, timeout, what)
        return self.out.splitlines()

    def stop(self, sig, timeout):
        """Send sig; return the exit code, failing when it takes over timeout s."""
        t0 = time.time()
        self.p.send_signal(sig)
        try:
            rc = self.p.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("still running %d s after signal %d: %r" % (timeout, sig, self))
        cmsctl_run.check_report(cmsctl_run.Ran(self.args, rc, self.out, self.err))
        self.seconds = time.time() - t0
        return rc

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


# ---- help and usage -------------------------------------------------------------

def test_help():
    for args in (["mapping", "watch", "--help"], ["user", "assignments", "--help"],
                 ["help", "mapping", "watch"]):
        r = ok(cmsctl(*args, url=None), " ".join(args))
        assert r.out.startswith("usage: cmsctl "), r
    r = ok(cmsctl("mapping", "watch", "--help", url=None))
    for opt in ("--campaign ID", "--lead ID", "--user-id USERID", "--after CURSOR",
                "--cursor-file FILE", "--once", "--wait SECONDS"):
        assert opt in r.out, "watch --help lacks %s: %r" % (opt, r)
    assert "watch" in ok(cmsctl("mapping", "--help", url=None)).out
    assert "assignments" in ok(cmsctl("user", "--help", url=None)).out


def test_usage_errors_exit_2():
    t = F.tok["admin"]
    bad = os.path.join(TMP, "bad.cursor")
    with open(bad, "w") as fh:
        fh.write("not a cursor\n")
    for args in (["mapping", "watch", "--after", "xyz"],
                 ["mapping", "watch", "--after", "0" * 15],
                 ["mapping", "watch", "--after", "g" * 16],
                 ["mapping", "watch", "--after", "A" * 16],
                 ["mapping", "watch", "--wait", "61"],
                 ["mapping", "watch", "--wait", "-1"],
                 ["mapping", "watch", "--campaign", "x"],
                 ["mapping", "watch", "--cursor-file", bad],
                 ["mapping", "watch", "extra"],
                 ["user", "assignments", "--cc", str(F.cc)],
                 ["user", "assignments", "--cc", str(F.cc), F.agent, F.sup],
                 ["user", "assignments", F.agent]):
        r = code(cmsctl(*args, token=t), 2, " ".join(args))
        assert r.err.strip() and not r.out, r
    r = code(cmsctl("mapping", "watch", "--cursor-file", bad, token=t), 2)
    assert bad in r.err, "the message should name the cursor file: %r" % r


def test_print_curl_sends_nothing():
    dead = "http://127.0.0.1:%d" % closed_port()
    r = ok(cmsctl("--print-curl", "mapping", "watch", "--after", "0" * 16, "--campaign", "7",
                  "--user-id", "a b", token=F.tok["admin"], url=dead))
    line = r.out.strip()
    assert line.startswith("curl --request GET") and "\n" not in line, r
    for part in ("/cms/configuration/voice/campaignLeadUserMapping/changes?", "wait=25",
                 "after=" + "0" * 16, "campaignId=7", "userId=a%20b"):
        assert part in line, "%s not in %r" % (part, line)


# ---- mapping get: the snapshot's cursor -----------------------------------------

def test_mapping_get_prints_cursor():
    c = head()
    t = F.tok["admin"]
    one = ["mapping", "get", "--campaign", str(F.campaign), "--lead", str(F.lead)]
    for args in (one, ["--json"] + one, ["mapping", "get", "--campaign", str(F.campaign)],
                 ["--json", "mapping", "get", "--campaign", str(F.campaign), "--limit", "1"]):
        r = ok(cmsctl(*args, token=t), " ".join(args))
        assert ("cursor: %s\n" % c) in r.err, "no 'cursor: %s' on stderr: %r" % (c, r)
        assert "cursor" not in r.out, "the cursor belongs on stderr: %r" % r
        if "--json" in args:
            r.json  # stdout is still the server's JSON alone
    # the printed cursor starts a watch at the snapshot: the next change only
    r = ok(cmsctl(*one, token=t))
    printed = re.search(r"^cursor: ([0-9a-f]{16})$", r.err, re.M).group(1)
    change(assigned=[F.agents[5]])
    r = ok(cmsctl(*watch_args(printed), token=t))
    evs = events(printed)
    eq(len(evs), 1, "events since the snapshot")
    eq(r.out, human(evs[0]) + "\n", "watch from the snapshot's cursor")
    change(unassigned=[F.agents[5]])


# ---- mapping watch ----------------------------------------------------------------

def test_watch_once_human_and_json():
    a = sorted(F.agents[:3])
    c0 = head()
    change(assigned=[a[1], a[0]])
    change(assigned=[a[2]], unassigned=[a[0]])
    evs = events(c0)
    eq(len(evs), 2, "events of two PUTs")
    r = ok(cmsctl(*watch_args(c0), token=F.tok["admin"]))
    want = ["%s campaign %d lead %d +%s +%s (mapping by %s)" % (
                evs[0]["cursor"], F.campaign, F.lead, a[0], a[1], F.sup),
            "%s campaign %d lead %d +%s -%s (mapping by %s)" % (
                evs[1]["cursor"], F.campaign, F.lead, a[2], a[0], F.sup)]
    eq(r.out.splitlines(), want, "watch --once lines")
    eq(r.err, "", "stderr of a quiet watch --once")
    # --json: one compact object per line, the server's events as they came
    r = ok(cmsctl("--json", *watch_args(c0), token=F.tok["admin"]))
    lines = r.out.splitlines()
    eq(len(lines), 2, "JSON lines")
    for line, ev in zip(lines, evs):
        assert line.startswith("{") and '": ' not in line, "not compact JSON: %r" % line
        got = json.loads(line)
        eq(set(got), EVENT_KEYS, "event keys")
        eq(got, ev, "a JSON line vs the server's event")
    # nothing new: nothing printed, exit 0
    r = ok(cmsctl(*watch_args(evs[-1]["cursor"]), token=F.tok["admin"]))
    eq(r.out, "", "watch --once after the last event")
    change(unassigned=[a[1], a[2]])


def test_watch_filters():
    a3, a4 = F.agents[3], F.agents[4]
    l2 = create_lead(F.srv.sys_auth(), F.cc, F.process)
    attach(F.srv.sys_auth(), F.cc, F.process, F.campaign, l2)
    other = create_campaign(F.srv.sys_auth(), F.cc, F.process)
    c0 = head()
    change(assigned=[a3])               # lead 1: a3
    change(lead=l2, assigned=[a4])      # lead 2: a4
    change(lead=l2, assigned=[a3])      # lead 2: a3
    evs = events(c0)
    eq([(e["leadId"], e["assigned"]) for e in evs],
       [(F.lead, [a3]), (l2, [a4]), (l2, [a3])], "the three events")
    t = F.tok["admin"]
    cases = [(["--lead", str(l2)], [1, 2]), (["--user-id", a3], [0, 2]),
             (["--lead", str(l2), "--user-id", a3], [2]),
             (["--campaign", str(F.campaign)], [0, 1, 2]),
             (["--campaign", str(other)], [])]
    for opts, idx in cases:
        r = ok(cmsctl(*watch_args(c0, *opts), token=t), " ".join(opts))
        eq(r.out.splitlines(), [human(evs[i]) for i in idx], "watch " + " ".join(opts))
    # the filtered cursor may lie past the last event shown: resuming from it
    # (through the cursor file) shows nothing again
    cf = os.path.join(TMP, "filtered.cursor")
    ok(cmsctl(*watch_args(c0, "--user-id", a4, "--cursor-file", cf), token=t))
    saved = read(cf).strip()
    assert CURSOR_RE.match(saved) and saved >= evs[1]["cursor"], "cursor file: %r" % saved
    eq(ok(cmsctl(*watch_args(c0, "--user-id", a4, "--cursor-file", cf), token=t)).out, "",
       "a second filtered run")
    change(unassigned=[a3])
    change(lead=l2, unassigned=[a3, a4])


def test_cursor_file_resume():
    a = F.agents
    cf = os.path.join(TMP, "resume.cursor")
    c0 = head()
    change(assigned=[a[0]])
    change(assigned=[a[1]])
    args = watch_args(c0, "--cursor-file", cf)   # the same command line every time
    r1 = ok(cmsctl(*args, token=F.tok["admin"]))
    evs = events(c0)
    eq(r1.out.splitlines(), [human(e) for e in evs], "first run")
    eq(read(cf), evs[-1]["cursor"] + "\n", "the cursor file after the first run")
    assert not os.path.exists(cf + ".tmp"), "FILE.tmp left behind"
    change(unassigned=[a[0]])
    r2 = ok(cmsctl(*args, token=F.tok["admin"]))
    new = events(evs[-1]["cursor"])
    eq(len(new), 1, "one change since")
    eq(r2.out.splitlines(), [human(new[0])], "second run: only the new event")
    assert not set(r1.out.splitlines()) & set(r2.out.splitlines()), "an event printed twice"
    eq(read(cf), new[0]["cursor"] + "\n", "the cursor file after the second run")
    eq(ok(cmsctl(*args, token=F.tok["admin"])).out, "", "third run, nothing new")
    # an empty file is no cursor yet: --after decides
    with open(cf, "w"):
        pass
    eq(ok(cmsctl(*args, token=F.tok["admin"])).out.splitlines(),
       [human(e) for e in evs + new], "an empty cursor file")
    change(unassigned=[a[1]])


def test_unauthorized_suggests_login():
    bogus = "x" * 43
    for extra in (["--once"], []):
        r = code(cmsctl("--json", "mapping", "watch", "--wait", "0", *extra, token=bogus,
                        timeout=60 * SLOW), 4, "401" + " ".join(extra))
        assert "AUTH-1001" in r.err and re.search(r"cmsctl --cms-url \S+ login", r.err), r
        eq(r.out, "", "stdout of a failed watch, even with --json")


def test_gone_cursor_410():
    s2 = Server(extra_args=["--change-retention", "1s"]).start()
    f2 = make_fixture(extra_agents=1, srv=s2)
    change(f2, assigned=[f2.agents[0]])
    c0 = head(f2)                            # a cursor of this feed, not 0 (the oldest)
    change(f2, unassigned=[f2.agents[0]])
    time.sleep(2.5)                          # the event after c0 is past its retention now
    change(f2, assigned=[f2.agents[0]])
    deadline = time.time() + 30 * SLOW
    while True:                              # however lazily the server purges
        r = cmsctl(*watch_args(c0), srv=s2, token=f2.tok["admin"])
        if r.rc != 0 or time.time() > deadline:
            break
        time.sleep(0.5)
    code(r, 1, "a cursor older than the retention window")
    assert "CONF-1007" in r.err and "HTTP 410" in r.err, r
    assert "retention" in r.err and "cmsctl mapping get" in r.err and "--after" in r.err, r
    assert "cursor file" not in r.err, r
    eq(r.out, "", "nothing printed")
    # from a cursor file, without --once: it stops all the same, and says the
    # file may go; the file stays as it was
    cf = os.path.join(TMP, "gone.cursor")
    with open(cf, "w") as fh:
        fh.write(c0 + "\n")
    r = code(cmsctl("--json", "mapping", "watch", "--wait", "0", "--cursor-file", cf, srv=s2,
                    token=f2.tok["admin"], timeout=60 * SLOW), 1, "410 from a cursor file")
    assert "CONF-1007" in r.err and "delete the cursor file " + cf in r.err, r
    eq(r.out, "", "nothing printed, even with --json")
    eq(read(cf), c0 + "\n", "the cursor file is left as it was")
    s2.stop()


def test_sigterm_and_sigint_stop_cleanly():
    for sig in (signal.SIGTERM, signal.SIGINT):
        cf = os.path.join(TMP, "sig%d.cursor" % sig)
        c0 = head()
        args = ["mapping", "watch", "--wait", "25", "--after", c0, "--cursor-file", cf]
        w = Watch(args, token=F.tok["admin"])
        change(assigned=[F.agents[2]])
        lines = w.wait_lines(1, 20, "the change's line")
        ev = events(c0)
        eq(lines, [human(ev[0])], "the line of the change")
        w.wait_for(lambda w: read(cf) == ev[0]["cursor"] + "\n", 10, "the cursor file")
        time.sleep(1)                   # well into the next 25 s long-poll
        eq(w.stop(sig, 10), 0, "exit code on signal %d: %r" % (sig, w))
        assert w.seconds < 5 * SLOW, "took %.1f s to stop: %r" % (w.seconds, w)
        assert "stopped" in w.err, w
        eq(read(cf), ev[0]["cursor"] + "\n", "the cursor file after the signal")
        assert not os.path.exists(cf + ".tmp"), "FILE.tmp left behind"
        # the same command again: only what came after
        change(unassigned=[F.agents[2]])
        r = ok(cmsctl(*(args[:2] + ["--once", "--wait", "0"] + args[4:]), token=F.tok["admin"]))
        eq(r.out.splitlines(), [human(e) for e in events(ev[0]["cursor"])], "after a restart")
        eq(len(r.out.splitlines()), 1, "one new event")


def test_reconnects_with_backoff():
    s3 = Server().start()
    f3 = make_fixture(extra_agents=2, srv=s3)
    proxy = Proxy()
    proxy.up(s3.port)
    cf = os.path.join(TMP, "outage.cursor")
    c0 = head(f3)
    w = Watch(["mapping", "watch", "--wait", "1", "--after", c0, "--cursor-file", cf],
              url="http://127.0.0.1:%d" % proxy.port, token=f3.tok["admin"])
    try:
        change(f3, assigned=[f3.agents[0]])
        w.wait_lines(1, 20, "the first change")
        # the server goes away: the watch keeps trying
        proxy.down()
        s3.stop()
        w.wait_for(lambda w: w.err.count("trying again") >= 2, 30, "two tries while down")
        assert "cannot reach" in w.err or "answer" in w.err, w
        # ... and picks up when it is back
        s3.start()
        proxy.up(s3.port)
        change(f3, assigned=[f3.agents[1]])
        lines = w.wait_lines(2, 60, "the change made after the outage")
        eq(lines, [human(e) for e in events(c0, f3)], "every change once, in order")
        eq(w.stop(signal.SIGTERM, 10), 0, "exit code")
        eq(read(cf), events(c0, f3)[-1]["cursor"] + "\n", "the cursor file")
    finally:
        w.kill()
        proxy.down()
        s3.stop()


# ---- user assignments -------------------------------------------------------------

ASSIGNMENT_COLUMNS = ["campaignId", "campaignName", "leadId", "leadName", "campaignLeadId",
                      "priority", "enabled"]


def test_user_assignments():
    agent = F.agent
    l3 = create_lead(F.srv.sys_auth(), F.cc, F.process, "off-" + F.u)
    cl3 = attach(F.srv.sys_auth(), F.cc, F.process, F.campaign, l3, priority=7, enabled=False)
    change(assigned=[agent])
    change(lead=l3, assigned=[agent])
    path = "%s/user/%s/assignments" % (F.cc_path, agent)
    api = req("GET", path, auth=F.auth("admin"))
    want = expect(api, 200, "assignments GET")
    eq(len(want), 2, "the agent's assignments")
    args = ["user", "assignments", "--cc", str(F.cc), agent]
    # the table
    r = ok(cmsctl(*args, token=F.tok["admin"]))
    lines = r.out.splitlines()
    eq(lines[0].split(), ASSIGNMENT_COLUMNS, "table header")
    eq(len(lines), 3, "header and two rows: %r" % r)
    eq(lines[1].split(), [str(F.campaign), "camp-" + F.u, str(F.lead), "lead-" + F.u,
                          str(F.campaign_lead), "1", "true"], "the first row")
    eq(lines[2].split(), [str(F.campaign), "camp-" + F.u, str(l3), "off-" + F.u, str(cl3), "7",
                          "false"], "the disabled campaign lead")
    cursor = api.headers.get("x-change-cursor")
    if cursor:
        assert "cursor: %s\n" % cursor in r.err, r
    # --json: as the API answers; the Agent may read its own
    eq(ok(cmsctl("--json", *args, token=F.tok["admin"])).json, want, "--json")
    eq(ok(cmsctl("--json", *args, token=F.tok["agent"])).json, want, "the Agent's own")
    eq(ok(cmsctl("--json", *(args + ["--limit", "1", "--offset", "1"]),
                 token=F.tok["agent"])).json, want[1:], "one page")
    # another user's: 403; an unknown user: 404
    r = code(cmsctl("user", "assignments", "--cc", str(F.cc), F.agents[0],
                    token=F.tok["agent"]), 1, "an Agent reading another's")
    assert "AUTH-1003" in r.err, r
    r = code(cmsctl("user", "assignments", "--cc", str(F.cc), "nobody_" + F.u,
                    token=F.tok["admin"]), 1, "an unknown user")
    assert "CONF-1001" in r.err, r
    # a user mapped nowhere: the header alone
    r = ok(cmsctl("user", "assignments", "--cc", str(F.cc), F.agents[5], token=F.tok["admin"]))
    eq(r.out.split(), ASSIGNMENT_COLUMNS, "no assignments")
    change(unassigned=[agent])
    change(lead=l3, unassigned=[agent])
