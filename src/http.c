/*
 * http.c - the HTTP edge of cmsd, on libmicrohttpd in thread-pool mode.
 *
 * For each request: give it an id, collect the body up to the limit (a body
 * announced as too large is refused before it is read), then route ->
 * authenticate -> negotiate -> tenant -> role -> handler, the handler inside
 * one store transaction that is rerun when the store asks.  Whatever happens,
 * send() writes exactly one answer: the handler's JSON or the error envelope
 * of errors.c.  Each worker thread holds its own store connection.
 */
#include "http.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "auth.h"
#include "config.h"
#include "json.h"
#include "deadline.h"
#include "log.h"
#include "metrics.h"
#include "router.h"
#include "tls.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_ATTEMPTS 5

static struct MHD_Daemon *daemon_;
static const struct config *conf;
static char *tls_cert_pem, *tls_key_pem;
static atomic_int in_flight;
static atomic_int draining; /* http_stop() has begun: take no new connection */
static unsigned bound_port;

/* Every store connection opened by a worker, closed at stop. */
static pthread_mutex_t stores_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store **stores;
static size_t nstores;
static _Thread_local struct store *thread_store;

struct store *http_thread_store(void)
{
	char err[256];

	if (thread_store)
		return thread_store;
	if (store_open(conf->db, &thread_store, err, sizeof(err))) {
		log_msgf("error", "cannot open store: %s", err);
		thread_store = NULL;
		return NULL;
	}
	pthread_mutex_lock(&stores_lock);
	stores = xrealloc(stores, sizeof(*stores) * (nstores + 1));
	stores[nstores++] = thread_store;
	pthread_mutex_unlock(&stores_lock);
	return thread_store;
}

/* ---- content negotiation (pure, unit-tested) ---- */

/* Trim spaces and tabs around [*s, *e). */
static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

static bool token_is(const char *s, const char *e, const char *word)
{
	return (size_t)(e - s) == strlen(word) && !strncasecmp(s, word, (size_t)(e - s));
}

/* Value of parameter `name` in the ";"-list [s, e), unquoted, or false. */
static bool param(const char *s, const char *e, const char *name,
		  const char **vs, const char **ve)
{
	while (s < e) {
		const char *ps = s, *pe = memchr(s, ';', (size_t)(e - s)), *eq;

		pe = pe ? pe : e;
		s = pe < e ? pe + 1 : e;
		eq = memchr(ps, '=', (size_t)(pe - ps));
		if (!eq)
			continue;
		{
			const char *ns = ps, *ne = eq;

			trim(&ns, &ne);
			if (!token_is(ns, ne, name))
				continue;
		}
		*vs = eq + 1;
		*ve = pe;
		trim(vs, ve);
		if (*ve - *vs >= 2 && **vs == '"' && (*ve)[-1] == '"') {
			(*vs)++;
			(*ve)--;
		}
		return true;
	}
	return false;
}

bool http_accepts_json(const char *accept)
{
	const char *s = accept;
	bool any = false, refused = false;

	if (!accept || !*accept)
		return true;
	while (*s) {
		const char *e = s + strcspn(s, ","), *te = s + strcspn(s, ",;");
		const char *ts = s, *vs, *ve;
		bool zero = false;

		trim(&ts, &te);
		if (param(te, e, "q", &vs, &ve)) {
			char q[8] = "";
			size_t n = (size_t)(ve - vs) < sizeof(q) - 1 ? (size_t)(ve - vs) : sizeof(q) - 1;

			memcpy(q, vs, n);
			q[n] = '\0';
			zero = strtod(q, NULL) <= 0.0;
		}
		/* An explicit "application/json;q=0" refuses JSON whatever else. */
		if (token_is(ts, te, "application/json"))
			refused |= zero;
		if (!zero && (token_is(ts, te, "application/json") ||
			      token_is(ts, te, "application/*") || token_is(ts, te, "*/*")))
			any = true;
		s = *e ? e + 1 : e;
	}
	return any && !refused;
}

