/*
 * test_cmsurl.c - the CMS base URL of API.md §7 (src/cli/cmsurl.c): every
 * row of its table, ports, trailing slashes, paths and queries, upper case,
 * IPv6 literals, two-label hosts, URLs without a scheme, garbage; the
 * renaming table and the configuration file; --cms-url used as given.  Also
 * the CSV reader of the mapping import (src/cli/csv.c).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmsurl.h"
#include "cli/csv.h"
#include "unit.h"

void suite_cmsurl(void);
void suite_csv(void);

static struct cmsurl_config cfg = CMSURL_CONFIG_INIT;

#define LABEL63 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* derive(in) == want; says what it got when not. */
static bool derives_with(const struct cmsurl_config *c, const char *in, const char *want)
{
	char *out = NULL, err[CMSURL_ERR] = "";
	int rc = cmsurl_derive(c, in, &out, err, sizeof(err));
	bool ok = rc == 0 && out && !strcmp(out, want);

	if (!ok)
		fprintf(stderr, "  derive(\"%s\") = %s%s, want %s\n", in, rc ? "error: " : "",
			rc ? err : out, want);
	free(out);
	return ok;
}

static bool derives(const char *in, const char *want)
{
	return derives_with(&cfg, in, want);
}

/* derive(in) fails with a message containing `says`. */
static bool rejects(const char *in, const char *says)
{
	char *out = NULL, err[CMSURL_ERR] = "";
	int rc = cmsurl_derive(&cfg, in, &out, err, sizeof(err));
	bool ok = rc == -1 && !out && strstr(err, says);

	if (!ok)
		fprintf(stderr, "  derive(\"%s\") = %s (%s), want an error saying \"%s\"\n", in,
			out ? out : "error", err, says);
	free(out);
	return ok;
}

static bool as_given(const char *in, const char *want)
{
	char *out = NULL, err[CMSURL_ERR] = "";
	int rc = cmsurl_as_given(in, &out, err, sizeof(err));
	bool ok = want ? rc == 0 && !strcmp(out, want) : rc == -1 && !out && err[0];

	if (!ok)
		fprintf(stderr, "  as_given(\"%s\") = %s, want %s\n", in, rc ? err : out,
			want ? want : "an error");
	free(out);
	return ok;
}

static void setup(void)
{
	cmsurl_config_release(&cfg);
	cmsurl_config_defaults(&cfg);
}

static void table_rows(void)
{
	setup();
	/* API.md §7, row by row */
	CHECK(derives("http://gateway.bdt.cc.exotel.com", "https://cms.bdt.cc.exotel.com"));
	CHECK(derives("https://exotel.ecc-prod.cc.exotel.com", "https://cms.engg-prod.cc.exotel.com"));
	CHECK(derives("https://cms.bdt.cc.exotel.com", "https://cms.bdt.cc.exotel.com"));
	CHECK(derives("http://127.0.0.1:8080", "http://127.0.0.1:8080"));
	CHECK(derives("http://localhost:8080", "http://localhost:8080"));
}

static void ports(void)
{
	setup();
	CHECK(derives("https://gateway.bdt.cc.exotel.com:8443", "https://cms.bdt.cc.exotel.com:8443"));
	CHECK(derives("http://gateway.bdt.cc.exotel.com:8080", "https://cms.bdt.cc.exotel.com:8080"));
	CHECK(derives("https://exotel.ecc-prod.cc.exotel.com:9000/x",
		      "https://cms.engg-prod.cc.exotel.com:9000"));
	/* an explicit default port is no port: the CMS is then on 443 */
	CHECK(derives("https://gateway.bdt.cc.exotel.com:443", "https://cms.bdt.cc.exotel.com"));
	CHECK(derives("http://gateway.bdt.cc.exotel.com:80", "https://cms.bdt.cc.exotel.com"));
	CHECK(derives("gateway.bdt.cc.exotel.com:443", "https://cms.bdt.cc.exotel.com"));
	CHECK(derives("gateway.bdt.cc.exotel.com:80", "https://cms.bdt.cc.exotel.com:80"));
	/* local hosts keep their port exactly, default or not */
	CHECK(derives("http://localhost", "http://localhost"));
	CHECK(derives("http://localhost:80", "http://localhost:80"));
	CHECK(derives("https://127.0.0.1:443", "https://127.0.0.1:443"));
	CHECK(derives("http://10.0.0.7:1", "http://10.0.0.7:1"));
	CHECK(derives("http://10.0.0.7:65535", "http://10.0.0.7:65535"));
	CHECK(derives("http://localhost:08080", "http://localhost:8080"));
}

