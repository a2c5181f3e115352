/*
 * fixture.c - the store, the exchange and the answer readers that the
 * pipeline's suites share (fixture.h).  Every fixture lives in its own temp
 * directory, so that no test sees another's rows.
 */
#include "fixture.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "store.h"
#include "unit.h"
#include "xalloc.h"

/* ---- answers ---- */

const char *answer_header(const struct answer *a, const char *name)
{
	const char *v = NULL;
	size_t i, seen = 0;

	for (i = 0; i < a->nheaders; i++)
		if (!strcasecmp(a->headers[i].name, name)) {
			v = a->headers[i].value;
			seen++;
		}
	return seen == 1 ? v : NULL;
}

json_t *answer_json(const struct answer *a)
{
	return a->body && a->len ? json_loadb(a->body, a->len, 0, NULL) : NULL;
}

static const char *str_of(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

bool answer_is_error(const struct answer *a, unsigned status, const char *code)
{
	json_t *b = answer_json(a);
	const char *ctype = answer_header(a, "Content-Type");
	bool ok = b && a->status == status && ctype && !strcmp(ctype, "application/json") &&
		  json_integer_value(json_object_get(b, "statusCode")) == (json_int_t)status &&
		  str_of(b, "status") && str_of(b, "errorMessage") && str_of(b, "errorCode") &&
		  !strcmp(str_of(b, "errorCode"), code);

	if (!ok)
		fprintf(stderr, "  wanted %u %s, got %u %.*s\n", status, code, a->status,
			(int)a->len, a->body ? a->body : "");
	json_decref(b);
	return ok;
}

bool envelope_detail(json_t *body, size_t i, const char *k1, const char *v1, const char *k2,
		     const char *v2)
{
	json_t *d = json_array_get(json_object_get(body, "details"), i);

	return d && json_object_size(d) == 2 && str_of(d, k1) && !strcmp(str_of(d, k1), v1) &&
	       str_of(d, k2) && !strcmp(str_of(d, k2), v2);
}

/* ---- the store ---- */

const char *const fixture_user_id[NWHO] = { "root", "a_admin", "a_sup", "a_agent", "b_admin" };

static struct store *the_store;

/* request_setup()'s way to this thread's store: the fixture's. */
static struct store *fixture_store(void)
{
	return the_store;
}

/* One user of cc with role and the fixture's password, and a token for it. */
static int add_user(struct fixture *f, enum who w, int64_t cc, const char *role,
		    int64_t *pk)
{
	struct user u;
	int rc = auth_new_user(&u, cc, fixture_user_id[w], fixture_user_id[w], role,
			       FIXTURE_PASSWORD);

	if (!rc)
		rc = store_user_create(f->store, &u);
	if (!rc)
		rc = auth_issue_token(f->store, u.pk, cc, (int64_t)time(NULL) + 3600,
				      f->token[w]);
	*pk = u.pk;
	return rc;
}

/* Everything of struct fixture's comment, in one write transaction. */
static int populate(struct fixture *f)
{
	struct cc cc;
	struct process p;
	struct proc_child c;
	struct campaign_lead cl;
	struct campaign_user cu;
	int64_t pk[NWHO];
	int rc;

	if ((rc = store_begin(f->store, true)))
		return rc;
	if (!(rc = store_cc_create(f->store, "A", &cc)))
		f->cc_a = cc.id;
	if (!rc && !(rc = store_cc_create(f->store, "B", &cc)))
		f->cc_b = cc.id;
	if (!rc && !(rc = store_process_create(f->store, f->cc_a, "pa", &p)))
		f->proc_a = p.id;
	if (!rc && !(rc = store_process_create(f->store, f->cc_b, "pb", &p)))
		f->proc_b = p.id;
	if (!rc && !(rc = store_campaign_create(f->store, 0, f->proc_a, "camp", &c)))
		f->campaign = c.id;
	if (!rc && !(rc = store_lead_create(f->store, 0, f->proc_a, "leads", &c)))
		f->lead = c.id;
	if (!rc && !(rc = store_campaign_lead_add(f->store, 0, f->campaign, f->lead, 1, true, &cl)))
		f->campaign_lead = cl.id;
	if (!rc)
		rc = add_user(f, SYS, 0, "System", &pk[SYS]);
	if (!rc)
		rc = add_user(f, A_ADMIN, f->cc_a, "Administrator", &pk[A_ADMIN]);
	if (!rc)
		rc = add_user(f, A_SUP, f->cc_a, "Supervisor", &pk[A_SUP]);
	if (!rc)
		rc = add_user(f, A_AGENT, f->cc_a, "Agent", &pk[A_AGENT]);
	if (!rc)
		rc = add_user(f, B_ADMIN, f->cc_b, "Administrator", &pk[B_ADMIN]);
	if (!rc)
		rc = store_campaign_user_add(f->store, 0, f->campaign, pk[A_SUP], &cu);
	if (!rc)
		rc = store_campaign_user_add(f->store, 0, f->campaign, pk[A_AGENT], &cu);
	if (!rc)
		rc = store_commit(f->store);
	if (rc)
		store_rollback(f->store);
	return rc;
}

int fixture_open(struct fixture *f)
{
	char url[64], err[128] = "";

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/cmsd-unit-XXXXXX");
	if (!mkdtemp(f->dir)) {
		CHECK(!"mkdtemp");
		return -1;
	}
	snprintf(url, sizeof(url), "sqlite:%s/x.db", f->dir);
	if (store_open(url, &f->store, err, sizeof(err)) || store_migrate(f->store) ||
	    populate(f)) {
		fprintf(stderr, "  fixture in %s: %s\n", f->dir, err);
		CHECK(!"fixture_open");
		fixture_close(f);
		return -1;
	}
	the_store = f->store;
	request_setup(fixture_store, false);
	return 0;
}

void fixture_close(struct fixture *f)
{
	static const char *const files[] = { "x.db", "x.db-wal", "x.db-shm", "x.db-journal" };
	char path[64];
	size_t i;

	if (the_store == f->store)
		the_store = NULL;
	store_close(f->store);
	f->store = NULL;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
		unlink(path);
	}
	CHECK(rmdir(f->dir) == 0);
}

