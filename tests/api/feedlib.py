"""
feedlib.py - helpers for the change-feed tests (t60, t61): API.md section 8
and docs/feed.md.  Not a test module (the runner imports only tNN_*.py).

- check_event(ev): an event has exactly the keys and types docs/feed.md gives;
- changes() / read_all() / tail(): the poll form of
  GET /cms/configuration/voice/campaignLeadUserMapping/changes;
- SSE: a Server-Sent Events client on a raw socket that decodes the chunked
  body itself, so that a test sees exactly what went over the wire: the
  headers, each event's id/event/data, the comment lines (heartbeats) with
  the time they arrived, and whether the body ended with the terminating
  chunk before the connection closed.
"""
import json
import re
import socket
import time
import urllib.parse

import harness
from harness import MAPPING, REQ_TIMEOUT, eq, expect, is_pos_int, parse_rfc3339, req, short

CHANGES = MAPPING + "/changes"

# API.md section 5: 410 CONF-1007 "Cursor too old (take a new snapshot)".  The
# table's other parentheses are notes, not part of errorMessage ("Invalid
# request (details: ...)" is sent as "Invalid request"), so both readings are
# taken; the harness's tables know the rest of the envelope.
GONE_MESSAGES = ("Cursor too old", "Cursor too old (take a new snapshot)")
harness.REASONS.setdefault(410, "Gone")
harness.CODE_STATUS.setdefault("CONF-1007", 410)
harness.MESSAGES.setdefault("CONF-1007", GONE_MESSAGES[0])


def assert_gone(resp, what=""):
    """assert_error(resp, 410, "CONF-1007") with either reading of the message."""
    b = resp.json if isinstance(resp.json, dict) else {}
    saved = harness.MESSAGES["CONF-1007"]
    if b.get("errorMessage") in GONE_MESSAGES:
        harness.MESSAGES["CONF-1007"] = b["errorMessage"]
    try:
        return harness.assert_error(resp, 410, "CONF-1007", what)
    finally:
        harness.MESSAGES["CONF-1007"] = saved
EVENT_KEYS = {"cursor", "contactCenterId", "campaignId", "leadId", "campaignLeadId",
              "assigned", "unassigned", "cause", "actor", "at", "requestId"}
CAUSES = {"mapping", "campaignUserRemoved", "leadDetached", "userDeleted",
          "campaignDeleted", "leadDeleted"}
CURSOR_RE = re.compile(r"^[0-9a-f]{16}$")
FAR_AHEAD = "7fffffffffff0000"


def check_cursor(c, what="cursor"):
    assert isinstance(c, str) and CURSOR_RE.match(c), \
        "%s is not 16 lowercase hexadecimal digits: %r" % (what, c)
    return c


def check_event(ev, what="event"):
    """docs/feed.md 'Events': exactly these keys, these types."""
    assert isinstance(ev, dict), "%s is not an object: %r" % (what, ev)
    eq(set(ev), EVENT_KEYS, what + ": keys")
    check_cursor(ev["cursor"], what + ": cursor")
    for k in ("contactCenterId", "campaignId", "leadId", "campaignLeadId"):
        assert is_pos_int(ev[k]), "%s: %s is not a positive integer: %r" % (what, k, ev[k])
    for k in ("assigned", "unassigned"):
        v = ev[k]
        assert isinstance(v, list) and all(isinstance(x, str) and x for x in v), \
            "%s: %s is not a list of userIds: %r" % (what, k, v)
        eq(v, sorted(v), "%s: %s sorted" % (what, k))
        eq(len(set(v)), len(v), "%s: %s without repeats" % (what, k))
    assert not set(ev["assigned"]) & set(ev["unassigned"]), \
        "%s: a user both assigned and unassigned: %r" % (what, ev)
    assert ev["cause"] in CAUSES, "%s: unknown cause %r" % (what, ev["cause"])
    assert isinstance(ev["actor"], str) and ev["actor"], "%s: actor %r" % (what, ev["actor"])
    parse_rfc3339(ev["at"])
    assert isinstance(ev["requestId"], str) and ev["requestId"], \
        "%s: requestId %r" % (what, ev["requestId"])
    return ev


def query(**q):
    return urllib.parse.urlencode([(k, v) for k, v in q.items() if v is not None])


def changes(auth, srv=None, headers=None, timeout=None, raw_query=None, **q):
    """One poll request; q: after, limit, wait, campaignId, leadId, userId."""
    qs = raw_query if raw_query is not None else query(**q)
    return req("GET", CHANGES + ("?" + qs if qs else ""), auth=auth, srv=srv,
               headers=headers, timeout=timeout)


