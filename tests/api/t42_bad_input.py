"""
t42 - hostile input (issue 5): a battery against the mapping PUT, the create
endpoints and the login.  Each request must get its own answer from API.md
section 5 (status, errorCode, the one envelope; libmicrohttpd's own HTML only
where docs/decisions.md "HTTP details" lists it), change nothing (the whole
contact center's state is compared before and after each group), and leave
the server healthy; the harness checks its clean exit and, in the ASan and
valgrind phases, that nothing leaked.

What t01, t04 and t05 already check one by one (ids 0/-1/1.5 on the mapping,
bad names, bad user ids, malformed JSON, duplicate keys on the mapping and the
contact center) is not repeated; here the same kinds of input go through every
field of every body from one table, together with what those files do not
try: numbers beyond any integer, invalid UTF-8 in every string field and in
paths, NUL bytes, nesting deep enough to hit the parser's limit, bodies framed
oddly (chunked, extensions, trailers, conflicting lengths), unknown and
lower-case methods, and percent-encoded NUL in paths.
"""
import json
import time

from harness import *  # noqa: F401,F403
from harness import SLOW
import hostile

S = None
F = None
A = None
SYS = None


def setup_module():
    global S, F, A, SYS
    S = use(Server(extra_args=["--timeout", "3"]).start())
    F = make_fixture(extra_agents=3)
    A = F.auth("admin")
    SYS = S.sys_auth()


# ---- state ---------------------------------------------------------------------------

def listing(path, auth=None):
    sep = "&" if "?" in path else "?"
    r = req("GET", path + sep + "limit=1000", auth=auth or A)
    return expect(r, 200, "list " + path)


def snapshot():
    """Everything the battery could change, read through the API."""
    return {
        "contact centers": listing(BASE + "/cc", SYS),
        "users": listing(F.cc_path + "/user"),
        "processes": listing(F.cc_path + "/process"),
        "leads": listing(F.proc_path + "/lead"),
        "campaigns": listing(F.proc_path + "/campaign"),
        "campaign users": listing(F.camp_path + "/campaign-user"),
        "campaign leads": listing(F.camp_path + "/campaign-lead"),
        "mappings": listing(MAPPING),
        # a password change would revoke these
        "tokens work": [req("GET", F.cc_path, auth=F.auth(w)).status
                        for w in ("admin", "sup", "agent")],
    }


class Unchanged(object):
    """with Unchanged("what"): ... -- the state after equals the state before,
    and /health still answers."""

    def __init__(self, what):
        self.what = what

    def __enter__(self):
        self.before = snapshot()
        return self

    def __exit__(self, typ, val, tb):
        if typ is not None:
            return False
        after = snapshot()
        diff = [k for k in self.before if self.before[k] != after[k]]
        assert not diff, "%s changed the state of: %s; e.g. %s before %s, after %s" % (
            self.what, ", ".join(diff), diff[0], short(json.dumps(self.before[diff[0]]), 300),
            short(json.dumps(after[diff[0]]), 300))
        hostile.healthy()
        return False


# ---- every body, every field ------------------------------------------------------------

def bodies():
    """(name, method, path, auth, valid body, {field: kind}) of every request with a body."""
    u = uniq()
    return [
        ("contact center", "POST", BASE + "/cc", SYS, {"name": "cc-" + u}, {"name": "str"}),
        ("user", "POST", F.cc_path + "/user", A,
         {"userId": "u_" + u, "name": "N", "role": "Agent", "password": "pw-" + u + "xyz"},
         {"userId": "str", "name": "str", "role": "str", "password": "str"}),
        ("user update", "PUT", F.cc_path + "/user/" + F.agents[2], A,
         {"name": "N2", "role": "Agent", "password": "pw-" + u + "abc"},
         {"name": "str", "role": "str", "password": "str"}),
        ("process", "POST", F.cc_path + "/process", A, {"processName": "p-" + u},
         {"processName": "str"}),
        ("lead", "POST", F.proc_path + "/lead", A, {"leadName": "l-" + u}, {"leadName": "str"}),
        ("campaign", "POST", F.proc_path + "/campaign", A, {"campaignName": "c-" + u},
         {"campaignName": "str"}),
        ("campaign user", "POST", F.camp_path + "/campaign-user", A,
         {"userIds": [F.agents[2]]}, {"userIds": "strlist"}),
        ("campaign lead", "POST", F.camp_path + "/campaign-lead", A,
         {"leadId": F.lead, "priority": 5, "enabled": True},
         {"leadId": "id", "priority": "int", "enabled": "bool"}),
        ("mapping", "PUT", MAPPING, A,
         {"leadId": F.lead, "campaignId": F.campaign, "assignedUserIds": [F.agents[2]],
          "unassignedUserIds": []},
         {"leadId": "id", "campaignId": "id", "assignedUserIds": "strlist",
          "unassignedUserIds": "strlist"}),
        ("login", "POST", BASICAUTH, None,
         {"username": F.agent, "password": "wrong-password", "context": "ContactCenter",
          "contextId": F.cc, "dateExpiry": rfc3339(utcnow() + datetime.timedelta(days=1))},
         {"username": "str", "password": "str", "context": "str", "contextId": "id",
          "dateExpiry": "str"}),
    ]