static void paths_and_queries(void)
{
	setup();
	CHECK(derives("https://gateway.bdt.cc.exotel.com/", "https://cms.bdt.cc.exotel.com"));
	CHECK(derives("https://gateway.bdt.cc.exotel.com///", "https://cms.bdt.cc.exotel.com"));
	CHECK(derives("http://gateway.bdt.cc.exotel.com/cms/configuration/voice/"
		      "campaignLeadUserMapping?campaignId=1&leadId=2",
		      "https://cms.bdt.cc.exotel.com"));
	CHECK(derives("https://gateway.bdt.cc.exotel.com?x=1", "https://cms.bdt.cc.exotel.com"));
	CHECK(derives("https://gateway.bdt.cc.exotel.com#top", "https://cms.bdt.cc.exotel.com"));
	CHECK(derives("https://gateway.bdt.cc.exotel.com:8443/a/b/?c=d#e",
		      "https://cms.bdt.cc.exotel.com:8443"));
	CHECK(derives("http://127.0.0.1:8080/cms/configuration/?x=1#f", "http://127.0.0.1:8080"));
	CHECK(derives("http://localhost:8080/", "http://localhost:8080"));
	CHECK(derives("http://localhost/?", "http://localhost"));
}

/* A "://" inside a path or a query is no scheme (it was once read as one). */
static void scheme_only_in_front(void)
{
	setup();
	CHECK(derives("gateway.bdt.cc.exotel.com/login?next=https://x.y.z/",
		      "https://cms.bdt.cc.exotel.com"));
	CHECK(derives("gateway.bdt.cc.exotel.com?u=http://a.b.c", "https://cms.bdt.cc.exotel.com"));
	CHECK(derives("gateway.bdt.cc.exotel.com#http://a.b.c", "https://cms.bdt.cc.exotel.com"));
	CHECK(derives("localhost:8080/x?next=http://a.b.c", "http://localhost:8080"));
	CHECK(derives("https://gateway.bdt.cc.exotel.com/r?to=ftp://x", "https://cms.bdt.cc.exotel.com"));
	CHECK(rejects("ftp://a.b.c/?x=https://a.b.c", "unsupported scheme 'ftp'"));
	CHECK(rejects("svn+ssh://a.b.c", "unsupported scheme 'svn+ssh'"));
}

static void upper_case(void)
{
	setup();
	CHECK(derives("HTTPS://Exotel.ECC-PROD.CC.Exotel.COM", "https://cms.engg-prod.cc.exotel.com"));
	CHECK(derives("Http://GATEWAY.BDT.cc.exotel.com/Some/Path", "https://cms.bdt.cc.exotel.com"));
	CHECK(derives("HTTP://LOCALHOST:8080", "http://localhost:8080"));
	CHECK(derives("HTTPS://CMS.BDT.CC.EXOTEL.COM", "https://cms.bdt.cc.exotel.com"));
	CHECK(derives("http://[2001:DB8::1]:8080", "http://[2001:db8::1]:8080"));
}

static void ipv6(void)
{
	setup();
	CHECK(derives("http://[::1]:8080", "http://[::1]:8080"));
	CHECK(derives("http://[::1]", "http://[::1]"));
	CHECK(derives("https://[2001:db8::7]:8443/cms?x", "https://[2001:db8::7]:8443"));
	CHECK(derives("[::1]:8080", "http://[::1]:8080"));
	CHECK(derives("http://[::ffff:127.0.0.1]:80", "http://[::ffff:127.0.0.1]:80"));
	CHECK(rejects("http://[::1", "unterminated"));
	CHECK(rejects("http://[]:80", "invalid IPv6"));
	CHECK(rejects("http://[zz::1]:80", "invalid IPv6"));
	CHECK(rejects("http://[::1]x", "after the IPv6"));
	CHECK(rejects("http://[::1]:", "empty"));
	CHECK(rejects("http://::1:8080", "brackets"));
	CHECK(rejects("http://2001:db8::1", "brackets"));
}