def check_page(r, what="feed page"):
    """A 200 poll answer: {"events": [...], "cursor"} with X-Change-Cursor
    equal to cursor, each event well formed, cursors increasing."""
    b = expect(r, 200, what)
    assert isinstance(b, dict), "%s: not an object: %s" % (what, short(r.raw))
    eq(set(b), {"events", "cursor"}, what + ": keys")
    check_cursor(b["cursor"], what + ": cursor")
    eq(r.headers.get("x-change-cursor"), b["cursor"], what + ": X-Change-Cursor vs cursor")
    assert isinstance(b["events"], list), "%s: events is not a list" % what
    prev = None
    for i, ev in enumerate(b["events"]):
        check_event(ev, "%s: event %d" % (what, i))
        if prev is not None:
            assert ev["cursor"] > prev, "%s: cursors not increasing: %s then %s" % (
                what, prev, ev["cursor"])
        prev = ev["cursor"]
    if b["events"]:
        assert b["cursor"] >= b["events"][-1]["cursor"], \
            "%s: cursor %s lies before the last event's %s" % (
                what, b["cursor"], b["events"][-1]["cursor"])
    return b


def read_all(auth, after="0", srv=None, limit=1000, max_pages=1000, **filters):
    """Every event after `after`, paging until a page comes back empty with
    the cursor it was asked after (docs/feed.md: a filtered page may be
    empty and still move the cursor on); returns (events, cursor)."""
    events = []
    cur = after
    for _ in range(max_pages):
        r = changes(auth, srv=srv, after=cur, limit=limit, **filters)
        b = check_page(r, "feed after %s" % cur)
        if cur != "0":
            assert b["cursor"] >= cur, "cursor went back: after=%s answered %s" % (
                cur, b["cursor"])
            for ev in b["events"]:
                assert ev["cursor"] > cur, "event %s returned for after=%s" % (ev["cursor"], cur)
        events += b["events"]
        if not b["events"] and b["cursor"] == cur:
            return events, b["cursor"]
        if not b["events"] and cur == "0" and b["cursor"] == "0" * 16:
            return events, b["cursor"]
        cur = b["cursor"]
    raise AssertionError("the feed did not end after %d pages" % max_pages)


def tail(auth, srv=None, **filters):
    """The cursor at the end of the feed (as auth sees it)."""
    return read_all(auth, srv=srv, **filters)[1]


def by_request(events):
    out = {}
    for ev in events:
        out.setdefault(ev["requestId"], []).append(ev)
    return out


# --------------------------------------------------------------------------
# Server-Sent Events over a raw socket
# --------------------------------------------------------------------------

