/*
 * http.h - one request as the handlers see it, and the HTTP server around it.
 *
 * http.c owns the libmicrohttpd daemon: it collects the body (bounded), gives
 * each request an id, runs router -> auth -> handler inside one store
 * transaction, and writes the JSON answer or the error envelope.
 */
#ifndef CMSD_HTTP_H
#define CMSD_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "errors.h"
#include "store.h"

struct MHD_Connection;
struct route;
struct config;

enum role {
	ROLE_NONE = 0,   /* no credentials needed */
	ROLE_AGENT,      /* read */
	ROLE_SUPERVISOR, /* read, mappings, campaign users */
	ROLE_ADMIN,      /* everything in its contact center */
	ROLE_SYSTEM      /* everything everywhere */
};

/* Who is calling, once authenticated. */
struct principal {
	enum role role;
	int64_t cc;      /* the caller's contact center; 0 for the system administrator */
	int64_t user_pk;
	bool via_token;  /* credentials were a token (hash below) */
	uint8_t token_hash[CMS_TOKEN_HASH];
	char user_id[CMS_USERID_MAX + 1];
};

struct request {
	struct MHD_Connection *conn;
	const char *method;      /* borrowed from libmicrohttpd */
	char *path;              /* normalised copy: no trailing '/' */
	char *body;              /* NUL-terminated, at most the body limit */
	size_t body_len;
	bool too_large;          /* the body went over the limit */
	size_t dropped;          /* bytes of an oversized body thrown away */
	char id[17];             /* request id, hex */
	char addr[64];           /* the client's address, numeric */
	unsigned retry_after;    /* seconds, sent with a 429 */
	struct timespec t0;

	const struct route *route;
	int64_t ids[4];          /* integer path parameters, in order */
	const char *str;         /* the string path parameter, in path */
	char bad_object[24];     /* a path id that cannot exist: its object... */
	char bad_id[32];         /* ...and its text */
	char pw_hash[CMS_HASH_MAX + 1]; /* RF_PASSWORD routes: hash of "password" */
	struct principal who;
	struct store *store;

	unsigned status;         /* answer: status, body and extras */
	json_t *out;
	char *text;              /* ...or a text body (RF_TEXT routes) */
	size_t text_len;
	const char *text_type;   /* its Content-Type */
	int64_t total;           /* X-Total-Count when >= 0 */
	char allow[64];          /* Allow header for 405 */
	struct error err;
	bool retry;              /* the store asked to rerun the transaction */
	bool dry_run;            /* roll back what the handler did, answer anyway */
	bool close;              /* close the connection after the answer */
	char etag[40];           /* ETag header of the answer, quotes included */
};

/* Start serving per cfg.  Returns 0, or -1 after logging why. */
int http_start(const struct config *cfg);
/* The port actually bound (useful with port 0). */
unsigned http_port(void);
/* Stop accepting, finish requests in flight (at most `grace` seconds), stop. */
void http_stop(int grace);
/* The store connection of the calling worker thread, opened on first use;
 * NULL (logged) when it cannot be opened. */
struct store *http_thread_store(void);

/* True when an Accept header value (NULL: absent) allows application/json. */
bool http_accepts_json(const char *accept);
/* True when a Content-Type value is application/json (charset utf-8 if any). */
bool http_is_json(const char *ctype);

/* Handler helpers. */
const char *http_query(struct request *r, const char *name);
/* A request header's value, or NULL. */
const char *http_header(struct request *r, const char *name);
/* An optional positive id from the query into *out (0 when absent); 400
 * on anything else. */
int http_query_id(struct request *r, const char *name, int64_t *out);
/* Reads limit/offset into pg; 400 on bad values. */
int http_page(struct request *r, struct page *pg);
/* Parse the body as a JSON object into *out (caller frees). */
int http_body(struct request *r, json_t **out);
/* Record a store failure as the request's error (RETRY marks r->retry). */
int http_store_error(struct request *r, int rc, const char *object, int64_t id);
/* A query flag: absent is false; "true" or "false", else 400. */
int http_query_bool(struct request *r, const char *name, bool *out);
/* Set the answer: status and body (stolen). Returns 0. */
int http_reply(struct request *r, unsigned status, json_t *body);
/* Set a text answer: status, Content-Type (static) and text (stolen). */
int http_reply_text(struct request *r, unsigned status, const char *type, char *text);
/* The same for len bytes of any kind (stolen; NULs allowed). */
int http_reply_bytes(struct request *r, unsigned status, const char *type, char *data,
		     size_t len);

#endif
