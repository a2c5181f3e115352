"""
t09 - GET /metrics (issue 5): the Prometheus text format, parsed strictly;
requests by route and status, the latency histogram, store errors and open
connections move by exactly what the test did; nothing personal in it.
"""
import math
import re
import socket
import time

from harness import *  # noqa: F401,F403
from harness import SLOW

S = None
F = None

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def setup_module():
    global S, F
    S = use(Server(extra_args=["--faults"]).start())
    F = make_fixture(extra_agents=2)


def scrape():
    """GET /metrics; return {(name, frozenset(labels)): value} after checking
    every line of the page against the text format."""
    r = req("GET", "/metrics", headers={"Accept": "text/plain"})
    eq(r.status, 200, "/metrics status")
    ct = r.headers.get("content-type", "")
    assert ct.startswith("text/plain") and "version=0.0.4" in ct, "Content-Type %r" % ct
    text = r.raw.decode("utf-8")
    assert text.endswith("\n"), "the page does not end with a newline"
    samples, typed, helped = {}, {}, set()
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP "):
            helped.add(line.split(" ")[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "histogram"), line
            assert name not in typed, "TYPE twice for %s" % name
            typed[name] = kind
            continue
        m = LINE.match(line)
        assert m, "not a sample line: %r" % line
        name, labels = m.group(1), m.group(3) or ""
        pairs = LABEL.findall(labels)
        eq(",".join('%s="%s"' % p for p in pairs), labels, "labels of %r" % line)
        value = float(m.group(4))
        assert not math.isnan(value) and value >= 0, line
        family = re.sub(r"_(bucket|sum|count)$", "", name) \
            if typed.get(re.sub(r"_(bucket|sum|count)$", "", name)) == "histogram" else name
        assert family in typed, "sample before its TYPE: %r" % line
        key = (name, frozenset(pairs))
        assert key not in samples, "series twice: %r" % line
        samples[key] = value
    eq(set(typed), helped, "every family has HELP and TYPE")
    return samples


def val(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_page_has_the_families_an_operator_needs():
    s = scrape()
    names = {k[0] for k in s}
    for n in ("cmsd_http_requests_total", "cmsd_http_request_duration_seconds_bucket",
              "cmsd_store_errors_total", "cmsd_http_open_connections",
              "cmsd_http_requests_in_flight", "cmsd_start_time_seconds"):
        assert n in names, "no %s in /metrics" % n
    assert abs(val(s, "cmsd_start_time_seconds") - time.time()) < 3600
    # the scrape itself is in flight and on an open connection
    assert val(s, "cmsd_http_requests_in_flight") >= 1
    assert val(s, "cmsd_http_open_connections") >= 1


def test_requests_are_counted_by_route_and_status_exactly():
    before = scrape()
    for _ in range(3):
        expect(req("GET", "/health"), 200, "health")
    expect(req("GET", "%s?campaignId=%s&leadId=%s" % (MAPPING, F.campaign, F.lead),
               auth=F.auth("sup")), 200, "mapping GET")
    assert_error(req("PUT", MAPPING, {"leadId": "x"}, auth=F.auth("sup")), 400, "CONF-1002")
    assert_error(req("GET", "/cms/configuration/nothing-here"), 404, "HTTP-1404")
    want = {("health", "200"): 3, ("mapping.get", "200"): 1, ("mapping.put", "400"): 1,
            ("none", "404"): 1}

    def d(route, code):
        return val(after, "cmsd_http_requests_total", route=route, code=code) - \
            val(before, "cmsd_http_requests_total", route=route, code=code)
    # a request is counted when libmicrohttpd reports it complete, which may
    # come a moment after the client has read the answer
    deadline = time.time() + 5 * SLOW
    while True:
        after = scrape()
        if all(d(*k) >= v for k, v in want.items()) or time.time() > deadline:
            break
        time.sleep(0.05)
    eq(d("health", "200"), 3, "health 200 delta")
    eq(d("mapping.get", "200"), 1, "mapping.get 200 delta")
    eq(d("mapping.put", "400"), 1, "mapping.put 400 delta")
    eq(d("none", "404"), 1, "unrouted 404 delta")
    # the earlier scrape is counted once it has been answered
    assert d("metrics", "200") >= 1


def histogram_check(s):
    """Whether the histogram of every route agrees with its counters in
    scrape s: None, or what disagrees."""
    routes = {dict(k[1])["route"] for k in s if k[0] == "cmsd_http_requests_total"}
    for route in routes:
        total = sum(v for k, v in s.items()
                    if k[0] == "cmsd_http_requests_total" and dict(k[1])["route"] == route)
        buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in s.items()
                          if k[0] == "cmsd_http_request_duration_seconds_bucket"
                          and dict(k[1])["route"] == route), key=lambda b: b[0])
        if not buckets or buckets[-1][0] != float("inf"):
            return "%s: no +Inf bucket" % route
        counts = [b[1] for b in buckets]
        if counts != sorted(counts):
            return "%s: buckets are not cumulative: %r" % (route, counts)
        count = val(s, "cmsd_http_request_duration_seconds_count", route=route)
        if buckets[-1][1] != count:
            return "%s: +Inf bucket %d != count %d" % (route, buckets[-1][1], count)
        # the page is built while its own request is still open: it lags by one
        if not (buckets[-1][1] <= total <= buckets[-1][1] + (1 if route == "metrics" else 0)):
            return "%s: %d requests, histogram count %d" % (route, total, buckets[-1][1])
        if not val(s, "cmsd_http_request_duration_seconds_sum", route=route) > 0:
            return "%s: no duration summed" % route
    return None


