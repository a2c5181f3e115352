"""
t47 - long lists are streamed (issue 14, point 2): a mapping list GET
(API.md section 3) used to be built whole in memory, `limit` x every user of
the campaign; now it is sent as it is made (docs/decisions.md, "Long lists
are streamed"), so that a client that does not read makes cmsd hold a piece
and one lead's object, not the page.

The store gets a campaign of USERS users and LEADS leads (some users mapped
to each lead), written straight into it while cmsd is stopped (through the
API it would take minutes).  Then:

  - the streamed answers (one campaign, every lead of the caller, several
    pages) are byte for byte what the single-lead GETs of their leads
    answer, between brackets and commas, with X-Total-Count and
    X-Change-Cursor as before;
  - GETS list GETs of `limit` 100 by an Agent whose clients never read grow
    cmsd's VmRSS by less than RSS_BOUND_MB (printed; the old code grew by
    the whole pages), and it is given back once they go;
  - Python's http.client, Node's fetch and curl read the whole answer, and
    so does a client that reads slowly, a little at a time;
  - a store failure before the first byte answers the error envelope; one
    in the middle of the stream (--faults) ends the connection, which the
    client sees as an incomplete answer, and cmsd logs it.

Under valgrind the store is smaller and memory is not measured (nor under
ASan, whose allocator keeps freed memory in quarantine).
"""
import http.client
import json
import os
import socket
import subprocess
import time
import types

from harness import *  # noqa: F401,F403
from harness import VALGRIND
from feedlib import check_cursor, tail