void fixture_faults(bool on)
{
	request_setup(fixture_store, on);
}

bool fixture_has_process(struct fixture *f, int64_t cc, int64_t id)
{
	struct process p;
	int rc;

	CHECK(store_begin(f->store, false) == STORE_OK);
	rc = store_process_get(f->store, cc, id, &p);
	store_rollback(f->store);
	CHECK(rc == STORE_OK || rc == STORE_NOT_FOUND);
	return rc == STORE_OK;
}

static int count_row(void *ctx, const void *row)
{
	(void)ctx;
	(void)row;
	return 0;
}

int64_t fixture_processes(struct fixture *f, int64_t cc)
{
	struct page pg = { 1, 0 };
	int64_t total = -1;

	CHECK(store_begin(f->store, false) == STORE_OK);
	CHECK(store_process_list(f->store, cc, &pg, count_row, NULL, &total) == STORE_OK);
	store_rollback(f->store);
	return total;
}

int fixture_user(struct fixture *f, int64_t cc, const char *user_id, struct user *u)
{
	int rc;

	CHECK(store_begin(f->store, false) == STORE_OK);
	rc = store_user_get(f->store, cc, user_id, u);
	store_rollback(f->store);
	return rc;
}

int fixture_token(struct fixture *f, const char *token)
{
	uint8_t hash[CMS_TOKEN_HASH];
	struct token_info t;
	int rc;

	crypto_generichash(hash, sizeof(hash), (const unsigned char *)token, strlen(token),
			   NULL, 0);
	CHECK(store_begin(f->store, false) == STORE_OK);
	rc = store_token_get(f->store, hash, (int64_t)time(NULL), &t);
	store_rollback(f->store);
	return rc;
}

enum auth_result fixture_bearer(struct fixture *f, const char *token, struct principal *who)
{
	struct auth_outcome why = { 0, 0 };
	char header[16 + AUTH_TOKEN_LEN];

