"""
t50 - the OpenAPI document (issue 7): GET /cms/openapi.json serves
docs/openapi.json byte for byte; the document and the route table of
src/router.c name the same method + path pairs, with the same path parameters
and least roles, and the document's error catalog is src/errors.c's; and a
live cmsd answers a sample of every operation only with documented statuses,
documented headers and bodies that validate against the documented schemas.

The schemas are checked by a small validator of the JSON Schema subset the
document uses (below); a keyword it does not know fails the test rather than
being ignored.
"""
import http.client
import json
import os
import re
import socket

from harness import *  # noqa: F401,F403
from harness import MIB, REPO, SLOW, make_resp

DOC_FILE = os.path.join(REPO, "docs", "openapi.json")
ROUTER_C = os.path.join(REPO, "src", "router.c")
ERRORS_C = os.path.join(REPO, "src", "errors.c")

# Documented operations, error codes and required headers that src/ may
# still lack while a feature is being written: empty when everything landed.
PENDING = {}
PENDING_ERRORS = {}
PENDING_HEADERS = {}

# The table's placeholders as the document names them; {str} is a userId.
PLACEHOLDER_NAMES = {"str": "userId"}
TEXT_PLACEHOLDERS = {"str", "rest"}
ROLE_NAMES = {"ROLE_NONE": "none", "ROLE_AGENT": "Agent", "ROLE_SUPERVISOR": "Supervisor",
              "ROLE_ADMIN": "Administrator", "ROLE_SYSTEM": "System"}
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

S = None
F = None
DOC = None
RAW = None
ROUTES = None
SEEN = set()      # (METHOD, template, status) answered by the live server


# --------------------------------------------------------------------------
# the route table, read from the C source
# --------------------------------------------------------------------------

def c_string_expr(expr, defines, depth=0):
    """The value of a C expression made of adjacent string literals and
    macros that expand to such."""
    assert depth < 10, "macro recursion in %r" % expr
    out = []
    pos = 0
    for m in re.finditer(r'\s*(?:"((?:[^"\\]|\\.)*)"|([A-Za-z_]\w*))', expr):
        assert m.start() == pos, "cannot read the C expression %r" % expr
        pos = m.end()
        if m.group(1) is not None:
            out.append(m.group(1))
        else:
            assert m.group(2) in defines, "unknown macro %s in %r" % (m.group(2), expr)
            out.append(c_string_expr(defines[m.group(2)], defines, depth + 1))
    assert expr[pos:].strip() == "", "cannot read the C expression %r" % expr
    return "".join(out)


