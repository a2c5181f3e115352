/*
 * http.c - the HTTP edge of cmsd, on libmicrohttpd in thread-pool mode, and
 * nothing else: for each request it gives an id, collects the body up to the
 * limit (a body announced as too large is refused before it is read), hands
 * a struct request to the pipeline (request.c) and copies the answer that
 * reply.c finished onto the wire.  Each worker thread holds its own store
 * connection.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "clock.h"
#include "cms_limits.h"
#include "config.h"
#include "json.h"
#include "deadline.h"
#include "head.h"
#include "linger.h"
#include "listen.h"
#include "feed.h"
#include "hasher.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "reply.h"
#include "request.h"
#include "router.h"
#include "strbuf.h"
#include "throttle.h"
#include "tls.h"
#include "looker.h"
#include "writer.h"
#include "xalloc.h"
#include "banned.h"

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

/* The store connection of the calling worker thread, opened on first use;
 * NULL (logged) when it cannot be opened. */
static struct store *thread_store_get(void)
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

/* ---- the request's life ---- */

/* Length of the printable UTF-8 character at s, or 0 (controls, DEL, C1
 * and anything json.c's utf8_char refuses).  It never reaches past a byte
 * that is no continuation byte, so a cut path's trailing '/' or NUL stops
 * it. */
