/*
 * changes.c - GET .../campaignLeadUserMapping/changes: the change feed of
 * API.md §8 (docs/feed.md), as a page of events, as a long-poll that waits
 * for the next one, or as a stream of Server-Sent Events.
 *
 * The handler reads through feed.h and says what the glue is to do: answer
 * the page, wait (reply.follow with follow_until, after which the request
 * runs again), or stream (reply.follow alone).  It runs outside any
 * transaction: the feed's reads are single statements.
 */
#include "handlers.h"

#include <string.h>

#include "clock.h"
#include "feed.h"
#include "json.h"
#include "negotiate.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define LIMIT_DEFAULT 100
#define LIMIT_MAX 1000
#define WAIT_MAX 60 /* seconds */

struct changes_in {
	struct feed_filter f;
	int64_t after, limit, wait;
	bool sse;
	const char *after_from; /* "after" or "Last-Event-ID": where it was read */
};

static int parse(const struct request *rq, struct input *in, struct error *err)
{
	struct changes_in *c = xcalloc(1, sizeof(*c));
	const char *accept = req_header(rq, "Accept"), *user = req_query(rq, "userId");
	const char *after = req_query(rq, "after"), *last = req_header(rq, "Last-Event-ID");
	in->data = c;
	c->after_from = "after";
	c->sse = negotiate_names(accept, "text/event-stream");
	if (!c->sse && !negotiate_accepts_json(accept))
		return error_set(err, ERR_NOT_ACCEPTABLE);
	if (c->sse && last && *last) { /* a reconnecting EventSource says where it was */
		after = last;
		c->after_from = "Last-Event-ID";
	}
	if (after && feed_cursor_parse(after, &c->after))
		error_invalid(err, c->after_from,
			      "must be 0 or a cursor (16 lowercase hexadecimal digits)");
	c->limit = LIMIT_DEFAULT;
	req_query_int(rq, "limit", 1, LIMIT_MAX, &c->limit, err);
	req_query_int(rq, "wait", 0, WAIT_MAX, &c->wait, err);
	req_query_id(rq, "campaignId", &c->f.campaign, err);
	req_query_id(rq, "leadId", &c->f.lead, err);
	if (user && (!valid_user_id(user) || strlen(user) > CMS_USERID_MAX))
		error_invalid(err, "userId", "must be a userId");
	else if (user)
		snprintf(c->f.user, sizeof(c->f.user), "%s", user);
	/* the caller's scope: its contact center; an Agent, itself */
	c->f.cc = rq->who.role == ROLE_SYSTEM ? 0 : rq->who.cc;
	if (rq->who.role == ROLE_AGENT)
		snprintf(c->f.self, sizeof(c->f.self), "%s", rq->who.user_id);
	return err->code ? RES_FAIL : RES_OK;
}

/* A failed read of the cursor given in `field` as the answer. */
static int read_failed(struct reply *rp, const char *field, int rc, int store_rc)
{
	if (rc == FEED_GONE) {
		error_invalid(&rp->err, field,
			      "older than the retention window, or not a cursor of this feed: "
			      "take a new snapshot and follow from its X-Change-Cursor");
		return error_set(&rp->err, ERR_GONE);
	}
	return reply_store_error(rp, store_rc, "store", 0);
}

static int changes(const struct request *rq, struct reply *rp)
{
	const struct changes_in *c = rq->in.data;
	struct feed_sub *sub = feed_sub_new(&c->f, c->after);
	struct strbuf text = STRBUF_INIT;
	bool first = rq->wait_until == 0, at_end;
	char cursor[17];
	size_t n;
	int rc, src = 0;

	/* a first look reads what the store committed since memory did, so
	 * that every change acknowledged before the request is in it */
	strbuf_addstr(&text, "{\"events\":[");
	rc = feed_sub_read(sub, rq->store, first, c->sse ? 0 : (size_t)c->limit, false, &text, &n,
			   &at_end, &src);
	if (rc) {
		feed_sub_free(sub);
		strbuf_release(&text);
		return read_failed(rp, c->after_from, rc, src);
	}
	rp->cursor = feed_sub_cursor(sub);
	if (c->sse || (!n && at_end && c->wait && !feed_stopping() &&
		       (first || mono_ms() < rq->wait_until))) {
		rp->follow = sub;
		rp->follow_until = c->sse ? 0 : first ? mono_ms() + 1000 * c->wait : rq->wait_until;
		rp->status = 200;
		strbuf_release(&text);
		return RES_OK;
	}
	feed_sub_free(sub);
	feed_cursor_text(rp->cursor, cursor);
	strbuf_addstr(&text, "],\"cursor\":\"");
	strbuf_addstr(&text, cursor);
	strbuf_addstr(&text, "\"}");
	return reply_text(rp, 200, "application/json", strbuf_detach(&text));
}

const struct endpoint mapping_changes[1] = { { parse, changes, NULL } };
