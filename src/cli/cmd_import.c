/*
 * cmd_import.c - `cmsctl mapping import FILE.csv`: many rows of
 * campaignId,leadId,userId,action applied with as few PUTs as possible, and
 * every good row applied whatever happens to the others.
 *
 * 1. Read and check every row locally (ids, userId, action); a bad row
 *    fails with its line number and is not sent.  A bad header, or a file
 *    that cannot be read, is a usage error: nothing is sent.
 * 2. Group the good rows by (campaign, lead).  Within a group each user
 *    counts once, with the action of its last row: as if the rows were
 *    applied one after another.
 * 3. One PUT per group (split only when a body would be too large).  The
 *    server applies a PUT all or nothing, and when users are not campaign
 *    users it answers 404 listing every one of them: those users' rows
 *    fail, and the rest is sent again until it succeeds or nothing is left.
 *    A missing campaign or lead fails the group's rows (and a missing
 *    campaign every later group of it, without asking again); a missing
 *    lead is explained by explain.c (not attached, or no such lead).  A
 *    PUT the server cannot take just then (429, 502-504) is tried again,
 *    after Retry-After or a growing wait, and so is one cut off or
 *    unanswered (once): a PUT is idempotent.  An error about the PUT
 *    itself (400, 404, 409...) fails its rows, and the import goes on.
 * 4. A failure that every later PUT would meet alike - no answer, the
 *    credentials refused (401), the role refused (403), a server still busy
 *    after its tries again - stops the import (outcome.c's table says
 *    which): the rows not sent are counted, not failed one by one.
 * 5. Report each failed row as "line L: reason" on stderr, then where and
 *    why the import stopped and what to do (once), then "N rows applied, M
 *    failed[, K not sent]".  Exit 0 when nothing failed; after a stop, the
 *    stop's exit code (3 no answer, 4 credentials refused, 1 otherwise);
 *    else 1.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "csv.h"
#include "explain.h"
#include "output.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define MAPPING "/voice/campaignLeadUserMapping"
#define HEADER "campaignId,leadId,userId,action"
#define PUT_MAX_IDS (CMS_IDS_MAX / 2)      /* user ids in one PUT: well inside an array's limit */
#define PUT_MAX_BYTES (CMS_BODY_LIMIT / 4) /* body bytes of one PUT: well inside the server's */
#define PROGRESS_ROWS 1000     /* progress on stderr every so many rows, on longer files */
#define RETRIES 3              /* more tries of a PUT refused for now (429, 502-504) */
#define RETRIES_NO_ANSWER 1    /* more tries of a PUT cut off or unanswered */
#define RETRY_WAIT_MS 500      /* the first wait before another try; doubled each time */
#define RETRY_WAIT_MAX 30      /* seconds of wait at most, whatever Retry-After says */

struct row {
	long line;        /* in the file, from 1 */
	int64_t campaign;
	int64_t lead;
	char *user;       /* NULL when the row failed locally */
	bool assign;
	char *failure;    /* why the row failed; NULL while it has not */
	bool unsent;      /* the import stopped before the row was applied */
};

struct guser {         /* one user of a group and the rows that name it */
	const char *id;
	bool assign;       /* the action of its last row */
	size_t first, end; /* its rows: order[first..end) */
	bool failed;
};

struct group {
	int64_t campaign;
	int64_t lead;
	struct guser *u;   /* sorted by id */
	size_t nu;
	char *dead;        /* campaign or lead missing: every user fails with this */
};

struct import {
	struct cli *cli;
	struct client *c;
	struct row *rows;  /* in file order */
	size_t nrows;
	size_t *order;     /* the good rows by campaign, lead, user, line */
	size_t ngood;
	int64_t *gone;     /* campaigns known not to exist */
	size_t ngone;
	size_t requests;   /* PUTs tried (or printed) */
	size_t retries;    /* of them, tries again after a transient failure */
	struct {           /* why nothing more is sent (step 4) */
		enum outcome outcome; /* OUTCOME_OK while the import goes on */
		char *reason;  /* the failure, one line */
		char *advice;  /* what to do about it (cli_advice), or NULL */
		long line;     /* the first line of the PUT it stopped at */
		int64_t campaign, lead;
	} stop;
};