def parse_routes():
    """[(METHOD, pattern, ROLE_x, name)] of the routes[] rows of src/router.c."""
    with open(ROUTER_C) as f:
        src = f.read()
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    defines = dict(re.findall(r'^#define\s+(\w+)\s+(.+?)\s*$', src, re.M))
    m = re.search(r"static const struct route routes\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    assert m, "no routes[] table in src/router.c"
    table = m.group(1)
    row = re.compile(r'\{\s*"([A-Z]+)"\s*,\s*([^,]+?)\s*,\s*(\w+)\s*,\s*(ROLE_\w+)\s*,'
                     r'\s*([^,]+?)\s*,\s*"([^"]*)"\s*\}')
    rows = [(r.group(1), c_string_expr(r.group(2), defines), r.group(4), r.group(6))
            for r in row.finditer(table)]
    eq(len(rows), table.count("{ \""), "routes[] rows read (every row must parse)")
    assert rows, "no rows in routes[]"
    return rows


def doc_path_of(pattern):
    """The document's path for a route pattern: {str} is named userId."""
    return re.sub(r"\{(\w+)\}", lambda m: "{%s}" % PLACEHOLDER_NAMES.get(m.group(1), m.group(1)),
                  pattern)


def routed():
    """(METHOD, document path) of every route; HEAD wherever GET (router.c)."""
    rows = {(meth, doc_path_of(pat)) for meth, pat, _, _ in ROUTES}
    return rows | {("HEAD", tpl) for meth, tpl in rows if meth == "GET"}


# --------------------------------------------------------------------------
# a validator for the JSON Schema (2020-12) subset the document uses
# --------------------------------------------------------------------------

ANNOTATIONS = {"description", "title", "examples", "default", "writeOnly", "readOnly",
               "deprecated", "$comment"}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$")


def pointer(doc, ref):
    assert ref.startswith("#/"), "only local $ref is supported: %r" % ref
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, "unresolved $ref %r" % ref
        node = node[part]
    return node


def resolve(doc, node):
    """A Reference Object or a schema $ref followed to its target (one level
    at a time, until no $ref is left)."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node and len(node) == 1:
        node = pointer(doc, node["$ref"])
        seen += 1
        assert seen < 20, "a $ref loop"
    return node


def json_type(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    raise TypeError("not a JSON value: %r" % (v,))


def json_equal(a, b):
    """Equality as JSON sees it: true is not 1."""
    ta, tb = json_type(a), json_type(b)
    if {ta, tb} <= {"integer", "number"}:
        return a == b
    if ta != tb:
        return False
    if ta == "array":
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if ta == "object":
        return set(a) == set(b) and all(json_equal(a[k], b[k]) for k in a)
    return a == b


def validate(schema, value, where="$"):
    """The list of reasons why value does not match schema (empty: valid)."""
    errs = []
    _check(schema, value, where, errs)
    return errs


def _check(s, v, where, errs):
    if s is True:
        return
    if s is False:
        errs.append("%s: no value is allowed here" % where)
        return
    assert isinstance(s, dict), "%s: a schema is not an object: %r" % (where, s)
    t = json_type(v)
    for k, arg in s.items():
        if k in ANNOTATIONS:
            continue
        if k == "$ref":
            _check(pointer(DOC, arg), v, where, errs)
        elif k == "type":
            types = arg if isinstance(arg, list) else [arg]
            if not (t in types or (t == "integer" and "number" in types) or
                    (t == "number" and "integer" in types and float(v).is_integer())):
                errs.append("%s: %s is not of type %s" % (where, t, "/".join(types)))
        elif k == "enum":
            if not any(json_equal(v, x) for x in arg):
                errs.append("%s: %r is not one of %r" % (where, v, arg))
        elif k == "const":
            if not json_equal(v, arg):
                errs.append("%s: %r is not %r" % (where, v, arg))
        elif k == "format":
            if arg == "date-time":
                if t == "string" and not RFC3339.match(v):
                    errs.append("%s: %r is not an RFC 3339 date-time" % (where, v))
            elif arg not in ("int64",):
                raise AssertionError("validator: unknown format %r at %s" % (arg, where))
        elif k in ("minimum", "maximum"):
            if t in ("integer", "number") and (v < arg if k == "minimum" else v > arg):
                errs.append("%s: %r is beyond %s %r" % (where, v, k, arg))
        elif k in ("minLength", "maxLength"):
            if t == "string" and (len(v) < arg if k == "minLength" else len(v) > arg):
                errs.append("%s: length %d is beyond %s %d" % (where, len(v), k, arg))
        elif k == "pattern":
            if t == "string" and not re.search(arg, v):
                errs.append("%s: %r does not match %r" % (where, v, arg))
        elif k in ("minItems", "maxItems"):
            if t == "array" and (len(v) < arg if k == "minItems" else len(v) > arg):
                errs.append("%s: %d items is beyond %s %d" % (where, len(v), k, arg))
        elif k == "uniqueItems":
            if t == "array" and arg and any(json_equal(v[i], v[j]) for i in range(len(v))
                                            for j in range(i)):
                errs.append("%s: items are not unique" % where)
        elif k == "items":
            if t == "array":
                for i, x in enumerate(v):
                    _check(arg, x, "%s[%d]" % (where, i), errs)
        elif k == "properties":
            if t == "object":
                for name, sub in arg.items():
                    if name in v:
                        _check(sub, v[name], "%s.%s" % (where, name), errs)
        elif k == "required":
            if t == "object":
                for name in arg:
                    if name not in v:
                        errs.append("%s: %r is required" % (where, name))
        elif k == "additionalProperties":
            if t == "object":
                known = set(s.get("properties", {}))
                for name in v:
                    if name not in known:
                        _check(arg, v[name], "%s.%s" % (where, name), errs)
        elif k in ("minProperties", "maxProperties"):
            if t == "object" and (len(v) < arg if k == "minProperties" else len(v) > arg):
                errs.append("%s: %d properties is beyond %s %d" % (where, len(v), k, arg))
        elif k == "allOf":
            for sub in arg:
                _check(sub, v, where, errs)
        elif k in ("anyOf", "oneOf"):
            n = sum(1 for sub in arg if not validate(sub, v, where))
            if n == 0 or (k == "oneOf" and n > 1):
                errs.append("%s: matches %d of the %s branches: %s" % (
                    where, n, k, short(json.dumps(v), 200)))
        elif k == "not":
            if not validate(arg, v, where):
                errs.append("%s: matches a schema it must not" % where)
        else:
            raise AssertionError("validator: unknown keyword %r at %s" % (k, where))


def assert_valid(schema, value, what):
    errs = validate(schema, value)
    assert not errs, "%s: %s (value %s)" % (what, "; ".join(errs[:5]),
                                            short(json.dumps(value), 300))


# --------------------------------------------------------------------------
# holding live answers against the document
# --------------------------------------------------------------------------

def template_regex(tpl):
    parts = re.split(r"(\{\w+\})", tpl)
    rx = "".join(("(.+)" if p == "{rest}" else "([^/]+)") if p.startswith("{") else re.escape(p)
                 for p in parts)
    return re.compile("^" + rx + "$")


def find_template(path):
    hits = [t for t in DOC["paths"] if template_regex(t).match(path)]
    assert hits, "no documented path matches %s" % path
    return min(hits, key=lambda t: t.count("{"))   # a literal segment wins


def check(resp, what=""):
    """Assert that resp (a harness Resp) is a documented answer of its
    operation: status, Content-Type, headers and JSON body.  Returns resp."""
    where = "%s%s %s -> %d" % (what + ": " if what else "", resp.method, resp.path, resp.status)
    path = resp.path.split("?")[0]
    if len(path) > 1:
        path = path.rstrip("/")
    tpl = find_template(path)
    op = DOC["paths"][tpl].get(resp.method.lower())
    assert op, "%s: the document has no %s for %s" % (where, resp.method, tpl)
    documented = sorted(op["responses"])
    assert str(resp.status) in op["responses"], "%s: status not documented (documented: %s): %s" % (
        where, ", ".join(documented), short(resp.raw))
    SEEN.add((resp.method, tpl, str(resp.status)))
    r = resolve(DOC, op["responses"][str(resp.status)])
    content = r.get("content")
    ctype = resp.headers.get("content-type", "")
    base = ctype.split(";")[0].strip().lower()
    if content:
        assert base in content, "%s: Content-Type %r not among the documented %s" % (
            where, ctype, sorted(content))
        if base == "application/json":
            assert resp.json is not None, "%s: body is not JSON: %s" % (where, short(resp.raw))
            assert_valid(content[base]["schema"], resp.json, where + ": body")
    else:
        eq(resp.raw, b"", where + ": body of an answer documented without content")
    for name, h in r.get("headers", {}).items():
        h = resolve(DOC, h)
        v = resp.headers.get(name.lower())
        if v is None:
            assert not h.get("required") or name in PENDING_HEADERS, \
                "%s: no %s header" % (where, name)
            continue
        schema = h["schema"]
        if resolve(DOC, schema).get("type") == "integer":
            assert re.match(r"^\d+$", v), "%s: %s %r is not an integer" % (where, name, v)
            v = int(v)
        assert_valid(schema, v, "%s: header %s" % (where, name))
    return resp


def call(method, path, body=None, what="", **kw):
    return check(req(method, path, body, **kw), what)


# --------------------------------------------------------------------------
# set-up
# --------------------------------------------------------------------------

def setup_module():
    global S, F, DOC, RAW, ROUTES
    with open(DOC_FILE, "rb") as f:
        RAW = f.read()
    DOC = json.loads(RAW.decode("utf-8"))
    ROUTES = parse_routes()
    S = use(Server(extra_args=["--faults", "--login-limit", "3"]).start())
    F = make_fixture(extra_agents=3)


def route_is_live(method, tpl):
    return (method, tpl) in routed()


# --------------------------------------------------------------------------
# the document itself
# --------------------------------------------------------------------------

def test_served_document_is_docs_openapi_json():
    r = req("GET", "/cms/openapi.json")
    eq(r.status, 200, "GET /cms/openapi.json status")
    ct = r.headers.get("content-type", "")
    eq(ct.split(";")[0].strip(), "application/json", "Content-Type of /cms/openapi.json")
    if r.raw != RAW:
        n = next((i for i, (a, b) in enumerate(zip(r.raw, RAW)) if a != b),
                 min(len(r.raw), len(RAW)))
        raise AssertionError("/cms/openapi.json (%d bytes) differs from docs/openapi.json "
                             "(%d bytes) from byte %d on: run make" % (len(r.raw), len(RAW), n))
    # without credentials, whatever Accept says (it is a file, not the API)
    r = req("GET", "/cms/openapi.json", headers={"Accept": "text/html"})
    eq((r.status, r.raw == RAW), (200, True), "with Accept: text/html")


def test_document_is_openapi_3_1_and_refs_resolve():
    assert DOC.get("openapi", "").startswith("3.1."), "openapi is %r" % DOC.get("openapi")
    refs = []

    def walk(n):
        if isinstance(n, dict):
            if isinstance(n.get("$ref"), str):
                refs.append(n["$ref"])
            for x in n.values():
                walk(x)
        elif isinstance(n, list):
            for x in n:
                walk(x)
    walk(DOC)
    assert len(refs) > 100, "suspiciously few $refs (%d)" % len(refs)
    for ref in refs:
        pointer(DOC, ref)
    ids = [op["operationId"] for item in DOC["paths"].values()
           for m, op in item.items() if m in METHODS]
    eq(len(ids), len(set(ids)), "operationIds are unique")


def test_every_route_is_documented():
    missing = []
    for meth, pat, _, name in ROUTES:
        item = DOC["paths"].get(doc_path_of(pat), {})
        if meth.lower() not in item:
            missing.append("%s %s (%s)" % (meth, pat, name))
    assert not missing, "routes of src/router.c the document lacks: %s" % "; ".join(missing)


def test_every_documented_operation_is_a_route():
    live = routed()
    extra = []
    for tpl, item in DOC["paths"].items():
        for m in item:
            if m in METHODS and (m.upper(), tpl) not in live and (m.upper(), tpl) not in PENDING:
                extra.append("%s %s" % (m.upper(), tpl))
    assert not extra, "documented operations with no route in src/router.c: %s" % "; ".join(extra)


def test_path_parameters_match_the_placeholders():
    by_path = {}
    for meth, pat, _, _ in ROUTES:
        by_path.setdefault(doc_path_of(pat), pat)
    problems = []
    for tpl, item in DOC["paths"].items():
        names = re.findall(r"\{(\w+)\}", tpl)
        pat = by_path.get(tpl)
        if pat is not None:
            placeholders = re.findall(r"\{(\w+)\}", pat)
            if names != [PLACEHOLDER_NAMES.get(p, p) for p in placeholders]:
                problems.append("%s: names %s for placeholders %s" % (tpl, names, placeholders))
        else:
            placeholders = [{"userId": "str"}.get(n, n) for n in names]
        text = {PLACEHOLDER_NAMES.get(p, p) for p in placeholders if p in TEXT_PLACEHOLDERS}
        shared = [resolve(DOC, x) for x in item.get("parameters", [])]
        for m, op in item.items():
            if m not in METHODS:
                continue
            params = shared + [resolve(DOC, x) for x in op.get("parameters", [])]
            inpath = [x for x in params if x.get("in") == "path"]
            got = sorted(x["name"] for x in inpath)
            if got != sorted(names):
                problems.append("%s %s: path parameters %s, template has %s" % (
                    m.upper(), tpl, got, names))
            for x in inpath:
                t = resolve(DOC, x.get("schema", {})).get("type")
                want = "string" if x["name"] in text else "integer"
                if x.get("required") is not True or t != want:
                    problems.append("%s %s: parameter %s must be a required %s (is %s, %r)" % (
                        m.upper(), tpl, x["name"], want, t, x.get("required")))
    assert not problems, "; ".join(problems)


def test_roles_and_security_match_the_route_table():
    problems = []
    for meth, pat, role, name in ROUTES:
        op = DOC["paths"].get(doc_path_of(pat), {}).get(meth.lower())
        if not op:
            continue   # test_every_route_is_documented says so
        want = ROLE_NAMES[role]
        if op.get("x-min-role") != want:
            problems.append("%s %s: x-min-role %r, the table says %s" % (
                meth, pat, op.get("x-min-role"), role))
        public = op.get("security", DOC.get("security")) == []
        if public != (role == "ROLE_NONE"):
            problems.append("%s %s: security %r for %s" % (meth, pat, op.get("security"), role))
        if role != "ROLE_NONE":
            for code in ("401", "429"):
                if code not in op["responses"]:
                    problems.append("%s %s: needs credentials but documents no %s" % (
                        meth, pat, code))
        if role not in ("ROLE_NONE", "ROLE_AGENT") and "403" not in op["responses"]:
            problems.append("%s %s: %s but no 403" % (meth, pat, role))
    for (meth, tpl) in PENDING:
        op = DOC["paths"][tpl][meth.lower()]
        if op.get("x-min-role") == "none" or op.get("security") == []:
            problems.append("%s %s: pending, but documented without credentials" % (meth, tpl))
    assert not problems, "; ".join(problems)


def test_error_catalog_is_src_errors_c():
    with open(ERRORS_C) as f:
        src = f.read()
    rows = re.findall(r'\[(ERR_\w+)\]\s*=\s*\{\s*(\d+)\s*,\s*"([^"]*)"\s*,\s*"([^"]*)"\s*,'
                      r'\s*"((?:[^"\\]|\\.)*)"\s*\}', src)
    assert len(rows) >= 15, "could not read the catalog of src/errors.c (%d rows)" % len(rows)
    code_rows = {(int(st), reason, code, msg) for name, st, reason, code, msg in rows
                 if name != "ERR_NONE"}
    err = DOC["components"]["schemas"]["Error"]
    doc_rows = set()
    for branch in err["oneOf"]:
        p = branch["properties"]
        doc_rows.add((p["statusCode"]["const"], p["status"]["const"], p["errorCode"]["const"],
                      p["errorMessage"]["const"]))
    in_c = {r[2] for r in code_rows}
    doc_rows = {r for r in doc_rows if r[2] in in_c or r[2] not in PENDING_ERRORS}
    eq(sorted(doc_rows), sorted(code_rows), "the Error schema's catalog vs src/errors.c")
    eq(sorted(c for c in err["properties"]["errorCode"]["enum"]
              if c in in_c or c not in PENDING_ERRORS), sorted(in_c), "Error.errorCode enum")
    # every error response of every operation is an Error of its own status
    for tpl, item in DOC["paths"].items():
        for m, op in item.items():
            if m not in METHODS or m == "head":   # a HEAD's answers have no body
                continue
            for status, r in op["responses"].items():
                if int(status) < 400:
                    continue
                r = resolve(DOC, r)
                schema = r["content"]["application/json"]["schema"]
                codes = schema["allOf"][1]["properties"]["errorCode"]["enum"]
                eq(schema["allOf"][0], {"$ref": "#/components/schemas/Error"},
                   "%s %s %s: the shared Error schema" % (m, tpl, status))
                for c in codes:
                    assert (int(status), c) in {(r_[0], r_[2]) for r_ in doc_rows} or \
                        c in PENDING_ERRORS, \
                        "%s %s: %s documented with %s" % (m.upper(), tpl, status, c)


def test_examples_validate_and_the_validator_rejects():
    n = 0

    def media_examples(tpl, m, where, media):
        nonlocal n
        for name, e in media.get("examples", {}).items():
            e = resolve(DOC, e)
            if "value" in e and "schema" in media:
                assert_valid(media["schema"], e["value"], "%s %s %s example %s" % (
                    m, tpl, where, name))
                n += 1
    for tpl, item in DOC["paths"].items():
        for m, op in item.items():
            if m not in METHODS:
                continue
            body = resolve(DOC, op.get("requestBody", {}))
            for ct, media in body.get("content", {}).items():
                media_examples(tpl, m, "request " + ct, media)
            for status, r in op["responses"].items():
                for ct, media in resolve(DOC, r).get("content", {}).items():
                    if ct == "application/json":
                        media_examples(tpl, m, status, media)
    for name, sch in DOC["components"]["schemas"].items():
        for i, e in enumerate(sch.get("examples", [])):
            assert_valid({"$ref": "#/components/schemas/" + name}, e, "schema %s example %d" % (
                name, i))
            n += 1
    assert n >= 40, "only %d examples checked" % n
    # the validator is not vacuous: these must fail
    def sch(name):
        return {"$ref": "#/components/schemas/" + name}
    missing = {"statusCode": 404, "status": "Not Found", "errorCode": "CONF-1001",
               "errorMessage": "Object doesn't exist"}
    assert not validate(sch("Error"), missing), validate(sch("Error"), missing)
    good = {"campaignLeadId": 1, "assignedCampaignUserIds": [1], "unassignedCampaignUserIds": [],
            "leadId": 2, "campaignId": 1, "assignedUserIds": ["a"], "unassignedUserIds": []}
    assert not validate(sch("Mapping"), good), validate(sch("Mapping"), good)
    event = {"cursor": "000000000000002a", "contactCenterId": 1, "campaignId": 1, "leadId": 2,
             "campaignLeadId": 1, "assigned": ["anav_agent"], "unassigned": [],
             "cause": "mapping", "actor": "supervisor1", "at": "2026-12-03T12:00:00.123Z",
             "requestId": "5f0c2b9e8d7a6341"}
    assert not validate(sch("ChangeEvent"), event), validate(sch("ChangeEvent"), event)
    bad = [
        ("Mapping", dict(good, extra=1)),
        ("Mapping", {k: v for k, v in good.items() if k != "leadId"}),
        ("Mapping", dict(good, leadId=0)),
        ("Mapping", dict(good, leadId=True)),
        ("Mapping", dict(good, assignedUserIds=[1])),
        ("Error", {"statusCode": 404, "status": "Not Found", "errorCode": "CONF-1001",
                   "errorMessage": "Invalid request"}),
        ("Error", {"statusCode": 400, "status": "Not Found", "errorCode": "CONF-1001",
                   "errorMessage": "Object doesn't exist"}),
        ("Error", dict(missing, details=[{"object": "x", "id": "1"}])),
        ("Error", dict(missing, details=[{"object": "lead", "id": 1}])),
        ("Error", dict(missing, details=[])),
        ("LoginResponse", {"authToken": "short", "tokenType": "Bearer",
                           "expiresAt": "2026-01-01T00:00:00Z", "context": "System",
                           "userRole": "System"}),
        ("LoginResponse", {"authToken": "a" * 43, "tokenType": "Bearer",
                           "expiresAt": "yesterday", "context": "System", "userRole": "System"}),
        ("MappingUpdate", {"leadId": "0", "campaignId": 1, "assignedUserIds": [],
                           "unassignedUserIds": []}),
        ("UserUpdate", {"other": 1}),
        ("ChangeEvent", dict(event, cause="leadRenamed")),
        ("ChangeEvent", dict(event, cursor="000000000000002A")),
        ("ChangeEvent", dict(event, cursor="2a")),
        ("ChangeEvent", {k: v for k, v in event.items() if k != "requestId"}),
        ("ChangeEvent", dict(event, at="2026-12-03 12:00")),
        ("ChangePage", {"events": [event]}),
        ("Assignment", {"campaignId": 1, "campaignName": "Outbound", "processId": 1,
                        "leadId": 2, "leadName": "Mumbai list", "campaignLeadId": 1,
                        "campaignUserId": 3817, "priority": 1, "enabled": 1}),
    ]
    for name, value in bad:
        assert validate(sch(name), value), "the validator accepted a bad %s: %r" % (name, value)


# --------------------------------------------------------------------------
# live answers
# --------------------------------------------------------------------------

def test_live_public_operations():
    call("GET", "/health")
    call("GET", "/health", headers={"Accept": "text/html"}, what="406")
    call("GET", "/metrics")
    call("GET", "/cms/ui")
    call("GET", "/cms/ui/")
    call("GET", "/cms/ui/index.html")
    call("GET", "/cms/ui/no-such-file.js", what="404")
    call("GET", "/cms/openapi.json")


def test_live_authentication():
    u, pw = F.admin, F.pw[F.admin]
    r = call("POST", BASICAUTH, {"username": u, "password": pw})
    tok = r.json["authToken"]
    note_secret(tok)
    call("POST", BASICAUTH, {"username": u, "password": pw, "context": "ContactCenter",
                             "contextId": F.cc, "dateExpiry": rfc3339(utcnow())},
         what="dateExpiry not in the future")
    call("POST", BASICAUTH, {"username": S.admin_user, "password": S.admin_password})
    call("POST", BASICAUTH, {"password": pw}, what="no username")
    call("POST", BASICAUTH, raw="{", what="malformed")
    call("POST", BASICAUTH, raw='{"username": "x", "password": "y"}',
         headers={"Content-Type": "text/plain"}, what="415")
    call("POST", BASICAUTH, {"username": u, "password": pw}, headers={"Accept": "text/html"},
         what="406")
    call("DELETE", BASICAUTH, auth=basic(u, pw), what="password instead of token")
    call("DELETE", BASICAUTH, what="no credentials")
    call("DELETE", BASICAUTH, auth=token_basic(tok))
    call("DELETE", BASICAUTH, auth=bearer(tok), what="revoked")
    # the throttle: --login-limit 3 for this name
    name = "nobody_" + uniq()
    statuses = [call("POST", BASICAUTH, {"username": name, "password": "wrong-password"}).status
                for _ in range(4)]
    eq(statuses, [401, 401, 401, 429], "failed logins then the throttle")
    call("GET", F.cc_path, auth=basic(name, "wrong-password"), what="throttled Basic")


def test_live_mapping():
    sup, agent = F.auth("sup"), F.auth("agent")
    body = {"leadId": F.lead, "campaignId": F.campaign, "assignedUserIds": [F.agents[0]],
            "unassignedUserIds": [F.agents[1]]}
    call("PUT", MAPPING, body, auth=sup)
    call("PUT", MAPPING, dict(body, leadId=str(F.lead), campaignId=str(F.campaign)), auth=sup,
         what="ids as strings")
    call("PUT", MAPPING, body, auth=agent, what="agent: 403")
    call("PUT", MAPPING, body, what="no credentials")
    call("PUT", MAPPING, body, auth=F.basic_token("sup"), headers={"Accept": "text/html"},
         what="406")
    call("PUT", MAPPING, raw=json.dumps(body), auth=sup, headers={"Content-Type": "text/plain"},
         what="415")
    call("PUT", MAPPING, {"leadId": 0, "campaignId": "x"}, auth=sup, what="bad fields")
    call("PUT", MAPPING, dict(body, unassignedUserIds=[F.agents[0]]), auth=sup, what="both")
    call("PUT", MAPPING, dict(body, assignedUserIds=["nobody_" + uniq(), F.admin]), auth=sup,
         what="not campaign users")
    call("PUT", MAPPING, dict(body, campaignId=NX), auth=sup, what="no campaign")
    call("PUT", MAPPING, body, auth=sup, headers={"X-Cmsd-Fault": "store-error"}, what="500")
    call("PUT", MAPPING, body, auth=sup, headers={"X-Cmsd-Fault": "store-unavailable"},
         what="503")
    call("PUT", MAPPING, body, auth=sup, headers={"X-Cmsd-Fault": "store-busy"}, what="busy")
    q = "?campaignId=%d&leadId=%d" % (F.campaign, F.lead)
    for path in (MAPPING, MAPPING_DOUBLED):
        call("GET", path + q, auth=agent)
        call("GET", path + "?campaignId=%d" % F.campaign, auth=agent)
        call("GET", path + "?campaignId=%d&limit=1&offset=0" % F.campaign, auth=agent)
        call("GET", path, auth=F.auth("admin"))
        call("GET", path, auth=S.sys_auth())
        call("GET", path + "?leadId=%d" % F.lead, auth=agent, what="leadId alone")
        call("GET", path + "?campaignId=%d&limit=0" % F.campaign, auth=agent, what="limit 0")
        call("GET", path + "?campaignId=%d&leadId=%d" % (F.campaign, NX), auth=agent,
             what="lead not attached")
        call("GET", path + "?campaignId=%d" % NX, auth=agent, what="no campaign")
        call("GET", path + q, what="no credentials")
    lu = F.camp_path + "/lead-user"
    call("GET", lu + "?leadId=%d" % F.lead, auth=agent)
    call("GET", lu, auth=agent, what="no leadId")
    call("GET", lu + "?leadId=%d" % NX, auth=agent, what="not attached")
    call("GET", camp_path(F.cc, F.process, NX) + "/lead-user?leadId=%d" % F.lead, auth=agent,
         what="no campaign")


def test_live_setup_resources():
    A, sysauth, agent = F.auth("admin"), S.sys_auth(), F.auth("agent")
    # contact centers
    cc = call("POST", BASE + "/cc", {"name": "t50-" + uniq()}, auth=sysauth).json["contactCenterId"]
    call("POST", BASE + "/cc", {"name": F.cc_name}, auth=sysauth, what="duplicate")
    call("POST", BASE + "/cc", {"name": ""}, auth=sysauth, what="empty name")
    call("POST", BASE + "/cc", {"name": "x" + uniq()}, auth=A, what="admin: 403")
    call("GET", BASE + "/cc", auth=agent)
    call("GET", BASE + "/cc?limit=2&offset=1", auth=sysauth)
    call("GET", BASE + "/cc?offset=-1", auth=agent, what="offset -1")
    call("GET", F.cc_path, auth=agent)
    call("GET", cc_path(cc), auth=A, what="another tenant")
    call("GET", cc_path(0), auth=A, what="id 0")
    call("DELETE", F.cc_path, auth=sysauth, what="in use")
    call("DELETE", F.cc_path, auth=A, what="admin: 403")
    call("DELETE", cc_path(cc), auth=sysauth)
    call("DELETE", cc_path(cc), auth=sysauth, what="gone")
    # users
    users = F.cc_path + "/user"
    uid = "t50_" + uniq()
    call("POST", users, {"userId": uid, "name": "T", "role": "Agent",
                         "password": random_password()}, auth=A)
    call("POST", users, {"userId": uid, "name": "T", "role": "Agent"}, auth=A, what="duplicate")
    call("POST", users, {"userId": "a b", "name": "", "role": "King"}, auth=A, what="bad")
    call("POST", users, {"userId": "x" + uniq(), "name": "T", "role": "Agent"}, auth=agent,
         what="agent: 403")
    call("GET", users, auth=agent)
    call("GET", users + "?limit=1001", auth=agent, what="limit 1001")
    call("GET", users + "/" + uid, auth=agent)
    call("GET", users + "/nobody_" + uniq(), auth=agent, what="no user")
    call("PUT", users + "/" + uid, {"role": "Supervisor", "name": "T2"}, auth=A)
    call("PUT", users + "/" + uid, {}, auth=A, what="nothing to change")
    call("PUT", users + "/" + uid, {"role": "Agent"}, auth=agent, what="agent: 403")
    call("PUT", users + "/nobody_" + uniq(), {"name": "x"}, auth=A, what="no user")
    call("DELETE", users + "/" + uid, auth=A)
    call("DELETE", users + "/" + uid, auth=A, what="gone")
    # processes
    procs = F.cc_path + "/process"
    p = call("POST", procs, {"processName": "t50-" + uniq()}, auth=A).json["processId"]
    call("POST", procs, {"processName": "proc-" + F.u}, auth=A, what="duplicate")
    call("GET", procs, auth=agent)
    call("GET", proc_path(F.cc, p), auth=agent)
    call("GET", proc_path(F.cc, NX), auth=agent, what="no process")
    call("DELETE", F.proc_path, auth=A, what="in use")
    # leads
    leads = proc_path(F.cc, p) + "/lead"
    lead = call("POST", leads, {"leadName": "t50"}, auth=A).json["leadId"]
    call("POST", leads, {"leadName": "t50"}, auth=A, what="duplicate")
    call("POST", leads, {"leadName": "t50-2"}, auth=agent, what="agent: 403")
    call("GET", leads, auth=agent)
    call("GET", leads + "/%d" % lead, auth=agent)
    call("GET", leads + "/%d" % NX, auth=agent, what="no lead")
    # campaigns
    camps = proc_path(F.cc, p) + "/campaign"
    c = call("POST", camps, {"campaignName": "t50"}, auth=A).json["campaignId"]
    call("POST", camps, {"campaignName": "t50"}, auth=A, what="duplicate")
    call("POST", camps, {"campaignName": 5}, auth=A, what="bad name")
    call("GET", camps, auth=agent)
    call("GET", camps + "/%d" % c, auth=agent)
    cp = camp_path(F.cc, p, c)
    # campaign users
    call("POST", cp + "/campaign-user", {"userIds": [F.agent, F.agents[2]]}, auth=F.auth("sup"))
    call("POST", cp + "/campaign-user", {"userIds": ["nobody_" + uniq()]}, auth=A,
         what="unknown user")
    call("POST", cp + "/campaign-user", {"userIds": "x"}, auth=A, what="not a list")
    call("POST", cp + "/campaign-user", {"userIds": [F.agent]}, auth=agent, what="agent: 403")
    call("GET", cp + "/campaign-user", auth=agent)
    call("DELETE", cp + "/campaign-user/" + F.agents[2], auth=F.auth("sup"))
    call("DELETE", cp + "/campaign-user/" + F.agents[2], auth=F.auth("sup"), what="gone")
    call("DELETE", cp + "/campaign-user/" + F.agent, auth=agent, what="agent: 403")
    # campaign leads
    call("POST", cp + "/campaign-lead", {"leadId": lead, "priority": 5}, auth=A)
    call("POST", cp + "/campaign-lead", {"leadId": lead}, auth=A, what="attached twice")
    call("POST", cp + "/campaign-lead", {"leadId": F.lead}, auth=A, what="lead of another process")
    call("POST", cp + "/campaign-lead", {"leadId": lead, "priority": 0}, auth=A, what="priority")
    call("GET", cp + "/campaign-lead", auth=agent)
    call("DELETE", leads + "/%d" % lead, auth=A, what="lead in use")
    call("DELETE", cp + "/campaign-lead/%d" % lead, auth=A)
    call("DELETE", cp + "/campaign-lead/%d" % lead, auth=A, what="not attached")
    # deletes from the bottom up
    call("DELETE", cp, auth=agent, what="agent: 403")
    call("DELETE", cp, auth=A)
    call("GET", cp, auth=agent, what="gone")
    call("DELETE", leads + "/%d" % lead, auth=A)
    call("DELETE", leads + "/%d" % lead, auth=A, what="gone")
    call("DELETE", proc_path(F.cc, p), auth=A)
    call("DELETE", proc_path(F.cc, p), auth=A, what="gone")


def test_live_body_too_large():
    sock = open_socket()
    try:
        head = request_head("PUT", MAPPING, {"Content-Type": "application/json",
                                             "Authorization": F.auth("sup"),
                                             "Content-Length": str(2 * MIB)})
        sock.sendall(head)
        check(read_response(sock, "PUT", MAPPING, timeout=20 * SLOW), "Content-Length 2 MiB")
    finally:
        sock.close()
    sock = open_socket()
    try:
        path = F.cc_path + "/process"
        sock.sendall(request_head("POST", path, {"Content-Type": "application/json",
                                                 "Authorization": F.auth("admin"),
                                                 "Content-Length": str(2 * MIB)}))
        check(read_response(sock, "POST", path, timeout=20 * SLOW), "Content-Length 2 MiB")
    except (BrokenPipeError, ConnectionResetError, socket.timeout) as e:
        raise AssertionError("413 exchange failed: %s" % e)
    finally:
        sock.close()


def test_live_allow_is_the_documented_methods():
    """A method the path does not answer is 405 whose Allow header lists
    exactly the documented methods (before any credentials are looked at)."""
    values = {"contactCenter": F.cc, "process": F.process, "campaign": F.campaign,
              "lead": F.lead, "campaignLead": F.lead, "userId": F.agent, "rest": "index.html"}
    problems = []
    for tpl, item in DOC["paths"].items():
        methods = {m.upper() for m in item if m in METHODS}
        methods = {m for m in methods if route_is_live(m, tpl)}
        if not methods:
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), tpl)
        r = req("PATCH", path)
        if r.status != 405:
            problems.append("PATCH %s -> %d" % (path, r.status))
            continue
        assert_valid({"$ref": "#/components/schemas/Error"}, r.json, "405 body of " + path)
        eq(r.json.get("errorCode"), "HTTP-1405", "405 errorCode")
        allow = {x.strip() for x in r.headers.get("allow", "").split(",") if x.strip()}
        if allow != methods:
            problems.append("%s: Allow %s, documented %s" % (tpl, sorted(allow), sorted(methods)))
    assert not problems, "; ".join(problems)


def test_live_head_of_every_get():
    """HEAD answers as its GET does, without a body, as documented (a
    bodiless answer of each GET's statuses)."""
    values = {"contactCenter": F.cc, "process": F.process, "campaign": F.campaign,
              "lead": F.lead, "campaignLead": F.lead, "userId": F.agent, "rest": "index.html"}
    n = 0
    for tpl, item in DOC["paths"].items():
        if "head" not in item or not route_is_live("HEAD", tpl):
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), tpl)
        public = item["head"].get("security") == []
        g = req("GET", path, auth=None if public else F.auth("admin"))
        r = check(req("HEAD", path, auth=None if public else F.auth("admin")), "HEAD")
        eq((r.status, r.raw), (g.status, b""), "HEAD %s: the GET's status, no body" % path)
        n += 1
    assert n >= 20, "only %d HEAD operations tried" % n


