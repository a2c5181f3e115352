"""
t51 - safe concurrent edits, dry runs and the mapping's history (issue 7).

The single-lead mapping GET answers an ETag (a hash of exactly the object it
sends); If-None-Match gives 304; a PUT with an If-Match that no longer
matches answers 412 CONF-1006 with the current ETag and changes nothing.
?dryRun=true answers what would change and changes nothing.  Every change of
a lead's mapping is in GET .../lead-user/history, newest first: who, when,
which request, what was assigned and unassigned.
"""
import datetime
import json
import threading

from harness import *  # noqa: F401,F403

S = None
F = None
G = None   # a second contact center, for tenancy


def setup_module():
    global S, F, G
    S = use(Server().start())
    F = make_fixture(extra_agents=6)
    G = make_fixture(extra_agents=1)


def state():
    """(assigned, unassigned) user id sets of F's lead."""
    o = get_mapping(F.auth("sup"), F.campaign, F.lead)
    return set(o["assignedUserIds"]), set(o["unassignedUserIds"])


def mapping_get(auth=None, headers=None, f=None):
    f = f or F
    return req("GET", "%s?campaignId=%s&leadId=%s" % (MAPPING, f.campaign, f.lead),
               auth=auth or f.auth("sup"), headers=headers)


def put(assigned=(), unassigned=(), headers=None, query="", auth=None):
    return req("PUT", MAPPING + query, {"leadId": F.lead, "campaignId": F.campaign,
                                        "assignedUserIds": list(assigned),
                                        "unassignedUserIds": list(unassigned)},
               auth=auth or F.auth("sup"), headers=headers)


def history(query="", auth=None, f=None):
    f = f or F
    return req("GET", "%s/lead-user/history?leadId=%s%s" % (f.camp_path, f.lead, query),
               auth=auth or f.auth("sup"))


def etag_of(r):
    tag = r.headers.get("etag")
    assert tag and tag.startswith('"') and tag.endswith('"') and len(tag) > 10, \
        "no strong ETag: %r" % tag
    return tag


# ---- ETag ----------------------------------------------------------------

def test_etag_is_stable_and_follows_every_change():
    r = mapping_get()
    eq(r.status, 200, "GET")
    a = etag_of(r)
    eq(etag_of(mapping_get()), a, "the same state, the same ETag")
    # the /lead-user form describes the same object: the same tag
    r = req("GET", "%s/lead-user?leadId=%s" % (F.camp_path, F.lead), auth=F.auth("sup"))
    eq(etag_of(r), a, "/lead-user ETag")
    expect(put([F.agents[0]]), 200, "assign")
    b = etag_of(mapping_get())
    assert b != a, "ETag did not change with the mapping"
    expect(put([], [F.agents[0]]), 200, "unassign")
    eq(etag_of(mapping_get()), a, "back to the first state, back to its ETag")
    # enrolling a user changes the answer (a new unassigned user): new tag
    uid = create_user(F.auth("admin"), F.cc, "et_" + uniq(), "Agent")
    enroll(F.auth("admin"), F.cc, F.process, F.campaign, [uid])
    assert etag_of(mapping_get()) != a, "a new campaign user left the ETag alone"


def test_if_none_match_answers_304_without_a_body():
    tag = etag_of(mapping_get())
    r = mapping_get(headers={"If-None-Match": tag})
    eq(r.status, 304, "If-None-Match with the current tag")
    eq(r.raw, b"", "304 body")
    eq(r.headers.get("etag"), tag, "304 repeats the ETag")
    for other in ('"nope"', 'W/' + tag, '"x", ' + tag, "*"):
        r = mapping_get(headers={"If-None-Match": other})
        eq(r.status, 304 if other != '"nope"' else 200, "If-None-Match: %s" % other)
    expect(put([F.agents[1]]), 200, "assign")
    eq(mapping_get(headers={"If-None-Match": tag}).status, 200, "stale If-None-Match")
    expect(put([], [F.agents[1]]), 200, "unassign")


# ---- If-Match ------------------------------------------------------------

def test_if_match_stale_is_412_with_the_current_etag_and_changes_nothing():
    old = etag_of(mapping_get())
    expect(put([F.agents[2]]), 200, "someone else's PUT")
    current = etag_of(mapping_get())
    before = state()
    h_before = history().headers.get("x-total-count")
    r = put([F.agents[3]], [F.agents[2]], headers={"If-Match": old})
    assert_error(r, 412, "CONF-1006", "PUT with a stale If-Match")
    eq(r.headers.get("etag"), current, "412 carries the current ETag")
    eq(state(), before, "state after the 412")
    eq(history().headers.get("x-total-count"), h_before, "history after the 412")
    # retried with the tag the 412 gave, it goes through and answers the new tag
    r = put([F.agents[3]], [F.agents[2]], headers={"If-Match": current})
    expect(r, 200, "PUT with the current If-Match")
    eq(r.headers.get("etag"), etag_of(mapping_get()), "the PUT's ETag is the new state's")
    expect(put([], [F.agents[3]]), 200, "clean up")


