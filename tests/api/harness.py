"""
harness.py - a tiny test framework and the control of a real cmsd for the
black-box API tests (API.md sections 1-6, docs/decisions.md).

Standard library only.  The runner (run.py) imports every tests/api/tNN_*.py
module, runs its `test_*` functions in file and definition order and prints
one line per test:

    ok - module.test_name
    not ok - module.test_name: reason

then `N passed, N failed` as the last line.  A test may call skip(reason)
(SKIP module.test_name: reason; neither passed nor failed).  A module may define
setup_module() and teardown_module().  Every Server started while a module
runs is stopped when the module ends, and the harness then records the extra
tests `<module>.server_exit_clean` (exit code 0, no sanitizer or valgrind
report, stderr only JSON lines, no secret in stderr) and
`<module>.request_ids_present` (every response carried X-Request-Id).

Environment:
    CMSD_BIN       path of cmsd (default build/cmsd from the repository root)
    CMSD_VALGRIND  1: run cmsd under valgrind memcheck (slower timeouts)
    CMSD_TEST_PG   a PostgreSQL base URI (postgresql://USER@HOST:PORT, no
                   database; tests/pgserver start prints one): every Server
                   then gets a database of its own there, created with psql
                   and dropped when the server is cleaned up, instead of a
                   SQLite file.  backend() says which store the tests use.
"""

import atexit
import base64
import datetime
import http.client
import importlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import types
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
VALGRIND = os.environ.get("CMSD_VALGRIND") == "1"
SLOW = 4 if VALGRIND else 1          # multiplier for every timeout
REQ_TIMEOUT = 30 * SLOW              # seconds per HTTP request
START_TIMEOUT = 60 if VALGRIND else 30
STOP_TIMEOUT = 60

VALGRIND_CMD = [
    "valgrind", "--error-exitcode=99", "--leak-check=full",
    "--show-leak-kinds=definite,indirect",
    "--errors-for-leak-kinds=definite,indirect", "--track-fds=no", "-q",
]

BASE = "/cms/configuration"
MAPPING = BASE + "/voice/campaignLeadUserMapping"
MAPPING_DOUBLED = BASE + "/cms/configuration/voice/campaignLeadUserMapping"
BASICAUTH = BASE + "/basicauth"
NX = 9000000000000000000   # a positive 64-bit id that never exists
MIB = 1024 * 1024

REASONS = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    409: "Conflict", 412: "Precondition Failed", 413: "Payload Too Large",
    415: "Unsupported Media Type", 429: "Too Many Requests",
    500: "Internal Server Error", 503: "Service Unavailable",
}
MESSAGES = {
    "CONF-1002": "Invalid request",
    "CONF-1003": "User cannot be both assigned and unassigned",
    "AUTH-1001": "Authentication required",
    "AUTH-1003": "Access denied",
    "CONF-1001": "Object doesn't exist",
    "HTTP-1404": "No such endpoint",
    "HTTP-1405": "Method not allowed",
    "HTTP-1406": "Not acceptable",
    "CONF-1004": "Object already exists",
    "CONF-1005": "Object is in use",
    "CONF-1006": "Mapping changed since it was read",
    "CONF-1007": "Cursor too old (take a new snapshot)",
    "HTTP-1413": "Request body too large",
    "HTTP-1415": "Unsupported media type",
    "HTTP-1429": "Too many requests",
    "SYS-1000": "Internal server error",
    "SYS-1003": "Service unavailable",
}
CODE_STATUS = {
    "CONF-1002": 400, "CONF-1003": 400, "AUTH-1001": 401, "AUTH-1003": 403,
    "CONF-1001": 404, "HTTP-1404": 404, "HTTP-1405": 405, "HTTP-1406": 406,
    "CONF-1004": 409, "CONF-1005": 409, "CONF-1006": 412, "CONF-1007": 410, "HTTP-1413": 413, "HTTP-1415": 415,
    "HTTP-1429": 429, "SYS-1000": 500, "SYS-1003": 503,
}
MAPPING_KEYS = {
    "campaignLeadId", "assignedCampaignUserIds", "unassignedCampaignUserIds",
    "leadId", "campaignId", "assignedUserIds", "unassignedUserIds",
}
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
PG_BASE = os.environ.get("CMSD_TEST_PG", "").strip()

_rng = random.SystemRandom()
RUN_ID = "".join(_rng.choice("abcdefghijkmnpqrstuvwxyz") for _ in range(5))
_counter = [0]
_counter_lock = threading.Lock()


def uniq():
    """A short string unique within this test run, valid in userIds and names."""
    with _counter_lock:
        _counter[0] += 1
        return "%s%d" % (RUN_ID, _counter[0])


def random_password():
    return "pw-" + "".join(_rng.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                           for _ in range(18))


# --------------------------------------------------------------------------
# secrets that must never appear in cmsd's stderr
# --------------------------------------------------------------------------

SECRETS = set()
_secrets_lock = threading.Lock()


def note_secret(s):
    if isinstance(s, str) and len(s) >= 12:
        with _secrets_lock:
            SECRETS.add(s)


# --------------------------------------------------------------------------
# small assertion helpers
# --------------------------------------------------------------------------

def short(raw, n=600):
    if raw is None:
        return "<no body>"
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    raw = raw.replace("\n", "\\n")
    return raw if len(raw) <= n else raw[:n] + "...(%d bytes)" % len(raw)


def eq(actual, expected, what="value"):
    assert actual == expected, "%s: expected %r, got %r" % (what, expected, actual)


def expect(resp, status, what=""):
    """Assert the HTTP status of resp; return its parsed JSON body."""
    prefix = (what + ": ") if what else ""
    assert resp.status == status, "%s%s %s -> expected %d, got %d: %s" % (
        prefix, resp.method, resp.path, status, resp.status, short(resp.raw))
    return resp.json


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_pos_int(v):
    return is_int(v) and v > 0