def test_live_refusals_of_every_operation():
    """Each operation refuses as documented: no credentials (401), a refused
    Accept (406), a body that is not JSON (415), an id that cannot exist (404
    naming the path parameter), in the order docs/decisions.md gives."""
    values = {"contactCenter": F.cc, "process": F.process, "campaign": F.campaign,
              "lead": F.lead, "campaignLead": F.lead, "userId": F.agent, "rest": "index.html"}
    sysauth = S.sys_auth()
    n = 0
    for tpl, item in DOC["paths"].items():
        for m, op in item.items():
            if m == "head":   # its GET's refusals, without a body (test_live_head_of_every_get)
                continue
            if m not in METHODS or not route_is_live(m.upper(), tpl):
                continue
            meth, resp = m.upper(), op["responses"]
            path = re.sub(r"\{(\w+)\}", lambda x: str(values[x.group(1)]), tpl)
            if "401" in resp and op.get("security") != []:
                r = call(meth, path, raw="{}" if "415" in resp else None, what="no credentials")
                eq(r.status, 401, "%s %s without credentials" % (meth, tpl))
                n += 1
            if "406" in resp:
                r = call(meth, path, auth=sysauth, headers={"Accept": "text/html"}, what="406")
                eq(r.status, 406, "%s %s with Accept: text/html" % (meth, tpl))
                n += 1
            if "415" in resp:
                r = call(meth, path, raw="{}", auth=sysauth,
                         headers={"Content-Type": "text/plain"}, what="415")
                eq(r.status, 415, "%s %s with Content-Type: text/plain" % (meth, tpl))
                n += 1
            for name in re.findall(r"\{(\w+)\}", tpl):
                if name in ("userId", "rest"):
                    continue
                zero = re.sub(r"\{(\w+)\}", lambda x: "0" if x.group(1) == name
                              else str(values[x.group(1)]), tpl)
                r = call(meth, zero, raw="{}" if "415" in resp else None, auth=sysauth,
                         what="%s 0" % name)
                eq((r.status, r.json.get("details")), (404, [{"object": name, "id": "0"}]),
                   "%s %s with %s 0" % (meth, tpl, name))
                n += 1
    assert n > 80, "only %d refusals tried" % n