WRONG = {
    "str": [None, True, False, 0, 7, 1.5, [], ["x"], {}, {"a": "b"}],
    "id": [None, True, False, 1.5, "", "x", [], [1], {}, {"id": 1}],
    "int": [None, True, 1.5, "5", [], [5], {}],
    "bool": [None, 0, 1, "true", "false", [], {}],
    "strlist": [None, True, 1, "x", {}, {"a": "b"}, [1], [None], [True], [[]], [{}], [1.5]],
}
# (the login treats "contextId": null as absent, like every optional field that is null)
NULL_IS_ABSENT = {("login", "contextId")}


def send(method, path, auth, body=None, raw=None, headers=None):
    return req(method, path, body, raw=raw, auth=auth, headers=headers)


def test_wrong_type_in_every_field_of_every_body():
    n = 0
    with Unchanged("wrong types"):
        for name, method, path, auth, valid, fields in bodies():
            for field, kind in fields.items():
                for v in WRONG[kind]:
                    if v is None and (name, field) in NULL_IS_ABSENT:
                        continue
                    b = dict(valid)
                    b[field] = v
                    what = "%s %s=%s" % (name, field, json.dumps(v))
                    e = assert_error(send(method, path, auth, b), 400, "CONF-1002", what)
                    assert_field(e, field, what)
                    n += 1
    print("# t42: %d wrong-typed fields refused" % n, flush=True)


def test_missing_required_fields_and_empty_bodies():
    with Unchanged("empty bodies"):
        for name, method, path, auth, valid, fields in bodies():
            for raw in ("", " ", "\r\n", "{}", "[]", "null", "0", '"x"', "{", "}", "\x00",
                        "{\"a\":1}\x00"):
                r = send(method, path, auth, raw=raw)
                assert_error(r, 400, "CONF-1002", "%s with body %r" % (name, raw))
            required = [f for f in fields if name != "user update" and f not in (
                "password", "priority", "enabled", "context", "contextId", "dateExpiry")]
            e = assert_error(send(method, path, auth, {}), 400, "CONF-1002", name + " {}")
            for f in required:
                assert_field(e, f, "%s {} names every required field" % name)


def test_duplicate_keys_in_every_body():
    with Unchanged("duplicate keys"):
        for name, method, path, auth, valid, fields in bodies():
            for field in fields:
                text = json.dumps(valid)
                dup = '{"%s": %s, %s' % (field, json.dumps(valid[field]), text[1:])
                r = send(method, path, auth, raw=dup)
                assert_error(r, 400, "CONF-1002", "%s with %s twice" % (name, field))


# ---- numbers -------------------------------------------------------------------------------

HUGE = ["1e400", "-1e400", "9223372036854775808", "18446744073709551616",
        "123456789012345678901234567890", "-9223372036854775809"]
NOT_IDS = ["0", "-0", "-1", "-0.0", "0.0", "1.0", "1e2", "1E2", "1e-400", "0.5",
           '"0"', '"-1"', '"+1"', '" 1"', '"1 "', '"1e2"', '"0x1"', '"\\u0661"',
           '"9223372036854775808"', '""']


def with_literal(valid, field, literal):
    b = dict(valid)
    b[field] = "@@"
    return json.dumps(b).replace('"@@"', literal)


