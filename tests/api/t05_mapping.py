"""
t05 - the lead-user mapping (API.md section 3), the heart of the service:
the vendor page's curl commands as printed, the PUT's answer, the GET forms,
validation, missing objects, idempotency and concurrency.
"""
import json
import random
import re
import shutil
import subprocess
import threading

from harness import *  # noqa: F401,F403
from harness import SLOW, REQ_TIMEOUT

S = None
F = None
A = None
CU = None     # {userId: campaignUserId} of every campaign user of F's campaign
V = None      # the vendor page's example: anav_agent, exe_gs, madhur1


def setup_module():
    global S, F, A, CU, V
    S = use(Server().start())
    F = make_fixture(extra_agents=6)
    A = F.auth("admin")
    CU = campaign_users(A, F.cc, F.process, F.campaign)
    eq(len(CU), 8, "campaign users of the fixture")
    sysauth = S.sys_auth()
    V = Fixture(cc=create_cc(sysauth))
    V.admin = "vendor_admin_" + uniq()
    V.pw = random_password()
    create_user(sysauth, V.cc, V.admin, "Administrator", V.pw)
    for u in ("anav_agent", "exe_gs", "madhur1"):
        create_user(sysauth, V.cc, u, "Agent")
    V.process = create_process(sysauth, V.cc)
    V.lead = create_lead(sysauth, V.cc, V.process)
    V.campaign = create_campaign(sysauth, V.cc, V.process)
    V.cu = enroll(sysauth, V.cc, V.process, V.campaign, ["anav_agent", "exe_gs", "madhur1"])
    V.campaign_lead = attach(sysauth, V.cc, V.process, V.campaign, V.lead)
    V.token = login(V.admin, V.pw, "ContactCenter", V.cc)


def body(assigned=(), unassigned=(), campaign=None, lead=None, **extra):
    b = {"leadId": F.lead if lead is None else lead,
         "campaignId": F.campaign if campaign is None else campaign,
         "assignedUserIds": list(assigned), "unassignedUserIds": list(unassigned)}
    b.update(extra)
    return b


def put(b, auth=None, **kw):
    return req("PUT", MAPPING, b, auth=auth or A, **kw)


def current_assigned(campaign=None, lead=None):
    m = get_mapping(A, campaign or F.campaign, lead or F.lead)
    return set(m["assignedUserIds"])


def expect_state(assigned, campaign=None, lead=None, cu=None, campaign_lead=None, what="state"):
    """The mapping GET must show exactly `assigned` mapped, all other campaign
    users unmapped, each sorted by userId, ids index by index."""
    cu = CU if cu is None else cu
    campaign = campaign or F.campaign
    lead = lead or F.lead
    m = get_mapping(A, campaign, lead)
    assigned = set(assigned)
    check_mapping(m, campaign, lead, campaign_lead, sorted(assigned), sorted(set(cu) - assigned),
                  cu, what)
    return m


# ---- the vendor's curl commands ---------------------------------------------------