static void hosts(void)
{
	setup();
	/* two labels: no service label to replace, so "cms." is put in front */
	CHECK(derives("https://example.com", "https://cms.example.com"));
	CHECK(derives("http://exotel.com:8443/x", "https://cms.exotel.com:8443"));
	CHECK(derives("ecc-prod.com", "https://cms.ecc-prod.com"));
	/* one label, and *.localhost: local, kept */
	CHECK(derives("http://cmsd:8080", "http://cmsd:8080"));
	CHECK(derives("https://cmsd", "https://cmsd"));
	CHECK(derives("http://api.localhost:8080", "http://api.localhost:8080"));
	/* many labels: only the first is replaced, only the second renamed */
	CHECK(derives("https://a.b.c.d.e.f", "https://cms.b.c.d.e.f"));
	CHECK(derives("https://tenant1.ecc-prod.exotel.com", "https://cms.engg-prod.exotel.com"));
	CHECK(derives("https://ecc-prod.bdt.cc.exotel.com", "https://cms.bdt.cc.exotel.com"));
	CHECK(derives("https://gw.x.ecc-prod.exotel.com", "https://cms.x.ecc-prod.exotel.com"));
	CHECK(derives("https://my_tenant.bdt.cc.exotel.com", "https://cms.bdt.cc.exotel.com"));
	/* a fully qualified name's final dot */
	CHECK(derives("https://gateway.bdt.cc.exotel.com.", "https://cms.bdt.cc.exotel.com"));
	/* names of the local machine or network (the local-name table) */
	CHECK(derives("http://localhost.localdomain:8080", "http://localhost.localdomain:8080"));
	CHECK(derives("http://host.docker.internal:8080", "http://host.docker.internal:8080"));
	CHECK(derives("host.containers.internal:8080", "http://host.containers.internal:8080"));
	CHECK(derives("https://mybox.local:8443/", "https://mybox.local:8443"));
	CHECK(derives("http://cmsd.lab.local", "http://cmsd.lab.local"));
	CHECK(derives("HTTP://MyBox.LOCAL.:8080", "http://mybox.local:8080"));
	/* ... but only whole labels match */
	CHECK(derives("https://gw.bdt.notlocal", "https://cms.bdt.notlocal"));
	CHECK(derives("https://gw.docker.internal", "https://cms.docker.internal"));
	/* numeric hosts */
	CHECK(derives("http://192.168.1.20:8080", "http://192.168.1.20:8080"));
	CHECK(derives("https://8.8.8.8", "https://8.8.8.8"));
}

static void no_scheme(void)
{
	setup();
	CHECK(derives("gateway.bdt.cc.exotel.com", "https://cms.bdt.cc.exotel.com"));
	CHECK(derives("exotel.ecc-prod.cc.exotel.com/x?y", "https://cms.engg-prod.cc.exotel.com"));
	CHECK(derives("localhost:8080", "http://localhost:8080"));
	CHECK(derives("127.0.0.1:8080", "http://127.0.0.1:8080"));
	CHECK(derives("  https://gateway.bdt.cc.exotel.com/ \n", "https://cms.bdt.cc.exotel.com"));
}