def test_numbers_that_are_not_ids():
    with Unchanged("odd numbers"):
        for name, method, path, auth, valid, fields in bodies():
            for field, kind in fields.items():
                if kind not in ("id", "int"):
                    continue
                for lit in HUGE + NOT_IDS:
                    if kind == "int" and lit.startswith('"'):
                        continue
                    r = send(method, path, auth, raw=with_literal(valid, field, lit))
                    e = assert_error(r, 400, "CONF-1002", "%s %s=%s" % (name, field, lit))
                    # the parser refuses what it cannot hold (and says where);
                    # the rest is refused naming the field
                    if lit not in HUGE:
                        assert_field(e, field, "%s %s=%s" % (name, field, lit))


def test_largest_id_is_valid_but_unknown_everywhere():
    big = "9223372036854775807"
    r = send("PUT", MAPPING, A, raw=with_literal(bodies()[8][4], "campaignId", big))
    assert_missing(assert_error(r, 404, "CONF-1001", "campaignId 2^63-1"), [("campaign", big)])
    r = send("POST", F.camp_path + "/campaign-lead", A, raw='{"leadId": %s}' % big)
    assert_missing(assert_error(r, 404, "CONF-1001", "campaign-lead leadId 2^63-1"),
                   [("lead", big)])
    r = send("POST", F.camp_path + "/campaign-lead", A, raw='{"leadId": "%s"}' % big)
    assert_missing(assert_error(r, 404, "CONF-1001", "campaign-lead leadId \"2^63-1\""),
                   [("lead", big)])


def test_ids_in_paths_that_cannot_name_a_row():
    """Writes below a path id that is 0, negative, past 2^63-1 or no number."""
    with Unchanged("odd path ids"):
        for seg, code in (("0", "CONF-1001"), ("9223372036854775808", "CONF-1001"),
                          ("-1", "HTTP-1404"), ("+1", "HTTP-1404"), ("1.0", "HTTP-1404"),
                          ("1e2", "HTTP-1404"), ("%20" + str(F.cc), "HTTP-1404"),
                          (str(F.cc) + "%20", "HTTP-1404")):
            for method, path, body in (
                    ("POST", BASE + "/cc/%s/process", {"processName": "x-" + uniq()}),
                    ("DELETE", BASE + "/cc/%s", None),
                    ("POST", F.cc_path + "/process/%s/lead", {"leadName": "x-" + uniq()}),
                    ("DELETE", F.proc_path + "/campaign/%s", None),
                    ("POST", F.proc_path + "/campaign/%s/campaign-lead", {"leadId": F.lead}),
                    ("DELETE", F.camp_path + "/campaign-lead/%s", None)):
                r = send(method, path % seg, SYS, body)
                assert_error(r, 404, code, "%s %s" % (method, path % seg))


# ---- strings: invalid UTF-8, NUL, length ----------------------------------------------------

BAD_UTF8 = [b"\xff", b"\xfe\xff", b"\xc3", b"\xc3(", b"\xc0\xaf", b"\xe0\x80\xaf",
            b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80",
            b"\x80", b"a\xe2\x82"]


def string_fields():
    for name, method, path, auth, valid, fields in bodies():
        for field, kind in fields.items():
            if kind in ("str", "strlist"):
                yield name, method, path, auth, valid, field, kind


def raw_with_string(valid, field, kind, inner):
    """The valid body with `field` (or its one element) a string of raw bytes."""
    b = dict(valid)
    b[field] = ["@@"] if kind == "strlist" else "@@"
    return json.dumps(b).encode().replace(b'"@@"', b'"' + inner + b'"')


def test_invalid_utf8_in_every_string_field():
    with Unchanged("invalid UTF-8"):
        for name, method, path, auth, valid, field, kind in string_fields():
            for bad in BAD_UTF8:
                r = send(method, path, auth, raw=raw_with_string(valid, field, kind,
                                                                 b"ab" + bad + b"cd"))
                assert_error(r, 400, "CONF-1002", "%s %s with bytes %r" % (name, field, bad))
        # in a key, and in the value of a key the endpoint does not know
        name, method, path, auth, valid, fields = bodies()[8]
        text = json.dumps(valid).encode()
        for raw in (b'{"\xff": 1, ' + text[1:], b'{"x": "\xc3", ' + text[1:],
                    b'{"x": ["\xed\xa0\x80"], ' + text[1:]):
            assert_error(send(method, path, auth, raw=raw), 400, "CONF-1002",
                         "mapping with %r" % raw[:20])