def parse_rfc3339(s):
    """Parse an RFC 3339 timestamp into an aware datetime (AssertionError if not)."""
    m = re.match(r"^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?"
                 r"([Zz]|[+-]\d\d:\d\d)$", s if isinstance(s, str) else "")
    assert m, "not an RFC 3339 timestamp: %r" % (s,)
    y, mo, d, h, mi, se = (int(x) for x in m.group(1, 2, 3, 4, 5, 6))
    frac = m.group(7)
    us = int(round(float(frac) * 1e6)) if frac else 0
    z = m.group(8)
    if z in ("Z", "z"):
        tz = datetime.timezone.utc
    else:
        sign = 1 if z[0] == "+" else -1
        tz = datetime.timezone(sign * datetime.timedelta(
            hours=int(z[1:3]), minutes=int(z[4:6])))
    return datetime.datetime(y, mo, d, h, mi, se, min(us, 999999), tzinfo=tz)


def rfc3339(dt):
    """Format an aware datetime as 2026-01-02T03:04:05Z (seconds, UTC)."""
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


# --------------------------------------------------------------------------
# responses
# --------------------------------------------------------------------------

class DuplicateKeyInResponse(AssertionError):
    pass


def _no_dups(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise DuplicateKeyInResponse("server sent a JSON object with the key %r twice" % k)
        d[k] = v
    return d


class Resp(tuple):
    """(status, headers, json, raw) that also has these as attributes, plus
    method and path of the request.  headers has lower-case names."""

    def __new__(cls, status, headers, js, raw, method="", path=""):
        self = tuple.__new__(cls, (status, headers, js, raw))
        self.method = method
        self.path = path
        return self

    status = property(lambda self: self[0])
    headers = property(lambda self: self[1])
    json = property(lambda self: self[2])
    raw = property(lambda self: self[3])

    def __repr__(self):
        return "<%d %s>" % (self.status, short(self.raw, 300))


RECORD = os.environ.get("CMSD_RECORD_EXCHANGES", "").strip()
RECORD_BODY_MAX = 64 * 1024   # bigger bodies (the big-list tests) are recorded by length only
_record_lock = threading.Lock()
MODULE = [""]     # the module now running (run.py sets it), for the record


def _record(method, path, status, header_list, raw):
    """Append the exchange to CMSD_RECORD_EXCHANGES (one JSON object a
    line), for scripts/check-openapi-responses to hold against
    docs/openapi.json."""
    if not RECORD:
        return
    raw = raw or b""
    # a path on the wire has no space: what follows one is a test's label
    # ("/health (16 KB header)", hostile.as_resp)
    x = {"module": MODULE[0], "method": method, "path": path.split(" ", 1)[0], "status": status,
         "headers": [[k, v] for k, v in header_list]}
    if len(raw) > RECORD_BODY_MAX:
        x["bodyBytes"] = len(raw)   # status and headers are checked, the body is not
    else:
        x["body"] = raw.decode("utf-8", "replace")
    line = json.dumps(x)
    with _record_lock:
        with open(RECORD, "a") as f:
            f.write(line + "\n")


def make_resp(status, header_list, raw, method="", path="", srv=None):
    headers = {}
    for k, v in header_list:
        k = k.lower()
        headers[k] = (headers[k] + ", " + v) if k in headers else v
    js = None
    if raw:
        try:
            js = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_dups)
        except (ValueError, UnicodeDecodeError) as e:
            if isinstance(e, DuplicateKeyInResponse):
                raise
            js = None
    if srv is not None and method and path.startswith("/"):
        _record(method, path, status, header_list, raw)
    if srv is not None:
        srv.responses += 1
        if not headers.get("x-request-id"):
            srv.missing_request_id.append("%s %s -> %d" % (method, path, status))
    return Resp(status, headers, js, raw, method, path)


# --------------------------------------------------------------------------
# the store: a SQLite file per server, or a PostgreSQL database per server
# --------------------------------------------------------------------------

class Skip(Exception):
    """Raised by skip(): the test is reported as SKIP, neither passed nor failed."""


def skip(reason):
    raise Skip(reason)


def backend():
    """"postgresql" when CMSD_TEST_PG names a server, else "sqlite"."""
    return "postgresql" if PG_BASE else "sqlite"


def pg_url(dbname):
    """The URI of database `dbname` on the CMSD_TEST_PG server."""
    u = urllib.parse.urlsplit(PG_BASE)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + dbname, u.query, u.fragment))


def _pg_admin_url():
    u = urllib.parse.urlsplit(PG_BASE)
    return PG_BASE if u.path.strip("/") else pg_url("postgres")


# psql as psql() runs it, else the one tests/pgserver uses
PSQL_BIN = shutil.which("psql") or os.path.join(
    os.environ.get("PGSERVER_BIN", "/usr/lib/postgresql/15/bin"), "psql")


def direct_dml(url, statements):
    """Run DML statements in one transaction on the store of `url` (a --db
    URL) while cmsd runs on it, as another process would (python's sqlite3
    on the SQLite file, psql on the PostgreSQL database); return the number
    of rows each changed."""
    if url.startswith("sqlite:"):
        import sqlite3
        db = sqlite3.connect(url[len("sqlite:"):], timeout=20 * SLOW, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout = %d" % (20000 * SLOW))
            db.execute("PRAGMA foreign_keys = ON")
            eq(db.execute("PRAGMA journal_mode").fetchone()[0], "wal", "the store's journal mode")
            db.execute("BEGIN IMMEDIATE")
            counts = []
            try:
                for st in statements:
                    counts.append(db.execute(st).rowcount)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        finally:
            db.close()
        return counts
    # one psql, one transaction (-1), one result line per statement
    cmd = [PSQL_BIN, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-1", "-d", url]
    for st in statements:
        cmd += ["-c", "WITH d AS (%s RETURNING 1) SELECT count(*) FROM d" % st]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, "psql exited %d: %s" % (p.returncode, short(p.stderr))
    counts = [int(x) for x in p.stdout.decode().split()]
    eq(len(counts), len(statements), "psql result lines")
    return counts


def psql(sql, url=None, timeout=60):
    """Run `sql` (one or more statements, one transaction unless they say
    otherwise) with psql on `url` (default: the maintenance database of the
    CMSD_TEST_PG server); return the rows as lists of strings (None for NULL)."""
    cmd = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-P", "null=\\N",
           "-F", "\x1f", "-d", url or _pg_admin_url(), "-c", sql]
    env = dict(os.environ)
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, timeout=timeout)
    except FileNotFoundError:
        raise RuntimeError("psql is not installed (scripts/bootstrap installs it)")
    if p.returncode != 0:
        raise RuntimeError("psql %s: %s (exit %d): %s" % (
            url or _pg_admin_url(), short(sql, 200), p.returncode, short(p.stderr, 600)))
    rows = []
    for line in p.stdout.decode("utf-8", "replace").split("\n"):
        if line:
            rows.append([None if v == "\\N" else v for v in line.split("\x1f")])
    return rows


