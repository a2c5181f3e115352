/*
 * http_client.c - requests to the CMS through libcurl, answers through
 * jansson, failures sorted into outcomes by outcome.c's table (which gives
 * the exit code): a 401 is 4, any other HTTP answer that is not a 2xx (or
 * not JSON) is the API's error (1); no answer at all - refused connection,
 * unknown host, TLS failure, timeout - is 3.
 *
 * One curl handle serves the whole run, so that the many PUTs of an import
 * reuse one keep-alive connection.  --print-curl renders each request as a
 * curl command instead, with the Authorization value and any "password"
 * field masked as ***.
 */
#include "http_client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "output.h"
#include "xalloc.h"
#include "banned.h"

#define API_PREFIX "/cms/configuration"
#define BODY_MAX (256L * 1024 * 1024) /* no answer of the API comes near it */
#define MASK "***"

struct client {
	struct client_config cfg; /* base and auth point to the copies below */
	char *base;
	char *auth;
	CURL *curl; /* NULL when printing */
	const volatile sig_atomic_t *cancel; /* see client_set_cancel; NULL: never */
};

struct client *client_new(const struct client_config *cfg)
{
	struct client *c = xcalloc(1, sizeof(*c));

	c->cfg = *cfg;
	c->base = xstrdup(cfg->base);
	c->cfg.base = c->base;
	c->cfg.auth = NULL;
	client_set_auth(c, cfg->auth);
	if (!cfg->print_curl) {
		c->curl = curl_easy_init();
		if (!c->curl) {
			client_free(c);
			return NULL;
		}
	}
	return c;
}

void client_free(struct client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->base);
	free(c->auth);
	free(c);
}

void client_set_auth(struct client *c, const char *auth)
{
	free(c->auth);
	c->auth = auth ? xstrdup(auth) : NULL;
	c->cfg.auth = c->auth;
}

const char *client_base(const struct client *c)
{
	return c->base;
}

bool client_printing(const struct client *c)
{
	return c->cfg.print_curl;
}

void client_set_timeout(struct client *c, long seconds)
{
	c->cfg.timeout = seconds;
}

void client_set_cancel(struct client *c, const volatile sig_atomic_t *flag)
{
	c->cancel = flag;
}

char *client_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct strbuf sb = STRBUF_INIT;

	strbuf_grow(&sb, strlen(s));
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    strchr("-._~", ch)) {
			strbuf_addch(&sb, ch);
		} else {
			strbuf_addch(&sb, '%');
			strbuf_addch(&sb, hex[ch >> 4]);
			strbuf_addch(&sb, hex[ch & 15]);
		}
	}
	return strbuf_detach(&sb);
}

void response_release(struct response *r)
{
	json_decref(r->json);
	strbuf_release(&r->body);
	strbuf_release(&r->headers);
	r->json = NULL;
	r->status = 0;
	r->total = -1;
	r->retry_after = -1;
	r->printed = false;
	r->outcome = OUTCOME_OK;
	r->error[0] = '\0';
}

/* ---- --print-curl ---- */

static void shell_quote(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			strbuf_addstr(sb, "'\\''");
		else
			strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '\'');
}

/* "Bearer ***" for "Bearer <token>": the scheme stays, the secret goes. */
static void add_masked_auth(struct strbuf *sb, const char *auth)
{
	const char *sp = strchr(auth, ' ');

	strbuf_addstr(sb, "Authorization: ");
	if (sp)
		strbuf_add(sb, auth, (size_t)(sp - auth) + 1);
	strbuf_addstr(sb, MASK);
}

/* The body as sent, but a string "password" shown as ***. */
static char *masked_body(json_t *body)
{
	json_t *copy = NULL;
	char *text;

	if (json_is_string(json_object_get(body, "password"))) {
		copy = json_copy(body);
		json_object_set_new(copy, "password", json_string(MASK));
		body = copy;
	}
	text = json_dumps(body, JSON_COMPACT);
	json_decref(copy);
	if (!text) {
		fputs("cmsctl: out of memory\n", stderr);
		abort();
	}
	return text;
}

static void print_curl(const struct client *c, const char *method, const char *url,
		       json_t *body)
{
	struct strbuf sb = STRBUF_INIT, hdr = STRBUF_INIT;
	char *text = NULL;

	strbuf_addstr(&sb, "curl");
	if (c->cfg.insecure)
		strbuf_addstr(&sb, " --insecure");
	strbuf_addf(&sb, " --request %s ", method);
	shell_quote(&sb, url);
	strbuf_addstr(&sb, " --header 'Accept: application/json'");
	if (body)
		strbuf_addstr(&sb, " --header 'Content-Type: application/json'");
	if (c->auth) {
		add_masked_auth(&hdr, c->auth);
		strbuf_addstr(&sb, " --header ");
		shell_quote(&sb, hdr.buf);
	}
	if (body) {
		text = masked_body(body);
		strbuf_addstr(&sb, " --data ");
		shell_quote(&sb, text);
	}
	puts(sb.buf);
	fflush(stdout);
	free(text);
	strbuf_release(&hdr);
	strbuf_release(&sb);
}