def test_nul_in_every_string_field():
    with Unchanged("NUL bytes"):
        for name, method, path, auth, valid, field, kind in string_fields():
            for inner in (b"a\\u0000b", b"\\u0000", b"ab\\u0000", b"a\x00b"):
                r = send(method, path, auth, raw=raw_with_string(valid, field, kind, inner))
                e = assert_error(r, 400, "CONF-1002", "%s %s with %r" % (name, field, inner))
                assert "\x00" not in json.dumps(e), "the answer echoes a NUL byte"


def test_overlong_strings():
    """129-byte user ids, 1025-byte passwords, 257-byte names, 33-byte
    contexts, where each appears, and one user id of 64 KB."""
    big = "x" * 65536
    cases = [
        ("login username", "POST", BASICAUTH, None,
         {"username": "u" * 129, "password": "pw-xxxxxxx"}, "username"),
        ("login password", "POST", BASICAUTH, None, {"username": F.agent, "password": "p" * 1025},
         "password"),
        ("login context", "POST", BASICAUTH, None,
         {"username": F.agent, "password": "pw-xxxxxxx", "context": "C" * 33}, "context"),
        ("campaign user", "POST", F.camp_path + "/campaign-user", A, {"userIds": ["u" * 129]},
         "userIds"),
        ("campaign user 64 KB", "POST", F.camp_path + "/campaign-user", A, {"userIds": [big]},
         "userIds"),
        ("user 64 KB", "POST", F.cc_path + "/user", A,
         {"userId": big, "name": "N", "role": "Agent"}, "userId"),
        ("mapping 64 KB", "PUT", MAPPING, A, {"leadId": F.lead, "campaignId": F.campaign,
                                             "assignedUserIds": [big], "unassignedUserIds": []},
         "assignedUserIds"),
        ("user update name", "PUT", F.cc_path + "/user/" + F.agents[2], A, {"name": "n" * 257},
         "name"),
    ]
    with Unchanged("overlong strings"):
        for what, method, path, auth, body, field in cases:
            e = assert_error(send(method, path, auth, body), 400, "CONF-1002", what)
            assert_field(e, field, what)
            assert len(json.dumps(e)) < 4096, "%s: the error echoes the input (%d bytes)" % (
                what, len(json.dumps(e)))
        # a login is anonymous: over 8 KiB (CMS_ANON_BODY_LIMIT, issue 14
        # point 5) its body is refused before it is read
        assert_error(send("POST", BASICAUTH, None, {"username": big, "password": "pw-xxxxxx"}),
                     413, "HTTP-1413", "login username 64 KB")
        # in a path, an overlong user id names nobody
        for method in ("GET", "PUT", "DELETE"):
            r = send(method, F.cc_path + "/user/" + "u" * 129, A,
                     {"name": "x"} if method == "PUT" else None)
            assert_error(r, 404, "CONF-1001", "%s user with a 129-byte id" % method)
        r = send("DELETE", F.camp_path + "/campaign-user/" + "u" * 129, A)
        assert_error(r, 404, "CONF-1001", "DELETE campaign user with a 129-byte id")


# ---- nesting ---------------------------------------------------------------------------------

def test_deep_nesting_is_refused_not_recursed():
    name, method, path, auth, valid, fields = bodies()[8]
    text = json.dumps(valid)
    with Unchanged("deep nesting"):
        for raw in ("[" * 4000, '{"a":' * 1500 + "1" + "}" * 1500, "[" * 100000, "[" * 100000 + "]" * 100000, '{"a":' * 50000 + "1" + "}" * 50000,
                    text[:-1] + ', "x": ' + "[" * 100000 + "]" * 100000 + "}",
                    text[:-1] + ', "x": ' + '{"y":' * 3000 + "0" + "}" * 3000 + "}"):
            for n, m, p, a, v, f in bodies():
                r = send(m, p, a, raw=raw)
                if a is None and len(raw.encode()) > 8192:  # anonymous: 8 KiB at most
                    assert_error(r, 413, "HTTP-1413", "%s with %d bytes nested" % (n, len(raw)))
                    continue
                assert_error(r, 400, "CONF-1002", "%s with %d bytes nested" % (n, len(raw)))
    # nesting well within the parser's limit, under a key nobody reads, is ignored
    b = text[:-1] + ', "x": ' + "[" * 500 + "]" * 500 + "}"
    check_mapping(expect(send(method, path, auth, raw=b), 200, "500 levels under an unknown key"),
                  F.campaign, F.lead, assigned=valid["assignedUserIds"], unassigned=[])
    expect(put_mapping(A, F.campaign, F.lead, [], valid["assignedUserIds"]), 200, "undo")
    hostile.healthy()