static void garbage(void)
{
	char long_label[100], long_host[300], *out = NULL, err[CMSURL_ERR];
	size_t i;

	setup();
	CHECK(rejects("", "empty"));
	CHECK(rejects("   ", "empty"));
	CHECK(rejects("ftp://gateway.bdt.cc.exotel.com", "unsupported scheme 'ftp'"));
	CHECK(rejects("httpx://a.b.c", "unsupported scheme"));
	CHECK(rejects("://a.b.c", "nothing before"));
	CHECK(rejects("http://", "no host"));
	CHECK(rejects("http:///cms", "no host"));
	CHECK(rejects("http://?x", "no host"));
	CHECK(rejects("/just/a/path", "no host"));
	CHECK(rejects("http://:8080", "no host"));
	CHECK(rejects("http://a.b.c:", "empty"));
	CHECK(rejects("http://a.b.c:abc", "invalid port"));
	CHECK(rejects("http://a.b.c:-1", "invalid port"));
	CHECK(rejects("http://a.b.c:0", "out of range"));
	CHECK(rejects("http://a.b.c:65536", "out of range"));
	CHECK(rejects("http://a.b.c:123456", "invalid port"));
	CHECK(rejects("http://a.b.c:80:90", "brackets"));
	CHECK(rejects("http://user:pw@gateway.bdt.cc.exotel.com", "password"));
	CHECK(rejects("http://gate way.bdt.cc", "space"));
	CHECK(derives("http://gateway.bdt.cc.exotel.com\t", "https://cms.bdt.cc.exotel.com"));
	CHECK(rejects("http://a\x01.b.c", "control"));
	CHECK(rejects("http://h\xc3\xa9llo.example.com", "ASCII"));
	CHECK(rejects("http://a..b.c", "empty label"));
	CHECK(rejects("http://.a.b.c", "empty label"));
	CHECK(rejects("http://a.b.c..", "empty label"));
	CHECK(rejects("http://-a.b.c", "'-'"));
	CHECK(rejects("http://a-.b.c", "'-'"));
	CHECK(rejects("http://a!b.c.d", "not allowed"));
	CHECK(rejects("http://a%2eb.c.d", "not allowed"));
	CHECK(rejects("http://300.1.1.1", "invalid IPv4"));
	CHECK(rejects("http://1.2.3", "invalid IPv4"));
	CHECK(rejects("http://1.2.3.4.5", "invalid IPv4"));
	CHECK(rejects("http://host.123", "invalid IPv4"));
	CHECK(rejects("mailto:someone@example.com", "password"));
	CHECK(rejects("http:/gateway.bdt.cc.exotel.com", "port"));
	for (i = 0; i < 64; i++)
		long_label[i] = 'a';
	memcpy(long_label + 64, ".b.c", 5);
	CHECK(rejects(long_label, "longer than 63"));
	for (i = 0; i < 260; i++)
		long_host[i] = i % 2 ? '.' : 'a';
	long_host[260] = '\0';
	CHECK(rejects(long_host, "longer than 253"));
	/* 252 characters derive "cms.b.c..." of 254: refused, not a URL that
	 * fails when given again (found by fuzz/cmsurl.c) */
	memset(long_host, 0, sizeof(long_host));
	strcpy(long_host, "http://a");
	for (i = 0; i < 4; i++)
		strcat(strcat(long_host, "."), i < 3 ? LABEL63 : LABEL63 + 5);
	CHECK(strlen(long_host) == strlen("http://") + 252);
	CHECK(rejects(long_host, "would be longer than 253"));
	long_host[strlen(long_host) - 1] = '\0'; /* 251: "cms." makes 253, allowed */
	CHECK(cmsurl_derive(&cfg, long_host, &out, err, sizeof(err)) == 0 && out &&
	      strlen(out) == strlen("https://") + 253);
	free(out);
}

static void idempotent(void)
{
	static const char *const in[] = {
		"http://gateway.bdt.cc.exotel.com", "https://exotel.ecc-prod.cc.exotel.com:8443/x",
		"http://localhost:8080", "example.com", "http://[::1]:9", "cmsd",
	};
	size_t i;

	setup();
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		char *once = NULL, *twice = NULL, err[CMSURL_ERR];

		CHECK(cmsurl_derive(&cfg, in[i], &once, err, sizeof(err)) == 0);
		CHECK(once && cmsurl_derive(&cfg, once, &twice, err, sizeof(err)) == 0);
		CHECK(once && twice && !strcmp(once, twice));
		free(once);
		free(twice);
	}
}

static bool parses(struct cmsurl_config *c, const char *text, const char *says)
{
	char err[CMSURL_ERR] = "";
	int rc = cmsurl_config_parse(c, text, "cfg", err, sizeof(err));
	bool ok = says ? rc == -1 && strstr(err, says) : rc == 0;

	if (!ok)
		fprintf(stderr, "  config \"%s\": rc %d, err \"%s\", want %s\n", text, rc, err,
			says ? says : "success");
	return ok;
}