static size_t printable_char(const unsigned char *s)
{
	return utf8_control(s) ? 0 : utf8_char(s);
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

/* One exchange on a connection: the request the pipeline reads, the reply
 * it fills, and what the glue keeps to build them. */
struct exchange {
	struct request rq;
	struct reply rp;
	struct MHD_Connection *conn;
	char *path;              /* normalised copy: no trailing '/' */
	char *body;              /* NUL-terminated, at most the body limit */
	size_t body_len;
	size_t limit;            /* the body limit, once admitted (request.h) */
	bool too_large;          /* the body went over the limit */
	size_t dropped;          /* bytes of an oversized body thrown away */
	char id[17];             /* request id, hex */
	char addr[PROXY_ADDR_MAX]; /* the client's address, numeric (proxy.h) */
	char peer[PROXY_ADDR_MAX]; /* the socket's, when a trusted proxy's */
	int64_t t0_us; /* mono_us() as it began */
	struct feed_sub *waiting; /* parked: a long-poll waits for the feed */
	bool written;             /* parked: the writer runs it (writer.h) */
	bool looking;             /* admitted up to its look, to be shared */
	bool looked;              /* parked: the looker takes it (looker.h) */
	bool refused;             /* refused on its head, no body: answered once whole */
};

/* The pipeline's way to read a header or a query argument. */
static const char *lookup(void *ctx, bool header, const char *name)
{
	return MHD_lookup_connection_value(ctx, header ? MHD_HEADER_KIND : MHD_GET_ARGUMENT_KIND,
					   name);
}

static enum MHD_Result join_xff(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *value)
{
	struct strbuf *sb = cls;

	(void)kind;
	if (!strcasecmp(key, "X-Forwarded-For") && value) {
		if (sb->len)
			strbuf_addstr(sb, ",");
		strbuf_addstr(sb, value);
	}
	return MHD_YES;
}

/* The request's client address into x->addr: the socket's, or behind a
 * trusted proxy the one its X-Forwarded-For names (proxy.h), the proxy's
 * own then kept in x->peer for the log. */
static void client_address(struct MHD_Connection *conn, const struct sockaddr *sa,
			   struct exchange *x)
{
	struct strbuf xff = STRBUF_INIT;

	if (proxy_trusted(sa)) {
		/* every X-Forwarded-For field, joined in order (RFC 9110 5.3) */
		MHD_get_connection_values(conn, MHD_HEADER_KIND, join_xff, &xff);
		proxy_client(sa, NULL, x->peer, sizeof(x->peer));
	}
	proxy_client(sa, xff.len ? strbuf_str(&xff) : NULL, x->addr, sizeof(x->addr));
	if (!strcmp(x->peer, x->addr))
		x->peer[0] = '\0';
	strbuf_release(&xff);
}

/*
 * A request id: 8 bytes that look random and never repeat within a thread,
 * without a system call per request (randombytes_buf asks the kernel each
 * time): SipHash-2-4 of a per-thread counter under a per-thread key drawn
 * once.  Ids are for finding a request in the logs, not secrets; two
 * threads' ids collide no more often than random ones would.
 */
static void request_id(char out[17])
{
	static _Thread_local unsigned char key[crypto_shorthash_KEYBYTES];
	static _Thread_local uint64_t counter;
	unsigned char raw[crypto_shorthash_BYTES], in[8];

	if (!counter++)
		randombytes_buf(key, sizeof(key));
	memcpy(in, &counter, sizeof(in));
	crypto_shorthash(raw, in, sizeof(in), key);
	sodium_bin2hex(out, 17, raw, sizeof(raw));
}

static struct exchange *exchange_new(struct MHD_Connection *conn, const char *url,
				     const char *method)
{
	struct exchange *x = xcalloc(1, sizeof(*x));
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	x->conn = conn;
	x->path = clean_path(url);
	client_address(conn, ci ? ci->client_addr : NULL, x);
	request_id(x->id);
	x->t0_us = mono_us();
	x->rp = (struct reply)REPLY_INIT;
	x->rq.method = method;
	x->rq.path = x->path;
	x->rq.id = x->id;
	x->rq.addr = x->addr;
	x->rq.body = "";
	x->rq.lookup = lookup;
	x->rq.lookup_ctx = conn;
	atomic_fetch_add(&in_flight, 1);
	metrics_in_flight(1);
	return x;
}

static void exchange_free(struct exchange *x)
{
	feed_sub_free(x->waiting);
	request_release(&x->rq);
	reply_release(&x->rp);
	if (x->body)
		sodium_memzero(x->body, x->body_len); /* may hold a password */
	free(x->body);
	free(x->path);
	free(x);
}

static struct watch *watch_of(struct MHD_Connection *conn);

/* ---- answers made while they are sent: the change feed's streams
 * (Server-Sent Events) and long lists (a reply_source) ---- */

struct stream {
	struct MHD_Connection *conn;
	struct feed_sub *sub;       /* the feed's, or ... */
	struct reply_source *src;   /* ... a list's (then the rest is unused) */
	bool src_done;
	char id[17];                /* the request's id, for the log */
	struct strbuf buf;  /* bytes not yet taken by libmicrohttpd */
	size_t off;
	int64_t next_beat;  /* mono_ms() time of the next heartbeat */
	/* a stream opened with a token ends once the token is revoked or
	 * expires (or its user is deleted): checked at each heartbeat */
	bool via_token;
	uint8_t token_hash[CMS_TOKEN_HASH];
};

/* Whether the stream's token still stands (a store failure: yes, for now). */
static bool stream_token_stands(struct stream *st)
{
	struct token_info info;
	struct store *s;

	if (!st->via_token)
		return true;
	s = thread_store_get();
	return !s || store_token_get(s, st->token_hash, (int64_t)time(NULL), &info) != STORE_NOT_FOUND;
}

static void suspend_conn(void *conn)
{
	MHD_suspend_connection(conn);
}

static void resume_conn(void *conn)
{
	MHD_resume_connection(conn);
}

/*
 * The next piece of a list into st->buf; -1 when the store failed: the
 * status has left, so the failure is logged and the connection ends
 * without the body's last chunk, which every HTTP/1.1 client reports as an
 * incomplete answer (an HTTP/1.0 one sees the connection close early).
 */
static int source_more(struct stream *st)
{
	struct store *s = thread_store_get();
	int rc = s ? st->src->more(st->src, s, &st->buf, &st->src_done) : STORE_UNAVAILABLE;

	if (rc == STORE_OK)
		return 0;
	metrics_store_error(rc);
	{
		const struct log_field f[] = {
			{ "request_id", st->id, 0, 0 },
			{ "error", error_code_str(rc == STORE_UNAVAILABLE || rc == STORE_RETRY ?
						  ERR_UNAVAILABLE : ERR_INTERNAL), 0, 0 },
		};

		log_fields("error", "store failed while a list was sent: connection closed", f,
			   sizeof(f) / sizeof(f[0]));
	}
	return -1;
}

/*
 * libmicrohttpd asks for more of the stream: what is buffered; for a list,
 * its next piece; for the feed, the reader's next events, else a heartbeat when one is due, else the
 * connection is suspended until the feed wakes it (an event for it, the
 * heartbeat's time, or the stop, which ends the stream).
 */
static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct stream *st = cls;
	size_t n;
	bool at_end;
	int src;

	(void)pos;
	for (;;) {
		if (st->off < st->buf.len) {
			n = st->buf.len - st->off < max ? st->buf.len - st->off : max;
			memcpy(out, strbuf_str(&st->buf) + st->off, n);
			st->off += n;
			return (ssize_t)n;
		}
		strbuf_reset(&st->buf);
		st->off = 0;
		if (st->src) {
			if (st->src_done)
				return MHD_CONTENT_READER_END_OF_STREAM;
			if (source_more(st))
				return MHD_CONTENT_READER_END_WITH_ERROR;
			continue;
		}
		if (feed_stopping())
			return MHD_CONTENT_READER_END_OF_STREAM;
		switch (feed_sub_read(st->sub, thread_store_get(), false, 100, true, &st->buf, &n,
				      &at_end, &src)) {
		case FEED_OK:
			break;
		case FEED_GONE: /* fell behind the retention window: reconnecting says so */
			return MHD_CONTENT_READER_END_OF_STREAM;
		default: /* the store failed: try again at the heartbeat */
			at_end = true;
			break;
		}
		if (st->buf.len)
			continue;
		if (mono_ms() >= st->next_beat) {
			if (!stream_token_stands(st))
				return MHD_CONTENT_READER_END_OF_STREAM;
			strbuf_addstr(&st->buf, ": heartbeat\n\n");
			st->next_beat = mono_ms() + 1000LL * conf->sse_heartbeat;
			continue;
		}
		if (at_end &&
		    feed_sub_wait(st->sub, st->next_beat, suspend_conn, resume_conn, st->conn))
			return 0;
	}
}