# ---- paths -----------------------------------------------------------------------------------

def raw_request(method, path_bytes, auth=None, body=None):
    head = b"%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" % (method.encode(), path_bytes)
    if auth:
        head += b"Authorization: " + auth.encode() + b"\r\n"
    if body is not None:
        data = json.dumps(body).encode()
        head += b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(data)
    else:
        data = b""
    raw = hostile.exchange(head + b"\r\n" + data)
    return hostile.as_resp(raw, method, repr(path_bytes), S)


def test_invalid_utf8_in_paths():
    """Bytes that are not UTF-8, raw or percent-encoded, in the segments that
    carry a user id: the id names nobody, and is shown re-encoded."""
    user = (F.cc_path + "/user/").encode()
    cu = (F.camp_path + "/campaign-user/").encode()
    with Unchanged("paths that are not UTF-8"):
        for seg, shown in ((b"%FF%FE", "%FF%FE"), (b"\xff\xfe", "%FF%FE"), (b"a%C3", "a%C3"),
                           (b"%ED%A0%80x", "%ED%A0%80x"), (b"%C0%AF", "%C0%AF"), (b"%01x", "%01x")):
            for method, base, obj in (("GET", user, "user"), ("PUT", user, "user"),
                                      ("DELETE", user, "user"), ("DELETE", cu, "campaignUser")):
                r = raw_request(method, base + seg, A, {"name": "N"} if method == "PUT" else None)
                e = assert_error(r, 404, "CONF-1001", "%s %r" % (method, base + seg))
                eq([d.get("id") for d in details(e)], [shown], "%s %r: the id shown" % (
                    method, base + seg))
                eq([d.get("object") for d in details(e)], [obj], "object")
        # in a segment that must be digits, or in a fixed one: no route
        for p in (F.cc_path.encode() + b"\xff/process", BASE.encode() + b"/c\xffc",
                  b"/health\xff", MAPPING.encode() + b"%FF"):
            assert_error(raw_request("GET", p, A), 404, "HTTP-1404", "GET %r" % p)
        for q in ("campaignId=%FF", "campaignId=%C3%A9", "campaignId=1%FF", "limit=%FF"):
            r = send("GET", MAPPING + "?" + q, A)
            assert_error(r, 400, "CONF-1002", "query " + q)


def test_percent_encoded_nul_in_a_path_names_nothing():
    """A path is the whole path: %00 must not cut it short, so that
    .../user/<someone>%00junk names nobody (and never <someone>)."""
    victim = F.agents[1]
    with Unchanged("%00 in paths"):
        cases = [
            ("GET", F.cc_path + "/user/" + victim + "%00junk", "CONF-1001"),
            ("PUT", F.cc_path + "/user/" + victim + "%00junk", "CONF-1001"),
            ("DELETE", F.cc_path + "/user/" + victim + "%00junk", "CONF-1001"),
            ("DELETE", F.camp_path + "/campaign-user/" + victim + "%00zzz", "CONF-1001"),
            ("GET", F.cc_path + "%00/user", "HTTP-1404"),
            ("DELETE", F.proc_path + "/lead/%d%%00" % F.lead, "HTTP-1404"),
            ("GET", "/health%00/x", "HTTP-1404"),
        ]
        for method, path, code in cases:
            r = send(method, path, A, {"name": "Renamed"} if method == "PUT" else None)
            e = assert_error(r, 404, code, "%s %s" % (method, path))
            if code == "CONF-1001":
                ids = [d.get("id") for d in details(e)]
                assert ids and "%00" in ids[0], "%s %s: details %r do not show the id as given" % (
                    method, path, details(e))
        r = send("GET", MAPPING + "?campaignId=%d%%00junk" % F.campaign, A)
        assert_error(r, 400, "CONF-1002", "campaignId=<id>%00junk")


# ---- framing ----------------------------------------------------------------------------------

def post_head(extra, path=None):
    return ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Authorization: %s\r\n%s\r\n" % (path or F.cc_path + "/process", A, extra)).encode()


