"""
t71 - back up a live store and restore it (issue 16, first part, point 4).

Writers PUT mappings without pause against a running cmsd, each on a lead of
its own, toggling two agents, so that each PUT changes the mapping and
appends one history entry.  Meanwhile a backup is taken: `cmsd backup` on
SQLite, `pg_dump -Fc` on PostgreSQL (CMSD_TEST_PG; the procedure of
docs/operations.md).  Every PUT acknowledged before the backup began must be
in it: the history entry of each (by request id), and the lead's mapping rows
as the last of them left them.  The backup passes PRAGMA integrity_check
(SQLite) or pg_restore (PostgreSQL), and a cmsd started on the restored copy
answers GETs that agree with it.  A ballast table makes the store some MiB,
so that the copy takes long enough for PUTs to land during it.

The error paths of `cmsd backup` (an existing file, --force, a missing or
foreign source, usage, a PostgreSQL URL) need no server and run on every
backend.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time

from harness import *  # noqa: F401,F403
from harness import SAN_MARKERS, SLOW, _pg_create, cmsd_bin, pg_url, store_sql

TMP = None
WRITERS = 4
BALLAST_MIB = 4 if SLOW > 1 else 16


def setup_module():
    global TMP
    TMP = tempfile.mkdtemp(prefix="cmsd-t71-")


def teardown_module():
    shutil.rmtree(TMP, ignore_errors=True)


def run(cmd, env=None, timeout=120):
    """Run cmd; return (exit code, stdout, stderr) as text.  A sanitizer
    report fails the test."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("CMSD_")}
    e.update(env or {})
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=e, timeout=timeout)
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    for m in SAN_MARKERS:
        assert m not in err, "%s: sanitizer report: %s" % (" ".join(cmd), short(err, 2000))
    return p.returncode, out, err


def log_lines(err):
    """stderr as JSON log lines (each must be one)."""
    out = []
    for line in err.splitlines():
        o = json.loads(line)
        assert isinstance(o, dict) and o.get("level") in ("info", "warn", "error"), line
        out.append(o)
    return out


def backup(*args, env=None):
    rc, out, err = run([cmsd_bin(), "backup"] + list(args), env=env)
    return rc, out, log_lines(err) if rc != 0 or err else [], err


# -- backends ---------------------------------------------------------------

def take_backup(url, to):
    """Back the live store up to `to`; return a figure line for the log."""
    if url.startswith("sqlite:"):
        rc, _, lines, err = backup("--db", url, "--to", to)
        eq(rc, 0, "cmsd backup: %s" % short(err))
        done = [l for l in lines if l["msg"] == "backup written"]
        eq(len(done), 1, "one 'backup written' line: %s" % short(err))
        return "%d pages, %d bytes, %.0f ms" % (done[0]["pages"], done[0]["bytes"], done[0]["ms"])
    rc, _, err = run(["pg_dump", "-Fc", "--no-owner", "--no-privileges", "-d", url, "-f", to])
    eq(rc, 0, "pg_dump -Fc: %s" % short(err))
    return "%d bytes (pg_dump -Fc)" % os.path.getsize(to)


def restore(to, where):
    """Restore the backup `to` as a new store; return (its --db URL, its
    PostgreSQL database or None)."""
    if backend() == "sqlite":
        path = os.path.join(where, "cms.db")
        shutil.copy(to, path)
        return "sqlite:" + path, None
    name = _pg_create()
    url = pg_url(name)
    rc, _, err = run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                      "-d", url, to])
    eq(rc, 0, "pg_restore: %s" % short(err))
    return url, name


def lead_state(url, campaign, lead):
    """(history request ids in order, assigned user ids) of one lead in the
    store `url`, read with SQL."""
    hist = store_sql(url, "SELECT request_id FROM mapping_history WHERE campaign_id = %d "
                          "AND lead_id = %d ORDER BY id" % (campaign, lead))
    rows = store_sql(url, "SELECT u.user_id FROM lead_user lu "
                          "JOIN campaign_lead cl ON cl.id = lu.campaign_lead_id "
                          "JOIN campaign_user cu ON cu.id = lu.campaign_user_id "
                          "JOIN users u ON u.pk = cu.user_pk "
                          "WHERE cl.campaign_id = %d AND cl.lead_id = %d ORDER BY u.user_id"
                     % (campaign, lead))
    return [r[0] for r in hist], [r[0] for r in rows]