/* ---- sending ---- */

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct response *r = ctx;
	size_t len = size * n;

	if (r->body.len + len > (size_t)BODY_MAX)
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	strbuf_add(&r->body, p, len);
	return len;
}

/*
 * One header line of the answer (len bytes at p, CR LF included) into
 * r->headers as "name\0value\0": the name in lower case, the value without
 * the white space around it.  A status line starts the list anew, so that
 * only the final answer's fields are kept (after a 100 Continue, say).
 */
static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	struct response *r = ctx;
	size_t len = size * n, i, k;
	const char *colon = memchr(p, ':', len);

	if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
		strbuf_reset(&r->headers);
		return len;
	}
	if (!colon)
		return len; /* the blank line that ends the header */
	k = (size_t)(colon - p);
	for (i = 0; i < k; i++)
		strbuf_addch(&r->headers, tolower((unsigned char)p[i]));
	strbuf_addch(&r->headers, '\0');
	for (i = k + 1; i < len && isspace((unsigned char)p[i]); i++)
		;
	while (len > i && isspace((unsigned char)p[len - 1]))
		len--;
	strbuf_add(&r->headers, p + i, len - i);
	strbuf_addch(&r->headers, '\0');
	return size * n;
}

const char *response_header(const struct response *r, const char *name)
{
	const char *p = r->headers.buf, *end = p + r->headers.len, *found = NULL;

	while (p && p < end) {
		const char *value = p + strlen(p) + 1;

		if (!strcasecmp(p, name))
			found = value;
		p = value + strlen(value) + 1;
	}
	return found;
}

/* The number in header field `name` of r, or -1 when absent or not a
 * number (a Retry-After date, say). */
static long long header_number(const struct response *r, const char *name)
{
	const char *s = response_header(r, name);
	char *end;
	long long v;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	v = strtoll(s, &end, 10);
	return *end ? -1 : v;
}

/* libcurl's progress callback: a non-zero answer abandons the transfer. */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	const struct client *c = ctx;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return *c->cancel != 0;
}

static struct curl_slist *add_header(struct curl_slist *l, const char *h)
{
	struct curl_slist *n = curl_slist_append(l, h);

	if (!n) {
		fputs("cmsctl: out of memory\n", stderr);
		abort();
	}
	return n;
}

static void describe_failure(const struct client *c, CURLcode cc, const char *errbuf,
			     struct response *r)
{
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);

	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(r->error, sizeof(r->error), "no answer from %s within %ld s (%s)", c->base,
			 c->cfg.timeout, why);
		break;
	case CURLE_SSL_CONNECT_ERROR:
		/* no handshake at all: --insecure would not help, but a server
		 * that speaks plain HTTP (a local cmsd) fails just so */
		snprintf(r->error, sizeof(r->error),
			 "TLS failure with %s: %s (if the server speaks plain HTTP, use an "
			 "http:// URL)", c->base, why);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		snprintf(r->error, sizeof(r->error),
			 "TLS failure with %s: %s (for a self-signed certificate, add --insecure)",
			 c->base, why);
		break;
	case CURLE_ABORTED_BY_CALLBACK:
		snprintf(r->error, sizeof(r->error), "interrupted");
		break;
	case CURLE_WRITE_ERROR:
		snprintf(r->error, sizeof(r->error), "the answer of %s is larger than %ld bytes",
			 c->base, BODY_MAX);
		break;
	default:
		snprintf(r->error, sizeof(r->error), "cannot reach %s: %s", c->base, why);
		break;
	}
	r->outcome = outcome_of_curl((int)cc);
}

int client_request(struct client *c, const char *method, const char *path, json_t *body,
		   struct response *r)
{
	struct strbuf url = STRBUF_INIT, hdr = STRBUF_INIT;
	struct curl_slist *headers = NULL;
	char errbuf[CURL_ERROR_SIZE] = "", *data = NULL;
	long long retry;
	CURLcode cc;
	int rc;

	response_release(r);
	strbuf_addf(&url, "%s%s%s", c->base, API_PREFIX, path);
	if (c->cfg.print_curl) {
		print_curl(c, method, url.buf, body);
		r->printed = true;
		goto out;
	}
	if (body) {
		data = json_dumps(body, JSON_COMPACT);
		if (!data) {
			fputs("cmsctl: out of memory\n", stderr);
			abort();
		}
	}
	headers = add_header(headers, "Accept: application/json");
	if (data)
		headers = add_header(headers, "Content-Type: application/json");
	headers = add_header(headers, "Expect:"); /* no 100-continue round trip */
	if (c->auth) {
		strbuf_addf(&hdr, "Authorization: %s", c->auth);
		headers = add_header(headers, hdr.buf);
	}