def chunked(data, size=7, ext=b"", trailer=b""):
    out = b""
    for i in range(0, len(data), size):
        c = data[i:i + size]
        out += b"%x%s\r\n" % (len(c), ext) + c + b"\r\n"
    return out + b"0\r\n" + trailer + b"\r\n"


def process_names():
    return set(p["processName"] for p in listing(F.cc_path + "/process"))


def test_chunked_bodies_on_every_create():
    free_lead = create_lead(A, F.cc, F.process)
    for name, method, path, auth, valid, fields in bodies():
        if method != "POST" or name in ("login", "contact center"):
            continue
        if name == "campaign lead":
            valid = dict(valid, leadId=free_lead)
        data = json.dumps(valid).encode()
        head = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Authorization: %s\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                % (path, auth)).encode()
        r = hostile.as_resp(hostile.exchange(head + chunked(data)), "POST", path, S)
        b = expect(r, 201, "chunked " + name)
        for k, v in valid.items():
            if k != "password" and isinstance(b, dict):
                eq(b.get(k), v, "chunked %s: %s" % (name, k))
    for ext, trailer, what in ((b";a=b", b"", "chunk extensions"),
                               (b"", b"X-Trailer: 1\r\n", "a trailer")):
        n = "chunk-" + uniq()
        raw = hostile.exchange(post_head("Transfer-Encoding: chunked\r\nConnection: close\r\n")
                               + chunked(json.dumps({"processName": n}).encode(), ext=ext,
                                         trailer=trailer))
        expect(hostile.as_resp(raw, "POST", "process", S), 201, "chunked with " + what)
        assert n in process_names(), "chunked with %s: not created" % what


def test_chunked_bodies_that_are_wrong():
    n = "bad-" + uniq()
    good = json.dumps({"processName": n}).encode()
    te = "Transfer-Encoding: chunked\r\nConnection: close\r\n"
    with Unchanged("wrong chunked bodies"):
        # well framed, but empty or not JSON: the envelope
        for body in (b"0\r\n\r\n", chunked(b'{"processName": '), chunked(b"\xff\xfe")):
            r = hostile.as_resp(hostile.exchange(post_head(te) + body), "POST", "process", S)
            assert_error(r, 400, "CONF-1002", "chunked %r" % body[:20])
        # broken framing: libmicrohttpd's own 400 (or 413 for a size it cannot hold)
        for body, status in ((b"zz\r\n" + good + b"\r\n0\r\n\r\n", 400),
                             (b"3\r\n" + good + b"\r\n0\r\n\r\n", 400),
                             (b"-5\r\n" + good + b"\r\n0\r\n\r\n", 400),
                             (b"ffffffffffffffffffff\r\n" + good + b"\r\n0\r\n\r\n", 413)):
            raw = hostile.exchange(post_head(te) + body)
            hostile.assert_mhd_error(raw, status, "chunked framing %r" % body[:12])
        # a Content-Length that is no number
        for cl in ("-5", "+%d" % len(good), "abc", "1e2", "%d, %d" % (len(good), len(good) + 1)):
            raw = hostile.exchange(post_head("Content-Length: %s\r\n" % cl) + good)
            p = hostile.parse_http(raw)
            assert p and p[0] == 400, "Content-Length: %s -> %r" % (cl, raw[:200])
    assert n not in process_names()