def test_histogram_is_consistent_with_the_counters():
    expect(req("GET", "/health"), 200, "health")
    # a request is counted when libmicrohttpd reports it complete, a moment
    # after the client has read the answer, and its counter and its bucket
    # are two atomics: a scrape taken in between sees one and not the other,
    # so the page must agree once that request has been counted
    deadline = time.time() + 5 * SLOW
    while True:
        why = histogram_check(scrape())
        if why is None or time.time() > deadline:
            break
        time.sleep(0.05)
    assert why is None, why


def test_store_failures_are_counted_by_kind():
    before = scrape()
    for fault in ("store-unavailable", "store-error"):
        r = req("POST", F.cc_path + "/process", {"processName": "m-" + uniq()}, auth=F.auth("admin"),
                headers={"X-Cmsd-Fault": fault})
        eq(r.status, 503 if fault == "store-unavailable" else 500, fault)
    r = req("POST", F.cc_path + "/process", {"processName": "m-" + uniq()}, auth=F.auth("admin"),
            headers={"X-Cmsd-Fault": "store-busy"})
    eq(r.status, 503, "store-busy after its retries")
    after = scrape()

    def d(name, **labels):
        return val(after, name, **labels) - val(before, name, **labels)
    eq(d("cmsd_store_errors_total", kind="unavailable"), 1, "unavailable delta")
    eq(d("cmsd_store_errors_total", kind="error"), 1, "error delta")
    assert d("cmsd_store_errors_total", kind="retry") >= 2, "retries not counted"
    assert d("cmsd_store_transaction_reruns_total") >= 1, "reruns not counted"


def test_open_connections_gauge_follows_idle_clients():
    base = val(scrape(), "cmsd_http_open_connections")
    socks = [socket.create_connection(("127.0.0.1", S.port)) for _ in range(6)]
    try:
        time.sleep(0.3)
        held = val(scrape(), "cmsd_http_open_connections")
        # the scrape's own connection is counted too; an earlier one may
        # still be closing, so only the lower bound is exact
        assert held >= 6 + 1, "6 idle connections, gauge went %d -> %d" % (base, held)
    finally:
        for s in socks:
            s.close()
    deadline = time.time() + 5
    while time.time() < deadline:
        now = val(scrape(), "cmsd_http_open_connections")
        if now <= base:
            break
        time.sleep(0.1)
    assert now <= base, "closed connections still counted: %d (was %d)" % (now, base)


def test_nothing_personal_and_no_credentials_needed():
    r = req("GET", "/metrics")   # no Authorization
    eq(r.status, 200, "/metrics without credentials")
    text = r.raw.decode()
    for secret in (F.admin, F.agent, F.cc_name, str(F.tok["admin"]), "sysadmin"):
        assert secret not in text, "%r appears in /metrics" % secret
    assert_error(req("POST", "/metrics", {}), 405, "HTTP-1405")