def test_live_conditional_requests():
    """ETag, If-None-Match (304) and If-Match (412 CONF-1006) as documented."""
    sup, agent = F.auth("sup"), F.auth("agent")
    q = "?campaignId=%d&leadId=%d" % (F.campaign, F.lead)
    r = call("GET", MAPPING + q, auth=agent)
    e1 = r.headers.get("etag")
    if not e1:
        skip("the mapping GET sends no ETag yet (issue 7)")
    r = call("GET", MAPPING + q, auth=agent, headers={"If-None-Match": e1})
    eq(r.status, 304, "GET with If-None-Match naming the current state")
    eq(r.headers.get("etag"), e1, "ETag of the 304")
    r = call("GET", F.camp_path + "/lead-user?leadId=%d" % F.lead, auth=agent,
             headers={"If-None-Match": e1})
    eq(r.status, 304, "lead-user GET with If-None-Match naming the current state")
    eq(r.headers.get("etag"), e1, "the lead-user GET's ETag is the mapping GET's")
    cur = call("GET", MAPPING + q, auth=agent).json
    target = F.agents[0] if F.agents[0] in cur["unassignedUserIds"] else F.agents[1]
    moved = {"leadId": F.lead, "campaignId": F.campaign}
    if target in cur["unassignedUserIds"]:
        moved.update(assignedUserIds=[target], unassignedUserIds=[])
    else:
        moved.update(assignedUserIds=[], unassignedUserIds=[target])
    r = call("PUT", MAPPING, moved, auth=sup, headers={"If-Match": e1})
    eq(r.status, 200, "PUT with the current ETag")
    e2 = r.headers.get("etag")
    assert e2 and e2 != e1, "PUT with If-Match: ETag %r of the new state (old %r)" % (e2, e1)
    eq(call("GET", MAPPING + q, auth=agent).headers.get("etag"), e2, "GET after the PUT")
    r = call("PUT", MAPPING, moved, auth=sup, headers={"If-Match": e1})
    eq((r.status, r.json.get("errorCode")), (412, "CONF-1006"), "PUT with a stale If-Match")
    eq(r.headers.get("etag"), e2, "the 412 carries the current ETag")
    eq(call("GET", MAPPING + q, auth=agent).headers.get("etag"), e2, "nothing changed on 412")