static void stream_free(void *cls)
{
	struct stream *st = cls;

	feed_sub_free(st->sub);
	if (st->src)
		st->src->free(st->src);
	strbuf_release(&st->buf);
	free(st);
}

/* The response of x->rp.follow, a stream that starts with the reconnection
 * delay, so that its headers and first bytes leave at once; or of
 * x->rp.source, whose first piece is a's body (taken). */
static struct MHD_Response *stream_response(struct exchange *x, struct answer *a)
{
	struct stream *st = xcalloc(1, sizeof(*st));
	struct MHD_Response *res;

	st->conn = x->conn;
	st->via_token = x->rq.who.via_token;
	memcpy(st->token_hash, x->rq.who.token_hash, sizeof(st->token_hash));
	memcpy(st->id, x->id, sizeof(st->id));
	st->sub = x->rp.follow;
	x->rp.follow = NULL;
	st->src = x->rp.source;
	x->rp.source = NULL;
	st->buf = (struct strbuf)STRBUF_INIT;
	if (a->body) {
		strbuf_add(&st->buf, a->body, a->len);
		free(a->body);
		a->body = NULL;
	}
	if (st->sub)
		strbuf_addstr(&st->buf, "retry: 2000\n\n");
	st->next_beat = mono_ms() + 1000LL * conf->sse_heartbeat;
	res = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, st,
						stream_free);
	if (!res)
		stream_free(st);
	return res;
}

/* Queue the answer that reply.c makes of x->rp. */
static enum MHD_Result send_answer(struct exchange *x)
{
	struct MHD_Response *res;
	struct answer a;
	enum MHD_Result ok;
	bool stream;
	size_t i;

