/*
 * cmsurl.c - derive the CMS base URL (API.md §7) and read the configuration
 * file that extends the environment renaming table.
 *
 * A given URL is parsed into scheme, host and port; path, query and fragment
 * are dropped.  A local or numeric host (localhost, *.localhost, a host of
 * one label, a name of the local-name table, an IPv4 or bracketed IPv6
 * literal) is kept as it is.  Any other
 * host names a service in an environment: its first label becomes "cms", its
 * second (the environment) goes through the renaming table, and the scheme
 * becomes https.  docs/cmsctl.md states the rules for users; the unit tests
 * in tests/unit/test_cmsurl.c hold them.
 */
#include "cmsurl.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define HOST_MAX 253
#define LABEL_MAX 63
#define CONFIG_MAX (1024 * 1024)

/*
 * The built-in renamings, environment label -> the label that serves it.
 * The vendor serves ecc-prod from engg-prod (API.md §7, second row).  A
 * `rename FROM TO` line of the configuration file adds or overrides one.
 */
static const struct {
	const char *from;
	const char *to;
} default_renames[] = {
	{ "ecc-prod", "engg-prod" },
};

/*
 * Names of the local machine or network besides localhost and *.localhost
 * (always local, RFC 6761): never the name of a service in an environment,
 * so never rewritten.  ".x" stands for every name ending in ".x".  A
 * `local NAME` line of the configuration file adds one.
 */
static const char *const default_locals[] = {
	"localhost.localdomain",    /* the local machine in many /etc/hosts */
	".local",                   /* multicast DNS: a machine of the LAN (RFC 6762) */
	"host.docker.internal",     /* the host, seen from a Docker container */
	"host.containers.internal", /* the same for Podman */
};

#define SCHEME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-."

enum host_kind { HOST_NAME, HOST_IPV4, HOST_IPV6 };

struct url {
	char scheme[6];      /* "http" or "https"; "" when none was given */
	char *host;          /* lower case; an IPv6 literal with its brackets */
	enum host_kind kind;
	long port;           /* 0 when none was given */
	const char *path;    /* into the given text: from the first '/' */
	size_t pathlen;      /* bytes of path, up to '?' or '#' */
	bool query;          /* a query or a fragment followed */
};


static char *lower_dup(const char *s, size_t n)
{
	char *d = xstrndup(s, n);
	size_t i;

	for (i = 0; i < n; i++)
		d[i] = (char)tolower((unsigned char)d[i]);
	return d;
}

static bool label_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* A DNS label as cmsctl accepts one: 1..63 of a-z 0-9 - _ (already lower),
 * not starting or ending with '-'. */
static bool valid_label(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > LABEL_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!label_char((unsigned char)s[i]))
			return false;
	return true;
}

/* A lower-case host name of valid labels, as a `local` line names one. */
static bool valid_name(const char *s)
{
	size_t n = strlen(s), i, start = 0;

	if (!n || n > HOST_MAX)
		return false;
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (!valid_label(s + start, i - start) || s[start] == '-' || s[i - 1] == '-')
			return false;
		start = i + 1;
	}
	return true;
}

/*
 * Check a lower-case host name in place (one trailing dot is dropped) and
 * tell a name from an IPv4 literal: a host whose last label is all digits
 * must be a dotted-quad address.
 */
static int check_name(char *host, enum host_kind *kind, char *err, size_t errlen)
{
	size_t n = strlen(host), i, start = 0, last = 0;

	if (n && host[n - 1] == '.')
		host[--n] = '\0';
	if (!n)
		return strbuf_errf(err, errlen, "the URL has no host");
	if (n > HOST_MAX)
		return strbuf_errf(err, errlen, "the host name is longer than %d characters", HOST_MAX);
	for (i = 0; i <= n; i++) {
		size_t len;

		if (i < n && host[i] != '.')
			continue;
		len = i - start;
		if (!len)
			return strbuf_errf(err, errlen, "invalid host '%s': empty label", host);
		if (len > LABEL_MAX)
			return strbuf_errf(err, errlen, "invalid host '%s': a label is longer than %d characters",
				    host, LABEL_MAX);
		if (host[start] == '-' || host[i - 1] == '-')
			return strbuf_errf(err, errlen, "invalid host '%s': a label cannot start or end with '-'",
				    host);
		last = start;
		start = i + 1;
	}
	for (i = 0; i < n; i++)
		if (host[i] != '.' && !label_char((unsigned char)host[i]))
			return strbuf_errf(err, errlen, "invalid host '%s': '%c' is not allowed in a host name",
				    host, host[i]);
	*kind = HOST_NAME;
	if (strspn(host + last, "0123456789") == n - last) {
		struct in_addr a;

		if (inet_pton(AF_INET, host, &a) != 1)
			return strbuf_errf(err, errlen, "invalid IPv4 address '%s'", host);
		*kind = HOST_IPV4;
	}
	return 0;
}