def test_live_dry_run():
    sup, agent = F.auth("sup"), F.auth("agent")
    q = "?campaignId=%d&leadId=%d" % (F.campaign, F.lead)
    state = call("GET", MAPPING + q, auth=agent).json
    who = state["unassignedUserIds"][0]
    body = {"leadId": F.lead, "campaignId": F.campaign, "assignedUserIds": [who],
            "unassignedUserIds": []}
    r = call("PUT", MAPPING + "?dryRun=true", body, auth=sup)
    if "dryRun" not in r.json:
        # not implemented yet: that was a real PUT; undo it
        call("PUT", MAPPING, dict(body, assignedUserIds=[], unassignedUserIds=[who]), auth=sup)
        skip("PUT ?dryRun=true is not implemented yet (issue 7)")
    eq(r.json["changes"], {"assignedUserIds": [who], "unassignedUserIds": []}, "changes")
    eq(call("GET", MAPPING + q, auth=agent).json, state, "state after a dry run")
    call("PUT", MAPPING + "?dryRun=maybe", body, auth=sup, what="dryRun=maybe")


def test_live_history():
    tpl = BASE + "/cc/{contactCenter}/process/{process}/campaign/{campaign}/lead-user/history"
    if not route_is_live("GET", tpl):
        skip("GET .../lead-user/history is not in src/router.c yet (issue 7)")
    sup, agent = F.auth("sup"), F.auth("agent")
    body = {"leadId": F.lead, "campaignId": F.campaign, "assignedUserIds": [F.agents[2]],
            "unassignedUserIds": []}
    call("PUT", MAPPING, dict(body, assignedUserIds=[], unassignedUserIds=[F.agents[2]]),
         auth=sup)
    put = call("PUT", MAPPING, body, auth=sup)
    h = F.camp_path + "/lead-user/history"
    r = call("GET", h + "?leadId=%d" % F.lead, auth=agent)
    assert r.json, "no history after a PUT that changed the mapping"
    first = r.json[0]
    eq((first["requestId"], first["changedBy"], first["assignedUserIds"]),
       (put.headers.get("x-request-id"), F.sup, [F.agents[2]]), "the newest entry")
    ids = [e["historyId"] for e in r.json]
    eq(ids, sorted(ids, reverse=True), "newest first")
    call("GET", h + "?leadId=%d&limit=1&offset=1" % F.lead, auth=agent)
    call("GET", h, auth=agent, what="no leadId")
    call("GET", h + "?leadId=%d&limit=0" % F.lead, auth=agent, what="limit 0")
    call("GET", h + "?leadId=%d" % NX, auth=agent, what="lead not attached")
    call("GET", h + "?leadId=%d" % F.lead, what="no credentials")