	deadline_arrived(watch_of(x->conn)); /* answering now: the clock stops */
	reply_finish(&x->rp, x->id, &a);
	stream = (x->rp.follow || x->rp.source) && !x->rp.err.code;
	if (stream) {
		res = stream_response(x, &a);
	} else {
		res = MHD_create_response_from_buffer(a.len, a.body, MHD_RESPMEM_MUST_FREE);
		if (!res)
			free(a.body);
	}
	if (!res)
		return MHD_NO;
	for (i = 0; i < a.nheaders; i++)
		MHD_add_response_header(res, a.headers[i].name, a.headers[i].value);
	if (conf->tls_cert)
		MHD_add_response_header(res, "Strict-Transport-Security", TLS_HSTS);
	ok = MHD_queue_response(x->conn, a.status, res);
	MHD_destroy_response(res);
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

/* Whether the request announces a body (a Content-Length other than 0, or
 * a Transfer-Encoding). */
static bool body_announced(struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);

	return (cl && strspn(cl, "0") < strlen(cl)) ||
	       MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					   MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

/*
 * Answer a request refused on its line and headers, before its body is
 * read.  libmicrohttpd then reads no more of it and closes the connection
 * after the answer; when a body was announced, the close lingers (linger.c)
 * so that a client still sending it reads the answer instead of a reset.
 */
static enum MHD_Result answer_early(struct exchange *x)
{
	const union MHD_ConnectionInfo *ci;

	if (body_announced(x->conn)) {
		x->rp.close = true;
		ci = MHD_get_connection_info(x->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci)
			linger_mark(ci->connect_fd);
	}
	return send_answer(x);
}

static enum MHD_Result tally_field(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	(void)kind;
	head_count(cls, key, value);
	return MHD_YES;
}

/* Whether the request head keeps the rules of head.h; else the refusal in
 * x->rp.  version: the request's HTTP version. */
static bool head_ok(struct exchange *x, const char *version)
{
	struct head_tally t = HEAD_TALLY_INIT;

	MHD_get_connection_values(x->conn, MHD_HEADER_KIND, tally_field, &t);
	return !head_check(&t, strcmp(version, MHD_HTTP_VERSION_1_0) != 0, &x->rp.err);
}

/* The first call of a request: its line and headers have arrived. */
static enum MHD_Result on_headers(struct exchange *x, const char *version)
{
	const char *cl = MHD_lookup_connection_value(x->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	char *end;

	if (!head_ok(x, version))
		return answer_early(x);
	if (ambiguous_length(x->conn)) {
		x->rp.close = true;
		error_invalid(&x->rp.err, "Content-Length",
			      "the body's length is given twice, or with Transfer-Encoding");
		return answer_early(x);
	}
	if (cl && (errno = 0, strtoull(cl, &end, 10) > conf->body_limit || errno)) {
		/* Refused before a byte of the body is read. */
		x->too_large = true;
		error_set(&x->rp.err, ERR_TOO_LARGE);
		return answer_early(x);
	}
	/* a request without a body whose look may be shared stops before its
	 * credentials, and goes on once the whole of it has arrived and its
	 * look is taken (on_request) */
	if (request_admit_route(&x->rq, &x->rp)) {
		x->looking = !body_announced(x->conn) && request_share_look(&x->rq);
		if (!x->looking)
			request_admit_rest(&x->rq, &x->rp);
	}
	x->limit = request_body_limit(&x->rq, conf->body_limit);
	if (!x->rp.err.code && cl && strtoull(cl, &end, 10) > x->limit) {
		x->too_large = true;
		error_set(&x->rp.err, ERR_TOO_LARGE);
	}
	/* A refusal of a request with a body is sent at once, and the body is
	 * never read.  Without a body, it waits for the request's next call:
	 * libmicrohttpd closes a connection answered from the first one, so a
	 * 404 or a 401 closed it or not by whether the look was shared (a
	 * keep-alive client saw its connection close at random). */
	if (!x->rp.err.code)
		return MHD_YES;
	if (body_announced(x->conn))
		return answer_early(x);
	x->refused = true;
	return MHD_YES;
}

/* A piece of the body: kept up to the limit, beyond it thrown away. */
static enum MHD_Result on_upload(struct exchange *x, const char *upload, size_t size)
{
	if (!x->too_large && x->body_len + size > x->limit) {
		/* Chunked and over the limit: drop what we hold, discard the rest. */
		x->too_large = true;
		if (x->body)
			sodium_memzero(x->body, x->body_len);
		free(x->body);
		x->body = NULL;
		x->body_len = 0;
	}
	if (x->too_large) {
		/* libmicrohttpd cannot answer before the body ends; a client
		 * that streams on regardless is cut off. */
		x->dropped += size;
		return x->dropped > 4 * x->limit ? MHD_NO : MHD_YES;
	}
	x->body = xrealloc(x->body, x->body_len + size + 1);
	memcpy(x->body + x->body_len, upload, size);
	x->body_len += size;
	x->body[x->body_len] = '\0';
	return MHD_YES;
}

/*
 * libmicrohttpd 0.9.75 keeps a record of each query parameter (56 bytes) in
 * the connection's memory pool (32 KiB, half of it the read buffer); some
 * 300 parameters exhaust it, and then it queues its own 431 but goes on
 * with the request regardless and never sends it: the client hung until
 * --timeout.  Its URI callback sees the request line before the parameters
 * are split, in the read buffer it is about to cut up itself: ending the
 * query there after CMS_QUERY_ARGS_MAX parameters keeps the records to a
 * few KiB, and the request is answered 400 CONF-1002 (on_request).
 */
static char query_cut_mark;
#define QUERY_CUT ((void *)&query_cut_mark)

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	char *p = strchr(uri, '?');
	unsigned n = 0;

