"""
t23 - cmsctl when every later request would fail alike, and "lead L: not
found" told apart (issue 15 point 10; docs/cmsctl.md, "Exit codes" and
"mapping import"), as a black box against a real cmsd on either store
(CMSD_TEST_PG):

- an import whose cmsd is killed midway stops at the first PUT without an
  answer (after its one try again): exit 3, one message saying where it
  stopped, how many rows were applied, failed and not sent, and that the
  same import may be run again; the rows before it stay applied, those
  after are untouched, and running the import again finishes it;
- an import whose token is revoked midway stops at the first 401: exit 4,
  the same one message, and the command that logs in again at the URL used;
- a single command refused with 401 gives that advice too (t20 checks it);
- mapping set / get / import of a lead that exists but is not attached to
  the campaign say so and give the command that attaches it (which works),
  a lead of another process and a lead that does not exist are named so.

The midway failures are made by a proxy between cmsctl and cmsd that counts
the PUTs and, at a chosen one, kills cmsd (or revokes the token) first.
"""
import os
import re
import shutil
import tempfile
import threading

import cmsctl_run
from cmsctl_run import Proxy, code, ok
from harness import *  # noqa: F401,F403
from harness import SLOW

S = None
F = None
TMP = None

PUT_LINE = b"PUT /cms/configuration/voice/campaignLeadUserMapping "


def cmsctl(*args, **kw):
    return cmsctl_run.run(TMP, S, args, kw)


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def setup_module():
    global S, F, TMP
    TMP = tempfile.mkdtemp(prefix="cmsctl-t23-")
    S = use(Server().start())
    F = make_fixture(extra_agents=2)


def teardown_module():
    shutil.rmtree(TMP, ignore_errors=True)


class PutProxy(Proxy):
    """A proxy to srv that counts the mapping PUTs passing through it.  When
    PUT number `at` arrives, before it is forwarded: with cut, the proxy
    goes down (every connection dropped, new ones refused), then runs
    on_put(); else it runs on_put() and forwards the PUT."""

    def __init__(self, srv, at, on_put, cut=False):
        Proxy.__init__(self)
        self.at, self.on_put, self.cut = at, on_put, cut
        self.puts, self.tail = 0, b""
        self.done = threading.Event()  # on_put() has run
        self.url = "http://127.0.0.1:%d" % self.port
        self.up(srv.port)

    def on_request(self, data):
        with self.lock:
            seen = self.tail + data
            self.tail = seen[1 - len(PUT_LINE):]  # a PUT line split between chunks
            before, self.puts = self.puts, self.puts + seen.count(PUT_LINE)
        if not before < self.at <= self.puts:
            return False
        if self.cut:
            self.down()
        self.on_put()
        self.done.set()
        return self.cut


def bulk(f, srv, leads, name):
    """A file of two rows per lead (each agent assigned), leads in id order
    (the order the import sends them), and one unknown user on the first
    lead: its group takes 2 PUTs, every other group 1.  Returns the path
    and the line of each lead's first row."""
    lines, first = ["campaignId,leadId,userId,action"], {}
    for lead in leads:
        first[lead] = len(lines) + 1
        for a in f.agents:
            lines.append("%s,%s,%s,assign" % (f.campaign, lead, a))
    lines.insert(2, "%s,%s,ghost_%s,assign" % (f.campaign, leads[0], f.u))
    for lead in leads[1:]:
        first[lead] += 1
    return write(name, "\n".join(lines) + "\n"), first


def leads_of(f, srv, n):
    """n new leads attached to f's campaign, in id order."""
    sysauth = srv.sys_auth()
    leads = []
    for _ in range(n):
        lead = create_lead(sysauth, f.cc, f.process, srv=srv)
        attach(sysauth, f.cc, f.process, f.campaign, lead, srv=srv)
        leads.append(lead)
    return sorted(leads)


def assigned(f, srv, lead):
    return sorted(get_mapping(f.auth("sup"), f.campaign, lead, srv=srv)["assignedUserIds"])