/*
 * Whether s (up to end) starts with a scheme and "://"; *n gets the
 * scheme's length.  A "://" further on, inside a path or a query
 * ("gw.example.com/login?next=https://x"), is no scheme.
 */
static bool scheme_at(const char *s, const char *end, size_t *n)
{
	*n = strspn(s, SCHEME_CHARS);
	return (size_t)(end - s) >= *n + 3 && !memcmp(s + *n, "://", 3);
}

static int parse_port(const char *p, size_t n, long *port, char *err, size_t errlen)
{
	size_t i;
	long v = 0;

	if (!n)
		return strbuf_errf(err, errlen, "the port after ':' is empty");
	for (i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9' || i >= 5)
			return strbuf_errf(err, errlen, "invalid port '%.*s'", (int)n, p);
	for (i = 0; i < n; i++)
		v = v * 10 + (p[i] - '0');
	if (v < 1 || v > 65535)
		return strbuf_errf(err, errlen, "port %ld is out of range (1 to 65535)", v);
	*port = v;
	return 0;
}

/* An IPv6 literal "[...]" at auth (n bytes, the ']' included) into u->host. */
static int parse_ipv6(const char *auth, size_t n, struct url *u, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in6_addr a;
	size_t inner = n - 2;
	char *lower;

	if (inner == 0 || inner >= sizeof(buf))
		return strbuf_errf(err, errlen, "invalid IPv6 address '%.*s'", (int)n, auth);
	memcpy(buf, auth + 1, inner);
	buf[inner] = '\0';
	if (inet_pton(AF_INET6, buf, &a) != 1)
		return strbuf_errf(err, errlen, "invalid IPv6 address '%.*s'", (int)n, auth);
	lower = lower_dup(auth, n);
	u->host = lower;
	u->kind = HOST_IPV6;
	return 0;
}

/*
 * Parse given into u (u->host allocated; the caller frees it, also on
 * failure).  Surrounding white space is ignored.
 */
static int parse(const char *given, struct url *u, char *err, size_t errlen)
{
	const char *s = given, *end, *p, *auth, *auth_end, *colon = NULL;
	size_t n;

	memset(u, 0, sizeof(*u));
	u->path = "";
	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	if (s == end)
		return strbuf_errf(err, errlen, "the URL is empty");
	for (p = s; p < end; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return strbuf_errf(err, errlen, "the URL contains a space, a control character "
				    "or a character outside ASCII");

	auth = s;
	if (scheme_at(s, end, &n)) {
		if (n == 4 && !strncasecmp(s, "http", 4))
			memcpy(u->scheme, "http", 5);
		else if (n == 5 && !strncasecmp(s, "https", 5))
			memcpy(u->scheme, "https", 6);
		else if (n == 0)
			return strbuf_errf(err, errlen, "the URL has nothing before '://'");
		else
			return strbuf_errf(err, errlen, "unsupported scheme '%.*s' (use http or https)", (int)n, s);
		auth = s + n + 3;
	}
	for (auth_end = auth; auth_end < end && !strchr("/?#", *auth_end); auth_end++)
		;
	if (auth_end == auth)
		return strbuf_errf(err, errlen, "the URL has no host");
	if (memchr(auth, '@', (size_t)(auth_end - auth)))
		return strbuf_errf(err, errlen, "a user or password inside the URL is not supported "
			    "(use --user and --password, or --token)");

	if (*auth == '[') {
		const char *close = memchr(auth, ']', (size_t)(auth_end - auth));

		if (!close)
			return strbuf_errf(err, errlen, "unterminated IPv6 address (no ']')");
		if (parse_ipv6(auth, (size_t)(close - auth) + 1, u, err, errlen))
			return -1;
		if (close + 1 < auth_end) {
			if (close[1] != ':')
				return strbuf_errf(err, errlen, "unexpected text after the IPv6 address");
			colon = close + 1;
		}
	} else {
		colon = memchr(auth, ':', (size_t)(auth_end - auth));
		if (colon && memchr(colon + 1, ':', (size_t)(auth_end - colon - 1)))
			return strbuf_errf(err, errlen, "an IPv6 address must be in brackets, "
				    "as in http://[::1]:8080");
		u->host = lower_dup(auth, (size_t)((colon ? colon : auth_end) - auth));
		if (check_name(u->host, &u->kind, err, errlen))
			return -1;
	}
	if (colon && parse_port(colon + 1, (size_t)(auth_end - colon - 1), &u->port, err, errlen))
		return -1;

	u->path = auth_end;
	for (p = auth_end; p < end && *p != '?' && *p != '#'; p++)
		;
	u->pathlen = (size_t)(p - auth_end);
	u->query = p < end;
	return 0;
}

/* Whether host is name, or ends in name when name is ".suffix". */
static bool name_matches(const char *host, const char *name)
{
	size_t n = strlen(host), k = strlen(name);

	if (name[0] == '.')
		return n > k && !strcmp(host + n - k, name);
	return !strcmp(host, name);
}

/* A host that names no service in an environment: never rewritten. */
static bool is_local(const struct cmsurl_config *cfg, const struct url *u)
{
	size_t i;

	if (u->kind != HOST_NAME || !strchr(u->host, '.') || name_matches(u->host, "localhost") ||
	    name_matches(u->host, ".localhost"))
		return true;
	for (i = 0; i < cfg->nlocals; i++)
		if (name_matches(u->host, cfg->locals[i]))
			return true;
	return false;
}

static long default_port(const char *scheme)
{
	return strcmp(scheme, "http") ? 443 : 80;
}

int cmsurl_derive(const struct cmsurl_config *cfg, const char *given, char **out, char *err,
		  size_t errlen)
{
	struct url u;
	struct strbuf sb = STRBUF_INIT;
	int rc = -1;

	*out = NULL;
	if (parse(given, &u, err, errlen))
		goto out;
	if (is_local(cfg, &u)) {
		/* kept as given; a bare local host is most likely a plain-HTTP cmsd */
		strbuf_addf(&sb, "%s://%s", u.scheme[0] ? u.scheme : "http", u.host);
		if (u.port)
			strbuf_addf(&sb, ":%ld", u.port);
	} else {
		const char *env = strchr(u.host, '.') + 1, *rest = strchr(env, '.');

		if (!rest) {
			/* two labels ("example.com"): no service label to replace */
			strbuf_addf(&sb, "https://cms.%s", u.host);
		} else {
			char label[LABEL_MAX + 1];

			memcpy(label, env, (size_t)(rest - env));
			label[rest - env] = '\0';
			strbuf_addf(&sb, "https://cms.%s%s", cmsurl_rename(cfg, label), rest);
		}
		/* "a.b.c" becomes "cms.b.c": the name may grow past what DNS allows */
		if (sb.len - strlen("https://") > HOST_MAX) {
			strbuf_errf(err, errlen, "the CMS host derived from this URL would be longer "
				    "than %d characters; give the CMS URL with --cms-url", HOST_MAX);
			goto out;
		}
		/* an explicit default port (http:80, https:443) is no port at all */
		if (u.port && u.port != default_port(u.scheme))
			strbuf_addf(&sb, ":%ld", u.port);
	}
	*out = strbuf_detach(&sb);
	rc = 0;
out:
	free(u.host);
	strbuf_release(&sb);
	return rc;
}

char *cmsurl_redact(const char *given)
{
	const char *s = given, *auth, *auth_end, *at = NULL, *p;
	struct strbuf sb = STRBUF_INIT;
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	auth = scheme_at(s, s + strlen(s), &n) ? s + n + 3 : s;
	auth_end = auth + strcspn(auth, "/?#");
	for (p = auth; p < auth_end; p++)
		if (*p == '@')
			at = p;
	if (!at)
		return xstrdup(given);
	strbuf_add(&sb, given, (size_t)(auth - given));
	strbuf_addstr(&sb, "***");
	strbuf_addstr(&sb, at);
	return strbuf_detach(&sb);
}

int cmsurl_as_given(const char *given, char **out, char *err, size_t errlen)
{
	struct url u;
	struct strbuf sb = STRBUF_INIT;
	int rc = -1;

	*out = NULL;
	if (parse(given, &u, err, errlen))
		goto out;
	if (!u.scheme[0]) {
		strbuf_errf(err, errlen, "a CMS URL used as given needs its scheme (http:// or https://)");
		goto out;
	}
	if (u.query) {
		strbuf_errf(err, errlen, "a CMS URL used as given cannot have a query or a fragment");
		goto out;
	}
	while (u.pathlen && u.path[u.pathlen - 1] == '/')
		u.pathlen--;
	strbuf_addf(&sb, "%s://%s", u.scheme, u.host);
	if (u.port)
		strbuf_addf(&sb, ":%ld", u.port);
	strbuf_add(&sb, u.path, u.pathlen);
	*out = strbuf_detach(&sb);
	rc = 0;
out:
	free(u.host);
	strbuf_release(&sb);
	return rc;
}

/* ---- the renaming table and the configuration file ---- */

static void add_rename(struct cmsurl_config *cfg, const char *from, const char *to)
{
	cfg->renames = xrealloc(cfg->renames, (cfg->nrenames + 1) * sizeof(*cfg->renames));
	cfg->renames[cfg->nrenames].from = xstrdup(from);
	cfg->renames[cfg->nrenames].to = xstrdup(to);
	cfg->nrenames++;
}

static void add_local(struct cmsurl_config *cfg, const char *name)
{
	cfg->locals = xrealloc(cfg->locals, (cfg->nlocals + 1) * sizeof(*cfg->locals));
	cfg->locals[cfg->nlocals++] = xstrdup(name);
}

void cmsurl_config_defaults(struct cmsurl_config *cfg)
{
	size_t i;

	for (i = 0; i < sizeof(default_renames) / sizeof(default_renames[0]); i++)
		add_rename(cfg, default_renames[i].from, default_renames[i].to);
	for (i = 0; i < sizeof(default_locals) / sizeof(default_locals[0]); i++)
		add_local(cfg, default_locals[i]);
}

const char *cmsurl_rename(const struct cmsurl_config *cfg, const char *label)
{
	size_t i;

	/* the last line naming a label wins, so the file overrides the defaults */
	for (i = cfg->nrenames; i-- > 0;)
		if (!strcmp(cfg->renames[i].from, label))
			return cfg->renames[i].to;
	return label;
}

#define MAX_TOKENS 4

/*
 * Split line (modified in place) at white space into at most MAX_TOKENS.
 * A token starting with '#' begins a comment, up to the end of the line.
 */
static size_t tokenize(char *line, char *tok[MAX_TOKENS])
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#' || n == MAX_TOKENS)
			return n;
		tok[n++] = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (*p)
			*p++ = '\0';
	}
}