static void renaming(void)
{
	struct cmsurl_config c = CMSURL_CONFIG_INIT;

	cmsurl_config_defaults(&c);
	CHECK(!strcmp(cmsurl_rename(&c, "ecc-prod"), "engg-prod"));
	CHECK(!strcmp(cmsurl_rename(&c, "bdt"), "bdt"));
	CHECK(parses(&c, "# environments served elsewhere\n\n  rename  BDT  bdt-prod  \r\n"
			 "rename qa1 qa\n", NULL));
	CHECK(derives_with(&c, "http://gateway.bdt.cc.exotel.com", "https://cms.bdt-prod.cc.exotel.com"));
	CHECK(derives_with(&c, "https://x.qa1.exotel.com:8443", "https://cms.qa.exotel.com:8443"));
	CHECK(derives_with(&c, "https://exotel.ecc-prod.cc.exotel.com",
			   "https://cms.engg-prod.cc.exotel.com"));
	/* a line overrides the built-in row, also to switch it off */
	CHECK(parses(&c, "rename ecc-prod ecc-prod", NULL));
	CHECK(derives_with(&c, "https://exotel.ecc-prod.cc.exotel.com",
			   "https://cms.ecc-prod.cc.exotel.com"));
	CHECK(parses(&c, "rename ecc-prod prod2\n", NULL));
	CHECK(derives_with(&c, "https://exotel.ecc-prod.cc.exotel.com",
			   "https://cms.prod2.cc.exotel.com"));
	/* a rename never touches local hosts or the first label */
	CHECK(parses(&c, "rename localhost elsewhere\nrename gateway other\n", NULL));
	CHECK(derives_with(&c, "http://localhost:8080", "http://localhost:8080"));
	CHECK(derives_with(&c, "https://gateway.bdt.cc.exotel.com",
			   "https://cms.bdt-prod.cc.exotel.com"));

	CHECK(parses(&c, "url https://gateway.bdt.cc.exotel.com\ncms-url http://127.0.0.1:8080/\n",
		     NULL));
	CHECK(c.url && !strcmp(c.url, "https://gateway.bdt.cc.exotel.com"));
	CHECK(c.cms_url && !strcmp(c.cms_url, "http://127.0.0.1:8080/"));
	CHECK(parses(&c, "url https://other.bdt.cc.exotel.com", NULL)); /* the last one wins */
	CHECK(!strcmp(c.url, "https://other.bdt.cc.exotel.com"));

	CHECK(parses(&c, "rename onlyone", "cfg:1: 'rename' takes two"));
	CHECK(parses(&c, "\n\nrename a b c", "cfg:3:"));
	CHECK(parses(&c, "rename a.b c", "two host labels"));
	CHECK(parses(&c, "rename a b!", "two host labels"));
	/* found by fuzz/cmsurl: a target no host may carry */
	CHECK(parses(&c, "rename bdt -x-", "two host labels"));
	CHECK(parses(&c, "rename bdt x-", "two host labels"));
	CHECK(parses(&c, "rename -bdt x", "two host labels"));
	CHECK(parses(&c, "colour blue", "unknown setting 'colour'"));
	CHECK(parses(&c, "url", "takes one URL"));
	CHECK(parses(&c, "url ftp://x.y.z", "cfg:1: unsupported scheme"));
	CHECK(parses(&c, "cms-url gateway.bdt.cc.exotel.com", "needs its scheme"));
	CHECK(parses(&c, "local", "'local' takes one host name"));
	CHECK(parses(&c, "local a b", "'local' takes one host name"));
	CHECK(parses(&c, "local a..b", "'local' takes one host name"));
	CHECK(parses(&c, "local .", "'local' takes one host name"));
	CHECK(parses(&c, "local -a.b", "'local' takes one host name"));
	cmsurl_config_release(&c);
	CHECK(c.nrenames == 0 && c.nlocals == 0 && !c.url && !c.cms_url);
}

/* `local` lines, trailing comments, a byte-order mark: each was once a
 * usage error or ignored. */