def test_if_match_forms():
    tag = etag_of(mapping_get())
    expect(put([], [F.agents[4]], headers={"If-Match": "*"}), 200, "If-Match: *")
    expect(put([], [F.agents[4]], headers={"If-Match": '"a", %s' % tag}), 200, "a list")
    assert_error(put([], [F.agents[4]], headers={"If-Match": "W/" + tag}), 412, "CONF-1006",
                 "a weak tag never matches If-Match")
    assert_error(put([], [F.agents[4]], headers={"If-Match": tag[:-2] + '"'}), 412,
                 "CONF-1006", "a prefix of the tag")
    # without If-Match, no ETag on the PUT (the vendor's clients do not send it)
    r = put([], [F.agents[4]])
    expect(r, 200, "plain PUT")
    eq(r.headers.get("etag"), None, "ETag on a PUT without If-Match")
    # a 404 outranks nothing it should not: a stale tag on a missing lead is 404
    r = req("PUT", MAPPING, {"leadId": 999999, "campaignId": F.campaign, "assignedUserIds": [],
                             "unassignedUserIds": []}, auth=F.auth("sup"),
            headers={"If-Match": '"stale"'})
    assert_error(r, 404, "CONF-1001", "stale tag, missing lead")


def test_concurrent_editors_one_wins_the_other_gets_412():
    expect(put([], F.agents), 200, "start with every agent unassigned")
    tag = etag_of(mapping_get())
    results = []
    barrier = threading.Barrier(6)

    def editor(i):
        barrier.wait()
        r = put([F.agents[i % len(F.agents)]], [], headers={"If-Match": tag})
        results.append(r.status)
    ts = [threading.Thread(target=editor, args=(i,)) for i in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    # each editor assigns a different user, so after the first one no other
    # still matches the tag they all read
    eq(sorted(results).count(200), 1, "exactly one editor wins: %r" % results)
    eq(sorted(results).count(412), 5, "the others get 412: %r" % results)
    a, _ = state()
    eq(len(a & set(F.agents)), 1, "exactly one agent assigned: %r" % a)
    expect(put([], F.agents), 200, "clean up")


# ---- dry run -------------------------------------------------------------

def test_dry_run_answers_what_would_change_and_changes_nothing():
    expect(put([F.agents[0]], F.agents[1:]), 200, "set up: agent 0 assigned, no other")
    before = state()
    tag = etag_of(mapping_get())
    total = history().headers.get("x-total-count")
    r = put([F.agents[0], F.agents[1]], [F.agents[2], F.agents[5]], query="?dryRun=true")
    b = expect(r, 200, "dry run")
    eq(b["dryRun"], True, "dryRun flag")
    # agent 0 is already assigned, agents 2 and 5 already unassigned
    eq(b["changes"], {"assignedUserIds": [F.agents[1]], "unassignedUserIds": []}, "changes")
    for k in ("campaignLeadId", "leadId", "campaignId", "assignedUserIds", "unassignedUserIds",
              "assignedCampaignUserIds", "unassignedCampaignUserIds"):
        assert k in b, "dry-run answer lacks %s" % k
    eq(state(), before, "state after the dry run")
    eq(etag_of(mapping_get()), tag, "ETag after the dry run")
    eq(history().headers.get("x-total-count"), total, "no history for a dry run")
    # the other way round: agent 0 (mapped) would be unassigned, agent 2 assigned
    b = expect(put([F.agents[2]], [F.agents[0], F.agents[3]], query="?dryRun=true"), 200,
               "dry run the other way")
    eq(b["changes"], {"assignedUserIds": [F.agents[2]], "unassignedUserIds": [F.agents[0]]},
       "changes the other way")
    eq(state(), before, "state after the second dry run")
    b = expect(put([], [F.agents[0]], query="?dryRun=false"), 200, "dryRun=false")
    assert "dryRun" not in b and "changes" not in b, "a real PUT keeps the vendor's shape: %r" % b
    eq(state()[0] & {F.agents[0]}, set(), "dryRun=false really unassigned")


def test_dry_run_errors_are_the_real_errors():
    assert_error(put([F.agents[0]], query="?dryRun=yes"), 400, "CONF-1002", "dryRun=yes")
    r = put(["nobody_" + uniq()], query="?dryRun=true")
    assert_error(r, 404, "CONF-1001", "dry run with an unknown user")
    assert_error(put([F.agents[0]], query="?dryRun=true", auth=F.auth("agent")), 403,
                 "AUTH-1003", "an agent's dry run")
    tag = etag_of(mapping_get())
    expect(put([F.agents[5]]), 200, "change behind the tag")
    assert_error(put([F.agents[4]], query="?dryRun=true", headers={"If-Match": tag}), 412,
                 "CONF-1006", "dry run with a stale If-Match")
    expect(put([], [F.agents[5]]), 200, "clean up")


# ---- history -------------------------------------------------------------

def test_history_records_who_when_which_request_and_what_changed():
    t0 = utcnow() - datetime.timedelta(seconds=2)
    r1 = put([F.agents[0], F.agents[1]], [], auth=F.auth("admin"))
    expect(r1, 200, "PUT 1")
    r2 = put([F.agents[0]], [F.agents[1], F.agents[2]], auth=F.auth("sup"))
    expect(r2, 200, "PUT 2")
    t1 = utcnow() + datetime.timedelta(seconds=2)
    h = expect(history("&limit=2"), 200, "history")
    eq(len(h), 2, "two newest entries")
    new, old = h
    assert new["historyId"] > old["historyId"], "not newest first: %r" % h
    eq(new["requestId"], r2.headers["x-request-id"], "newest entry's request id")
    eq(old["requestId"], r1.headers["x-request-id"], "older entry's request id")
    eq(new["changedBy"], F.sup, "who made the newest change")
    eq(old["changedBy"], F.admin, "who made the older change")
    # only what really changed: agent 0 was already assigned, agent 2 not assigned
    eq(new["assignedUserIds"], [], "PUT 2 assigned nothing new")
    eq(new["unassignedUserIds"], [F.agents[1]], "PUT 2 unassigned agent 1 only")
    eq(set(old["assignedUserIds"]) <= {F.agents[0], F.agents[1]}, True, "PUT 1 assigned")
    for e in h:
        eq(set(e), {"historyId", "campaignId", "leadId", "campaignLeadId", "changedAt",
                    "changedBy", "requestId", "assignedUserIds", "unassignedUserIds"}, "keys")
        eq((e["campaignId"], e["leadId"], e["campaignLeadId"]),
           (F.campaign, F.lead, F.campaign_lead), "ids")
        at = parse_rfc3339(e["changedAt"])
        assert t0 <= at <= t1, "changedAt %s outside [%s, %s]" % (e["changedAt"], t0, t1)
    expect(put([], [F.agents[0]]), 200, "clean up")


def test_a_put_that_changes_nothing_leaves_no_entry():
    expect(put([], F.agents), 200, "all unassigned")
    total = int(history().headers["x-total-count"])
    expect(put([], F.agents), 200, "again: no change")
    eq(int(history().headers["x-total-count"]), total, "entries after a no-op PUT")


def test_history_pages_newest_first_with_total():
    for i in range(5):
        expect(put([F.agents[i % 2]], [F.agents[(i + 1) % 2]]), 200, "toggle %d" % i)
    r = history("&limit=1000")
    all_ = expect(r, 200, "history")
    total = int(r.headers["x-total-count"])
    eq(len(all_), total, "one page holds every entry")
    ids = [e["historyId"] for e in all_]
    eq(ids, sorted(ids, reverse=True), "newest first")
    page = expect(history("&limit=2&offset=1"), 200, "page")
    eq([e["historyId"] for e in page], ids[1:3], "limit=2 offset=1")
    eq(expect(history("&offset=%d" % total), 200, "past the end"), [], "past the end")
    expect(put([], F.agents[:2]), 200, "clean up")


def test_history_errors_and_tenancy():
    assert_error(req("GET", F.camp_path + "/lead-user/history", auth=F.auth("sup")), 400,
                 "CONF-1002", "no leadId")
    assert_error(history("&limit=0"), 400, "CONF-1002", "limit=0")
    b = assert_error(req("GET", "%s/lead-user/history?leadId=987654" % F.camp_path,
                         auth=F.auth("sup")), 404, "CONF-1001", "unknown lead")
    eq(details(b), [{"object": "lead", "id": "987654"}], "details")
    # the agent may read; another contact center's administrator may not
    expect(history(auth=F.auth("agent")), 200, "an agent reads the history")
    assert_error(history(auth=G.auth("admin")), 404, "CONF-1001", "another tenant")
    assert_error(req("GET", "%s/lead-user/history?leadId=%s" % (F.camp_path, F.lead)), 401,
                 "AUTH-1001", "no credentials")
    # G's lead is not in F's process
    assert_error(req("GET", "%s/lead-user/history?leadId=%s" % (F.camp_path, G.lead),
                     auth=F.auth("sup")), 404, "CONF-1001", "a lead of another process")


# ---- mappings taken away by deletes ----------------------------------------

def newest(lead, f=None):
    f = f or F
    r = req("GET", "%s/lead-user/history?leadId=%s&limit=1" % (f.camp_path, lead),
            auth=f.auth("sup"))
    h = expect(r, 200, "history of lead %s" % lead)
    return h[0] if h else None


def test_deletes_that_remove_mappings_are_in_the_history():
    adm = F.auth("admin")
    lead2 = create_lead(adm, F.cc, F.process, "hist-" + uniq())
    attach(adm, F.cc, F.process, F.campaign, lead2)
    x, y = ("hx_" + uniq(), "hy_" + uniq())
    for u in (x, y):
        create_user(adm, F.cc, u, "Agent")
    enroll(adm, F.cc, F.process, F.campaign, [x, y])
    r = req("PUT", MAPPING, {"leadId": lead2, "campaignId": F.campaign,
                             "assignedUserIds": [y, x], "unassignedUserIds": []}, auth=adm)
    expect(r, 200, "assign x and y on lead 2")
    expect(put([x]), 200, "and x on the fixture's lead")

    # a campaign user removed: one entry on each lead it was mapped to
    r = req("DELETE", "%s/campaign-user/%s" % (F.camp_path, x), auth=F.auth("sup"))
    eq(r.status in (200, 204), True, "campaign user delete: %d" % r.status)
    for lead in (lead2, F.lead):
        e = newest(lead)
        eq((e["assignedUserIds"], e["unassignedUserIds"]), ([], [x]), "lead %s" % lead)
        eq(e["requestId"], r.headers["x-request-id"], "the delete's request id")
        eq(e["changedBy"], F.sup, "who deleted")

    # a lead detached: one entry with every user it had, sorted
    expect(req("PUT", MAPPING, {"leadId": lead2, "campaignId": F.campaign,
                                "assignedUserIds": [F.agents[5]], "unassignedUserIds": []},
               auth=adm), 200, "one more on lead 2")
    r = req("DELETE", "%s/campaign-lead/%s" % (F.camp_path, lead2), auth=adm)
    eq(r.status in (200, 204), True, "detach: %d" % r.status)
    e = newest(lead2)
    eq(e["unassignedUserIds"], sorted([y, F.agents[5]]), "detached lead's users")
    eq(e["requestId"], r.headers["x-request-id"], "the detach's request id")

    # a user deleted: its mappings go with it
    expect(put([y]), 200, "y on the fixture's lead")
    r = req("DELETE", "%s/user/%s" % (F.cc_path, y), auth=adm)
    eq(r.status in (200, 204), True, "user delete: %d" % r.status)
    e = newest(F.lead)
    eq((e["unassignedUserIds"], e["changedBy"]), ([y], F.admin), "deleted user's entry")

    # deletes that take no mapping leave no entry
    total = int(history().headers["x-total-count"])
    z = "hz_" + uniq()
    create_user(adm, F.cc, z, "Agent")
    enroll(adm, F.cc, F.process, F.campaign, [z])
    r = req("DELETE", "%s/campaign-user/%s" % (F.camp_path, z), auth=adm)
    eq(r.status in (200, 204), True, "unmapped campaign user delete")
    eq(int(history().headers["x-total-count"]), total, "no entry for a user never mapped")


def test_a_deleted_campaign_leaves_its_history_in_the_store():
    adm = F.auth("admin")
    c2 = create_campaign(adm, F.cc, F.process, "gone-" + uniq())
    l2 = create_lead(adm, F.cc, F.process, "gone-" + uniq())
    attach(adm, F.cc, F.process, c2, l2)
    enroll(adm, F.cc, F.process, c2, F.agents[:3])
    expect(req("PUT", MAPPING, {"leadId": l2, "campaignId": c2,
                                "assignedUserIds": F.agents[:3], "unassignedUserIds": []},
               auth=adm), 200, "assign on the doomed campaign")
    r = req("DELETE", camp_path(F.cc, F.process, c2), auth=adm)
    eq(r.status in (200, 204), True, "campaign delete: %d" % r.status)
    rows = store_sql(S.store_url(), "SELECT assigned, unassigned, request_id FROM mapping_history"
                     " WHERE campaign_id = %d ORDER BY id" % c2)
    eq(len(rows), 2, "the PUT's entry and the delete's: %r" % rows)
    eq(json.loads(rows[1][1]), sorted(F.agents[:3]), "the delete took every user")
    eq(rows[1][2], r.headers["x-request-id"], "the delete's request id")