# -- the test under load -------------------------------------------------------

def test_backup_under_writes_keeps_every_acknowledged_put():
    srv = use(Server().start())
    f = make_fixture(extra_agents=2, srv=srv)
    sysauth = srv.sys_auth()
    leads = [f.lead]
    for i in range(1, WRITERS):
        lead = create_lead(sysauth, f.cc, f.process, "lead%d-%s" % (i, f.u), srv=srv)
        attach(sysauth, f.cc, f.process, f.campaign, lead, srv=srv)
        leads.append(lead)
    url = srv.store_url()
    # ballast: pages for the copy to read while the writers go on
    store_sql(url, ["CREATE TABLE t71_ballast (b %s)" % ("BLOB" if backend() == "sqlite"
                                                          else "bytea")] +
              ["INSERT INTO t71_ballast VALUES (%s)" % (
                  "randomblob(1048576)" if backend() == "sqlite" else
                  "decode(repeat(md5(random()::text), 32768), 'hex')")] * BALLAST_MIB)
    a, b = f.agents
    acks = [[] for _ in leads]   # per writer: (monotonic time of the answer, request id)
    failures = []
    stop = threading.Event()

    def writer(i):
        k = 0
        auth = f.auth("sup")
        try:
            while not stop.is_set():
                on, off = (a, b) if k % 2 == 0 else (b, a)
                r = put_mapping(auth, f.campaign, leads[i], assigned=[on], unassigned=[off],
                                srv=srv)
                t = time.monotonic()
                if r.status != 200:
                    failures.append("writer %d PUT %d: %d %s" % (i, k, r.status, short(r.raw)))
                    return
                acks[i].append((t, r.headers.get("x-request-id")))
                k += 1
        except Exception as e:  # noqa: BLE001 - reported below
            failures.append("writer %d: %r" % (i, e))

    threads = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(WRITERS)]
    for t in threads:
        t.start()
    time.sleep(0.5 * SLOW)
    to = os.path.join(TMP, "backup.db" if backend() == "sqlite" else "backup.dump")
    began = time.monotonic()
    figure = take_backup(url, to)
    ended = time.monotonic()
    if backend() == "sqlite":
        # the live store's own -wal is refused, even with --force
        wal = url[len("sqlite:"):] + "-wal"
        assert os.path.exists(wal), "no -wal beside the live store"
        rc, _, lines, err = backup("--db", url, "--to", wal, "--force")
        eq(rc, 1, "backup onto the live -wal: %s" % short(err))
        assert "the store itself" in error_of(lines), error_of(lines)
    time.sleep(0.3 * SLOW)
    stop.set()
    for t in threads:
        t.join(60 * SLOW)
    eq(failures, [], "writers")
    before = sum(1 for w in acks for t, _ in w if t < began)
    during = sum(1 for w in acks for t, _ in w if began <= t < ended)
    assert before >= WRITERS, "too few PUTs before the backup: %d" % before
    print("# backup: %s in %.0f ms; PUTs acknowledged before it %d, during it %d, after %d"
          % (figure, (ended - began) * 1000, before, during,
             sum(len(w) for w in acks) - before - during))

    where = tempfile.mkdtemp(prefix="restored-", dir=TMP)
    rurl, rdb = restore(to, where)
    if backend() == "sqlite":
        eq(store_sql(rurl, "PRAGMA integrity_check"), [["ok"]], "integrity_check of the backup")
    states = {}
    for i, lead in enumerate(leads):
        hist, assigned = lead_state(rurl, f.campaign, lead)
        acked = [rid for t, rid in acks[i] if t < began]
        every = [rid for _, rid in acks[i]]
        # the history is a prefix of what the writer sent, holding at least
        # every PUT acknowledged before the backup began
        assert len(hist) >= len(acked), "lead %d: %d history entries in the backup, %d PUTs " \
            "acknowledged before it began" % (lead, len(hist), len(acked))
        eq(hist[:len(acked)], acked, "lead %d: history request ids of the acknowledged PUTs" % lead)
        assert len(hist) <= len(every) + 1, "lead %d: more history than PUTs" % lead
        eq(hist, every[:len(hist)] if len(hist) <= len(every) else hist,
           "lead %d: history is a prefix of the PUTs sent" % lead)
        # the mapping rows are what the last PUT in the backup left
        eq(assigned, [a if (len(hist) - 1) % 2 == 0 else b],
           "lead %d: mapping rows after %d PUTs" % (lead, len(hist)))
        states[lead] = (hist, assigned)
    eq(srv.stop(), 0, "stop the writers' cmsd")

    # a cmsd on the restored copy answers what the copy holds
    srv2 = Server(db_path=rurl[len("sqlite:"):]) if rdb is None else Server()
    if rdb is not None:
        srv2.pg_db = rdb
    use(srv2.start())
    auth = srv2.sys_auth()
    for lead, (hist, assigned) in states.items():
        got = get_mapping(auth, f.campaign, lead, srv=srv2)
        eq(got["assignedUserIds"], assigned, "lead %d: GET on the restored store" % lead)
        r = req("GET", "%s/lead-user/history?leadId=%d&limit=1000" % (f.camp_path, lead),
                auth=auth, srv=srv2)
        expect(r, 200, "history on the restored store")
        items = r.json if isinstance(r.json, list) else next(
            v for v in r.json.values() if isinstance(v, list))
        eq(len(items), len(hist), "lead %d: history entries on the restored store" % lead)
    eq(srv2.stop(), 0, "stop the restored cmsd")