static void config_lines(void)
{
	struct cmsurl_config c = CMSURL_CONFIG_INIT;

	cmsurl_config_defaults(&c);
	CHECK(derives_with(&c, "http://cms-dev.lan.example:8080", "https://cms.lan.example:8080"));
	CHECK(parses(&c, "local CMS-Dev.lan.example  # my test server\nlocal .corp.test\n", NULL));
	CHECK(derives_with(&c, "http://cms-dev.lan.example:8080", "http://cms-dev.lan.example:8080"));
	CHECK(derives_with(&c, "http://a.b.corp.test:8080", "http://a.b.corp.test:8080"));
	CHECK(derives_with(&c, "http://corp.test", "https://cms.corp.test"));
	CHECK(derives_with(&c, "http://other.lan.example", "https://cms.lan.example"));
	CHECK(parses(&c, "rename qa1 qa # qa1 moved\n# rename qa2 qa\n", NULL));
	CHECK(!strcmp(cmsurl_rename(&c, "qa1"), "qa"));
	CHECK(!strcmp(cmsurl_rename(&c, "qa2"), "qa2"));
	CHECK(parses(&c, "url https://gw.bdt.cc.exotel.com/#x # the gateway", NULL));
	CHECK(c.url && !strcmp(c.url, "https://gw.bdt.cc.exotel.com/#x"));
	CHECK(parses(&c, "\xEF\xBB\xBFrename qa3 qa\r\n", NULL));
	CHECK(!strcmp(cmsurl_rename(&c, "qa3"), "qa"));
	CHECK(parses(&c, "rename a b c # d", "'rename' takes two"));
	cmsurl_config_release(&c);
}

static bool redacts(const char *in, const char *want)
{
	char *out = cmsurl_redact(in);
	bool ok = out && !strcmp(out, want);

	if (!ok)
		fprintf(stderr, "  redact(\"%s\") = %s, want %s\n", in, out, want);
	free(out);
	return ok;
}

/* What error messages show of a URL: never its password. */
static void redaction(void)
{
	CHECK(redacts("http://admin:s3cret@gw.bdt.cc.exotel.com/x", "http://***@gw.bdt.cc.exotel.com/x"));
	CHECK(redacts("admin:s3cret@gw.bdt.cc.exotel.com", "***@gw.bdt.cc.exotel.com"));
	CHECK(redacts("  https://a:b@c@host:8443?x=@y", "  https://***@host:8443?x=@y"));
	CHECK(redacts("https://gw.bdt.cc.exotel.com/?user=a@b", "https://gw.bdt.cc.exotel.com/?user=a@b"));
	CHECK(redacts("ftp://u:p@x", "ftp://***@x"));
	CHECK(redacts("", ""));
	CHECK(redacts("http://", "http://"));
}

