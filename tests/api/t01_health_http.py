"""
t01 - /health and the HTTP layer: unknown paths, 405 + Allow, Accept (406),
Content-Type (415), the body-size limit (413), X-Request-Id, trailing slashes
(API.md sections 3-6, docs/decisions.md "Authorisation order", "HTTP details").
"""
import http.client
import json
import socket
import threading
import time

from harness import *  # noqa: F401,F403
from harness import MIB, SLOW, REQ_TIMEOUT

S = None
F = None


def setup_module():
    global S, F
    S = use(Server().start())
    F = make_fixture(extra_agents=2)


def valid_mapping_body(assigned=None):
    return {"leadId": F.lead, "campaignId": F.campaign,
            "assignedUserIds": assigned if assigned is not None else [F.agents[0]],
            "unassignedUserIds": []}


def process_names():
    r = req("GET", F.cc_path + "/process?limit=1000", auth=F.auth("admin"))
    return [p["processName"] for p in expect(r, 200)]


# ---- /health --------------------------------------------------------------

def test_health_without_credentials():
    r = req("GET", "/health")
    expect(r, 200)
    eq(r.json, {"status": "ok"}, "/health body")
    ct = r.headers.get("content-type", "")
    assert ct.split(";")[0].strip() == "application/json", "/health Content-Type %r" % ct
    assert r.headers.get("x-request-id"), "/health without X-Request-Id"


def test_health_is_json_with_credentials_too():
    r = req("GET", "/health", auth=F.auth("agent"))
    expect(r, 200)
    eq(r.json, {"status": "ok"}, "/health body")


# ---- unknown paths ----------------------------------------------------------

UNKNOWN = [
    "/", "/nope", "/healthz", "/cms", "/cms/configuration", "/cms/configuration/nope",
    "/cms/configuration/voice", "/cms/configuration/voice/campaignLeadUserMappings",
    "/cms/configuration/cc/1/nope", "/cms/configuration/cc/1/process/1/nope",
    "/cms/configuration/basicauth/extra",
    "/CMS/CONFIGURATION/CC",
]


def test_unknown_path_404_without_credentials():
    for path in UNKNOWN:
        assert_error(req("GET", path), 404, "HTTP-1404", "no credentials")


def test_unknown_path_404_with_credentials():
    for path in UNKNOWN + [F.camp_path + "/campaign-user/%s/more" % F.agent,
                           F.camp_path + "/nothing"]:
        assert_error(req("GET", path, auth=F.auth("admin")), 404, "HTTP-1404")


def test_unknown_path_404_before_content_type_and_body():
    # an unknown path comes first: no 415, no 401, no 400
    r = req("POST", "/cms/configuration/nope", raw="not json", headers={"Content-Type": "text/plain"})
    assert_error(r, 404, "HTTP-1404")
    r = req("PUT", "/nope", raw="{", auth=F.auth("admin"))
    assert_error(r, 404, "HTTP-1404")


# ---- 405 ------------------------------------------------------------------

def allow_set(r):
    return set(m.strip().upper() for m in r.headers.get("allow", "").split(",") if m.strip())


def method_cases():
    return [
        ("DELETE", BASE + "/cc", {"GET", "POST"}),
        ("PUT", BASE + "/cc", {"GET", "POST"}),
        ("PUT", F.cc_path, {"GET", "DELETE"}),
        ("POST", F.cc_path, {"GET", "DELETE"}),
        ("PATCH", F.cc_path, {"GET", "DELETE"}),
        ("DELETE", F.cc_path + "/user", {"GET", "POST"}),
        ("POST", F.cc_path + "/user/" + F.agent, {"GET", "PUT", "DELETE"}),
        ("PUT", F.cc_path + "/process", {"GET", "POST"}),
        ("PUT", F.proc_path, {"GET", "DELETE"}),
        ("DELETE", F.proc_path + "/lead", {"GET", "POST"}),
        ("PUT", F.proc_path + "/lead/%d" % F.lead, {"GET", "DELETE"}),
        ("DELETE", F.proc_path + "/campaign", {"GET", "POST"}),
        ("PUT", F.camp_path, {"GET", "DELETE"}),
        ("DELETE", F.camp_path + "/campaign-user", {"GET", "POST"}),
        ("GET", F.camp_path + "/campaign-user/" + F.agent, {"DELETE"}),
        ("PUT", F.camp_path + "/campaign-lead", {"GET", "POST"}),
        ("GET", F.camp_path + "/campaign-lead/%d" % F.lead, {"DELETE"}),
        ("POST", F.camp_path + "/lead-user", {"GET"}),
        ("POST", MAPPING, {"GET", "PUT"}),
        ("DELETE", MAPPING, {"GET", "PUT"}),
        ("POST", "/health", {"GET"}),
        ("DELETE", "/health", {"GET"}),
        ("GET", BASICAUTH, {"POST", "DELETE"}),
        ("PUT", BASICAUTH, {"POST", "DELETE"}),
    ]