def curl(cmd):
    assert shutil.which("curl"), "curl is not installed"
    p = subprocess.run(["bash", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=REQ_TIMEOUT + 10)
    assert p.returncode == 0, "curl exit %d: %s %s" % (p.returncode, short(p.stdout),
                                                       short(p.stderr))
    try:
        return json.loads(p.stdout.decode())
    except ValueError:
        raise AssertionError("curl printed no JSON: %s" % short(p.stdout))


def vendor_put_cmd(auth_value, extra=""):
    return ("curl --location --request PUT "
            "'http://127.0.0.1:%d/cms/configuration/voice/campaignLeadUserMapping' \\\n"
            "--header 'Content-Type: application/json' \\\n"
            "--header 'Authorization: %s' \\\n"
            "--data '{ \"leadId\": %d, \"campaignId\": %d, \"assignedUserIds\": [\"anav_agent\"], "
            "\"unassignedUserIds\": [\"exe_gs\",\"madhur1\"] }'%s"
            % (S.port, auth_value, V.lead, V.campaign, extra))


def check_vendor_answer(b):
    check_mapping(b, V.campaign, V.lead, V.campaign_lead, ["anav_agent"], ["exe_gs", "madhur1"],
                  V.cu, "vendor PUT answer")
    eq(b["assignedCampaignUserIds"], [V.cu["anav_agent"]], "assignedCampaignUserIds")
    eq(b["unassignedCampaignUserIds"], [V.cu["exe_gs"], V.cu["madhur1"]],
       "unassignedCampaignUserIds")


def test_vendor_put_curl_as_printed():
    b = curl(vendor_put_cmd("Basic " + V.token))
    check_vendor_answer(b)
    p = subprocess.run(["bash", "-c", vendor_put_cmd("Basic " + V.token,
                                                     " --silent --output /dev/null "
                                                     "--write-out '%{http_code}'")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=REQ_TIMEOUT + 10)
    eq(p.stdout.decode().strip(), "200", "HTTP status of the vendor's PUT")
    m = get_mapping(bearer(V.token), V.campaign, V.lead)
    check_mapping(m, V.campaign, V.lead, V.campaign_lead, ["anav_agent"], ["exe_gs", "madhur1"],
                  V.cu, "state after the vendor's PUT")


def test_vendor_put_with_the_header_table_and_multiline_body():
    # the page's header table (Accept, lower-case authorization, Bearer) and its
    # request body as printed over several lines
    cmd = ("curl --location --request PUT "
           "'http://127.0.0.1:%d/cms/configuration/voice/campaignLeadUserMapping' \\\n"
           "--header 'Content-Type: application/json' \\\n"
           "--header 'Accept: application/json' \\\n"
           "--header 'authorization: Bearer %s' \\\n"
           "--data '{\n\"leadId\":%d,\n\"campaignId\":%d,\n\"assignedUserIds\":[\"anav_agent\"],\n"
           "\"unassignedUserIds\":[\"exe_gs\",\"madhur1\"]\n}'" % (S.port, V.token, V.lead, V.campaign))
    check_vendor_answer(curl(cmd))


def test_vendor_get_curl_at_the_doubled_path():
    curl(vendor_put_cmd("Basic " + V.token))
    cmd = ("curl -X 'GET' \\\n"
           "  'http://127.0.0.1:%d/cms/configuration/cms/configuration/voice/campaignLeadUserMapping' \\\n"
           "  -H 'accept: application/json' \\\n"
           "  -H 'Content-Type: application/json' \\\n"
           "  -H 'Authorization: Bearer %s'" % (S.port, V.token))
    b = curl(cmd)
    assert isinstance(b, list), "GET without a query is not a list: %r" % (b,)
    eq(len(b), 1, "mappings of the vendor's contact center")
    check_mapping(b[0], V.campaign, V.lead, V.campaign_lead, ["anav_agent"], ["exe_gs", "madhur1"],
                  V.cu, "vendor GET")
    cmd2 = cmd.replace("campaignLeadUserMapping'", "campaignLeadUserMapping?campaignId=%d&leadId=%d'"
                       % (V.campaign, V.lead))
    one = curl(cmd2)
    eq(one, b[0], "single-lead GET at the doubled path")


# ---- the PUT's answer -----------------------------------------------------------------

def test_put_answer_exact_keys_and_request_order():
    a0, a1, a2, a3, a4, a5 = F.agents
    r = put(body([a3, a1, F.agent], [a4, a0]))
    b = expect(r, 200)
    check_mapping(b, F.campaign, F.lead, F.campaign_lead, [a3, a1, F.agent], [a4, a0], CU)
    eq(b["assignedCampaignUserIds"], [CU[a3], CU[a1], CU[F.agent]], "assignedCampaignUserIds")
    eq(b["unassignedCampaignUserIds"], [CU[a4], CU[a0]], "unassignedCampaignUserIds")
    ct = r.headers.get("content-type", "")
    assert ct.split(";")[0].strip() == "application/json", "Content-Type %r" % ct


def test_put_repeats_removed_keeping_first_order():
    a0, a1, a2, a3, a4, a5 = F.agents
    b = expect(put(body([a2, a1, a2, a2, a1], [a5, a0, a5])), 200)
    check_mapping(b, F.campaign, F.lead, F.campaign_lead, [a2, a1], [a5, a0], CU)


def test_get_single_lead_current_state_sorted():
    before = current_assigned()
    a0, a1, a2, a3, a4, a5 = F.agents
    expect(put(body([a5, a0], [a1])), 200)
    want = (before | {a5, a0}) - {a1}
    m = expect_state(want, campaign_lead=F.campaign_lead)
    eq(m["assignedUserIds"], sorted(m["assignedUserIds"]), "assigned sorted")
    eq(m["unassignedUserIds"], sorted(m["unassignedUserIds"]), "unassigned sorted")
    eq(sorted(m["assignedUserIds"] + m["unassignedUserIds"]), sorted(CU), "every campaign user")
    r = req("GET", MAPPING_DOUBLED + "?campaignId=%d&leadId=%d" % (F.campaign, F.lead), auth=A)
    eq(expect(r, 200), m, "doubled path")
    # valid limit and offset have no effect on one lead
    r = req("GET", MAPPING + "?campaignId=%d&leadId=%d&limit=1&offset=5" % (F.campaign, F.lead),
            auth=A)
    eq(expect(r, 200), m, "limit and offset on one lead")
    for who in ("sup", "agent"):
        eq(get_mapping(F.auth(who), F.campaign, F.lead), m, "GET as %s" % who)


def test_numeric_strings_accepted_for_ids():
    a0 = F.agents[0]
    r = put(body([a0], [], campaign=str(F.campaign), lead=str(F.lead)))
    b = expect(r, 200, "ids as numeric strings")
    check_mapping(b, F.campaign, F.lead, F.campaign_lead, [a0], [], CU)
    assert is_int(b["leadId"]) and is_int(b["campaignId"]), "ids echoed as numbers: %r" % b
    r = put(body([], [a0], campaign=F.campaign, lead=str(F.lead)))
    expect(r, 200, "leadId only as a string")


def test_empty_arrays_change_nothing():
    before = get_mapping(A, F.campaign, F.lead)
    b = expect(put(body([], [])), 200)
    check_mapping(b, F.campaign, F.lead, F.campaign_lead, [], [], CU)
    eq(get_mapping(A, F.campaign, F.lead), before, "state after an empty PUT")


def test_put_is_idempotent():
    a0, a1, a2, a3, a4, a5 = F.agents
    first = expect(put(body([a1, a2], [a3, a4])), 200)
    s1 = get_mapping(A, F.campaign, F.lead)
    second = expect(put(body([a1, a2], [a3, a4])), 200)
    eq(second, first, "answer to the same PUT twice")
    eq(get_mapping(A, F.campaign, F.lead), s1, "state after the same PUT twice")
    # unassigning users who are not mapped, assigning mapped ones: fine
    now = current_assigned()
    assert a1 in now and a3 not in now and a4 not in now, "precondition %r" % sorted(now)
    b = expect(put(body([a1], [a3, a4])), 200)
    check_mapping(b, F.campaign, F.lead, F.campaign_lead, [a1], [a3, a4], CU)
    expect_state(now)


def test_unknown_keys_are_ignored():
    a0 = F.agents[0]
    b = body([a0], [], foo=1, processId=NX, assignedCampaignUserIds=[NX], nested={"x": [1, 2]})
    r = put(b)
    check_mapping(expect(r, 200), F.campaign, F.lead, F.campaign_lead, [a0], [], CU)


def test_mapping_is_per_lead():
    lead2 = create_lead(A, F.cc, F.process)
    cl2 = attach(A, F.cc, F.process, F.campaign, lead2)
    before = get_mapping(A, F.campaign, F.lead)
    a0, a1 = F.agents[:2]
    expect(put(body([a0, a1], [], lead=lead2)), 200)
    expect_state({a0, a1}, lead=lead2, campaign_lead=cl2)
    eq(get_mapping(A, F.campaign, F.lead), before, "the other lead is untouched")


def test_many_users_in_one_put():
    c = create_campaign(A, F.cc, F.process)
    lead = create_lead(A, F.cc, F.process)
    users = [create_user(A, F.cc, "bulk%02d_%s" % (i, uniq())) for i in range(50)]
    cu = enroll(A, F.cc, F.process, c, users)
    cl = attach(A, F.cc, F.process, c, lead)
    order = list(users)
    random.Random(5).shuffle(order)
    b = expect(put(body(order[:40], order[40:], campaign=c, lead=lead)), 200)
    check_mapping(b, c, lead, cl, order[:40], order[40:], cu)
    expect_state(set(order[:40]), c, lead, cu, cl)


# ---- the GET lists ----------------------------------------------------------------------------

def test_get_campaign_list_and_pagination():
    c = create_campaign(A, F.cc, F.process)
    users = [create_user(A, F.cc) for _ in range(3)]
    cu = enroll(A, F.cc, F.process, c, users)
    leads = [create_lead(A, F.cc, F.process) for _ in range(3)]
    cls = [attach(A, F.cc, F.process, c, l) for l in leads]
    expect(put(body([users[0]], [], campaign=c, lead=leads[1])), 200)
    r = req("GET", MAPPING + "?campaignId=%d" % c, auth=A)
    lst = expect(r, 200)
    eq(r.headers.get("x-total-count"), "3", "X-Total-Count")
    assert isinstance(lst, list) and len(lst) == 3, "campaign list: %s" % short(r.raw)
    eq([o["campaignLeadId"] for o in lst], sorted(cls), "ordered by campaignLeadId")
    for o, l, cl in zip(lst, leads, cls):
        check_mapping(o, c, l, cl, cu=cu)
        eq(o, get_mapping(A, c, l), "list entry vs single GET of lead %d" % l)
    eq(lst[1]["assignedUserIds"], [users[0]], "the mapped lead")
    r = req("GET", MAPPING + "?campaignId=%d&limit=2" % c, auth=A)
    eq(expect(r, 200), lst[:2], "limit=2")
    eq(r.headers.get("x-total-count"), "3", "X-Total-Count with limit")
    r = req("GET", MAPPING + "?campaignId=%d&limit=2&offset=2" % c, auth=A)
    eq(expect(r, 200), lst[2:], "offset=2")
    r = req("GET", MAPPING + "?campaignId=%d&offset=3" % c, auth=A)
    eq(expect(r, 200), [], "offset past the end")
    r = req("GET", MAPPING_DOUBLED + "?campaignId=%d" % c, auth=A)
    eq(expect(r, 200), lst, "doubled path")


def test_get_campaign_without_leads_is_empty():
    c = create_campaign(A, F.cc, F.process)
    r = req("GET", MAPPING + "?campaignId=%d" % c, auth=A)
    eq(expect(r, 200), [], "campaign without leads")
    eq(r.headers.get("x-total-count"), "0", "X-Total-Count")


def test_get_lead_of_campaign_without_users():
    c = create_campaign(A, F.cc, F.process)
    lead = create_lead(A, F.cc, F.process)
    cl = attach(A, F.cc, F.process, c, lead)
    check_mapping(get_mapping(A, c, lead), c, lead, cl, [], [], {})


def test_get_without_query_lists_the_callers_cc():
    G = make_fixture(extra_agents=1)
    ga = G.auth("admin")
    c2 = create_campaign(ga, G.cc, G.process)
    enroll(ga, G.cc, G.process, c2, [G.agent])
    l2 = create_lead(ga, G.cc, G.process)
    cl2 = attach(ga, G.cc, G.process, c2, l2)
    cl3 = attach(ga, G.cc, G.process, c2, G.lead)
    expect(put(body([G.agent], [], campaign=c2, lead=l2), auth=ga), 200)
    r = req("GET", MAPPING, auth=ga)
    lst = expect(r, 200)
    eq(r.headers.get("x-total-count"), "3", "X-Total-Count of G's mappings")
    eq([o["campaignLeadId"] for o in lst], sorted([G.campaign_lead, cl2, cl3]),
       "G's mappings ordered by campaignLeadId")
    for o in lst:
        check_mapping(o)
        eq(o, get_mapping(ga, o["campaignId"], o["leadId"]), "list entry vs single GET")
    r = req("GET", MAPPING + "?limit=1&offset=1", auth=ga)
    eq(expect(r, 200), lst[1:2], "limit=1&offset=1")
    eq(r.headers.get("x-total-count"), "3", "X-Total-Count with limit")
    r = req("GET", MAPPING_DOUBLED, auth=G.auth("agent"))
    eq(expect(r, 200), lst, "doubled path as an agent")


def test_get_errors():
    for q in ("?leadId=%d" % F.lead, "?campaignId=abc", "?campaignId=0", "?campaignId=-1",
              "?campaignId=", "?campaignId=1.5", "?campaignId=%d&leadId=abc" % F.campaign,
              "?campaignId=%d&leadId=0" % F.campaign, "?campaignId=%d&leadId=" % F.campaign,
              "?campaignId=%d&limit=0" % F.campaign, "?campaignId=%d&limit=1001" % F.campaign,
              "?campaignId=%d&offset=-1" % F.campaign, "?limit=abc", "?offset=x",
              # the single-lead GET checks them as the document describes them
              # (issue 14 point 15: the code before answered 200, ignoring them)
              "?campaignId=%d&leadId=%d&limit=0" % (F.campaign, F.lead),
              "?campaignId=%d&leadId=%d&limit=abc" % (F.campaign, F.lead),
              "?campaignId=%d&leadId=%d&offset=-1" % (F.campaign, F.lead)):
        r = req("GET", MAPPING + q, auth=A)
        assert_error(r, 400, "CONF-1002", "GET mapping%s" % q)
    assert_error(req("GET", MAPPING + "?campaignId=%d" % NX, auth=A), 404, "CONF-1001",
                 "unknown campaign")
    lead = create_lead(A, F.cc, F.process)
    assert_error(req("GET", MAPPING + "?campaignId=%d&leadId=%d" % (F.campaign, lead), auth=A),
                 404, "CONF-1001", "lead not attached")
    assert_error(req("GET", MAPPING + "?campaignId=%d&leadId=%d" % (F.campaign, NX), auth=A),
                 404, "CONF-1001", "unknown lead")


# ---- validation -------------------------------------------------------------------------------

def assert_unchanged(before, what):
    eq(get_mapping(A, F.campaign, F.lead), before, "state after " + what)


def test_invalid_ids_400():
    before = get_mapping(A, F.campaign, F.lead)
    a0 = F.agents[0]
    bad = [0, -1, 1.5, 2.0, 1e30, True, False, None, "abc", "", " ", "1.5", "-1", "0", "2x",
           "0x10", [1], {"id": 1}]
    for field in ("leadId", "campaignId"):
        for v in bad:
            b = body([a0], [])
            b[field] = v
            r = put(b)
            e = assert_error(r, 400, "CONF-1002", "%s=%r" % (field, v))
            assert_field(e, field, "%s=%r" % (field, v))
        b = body([a0], [])
        del b[field]
        assert_field(assert_error(put(b), 400, "CONF-1002", "missing " + field), field,
                     "missing " + field)
        # too big for a 64-bit integer: refused (perhaps already by the parser)
        r = put_raw_with(field, "9223372036854775808")
        assert_error(r, 400, "CONF-1002", "%s = 2^63" % field)
        r = put_raw_with(field, "-9223372036854775809")
        assert_error(r, 400, "CONF-1002", "%s = -2^63-1" % field)
    assert_unchanged(before, "invalid ids")


def put_raw_with(field, literal):
    b = body([F.agents[0]], [])
    b[field] = "@@"
    raw = json.dumps(b).replace('"@@"', literal)
    return req("PUT", MAPPING, raw=raw, auth=A)


def test_largest_id_is_valid_but_unknown():
    r = put_raw_with("campaignId", "9223372036854775807")
    b = assert_error(r, 404, "CONF-1001", "campaignId 2^63-1")
    assert_missing(b, [("campaign", "9223372036854775807")])


def test_invalid_user_arrays_400():
    before = get_mapping(A, F.campaign, F.lead)
    bad = ["anav", None, 5, {}, {"a": "b"}, True, [5], [None], [""], [["x"]], [{}], ["ok", 5],
           [F.agents[0], ""], ["x" * 129], ["\u20ac" * 43], [True]]
    for field in ("assignedUserIds", "unassignedUserIds"):
        for v in bad:
            b = body([], [])
            b[field] = v
            r = put(b)
            e = assert_error(r, 400, "CONF-1002", "%s=%s" % (field, short(json.dumps(v), 60)))
            assert_field(e, field, "%s=%s" % (field, short(json.dumps(v), 60)))
        b = body([], [])
        del b[field]
        assert_field(assert_error(put(b), 400, "CONF-1002", "missing " + field), field,
                     "missing " + field)
    # a valid element next to an invalid one changes nothing either
    b = body([F.agents[0]], [F.agents[1], 7])
    assert_error(put(b), 400, "CONF-1002", "one bad element")
    assert_unchanged(before, "invalid arrays")


def test_128_byte_ids_are_valid_but_unknown():
    for uid in ("x" * 128, "\u20ac" * 42 + "xx", "has space/and:colon", "\u00e9t\u00e9 \u260e",
                'quote" back\\slash', "tab\there", "<script>"):
        r = put(body([uid], []))
        b = assert_error(r, 404, "CONF-1001", "user id of %d bytes" % len(uid.encode()))
        assert_missing(b, [("campaignUser", uid)])


def test_array_size_limit():
    many = ["x%d" % i for i in range(10001)]
    for field in ("assignedUserIds", "unassignedUserIds"):
        b = body([], [])
        b[field] = many
        e = assert_error(put(b), 400, "CONF-1002", "10,001 elements in " + field)
        assert_field(e, field, "10,001 elements")
    b = body(many[:10000], [])
    r = put(b)
    e = assert_error(r, 404, "CONF-1001", "10,000 unknown users")
    eq(len(details(e)), 10000, "every one of 10,000 unknown users listed")
    assert_missing(e, [("campaignUser", u) for u in many[:10000]])


def test_user_in_both_arrays_conf_1003():
    before = get_mapping(A, F.campaign, F.lead)
    a0, a1, a2, a3 = F.agents[:4]
    for b, both in ((body([a0, a1], [a2, a1]), [a1]), (body([a0], [a0]), [a0]),
                    (body(["nobody_x"], ["nobody_x"]), ["nobody_x"]),
                    (body([a0], [a0], campaign=NX), [a0]),
                    (body([a1, a1, a3, a0], [a2, a1, a0, a2, a1]), [a1, a0])):
        r = put(b)
        e = assert_error(r, 400, "CONF-1003", "user in both arrays %r" % b)
        got = sorted((d.get("field"), d.get("reason")) for d in details(e))
        want = sorted(("unassignedUserIds", "%s is also in assignedUserIds" % u) for u in both)
        eq(got, want, "CONF-1003 details (each user in both arrays once)")
    assert_unchanged(before, "CONF-1003")


def test_validation_lists_every_bad_field_at_once():
    b = {"leadId": 0, "campaignId": "abc", "assignedUserIds": "x", "unassignedUserIds": [""]}
    e = assert_error(put(b), 400, "CONF-1002", "four bad fields")
    for f in ("leadId", "campaignId", "assignedUserIds", "unassignedUserIds"):
        assert_field(e, f, "mapping PUT with four bad fields")
    e = assert_error(put({"leadId": F.lead}), 400, "CONF-1002", "three missing fields")
    for f in ("campaignId", "assignedUserIds", "unassignedUserIds"):
        assert_field(e, f, "mapping PUT with three missing fields")


def where_line_column(raw):
    """PUT a malformed body; its details must name line and column (decisions.md)."""
    r = req("PUT", MAPPING, raw=raw, auth=A)
    e = assert_error(r, 400, "CONF-1002", "malformed %r" % raw)
    for d in details(e):
        reason = str(d.get("reason", ""))
        ml = re.search(r"line\D{0,3}(\d+)", reason, re.I)
        mc = re.search(r"col(?:umn)?\D{0,3}(\d+)", reason, re.I)
        if ml and mc:
            return int(ml.group(1)), int(mc.group(1))
    raise AssertionError("malformed %r: no details reason names line and column: %s" % (
        raw, json.dumps(details(e))))


def test_malformed_json_says_where():
    before = get_mapping(A, F.campaign, F.lead)
    for raw in ('{', '{"leadId": 1,}', '{"leadId" 1}', "{'leadId': 1}", '{"leadId": 1} x',
                '{"leadId": tru}', '{"assignedUserIds": ["a",]}', '{"a": "unterminated}',
                '{"leadId": 01}', '{"leadId": 1 "campaignId": 2}'):
        where_line_column(raw)
    eq(where_line_column('{\n  "leadId": 1,\n  "campaignId": x\n}')[0], 3,
       "line of the error in a three-line body")
    for raw in ("", "   ", "\n"):
        assert_error(req("PUT", MAPPING, raw=raw, auth=A), 400, "CONF-1002", "empty body %r" % raw)
    assert_unchanged(before, "malformed JSON")


def test_body_must_be_an_object():
    for raw in ("[]", '["a"]', '"x"', "1", "null", "true",
                json.dumps([body([F.agents[0]], [])])):
        assert_error(req("PUT", MAPPING, raw=raw, auth=A), 400, "CONF-1002", "body %r" % raw[:40])


def test_duplicate_keys_400():
    before = get_mapping(A, F.campaign, F.lead)
    a0 = F.agents[0]
    raws = [
        '{"leadId": %d, "leadId": %d, "campaignId": %d, "assignedUserIds": ["%s"], '
        '"unassignedUserIds": []}' % (F.lead, F.lead, F.campaign, a0),
        '{"leadId": %d, "campaignId": %d, "assignedUserIds": ["%s"], "assignedUserIds": [], '
        '"unassignedUserIds": []}' % (F.lead, F.campaign, a0),
        '{"leadId": %d, "campaignId": %d, "assignedUserIds": ["%s"], "unassignedUserIds": [], '
        '"x": {"y": 1, "y": 2}}' % (F.lead, F.campaign, a0),
    ]
    for raw in raws:
        assert_error(req("PUT", MAPPING, raw=raw, auth=A), 400, "CONF-1002", "duplicate keys")
    assert_unchanged(before, "duplicate keys")


def test_invalid_utf8_and_nul():
    before = get_mapping(A, F.campaign, F.lead)
    head = '{"leadId": %d, "campaignId": %d, "unassignedUserIds": [], "assignedUserIds": [' % (
        F.lead, F.campaign)
    for tail in (b'"ab\xffcd"]}', b'"\xc3"]}', b'"ab\\u0000cd"]}', b'"\xed\xa0\x80"]}'):
        r = req("PUT", MAPPING, raw=head.encode() + tail, auth=A)
        assert_error(r, 400, "CONF-1002", "user id bytes %r" % tail)
    assert_unchanged(before, "invalid UTF-8")


# ---- missing objects ---------------------------------------------------------------------------

def test_unknown_campaign_404():
    a0 = F.agents[0]
    r = put(body([a0], [], campaign=NX))
    b = assert_error(r, 404, "CONF-1001")
    assert_missing(b, [("campaign", NX)], "unknown campaign")
    r = put(body(["nobody1"], ["nobody2"], campaign=NX))
    b = assert_error(r, 404, "CONF-1001")
    assert_missing(b, [("campaign", NX)], "unknown campaign and unknown users")


def test_lead_not_attached_404():
    before = get_mapping(A, F.campaign, F.lead)
    a0 = F.agents[0]
    free = create_lead(A, F.cc, F.process)
    c2 = create_campaign(A, F.cc, F.process)
    other = create_lead(A, F.cc, F.process)
    attach(A, F.cc, F.process, c2, other)
    for lead in (free, NX, other):
        r = put(body([a0], [], lead=lead))
        b = assert_error(r, 404, "CONF-1001", "lead %d not attached" % lead)
        assert_missing(b, [("lead", lead)], "lead not attached")
    r = put(body(["nobody1"], [], lead=free))
    assert_missing(assert_error(r, 404, "CONF-1001"), [("lead", free)], "lead before users")
    assert_unchanged(before, "lead not attached")


def test_unknown_users_404_lists_every_one_and_changes_nothing():
    a0, a1, a2, a3, a4, a5 = F.agents
    expect(put(body([a0], [a1])), 200)
    before = get_mapping(A, F.campaign, F.lead)
    not_enrolled = create_user(A, F.cc)
    G = Fixture(cc=create_cc(S.sys_auth()))
    foreign = create_user(S.sys_auth(), G.cc)
    n1, n2, n3 = ("nobody_%s_%d" % (uniq(), i) for i in range(3))
    r = put(body([a1, n1, not_enrolled, n1], [a0, n2, foreign, n3, a2]))
    b = assert_error(r, 404, "CONF-1001")
    assert_missing(b, [("campaignUser", u) for u in (n1, not_enrolled, n2, foreign, n3)],
                   "every missing user, once each")
    eq(get_mapping(A, F.campaign, F.lead), before, "state after the refused PUT")


# ---- cascades --------------------------------------------------------------------------------

def test_removing_campaign_user_removes_its_mappings():
    u = create_user(A, F.cc)
    cu = enroll(A, F.cc, F.process, F.campaign, [u])
    expect(put(body([u], [])), 200)
    assert u in current_assigned(), "precondition"
    expect(req("DELETE", F.camp_path + "/campaign-user/" + u, auth=F.auth("sup")), 204)
    m = get_mapping(A, F.campaign, F.lead)
    assert u not in m["assignedUserIds"] + m["unassignedUserIds"], "removed user listed: %r" % m
    assert cu[u] not in m["assignedCampaignUserIds"] + m["unassignedCampaignUserIds"], \
        "removed campaign-user id listed: %r" % m
    assert_missing(assert_error(put(body([u], [])), 404, "CONF-1001"), [("campaignUser", u)])
    assert_missing(assert_error(put(body([], [u])), 404, "CONF-1001"), [("campaignUser", u)])


# ---- concurrency -------------------------------------------------------------------------------

def test_concurrent_toggles_keep_every_users_last_action():
    c = create_campaign(A, F.cc, F.process)
    lead = create_lead(A, F.cc, F.process)
    users = [create_user(A, F.cc, "tog%d_%s" % (i, uniq())) for i in range(8)]
    shared = create_user(A, F.cc, "shared_" + uniq())
    cu = enroll(A, F.cc, F.process, c, users + [shared])
    cl = attach(A, F.cc, F.process, c, lead)
    rounds = 12
    plans = {}
    for i, u in enumerate(users):
        rng = random.Random(1000 + i)
        plans[u] = [rng.random() < 0.5 for _ in range(rounds)]
    toks = [login(F.sup, F.pw[F.sup]) for _ in range(2)]

    def worker(i, u):
        def fn():
            auth = bearer(toks[i % 2])
            for act in plans[u]:
                assigned = [u, shared] if act else [shared]
                unassigned = [] if act else [u]
                r = put(body(assigned, unassigned, campaign=c, lead=lead), auth=auth)
                assert r.status == 200, "PUT %s -> %d %s" % (u, r.status, short(r.raw))
                check_mapping(r.json, c, lead, cl, assigned, unassigned, cu, "answer for " + u)
        return fn
    parallel([worker(i, u) for i, u in enumerate(users)], "toggling threads")
    want = set(u for u in users if plans[u][-1]) | {shared}
    expect_state(want, c, lead, cu, cl, "after concurrent toggles")


def test_concurrent_disjoint_assignments_all_kept():
    c = create_campaign(A, F.cc, F.process)
    lead = create_lead(A, F.cc, F.process)
    writers = 6
    per = 5
    groups = [[create_user(A, F.cc, "dj%d%d_%s" % (w, k, uniq())) for k in range(per)]
              for w in range(writers)]
    allu = [u for g in groups for u in g]
    cu = enroll(A, F.cc, F.process, c, allu)
    cl = attach(A, F.cc, F.process, c, lead)
    stop = threading.Event()
    seen = []

    def writer(g):
        def fn():
            for u in g:
                r = put(body([u], [], campaign=c, lead=lead))
                assert r.status == 200, "PUT %s -> %d %s" % (u, r.status, short(r.raw))
        return fn

    def reader():
        prev = set()
        n = 0
        while not stop.is_set() and n < 60:
            n += 1
            m = get_mapping(A, c, lead)
            cur = set(m["assignedUserIds"])
            eq(sorted(m["assignedUserIds"] + m["unassignedUserIds"]), sorted(allu),
               "a concurrent GET lists every campaign user once")
            assert prev <= cur, "a concurrent GET lost assignments: %r" % sorted(prev - cur)
            prev = cur
            seen.append(len(cur))

    fns = [writer(g) for g in groups]
    rt_err = []

    def rt():
        try:
            reader()
        except BaseException as e:   # noqa: B902
            rt_err.append("%s: %s" % (type(e).__name__, e))
    rthread = threading.Thread(target=rt, daemon=True)
    rthread.start()
    try:
        parallel(fns, "assigning threads")
    finally:
        stop.set()
        rthread.join(REQ_TIMEOUT * 2)
    assert not rt_err, "reader: %s" % rt_err[0]
    expect_state(set(allu), c, lead, cu, cl, "after concurrent disjoint assignments")
