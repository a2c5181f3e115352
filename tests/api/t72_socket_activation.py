"""
t72 - socket activation (issue 16): cmsd started the way systemd starts it
from cmsd.socket.  The test makes the listening socket itself, and a small
wrapper puts it at descriptor 3, sets LISTEN_FDS=1 and LISTEN_PID to its own
pid and execs cmsd (the pid stays), as systemd does.  cmsd must serve on that
socket (not on --listen, which names a port it could not bind), tell
NOTIFY_SOCKET READY=1 and STOPPING=1 (cmsd.service is Type=notify), stop
cleanly on SIGTERM; LISTEN_FDS meant for another process is ignored; and
malformed variables or descriptors stop the start with exit 1 and an error
line naming them, before the store is created.  SQLite only: the subject is
the listening socket, not the store.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from harness import *  # noqa: F401,F403
from harness import SAN_MARKERS, cmsd_bin

TMP = None

# descriptor FD of the wrapper becomes 3; then LISTEN_PID is this very process
WRAPPER = r"""
import os, sys
fds = [int(x) for x in sys.argv[1].split(",") if x]
for i, fd in enumerate(fds):
    if fd != 3 + i:
        os.dup2(fd, 3 + i)
    os.set_inheritable(3 + i, True)
env = dict(os.environ)
if env.get("LISTEN_PID") == "self":
    env["LISTEN_PID"] = str(os.getpid())
os.execve(sys.argv[2], sys.argv[2:], env)
"""


def setup_module():
    global TMP
    TMP = tempfile.mkdtemp(prefix="cmsd-t72-")


def sqlite_only():
    """The subject is the socket: the PostgreSQL phases need not repeat it."""
    if backend() != "sqlite":
        skip("socket activation does not depend on the store (SQLite phases run it)")


def teardown_module():
    shutil.rmtree(TMP, ignore_errors=True)


def listening_socket(family=socket.AF_INET, host="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, 0))
    s.listen(64)
    return s


def busy_port():
    """A port bound (not listening) by this process: cmsd cannot bind it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    return s


def start(fds, env, name):
    """cmsd through the wrapper with fds at 3, 4, ...; returns the Popen."""
    db = os.path.join(TMP, name + ".db")
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("CMSD_") and not k.startswith("LISTEN_")}
    e.update(env)
    cmd = [sys.executable, "-c", WRAPPER, ",".join(str(f) for f in fds), cmsd_bin(),
           "--db", "sqlite:" + db, "--pwhash", "min", "--threads", "2"]
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=e, pass_fds=fds)
    return p, db


def log_lines(err):
    out = []
    for line in err.decode("utf-8", "replace").splitlines():
        out.append(json.loads(line))
    return out


def no_sanitizer(err):
    text = err.decode("utf-8", "replace")
    for m in SAN_MARKERS:
        assert m not in text, "sanitizer report: %s" % short(text, 2000)


def wait_listening(p, seen=None, timeout=30):
    """Read cmsd's stderr until its "listening" line; returns it.  The
    lines read are appended to seen when given."""
    deadline = time.time() + timeout
    seen = [] if seen is None else seen
    while time.time() < deadline:
        line = p.stderr.readline()
        if not line:
            break
        seen.append(line)
        j = json.loads(line)
        if j.get("msg") == "listening":
            return j
    raise AssertionError("no listening line: %s" % short(b"".join(seen), 1500))