def check_405(r, method, allowed):
    assert_error(r, 405, "HTTP-1405", "%s %s" % (method, r.path))
    got = allow_set(r)
    assert allowed <= got, "%s %s: Allow %r lacks some of %s" % (
        method, r.path, r.headers.get("allow"), sorted(allowed))
    assert method not in got, "%s %s: Allow %r lists the refused method" % (
        method, r.path, r.headers.get("allow"))
    assert got - allowed <= {"HEAD", "OPTIONS"}, "%s %s: Allow %r lists methods not served" % (
        method, r.path, r.headers.get("allow"))


def test_405_with_allow_header():
    for method, path, allowed in method_cases():
        check_405(req(method, path, auth=F.auth("admin")), method, allowed)


def test_405_before_credentials():
    for method, path, allowed in method_cases():
        check_405(req(method, path), method, allowed)


def test_405_before_content_type():
    r = req("POST", F.cc_path, raw="hello", headers={"Content-Type": "text/plain"},
            auth=F.auth("admin"))
    check_405(r, "POST", {"GET", "DELETE"})


# ---- Accept (406) -------------------------------------------------------------

BAD_ACCEPT = ["text/html", "application/xml", "text/*", "image/png, text/plain",
              "application/json;q=0", "text/html;q=1, application/json;q=0"]
GOOD_ACCEPT = ["*/*", "application/*", "application/json", "application/json;q=1",
               "application/json; q=1.0", "text/html, application/json;q=0.5",
               "text/html;q=0.9, */*;q=0.1", "application/xml, application/*;q=0.2"]


def test_406_when_accept_excludes_json():
    for a in BAD_ACCEPT:
        r = req("GET", F.cc_path, auth=F.auth("admin"), headers={"Accept": a})
        assert_error(r, 406, "HTTP-1406", "Accept: %s" % a)


def test_accept_allowing_json_is_fine():
    for a in GOOD_ACCEPT:
        r = req("GET", F.cc_path, auth=F.auth("admin"), headers={"Accept": a})
        expect(r, 200, "Accept: %s" % a)
        eq(r.json.get("contactCenterId"), F.cc, "contactCenterId with Accept %s" % a)


def test_406_on_mapping_put_changes_nothing():
    before = get_mapping(F.auth("admin"), F.campaign, F.lead)
    target = F.agents[1]
    assert target not in before["assignedUserIds"], "precondition: %s unmapped" % target
    r = put_mapping(F.auth("admin"), F.campaign, F.lead, [target], [],
                    headers={"Accept": "text/html"})
    assert_error(r, 406, "HTTP-1406")
    eq(get_mapping(F.auth("admin"), F.campaign, F.lead), before, "mapping after a 406")
    r = put_mapping(F.auth("admin"), F.campaign, F.lead, [], [target],
                    headers={"Accept": "application/json"})
    expect(r, 200, "PUT with Accept: application/json")


def test_406_on_post_creates_nothing():
    name = "p406-" + uniq()
    r = req("POST", F.cc_path + "/process", {"processName": name}, auth=F.auth("admin"),
            headers={"Accept": "text/html"})
    assert_error(r, 406, "HTTP-1406")
    assert name not in process_names(), "a 406 POST created the process"


