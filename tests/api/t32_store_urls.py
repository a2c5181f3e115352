"""
t32 - the --db URL chooses the backend; a URL cmsd cannot use stops it at
start with a clear message that never repeats a password (issue 4).

These start cmsd on stores that cannot work, so they need no PostgreSQL
server and run on every backend.
"""
import json
import os
import subprocess
import tempfile
import time

from harness import *  # noqa: F401,F403
from harness import cmsd_bin

SECRET = "Pw-" + uniq() + "-nottold"


def start_fails(db, timeout=20, extra_env=None):
    """Run cmsd with --db `db`; return (exit code, seconds, stderr text)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMSD_")}
    env.update(extra_env or {})
    env["CMSD_ADMIN_USER"] = "sysadmin"
    env["CMSD_ADMIN_PASSWORD"] = random_password()
    t0 = time.time()
    p = subprocess.run([cmsd_bin(), "--listen", "127.0.0.1:0", "--db", db, "--pwhash", "min"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, timeout=timeout)
    return p.returncode, time.time() - t0, p.stderr.decode("utf-8", "replace")


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_unknown_scheme_is_refused_and_names_both_backends():
    for db in ("mysql://root@localhost/cms", "cms.db", "", "SQLITE:x.db", "postgresqlx://h/d"):
        rc, _, err = start_fails(db)
        assert rc != 0, "--db %r: cmsd started" % db
        assert "sqlite:PATH" in err and "postgresql://" in err, \
            "--db %r: the message does not say what is wanted: %s" % (db, short(err))


def test_unreachable_postgresql_stops_fast_without_the_password():
    port = free_port()   # nothing listens there
    for scheme in ("postgresql", "postgres"):
        db = "%s://cmsd:%s@127.0.0.1:%d/cms" % (scheme, SECRET, port)
        rc, took, err = start_fails(db)
        assert rc != 0, "%s: cmsd started without a database" % db
        assert took < 10, "%s: took %.1f s to give up" % (scheme, took)
        assert "cannot connect" in err, "%s: no reason given: %s" % (scheme, short(err))
        assert SECRET not in err, "the password of the URL reached the log: %s" % short(err)
        for line in err.splitlines():
            json.loads(line)     # the failure is logged as JSON like the rest


def test_bad_postgresql_uri_is_refused():
    rc, _, err = start_fails("postgresql://cmsd@127.0.0.1:notaport/cms")
    assert rc != 0, "cmsd started on a malformed URI"
    assert "cannot connect" in err, "no reason given: %s" % short(err)


def test_bad_sqlite_tuning_variables_are_refused():
    """CMSD_SQLITE_SYNC and CMSD_SQLITE_CHECKPOINT_PAGES (README,
    "Configuration"): a value cmsd cannot use stops it at start, naming the
    variable and what it takes, and leaves no store behind."""
    cases = [("CMSD_SQLITE_SYNC", v, "full or normal") for v in ("off", "2", " ")] + \
        [("CMSD_SQLITE_CHECKPOINT_PAGES", v, "from 100 to 1000000")
         for v in ("99", "1000001", "16k", "-5", "1e4", " 200", "99999999999999999999")]
    for name, value, wanted in cases:
        with tempfile.TemporaryDirectory(prefix="cmsd-t32-") as d:
            path = os.path.join(d, "tuning.db")
            rc, _, err = start_fails("sqlite:" + path, extra_env={name: value})
            assert rc != 0, "%s=%r: cmsd started" % (name, value)
            assert name in err and wanted in err, \
                "%s=%r: the message does not say what is wanted: %s" % (name, value, short(err))
            assert not os.path.exists(path), "%s=%r: a store was made anyway" % (name, value)
    # the bounds themselves are taken: cmsd starts, serves and stops
    for value in ("100", "1000000"):
        srv = Server(env={"CMSD_SQLITE_CHECKPOINT_PAGES": value}).start()
        try:
            if backend() == "sqlite":
                eq(req("GET", "/health", srv=srv).status, 200, "health, pages " + value)
        finally:
            eq(srv.stop(), 0, "exit code, pages " + value)