# -- error paths -----------------------------------------------------------------

def fake_store(path, version=7):
    """A SQLite file with a schema version, enough for cmsd backup."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER)")
    db.execute("INSERT INTO schema_version VALUES (?, 0)", (version,))
    db.execute("CREATE TABLE t (x)")
    db.execute("INSERT INTO t VALUES ('the store')")
    db.commit()
    db.close()


def leftovers(d, keep):
    return sorted(set(os.listdir(d)) - set(keep))


def error_of(lines):
    errs = [l["msg"] for l in lines if l["level"] == "error"]
    assert errs, "no error line: %r" % lines
    return errs[-1]


def test_backup_refuses_to_overwrite_unless_forced():
    d = tempfile.mkdtemp(prefix="e1-", dir=TMP)
    src = os.path.join(d, "src.db")
    fake_store(src)
    to = os.path.join(d, "out.db")
    with open(to, "w") as fh:
        fh.write("an older backup")
    rc, _, lines, err = backup("--db", "sqlite:" + src, "--to", to)
    eq(rc, 1, "exit code over an existing file: %s" % short(err))
    assert "exists" in error_of(lines) and "--force" in error_of(lines), error_of(lines)
    eq(open(to).read(), "an older backup", "the existing file")
    eq(leftovers(d, ["src.db", "out.db"]), [], "files left")
    # --force replaces it, and drops the old file's -wal and -shm, which
    # SQLite would otherwise replay onto the new one
    for suffix in ("-wal", "-shm"):
        with open(to + suffix, "w") as fh:
            fh.write("stale")
    rc, _, lines, err = backup("--db", "sqlite:" + src, "--to", to, "--force")
    eq(rc, 0, "--force: %s" % short(err))
    eq(store_sql("sqlite:" + to, "SELECT x FROM t"), [["the store"]], "the copy")
    eq(store_sql("sqlite:" + to, "PRAGMA integrity_check"), [["ok"]], "integrity of the copy")
    for suffix in ("-wal", "-shm"):
        assert not os.path.exists(to + suffix) or open(to + suffix, "rb").read() != b"stale", \
            "the stale %s is still there" % suffix
    # never onto the store itself, nor its -wal, even with --force
    before = open(src, "rb").read()
    os.symlink(src, os.path.join(d, "link.db"))
    for target in (src, os.path.join(d, "link.db"), os.path.join(d, ".", "src.db")):
        for extra in ([], ["--force"]):
            rc, _, l2, err = backup("--db", "sqlite:" + src, "--to", target, *extra)
            eq(rc, 1, "backup onto the store as %s %s: %s" % (target, extra, short(err)))
            assert "the store itself" in error_of(l2), error_of(l2)
    eq(open(src, "rb").read(), before, "the store after backups onto itself were refused")
    eq(store_sql("sqlite:" + src, "SELECT x FROM t"), [["the store"]], "the store")
    done = [l for l in lines if l["msg"] == "backup written"]
    eq(len(done), 1, "the done line")
    eq(done[0]["schema_version"], 7, "schema version in the done line")
    eq(done[0]["to"], to, "file in the done line")


def test_backup_failures_leave_nothing_behind():
    d = tempfile.mkdtemp(prefix="e2-", dir=TMP)
    to = os.path.join(d, "out.db")
    # no such store: not created either
    rc, _, lines, err = backup("--db", "sqlite:" + os.path.join(d, "missing.db"), "--to", to)
    eq(rc, 1, "missing store: %s" % short(err))
    assert "cannot open" in error_of(lines), error_of(lines)
    eq(leftovers(d, []), [], "a missing store left files")
    # a SQLite file that is no cmsd store
    other = os.path.join(d, "other.db")
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE x (y)")
    db.commit()
    db.close()
    rc, _, lines, err = backup("--db", "sqlite:" + other, "--to", to)
    eq(rc, 1, "not a cmsd store: %s" % short(err))
    assert "not a cmsd store" in error_of(lines), error_of(lines)
    # not a database at all
    text = os.path.join(d, "text.db")
    with open(text, "w") as fh:
        fh.write("hello, this is not SQLite" * 100)
    rc, _, lines, err = backup("--db", "sqlite:" + text, "--to", to)
    eq(rc, 1, "a text file: %s" % short(err))
    eq(leftovers(d, ["other.db", "text.db"]), [], "files left by failed backups")
    # a directory that does not exist
    src = os.path.join(d, "src.db")
    fake_store(src)
    rc, _, lines, err = backup("--db", "sqlite:" + src, "--to", os.path.join(d, "no", "x.db"))
    eq(rc, 1, "missing directory: %s" % short(err))
    assert "cannot create" in error_of(lines), error_of(lines)
    eq(leftovers(d, ["other.db", "text.db", "src.db"]), [], "files left")


def test_backup_usage_and_postgresql():
    d = tempfile.mkdtemp(prefix="e3-", dir=TMP)
    src = os.path.join(d, "cms.db")
    fake_store(src)
    for args, what in (([], "no --to"), (["--db", "sqlite:" + src], "no --to"),
                       (["--to"], "--to without a value"), (["--bogus", "x"], "unknown option"),
                       (["--force=yes", "--to", "x.db"], "a flag with a value"),
                       (["stray"], "an argument")):
        rc, _, lines, err = backup(*args)
        eq(rc, 2, "usage exit code for %s: %s" % (what, short(err)))
        assert "backup" in error_of(lines), error_of(lines)
    rc, out, _, err = backup("--help")
    eq(rc, 0, "--help")
    assert "usage: cmsd backup" in out and "--force" in out and err == "", out
    # --db defaults to CMSD_DB, as for cmsd itself
    to = os.path.join(d, "env.db")
    rc, _, lines, err = backup("--to", to, env={"CMSD_DB": "sqlite:" + src})
    eq(rc, 0, "CMSD_DB: %s" % short(err))
    assert os.path.exists(to)
    # PostgreSQL: pg_dump, and never the URL's password in the log
    secret = "Pw-" + uniq()
    rc, _, lines, err = backup("--db", "postgresql://cmsd:%s@127.0.0.1:1/cms" % secret,
                               "--to", os.path.join(d, "pg.db"))
    eq(rc, 1, "postgresql URL: %s" % short(err))
    assert "pg_dump" in error_of(lines) and "pg_restore" in error_of(lines), error_of(lines)
    assert secret not in err, "the password reached the log"
    assert not os.path.exists(os.path.join(d, "pg.db"))