def test_401_comes_before_406():
    r = req("GET", F.cc_path, headers={"Accept": "text/html"})
    assert_error(r, 401, "AUTH-1001")


# ---- Content-Type (415) --------------------------------------------------------

BAD_CT = ["text/plain", "application/x-www-form-urlencoded", "application/jsonx",
          "text/json", "application/json; charset=latin1", "application/json; charset=utf-16",
          "multipart/form-data; boundary=x", "application/xml"]


def test_415_for_post_with_wrong_content_type():
    for ct in BAD_CT:
        name = "p415-" + uniq()
        r = req("POST", F.cc_path + "/process", {"processName": name}, auth=F.auth("admin"),
                headers={"Content-Type": ct})
        assert_error(r, 415, "HTTP-1415", "Content-Type: %s" % ct)
        assert name not in process_names(), "a 415 POST created the process (%s)" % ct


def test_415_for_post_without_content_type():
    name = "p415-" + uniq()
    r = req("POST", F.cc_path + "/process", raw=json.dumps({"processName": name}),
            headers={"Content-Type": None}, auth=F.auth("admin"))
    assert_error(r, 415, "HTTP-1415", "no Content-Type")
    assert name not in process_names(), "a 415 POST created the process"


def test_415_for_put_mapping_and_user():
    body = json.dumps(valid_mapping_body())
    for ct in ("text/plain", None, "application/x-www-form-urlencoded"):
        r = req("PUT", MAPPING, raw=body, headers={"Content-Type": ct}, auth=F.auth("admin"))
        assert_error(r, 415, "HTTP-1415", "mapping PUT, Content-Type %r" % ct)
        r = req("PUT", F.cc_path + "/user/" + F.agent, raw='{"name":"X"}',
                headers={"Content-Type": ct}, auth=F.auth("admin"))
        assert_error(r, 415, "HTTP-1415", "user PUT, Content-Type %r" % ct)