static void fail_row(struct row *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail_row(struct row *r, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	if (r->failure)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r->failure = xstrdup(buf);
}

/* ---- 1. reading ---- */

static bool blank_line(const char *s)
{
	return s[strspn(s, " \t\r")] == '\0';
}

/*
 * The fields of a line without the empty ones at its end: spreadsheets
 * write "1,2,x,assign,," when some other row has more columns.
 */
static int used_fields(char **f, int n)
{
	while (n > 4 && !f[n - 1][0])
		n--;
	return n;
}

static void add_row(struct import *im, long lineno, const char *text, size_t len)
{
	struct row *r;
	const char *err = NULL;
	char **f = NULL;
	json_t *probe;
	int n;

	im->rows = xrealloc(im->rows, (im->nrows + 1) * sizeof(*im->rows));
	r = &im->rows[im->nrows++];
	memset(r, 0, sizeof(*r));
	r->line = lineno;
	if (memchr(text, '\0', len)) {
		fail_row(r, "the line holds a NUL byte");
		return;
	}
	n = csv_split(text, len, &f, &err);
	if (n < 0) {
		fail_row(r, "%s", err);
		return;
	}
	if (used_fields(f, n) != 4)
		fail_row(r, "expected 4 fields (" HEADER "), found %d", used_fields(f, n));
	else if (opts_parse_id(f[0], &r->campaign))
		fail_row(r, "campaignId '%.40s' is not a positive integer", f[0]);
	else if (opts_parse_id(f[1], &r->lead))
		fail_row(r, "leadId '%.40s' is not a positive integer", f[1]);
	else if (!f[2][0])
		fail_row(r, "userId is empty");
	else if (strlen(f[2]) > CMS_USERID_MAX)
		fail_row(r, "userId '%.40s...' is longer than %d bytes", f[2], CMS_USERID_MAX);
	else if (!(probe = json_string(f[2])))
		fail_row(r, "userId is not valid UTF-8");
	else {
		json_decref(probe);
		if (!strcasecmp(f[3], "assign") || !strcasecmp(f[3], "unassign")) {
			r->assign = tolower((unsigned char)f[3][0]) == 'a';
			r->user = xstrdup(f[2]);
		} else {
			fail_row(r, "action '%.40s' is neither assign nor unassign", f[3]);
		}
	}
	csv_free(f, n);
}

/* The header (any case), or a usage error that shows what the line holds
 * and, when it can tell, why a spreadsheet wrote it so. */
static int check_header(struct import *im, const char *name, long lineno, const char *text,
			size_t len)
{
	static const char *const want[] = { "campaignId", "leadId", "userId", "action" };
	const unsigned char *u = (const unsigned char *)text;
	struct strbuf shown = STRBUF_INIT;
	const char *err = NULL, *hint = "";
	char **f = NULL;
	int n = csv_split(text, len, &f, &err), i, ok = n > 0 && used_fields(f, n) == 4, rc;

	for (i = 0; ok && i < 4; i++)
		ok = !strcasecmp(f[i], want[i]);
	if (n > 0)
		csv_free(f, n);
	if (ok)
		return EXIT_OK;
	if (len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF)))
		hint = " (the file is UTF-16: save it as CSV UTF-8)";
	else if (!memchr(text, ',', len) && memchr(text, ';', len))
		hint = " (the fields are separated by ';': save the file with ',' between fields)";
	else if (!memchr(text, ',', len) && memchr(text, '\t', len))
		hint = " (the fields are separated by tabs: save the file as CSV)";
	else if (len > 1 && memchr(text, '\r', len - 1))
		hint = " (the lines end in CR alone: save the file with LF or CRLF line ends)";
	output_escape(&shown, text, len > 80 ? 80 : len);
	rc = cli_usage(im->cli, "%s: line %ld: the header must be " HEADER ", not '%s%s'%s", name,
		       lineno, strbuf_str(&shown), len > 80 ? "..." : "", hint);
	strbuf_release(&shown);
	return rc;
}