	snprintf(header, sizeof(header), "Bearer %s", token);
	return auth_authenticate(f->store, header, "192.0.2.1", NULL, false, who, &why);
}

int64_t fixture_lead(struct fixture *f, int64_t proc, const char *name)
{
	struct proc_child c = { 0, 0, "" };

	CHECK(store_begin(f->store, true) == STORE_OK);
	CHECK(store_lead_create(f->store, 0, proc, name, &c) == STORE_OK);
	CHECK(store_commit(f->store) == STORE_OK);
	return c.id;
}

int64_t fixture_enrolled(struct fixture *f, const char *user_id)
{
	int64_t cu = -1;

	CHECK(store_begin(f->store, false) == STORE_OK);
	CHECK(store_campaign_users_resolve(f->store, 0, f->campaign, &user_id, 1, &cu) == STORE_OK);
	store_rollback(f->store);
	return cu;
}

void fixture_map(struct fixture *f, const char *user_id)
{
	int64_t cu = fixture_enrolled(f, user_id);
	size_t changed = 0;

	CHECK(cu > 0);
	CHECK(store_begin(f->store, true) == STORE_OK);
	CHECK(store_mapping_set(f->store, 0, f->campaign_lead, &cu, 1, true, NULL, &changed) ==
	      STORE_OK);
	CHECK(store_commit(f->store) == STORE_OK);
	CHECK(changed == 1);
}

struct mapped_ctx {
	const char *user_id;
	bool mapped;
};

static int mapped_row(void *ctx, const void *row)
{
	struct mapped_ctx *m = ctx;
	const struct mapping_user *u = row;

	if (!strcmp(u->user_id, m->user_id))
		m->mapped = u->mapped;
	return 0;
}

bool fixture_mapped(struct fixture *f, int64_t cl, const char *user_id)
{
	struct mapped_ctx m = { user_id, false };

	CHECK(store_begin(f->store, false) == STORE_OK);
	CHECK(store_mapping_get(f->store, 0, f->campaign, cl, mapped_row, &m) == STORE_OK);
	store_rollback(f->store);
	return m.mapped;
}

struct newest_ctx {
	char *out;
	size_t n;
};

static int newest_row(void *ctx, const void *row)
{
	struct newest_ctx *c = ctx;
	const struct history_entry *h = row;

	snprintf(c->out, c->n, "%s", h->unassigned ? h->unassigned : "");
	return 0;
}

int64_t fixture_history(struct fixture *f, char *unassigned, size_t n)
{
	struct page pg = { 1, 0 };
	struct newest_ctx c = { unassigned, n };
	int64_t total = -1;

	unassigned[0] = '\0';
	CHECK(store_begin(f->store, false) == STORE_OK);
	CHECK(store_history_list(f->store, 0, f->campaign, f->lead, &pg, newest_row, &c, &total) ==
	      STORE_OK);
	store_rollback(f->store);
	return total;
}

/* ---- one exchange ---- */

/* The fake glue: headers by any case, query arguments exactly. */
static const char *lookup(void *ctx, bool header, const char *name)
{
	const struct exchange *x = ctx;
	const char *const *kv = x->kv[header];
	size_t i;

	for (i = 0; kv[i]; i += 2)
		if (header ? !strcasecmp(kv[i], name) : !strcmp(kv[i], name))
			return kv[i + 1];
	return NULL;
}

static void add_pair(struct exchange *x, bool header, const char *name, const char *value)
{
	size_t *n = &x->n[header];

	CHECK(*n < EX_PAIRS);
	if (*n >= EX_PAIRS)
		return;
	x->kv[header][2 * *n] = name;
	x->kv[header][2 * *n + 1] = value;
	(*n)++;
}