	(void)cls;
	(void)conn;
	while (p && (p = strchr(p + 1, '&')))
		if (++n == CMS_QUERY_ARGS_MAX) {
			*p = '\0'; /* the buffer is the connection's own, writable */
			return QUERY_CUT;
		}
	return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct exchange *x = *con_cls;
	enum MHD_Result ok;

	(void)cls;
	if (!x || x == QUERY_CUT) {
		*con_cls = exchange_new(conn, url, method);
		if (x == QUERY_CUT) {
			char why[64];

			x = *con_cls;
			snprintf(why, sizeof(why), "more than %d query parameters",
				 CMS_QUERY_ARGS_MAX);
			error_invalid(&x->rp.err, "query", why);
			return send_answer(x);
		}
		x = *con_cls;
		return on_headers(x, version);
	}
	if (*upload_size) {
		ok = on_upload(x, upload, *upload_size);
		*upload_size = 0;
		return ok;
	}
	/* the request has arrived whole: its deadline no longer runs, however
	 * long the handler then waits for the store */
	deadline_arrived(watch_of(conn));
	if (x->refused)
		return send_answer(x);
	if (x->looking) {
		/* parked until the looker has taken its look with others' */
		x->looking = false;
		x->looked = true;
		MHD_suspend_connection(conn);
		looker_submit(&x->rq.look, resume_conn, conn);
		return MHD_YES;
	}
	if (x->looked) { /* woken, its look done (or left to it): admitted now */
		x->looked = false;
		request_admit_rest(&x->rq, &x->rp);
		if (x->rp.err.code)
			return send_answer(x);
	}
	if (x->written) /* the writer has answered it */
		return send_answer(x);
	if (x->waiting) { /* woken: run it again */
		feed_sub_free(x->waiting);
		x->waiting = NULL;
		request_rerun(&x->rq, &x->rp);
	} else if (x->too_large) {
		error_set(&x->rp.err, ERR_TOO_LARGE);
	} else {
		x->rq.body = x->body ? x->body : "";
		x->rq.body_len = x->body_len;
		if ((x->rq.route->flags & RF_HASH) && hasher_running()) {
			/* a password check: on a hasher thread, or 503 at once */
			enum hasher_lane lane = throttle_addr_failed(x->addr) ? HASHER_FAILED :
										 HASHER_CLEAN;

			if (!hasher_reserve(lane)) {
				error_set(&x->rp.err, ERR_UNAVAILABLE);
				return send_answer(x);
			}
			x->written = true;
			request_hold(&x->rq);
			MHD_suspend_connection(conn);
			hasher_submit(lane, &x->rq, &x->rp, resume_conn, conn);
			return MHD_YES;
		}
		if (!(x->rq.route->flags & RF_GROUP) || !writer_running()) {
			request_run(&x->rq, &x->rp);
		} else if (request_parse(&x->rq, &x->rp) && !writer_here(&x->rq, &x->rp)) {
			/* parked until the writer has committed it with its group */
			x->written = true;
			request_hold(&x->rq);
			MHD_suspend_connection(conn);
			writer_submit(&x->rq, &x->rp, resume_conn, conn);
			return MHD_YES;
		}
	}
	/* a long-poll with nothing yet: park the connection until the feed
	 * has something for it or its time is up, then run it again */
	while (x->rp.follow && x->rp.follow_until && !x->rp.err.code) {
		x->waiting = x->rp.follow;
		x->rp.follow = NULL;
		x->rq.wait_until = x->rp.follow_until;
		if (feed_sub_wait(x->waiting, x->rq.wait_until, suspend_conn, resume_conn, conn))
			return MHD_YES;
		feed_sub_free(x->waiting);
		x->waiting = NULL;
		request_rerun(&x->rq, &x->rp);
	}
	return send_answer(x);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct exchange *x = *con_cls;
	struct log_field fields[11];
	uint64_t us;
	size_t n;