def stream(path, auth, headers=None, events=1, what=""):
    """GET path as Server-Sent Events.  The answer's status and headers are
    held against the document; an error answer's JSON body too.  Reads the
    stream until `events` events have arrived and returns (resp, blocks):
    the stream's blocks so far, each a list of its lines."""
    hdrs = {"Accept": "text/event-stream", "Authorization": auth}
    hdrs.update(headers or {})
    sock = open_socket()
    try:
        sock.sendall(request_head("GET", path, hdrs))
        r = http.client.HTTPResponse(sock, method="GET")
        r.begin()
        if r.status != 200:
            return check(make_resp(r.status, r.getheaders(), r.read(), "GET", path, S), what), []
        resp = check(make_resp(r.status, r.getheaders(), b"", "GET", path, S), what)
        blocks, lines = [], []
        while sum(1 for b in blocks if b[0].startswith("id: ")) < events:
            line = r.readline()
            assert line, "%s: the stream ended after %r" % (what or path, blocks)
            line = line.decode("utf-8").rstrip("\n")
            if line:
                lines.append(line)
            elif lines:
                blocks.append(lines)
                lines = []
        return resp, blocks
    finally:
        sock.close()


def test_live_change_feed():
    """GET .../campaignLeadUserMapping/changes (docs/feed.md) answers as
    documented: a page from a snapshot's X-Change-Cursor, filters, a
    long-poll, a stream of Server-Sent Events, and its refusals."""
    sup, agent, sysauth = F.auth("sup"), F.auth("agent"), S.sys_auth()
    feed = MAPPING + "/changes"
    q = "?campaignId=%d&leadId=%d" % (F.campaign, F.lead)
    snap = call("GET", MAPPING + q, auth=agent)
    start = snap.headers.get("x-change-cursor")
    move = {"leadId": F.lead, "campaignId": F.campaign, "assignedUserIds": [F.agent],
            "unassignedUserIds": []}
    if F.agent in snap.json["assignedUserIds"]:
        move.update(assignedUserIds=[], unassignedUserIds=[F.agent])
    put = call("PUT", MAPPING, move, auth=sup)
    r = call("GET", feed + "?after=" + start, auth=sup)
    eq(r.headers.get("x-change-cursor"), r.json["cursor"], "X-Change-Cursor of a page")
    eq([(e["cause"], e["actor"], e["requestId"], e["contactCenterId"], e["campaignId"],
         e["leadId"], e["campaignLeadId"], e["assigned"], e["unassigned"])
        for e in r.json["events"]],
       [("mapping", F.sup, put.headers.get("x-request-id"), F.cc, F.campaign, F.lead,
         F.campaign_lead, move["assignedUserIds"], move["unassignedUserIds"])],
       "the events after the snapshot's cursor")
    head = r.json["cursor"]
    eq(r.json["events"][0]["cursor"], head, "the page's cursor is its last event's")
    mine = call("GET", feed + "?after=0&limit=1000", auth=agent, what="an Agent's").json
    assert mine["events"], "the Agent sees no event that names it"
    assert all(F.agent in e["assigned"] + e["unassigned"] for e in mine["events"]), \
        "an Agent sees only the events that name it"
    call("GET", feed, auth=sysauth, what="from the oldest")
    call("GET", feed + "?limit=1", auth=F.auth("admin"), what="limit 1")
    r = call("GET", feed + "?after=%s&campaignId=%d&leadId=%d&userId=%s" % (
        start, F.campaign, F.lead, F.agents[2]), auth=sup, what="filters matching nothing")
    eq((r.json["events"], r.json["cursor"]), ([], head), "filtered: read on to the head")
    r = call("GET", feed + "?after=%s&wait=1" % head, auth=sup, what="long-poll")
    eq(r.json, {"events": [], "cursor": head}, "a long-poll whose time ran out")
    # refusals
    r = call("GET", feed + "?after=xyz&limit=0&wait=61&campaignId=0&userId=a%20b", auth=agent,
             what="malformed")
    eq(sorted(d["field"] for d in r.json.get("details", [])),
       ["after", "campaignId", "limit", "userId", "wait"], "400 names every bad parameter")
    r = call("GET", feed + "?after=7fffffffffffffff", auth=agent, what="ahead of the feed")
    eq((r.status, r.json.get("errorCode")), (410, "CONF-1007"), "a cursor ahead of the feed")
    # the 2nd statement (after the token's lookup) is the feed's first read
    r = call("GET", feed, auth=sup, headers={"X-Cmsd-Fault": "store-error@2"}, what="500")
    eq(r.status, 500, "the feed's read failing")
    r = call("GET", feed, auth=sup, headers={"X-Cmsd-Fault": "store-unavailable@2"},
             what="503")
    eq(r.status, 503, "the store away")
    # Server-Sent Events
    r, blocks = stream(feed + "?after=" + start, sup, what="stream")
    eq(r.headers.get("cache-control"), "no-store", "Cache-Control of a stream")
    eq(blocks[0], ["retry: 2000"], "a stream's first block")
    lines = blocks[1]
    eq([x.split(":")[0] for x in lines], ["id", "event", "data"], "an event's lines")
    ev = json.loads(lines[2][len("data: "):])
    assert_valid({"$ref": "#/components/schemas/ChangeEvent"}, ev, "a streamed event")
    eq((lines[0], lines[1], ev["requestId"]),
       ("id: " + head, "event: change", put.headers.get("x-request-id")), "the streamed event")
    stream(feed, sup, headers={"Last-Event-ID": start}, what="Last-Event-ID")
    r, _ = stream(feed, sup, headers={"Last-Event-ID": "zz"}, what="bad Last-Event-ID")
    eq(r.json.get("details"), [{"field": "Last-Event-ID",
                                "reason": "must be 0 or a cursor (16 lowercase hexadecimal digits)"}],
       "a malformed Last-Event-ID")
    r, _ = stream(feed, sup, headers={"Last-Event-ID": "7fffffffffffffff"}, what="410")
    eq(r.status, 410, "a stream from a cursor ahead of the feed")
    call("PUT", MAPPING, dict(move, assignedUserIds=move["unassignedUserIds"],
                              unassignedUserIds=move["assignedUserIds"]), auth=sup)