static int read_file(struct import *im, const char *name)
{
	FILE *f = strcmp(name, "-") ? fopen(name, "r") : stdin;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	bool header = false;
	int rc = EXIT_OK;

	if (!f)
		return cli_usage(im->cli, "cannot read %s: %s", name, strerror(errno));
	while ((len = getline(&line, &cap, f)) != -1) {
		char *p = line;

		lineno++;
		if (len && p[len - 1] == '\n')
			p[--len] = '\0';
		if (lineno == 1 && len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
			p += 3, len -= 3; /* the byte-order mark some spreadsheets write */
		if (blank_line(p))
			continue;
		if (header) {
			add_row(im, lineno, p, (size_t)len);
			continue;
		}
		rc = check_header(im, name, lineno, p, (size_t)len);
		if (rc)
			goto out;
		header = true;
	}
	if (ferror(f))
		rc = cli_usage(im->cli, "cannot read %s: %s", name, strerror(errno));
	else if (!header)
		rc = cli_usage(im->cli, "%s is empty: its first line must be " HEADER, name);
out:
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

/* ---- 2. grouping ---- */

static int by_group(const void *a, const void *b, void *ctx)
{
	const struct row *rows = ctx, *x = &rows[*(const size_t *)a], *y = &rows[*(const size_t *)b];
	int c;

	if (x->campaign != y->campaign)
		return x->campaign < y->campaign ? -1 : 1;
	if (x->lead != y->lead)
		return x->lead < y->lead ? -1 : 1;
	c = strcmp(x->user, y->user);
	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

static void sort_good_rows(struct import *im)
{
	size_t i;

	im->order = xcalloc(im->nrows + 1, sizeof(*im->order));
	for (i = 0; i < im->nrows; i++)
		if (!im->rows[i].failure)
			im->order[im->ngood++] = i;
	qsort_r(im->order, im->ngood, sizeof(*im->order), by_group, im->rows);
}

static struct row *row_at(struct import *im, size_t k)
{
	return &im->rows[im->order[k]];
}

/* The users of order[from..to), one entry per user, its last row deciding. */
static void make_group(struct import *im, size_t from, size_t to, struct group *g)
{
	size_t k;

	memset(g, 0, sizeof(*g));
	g->campaign = row_at(im, from)->campaign;
	g->lead = row_at(im, from)->lead;
	g->u = xcalloc(to - from, sizeof(*g->u));
	for (k = from; k < to; k++) {
		struct row *r = row_at(im, k);

		if (!g->nu || strcmp(g->u[g->nu - 1].id, r->user))
			g->u[g->nu++] = (struct guser){ r->user, r->assign, k, k + 1, false };
		g->u[g->nu - 1].assign = r->assign;
		g->u[g->nu - 1].end = k + 1;
	}
}

static void fail_user(struct import *im, struct guser *u, const char *reason)
{
	size_t k;

	for (k = u->first; k < u->end; k++)
		fail_row(row_at(im, k), "%s", reason);
	u->failed = true;
}

/* ---- 3. sending ---- */

/* Bytes a user id takes in the JSON body. */
static size_t json_bytes(const char *s)
{
	size_t n = 3; /* quotes and comma */

	for (; *s; s++)
		n += *s == '"' || *s == '\\' ? 2 : (unsigned char)*s < 0x20 ? 6 : 1;
	return n;
}

static json_t *put_body(const struct group *g, struct guser *const *u, size_t n)
{
	json_t *as = json_array(), *un = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(u[i]->assign ? as : un, json_string(u[i]->id));
	return json_pack("{s:I, s:I, s:o, s:o}", "leadId", (json_int_t)g->lead, "campaignId",
			 (json_int_t)g->campaign, "assignedUserIds", as, "unassignedUserIds", un);
}

static int by_id(const void *key, const void *elem)
{
	return strcmp(key, (*(struct guser *const *)elem)->id);
}

static void forget_campaign(struct import *im, int64_t campaign)
{
	im->gone = xrealloc(im->gone, (im->ngone + 1) * sizeof(*im->gone));
	im->gone[im->ngone++] = campaign;
}

static bool campaign_gone(const struct import *im, int64_t campaign)
{
	size_t i;

	for (i = 0; i < im->ngone; i++)
		if (im->gone[i] == campaign)
			return true;
	return false;
}

/*
 * A 404 CONF-1001 for group g: a missing campaign or lead kills the group
 * (returns true); each unknown campaign user fails, counted in *matched.
 */
static bool on_missing(struct import *im, struct group *g, const struct response *r,
		       struct guser **u, size_t n, size_t *matched)
{
	char reason[CMS_USERID_MAX + 96];
	json_t *d;
	size_t i;

	*matched = 0;
	json_array_foreach(json_object_get(r->json, "details"), i, d) {
		const char *object = json_string_value(json_object_get(d, "object"));
		const char *id = json_string_value(json_object_get(d, "id"));
		struct guser **hit;

		if (!object)
			continue;
		if (!strcmp(object, "campaign")) {
			snprintf(reason, sizeof(reason), "campaign %lld does not exist",
				 (long long)g->campaign);
			forget_campaign(im, g->campaign);
		} else if (!strcmp(object, "lead")) {
			struct strbuf why = STRBUF_INIT;

			explain_lead(im->cli, g->campaign, g->lead, &why);
			g->dead = strbuf_detach(&why);
			return true;
		} else {
			if (strcmp(object, "campaignUser") || !id)
				continue;
			hit = bsearch(id, u, n, sizeof(*u), by_id);
			if (hit && !(*hit)->failed) {
				snprintf(reason, sizeof(reason),
					 "user '%s' is not a campaign user of campaign %lld", id,
					 (long long)g->campaign);
				fail_user(im, *hit, reason);
				++*matched;
			}
			continue;
		}
		g->dead = xstrdup(reason);
		return true;
	}
	return false;
}

/*
 * Whether a PUT that failed with r, after `tries` tries again, is worth
 * another: then say so on stderr and wait (Retry-After, else 0.5 s, 1 s,
 * 2 s...).
 */
static bool retry_after_wait(const struct response *r, int tries)
{
	long ms;

	if (!outcome_info(r->outcome)->transient ||
	    tries >= (r->status ? RETRIES : RETRIES_NO_ANSWER))
		return false;
	ms = r->retry_after >= 0 ? r->retry_after * 1000 : (long)RETRY_WAIT_MS << tries;
	if (ms > RETRY_WAIT_MAX * 1000L)
		ms = RETRY_WAIT_MAX * 1000L;
	cli_retry_pause("import", r, ms, NULL);
	return true;
}

/* The rows of user u stay unsent: the import stopped before them. */
static void leave_user(struct import *im, struct guser *u)
{
	size_t k;

	for (k = u->first; k < u->end; k++)
		if (!row_at(im, k)->failure)
			row_at(im, k)->unsent = true;
}

/* Stop the import at the PUT of u[0..n) of g, which failed with r. */
static void stop_at(struct import *im, const struct group *g, const struct response *r,
		    struct guser *const *u, size_t n)
{
	struct strbuf advice = STRBUF_INIT;
	size_t i, k;

	im->stop.outcome = r->outcome;
	im->stop.reason = response_reason(r);
	if (cli_advice(im->cli, r, &advice))
		im->stop.advice = strbuf_detach(&advice);
	strbuf_release(&advice);
	im->stop.campaign = g->campaign;
	im->stop.lead = g->lead;
	im->stop.line = row_at(im, u[0]->first)->line;
	for (i = 0; i < n; i++)
		for (k = u[i]->first; k < u[i]->end; k++)
			if (row_at(im, k)->line < im->stop.line)
				im->stop.line = row_at(im, k)->line;
}

/* The users u[0..n) of g, in one PUT, again without those the server names
 * as unknown, and in halves when the server finds the body too large. */
static void send_users(struct import *im, struct group *g, struct guser **u, size_t n)
{
	struct response r = RESPONSE_INIT;
	json_t *body, *not_found = json_string("CONF-1001");
	char *reason = NULL;
	size_t i, k, matched;
	int rc, tries = 0;

	for (;;) {
		for (i = k = 0; i < n; i++) /* keep those still standing */
			if (!u[i]->failed)
				u[k++] = u[i];
		n = k;
		if (!n)
			break;
		if (g->dead) { /* known without asking, even after a stop */
			for (i = 0; i < n; i++)
				fail_user(im, u[i], g->dead);
			break;
		}
		if (im->stop.outcome) {
			for (i = 0; i < n; i++)
				leave_user(im, u[i]);
			break;
		}
		body = put_body(g, u, n);
		rc = client_request(im->c, "PUT", MAPPING, body, &r);
		json_decref(body);
		im->requests++;
		if (!rc)
			break;
		if (retry_after_wait(&r, tries)) {
			tries++;
			im->retries++;
			continue;
		}
		tries = 0;
		if (r.status == 413 && n > 1) {
			send_users(im, g, u, n / 2);
			send_users(im, g, u + n / 2, n - n / 2);
			break;
		}
		if (outcome_info(r.outcome)->stops_bulk) {
			stop_at(im, g, &r, u, n);
			continue; /* leaves them all */
		}
		if (r.status == 404 && json_equal(json_object_get(r.json, "errorCode"), not_found) &&
		    (on_missing(im, g, &r, u, n, &matched) || matched))
			continue;
		reason = response_reason(&r);
		for (i = 0; i < n; i++)
			fail_user(im, u[i], reason);
		break;
	}
	free(reason);
	json_decref(not_found);
	response_release(&r);
}

/* Send one group, in as few PUTs as its size allows. */
static void send_group(struct import *im, struct group *g)
{
	struct guser **u = xcalloc(g->nu + 1, sizeof(*u));
	size_t i, start = 0, bytes = 200;
	char reason[64];

	if (campaign_gone(im, g->campaign)) {
		snprintf(reason, sizeof(reason), "campaign %lld does not exist",
			 (long long)g->campaign);
		g->dead = xstrdup(reason);
	}
	for (i = 0; i < g->nu; i++) {
		size_t b = json_bytes(g->u[i].id);

		u[i] = &g->u[i];
		if (i > start && (i - start >= PUT_MAX_IDS || bytes + b > PUT_MAX_BYTES)) {
			send_users(im, g, u + start, i - start);
			start = i;
			bytes = 200;
		}
		bytes += b;
	}
	send_users(im, g, u + start, g->nu - start);
	free(u);
}

static void send_all(struct import *im)
{
	size_t i, j, next = PROGRESS_ROWS;
	bool progress = im->ngood > PROGRESS_ROWS && !client_printing(im->c);

	for (i = 0; i < im->ngood; i = j) {
		struct group g;

		for (j = i + 1; j < im->ngood && row_at(im, j)->campaign == row_at(im, i)->campaign &&
				row_at(im, j)->lead == row_at(im, i)->lead;
		     j++)
			;
		make_group(im, i, j, &g);
		send_group(im, &g);
		free(g.u);
		free(g.dead);
		if (progress && j >= next && !im->stop.outcome) {
			fprintf(stderr, "cmsctl: import: %zu of %zu rows sent (%zu requests)\n", j,
				im->ngood, im->requests);
			while (next <= j)
				next += PROGRESS_ROWS;
		}
	}
}

/* ---- 4. reporting ---- */

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* Where and why the import stopped, and what to do, on stderr (once). */
static void report_stop(const struct import *im, size_t unsent)
{
	fprintf(stderr, "cmsctl: import stopped at line %ld (campaign %lld, lead %lld): ",
		im->stop.line, (long long)im->stop.campaign, (long long)im->stop.lead);
	output_puts(stderr, im->stop.reason);
	fputc('\n', stderr);
	if (im->stop.advice) {
		fputs("cmsctl: ", stderr);
		output_puts(stderr, im->stop.advice);
		fputc('\n', stderr);
	}
	fprintf(stderr, "cmsctl: %zu %s not sent; %s, run the same import again: it is "
		"idempotent (the rows already applied are applied again without change)\n",
		unsent, plural(unsent, "row was", "rows were"),
		outcome_info(im->stop.outcome)->resume);
}

static json_t *stop_json(const struct import *im)
{
	if (!im->stop.outcome)
		return json_null();
	return json_pack("{s:I, s:I, s:I, s:s, s:s, s:s?}", "line", (json_int_t)im->stop.line,
			 "campaignId", (json_int_t)im->stop.campaign, "leadId",
			 (json_int_t)im->stop.lead, "outcome", outcome_info(im->stop.outcome)->name,
			 "reason", im->stop.reason, "advice", im->stop.advice);
}

static int report(struct import *im)
{
	json_t *failures = json_array(), *out;
	size_t i, failed = 0, unsent = 0;

	for (i = 0; i < im->nrows; i++) {
		const struct row *r = &im->rows[i];

		unsent += r->unsent;
		if (!r->failure)
			continue;
		failed++;
		fprintf(stderr, "line %ld: ", r->line);
		output_puts(stderr, r->failure);
		fputc('\n', stderr);
		json_array_append_new(failures, json_pack("{s:I, s:s}", "line", (json_int_t)r->line,
							  "reason", r->failure));
	}
	if (im->stop.outcome)
		report_stop(im, unsent);
	if (client_printing(im->c))
		fprintf(stderr, "%zu %s printed as %zu %s, %zu failed\n", im->nrows - failed,
			plural(im->nrows - failed, "row", "rows"), im->requests,
			plural(im->requests, "request", "requests"), failed);
	else if (im->stop.outcome)
		fprintf(stderr, "%zu %s applied, %zu failed, %zu not sent\n",
			im->nrows - failed - unsent, plural(im->nrows - failed - unsent, "row", "rows"),
			failed, unsent);
	else
		fprintf(stderr, "%zu %s applied, %zu failed\n", im->nrows - failed,
			plural(im->nrows - failed, "row", "rows"), failed);
	if (im->cli->json) {
		out = json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:O}", "applied",
				(json_int_t)(im->nrows - failed - unsent), "failed",
				(json_int_t)failed, "notSent", (json_int_t)unsent, "requests",
				(json_int_t)im->requests, "retries", (json_int_t)im->retries,
				"stopped", stop_json(im), "failures", failures);
		output_json(stdout, out);
		json_decref(out);
	}
	json_decref(failures);
	if (im->stop.outcome)
		return outcome_info(im->stop.outcome)->exit_code;
	return failed ? EXIT_API : EXIT_OK;
}

int mapping_import(struct cli *cli, const struct call *call)
{
	struct import im;
	size_t i;
	int rc;

	memset(&im, 0, sizeof(im));
	im.cli = cli;
	if (call->nargs != 1) {
		rc = cli_usage(cli, call->nargs ? "import takes one file" : "which file? (FILE.csv)");
		goto out;
	}
	rc = read_file(&im, call->args[0]);
	if (!rc)
		rc = cli_connect(cli, AUTH_REQUIRED, &im.c);
	if (rc)
		goto out;
	sort_good_rows(&im);
	if (im.ngood) {
		rc = cli_session_begin(cli, im.c);
		if (rc) {
			fprintf(stderr, "cmsctl: import: no row was sent\n");
			goto out;
		}
	}
	send_all(&im);
	if (im.stop.outcome != OUTCOME_AUTH) /* a refused token needs no revoking */
		cli_session_end(cli, im.c);
	rc = report(&im);
out:
	for (i = 0; i < im.nrows; i++) {
		free(im.rows[i].user);
		free(im.rows[i].failure);
	}
	free(im.rows);
	free(im.order);
	free(im.gone);
	free(im.stop.reason);
	free(im.stop.advice);
	return rc;
}