	(void)cls;
	deadline_next(watch_of(conn));
	if (!x || x == QUERY_CUT)
		return;
	us = (uint64_t)(mono_us() - x->t0_us);
	metrics_request(x->rq.route ? router_index(x->rq.route) : METRICS_NO_ROUTE, x->rp.status,
			us);
	metrics_in_flight(-1);
	n = 0;
	fields[n++] = (struct log_field){ "request_id", x->id, 0, 0 };
	fields[n++] = (struct log_field){ "method", x->rq.method, 0, 0 };
	fields[n++] = (struct log_field){ "path", x->path, 0, 0 };
	fields[n++] = (struct log_field){ "status", NULL, x->rp.status, 0 };
	fields[n++] = (struct log_field){ "ms", NULL, (double)us / 1e3, 0 };
	fields[n++] = (struct log_field){ "client", x->addr, 0, 0 };
	if (x->peer[0])
		fields[n++] = (struct log_field){ "proxy", x->peer, 0, 0 };
	if (x->rq.route)
		fields[n++] = (struct log_field){ "route", x->rq.route->name, 0, 0 };
	if (x->rq.who.user_id[0])
		fields[n++] = (struct log_field){ "user", x->rq.who.user_id, 0, 0 };
	if (x->rp.err.code)
		fields[n++] = (struct log_field){ "error", error_code_str(x->rp.err.code), 0, 0 };
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		fields[n++] = (struct log_field){ "aborted", NULL, 0, 1 };
	log_fields("info", "request", fields, n);
	exchange_free(x);
	*con_cls = NULL;
	atomic_fetch_sub(&in_flight, 1);
}

static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
	(void)cls;
	(void)len;
	/* the per-address limit here, not libmicrohttpd's, which would count a
	 * trusted proxy's connections as one client's (proxy.h) */
	return atomic_load(&draining) || !proxy_conn_admit(addr) ? MHD_NO : MHD_YES;
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
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	proxy_conn_count(ci ? ci->client_addr : NULL,
			 toe == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		metrics_connection(1);
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		*socket_ctx = ci ? deadline_open(ci->connect_fd) : NULL;
	} else {
		metrics_connection(-1);
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci)
			linger_closing(ci->connect_fd);
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

/* libmicrohttpd's messages said once per connection that a crowd can make
 * by the thousand a second: each connection deadline.c cuts says the first
 * (it reads the end of its own socket), and the reaper logs those in one
 * line a scan already. */
static const char *const unlogged[] = {
	"Connection was closed by remote side with incomplete request.",
};

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n, i;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	for (i = 0; i < sizeof(unlogged) / sizeof(unlogged[0]); i++)
		if (!strcmp(buf, unlogged[i]))
			return;
	log_fields("warn", buf, NULL, 0);
}