bool http_is_json(const char *ctype)
{
	const char *ts = ctype, *te, *e, *vs, *ve;

	if (!ctype)
		return false;
	te = ctype + strcspn(ctype, ";");
	e = ctype + strlen(ctype);
	trim(&ts, &te);
	if (!token_is(ts, te, "application/json"))
		return false;
	if (param(te, e, "charset", &vs, &ve))
		return token_is(vs, ve, "utf-8") || token_is(vs, ve, "utf8");
	return true;
}

/* ---- helpers for handlers ---- */

const char *http_query(struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_header(struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* Integer query parameter within [lo, hi]; absent leaves *out alone. */
static int query_num(struct request *r, const char *name, int64_t lo, int64_t hi,
		     int64_t *out)
{
	const char *v = http_query(r, name);
	char reason[64];
	int64_t n;

	if (!v)
		return 0;
	if (!strcmp(v, "0") && lo == 0) {
		*out = 0;
		return 0;
	}
	if (parse_id(v, &n) || n < lo || n > hi) {
		snprintf(reason, sizeof(reason), "must be an integer from %" PRId64 " to %" PRId64, lo, hi);
		return error_invalid(&r->err, name, reason);
	}
	*out = n;
	return 0;
}

int http_query_id(struct request *r, const char *name, int64_t *out)
{
	*out = 0;
	return query_num(r, name, 1, INT64_MAX, out);
}

int http_query_bool(struct request *r, const char *name, bool *out)
{
	const char *v = http_query(r, name);

	*out = false;
	if (!v || !strcmp(v, "false"))
		return 0;
	if (!strcmp(v, "true")) {
		*out = true;
		return 0;
	}
	return error_invalid(&r->err, name, "must be true or false");
}

int http_page(struct request *r, struct page *pg)
{
	pg->limit = 100;
	pg->offset = 0;
	query_num(r, "limit", 1, 1000, &pg->limit);
	query_num(r, "offset", 0, INT64_MAX / 2, &pg->offset);
	return r->err.code ? -1 : 0;
}

int http_body(struct request *r, json_t **out)
{
	return json_body_object(r->body, r->body_len, out, &r->err);
}

int http_store_error(struct request *r, int rc, const char *object, int64_t id)
{
	metrics_store_error(rc);
	if (rc == STORE_RETRY) {
		r->retry = true;
		return error_set(&r->err, ERR_UNAVAILABLE);
	}
	return error_from_store(&r->err, rc, object, id);
}

int http_reply(struct request *r, unsigned status, json_t *body)
{
	json_decref(r->out);
	r->status = status;
	r->out = body;
	return 0;
}

int http_reply_text(struct request *r, unsigned status, const char *type, char *text)
{
	return http_reply_bytes(r, status, type, text, text ? strlen(text) : 0);
}

int http_reply_bytes(struct request *r, unsigned status, const char *type, char *data,
		     size_t len)
{
	free(r->text);
	r->status = status;
	r->text = data;
	r->text_len = len;
	r->text_type = type;
	return 0;
}

/* ---- the request's life ---- */

/* Length of the printable UTF-8 character at s, or 0 (controls, DEL and
 * anything json.c's utf8_char refuses).  It never reaches past a byte that
 * is no continuation byte, so a cut path's trailing '/' or NUL stops it. */
static size_t printable_char(const unsigned char *s)
{
	return s[0] < 0x20 || s[0] == 0x7f ? 0 : utf8_char(s);
}

/*
 * A copy of the (already percent-decoded) path without trailing '/', in
 * which every byte that is not printable UTF-8 is percent-encoded again: the
 * path goes into logs and error details, which must stay valid JSON text.
 */
static char *clean_path(const char *url)
{
	const unsigned char *u = (const unsigned char *)url;
	size_t n = strlen(url), i = 0, o = 0, k;
	char *out;

	while (n > 1 && url[n - 1] == '/')
		n--;
	out = xmalloc(n * 3 + 1);
	while (i < n) {
		k = printable_char(u + i);
		if (k) {
			memcpy(out + o, u + i, k);
			o += k;
			i += k;
		} else {
			snprintf(out + o, 4, "%%%02X", u[i++]);
			o += 3;
		}
	}
	out[o] = '\0';
	return out;
}

static struct request *request_new(struct MHD_Connection *conn, const char *url,
				   const char *method)
{
	struct request *r = xcalloc(1, sizeof(*r));
	unsigned char raw[8];

	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	r->conn = conn;
	r->method = method;
	r->path = clean_path(url);
	if (!ci || !ci->client_addr ||
	    getnameinfo(ci->client_addr, ci->client_addr->sa_family == AF_INET6 ?
			sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
			r->addr, sizeof(r->addr), NULL, 0, NI_NUMERICHOST))
		snprintf(r->addr, sizeof(r->addr), "unknown");
	r->total = -1;
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(r->id, sizeof(r->id), raw, sizeof(raw));
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	atomic_fetch_add(&in_flight, 1);
	metrics_in_flight(1);
	return r;
}

static void request_free(struct request *r)
{
	error_clear(&r->err);
	json_decref(r->out);
	free(r->text);
	if (r->body)
		sodium_memzero(r->body, r->body_len); /* may hold a password */
	free(r->body);
	free(r->path);
	sodium_memzero(r->pw_hash, sizeof(r->pw_hash));
	sodium_memzero(&r->who, sizeof(r->who));
	free(r);
}

/*
 * Hash the body's "password" into r->pw_hash before any transaction, so that
 * argon2id never runs while the store's write lock is held.  The handler
 * still validates the field and reports what is wrong with it.
 */
static void prehash(struct request *r)
{
	json_t *body = json_loadb(r->body ? r->body : "", r->body_len, 0, NULL);
	json_t *pw = json_object_get(body, "password");
	size_t n = json_string_length(pw);

	if (json_is_string(pw) && n >= 8 && n <= 1024 && strlen(json_string_value(pw)) == n &&
	    auth_hash_password(json_string_value(pw), r->pw_hash))
		r->pw_hash[0] = '\0';
	json_decref(body);
}

/*
 * Fault injection, for tests only (--faults): the store result that the
 * X-Cmsd-Fault header asks the commit to fail with, or STORE_OK.  The
 * handler has done its writes by then, so a test sees them rolled back.
 */
static int injected_fault(struct request *r)
{
	static const struct {
		const char *name;
		int rc;
	} faults[] = {
		{ "store-error", STORE_ERROR },
		{ "store-unavailable", STORE_UNAVAILABLE },
		{ "store-busy", STORE_RETRY },
	};
	const char *h;
	size_t i;

	if (!conf->faults)
		return STORE_OK;
	h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Cmsd-Fault");
	for (i = 0; h && i < sizeof(faults) / sizeof(faults[0]); i++)
		if (!strcmp(h, faults[i].name))
			return faults[i].rc;
	return STORE_OK;
}

/* Run the route's handler in one transaction, again while the store asks. */
static void run_handler(struct request *r)
{
	bool write = strcmp(r->method, "GET") != 0;
	int attempt, rc;

	if (r->route->flags & RF_PASSWORD)
		prehash(r);
	if (r->route->flags & RF_NO_TXN) {
		r->route->handler(r);
		return;
	}
	store_set_actor(r->store, r->who.user_id, r->id);
	for (attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
		r->retry = false;
		r->dry_run = false;
		r->etag[0] = '\0';
		r->total = -1;
		error_clear(&r->err);
		http_reply(r, 0, NULL);
		http_reply_text(r, 0, NULL, NULL);
		rc = store_begin(r->store, write);
		if (rc) {
			http_store_error(r, rc, "store", 0);
		} else if (r->route->handler(r) || r->dry_run) {
			store_rollback(r->store);
		} else if ((rc = injected_fault(r)) || (rc = store_commit(r->store))) {
			store_rollback(r->store);
			http_store_error(r, rc, "store", 0);
		}
		if (!r->retry)
			return;
		metrics_store_rerun();
		usleep((useconds_t)(1000 * attempt * (1 + randombytes_uniform(4))));
	}
}

/*
 * Everything decided from the request line and headers alone, run before a
 * byte of the body is accepted: route, credentials, negotiation, tenant and
 * role.  Sets r->err on refusal.
 */
static void admit(struct request *r)
{
	const char *ctype;

	r->route = router_match(r);
	if (!r->route)
		return;
	r->store = (r->route->flags & RF_NO_STORE) ? NULL : http_thread_store();
	if (!r->store && !(r->route->flags & RF_NO_STORE)) {
		error_set(&r->err, ERR_UNAVAILABLE);
		return;
	}
	if (r->route->role != ROLE_NONE && auth_authenticate(r))
		return;
	if (!(r->route->flags & RF_TEXT) &&
	    !http_accepts_json(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
							   MHD_HTTP_HEADER_ACCEPT))) {
		error_set(&r->err, ERR_NOT_ACCEPTABLE);
		return;
	}
	ctype = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if ((!strcmp(r->method, "POST") || !strcmp(r->method, "PUT")) && !http_is_json(ctype)) {
		error_set(&r->err, ERR_MEDIA);
		return;
	}
	if (r->bad_object[0]) {
		error_missing(&r->err, r->bad_object, r->bad_id);
		return;
	}
	/* Another tenant's contact center is, to this caller, a missing one. */
	if ((r->route->flags & RF_CC) && r->who.role != ROLE_SYSTEM && r->ids[0] != r->who.cc) {
		error_missing_id(&r->err, "contactCenter", r->ids[0]);
		return;
	}
	if (r->who.role < r->route->role)
		error_set(&r->err, ERR_FORBIDDEN);
}

static struct watch *watch_of(struct MHD_Connection *conn);

static enum MHD_Result send_answer(struct request *r)
{
	struct MHD_Response *res;
	json_t *body = NULL;
	char *text = NULL;
	size_t len = 0;
	unsigned status;
	enum MHD_Result ok;

	deadline_arrived(watch_of(r->conn)); /* answering now: the clock stops */
	if (r->err.code || !r->status) {
		if (!r->err.code)
			r->err.code = ERR_INTERNAL;
		status = error_status(r->err.code);
		body = error_body(&r->err);
	} else {
		status = r->status;
		body = json_incref(r->out);
	}
	r->status = status;
	if (body) {
		text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
		len = text ? strlen(text) : 0;
	} else if (r->text) {
		text = r->text;
		r->text = NULL;
		len = r->text_len;
	}
	res = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!res) {
		free(text);
		json_decref(body);
		return MHD_NO;
	}
	if (body)
		MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	else if (r->text_type && len)
		MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, r->text_type);
	MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
	if (r->etag[0])
		MHD_add_response_header(res, MHD_HTTP_HEADER_ETAG, r->etag);
	/* the console's page: its own scripts only, never in a frame */
	if (!body && r->text_type && !strncmp(r->text_type, "text/html", 9))
		MHD_add_response_header(res, "Content-Security-Policy",
					"default-src 'self'; frame-ancestors 'none'; "
					"base-uri 'none'; form-action 'self'");
	MHD_add_response_header(res, "X-Request-Id", r->id);
	if (r->total >= 0 && !r->err.code) {
		char n[24];

		snprintf(n, sizeof(n), "%" PRId64, r->total);
		MHD_add_response_header(res, "X-Total-Count", n);
	}
	if (r->err.code == ERR_AUTH)
		MHD_add_response_header(res, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"cms\"");
	if (r->err.code == ERR_METHOD)
		MHD_add_response_header(res, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->err.code == ERR_TOO_LARGE || r->close)
		MHD_add_response_header(res, MHD_HTTP_HEADER_CONNECTION, "close");
	/* 503: the store is away or busy; a client should come back soon */
	if (r->err.code == ERR_TOO_MANY || r->err.code == ERR_UNAVAILABLE) {
		char n[16];

		snprintf(n, sizeof(n), "%u", r->retry_after ? r->retry_after : 1);
		MHD_add_response_header(res, MHD_HTTP_HEADER_RETRY_AFTER, n);
	}
	ok = MHD_queue_response(r->conn, status, res);
	MHD_destroy_response(res);
	json_decref(body);
	return ok;
}