def one_stop_message(r, line, f, lead):
    """The stop is said once, where it happened; no row is reported as
    failed but the one unknown user; returns the stop line."""
    stops = [l for l in r.err.splitlines() if "import stopped" in l]
    eq(len(stops), 1, "stop messages in %r" % r)
    want = "cmsctl: import stopped at line %d (campaign %s, lead %s): " % (line, f.campaign, lead)
    assert stops[0].startswith(want), "stop line %r, want %r" % (stops[0], want)
    rows = [l for l in r.err.splitlines() if l.startswith("line ")]
    eq(len(rows), 1, "rows reported one by one: %r" % rows)
    assert rows[0].startswith("line 3: user 'ghost_") and "not a campaign user" in rows[0], rows
    assert "run the same import again: it is idempotent" in r.err, r
    return stops[0]


def test_import_stops_when_cmsd_dies_midway():
    # the module's cmsd, killed and started again (cheaper than a second one)
    leads = leads_of(F, S, 6)
    path, first = bulk(F, S, leads, "dies.csv")
    # PUTs: lead 0 twice (the unknown user), lead 1; the 4th (lead 2) finds cmsd gone
    proxy = PutProxy(S, 4, S.kill, cut=True)
    try:
        r = cmsctl("--json", "mapping", "import", path, token=F.tok["sup"], url=proxy.url)
    finally:
        proxy.down()
        killed = proxy.done.wait(30 * SLOW)
        if not S.running:
            S.start()  # for the checks below and the tests after
    assert killed, "cmsd was not killed: %r" % r
    code(r, 3, "cmsd killed")
    stop = one_stop_message(r, first[leads[2]], F, leads[2])
    assert "cannot reach %s" % proxy.url in stop, stop
    # libcurl finds the connection dropped before or after it sends the PUT:
    # then it is tried once more (and refused), never more
    assert r.err.count("trying again") <= 1, r
    assert "once the server answers again" in r.err, r
    assert "4 rows applied, 1 failed, 8 not sent" in r.err, r
    rep = r.json
    eq((rep["applied"], rep["failed"], rep["notSent"]), (4, 1, 8), "applied, failed, not sent")
    eq((rep["stopped"]["line"], rep["stopped"]["leadId"], rep["stopped"]["outcome"]),
       (first[leads[2]], leads[2], "unreachable"), "--json stopped")
    eq([x["line"] for x in rep["failures"]], [3], "--json failures: the row's own only")
    # cmsd back: the rows before the stop were applied, none after
    for lead in leads[:2]:
        eq(assigned(F, S, lead), sorted(F.agents), "lead %s before the stop" % lead)
    for lead in leads[2:]:
        eq(assigned(F, S, lead), [], "lead %s after the stop" % lead)
    # and the same import again finishes it
    r = code(cmsctl("mapping", "import", path, token=F.tok["sup"]), 1)
    assert "12 rows applied, 1 failed\n" in r.err, r
    for lead in leads:
        eq(assigned(F, S, lead), sorted(F.agents), "lead %s after the second run" % lead)