_pg_dbs = []               # databases created by this process, not dropped yet
_pg_count = [0]
_pg_lock = threading.Lock()


def _pg_create():
    with _pg_lock:
        _pg_count[0] += 1
        name = "cms_%d_%s_%d" % (os.getpid(), RUN_ID, _pg_count[0])
        _pg_dbs.append(name)
    psql('CREATE DATABASE "%s"' % name)
    return name


def _pg_drop(name):
    with _pg_lock:
        if name not in _pg_dbs:
            return
        _pg_dbs.remove(name)
    # FORCE: a cmsd that was killed may still hold a connection for a moment
    psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)


def _pg_drop_all():
    for name in list(_pg_dbs):
        try:
            _pg_drop(name)
        except Exception:
            pass


def new_store(directory, name="extra"):
    """A fresh, empty store that no Server owns, as a --db URL: a SQLite file
    `name`.db in `directory`, or a new PostgreSQL database (dropped at exit)."""
    if backend() == "sqlite":
        return "sqlite:" + os.path.join(directory, name + ".db")
    return pg_url(_pg_create())


def store_in_use(url):
    """Whether cmsd has put anything in the store `url`: the SQLite file
    exists, or the PostgreSQL database has a table."""
    if url.startswith("sqlite:"):
        return os.path.exists(url[len("sqlite:"):])
    rows = psql("SELECT count(*) FROM pg_catalog.pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')", url)
    return int(rows[0][0]) > 0


def store_sql(url, statements):
    """Run SQL statements (a string or a list) in one transaction on the store
    `url` while no cmsd uses it; return the last statement's rows as lists of
    strings (None for NULL), whatever the backend."""
    if isinstance(statements, str):
        statements = [statements]
    if url.startswith("sqlite:"):
        import sqlite3
        db = sqlite3.connect(url[len("sqlite:"):])
        try:
            rows = []
            for st in statements:
                rows = db.execute(st).fetchall()
            db.commit()
        finally:
            db.close()
        return [[None if v is None else str(v) for v in r] for r in rows]
    body = ";\n".join(st.rstrip().rstrip(";") for st in statements)
    return psql("BEGIN;\n%s;\nCOMMIT;" % body if len(statements) > 1 else body, url)