void ex_start(struct exchange *x, const struct fixture *f, enum who who, const char *method,
	      const char *fmt, ...)
{
	va_list ap;

	memset(x, 0, sizeof(*x));
	x->rp = (struct reply)REPLY_INIT;
	va_start(ap, fmt);
	vsnprintf(x->path, sizeof(x->path), fmt, ap);
	va_end(ap);
	x->rq.method = method;
	x->rq.path = x->path;
	x->rq.id = "00112233aabbccdd";
	x->rq.addr = "192.0.2.1";
	x->rq.body = "";
	x->rq.lookup = lookup;
	x->rq.lookup_ctx = x;
	if (who != NOBODY) {
		snprintf(x->auth, sizeof(x->auth), "Bearer %s", f->token[who]);
		ex_header(x, "Authorization", x->auth);
	}
}

void ex_campaign(struct exchange *x, const struct fixture *f, enum who who, const char *method,
		 const char *tail)
{
	ex_start(x, f, who, method, "/cms/configuration/cc/%lld/process/%lld/campaign/%lld%s",
		 (long long)f->cc_a, (long long)f->proc_a, (long long)f->campaign, tail);
}

void ex_header(struct exchange *x, const char *name, const char *value)
{
	add_pair(x, true, name, value);
}

void ex_query(struct exchange *x, const char *name, const char *value)
{
	add_pair(x, false, name, value);
}

void ex_body(struct exchange *x, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	free(x->body);
	x->body = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(x->body, (size_t)n + 1, fmt, ap);
	va_end(ap);
	x->rq.body = x->body;
	x->rq.body_len = (size_t)n;
	ex_header(x, "Content-Type", "application/json");
}

bool ex_admit(struct exchange *x)
{
	x->admitted = true;
	request_admit(&x->rq, &x->rp);
	return !x->rp.err.code;
}

unsigned ex_call(struct exchange *x)
{
	if (!x->admitted)
		ex_admit(x);
	if (!x->rp.err.code)
		request_run(&x->rq, &x->rp);
	reply_finish(&x->rp, x->rq.id, &x->a);
	x->json = answer_json(&x->a);
	return x->a.status;
}

bool ex_error(const struct exchange *x, unsigned status, const char *code)
{
	return answer_is_error(&x->a, status, code);
}

bool ex_missing(const struct exchange *x, size_t i, const char *object, const char *id)
{
	return envelope_detail(x->json, i, "object", object, "id", id);
}

bool ex_invalid(const struct exchange *x, size_t i, const char *field)
{
	json_t *d = json_array_get(json_object_get(x->json, "details"), i);

	return str_of(d, "field") && !strcmp(str_of(d, "field"), field);
}

bool ex_bad_field(const struct exchange *x, const char *field)
{
	return ex_error(x, 400, "CONF-1002") && ex_invalid(x, 0, field);
}

bool ex_missing_id(const struct exchange *x, size_t i, const char *object, int64_t id)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, id);
	return ex_missing(x, i, object, buf);
}

const char *ex_hdr(const struct exchange *x, const char *name)
{
	return answer_header(&x->a, name);
}

int64_t ex_int(const struct exchange *x, const char *key)
{
	json_t *v = json_object_get(x->json, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

const char *ex_str(const struct exchange *x, const char *key)
{
	return str_of(x->json, key);
}

bool ex_is(const struct exchange *x, const char *key, const char *value)
{
	const char *v = str_of(x->json, key);

	if (v && !strcmp(v, value))
		return true;
	fprintf(stderr, "  wanted %s \"%s\", got %s\n", key, value, v ? v : "(none)");
	return false;
}

void ex_end(struct exchange *x)
{
	request_release(&x->rq);
	reply_release(&x->rp);
	free(x->a.body);
	json_decref(x->json);
	free(x->body);
	memset(x, 0, sizeof(*x));
}

int64_t ex_listed(const struct fixture *f, enum who who, const char *fmt, ...)
{
	struct exchange x;
	char path[256];
	va_list ap;
	int64_t n = -1;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	ex_start(&x, f, who, "GET", "%s", path);
	ex_query(&x, "limit", "1000");
	CHECK(ex_call(&x) == 200);
	if (ex_hdr(&x, "X-Total-Count"))
		n = atoll(ex_hdr(&x, "X-Total-Count"));
	CHECK(n == (int64_t)json_array_size(x.json));
	ex_end(&x);
	return n;
}