def check_smuggling_refused(what, extra, body):
    """RFC 9112 6.1 and 6.3: a request with both Transfer-Encoding and
    Content-Length, or with two different Content-Length values, is how
    requests are smuggled past a proxy that reads the other length.  cmsd
    must answer 400 and close the connection, the request must change
    nothing, and a request pipelined behind it must not be answered."""
    n = "smuggle-" + uniq()
    data = json.dumps({"processName": n}).encode()
    payload = chunked(data) if body == "chunked" else data
    if "%d" in extra:
        extra = extra % len(data)
    sock = hostile.connect(timeout=5)
    try:
        sock.sendall(post_head(extra) + payload + b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        raw, closed = hostile.drain(sock, 2 * SLOW)
    finally:
        sock.close()
    p = hostile.parse_http(raw)
    assert p is not None, "%s: no answer: %r" % (what, raw[:200])
    assert n not in process_names(), "%s: the process was created (answer %d)" % (what, p[0])
    assert p[0] == 400, "%s: answered %d, not 400: %r" % (what, p[0], raw[:300])
    assert raw.count(b"HTTP/1.1 ") == 1, "%s: the request behind it was answered too" % what
    assert closed, "%s: connection kept open after the answer" % what
    hostile.healthy()


def test_transfer_encoding_and_content_length_refused():
    check_smuggling_refused("Transfer-Encoding: chunked and Content-Length: 5",
                            "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "chunked")


def test_two_different_content_lengths_refused():
    check_smuggling_refused("two Content-Length headers (the length, then 5)",
                            "Content-Length: %d\r\nContent-Length: 5\r\n", "plain")


def test_unsupported_transfer_encoding_is_not_held_open():
    """A Transfer-Encoding other than chunked cannot be read: answered, or
    the connection closed within --timeout (3 s here); nothing created."""
    n = "te-" + uniq()
    data = json.dumps({"processName": n}).encode()
    socks = {}
    t0 = time.time()
    try:
        for te in ("gzip", "gzip, chunked", "identity", "chunked, gzip"):
            socks[te] = hostile.connect(timeout=5)
            socks[te].sendall(post_head("Transfer-Encoding: %s\r\n" % te) + chunked(data))
        for te, sock in socks.items():
            raw, closed = hostile.drain(sock, max(0.1, t0 + 3 + 3 * SLOW - time.time()))
            p = hostile.parse_http(raw)
            assert p is None or p[0] >= 400, "Transfer-Encoding: %s -> %r" % (te, raw[:200])
            assert closed, "Transfer-Encoding: %s: connection open after %.1f s" % (
                te, time.time() - t0)
    finally:
        for sock in socks.values():
            sock.close()
    assert n not in process_names(), "a body of an unsupported Transfer-Encoding was read"
    hostile.healthy()


# ---- methods ----------------------------------------------------------------------------------

def test_unknown_and_lower_case_methods():
    """Methods are case-sensitive (RFC 9110 9.1): "put" is not PUT.  Every
    method a route does not serve answers 405 with Allow, whatever its body."""
    put_body = {"leadId": F.lead, "campaignId": F.campaign, "assignedUserIds": [F.agents[2]],
                "unassignedUserIds": []}
    cases = [(MAPPING, put_body), (F.cc_path + "/process", {"processName": "m-" + uniq()}),
             (F.camp_path + "/campaign-user", {"userIds": [F.agents[2]]}),
             (F.cc_path + "/user/" + F.agents[2], {"name": "Renamed"}),
             (F.proc_path + "/lead/%d" % F.lead, None)]
    methods = ["put", "Put", "post", "delete", "get", "PATCH", "BREW", "OPTIONS", "TRACE",
               "PROPFIND", "M" * 60]
    with Unchanged("unknown methods"):
        for path, body in cases:
            for m in methods:
                r = raw_request(m, path.encode(), A, body)
                assert_error(r, 405, "HTTP-1405", "%s %s" % (m[:12], path))
                assert r.headers.get("allow"), "%s %s: no Allow" % (m, path)
        for m in methods:
            assert_error(raw_request(m, b"/nope", A), 404, "HTTP-1404", "%s /nope" % m[:12])


# ---- headers ----------------------------------------------------------------------------------

def test_oversized_headers_on_writes_change_nothing():
    n = "hdr-" + uniq()
    data = json.dumps({"processName": n}).encode()
    with Unchanged("oversized headers"):
        for pad in (b"X-Pad: " + b"p" * 70000 + b"\r\n",
                    b"".join(b"X-P%d: v\r\n" % i for i in range(6000))):
            raw = hostile.exchange(post_head("Content-Length: %d\r\n" % len(data))[:-2] + pad
                                   + b"\r\n" + data)
            hostile.assert_mhd_error(raw, 431, "a create with %d bytes of headers" % len(pad))
        # a huge Authorization header: 401 within libmicrohttpd's buffer, 431 beyond
        assert_error(send("GET", F.cc_path, "Bearer " + "A" * 12000), 401, "AUTH-1001",
                     "12 KB Bearer value")
        assert_error(send("GET", F.cc_path, "Basic " + "QUFB" * 3000), 401, "AUTH-1001",
                     "12 KB Basic value")
        raw = hostile.exchange(b"GET " + F.cc_path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                               b"Authorization: Bearer " + b"A" * 40000 + b"\r\n\r\n")
        hostile.assert_mhd_error(raw, 431, "40 KB Authorization")
    assert n not in process_names()