def store_bytes(srv):
    """Everything srv's store holds at rest, as bytes: the SQLite files
    (database, WAL, shared memory, journal), or a pg_dump of the database."""
    url = srv.store_url()
    if url.startswith("sqlite:"):
        path = url[len("sqlite:"):]
        out = b""
        for suffix in ("", "-wal", "-shm", "-journal"):
            if os.path.exists(path + suffix):
                with open(path + suffix, "rb") as f:
                    out += f.read()
        return out
    p = subprocess.run(["pg_dump", "--no-owner", "--no-privileges", "-d", url],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("pg_dump %s exited %d: %s" % (url, p.returncode, short(p.stderr)))
    return p.stdout


# --------------------------------------------------------------------------
# the server
# --------------------------------------------------------------------------

def cmsd_bin():
    """CMSD_BIN (absolute, or relative to the current directory if it exists
    there, else to the repository root); default build/cmsd of the repository."""
    b = os.environ.get("CMSD_BIN")
    if not b:
        return os.path.join(REPO, "build", "cmsd")
    if os.path.isabs(b):
        return b
    if os.path.exists(b):
        return os.path.abspath(b)
    return os.path.join(REPO, b)


class Run(object):
    """One start-to-exit life of a cmsd process."""

    def __init__(self, cmd):
        self.cmd = cmd
        self.stderr = []      # decoded lines, without the newline
        self.stdout = []
        self.rc = None
        self.killed = False
        self.timed_out = False
        self.partial_last = False
        self.cond = threading.Condition()
        self.readers = []


_all_servers = []
_module_servers = []
CURRENT = [None]


def use(srv):
    """Make srv the server that req() and the helpers talk to by default."""
    CURRENT[0] = srv
    return srv


def current():
    s = CURRENT[0]
    assert s is not None and s.port, "no running server selected (harness.use)"
    return s


class Server(object):
    """A real cmsd on 127.0.0.1 with its own store: a SQLite file in a
    temporary directory, or (CMSD_TEST_PG) a PostgreSQL database of its own.
    store_url() is the --db value."""

    def __init__(self, extra_args=(), env=None, admin_password=None, db_path=None, db_arg=True,
                 share=None):
        self.tmpdir = tempfile.mkdtemp(prefix="cmsd-api-")
        # share: another Server whose store this one uses too (a second node).
        # db_path, the older spelling, names another server's SQLite file.
        if share is None and db_path is not None:
            share = next((s for s in _all_servers if s.db_path == db_path), None)
            if share is None and backend() != "sqlite":
                raise ValueError("db_path %s is no server's store (share=SERVER "
                                 "shares one on every backend)" % db_path)
        self.share = share
        self.db_path = share.db_path if share is not None else \
            (db_path or os.path.join(self.tmpdir, "cms.db"))
        self.pg_db = None             # this server's own PostgreSQL database, once created
        self.admin_user = "sysadmin"
        self.admin_password = admin_password or random_password()
        self.extra_args = list(extra_args)
        self.extra_env = dict(env or {})
        self.db_arg = db_arg          # False: no --db option (set it through env)
        self.proc = None
        self.port = None
        self.runs = []
        self.run = None
        self.responses = 0
        self.missing_request_id = []
        self._sys_token = None
        _all_servers.append(self)
        _module_servers.append(self)

    # -- life cycle --------------------------------------------------------

    def store_url(self):
        """The --db URL of this server's store (the one it shares, if any):
        sqlite:PATH, or the URI of its PostgreSQL database (created now if new)."""
        if self.share is not None:
            return self.share.store_url()
        if backend() == "sqlite":
            return "sqlite:" + self.db_path
        if self.pg_db is None:
            self.pg_db = _pg_create()
        return pg_url(self.pg_db)

    def command(self, extra_args):
        cmd = [cmsd_bin(), "--listen", "127.0.0.1:0"] + \
            (["--db", self.store_url()] if self.db_arg else []) + \
            ["--threads", "4", "--pwhash", "min"] + list(extra_args)
        if VALGRIND:
            cmd = VALGRIND_CMD + cmd
        return cmd

    def start(self, extra_args=None, env=None):
        """Start cmsd, wait for its `listening` log line and a 200 from /health."""
        assert self.proc is None, "server already running"
        args = self.extra_args if extra_args is None else list(extra_args)
        envd = {k: v for k, v in os.environ.items() if not k.startswith("CMSD_")}
        envd["CMSD_ADMIN_USER"] = self.admin_user
        envd["CMSD_ADMIN_PASSWORD"] = self.admin_password
        envd.update(self.extra_env)
        envd.update(env or {})
        note_secret(self.admin_password)
        note_secret(base64.b64encode(("%s:%s" % (self.admin_user, self.admin_password))
                                     .encode()).decode())
        cmd = self.command(args)
        run = Run(cmd)
        self.runs.append(run)
        self.run = run
        self._sys_token = None
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=envd, cwd=self.tmpdir)
        for stream, lines in ((self.proc.stderr, run.stderr), (self.proc.stdout, run.stdout)):
            t = threading.Thread(target=self._reader, args=(stream, lines, run), daemon=True)
            t.start()
            run.readers.append(t)
        deadline = time.time() + START_TIMEOUT
        port = None
        seen = 0
        with run.cond:
            while port is None:
                while seen < len(run.stderr) and port is None:
                    port = _listening_port(run.stderr[seen])
                    seen += 1
                if port is not None:
                    break
                if self.proc.poll() is not None and len(run.readers) and \
                        not run.readers[0].is_alive():
                    break
                left = deadline - time.time()
                if left <= 0:
                    break
                run.cond.wait(min(left, 0.2))
        if port is None:
            rc = self.proc.poll()
            if rc is None:
                self.proc.kill()
                self.proc.wait()
                run.killed = True
            for t in run.readers:
                t.join(5)
            run.rc = self.proc.returncode
            self.proc = None
            raise RuntimeError("cmsd did not log its listening port within %d s "
                               "(exit code %r); command %s; stderr: %s" % (
                                   START_TIMEOUT, rc, " ".join(cmd),
                                   short("\n".join(run.stderr[-20:]), 2000)))
        self.port = port
        while True:
            try:
                r = req("GET", "/health", srv=self, timeout=5 * SLOW)
                if r.status == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            if time.time() > deadline:
                raise RuntimeError("cmsd listening on %d but /health never answered 200"
                                   % port)
            if self.proc.poll() is not None:
                raise RuntimeError("cmsd exited (%r) before /health answered; stderr: %s"
                                   % (self.proc.returncode, short("\n".join(run.stderr[-20:]))))
            time.sleep(0.05)
        return self

    @staticmethod
    def _reader(stream, lines, run):
        buf = b""
        while True:
            chunk = stream.readline()
            if not chunk:
                break
            if not chunk.endswith(b"\n"):
                run.partial_last = True
                buf = chunk
            else:
                buf = chunk[:-1]
            with run.cond:
                lines.append(buf.decode("utf-8", "replace"))
                run.cond.notify_all()
        with run.cond:
            run.cond.notify_all()

    @property
    def running(self):
        return self.proc is not None

    def terminate(self):
        """Send SIGTERM without waiting."""
        assert self.proc is not None, "server not running"
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout=STOP_TIMEOUT):
        """Wait for the process to exit (after terminate()); return its exit code."""
        run = self.run
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            run.timed_out = True
            self.proc.kill()
            rc = self.proc.wait()
        for t in run.readers:
            t.join(10)
        run.rc = rc
        self.proc = None
        self.port = None
        return rc

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, wait up to `timeout` s (then SIGKILL); return the exit code."""
        if self.proc is None:
            return self.run.rc if self.run else None
        self.terminate()
        return self.wait(timeout)

    def kill(self):
        """SIGKILL (the run is then exempt from the exit-code check)."""
        if self.proc is None:
            return None
        self.run.killed = True
        self.proc.kill()
        return self.wait()

    def restart(self, extra_args=None, env=None, admin_password=None):
        """Stop (SIGTERM) and start again on the same database."""
        rc = self.stop()
        if admin_password is not None:
            self.admin_password = admin_password
        self.start(extra_args=extra_args, env=env)
        return rc

    def cleanup(self):
        if self.proc is not None:
            self.kill()
        shutil.rmtree(self.tmpdir, ignore_errors=True)
        if self.pg_db is not None:
            try:
                _pg_drop(self.pg_db)
            except Exception as e:
                print("# could not drop database %s: %s" % (self.pg_db, e), flush=True)

    # -- output ------------------------------------------------------------

    def stderr_text(self):
        return "\n".join(l for r in self.runs for l in r.stderr)

    def wait_stdout(self, pred, timeout):
        """Wait until pred(list of stdout lines of the current run) is true."""
        run = self.run
        deadline = time.time() + timeout
        with run.cond:
            while not pred(list(run.stdout)):
                left = deadline - time.time()
                if left <= 0:
                    return False
                run.cond.wait(min(left, 0.2))
        return True

    def wait_stderr(self, pred, timeout):
        run = self.run
        deadline = time.time() + timeout
        with run.cond:
            while not pred(list(run.stderr)):
                left = deadline - time.time()
                if left <= 0:
                    return False
                run.cond.wait(min(left, 0.2))
        return True

    # -- conveniences --------------------------------------------------------

    def sys_token(self):
        if self._sys_token is None:
            self._sys_token = login(self.admin_user, self.admin_password, srv=self)
        return self._sys_token

    def sys_auth(self):
        return bearer(self.sys_token())


def _listening_port(line):
    try:
        o = json.loads(line)
    except ValueError:
        return None
    if isinstance(o, dict) and o.get("msg") == "listening" and is_int(o.get("port")) \
            and o.get("port") > 0:
        return o["port"]
    return None


def _cleanup_all():
    for s in _all_servers:
        try:
            s.cleanup()
        except Exception:
            pass
    _pg_drop_all()


atexit.register(_cleanup_all)


# --------------------------------------------------------------------------
# the client
# --------------------------------------------------------------------------

def basic(user, pw):
    v = base64.b64encode(("%s:%s" % (user, pw)).encode("utf-8")).decode()
    if len(pw) >= 8:
        note_secret(v)
    return "Basic " + v


def token_basic(tok):
    return "Basic " + tok


def bearer(tok):
    return "Bearer " + tok


def req(method, path, body=None, headers=None, auth=None, raw=None, srv=None,
        timeout=None, source=None):
    """One request on a fresh connection (from local address `source` if given).

    body: a Python value sent as JSON; raw: bytes/str sent verbatim.  Either
    sets `Content-Type: application/json` unless headers says otherwise (a
    header given as None is not sent).  auth: the Authorization value.
    Returns Resp(status, headers (lower-case names), json or None, raw bytes).
    """
    s = srv or current()
    hdrs = {}
    data = None
    if raw is not None:
        data = raw.encode("utf-8") if isinstance(raw, str) else raw
    elif body is not None:
        data = json.dumps(body).encode("utf-8")
    if data is not None:
        hdrs["Content-Type"] = "application/json"
    if auth is not None:
        hdrs["Authorization"] = auth
    for k, v in (headers or {}).items():
        for kk in list(hdrs):
            if kk.lower() == k.lower():
                del hdrs[kk]
        if v is not None:
            hdrs[k] = v
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=timeout or REQ_TIMEOUT,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        rawb = r.read()
        resp = make_resp(r.status, r.getheaders(), rawb, method, path, s)
    finally:
        conn.close()
    if path.split("?")[0].rstrip("/") == BASICAUTH and isinstance(resp.json, dict):
        note_secret(resp.json.get("authToken"))
    return resp



def metrics_by(name, label, values, srv=None):
    """One counter family of /metrics by one label: {value: count}."""
    r = req("GET", "/metrics", srv=srv, headers={"Accept": "text/plain"})
    eq(r.status, 200, "/metrics")
    text = r.raw.decode("utf-8")
    got = {}
    for v in values:
        m = re.search(r'^%s\{%s="%s"\} (\d+)$' % (re.escape(name), label, re.escape(v)),
                      text, re.M)
        assert m, "/metrics has no %s{%s=%r}" % (name, label, v)
        got[v] = int(m.group(1))
    return got

def parallel(fns, what, timeout=None):
    """Run the callables at once (after a barrier); fail with the first error
    any of them raised, or when one is still running after `timeout`."""
    errors = []
    barrier = threading.Barrier(len(fns))

    def wrap(fn):
        try:
            barrier.wait(30 * SLOW)
            fn()
        except BaseException as e:   # noqa: B902
            errors.append("%s: %s" % (type(e).__name__, e))
    ts = [threading.Thread(target=wrap, args=(fn,), daemon=True) for fn in fns]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout or REQ_TIMEOUT * 20)
    assert not any(t.is_alive() for t in ts), "%s: threads still running" % what
    assert not errors, "%s: %d threads failed, first: %s" % (what, len(errors), errors[0])


def open_socket(srv=None, timeout=None):
    s = srv or current()
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=timeout or REQ_TIMEOUT)
    return sock


def read_response(sock, method="PUT", path="", srv=None, timeout=None):
    """Read one HTTP response from a raw socket."""
    sock.settimeout(timeout or REQ_TIMEOUT)
    r = http.client.HTTPResponse(sock, method=method)
    try:
        r.begin()
        body = r.read()
    finally:
        r.close()
    return make_resp(r.status, r.getheaders(), body, method, path, srv or current())


def request_head(method, path, headers):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1"]
    for k, v in headers.items():
        lines.append("%s: %s" % (k, v))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def login_resp(user, pw, context=None, contextId=None, dateExpiry=None, srv=None,
               extra=None):
    body = {"username": user, "password": pw}
    if context is not None:
        body["context"] = context
    if contextId is not None:
        body["contextId"] = contextId
    if dateExpiry is not None:
        body["dateExpiry"] = dateExpiry
    if extra:
        body.update(extra)
    return req("POST", BASICAUTH, body, srv=srv)


def login(user, pw, context=None, contextId=None, dateExpiry=None, srv=None):
    """Log in through POST /basicauth; return the token (asserting 200)."""
    r = login_resp(user, pw, context, contextId, dateExpiry, srv=srv)
    expect(r, 200, "login of %s" % user)
    tok = r.json.get("authToken") if isinstance(r.json, dict) else None
    assert isinstance(tok, str) and tok, "login of %s: no authToken in %s" % (user, short(r.raw))
    note_secret(tok)
    return tok


# --------------------------------------------------------------------------
# error envelope
# --------------------------------------------------------------------------

def assert_error(resp, status, code, what=""):
    """Check the API.md section 5 envelope; return the parsed body."""
    prefix = (what + ": ") if what else ""
    where = "%s%s %s" % (prefix, resp.method, resp.path)
    assert resp.status == status, "%s -> expected %d %s, got %d: %s" % (
        where, status, code, resp.status, short(resp.raw))
    ct = resp.headers.get("content-type", "")
    assert ct.split(";")[0].strip().lower() == "application/json", \
        "%s: error Content-Type is %r" % (where, ct)
    b = resp.json
    assert isinstance(b, dict), "%s: error body is not a JSON object: %s" % (where, short(resp.raw))
    for k in ("statusCode", "status", "errorCode", "errorMessage"):
        assert k in b, "%s: error body lacks %r: %s" % (where, k, short(resp.raw))
    extra = set(b) - {"statusCode", "status", "errorCode", "errorMessage", "details"}
    assert not extra, "%s: error body has unexpected keys %s" % (where, sorted(extra))
    assert is_int(b["statusCode"]) and b["statusCode"] == status, \
        "%s: statusCode %r != HTTP status %d" % (where, b["statusCode"], status)
    eq(b["status"], REASONS[status], where + ": status")
    eq(b["errorCode"], code, where + ": errorCode")
    eq(b["errorMessage"], MESSAGES[code], where + ": errorMessage")
    if "details" in b:
        assert isinstance(b["details"], list), "%s: details is not a list: %r" % (where, b["details"])
        for d in b["details"]:
            assert isinstance(d, dict), "%s: a details entry is not an object: %r" % (where, d)
        txt = json.dumps(b["details"]).lower()
        for bad in ("sqlite", "select ", "insert ", "/tmp/", ".c:", "constraint"):
            assert bad not in txt, "%s: details reveal internals (%r): %s" % (where, bad, txt[:300])
    assert resp.headers.get("x-request-id"), "%s: no X-Request-Id header" % where
    if status == 401:
        eq(resp.headers.get("www-authenticate"), 'Basic realm="cms"',
           where + ": WWW-Authenticate")
    if status == 405:
        assert resp.headers.get("allow"), "%s: 405 without an Allow header" % where
    return b


def details(b):
    return b.get("details") or [] if isinstance(b, dict) else []


def assert_field(b, field, what=""):
    """details must name `field` (as field, or field[i] / field.x)."""
    ds = details(b)
    for d in ds:
        f = d.get("field")
        if isinstance(f, str) and (f == field or f.startswith(field + "[")
                                   or f.startswith(field + ".")):
            assert isinstance(d.get("reason"), str) and d["reason"], \
                "%sdetails entry for %r has no reason: %r" % (what and what + ": ", field, d)
            return d
    raise AssertionError("%sdetails do not name the field %r: %r" % (
        what and what + ": ", field, ds))


def assert_missing(b, expected, what=""):
    """details must list exactly the (object, id) pairs of `expected` (ids as strings)."""
    got = []
    for d in details(b):
        assert isinstance(d.get("id"), str), "%sdetails id is not a string: %r" % (
            what and what + ": ", d)
        got.append((d.get("object"), d.get("id")))
    want = sorted((o, str(i)) for o, i in expected)
    assert sorted(got) == want, "%smissing-object details: expected %r, got %r" % (
        what and what + ": ", want, sorted(got))


def norm_404(b, ids):
    """A 404 body with the ids of `ids` in details replaced by a placeholder."""
    b = json.loads(json.dumps(b))
    for d in details(b):
        if d.get("id") in [str(i) for i in ids]:
            d["id"] = "<id>"
    return b


# --------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------

def cc_path(cc):
    return "%s/cc/%s" % (BASE, cc)


def proc_path(cc, p):
    return "%s/cc/%s/process/%s" % (BASE, cc, p)


def camp_path(cc, p, c):
    return "%s/cc/%s/process/%s/campaign/%s" % (BASE, cc, p, c)


def create_cc(auth, name=None, srv=None):
    name = name or "cc-" + uniq()
    r = req("POST", BASE + "/cc", {"name": name}, auth=auth, srv=srv)
    b = expect(r, 201, "create contact center")
    return b["contactCenterId"]


def create_user(auth, cc, user_id=None, role="Agent", password=None, name=None, srv=None):
    user_id = user_id or "u_" + uniq()
    body = {"userId": user_id, "name": name or "User " + user_id, "role": role}
    if password is not None:
        body["password"] = password
        note_secret(password)
    r = req("POST", cc_path(cc) + "/user", body, auth=auth, srv=srv)
    expect(r, 201, "create user %s" % user_id)
    return user_id


def create_process(auth, cc, name=None, srv=None):
    r = req("POST", cc_path(cc) + "/process", {"processName": name or "proc-" + uniq()},
            auth=auth, srv=srv)
    return expect(r, 201, "create process")["processId"]


def create_lead(auth, cc, p, name=None, srv=None):
    r = req("POST", proc_path(cc, p) + "/lead", {"leadName": name or "lead-" + uniq()},
            auth=auth, srv=srv)
    return expect(r, 201, "create lead")["leadId"]


def create_campaign(auth, cc, p, name=None, srv=None):
    r = req("POST", proc_path(cc, p) + "/campaign",
            {"campaignName": name or "camp-" + uniq()}, auth=auth, srv=srv)
    return expect(r, 201, "create campaign")["campaignId"]


def enroll(auth, cc, p, c, user_ids, srv=None):
    """Add campaign users; return {userId: campaignUserId}."""
    r = req("POST", camp_path(cc, p, c) + "/campaign-user", {"userIds": list(user_ids)},
            auth=auth, srv=srv)
    # decisions.md: 201 with the enrolment of every listed user, new or not, in request order
    assert r.status == 201, "enroll %r -> %d: %s" % (user_ids, r.status, short(r.raw))
    assert isinstance(r.json, list), "enroll: answer is not a list: %s" % short(r.raw)
    eq([o.get("userId") for o in r.json], list(dict.fromkeys(user_ids)),
       "enrolled users (request order)")
    return {o["userId"]: o["campaignUserId"] for o in r.json}


def attach(auth, cc, p, c, lead, srv=None, **extra):
    body = {"leadId": lead}
    body.update(extra)
    r = req("POST", camp_path(cc, p, c) + "/campaign-lead", body, auth=auth, srv=srv)
    return expect(r, 201, "attach lead %s" % lead)["campaignLeadId"]


def list_all(path, auth, srv=None, what="list"):
    """Every item of a paginated list (API.md: at most 1,000 a page), read
    page by page until a short page."""
    out = []
    offset = 0
    while True:
        r = req("GET", "%s?limit=1000&offset=%d" % (path, offset), auth=auth, srv=srv)
        page = expect(r, 200, what)
        out += page
        if len(page) < 1000:
            return out
        offset += 1000


def campaign_users(auth, cc, p, c, srv=None):
    """{userId: campaignUserId} of every campaign user of the campaign."""
    return {o["userId"]: o["campaignUserId"] for o in
            list_all(camp_path(cc, p, c) + "/campaign-user", auth, srv, "list campaign users")}


def put_mapping(auth, campaign, lead, assigned=(), unassigned=(), srv=None, headers=None):
    return req("PUT", MAPPING, {"leadId": lead, "campaignId": campaign,
                                "assignedUserIds": list(assigned),
                                "unassignedUserIds": list(unassigned)},
               auth=auth, srv=srv, headers=headers)


def get_mapping(auth, campaign, lead, srv=None, path=MAPPING):
    r = req("GET", "%s?campaignId=%s&leadId=%s" % (path, campaign, lead), auth=auth, srv=srv)
    return expect(r, 200, "mapping GET")


def check_mapping(obj, campaign=None, lead=None, campaign_lead=None, assigned=None,
                  unassigned=None, cu=None, what="mapping"):
    """Check a mapping object: exactly the seven keys, ids index by index.
    assigned/unassigned: expected user id lists (order matters); cu: {userId: cuId}."""
    assert isinstance(obj, dict), "%s: not an object: %r" % (what, obj)
    eq(set(obj), MAPPING_KEYS, what + ": keys")
    for k in ("campaignLeadId", "leadId", "campaignId"):
        assert is_pos_int(obj[k]), "%s: %s is not a positive integer: %r" % (what, k, obj[k])
    for side in ("assigned", "unassigned"):
        ids = obj[side + "UserIds"]
        cids = obj[side + "CampaignUserIds"]
        assert isinstance(ids, list) and all(isinstance(x, str) for x in ids), \
            "%s: %sUserIds is not a list of strings: %r" % (what, side, ids)
        assert isinstance(cids, list) and all(is_pos_int(x) for x in cids), \
            "%s: %sCampaignUserIds is not a list of positive integers: %r" % (what, side, cids)
        eq(len(cids), len(ids), "%s: length of %sCampaignUserIds vs %sUserIds" % (what, side, side))
        if cu is not None:
            for u, c in zip(ids, cids):
                if u in cu:
                    eq(c, cu[u], "%s: campaign-user id of %s (%s)" % (what, u, side))
    if campaign is not None:
        eq(obj["campaignId"], campaign, what + ": campaignId")
    if lead is not None:
        eq(obj["leadId"], lead, what + ": leadId")
    if campaign_lead is not None:
        eq(obj["campaignLeadId"], campaign_lead, what + ": campaignLeadId")
    if assigned is not None:
        eq(obj["assignedUserIds"], list(assigned), what + ": assignedUserIds")
    if unassigned is not None:
        eq(obj["unassignedUserIds"], list(unassigned), what + ": unassignedUserIds")
    return obj


class Fixture(types.SimpleNamespace):
    def auth(self, who):
        """Authorization value for 'admin', 'sup', 'agent' or 'sys'."""
        return bearer(self.tok[who])

    def basic_token(self, who):
        return token_basic(self.tok[who])


def make_fixture(extra_agents=3, srv=None):
    """As the system administrator, build a contact center with an Administrator,
    a Supervisor and an Agent (with passwords), `extra_agents` more agents (no
    password), a process, a lead, a campaign, the Supervisor, Agent and extra
    agents as campaign users, and the lead attached to the campaign."""
    s = srv or current()
    f = Fixture(srv=s, u=uniq())
    sysauth = s.sys_auth()
    f.cc_name = "cc-" + f.u
    f.cc = create_cc(sysauth, f.cc_name, srv=s)
    f.admin, f.sup, f.agent = "adm_" + f.u, "sup_" + f.u, "agt_" + f.u
    f.pw = {}
    for uid, role in ((f.admin, "Administrator"), (f.sup, "Supervisor"), (f.agent, "Agent")):
        f.pw[uid] = random_password()
        create_user(sysauth, f.cc, uid, role, f.pw[uid], srv=s)
    f.agents = []
    for i in range(extra_agents):
        f.agents.append(create_user(sysauth, f.cc, "ag%d_%s" % (i, f.u), "Agent", srv=s))
    f.process = create_process(sysauth, f.cc, "proc-" + f.u, srv=s)
    f.lead = create_lead(sysauth, f.cc, f.process, "lead-" + f.u, srv=s)
    f.campaign = create_campaign(sysauth, f.cc, f.process, "camp-" + f.u, srv=s)
    f.cu = enroll(sysauth, f.cc, f.process, f.campaign, [f.sup, f.agent] + f.agents, srv=s)
    eq(set(f.cu), set([f.sup, f.agent] + f.agents), "fixture: enrolled users")
    f.campaign_lead = attach(sysauth, f.cc, f.process, f.campaign, f.lead, srv=s)
    f.tok = {"sys": s.sys_token()}
    for key, uid in (("admin", f.admin), ("sup", f.sup), ("agent", f.agent)):
        f.tok[key] = login(uid, f.pw[uid], "ContactCenter", f.cc, srv=s)
    f.users = {"admin": f.admin, "sup": f.sup, "agent": f.agent}
    f.cc_path = cc_path(f.cc)
    f.proc_path = proc_path(f.cc, f.process)
    f.camp_path = camp_path(f.cc, f.process, f.campaign)
    return f


# --------------------------------------------------------------------------
# clean-exit check
# --------------------------------------------------------------------------

SAN_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
               "==ERROR", "Invalid read", "Invalid write")
TOOL_LINE = re.compile(r"^(==\d+==|--\d+--)")


def run_problems(run, label):
    problems = []
    if run.timed_out:
        problems.append("%s: did not exit within %d s of SIGTERM" % (label, STOP_TIMEOUT))
    elif not run.killed and run.rc != 0:
        problems.append("%s: exit code %r" % (label, run.rc))
    lines = list(run.stderr)
    sanitizer = False
    for m in SAN_MARKERS:
        hit = [l for l in lines if m in l]
        if hit:
            sanitizer = True
            problems.append("%s: stderr contains %r: %s" % (label, m, hit[0][:300]))
    for l in lines:
        if "definitely lost" in l:
            nums = [int(x.replace(",", "")) for x in re.findall(r"\d[\d,]*", l.split("==")[-1])]
            if any(n > 0 for n in nums):
                sanitizer = True
                problems.append("%s: %s" % (label, l[:300]))
                break
    if not sanitizer:
        for i, l in enumerate(lines):
            if TOOL_LINE.match(l):
                continue
            if i == len(lines) - 1 and run.partial_last and run.killed:
                continue
            try:
                o = json.loads(l)
            except ValueError:
                o = None
            if not isinstance(o, dict):
                problems.append("%s: stderr line %d is not a JSON object: %r" % (label, i + 1, l[:300]))
                break
    text = "\n".join(lines)
    with _secrets_lock:
        secrets = list(SECRETS)
    for sec in secrets:
        if sec in text:
            line = next(l for l in lines if sec in l)
            problems.append("%s: stderr contains a password/token (%s...): %s" % (
                label, sec[:4], line.replace(sec, "<SECRET>")[:300]))
            break
    return problems


# --------------------------------------------------------------------------
# the runner
# --------------------------------------------------------------------------

class Results(object):
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def ok(self, name):
        self.passed += 1
        print("ok - %s" % name, flush=True)

    def skip(self, name, reason):
        self.skipped += 1
        print("SKIP %s: %s" % (name, " ".join(str(reason).split("\n"))), flush=True)

    def fail(self, name, reason, diag=None):
        self.failed += 1
        reason = " ".join(str(reason).split("\n"))
        print("not ok - %s: %s" % (name, reason), flush=True)
        for l in diag or ():
            print("#   " + l, flush=True)


def describe(e, tb):
    """A one-line reason and diagnostic lines for an exception."""
    frames = traceback.extract_tb(tb)
    where = ""
    for fr in reversed(frames):
        base = os.path.basename(fr.filename)
        if re.match(r"t\d\d_", base):
            where = "%s:%d" % (base, fr.lineno)
            break
    if isinstance(e, AssertionError):
        msg = str(e) or "assertion failed"
        diag = []
    else:
        msg = "%s: %s" % (type(e).__name__, e)
        diag = [l for chunk in traceback.format_exception(type(e), e, tb)
                for l in chunk.rstrip().split("\n")][-12:]
    if where:
        msg += " [%s]" % where
    return msg, diag


def discover():
    mods = sorted(f[:-3] for f in os.listdir(HERE) if re.match(r"^t\d\d_\w+\.py$", f))
    return mods


def main(argv):
    if not __debug__:
        print("not ok - harness: python runs with -O, assertions would be skipped")
        print("0 passed, 1 failed")
        return 1
    # FILTERs: run the tests whose module.test_name contains one of them (all
    # if none); -FILTER: but not those whose name contains it
    include = [a for a in argv if a and not a.startswith("-")]
    exclude = [a[1:] for a in argv if a.startswith("-") and len(a) > 1]

    def wanted(full):
        return (not include or any(f in full for f in include)) and \
            not any(f in full for f in exclude)
    res = Results()
    if sys.path[0] != HERE:
        sys.path.insert(0, HERE)
    binp = cmsd_bin()
    if not os.access(binp, os.X_OK):
        res.fail("harness.cmsd_binary", "no executable cmsd at %s (set CMSD_BIN)" % binp)
        print("%d passed, %d failed" % (res.passed, res.failed), flush=True)
        return 1
    print("# store: %s" % (backend() + (" at " + PG_BASE if PG_BASE else "")), flush=True)
    if PG_BASE:
        try:
            if urllib.parse.urlsplit(PG_BASE).scheme not in ("postgresql", "postgres"):
                raise RuntimeError("not a postgresql:// URI")
            psql("SELECT 1")
        except Exception as e:
            res.fail("harness.postgresql", "CMSD_TEST_PG=%s unusable: %s" % (PG_BASE, e))
            print("%d passed, %d failed" % (res.passed, res.failed), flush=True)
            return 1

    def on_term(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, on_term)

    t_all = time.time()
    try:
        for name in discover():
            try:
                mod = importlib.import_module(name)
            except Exception as e:
                if wanted(name):
                    msg, diag = describe(e, sys.exc_info()[2])
                    res.fail(name + ".import", msg, diag)
                continue
            tests = [(n, fn) for n, fn in list(vars(mod).items())
                     if n.startswith("test_") and callable(fn)]
            sel = [(n, fn) for n, fn in tests if wanted("%s.%s" % (name, n))]
            if not sel:
                continue
            run_module(name, mod, sel, res)
    except KeyboardInterrupt:
        res.fail("harness.interrupted", "interrupted")
    finally:
        _cleanup_all()
    print("# %.1f s" % (time.time() - t_all), flush=True)
    if res.skipped:
        print("# %d skipped" % res.skipped, flush=True)
    print("%d passed, %d failed" % (res.passed, res.failed), flush=True)
    return 1 if res.failed else 0


def run_module(name, mod, sel, res):
    MODULE[0] = name
    del _module_servers[:]
    CURRENT[0] = None
    t0 = time.time()
    try:
        setup_err = None
        setup_skip = None
        if hasattr(mod, "setup_module"):
            try:
                mod.setup_module()
            except Skip as e:
                setup_skip = str(e)
            except Exception as e:
                setup_err = describe(e, sys.exc_info()[2])
        for n, fn in sel:
            full = "%s.%s" % (name, n)
            if setup_err:
                res.fail(full, "setup_module failed: " + setup_err[0], setup_err[1])
                continue
            if setup_skip is not None:
                res.skip(full, setup_skip)
                continue
            try:
                fn()
            except KeyboardInterrupt:
                raise
            except Skip as e:
                res.skip(full, e)
            except BaseException as e:
                msg, diag = describe(e, sys.exc_info()[2])
                res.fail(full, msg, diag)
            else:
                res.ok(full)
        if hasattr(mod, "teardown_module"):
            try:
                mod.teardown_module()
            except Exception as e:
                msg, diag = describe(e, sys.exc_info()[2])
                res.fail(name + ".teardown_module", msg, diag)
    finally:
        servers = list(_module_servers)
        for s in servers:
            if s.running:
                try:
                    s.stop()
                except Exception:
                    s.kill()
        if servers:
            problems = []
            missing = []
            for si, s in enumerate(servers):
                for ri, run in enumerate(s.runs):
                    problems += run_problems(run, "server %d run %d" % (si + 1, ri + 1))
                missing += s.missing_request_id
            if problems:
                res.fail(name + ".server_exit_clean", problems[0], problems[1:12])
            else:
                res.ok(name + ".server_exit_clean")
            if missing:
                res.fail(name + ".request_ids_present",
                         "%d responses without X-Request-Id, e.g. %s" % (len(missing), missing[0]),
                         missing[1:10])
            else:
                res.ok(name + ".request_ids_present")
        for s in servers:
            s.cleanup()
        del _module_servers[:]
        CURRENT[0] = None
        print("# %s: %.1f s" % (name, time.time() - t0), flush=True)
