"""
crowd.py - thousands of hostile connections from many loopback addresses in
one thread (selectors), for t45_crowds and `make soak`.

A Crowd opens `count` sockets spread round-robin over the addresses
127.0.1.1 .. 127.0.1.<addrs> (every 127.x address reaches lo on Linux; each
socket is bound before it connects, so cmsd sees many clients).  Each
socket is either
  "slow": it sends half a request head and then nothing more, or
  "idle": it sends nothing at all,
and, when `reconnect` is set, a socket the server closes is opened again at
once, as an attacker that wants to keep the server full would.  It counts
how many sockets are open, how many the server cut and how many connects
failed.
"""
import errno
import resource
import selectors
import socket
import threading
import time

HALF_HEAD = (b"GET /cms/configuration/voice/campaignLeadUserMapping?campaignId=1 HTTP/1.1\r\n"
             b"Host: x\r\nUser-Agent: slow\r\n")


def raise_nofile(want):
    """Raise this process's RLIMIT_NOFILE towards `want` (up to the hard
    limit); returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def address(i, addrs):
    return "127.0.1.%d" % (1 + i % addrs)


class Crowd(threading.Thread):
    def __init__(self, port, count, addrs=60, kind="slow", reconnect=True, open_rate=2000,
                 first=0):
        super().__init__(daemon=True)
        self.port = port
        self.count = count
        self.addrs = addrs
        self.kind = kind
        self.reconnect = reconnect
        self.open_rate = open_rate      # new connections a second at most
        self.first = first              # address index of the first socket
        self.sel = selectors.DefaultSelector()
        self.stop_evt = threading.Event()
        self.lock = threading.Lock()
        self.open = 0                   # connected and not closed by the server
        self.cut = 0                    # closed by the server
        self.failed = 0                 # connects refused or timed out
        self.opened = 0
        self.peak = 0
        self.pending = list(range(count))  # slots that want a socket

    def _open(self, slot):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((address(self.first + slot, self.addrs), 0))
            rc = s.connect_ex(("127.0.0.1", self.port))
        except OSError:
            s.close()
            self.failed += 1
            return False
        if rc not in (0, errno.EINPROGRESS):
            s.close()
            self.failed += 1
            return False
        self.sel.register(s, selectors.EVENT_WRITE, [slot, "connecting", time.time()])
        return True

    def _close(self, s, counted):
        self.sel.unregister(s)
        s.close()
        if counted:
            self.open -= 1

    def run(self):
        budget, last = 0.0, time.time()
        while not self.stop_evt.is_set():
            now = time.time()
            budget = min(budget + (now - last) * self.open_rate, self.open_rate / 10.0)
            last = now
            while self.pending and budget >= 1:
                slot = self.pending.pop()
                budget -= 1
                if not self._open(slot):
                    self.pending.insert(0, slot)
                    break
            for key, ev in self.sel.select(0.05):
                s, data = key.fileobj, key.data
                slot, state = data[0], data[1]
                if state == "connecting":
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        self._close(s, False)
                        self.failed += 1
                        self.pending.insert(0, slot)
                        continue
                    self.open += 1
                    self.opened += 1
                    self.peak = max(self.peak, self.open)
                    if self.kind == "slow":
                        try:
                            s.send(HALF_HEAD)
                        except OSError:
                            pass
                    self.sel.modify(s, selectors.EVENT_READ, [slot, "open", now])
                    continue
                try:
                    got = s.recv(4096)
                except OSError:
                    got = b""
                if got:
                    continue  # an answer (e.g. 408 from a proxy): keep reading
                self._close(s, True)
                self.cut += 1
                if self.reconnect:
                    self.pending.append(slot)
            # connects that hang (a full backlog) are retried after 3 s
            for key in list(self.sel.get_map().values()):
                if key.data[1] == "connecting" and now - key.data[2] > 3:
                    self._close(key.fileobj, False)
                    self.failed += 1
                    self.pending.insert(0, key.data[0])
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()
        self.sel.close()

    def stop(self):
        self.stop_evt.set()
        self.join(30)

    def wait_open(self, n, timeout):
        """Wait until at least n sockets are open; returns the count."""
        end = time.time() + timeout
        while self.open < n and time.time() < end:
            time.sleep(0.1)
        return self.open


def vm_kib(pid):
    """VmRSS and VmHWM of process pid, in KiB."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out.get("VmRSS", 0), out.get("VmHWM", 0)


def timed_get(port, src, path="/health", timeout=10.0):
    """Seconds a fresh client on `src` takes to get an answer to GET path
    (connect included), and the status; (elapsed, None) when none came."""
    t0 = time.time()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                     source_address=(src, 0))
    except OSError:
        return time.time() - t0, None
    try:
        s.settimeout(max(0.1, timeout - (time.time() - t0)))
        s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        buf = b""
        while b"\r\n" not in buf:
            got = s.recv(4096)
            if not got:
                break
            buf += got
        status = int(buf.split(b" ", 2)[1]) if buf.startswith(b"HTTP/1.1 ") else None
        return time.time() - t0, status
    except (OSError, ValueError, IndexError):
        return time.time() - t0, None
    finally:
        s.close()