	curl_easy_reset(c->curl); /* keeps the open connection */
	curl_easy_setopt(c->curl, CURLOPT_URL, url.buf);
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "cmsctl/1");
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, c->cfg.timeout);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, c->cfg.timeout);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
	if (data) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, data);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(data));
	}
	if (c->cancel) {
		curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
	}
	if (c->cfg.insecure) {
		curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}

	cc = curl_easy_perform(c->curl);
	if (cc != CURLE_OK) {
		describe_failure(c, cc, errbuf, r);
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
	r->total = header_number(r, "x-total-count");
	/* only the delay form; an HTTP date counts as no hint */
	retry = header_number(r, "retry-after");
	r->retry_after = retry > 86400 ? 86400 : (long)retry;
	if (r->body.len)
		r->json = json_loadb(r->body.buf, r->body.len, 0, NULL);
	r->outcome = outcome_of_status(r->status);
	if (r->outcome == OUTCOME_OK && r->body.len && !r->json) {
		snprintf(r->error, sizeof(r->error), "the answer of %s is not JSON", c->base);
		r->outcome = OUTCOME_REFUSED;
	}
out:
	rc = outcome_info(r->outcome)->exit_code;
	/* the handle must not keep pointers into what is freed here */
	if (c->curl) {
		curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, NULL);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
	}
	curl_slist_free_all(headers);
	free(data);
	strbuf_release(&hdr);
	strbuf_release(&url);
	return rc;
}

/* ---- reporting ---- */

char *response_reason(const struct response *r)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *code = json_object_get(r->json, "errorCode");
	json_t *msg = json_object_get(r->json, "errorMessage");
	json_t *d;
	size_t i;

	if (!r->status) {
		strbuf_addstr(&sb, r->error);
	} else if (json_is_string(code) && json_is_string(msg)) {
		strbuf_addf(&sb, "%s %s (HTTP %ld)", json_string_value(code),
			    json_string_value(msg), r->status);
		json_array_foreach(json_object_get(r->json, "details"), i, d) {
			const char *f = json_string_value(json_object_get(d, "field"));
			const char *why = json_string_value(json_object_get(d, "reason"));
			char *text;

			if (f && why) {
				strbuf_addf(&sb, "%s %s: %s", i ? ";" : ":", f, why);
				continue;
			}
			text = json_dumps(d, JSON_COMPACT);
			strbuf_addf(&sb, "%s %s", i ? ";" : ":", text ? text : "?");
			free(text);
		}
	} else if (r->error[0]) {
		strbuf_addstr(&sb, r->error);
	} else {
		strbuf_addf(&sb, "HTTP %ld without a CMS error body", r->status);
	}
	return strbuf_detach(&sb);
}

/* One entry of an error's details as one line on stderr (the server's
 * strings echo the request's, so their control characters are escaped). */
static void report_detail(json_t *d)
{
	const char *object = json_string_value(json_object_get(d, "object"));
	const char *field = json_string_value(json_object_get(d, "field"));
	const char *reason = json_string_value(json_object_get(d, "reason"));
	json_t *id = json_object_get(d, "id");
	struct strbuf sb = STRBUF_INIT;
	char *text;

	if (object && id) {
		text = json_is_string(id) ? xstrdup(json_string_value(id))
					  : json_dumps(id, JSON_ENCODE_ANY);
		strbuf_addf(&sb, "  %s %s: not found", object, text ? text : "?");
	} else if (field && reason) {
		text = NULL;
		strbuf_addf(&sb, "  %s: %s", field, reason);
	} else {
		text = json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY);
		strbuf_addf(&sb, "  %s", text ? text : "?");
	}
	output_puts(stderr, sb.buf);
	fputc('\n', stderr);
	strbuf_release(&sb);
	free(text);
}

void response_report(const struct response *r, bool json)
{
	json_t *code = json_object_get(r->json, "errorCode");
	json_t *msg = json_object_get(r->json, "errorMessage");
	json_t *details = json_object_get(r->json, "details");
	size_t i;

	if (!r->status) {
		fprintf(stderr, "cmsctl: %s\n", r->error);
		return;
	}
	if (json && r->body.len) {
		fwrite(r->body.buf, 1, r->body.len, stdout);
		if (r->body.buf[r->body.len - 1] != '\n')
			putchar('\n');
		fflush(stdout);
	}
	if (json_is_string(code) && json_is_string(msg)) {
		fprintf(stderr, "cmsctl: %s %s (HTTP %ld)\n", json_string_value(code),
			json_string_value(msg), r->status);
		for (i = 0; i < json_array_size(details); i++)
			report_detail(json_array_get(details, i));
	} else if (r->error[0]) {
		fprintf(stderr, "cmsctl: %s\n", r->error);
	} else {
		fprintf(stderr, "cmsctl: the server answered HTTP %ld without a CMS error body\n",
			r->status);
	}
}