def test_import_stops_when_the_token_is_revoked_midway():
    leads = leads_of(F, S, 4)
    path, first = bulk(F, S, leads, "revoked.csv")
    tok = login(F.sup, F.pw[F.sup], "ContactCenter", F.cc)

    def revoke():
        expect(req("DELETE", BASE + "/basicauth", auth=bearer(tok)), 204, "revoke")

    proxy = PutProxy(S, 4, revoke)
    try:
        r = code(cmsctl("mapping", "import", path, token=tok, url=proxy.url,
                        env={"CMS_USER": F.sup}), 4, "token revoked")
    finally:
        proxy.down()
    stop = one_stop_message(r, first[leads[2]], F, leads[2])
    assert "AUTH-1001" in stop, stop
    advice = "cmsctl --cms-url %s login --user %s" % (proxy.url, F.sup)
    eq(r.err.count(advice), 1, "the advice to log in, once: %r" % r)
    assert "after logging in again" in r.err, r
    assert "4 rows applied, 1 failed, 4 not sent" in r.err, r
    eq(proxy.puts, 4, "PUTs sent: none after the 401")
    for lead in leads[:2]:
        eq(assigned(F, S, lead), sorted(F.agents), "lead %s before the stop" % lead)
    for lead in leads[2:]:
        eq(assigned(F, S, lead), [], "lead %s after the stop" % lead)
    # a token revoked before an import: the first PUT stops it
    r = code(cmsctl("mapping", "import", path, token=tok), 4, "revoked before")
    assert r.err.startswith("cmsctl: import stopped at line 2 (campaign %s, lead %s): AUTH-1001"
                            % (F.campaign, leads[0])), r
    assert "line 3:" not in r.err and "0 rows applied, 0 failed, 9 not sent" in r.err, r


# ---- a lead named in a campaign -------------------------------------------

ATTACH = re.compile(r"attach it with '(cmsctl campaign-lead create [^']*)'")


def test_lead_not_attached_says_so_and_how():
    lead = create_lead(S.sys_auth(), F.cc, F.process)
    a = F.agents[0]
    args = ["--campaign", str(F.campaign), "--lead", str(lead)]
    r = code(cmsctl("mapping", "set", *args, "--assign", a, token=F.tok["sup"]), 1)
    want = "cmsctl: lead %s exists but is not attached to campaign %s; attach it with " \
           "'cmsctl campaign-lead create --cc %s --process %s --campaign %s --lead %s'" % (
               lead, F.campaign, F.cc, F.process, F.campaign, lead)
    assert want in r.err.splitlines(), r
    r = code(cmsctl("mapping", "get", *args, token=F.tok["sup"]), 1)
    assert want in r.err.splitlines(), r
    # the command it gives works, and then so does the mapping
    cmd = ATTACH.search(r.err).group(1).split()[1:]
    ok(cmsctl(*cmd, token=F.tok["admin"]), "the suggested command")
    ok(cmsctl("mapping", "set", *args, "--assign", a, token=F.tok["sup"]))
    eq(assigned(F, S, lead), [a], "mapped once attached")


def test_lead_of_another_process_or_none():
    sysauth = S.sys_auth()
    p2 = create_process(sysauth, F.cc)
    other = create_lead(sysauth, F.cc, p2)
    r = code(cmsctl("mapping", "set", "--campaign", str(F.campaign), "--lead", str(other),
                    "--assign", F.agents[0], token=F.tok["sup"]), 1)
    assert "cmsctl: lead %s belongs to process %s, not to process %s of campaign %s" % (
        other, p2, F.process, F.campaign) in r.err, r
    r = code(cmsctl("mapping", "set", "--campaign", str(F.campaign), "--lead", str(NX),
                    "--assign", F.agents[0], token=F.tok["sup"]), 1)
    assert "cmsctl: lead %s does not exist in contact center %s" % (NX, F.cc) in r.err, r
    assert "attach it" not in r.err, r
    # an import says the same for each lead's rows
    unattached = create_lead(sysauth, F.cc, F.process)
    text = "campaignId,leadId,userId,action\n" + "".join(
        "%s,%s,%s,assign\n" % (F.campaign, lead, F.agents[1])
        for lead in (F.lead, unattached, other, NX))
    r = code(cmsctl("--json", "mapping", "import", write("leads.csv", text),
                    token=F.tok["sup"]), 1)
    why = {x["line"]: x["reason"] for x in r.json["failures"]}
    eq(sorted(why), [3, 4, 5], "failed lines")
    assert why[3].startswith("lead %s exists but is not attached" % unattached), why
    assert why[4].startswith("lead %s belongs to process %s" % (other, p2)), why
    assert why[5] == "lead %s does not exist in contact center %s" % (NX, F.cc), why
    eq(r.json["applied"], 1, "the attached lead's row")
