"""
cmsctl_run.py - running the real cmsctl binary from the black-box tests
(t20: the client, t22: the change feed's commands).  Not a test module: the
runner only collects tNN_*.py.

CMSCTL_BIN names the binary (or a wrapper script that runs it under
valgrind); by default the cmsctl next to CMSD_BIN, else build/cmsctl.  A
sanitizer or valgrind report on cmsctl's stderr fails the test.
"""
import json
import os
import socket
import subprocess
import threading

import harness
from harness import REPO, SLOW, short


def cmsctl_bin():
    b = os.environ.get("CMSCTL_BIN")
    if b:
        return b if os.path.isabs(b) else os.path.join(REPO, b)
    sibling = os.path.join(os.path.dirname(harness.cmsd_bin()), "cmsctl")
    if os.path.exists(sibling):
        return sibling
    return os.path.join(REPO, "build", "cmsctl")


class Ran(object):
    def __init__(self, args, rc, out, err):
        self.args, self.rc, self.out, self.err = args, rc, out, err

    @property
    def json(self):
        try:
            return json.loads(self.out)
        except ValueError:
            raise AssertionError("cmsctl %s: stdout is not JSON: %r" % (
                " ".join(self.args), self.out[:500]))

    def __repr__(self):
        return "cmsctl %s -> %d\n  stdout: %s\n  stderr: %s" % (
            " ".join(self.args), self.rc, short(self.out, 800), short(self.err, 800))


def environment(home, srv, kw):
    """The environment of a cmsctl run: none of the caller's CMS_ and CMSCTL_
    variables, HOME is home (no user configuration), CMS_URL points at srv
    unless kw["url"] says otherwise, CMS_TOKEN is kw["token"] when given,
    kw["env"] adds variables."""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("CMS_") and not k.startswith("CMSCTL_")}
    e["HOME"] = home
    url = kw.get("url", "http://127.0.0.1:%d" % srv.port if srv and srv.port else None)
    if url:
        e["CMS_URL"] = url
    if kw.get("token"):
        e["CMS_TOKEN"] = kw["token"]
    e.update(kw.get("env") or {})
    return e


def check_report(r):
    """Under a sanitizer build or a valgrind wrapper (CMSCTL_BIN), a report
    fails the test even when the exit code happens to be the expected one."""
    for line in r.err.splitlines():
        assert not harness.TOOL_LINE.match(line) and \
            not any(m in line for m in harness.SAN_MARKERS), "cmsctl memory report: %r" % r
    return r


def run(home, srv, args, kw):
    """Run cmsctl with args to its end (see environment for kw; also stdin=,
    timeout=); return a checked Ran."""
    p = subprocess.run([cmsctl_bin()] + list(args), input=kw.get("stdin", b""),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=environment(home, srv, kw), timeout=kw.get("timeout", 120 * SLOW),
                       cwd=home)
    return check_report(Ran(list(args), p.returncode, p.stdout.decode("utf-8", "replace"),
                            p.stderr.decode("utf-8", "replace")))


def ok(r, what=""):
    assert r.rc == 0, "%sexpected exit 0: %r" % (what and what + ": ", r)
    return r


def code(r, rc, what=""):
    assert r.rc == rc, "%sexpected exit %d: %r" % (what and what + ": ", rc, r)
    return r


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Proxy(object):
    """A TCP forwarder on a port of its own to a server that may come and go:
    down() closes its listener (new connections are refused) and every
    connection through it; up(port) listens again on the same port.  A
    subclass may look at what cmsctl sends (on_request)."""

    def __init__(self):
        self.port = closed_port()
        self.lsock = None
        self.conns = []
        self.lock = threading.Lock()

    def up(self, target):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(16)
        self.lsock = s
        threading.Thread(target=self._accept, args=(s, target), daemon=True).start()

    def down(self):
        s, self.lsock = self.lsock, None
        if s:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        with self.lock:
            conns, self.conns = self.conns, []
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def _accept(self, s, target):
        while True:
            try:
                a, _ = s.accept()
            except OSError:
                return
            try:
                b = socket.create_connection(("127.0.0.1", target), timeout=10)
            except OSError:
                a.close()
                continue
            with self.lock:
                self.conns += [a, b]
            for x, y, out in ((a, b, True), (b, a, False)):
                threading.Thread(target=self._pump, args=(x, y, out), daemon=True).start()

    def on_request(self, data):
        """Called with each chunk cmsctl sends, before it is forwarded; True:
        do not forward it (on_request has dealt with the connection)."""
        return False

    def _pump(self, src, dst, from_cmsctl):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_cmsctl and self.on_request(data):
                    return
                dst.sendall(data)
        except OSError:
            pass
        for x in (src, dst):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
