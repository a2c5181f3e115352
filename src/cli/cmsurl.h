/*
 * cmsurl.h - the CMS base URL of API.md §7, derived from whichever URL the
 * user has, and the configuration file that extends its renaming table.
 *
 * Pure string work and one file read: no network, no libcurl, so that the
 * unit tests can hold every rule.  The rules are written out in
 * docs/cmsctl.md.
 */
#ifndef CMSCTL_CMSURL_H
#define CMSCTL_CMSURL_H

#include <stddef.h>

#define CMSURL_ERR 256 /* size of the error buffers below */

struct cmsurl_rename {
	char *from; /* environment label as it appears in the given host */
	char *to;   /* the label that serves it */
};

struct cmsurl_config {
	struct cmsurl_rename *renames; /* the defaults, then the file's lines */
	size_t nrenames;
	char **locals;  /* local host names, ".suffix" for a whole domain */
	size_t nlocals; /* (localhost and *.localhost are always local) */
	char *url;     /* `url` line: a default --url (derived), or NULL */
	char *cms_url; /* `cms-url` line: a default --cms-url (as given), or NULL */
};

#define CMSURL_CONFIG_INIT { NULL, 0, NULL, 0, NULL, NULL }

/* Fill cfg with the built-in tables: the renamings (ecc-prod -> engg-prod)
 * and the local names (localhost.localdomain, *.local, host.docker.internal,
 * host.containers.internal). */
void cmsurl_config_defaults(struct cmsurl_config *cfg);

/*
 * Apply the lines of a configuration file's text to cfg.  name labels error
 * messages ("FILE:LINE: ...").  Returns 0, or -1 with err filled; cfg then
 * holds the lines before the bad one.
 */
int cmsurl_config_parse(struct cmsurl_config *cfg, const char *text, const char *name,
			char *err, size_t errlen);

/*
 * Read the configuration file: path when given (it must exist), else
 * ~/.config/cmsctl/config when it exists.  Returns 0, or -1 with err filled
 * (unreadable file, bad line).
 */
int cmsurl_config_load(struct cmsurl_config *cfg, const char *path, char *err, size_t errlen);

/* Free what cfg holds and reset it to CMSURL_CONFIG_INIT. */
void cmsurl_config_release(struct cmsurl_config *cfg);

/* The label that serves environment label `label` (itself when not renamed). */
const char *cmsurl_rename(const struct cmsurl_config *cfg, const char *label);

/*
 * Derive the CMS base URL from `given` (API.md §7): *out gets a new string
 * such as "https://cms.bdt.cc.exotel.com", caller frees.  Returns 0, or -1
 * with err filled when `given` is not a usable http(s) URL.
 */
int cmsurl_derive(const struct cmsurl_config *cfg, const char *given, char **out, char *err,
		  size_t errlen);

/*
 * given as it may be shown in a message: a user and password inside it
 * ("http://u:pw@host") become "***@".  Returns a new string; caller frees.
 */
char *cmsurl_redact(const char *given);

/*
 * Check a URL used as given (--cms-url): http or https, a valid host and
 * port, no query or fragment.  *out gets it with the scheme and host in lower
 * case and trailing slashes removed (a path prefix is kept).  Returns 0, or
 * -1 with err filled.
 */
int cmsurl_as_given(const char *given, char **out, char *err, size_t errlen);

#endif