static enum MHD_Result count_length(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	(void)kind;
	(void)value;
	if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH))
		(*(int *)cls)++;
	return MHD_YES;
}

/*
 * RFC 9112 6.1, 6.3: Transfer-Encoding with Content-Length, or Content-Length
 * twice, frames one body two ways: the way requests are smuggled past a proxy
 * that reads the other one.  Refused (400, connection closed) before any
 * body is read.
 */
static bool ambiguous_length(struct MHD_Connection *conn)
{
	int lengths = 0;

	MHD_get_connection_values(conn, MHD_HEADER_KIND, count_length, &lengths);
	return lengths > 1 ||
	       (lengths && MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_TRANSFER_ENCODING));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct request *r = *con_cls;

	(void)cls;
	(void)version;
	if (!r) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		char *end;

		r = request_new(conn, url, method);
		*con_cls = r;
		if (ambiguous_length(conn)) {
			r->close = true;
			error_invalid(&r->err, "Content-Length",
				      "the body's length is given twice, or with Transfer-Encoding");
			return send_answer(r);
		}
		if (cl && (errno = 0, strtoull(cl, &end, 10) > conf->body_limit || errno)) {
			/* Refused before a byte of the body is read. */
			r->too_large = true;
			error_set(&r->err, ERR_TOO_LARGE);
			return send_answer(r);
		}
		admit(r);
		/* A refusal is sent at once; the body, if any, is never read. */
		return r->err.code ? send_answer(r) : MHD_YES;
	}
	if (*upload_size) {
		if (!r->too_large && r->body_len + *upload_size > conf->body_limit) {
			/* Chunked and over the limit: drop what we hold, discard the rest. */
			r->too_large = true;
			if (r->body)
				sodium_memzero(r->body, r->body_len);
			free(r->body);
			r->body = NULL;
			r->body_len = 0;
		}
		if (r->too_large) {
			/* libmicrohttpd cannot answer before the body ends; a client
			 * that streams on regardless is cut off. */
			r->dropped += *upload_size;
			if (r->dropped > 4 * conf->body_limit)
				return MHD_NO;
		} else {
			r->body = xrealloc(r->body, r->body_len + *upload_size + 1);
			memcpy(r->body + r->body_len, upload, *upload_size);
			r->body_len += *upload_size;
			r->body[r->body_len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	/* the request has arrived whole: its deadline no longer runs, however
	 * long the handler then waits for the store */
	deadline_arrived(watch_of(conn));
	if (r->too_large)
		error_set(&r->err, ERR_TOO_LARGE);
	else
		run_handler(r);
	return send_answer(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *r = *con_cls;
	struct log_field fields[9];
	struct timespec t1;
	uint64_t us;
	size_t n;

	(void)cls;
	deadline_next(watch_of(conn));
	if (!r)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = (uint64_t)((t1.tv_sec - r->t0.tv_sec) * 1000000L + (t1.tv_nsec - r->t0.tv_nsec) / 1000);
	metrics_request(r->route, r->status, us);
	metrics_in_flight(-1);
	n = 0;
	fields[n++] = (struct log_field){ "request_id", r->id, 0, 0 };
	fields[n++] = (struct log_field){ "method", r->method, 0, 0 };
	fields[n++] = (struct log_field){ "path", r->path, 0, 0 };
	fields[n++] = (struct log_field){ "status", NULL, r->status, 0 };
	fields[n++] = (struct log_field){ "ms", NULL, (double)us / 1e3, 0 };
	if (r->route)
		fields[n++] = (struct log_field){ "route", r->route->name, 0, 0 };
	if (r->who.user_id[0])
		fields[n++] = (struct log_field){ "user", r->who.user_id, 0, 0 };
	if (r->err.code)
		fields[n++] = (struct log_field){ "error", error_code_str(r->err.code), 0, 0 };
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		fields[n++] = (struct log_field){ "aborted", NULL, 0, 1 };
	log_fields("info", "request", fields, n);
	request_free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&in_flight, 1);
}

static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
	(void)cls;
	(void)addr;
	(void)len;
	return atomic_load(&draining) ? MHD_NO : MHD_YES;
}

static int hex_digit(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/*
 * Percent-decoding of paths and query values, as libmicrohttpd's own, except
 * that "%00" stays as it is: a NUL would end the C string and the rest of a
 * path segment or value would silently vanish ("/user/bob%00x" naming bob).
 * Kept as text, it names nothing and is refused like any other bad value.
 */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	char *w = s;
	const char *p = s;
	int hi, lo;

	(void)cls;
	(void)conn;
	while (*p) {
		if (p[0] == '%' && (hi = hex_digit((unsigned char)p[1])) >= 0 &&
		    (lo = hex_digit((unsigned char)p[2])) >= 0 && (hi || lo)) {
			*w++ = (char)(hi * 16 + lo);
			p += 3;
		} else {
			*w++ = *p++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode toe)
{
	const union MHD_ConnectionInfo *ci;

	(void)cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		metrics_connection(1);
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		*socket_ctx = ci ? deadline_open(ci->connect_fd) : NULL;
	} else {
		metrics_connection(-1);
		deadline_close(*socket_ctx);
		*socket_ctx = NULL;
	}
}

/* The deadline watch of r's connection, or NULL. */
static struct watch *watch_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_fields("warn", buf, NULL, 0);
}

int http_start(const struct config *cfg)
{
	struct addrinfo hints, *ai = NULL;
	char host[256], *colon;
	const char *port;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	int rc = -1;

	conf = cfg;
	snprintf(host, sizeof(host), "%s", cfg->listen);
	colon = strrchr(host, ':');
	if (!colon) {
		log_msgf("error", "--listen wants HOST:PORT, got %s", cfg->listen);
		return -1;
	}
	*colon = '\0';
	port = colon + 1;
	if (host[0] == '[' && colon > host + 1 && colon[-1] == ']') {
		colon[-1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(host[0] ? host : NULL, port, &hints, &ai) || !ai) {
		log_msgf("error", "cannot resolve --listen %s", cfg->listen);
		goto out;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (cfg->tls_cert) {
		if (tls_load(cfg->tls_cert, cfg->tls_key, &tls_cert_pem, &tls_key_pem))
			goto out;
		flags |= MHD_USE_TLS;
	}
	metrics_init();
	atomic_store(&draining, 0);
	if (deadline_start(cfg->timeout))
		goto out;
	daemon_ = MHD_start_daemon(
		flags, 0, accept_policy, NULL, on_request, NULL,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, ai->ai_addr,
		MHD_OPTION_THREAD_POOL_SIZE, cfg->threads,
		MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->per_ip_limit,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
		cfg->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, tls_cert_pem,
		MHD_OPTION_HTTPS_MEM_KEY, tls_key_pem,
		MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
		MHD_OPTION_END);
	if (!daemon_) {
		log_msgf("error", "cannot listen on %s", cfg->listen);
		deadline_stop();
		goto out;
	}
	info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
	bound_port = info ? info->port : 0;
	{
		const struct log_field f[] = {
			{ "address", host[0] ? host : "*", 0, 0 },
			{ "port", NULL, bound_port, 0 },
			{ "threads", NULL, cfg->threads, 0 },
			{ "tls", NULL, 0, cfg->tls_cert ? 1 : -1 },
		};

		log_fields("info", "listening", f, sizeof(f) / sizeof(f[0]));
	}
	rc = 0;
out:
	if (ai)
		freeaddrinfo(ai);
	return rc;
}

unsigned http_port(void)
{
	return bound_port;
}

void http_stop(int grace)
{
	int waited = 0;
	size_t i;

	if (!daemon_)
		return;
	/*
	 * Stop taking new connections now: each is closed as soon as it is
	 * accepted (accept_policy).  MHD_quiesce_daemon would be the library's
	 * way, but with a thread pool on epoll it can abort the process ("Failed
	 * to remove listen FD from epoll set") when a worker at its connection
	 * limit has already taken the socket out of its set.
	 */
	atomic_store(&draining, 1);
	while (atomic_load(&in_flight) > 0 && waited < grace * 100) {
		usleep(10000);
		waited++;
	}
	MHD_stop_daemon(daemon_);
	daemon_ = NULL;
	deadline_stop();
	pthread_mutex_lock(&stores_lock);
	for (i = 0; i < nstores; i++)
		store_close(stores[i]);
	free(stores);
	stores = NULL;
	nstores = 0;
	pthread_mutex_unlock(&stores_lock);
	tls_release(&tls_cert_pem, &tls_key_pem);
}
