/*
 * http_client.h - cmsctl's one way to talk to the CMS: a request below
 * /cms/configuration with an optional JSON body, the answer parsed, and the
 * outcome already classified into cmsctl's exit codes.  With --print-curl
 * the request is printed as a curl command instead of sent.
 */
#ifndef CMSCTL_HTTP_CLIENT_H
#define CMSCTL_HTTP_CLIENT_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>

#include "outcome.h"
#include "strbuf.h"

struct client_config {
	const char *base; /* CMS base URL, no trailing slash */
	const char *auth; /* Authorization value, or NULL */
	bool insecure;    /* accept any TLS certificate */
	bool print_curl;  /* print requests as curl commands, send nothing */
	long timeout;     /* seconds allowed for one request */
};

struct response {
	long status;         /* HTTP status; 0 when no answer came */
	json_t *json;        /* the parsed body, or NULL (empty or not JSON) */
	struct strbuf body;  /* the body as it came */
	struct strbuf headers; /* the answer's header fields, "name\0value\0" each,
				  names in lower case: read with response_header */
	long long total;     /* X-Total-Count, or -1 */
	long retry_after;    /* Retry-After in seconds, or -1 */
	bool printed;        /* --print-curl: printed, not sent */
	enum outcome outcome; /* what it means (outcome.h): retry, stop, exit code */
	char error[512];     /* why no usable answer came */
};

#define RESPONSE_INIT { 0, NULL, STRBUF_INIT, STRBUF_INIT, -1, -1, false, OUTCOME_OK, "" }

struct client;

/* A client for cfg (copied).  Returns NULL when libcurl cannot start. */
struct client *client_new(const struct client_config *cfg);
void client_free(struct client *c);

/* Replace the Authorization value (NULL: none). */
void client_set_auth(struct client *c, const char *auth);

/* The CMS base URL requests go to (borrowed from c). */
const char *client_base(const struct client *c);

/* Whether requests are printed instead of sent. */
bool client_printing(const struct client *c);

/* Replace the seconds allowed for one request (a long-poll needs its wait
 * on top of the usual allowance). */
void client_set_timeout(struct client *c, long seconds);

/*
 * While *flag (owned by the caller, set by a signal handler) is 0 requests
 * run as usual; once it is not, a request under way is abandoned within
 * about a second and answers EXIT_NET, "interrupted".  NULL: never.
 */
void client_set_cancel(struct client *c, const volatile sig_atomic_t *flag);

/*
 * Send `method` to base + "/cms/configuration" + path (path starts with '/'
 * and may carry a query), with body as JSON when not NULL.  r is reset
 * first; r->outcome says what the end means (outcome.h).  Returns its exit
 * code: EXIT_OK for a 2xx answer whose body is empty or JSON (or when
 * printed), EXIT_AUTH for a 401, EXIT_API for any other answer, EXIT_NET
 * when none came (r->error says why).
 */
int client_request(struct client *c, const char *method, const char *path, json_t *body,
		   struct response *r);

/* The value of header field `name` (any case) of r's answer, the last one
 * when it came more than once, or NULL; borrowed from r. */
const char *response_header(const struct response *r, const char *name);

/* path-segment escaping of s; caller frees. */
char *client_escape(const char *s);

/* Free what r holds and make it RESPONSE_INIT again. */
void response_release(struct response *r);

/* Why a request failed, in one line: the API's errorCode, errorMessage and
 * details, or why no answer came.  Caller frees. */
char *response_reason(const struct response *r);

/*
 * Explain a failed request on stderr: the API's errorCode, errorMessage and
 * details, or why no answer came.  With json, the error body also goes to
 * stdout as it came.
 */
void response_report(const struct response *r, bool json);

#endif