# ASan's allocator makes the big store cost 100 s (and memory is not
# measured under it): the sanitizer build gets valgrind's smaller store
SANITIZED = b"__asan_init" in open(cmsd_bin(), "rb").read()
USERS = 800 if VALGRIND or SANITIZED else 5000
LEADS = 40 if VALGRIND or SANITIZED else 400
GETS = 8
# a page in the middle of the campaign's leads, several pieces long
MID_OFF, MID_N = (101, 37) if LEADS >= 400 else (LEADS // 4, LEADS // 2)
LIMIT = 100
RSS_BOUND_MB = 32        # growth allowed for GETS unread pages (the old code: ~100 MiB)
S = None
F = None
K = None


def fill_sql(url, prefix, cc, process, campaign):
    """USERS users of cc enrolled in campaign, LEADS leads of process attached
    to it, and every user whose campaign-user id plus the campaign lead's id
    is a multiple of 97 mapped to that lead."""
    if url.startswith("sqlite:"):
        seq = "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < %d) "
        uid = "'%s' || printf('%%05d', i)" % prefix
        lname = "'%s' || printf('%%04d', i)" % prefix
        frm = " FROM seq"
        seq_u, seq_l = seq % USERS, seq % LEADS
    else:
        uid = "'%s' || lpad(i::text, 5, '0')" % prefix
        lname = "'%s' || lpad(i::text, 4, '0')" % prefix
        seq_u = seq_l = ""
        frm = " FROM generate_series(1, %d) AS i"
    return [
        seq_u + "INSERT INTO users (user_id, cc_id, name, role) SELECT %s, %d, 'Big agent', "
        "'Agent'%s" % (uid, cc, frm % USERS if "%d" in frm else frm),
        "INSERT INTO campaign_user (campaign_id, user_pk) SELECT %d, pk FROM users "
        "WHERE user_id LIKE '%s%%' ORDER BY user_id" % (campaign, prefix),
        seq_l + "INSERT INTO lead (process_id, name) SELECT %d, %s%s" % (
            process, lname, frm % LEADS if "%d" in frm else frm),
        "INSERT INTO campaign_lead (campaign_id, lead_id, priority, enabled) "
        "SELECT %d, id, 1, 1 FROM lead WHERE name LIKE '%s%%' ORDER BY id" % (campaign, prefix),
        "INSERT INTO lead_user (campaign_lead_id, campaign_user_id) "
        "SELECT cl.id, cu.id FROM campaign_lead cl JOIN campaign_user cu "
        "ON cu.campaign_id = cl.campaign_id WHERE cl.campaign_id = %d "
        "AND (cu.id + cl.id) %% 97 = 0" % campaign,
    ]


def setup_module():
    global S, F, K
    S = use(Server(extra_args=["--faults"]).start())
    F = make_fixture(extra_agents=1)
    K = types.SimpleNamespace(prefix="big-%s-" % F.u)
    K.campaign = create_campaign(S.sys_auth(), F.cc, F.process, "big-" + F.u)
    S.stop()
    t0 = time.time()
    store_sql(S.store_url(), fill_sql(S.store_url(), K.prefix, F.cc, F.process, K.campaign))
    mapped = store_sql(S.store_url(), "SELECT count(*) FROM lead_user lu JOIN campaign_lead cl "
                       "ON cl.id = lu.campaign_lead_id WHERE cl.campaign_id = %d" % K.campaign)
    print("# t47: %d users, %d leads, %s mappings written in %.1f s" % (
        USERS, LEADS, mapped[0][0], time.time() - t0), flush=True)
    S.start(extra_args=["--faults"])
    K.path = "%s?campaignId=%d" % (MAPPING, K.campaign)
    r = expect(req("GET", K.path + "&limit=1000", auth=F.auth("sup")), 200, "the campaign")
    eq(len(r), LEADS, "leads of the big campaign")
    K.leads = [o["leadId"] for o in r]


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def steady_rss(pid, settle=1.0, longest=20.0):
    """VmRSS once it has not moved by more than 1 MiB for `settle` s."""
    t_end = time.time() + longest
    last, since = rss_kb(pid), time.time()
    while time.time() < t_end:
        time.sleep(0.2)
        now = rss_kb(pid)
        if abs(now - last) > 1024:
            last, since = now, time.time()
        elif time.time() - since >= settle:
            break
    return rss_kb(pid)


def measured():
    """Whether cmsd's VmRSS means what it says: not under valgrind or ASan."""
    if VALGRIND:
        return False
    with open("/proc/%d/maps" % S.proc.pid) as f:
        return "libasan" not in f.read()


SINGLE = {}                # (campaign, lead) -> its single-lead GET's body


def expected_page(auth, pairs):
    """The list answer the single-lead GETs of (campaign, lead) pairs make
    (nothing changes the mapping in this module: each is asked once)."""
    for c, lead in pairs:
        if (c, lead) not in SINGLE:
            r = req("GET", "%s?campaignId=%d&leadId=%d" % (MAPPING, c, lead), auth=auth)
            expect(r, 200, "single-lead GET of %d/%d" % (c, lead))
            SINGLE[(c, lead)] = r.raw
    return b"[" + b",".join(SINGLE[p] for p in pairs) + b"]"


def test_streamed_pages_are_the_single_lead_answers():
    agent = F.auth("agent")
    c0 = tail(F.auth("sup"))
    for what, path, total, pairs in (
            ("first page", K.path, LEADS, [(K.campaign, x) for x in K.leads[:LIMIT]]),
            ("a middle page", K.path + "&limit=%d&offset=%d" % (MID_N, MID_OFF), LEADS,
             [(K.campaign, x) for x in K.leads[MID_OFF:MID_OFF + MID_N]]),
            ("the whole campaign", K.path + "&limit=1000", LEADS,
             [(K.campaign, x) for x in K.leads]),
            ("every lead of the caller", MAPPING + "?limit=1000", LEADS + 1,
             [(F.campaign, F.lead)] + [(K.campaign, x) for x in K.leads])):
        r = req("GET", path, auth=agent)
        expect(r, 200, what)
        eq(r.headers.get("x-total-count"), str(total), what + ": X-Total-Count")
        eq(r.headers.get("content-type"), "application/json", what + ": Content-Type")
        c = check_cursor(r.headers.get("x-change-cursor"), what + ": X-Change-Cursor")
        assert c >= c0, "%s: X-Change-Cursor %s before %s" % (what, c, c0)
        # sent as it is made: no length is known in advance
        eq(r.headers.get("transfer-encoding"), "chunked", what + ": Transfer-Encoding")
        assert "content-length" not in r.headers, what + ": Content-Length on a stream"
        want = expected_page(agent, pairs)
        assert r.raw == want, "%s: %d bytes, not the %d bytes of the single-lead GETs" % (
            what, len(r.raw), len(want))
        print("# t47: %s: %d leads, %d bytes streamed" % (what, len(pairs), len(r.raw)),
              flush=True)
    # a page that fits in one piece is answered whole, as it always was
    r = req("GET", K.path + "&limit=1", auth=agent)
    eq(r.raw, expected_page(agent, [(K.campaign, K.leads[0])]), "limit=1")
    assert r.headers.get("content-length") == str(len(r.raw)), "limit=1: Content-Length"
    r = req("GET", "%s?campaignId=%d&limit=5&offset=%d" % (MAPPING, K.campaign, LEADS),
            auth=agent)
    eq((r.status, r.raw, r.headers.get("x-total-count")), (200, b"[]", str(LEADS)),
       "a page past the end")


def unread_growth(path, what, bound):
    """GETS GETs of path by an Agent whose clients never read (a small
    receive buffer, so that the kernel takes little of it either): cmsd's
    VmRSS growth with them open and after they left, in MiB (printed)."""
    socks = []
    pid = S.proc.pid
    head = request_head("GET", path, {"Authorization": F.auth("agent")})
    # read whole first, in parallel, so that every worker's store cache
    # (SQLite's pages) is warm: what grows then is what the unread hold
    parallel([lambda: expect(req("GET", path, auth=F.auth("agent")), 200, what + ": warm")
              for _ in range(GETS)], what + ": warm-up")
    before = steady_rss(pid)
    try:
        for _ in range(GETS):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", S.port))
            s.sendall(head)
            socks.append(s)
        time.sleep(1.0)
        during = steady_rss(pid)
        # each has its status line and its first piece, and the rest waits
        for i, s in enumerate(socks):
            s.settimeout(10)
            got = s.recv(4096)
            assert got.startswith(b"HTTP/1.1 200"), "%s: unread GET %d: %r" % (what, i, got[:80])
        during = max(during, steady_rss(pid))
    finally:
        for s in socks:
            s.close()
    time.sleep(0.5)
    after = steady_rss(pid)
    grow, kept = (during - before) / 1024.0, (after - before) / 1024.0
    print("# t47: %s: VmRSS before %d KiB, with %d unread %d KiB (+%.1f MiB), after they "
          "went %d KiB (+%.1f MiB)" % (what, before, GETS, during, grow, after, kept), flush=True)
    # the server is still well
    expect(req("GET", path, auth=F.auth("agent")), 200, what + ": a GET after")
    if measured():
        assert grow < bound, "%s: %d unread pages grew cmsd by %.1f MiB (bound %d)" % (
            what, GETS, grow, bound)
        assert kept < bound, "%s: %.1f MiB kept after the clients left" % (what, kept)


def test_unread_pages_hold_little_memory():
    unread_growth(K.path + "&limit=%d" % LIMIT,
                  "mapping pages of %d leads x %d users" % (LIMIT, USERS), RSS_BOUND_MB)


def test_clients_read_the_whole_stream():
    url = "http://127.0.0.1:%d%s&limit=%d" % (S.port, K.path, LIMIT)
    want = req("GET", K.path + "&limit=%d" % LIMIT, auth=F.auth("agent")).raw
    eq(want, expected_page(F.auth("agent"), [(K.campaign, x) for x in K.leads[:LIMIT]]),
       "http.client's answer")
    js = ("fetch(process.argv[1], {headers: {Authorization: process.argv[2]}})"
          ".then(async r => { if (r.status !== 200) throw new Error('status ' + r.status);"
          " process.stdout.write(Buffer.from(await r.arrayBuffer())); })"
          ".catch(e => { console.error(String(e)); process.exit(1); });")
    p = subprocess.run(["node", "-e", js, url, F.auth("agent")], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    eq(p.returncode, 0, "node: %s" % short(p.stderr))
    assert p.stdout == want, "Node's fetch read %d bytes, not %d" % (len(p.stdout), len(want))
    p = subprocess.run(["curl", "-sS", "--fail", "-H", "Authorization: " + F.auth("agent"), url],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    eq(p.returncode, 0, "curl: %s" % short(p.stderr))
    assert p.stdout == want, "curl read %d bytes, not %d" % (len(p.stdout), len(want))


def test_a_slow_reader_gets_the_whole_page():
    want = req("GET", K.path + "&limit=%d" % LIMIT, auth=F.auth("agent")).raw
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(REQ_TIMEOUT)
    s.connect(("127.0.0.1", S.port))
    conn = http.client.HTTPConnection("127.0.0.1", S.port, timeout=REQ_TIMEOUT)
    conn.sock = s
    conn.request("GET", K.path + "&limit=%d" % LIMIT, headers={"Authorization": F.auth("agent")})
    r = conn.getresponse()
    eq(r.status, 200, "slow reader's status")
    got, n, t0 = [], 0, time.time()
    while True:
        b = r.read(64 * 1024)
        if not b:
            break
        got.append(b)
        n += 1
        if n == 3:                # a pause well within --timeout
            time.sleep(1.0)
        else:
            time.sleep(0.005)
    conn.close()
    body = b"".join(got)
    print("# t47: a slow reader took %d reads, %.1f s, for %d bytes" % (
        n, time.time() - t0, len(body)), flush=True)
    assert body == want, "the slow reader got %d bytes, not %d" % (len(body), len(want))


def test_store_failures_before_and_during_the_stream():
    agent = F.auth("agent")
    path = K.path + "&limit=%d" % LIMIT
    r = req("GET", path, auth=agent)
    ran = int(r.headers.get("x-cmsd-statements"))
    # before the first byte: the envelope of API.md section 5
    for nth in range(1, ran + 1):
        r = req("GET", path, auth=agent, headers={"X-Cmsd-Fault": "store-error@%d" % nth})
        assert_error(r, 500, "SYS-1000", "statement %d of %d failed" % (nth, ran))
    r = req("GET", path, auth=agent, headers={"X-Cmsd-Fault": "store-unavailable@%d" % ran})
    assert_error(r, 503, "SYS-1003", "the last statement before the answer unavailable")
    # in the middle: the status has left, the connection ends early
    for kind in ("store-error", "store-unavailable"):
        conn = http.client.HTTPConnection("127.0.0.1", S.port, timeout=REQ_TIMEOUT)
        conn.request("GET", path, headers={"Authorization": agent,
                                           "X-Cmsd-Fault": "%s@%d" % (kind, ran + 3)})
        resp = conn.getresponse()
        eq(resp.status, 200, kind + ": the status sent before the failure")
        rid = resp.getheader("x-request-id")
        try:
            body = resp.read()
            raise AssertionError("%s mid-stream: the client read %d bytes as a whole answer" % (
                kind, len(body)))
        except http.client.IncompleteRead as e:
            print("# t47: %s in the middle of the stream: the client got %d bytes, then "
                  "the connection ended" % (kind, len(e.partial)), flush=True)
        finally:
            conn.close()
        assert S.wait_stderr(lambda lines, rid=rid: any(
            rid in x and "while a list was sent" in x for x in lines), 10), \
            "%s mid-stream: no log line for request %s" % (kind, rid)
    # and the next GET is whole again
    eq(req("GET", path, auth=agent).raw, r_whole(path), "a GET after the failures")


def r_whole(path):
    return expected_page(F.auth("agent"), [(K.campaign, x) for x in K.leads[:LIMIT]])


HISTORY_PUTS = 6 if VALGRIND or SANITIZED else 16
HISTORY_BOUND_MB = 10    # the old code: some 22 MiB


def test_history_pages_are_streamed():
    """A lead's history, each entry naming every user of the campaign: the
    streamed page is the small pages' entries, and unread pages hold
    little."""
    users = ["%s%05d" % (K.prefix, i) for i in range(1, USERS + 1)]
    lead = K.leads[-1]
    c0 = tail(F.auth("sup"))
    t0 = time.time()
    for i in range(HISTORY_PUTS):
        expect(put_mapping(F.auth("sup"), K.campaign, lead, users if i % 2 == 0 else [],
                           [] if i % 2 == 0 else users), 200, "PUT %d" % i)
    print("# t47: %d PUTs of %d users in %.1f s" % (HISTORY_PUTS, USERS, time.time() - t0),
          flush=True)
    path = "%s/campaign/%d/lead-user/history?leadId=%d" % (F.proc_path, K.campaign, lead)
    agent = F.auth("agent")
    unread_growth(path + "&limit=%d" % HISTORY_PUTS,
                  "history pages of %d entries x %d users" % (HISTORY_PUTS, USERS),
                  HISTORY_BOUND_MB)
    # one entry a page: each fits in a piece, answered whole as before
    ones = []
    for off in range(HISTORY_PUTS):
        r = req("GET", path + "&limit=1&offset=%d" % off, auth=agent)
        expect(r, 200, "history entry %d" % off)
        eq(r.headers.get("content-length"), str(len(r.raw)), "entry %d: Content-Length" % off)
        assert r.raw.startswith(b"[{") and r.raw.endswith(b"}]"), "entry %d: %r" % (off, r.raw[:40])
        ones.append(r.raw[1:-1])
    for what, q, part in (("the whole history", "&limit=1000", ones),
                          ("a middle page", "&limit=3&offset=2", ones[2:5]),
                          ("past the end", "&offset=%d" % HISTORY_PUTS, [])):
        r = req("GET", path + q, auth=agent)
        expect(r, 200, what)
        eq(r.headers.get("x-total-count"), str(HISTORY_PUTS), what + ": X-Total-Count")
        want = b"[" + b",".join(part) + b"]"
        assert r.raw == want, "%s: %d bytes, not the %d bytes of the one-entry pages" % (
            what, len(r.raw), len(want))
        if len(part) > 8 and len(want) > 128 * 1024:  # past a piece and a batch of entries
            eq(r.headers.get("transfer-encoding"), "chunked", what + ": Transfer-Encoding")
    b = json.loads(r_get(path + "&limit=1000"))
    # (the oldest assigned everyone, some of whom the store had mapped already)
    eq([len(e["assignedUserIds"]) + len(e["unassignedUserIds"]) for e in b[:-1]],
       [USERS] * (HISTORY_PUTS - 1), "users named by each entry")
    # the same changes as events: a page of the feed stops after the event
    # that passes 1 MiB, and its cursor goes on from there
    pages, events, after = [], [], c0
    while True:
        r = req("GET", "%s/changes?after=%s&limit=1000&campaignId=%d" % (MAPPING, after,
                                                                          K.campaign),
                auth=F.auth("sup"))
        page = expect(r, 200, "feed page %d" % len(pages))
        pages.append((len(page["events"]), len(r.raw)))
        events += page["events"]
        after = page["cursor"]
        if not page["events"]:
            break
    print("# t47: the feed after %d PUTs: pages of (events, bytes) %s" % (HISTORY_PUTS, pages),
          flush=True)
    eq([e["requestId"] for e in events], [e["requestId"] for e in reversed(b)],
       "the feed's events vs the history")
    biggest = max(len(json.dumps(e)) for e in events)
    for n, size in pages:
        assert size <= (1 << 20) + biggest + 100, "a feed page of %d events is %d bytes" % (
            n, size)


def r_get(path):
    r = req("GET", path, auth=F.auth("agent"))
    expect(r, 200, path)
    return r.raw