class SSE(object):
    """GET CHANGES?query with Accept: text/event-stream on a socket of its own.

    After open(): status, headers (lower-case names).  A non-200 answer's body
    is in raw/json.  events() and next_event() return dicts {id, event, data,
    json, t} (t: time.monotonic() when the event's last line arrived);
    comments holds (t, text) of every comment line; retry the retry: value;
    ended is True once the terminating chunk (or, unchunked, the close) came,
    clean_end True if that was the terminating chunk followed by nothing."""

    def __init__(self, auth, srv=None, qs="", headers=None, timeout=None):
        self.srv = srv or harness.current()
        self.auth = auth
        self.qs = qs
        self.extra = headers or {}
        self.timeout = timeout or REQ_TIMEOUT
        self.sock = None
        self.status = None
        self.headers = {}
        self.raw = b""
        self.json = None
        self.inbuf = b""          # bytes read, not yet decoded
        self.text = ""            # decoded body, not yet parsed into events
        self.chunked = False
        self.chunk_left = 0       # bytes left in the current chunk (+2 for its CRLF)
        self.ended = False
        self.clean_end = False
        self.closed = False       # the peer closed the connection
        self.queue = []
        self.comments = []
        self.retry = None
        self.junk_after_end = b""

    # -- the request and the head -------------------------------------------

    def open(self):
        self.sock = socket.create_connection(("127.0.0.1", self.srv.port), timeout=self.timeout)
        hdrs = {"Accept": "text/event-stream"}
        if self.auth is not None:
            hdrs["Authorization"] = self.auth
        hdrs.update(self.extra)
        path = CHANGES + ("?" + self.qs if self.qs else "")
        self.sock.sendall(harness.request_head("GET", path, hdrs))
        deadline = time.monotonic() + self.timeout
        while b"\r\n\r\n" not in self.inbuf:
            self._recv(deadline)
            if self.closed and b"\r\n\r\n" not in self.inbuf:
                raise AssertionError("SSE: connection closed before the head: %r" %
                                     self.inbuf[:300])
        head, self.inbuf = self.inbuf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"^HTTP/1\.[01] (\d{3})", lines[0])
        assert m, "SSE: bad status line %r" % lines[0]
        self.status = int(m.group(1))
        hl = []
        for l in lines[1:]:
            k, _, v = l.partition(":")
            hl.append((k.strip(), v.strip()))
            k = k.strip().lower()
            self.headers[k] = (self.headers[k] + ", " + v.strip()) if k in self.headers \
                else v.strip()
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        if self.status != 200:
            # an error envelope: read the whole (small) body
            body = self._read_whole(deadline)
            self.raw = body
            self.resp = harness.make_resp(self.status, hl, body, "GET", path, self.srv)
            self.json = self.resp.json
            self.close()
        else:
            self.resp = harness.make_resp(self.status, hl, b"", "GET", path, self.srv)
        return self

    def _read_whole(self, deadline):
        if self.chunked:
            while not self.ended:
                self._decode()
                if self.ended:
                    break
                self._recv(deadline)
                if self.closed:
                    self._decode()
                    break
            return self.text.encode("utf-8")
        n = int(self.headers.get("content-length", "0") or 0)
        while len(self.inbuf) < n and not self.closed:
            self._recv(deadline)
        return self.inbuf[:n]

    def _recv(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("SSE: nothing within the time")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise
        except OSError as e:
            raise AssertionError("SSE: connection error %s" % e)
        if not data:
            self.closed = True
        self.inbuf += data
        return data

    # -- the body ----------------------------------------------------------------

    def _decode(self):
        """Move decoded body bytes from inbuf to text."""
        if self.ended:
            if self.inbuf:
                self.junk_after_end += self.inbuf
                self.inbuf = b""
            return
        if not self.chunked:
            self.text += self.inbuf.decode("utf-8")
            self.inbuf = b""
            if self.closed:
                self.ended = True
            return
        while True:
            if self.chunk_left == 0:
                i = self.inbuf.find(b"\r\n")
                if i < 0:
                    return
                size_line = self.inbuf[:i].split(b";")[0].strip()
                assert re.match(rb"^[0-9a-fA-F]+$", size_line), \
                    "SSE: bad chunk size line %r" % self.inbuf[:40]
                size = int(size_line, 16)
                self.inbuf = self.inbuf[i + 2:]
                if size == 0:
                    # the terminating chunk: trailers (none expected) end with CRLF
                    self.ended = True
                    if self.inbuf.startswith(b"\r\n"):
                        self.inbuf = self.inbuf[2:]
                    self.clean_end = True
                    return
                self.chunk_left = size + 2
            if not self.inbuf:
                return
            take = min(len(self.inbuf), self.chunk_left)
            data_len = max(0, min(take, self.chunk_left - 2))
            part = self.inbuf[:data_len]
            crlf = self.inbuf[data_len:take]
            assert b"\r\n"[2 - (self.chunk_left - data_len):][:len(crlf)] == crlf, \
                "SSE: chunk not closed by CRLF: %r" % crlf
            self.inbuf = self.inbuf[take:]
            self.chunk_left -= take
            self.text += part.decode("utf-8", "replace")

    def _parse(self, now):
        t = self.text.replace("\r\n", "\n")
        while "\n\n" in t:
            block, t = t.split("\n\n", 1)
            ev = {"id": None, "event": None, "data": None, "t": now}
            data = []
            for line in block.split("\n"):
                if line.startswith(":"):
                    self.comments.append((now, line[1:].strip()))
                    continue
                f, sep, v = line.partition(":")
                if v.startswith(" "):
                    v = v[1:]
                if f == "id":
                    ev["id"] = v
                elif f == "event":
                    ev["event"] = v
                elif f == "data":
                    data.append(v)
                elif f == "retry":
                    self.retry = v
            if data:
                ev["data"] = "\n".join(data)
                try:
                    ev["json"] = json.loads(ev["data"])
                except ValueError:
                    ev["json"] = None
                self.queue.append(ev)
        # comment lines count as soon as their line is complete
        self.text = t

    def pump(self, deadline):
        """Read once (until deadline) and parse; False on timeout or close."""
        if self.closed:
            self._decode()
            self._parse(time.monotonic())
            return False
        try:
            self._recv(deadline)
        except socket.timeout:
            return False
        self._decode()
        self._parse(time.monotonic())
        return not self.closed

    def next_event(self, timeout):
        deadline = time.monotonic() + timeout
        # what came with the head (or with the last read) is parsed first
        self._decode()
        self._parse(time.monotonic())
        while not self.queue:
            if self.ended or time.monotonic() >= deadline:
                return None
            self.pump(deadline)
        return self.queue.pop(0)

    def take(self, n, timeout):
        """n events (fewer if the time runs out)."""
        deadline = time.monotonic() + timeout
        out = []
        while len(out) < n:
            ev = self.next_event(max(0.0, deadline - time.monotonic()))
            if ev is None:
                break
            out.append(ev)
        return out

    def wait_end(self, timeout):
        """Read until the body ends or the connection closes."""
        deadline = time.monotonic() + timeout
        while not self.ended and not self.closed and time.monotonic() < deadline:
            self.pump(deadline)
        # after the terminating chunk the server should close (or keep alive
        # with nothing more): read what else comes for a moment
        if self.ended and not self.closed:
            self.pump(min(deadline, time.monotonic() + 1.0))
        self._decode()
        return self.ended

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None


def sse_open(auth, srv=None, headers=None, **q):
    return SSE(auth, srv=srv, qs=query(**q), headers=headers).open()