/* Room for --max-connections sockets and the files and store connections
 * besides them, as far as the hard limit allows; returns the connections
 * that fit (fewer than asked, logged, when the hard limit is lower: a
 * socket accepted beyond the descriptors would only fail). */
static unsigned raise_fd_limit(unsigned connections)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)connections + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return connections;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) && getrlimit(RLIMIT_NOFILE, &rl))
		rl.rlim_cur = 0;
	if (rl.rlim_cur >= want)
		return connections;
	connections = rl.rlim_cur > 256 + 64 ? (unsigned)(rl.rlim_cur - 256) : 64;
	log_msgf("warn", "the open-file limit allows %u connections, not --max-connections",
		 connections);
	return connections;
}

int http_start(const struct config *cfg, const struct passed_socket *passed)
{
	struct addrinfo hints, *ai = NULL;
	char host[256], *colon;
	const char *port;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	const union MHD_DaemonInfo *info;
	struct MHD_OptionItem where[2] = { { MHD_OPTION_END, 0, NULL }, { MHD_OPTION_END, 0, NULL } };
	unsigned capacity;
	int rc = -1;

	conf = cfg;
	if (passed->fd >= 0) {
		/* socket activation: systemd bound it, --listen does not apply */
		where[0] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, passed->fd, NULL };
		snprintf(host, sizeof(host), "%s", passed->address);
		if (passed->family == AF_INET6)
			flags |= MHD_USE_IPv6;
		goto bound;
	}
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
	where[0] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, ai->ai_addr };
bound:
	if (cfg->tls_cert) {
		if (tls_load(cfg->tls_cert, cfg->tls_key, &tls_cert_pem, &tls_key_pem))
			goto out;
		flags |= MHD_USE_TLS;
	}
	{
		const char *names[64];
		size_t i, n = router_count();

		for (i = 0; i < n && i < sizeof(names) / sizeof(names[0]); i++)
			names[i] = router_nth(i)->name;
		metrics_init(names, i);
	}
	request_setup(thread_store_get, cfg->faults);
	proxy_conn_limit(cfg->per_ip_limit);
	capacity = raise_fd_limit(cfg->max_connections);
	atomic_store(&draining, 0);
	if (deadline_start(cfg->timeout, capacity, cfg->busy_timeout_ms))
		goto out;
	/* what a client may make cmsd read and throw away after an early answer */
	if (linger_start(4 * cfg->body_limit > LINGER_MIN_BYTES ? 4 * cfg->body_limit :
				  LINGER_MIN_BYTES)) {
		deadline_stop();
		goto out;
	}
	daemon_ = MHD_start_daemon(
		flags, 0, accept_policy, NULL, on_request, NULL,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_ARRAY, where, /* the address to bind, or systemd's socket */
		MHD_OPTION_THREAD_POOL_SIZE, cfg->threads,
		MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout,
		MHD_OPTION_CONNECTION_LIMIT, capacity,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
		/* room for a head over cmsd's bounds, which it answers itself (head.h) */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HEAD_BUFFER,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
		cfg->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, tls_cert_pem,
		MHD_OPTION_HTTPS_MEM_KEY, tls_key_pem,
		MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
		MHD_OPTION_END);
	if (!daemon_) {
		log_msgf("error", "cannot listen on %s", passed->fd >= 0 ? "the socket systemd passed" :
			 cfg->listen);
		linger_stop();
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
			{ "systemd_socket", NULL, 0, passed->fd >= 0 ? 1 : -1 },
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
	feed_stop(); /* polls answer now, streams end */
	while (atomic_load(&in_flight) > 0 && waited < grace * 100) {
		usleep(10000);
		waited++;
	}
	/* the grace ran out with PUTs still queued for the writer: they are
	 * answered 503, and their connections resumed, before the daemon stops
	 * (libmicrohttpd refuses to stop with connections suspended) */
	writer_abandon();
	looker_abandon();
	hasher_abandon();
	for (waited = 0; atomic_load(&in_flight) > 0 && waited < 1000; waited++)
		usleep(10000);
	MHD_stop_daemon(daemon_);
	daemon_ = NULL;
	linger_stop();
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