static void config_file(void)
{
	struct cmsurl_config c = CMSURL_CONFIG_INIT;
	char dir[] = "/tmp/cmsurl-test-XXXXXX", path[128], err[CMSURL_ERR];
	const char *old_home = getenv("HOME");
	char *saved = old_home ? strdup(old_home) : NULL;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	/* an explicitly named file must exist */
	snprintf(path, sizeof(path), "%s/nope", dir);
	CHECK(cmsurl_config_load(&c, path, err, sizeof(err)) == -1 && strstr(err, path));
	/* the default file may be missing */
	setenv("HOME", dir, 1);
	CHECK(cmsurl_config_load(&c, NULL, err, sizeof(err)) == 0 && c.nrenames == 0);
	CHECK(cmsurl_config_load(&c, "", err, sizeof(err)) == 0);
	/* ~/.config/cmsctl/config is read when present */
	snprintf(path, sizeof(path), "%s/.config", dir);
	CHECK(mkdir(path, 0700) == 0);
	snprintf(path, sizeof(path), "%s/.config/cmsctl", dir);
	CHECK(mkdir(path, 0700) == 0);
	snprintf(path, sizeof(path), "%s/.config/cmsctl/config", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("rename bdt bdt2\nurl https://gw.bdt.cc.exotel.com\n", f);
		fclose(f);
	}
	CHECK(cmsurl_config_load(&c, NULL, err, sizeof(err)) == 0);
	CHECK(!strcmp(cmsurl_rename(&c, "bdt"), "bdt2"));
	CHECK(c.url && !strcmp(c.url, "https://gw.bdt.cc.exotel.com"));
	cmsurl_config_release(&c);
	/* and a bad line names the file and the line */
	f = fopen(path, "w");
	if (f) {
		fputs("# ok\nrename x\n", f);
		fclose(f);
	}
	CHECK(cmsurl_config_load(&c, path, err, sizeof(err)) == -1 && strstr(err, ":2:") &&
	      strstr(err, path));
	cmsurl_config_release(&c);
	unlink(path);
	snprintf(path, sizeof(path), "%s/.config/cmsctl", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/.config", dir);
	rmdir(path);
	rmdir(dir);
	if (saved)
		setenv("HOME", saved, 1);
	else
		unsetenv("HOME");
	free(saved);
}

static void used_as_given(void)
{
	CHECK(as_given("http://127.0.0.1:8080/", "http://127.0.0.1:8080"));
	CHECK(as_given("https://gateway.bdt.cc.exotel.com", "https://gateway.bdt.cc.exotel.com"));
	CHECK(as_given("HTTPS://Proxy.Example.COM/cms-prefix//", "https://proxy.example.com/cms-prefix"));
	CHECK(as_given("https://exotel.ecc-prod.cc.exotel.com:443",
		       "https://exotel.ecc-prod.cc.exotel.com:443"));
	CHECK(as_given("http://[::1]:8080", "http://[::1]:8080"));
	CHECK(as_given("gateway.bdt.cc.exotel.com", NULL));
	CHECK(as_given("http://a.b.c/?x=1", NULL));
	CHECK(as_given("http://a.b.c#f", NULL));
	CHECK(as_given("ftp://a.b.c", NULL));
	CHECK(as_given("http://a.b.c:0", NULL));
	CHECK(as_given("", NULL));
}

static bool splits(const char *line, int n, const char *const *want)
{
	char **f = NULL;
	const char *err = NULL;
	int got = csv_split(line, strlen(line), &f, &err), i;
	bool ok = got == n;

	for (i = 0; ok && i < n; i++)
		ok = !strcmp(f[i], want[i]);
	if (!ok)
		fprintf(stderr, "  csv \"%s\": %d fields%s%s\n", line, got, err ? ", " : "",
			err ? err : "");
	if (got > 0)
		csv_free(f, got);
	return ok;
}

static void csv(void)
{
	char **f = NULL;
	const char *err = NULL;

	CHECK(splits("1,2,anav_agent,assign", 4,
		     (const char *const[]){ "1", "2", "anav_agent", "assign" }));
	CHECK(splits("1,2,anav_agent,assign\r", 4,
		     (const char *const[]){ "1", "2", "anav_agent", "assign" }));
	CHECK(splits(" 1 ,\t2 , anav agent ,assign ", 4,
		     (const char *const[]){ "1", "2", "anav agent", "assign" }));
	CHECK(splits("\"1\", \"2\" ,\"a,b\",\"say \"\"hi\"\"\"", 4,
		     (const char *const[]){ "1", "2", "a,b", "say \"hi\"" }));
	CHECK(splits(",,,", 4, (const char *const[]){ "", "", "", "" }));
	CHECK(splits("\"\"", 1, (const char *const[]){ "" }));
	CHECK(splits("", 1, (const char *const[]){ "" }));
	CHECK(splits("a", 1, (const char *const[]){ "a" }));
	CHECK(csv_split("1,\"open", 7, &f, &err) == -1 && err && strstr(err, "closing quote"));
	CHECK(!f);
	CHECK(csv_split("\"a\"b,c", 6, &f, &err) == -1 && strstr(err, "after a closing quote"));
	/* len bounds the line: nothing past it is read */
	CHECK(csv_split("a,b,c", 3, &f, &err) == 2);
	csv_free(f, 2);
}

void suite_cmsurl(void)
{
	static const struct unit_test t[] = {
		{ "table_rows", table_rows },	      { "ports", ports },
		{ "paths_and_queries", paths_and_queries }, { "upper_case", upper_case },
		{ "scheme_only_in_front", scheme_only_in_front },
		{ "config_lines", config_lines },     { "redaction", redaction },
		{ "ipv6", ipv6 },		      { "hosts", hosts },
		{ "no_scheme", no_scheme },	      { "garbage", garbage },
		{ "idempotent", idempotent },	      { "renaming", renaming },
		{ "config_file", config_file },	      { "used_as_given", used_as_given },
	};
	unit_run("cmsurl", t, sizeof(t) / sizeof(t[0]));
	cmsurl_config_release(&cfg);
}

void suite_csv(void)
{
	static const struct unit_test t[] = { { "split", csv } };
	unit_run("csv", t, sizeof(t) / sizeof(t[0]));
}