def test_live_assignments():
    agent, A = F.auth("agent"), F.auth("admin")
    path = F.cc_path + "/user/%s/assignments"
    call("PUT", MAPPING, {"leadId": F.lead, "campaignId": F.campaign,
                          "assignedUserIds": [F.agent], "unassignedUserIds": []},
         auth=F.auth("sup"))
    r = call("GET", path % F.agent, auth=agent)
    assert (F.campaign, F.lead, F.campaign_lead, F.cu[F.agent]) in [
        (a["campaignId"], a["leadId"], a["campaignLeadId"], a["campaignUserId"])
        for a in r.json], "the fixture's lead among the agent's assignments: %r" % (r.json,)
    eq(r.headers.get("x-total-count"), str(len(r.json)), "X-Total-Count")
    call("GET", path % F.agent + "?limit=1&offset=1", auth=A)
    r = call("GET", path % F.agents[0], auth=agent, what="another user's")
    eq(r.status, 403, "an Agent reading another user's assignments")
    r = call("GET", path % ("nobody_" + uniq()), auth=A, what="no user")
    eq(r.status, 404, "an unknown user's assignments")
    call("GET", path % F.agent + "?limit=0", auth=A, what="limit 0")
    r = call("GET", path % F.agent, auth=A, headers={"X-Cmsd-Fault": "store-error"},
             what="500")
    eq(r.status, 500, "the commit failing")
    r = call("GET", path % F.agent, auth=A, headers={"X-Cmsd-Fault": "store-unavailable"},
             what="503")
    eq(r.status, 503, "the store away")


def test_live_every_operation_was_exercised():
    missing = []
    for tpl, item in DOC["paths"].items():
        for m in item:
            if m in METHODS and route_is_live(m.upper(), tpl) and \
                    not any(s[0] == m.upper() and s[1] == tpl for s in SEEN):
                missing.append("%s %s" % (m.upper(), tpl))
    assert not missing, "operations no live test called: %s" % "; ".join(missing)