def get(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
        return r.status, r.read()


def test_serves_the_passed_socket_and_notifies():
    sqlite_only()
    lsock = listening_socket()
    port = lsock.getsockname()[1]
    blocker = busy_port()
    notify_path = os.path.join(TMP, "notify")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(30)
    p, db = start([lsock.fileno()], {
        "LISTEN_FDS": "1", "LISTEN_PID": "self", "NOTIFY_SOCKET": notify_path,
        "CMSD_LISTEN": "127.0.0.1:%d" % blocker.getsockname()[1],
        "CMSD_ADMIN_USER": "sa_admin", "CMSD_ADMIN_PASSWORD": "sa-password-1",
    }, "serves")
    try:
        lsock.close()  # cmsd holds its own copy, as under systemd
        line = wait_listening(p)
        eq(line.get("systemd_socket"), True, "listening line says systemd's socket")
        eq(line.get("port"), port, "listening line names the passed socket's port")
        msg = notify.recv(4096).decode()
        assert "READY=1" in msg.split("\n"), "READY=1 sent to NOTIFY_SOCKET: %r" % msg
        status, body = get(port, "/health")
        eq(status, 200, "GET /health on the passed socket")
        eq(json.loads(body), {"status": "ok"}, "/health body")
        rq = urllib.request.Request(
            "http://127.0.0.1:%d/cms/configuration/basicauth" % port, method="POST",
            data=json.dumps({"username": "sa_admin", "password": "sa-password-1"}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(rq, timeout=30) as r:
            eq(r.status, 200, "login on the passed socket")
            assert json.loads(r.read()).get("authToken"), "an authToken"
        p.send_signal(signal.SIGTERM)
        msg = notify.recv(4096).decode()
        assert "STOPPING=1" in msg.split("\n"), "STOPPING=1 at SIGTERM: %r" % msg
        out, err = p.communicate(timeout=60)
        no_sanitizer(err)
        eq(p.returncode, 0, "exit code after SIGTERM (stderr %s)" % short(err))
        assert "LISTEN_" not in json.dumps(log_lines(err)), "no complaint about LISTEN_*"
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
        blocker.close()
        notify.close()


def test_ipv6_socket():
    sqlite_only()
    if not socket.has_ipv6:
        skip("no IPv6")
    try:
        lsock = listening_socket(socket.AF_INET6, "::1")
    except OSError as e:
        skip("cannot bind ::1: %s" % e)
    port = lsock.getsockname()[1]
    p, _ = start([lsock.fileno()], {"LISTEN_FDS": "1", "LISTEN_PID": "self",
                                    "CMSD_LISTEN": "127.0.0.1:0"}, "ipv6")
    try:
        lsock.close()
        line = wait_listening(p)
        eq((line.get("address"), line.get("port")), ("::1", port), "listening on ::1")
        with urllib.request.urlopen("http://[::1]:%d/health" % port, timeout=10) as r:
            eq(r.status, 200, "GET /health over IPv6")
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
        no_sanitizer(err)
        eq(p.returncode, 0, "exit code")
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()


def test_listen_pid_of_another_process_is_ignored():
    sqlite_only()
    lsock = listening_socket()
    p, _ = start([lsock.fileno()], {"LISTEN_FDS": "1", "LISTEN_PID": "1",
                                    "CMSD_LISTEN": "127.0.0.1:0"}, "other")
    try:
        seen = []
        line = wait_listening(p, seen)
        eq(line.get("systemd_socket"), False, "not systemd's socket")
        assert line.get("port") != lsock.getsockname()[1], "bound a port of its own"
        status, _ = get(line["port"], "/health")
        eq(status, 200, "serves on --listen")
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
        no_sanitizer(err)
        eq(p.returncode, 0, "exit code")
        warns = [j for j in log_lines(b"".join(seen) + err) if j.get("level") == "warn"]
        assert any("LISTEN_PID" in j.get("msg", "") for j in warns), \
            "a warning names LISTEN_PID: %s" % short(err)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
        lsock.close()


def refused(fds, env, name, words):
    """cmsd must exit 1 with an error line containing each of words, and
    leave no store behind."""
    e = {"LISTEN_PID": "self", "CMSD_LISTEN": "127.0.0.1:0"}
    e.update(env)
    p, db = start(fds, e, name)
    try:
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    no_sanitizer(err)
    eq(p.returncode, 1, "%s: exit code (stderr %s)" % (name, short(err)))
    errors = [j["msg"] for j in log_lines(err) if j.get("level") == "error"]
    assert errors, "%s: an error line: %s" % (name, short(err))
    for w in words:
        assert w in errors[-1], "%s: error names %r: %r" % (name, w, errors[-1])
    assert not any(j.get("msg") == "listening" for j in log_lines(err)), "%s: never listened" % name
    assert not os.path.exists(db), "%s: the store was not created" % name


def test_bad_listen_fds_is_refused():
    sqlite_only()
    lsock = listening_socket()
    try:
        refused([lsock.fileno()], {"LISTEN_FDS": "abc"}, "notanumber", ["LISTEN_FDS=abc"])
        refused([lsock.fileno()], {"LISTEN_FDS": "0"}, "zero", ["LISTEN_FDS=0"])
        # two announced, one passed: descriptor 4 is not open
        refused([lsock.fileno()], {"LISTEN_FDS": "2"}, "missing", ["LISTEN_FDS=2"])
        refused([lsock.fileno()], {"LISTEN_FDS": "1", "LISTEN_PID": "x"}, "badpid",
                ["LISTEN_PID=x"])
    finally:
        lsock.close()


def test_two_sockets_are_refused():
    sqlite_only()
    a, b = listening_socket(), listening_socket()
    try:
        refused([a.fileno(), b.fileno()], {"LISTEN_FDS": "2"}, "two",
                ["2 sockets", "ListenStream"])
    finally:
        a.close()
        b.close()


def test_not_a_listening_tcp_socket_is_refused():
    sqlite_only()
    path = os.path.join(TMP, "plain-file")
    with open(path, "w") as f:
        f.write("x")
    f = os.open(path, os.O_RDONLY)
    unlistened = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    unlistened.bind(("127.0.0.1", 0))
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(os.path.join(TMP, "unix.sock"))
    unix.listen(4)
    try:
        for fd, name in ((f, "file"), (unlistened.fileno(), "unlistened"),
                         (unix.fileno(), "unix")):
            refused([fd], {"LISTEN_FDS": "1"}, name, ["descriptor 3", "listening TCP socket"])
    finally:
        os.close(f)
        unlistened.close()
        unix.close()