static void set_str(char **slot, const char *v)
{
	free(*slot);
	*slot = xstrdup(v);
}

/* Apply one line (n bytes at text) of the file `name`. */
static int config_line(struct cmsurl_config *cfg, const char *text, size_t n, const char *name,
		       int lineno, char *err, size_t errlen)
{
	char *line = xstrndup(text, n), *tok[MAX_TOKENS], *url = NULL, *p, sub[CMSURL_ERR];
	size_t ntok = tokenize(line, tok), i;
	int rc = -1;

	for (i = 1; ntok && strcmp(tok[0], "url") && strcmp(tok[0], "cms-url") && i < ntok; i++)
		for (p = tok[i]; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	if (!ntok) {
		rc = 0;
	} else if (!strcmp(tok[0], "local")) {
		if (ntok != 2 || !valid_name(tok[1][0] == '.' ? tok[1] + 1 : tok[1]))
			strbuf_errf(err, errlen, "%s:%d: 'local' takes one host name, or '.domain' for "
			     "every name in it, as in 'local cmsd.lan'", name, lineno);
		else {
			add_local(cfg, tok[1]);
			rc = 0;
		}
	} else if (!strcmp(tok[0], "rename")) {
		if (ntok != 3 || !valid_label(tok[1], strlen(tok[1])) ||
		    !valid_label(tok[2], strlen(tok[2])))
			strbuf_errf(err, errlen, "%s:%d: 'rename' takes two host labels, "
			     "as in 'rename ecc-prod engg-prod'", name, lineno);
		else {
			add_rename(cfg, tok[1], tok[2]);
			rc = 0;
		}
	} else if (!strcmp(tok[0], "url") || !strcmp(tok[0], "cms-url")) {
		bool as_given = tok[0][0] == 'c';

		if (ntok != 2)
			strbuf_errf(err, errlen, "%s:%d: '%s' takes one URL", name, lineno, tok[0]);
		else if (as_given ? cmsurl_as_given(tok[1], &url, sub, sizeof(sub))
				  : cmsurl_derive(cfg, tok[1], &url, sub, sizeof(sub)))
			strbuf_errf(err, errlen, "%s:%d: %s", name, lineno, sub);
		else {
			set_str(as_given ? &cfg->cms_url : &cfg->url, tok[1]);
			rc = 0;
		}
	} else {
		strbuf_errf(err, errlen, "%s:%d: unknown setting '%s' (rename, local, url or cms-url)", name,
		     lineno, tok[0]);
	}
	free(url);
	free(line);
	return rc;
}

int cmsurl_config_parse(struct cmsurl_config *cfg, const char *text, const char *name,
			char *err, size_t errlen)
{
	const char *line = text;
	int lineno = 0;

	if (!strncmp(line, "\xEF\xBB\xBF", 3))
		line += 3; /* the byte-order mark some editors write */

	while (*line) {
		const char *eol = strchr(line, '\n');
		size_t n = eol ? (size_t)(eol - line) : strlen(line);

		if (config_line(cfg, line, n, name, ++lineno, err, errlen))
			return -1;
		line += n + (eol ? 1 : 0);
	}
	return 0;
}

int cmsurl_config_load(struct cmsurl_config *cfg, const char *path, char *err, size_t errlen)
{
	struct strbuf file = STRBUF_INIT, text = STRBUF_INIT;
	bool must_exist = path && *path;
	FILE *f = NULL;
	char chunk[4096];
	size_t n;
	int rc = -1;

	if (!must_exist) {
		const char *home = getenv("HOME");

		if (!home || !*home)
			return 0;
		strbuf_addf(&file, "%s/.config/cmsctl/config", home);
		path = file.buf;
	}
	f = fopen(path, "r");
	if (!f) {
		if (!must_exist && (errno == ENOENT || errno == ENOTDIR))
			rc = 0;
		else
			strbuf_errf(err, errlen, "cannot read the configuration file %s: %s", path,
			     strerror(errno));
		goto out;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (text.len + n > CONFIG_MAX) {
			strbuf_errf(err, errlen, "%s: larger than %d bytes", path, CONFIG_MAX);
			goto out;
		}
		strbuf_add(&text, chunk, n);
	}
	if (ferror(f)) {
		strbuf_errf(err, errlen, "cannot read the configuration file %s", path);
		goto out;
	}
	rc = cmsurl_config_parse(cfg, strbuf_str(&text), path, err, errlen);
out:
	if (f)
		fclose(f);
	strbuf_release(&text);
	strbuf_release(&file);
	return rc;
}

void cmsurl_config_release(struct cmsurl_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nrenames; i++) {
		free(cfg->renames[i].from);
		free(cfg->renames[i].to);
	}
	free(cfg->renames);
	for (i = 0; i < cfg->nlocals; i++)
		free(cfg->locals[i]);
	free(cfg->locals);
	free(cfg->url);
	free(cfg->cms_url);
	cfg->renames = NULL;
	cfg->nrenames = 0;
	cfg->locals = NULL;
	cfg->nlocals = 0;
	cfg->url = cfg->cms_url = NULL;
}