def test_415_for_login_body():
    r = req("POST", BASICAUTH, raw=json.dumps({"username": F.admin, "password": F.pw[F.admin]}),
            headers={"Content-Type": "text/plain"})
    assert_error(r, 415, "HTTP-1415")
    r = req("POST", BASICAUTH, raw="username=%s&password=x" % F.admin,
            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(r, 415, "HTTP-1415")


def test_json_with_charset_is_accepted():
    for ct in ("application/json; charset=utf-8", "application/json;charset=utf-8",
               "application/json; charset=UTF-8"):
        name = "pct-" + uniq()
        r = req("POST", F.cc_path + "/process", {"processName": name}, auth=F.auth("admin"),
                headers={"Content-Type": ct})
        b = expect(r, 201, "Content-Type: %s" % ct)
        eq(b.get("processName"), name, "processName")
        r = req("PUT", MAPPING, valid_mapping_body(), auth=F.auth("admin"),
                headers={"Content-Type": ct})
        expect(r, 200, "mapping PUT with Content-Type: %s" % ct)


def test_415_order():
    # credentials first
    r = req("POST", F.cc_path + "/process", raw="x", headers={"Content-Type": "text/plain"})
    assert_error(r, 401, "AUTH-1001")
    # media type before the role
    r = req("POST", F.cc_path + "/process", raw='{"processName":"x"}',
            headers={"Content-Type": "text/plain"}, auth=F.auth("agent"))
    assert_error(r, 415, "HTTP-1415", "agent with text/plain")
    # media type before the body
    r = req("POST", F.cc_path + "/process", raw="{{{", headers={"Content-Type": "text/plain"},
            auth=F.auth("admin"))
    assert_error(r, 415, "HTTP-1415", "bad body with text/plain")


def test_get_and_delete_ignore_content_type():
    r = req("GET", F.cc_path, headers={"Content-Type": "text/plain"}, auth=F.auth("admin"))
    expect(r, 200, "GET with Content-Type: text/plain")
    p = create_process(F.auth("admin"), F.cc)
    r = req("DELETE", proc_path(F.cc, p), headers={"Content-Type": "text/plain"},
            auth=F.auth("admin"))
    expect(r, 204, "DELETE with Content-Type: text/plain")
    eq(r.raw, b"", "204 body")


# ---- body size (413) --------------------------------------------------------------

def send_partial(path, declared, sent, auth):
    """Declare `declared` body bytes, send only `sent`, return the response."""
    sock = open_socket()
    try:
        hdrs = {"Content-Type": "application/json", "Content-Length": str(declared)}
        if auth:
            hdrs["Authorization"] = auth
        sock.sendall(request_head("PUT", path, hdrs))
        sock.sendall(b'{"pad":"' + b"x" * (sent - 8))
        t0 = time.time()
        r = read_response(sock, "PUT", path, timeout=10 * SLOW)
        return r, time.time() - t0
    finally:
        sock.close()


def test_413_on_declared_length_without_reading_the_body():
    r, took = send_partial(MAPPING, 2 * MIB, 64 * 1024, F.auth("admin"))
    assert_error(r, 413, "HTTP-1413", "declared 2 MiB")


def test_413_before_credentials():
    r, took = send_partial(MAPPING, 2 * MIB, 16 * 1024, None)
    assert_error(r, 413, "HTTP-1413", "declared 2 MiB, no credentials")


def send_full(path, body, auth, chunked=False):
    """Send a whole body (in a thread, as the server may answer early)."""
    sock = open_socket()
    hdrs = {"Content-Type": "application/json"}
    if auth:
        hdrs["Authorization"] = auth
    if chunked:
        hdrs["Transfer-Encoding"] = "chunked"
        payload = b""
        parts = []
        for i in range(0, len(body), 65536):
            c = body[i:i + 65536]
            parts.append(b"%x\r\n" % len(c) + c + b"\r\n")
        payload = b"".join(parts) + b"0\r\n\r\n"
    else:
        hdrs["Content-Length"] = str(len(body))
        payload = body
    data = request_head("PUT", path, hdrs) + payload
    err = []

    def sender():
        try:
            sock.sendall(data)
        except OSError as e:   # the server may stop reading after its answer
            err.append(e)
    t = threading.Thread(target=sender, daemon=True)
    t.start()
    try:
        return read_response(sock, "PUT", path, timeout=20 * SLOW)
    finally:
        t.join(20 * SLOW)
        sock.close()


def padded_mapping_body(size):
    b = valid_mapping_body()
    b["pad"] = ""
    base = len(json.dumps(b, separators=(",", ":")).encode())
    b["pad"] = "x" * (size - base)
    out = json.dumps(b, separators=(",", ":")).encode()
    assert len(out) == size, "padding arithmetic: %d != %d" % (len(out), size)
    return out


def test_413_on_real_oversized_body():
    r = send_full(MAPPING, padded_mapping_body(MIB + MIB // 2), F.auth("admin"))
    assert_error(r, 413, "HTTP-1413", "1.5 MiB body")


def test_413_on_oversized_chunked_body():
    r = send_full(MAPPING, padded_mapping_body(MIB + MIB // 2), F.auth("admin"), chunked=True)
    assert_error(r, 413, "HTTP-1413", "1.5 MiB chunked body")


def test_body_of_exactly_one_mib_is_accepted():
    r = send_full(MAPPING, padded_mapping_body(MIB), F.auth("admin"))
    check_mapping(expect(r, 200, "body of exactly 1 MiB"), F.campaign, F.lead)
    r = send_full(MAPPING, padded_mapping_body(MIB + 1), F.auth("admin"))
    assert_error(r, 413, "HTTP-1413", "body of 1 MiB + 1 byte")


def test_small_chunked_body_is_accepted():
    body = json.dumps(valid_mapping_body([F.agents[1]])).encode()
    r = send_full(MAPPING, body, F.auth("admin"), chunked=True)
    check_mapping(expect(r, 200, "chunked PUT"), F.campaign, F.lead,
                  assigned=[F.agents[1]], unassigned=[])
    r = put_mapping(F.auth("admin"), F.campaign, F.lead, [], [F.agents[1]])
    expect(r, 200, "undo")


def test_server_still_serves_after_413s():
    r = req("GET", "/health")
    expect(r, 200, "health after the 413 tests")
    r = req("GET", F.cc_path, auth=F.auth("admin"))
    expect(r, 200)


# ---- X-Request-Id ---------------------------------------------------------------

def test_request_id_on_every_kind_of_response():
    rs = [
        req("GET", "/health"),
        req("GET", F.cc_path, auth=F.auth("admin")),
        req("POST", F.cc_path + "/process", {"processName": "rid-" + uniq()}, auth=F.auth("admin")),
        req("GET", F.cc_path),
        req("GET", "/nope"),
        req("DELETE", BASE + "/cc"),
        req("GET", F.cc_path, auth=F.auth("admin"), headers={"Accept": "text/html"}),
        req("POST", F.cc_path + "/process", raw="x", headers={"Content-Type": "text/plain"},
            auth=F.auth("admin")),
        req("POST", F.cc_path + "/process", raw="{", auth=F.auth("admin")),
        req("POST", F.cc_path + "/process", {"processName": "x"}, auth=F.auth("agent")),
        req("GET", proc_path(F.cc, NX), auth=F.auth("admin")),
    ]
    p = create_process(F.auth("admin"), F.cc)
    rs.append(req("DELETE", proc_path(F.cc, p), auth=F.auth("admin")))
    eq([r.status for r in rs], [200, 200, 201, 401, 404, 405, 406, 415, 400, 403, 404, 204],
       "statuses of the sample")
    ids = [r.headers.get("x-request-id") for r in rs]
    for r, i in zip(rs, ids):
        assert i and i.strip(), "%s %s (%d) without X-Request-Id" % (r.method, r.path, r.status)
        assert len(i) <= 200 and all(32 < ord(c) < 127 for c in i), "odd X-Request-Id %r" % i
    eq(len(set(ids)), len(ids), "distinct request ids (%r)" % ids)


def test_request_ids_distinct_across_many_requests():
    ids = [req("GET", "/health").headers.get("x-request-id") for _ in range(30)]
    assert all(ids), "a /health answer without X-Request-Id"
    eq(len(set(ids)), 30, "distinct ids among 30 requests")


# ---- trailing slash ---------------------------------------------------------------

def test_trailing_slash_is_ignored():
    r = req("GET", "/health/")
    expect(r, 200, "/health/")
    a = req("GET", F.cc_path, auth=F.auth("admin"))
    b = req("GET", F.cc_path + "/", auth=F.auth("admin"))
    eq(expect(b, 200, "cc with slash"), expect(a, 200), "cc with and without slash")
    a = req("GET", F.cc_path + "/user?limit=5", auth=F.auth("admin"))
    b = req("GET", F.cc_path + "/user/?limit=5", auth=F.auth("admin"))
    eq(expect(b, 200, "users with slash"), expect(a, 200), "user list with and without slash")
    q = "?campaignId=%d&leadId=%d" % (F.campaign, F.lead)
    a = req("GET", MAPPING + q, auth=F.auth("admin"))
    b = req("GET", MAPPING + "/" + q, auth=F.auth("admin"))
    eq(expect(b, 200, "mapping GET with slash"), expect(a, 200), "mapping with and without slash")
    r = req("PUT", MAPPING + "/", valid_mapping_body(), auth=F.auth("admin"))
    check_mapping(expect(r, 200, "mapping PUT with slash"), F.campaign, F.lead)
    name = "slash-" + uniq()
    r = req("POST", F.cc_path + "/process/", {"processName": name}, auth=F.auth("admin"))
    eq(expect(r, 201, "POST with slash").get("processName"), name, "processName")


# ---- connections ---------------------------------------------------------------------

def test_keep_alive_survives_early_error_answers():
    """Answers given without reading the body (401, 403, 415, 400...) must not
    leave the body's bytes to be parsed as the next request."""
    body = json.dumps(valid_mapping_body()).encode()
    seq = [
        ("PUT", MAPPING, body, {"Content-Type": "application/json"}, 401),
        ("GET", "/health", None, {}, 200),
        ("POST", F.cc_path + "/process", b'{"processName": "ka-%s"}' % uniq().encode(),
         {"Content-Type": "text/plain", "Authorization": F.auth("admin")}, 415),
        ("GET", F.cc_path, None, {"Authorization": F.auth("admin")}, 200),
        ("PUT", MAPPING, body, {"Content-Type": "application/json",
                                "Authorization": F.auth("agent")}, 403),
        ("GET", "/health", None, {}, 200),
        ("PUT", MAPPING, b'{"leadId": GET /health HTTP/1.1\r\n\r\n',
         {"Content-Type": "application/json", "Authorization": F.auth("admin")}, 400),
        ("GET", F.cc_path, None, {"Authorization": F.auth("agent")}, 200),
        ("DELETE", "/nope", b"x" * 5000, {"Content-Type": "text/plain"}, 404),
        ("GET", "/health", None, {}, 200),
        ("POST", BASE + "/cc", body, {"Content-Type": "application/json"}, 401),
        ("GET", "/health", None, {}, 200),
    ]
    conn = http.client.HTTPConnection("127.0.0.1", S.port, timeout=REQ_TIMEOUT)
    try:
        for method, path, b, hdrs, want in seq:
            try:
                conn.request(method, path, body=b, headers=hdrs)
                r = conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # the server may close a connection; it must then not have
                # promised to keep it open, and a new one must work
                conn.close()
                conn.request(method, path, body=b, headers=hdrs)
                r = conn.getresponse()
            raw = r.read()
            assert r.status == want, "%s %s on a kept-alive connection -> %d (expected %d): %s" % (
                method, path, r.status, want, short(raw))
            assert r.getheader("X-Request-Id"), "%s %s: no X-Request-Id" % (method, path)
    finally:
        conn.close()


def test_success_answers_are_json():
    rs = [req("GET", F.cc_path, auth=F.auth("admin")),
          req("GET", BASE + "/cc", auth=F.auth("admin")),
          req("POST", F.cc_path + "/process", {"processName": "js-" + uniq()}, auth=F.auth("admin")),
          req("GET", MAPPING + "?campaignId=%d&leadId=%d" % (F.campaign, F.lead), auth=F.auth("admin")),
          put_mapping(F.auth("admin"), F.campaign, F.lead, [], []),
          login_resp(F.admin, F.pw[F.admin])]
    for r in rs:
        assert r.status in (200, 201), "%s %s -> %d" % (r.method, r.path, r.status)
        ct = r.headers.get("content-type", "")
        assert ct.split(";")[0].strip().lower() == "application/json", \
            "%s %s: Content-Type %r" % (r.method, r.path, ct)
        assert r.json is not None, "%s %s: body is not JSON: %s" % (r.method, r.path, short(r.raw))


def raw_exchange(data, wait=2.0):
    """Send raw bytes, read whatever comes back until close or `wait` s."""
    sock = open_socket()
    out = b""
    try:
        sock.sendall(data)
        sock.settimeout(wait * SLOW)
        while True:
            try:
                chunk = sock.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        sock.close()
    return out


def test_malformed_requests_do_not_hurt_the_server():
    junk = [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
        b"PUT " + MAPPING.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"PUT " + MAPPING.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"PUT " + MAPPING.encode() + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 100000 + b"\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + b"=" * 5000 + b"\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHo",           # cut short
        b"\x00\xff\xfe\r\n\r\n",
        b"",                                      # connect and close
    ]
    for data in junk:
        raw_exchange(data, wait=0.3)
    r = req("GET", F.cc_path, auth="Basic " + "=" * 3000)
    assert_error(r, 401, "AUTH-1001", "an absurd Basic value")
    expect(req("GET", "/health"), 200, "health after malformed requests")
    expect(req("GET", F.cc_path, auth=F.auth("admin")), 200, "a normal request afterwards")
