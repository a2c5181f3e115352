/*
 * test_proxy.c - trusted proxies (src/proxy.c): the list's syntax, CIDR
 * matching in both families, the client's address from X-Forwarded-For
 * (right-most untrusted entry, only from a trusted peer, malformed entries),
 * and the per-address connection count.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "proxy.h"
#include "unit.h"

void suite_proxy(void);

static struct sockaddr_storage ss;

/* The socket address of numeric text ip (either family). */
static const struct sockaddr *sa_of(const char *ip)
{
	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &s4->sin_addr);
	}
	return (const struct sockaddr *)&ss;
}

/* Whether the client of (peer, xff) is `want`. */
static int client_is(const char *peer, const char *xff, const char *want)
{
	char out[PROXY_ADDR_MAX];

	proxy_client(sa_of(peer), xff, out, sizeof(out));
	if (strcmp(out, want))
		fprintf(stderr, "  peer %s xff '%s': got %s, wanted %s\n", peer, xff ? xff : "(none)",
			out, want);
	return !strcmp(out, want);
}

static void list_syntax(void)
{
	char err[128];

	CHECK(proxy_init(NULL, err, sizeof(err)) == 0 && !proxy_enabled());
	CHECK(proxy_init("", err, sizeof(err)) == 0 && !proxy_enabled());
	CHECK(proxy_init("127.0.0.5", err, sizeof(err)) == 0 && proxy_enabled());
	CHECK(proxy_init(" 10.0.0.0/8, fd00::/8 ,::1,192.168.1.7/32", err, sizeof(err)) == 0);
	CHECK(proxy_init("10.0.0.0/33", err, sizeof(err)) == -1 && !proxy_enabled());
	CHECK(strstr(err, "10.0.0.0/33") != NULL);
	CHECK(proxy_init("fd00::/129", err, sizeof(err)) == -1);
	CHECK(proxy_init("10.0.0.1/", err, sizeof(err)) == -1);
	CHECK(proxy_init("10.0.0.1/-1", err, sizeof(err)) == -1);
	CHECK(proxy_init("balancer.local", err, sizeof(err)) == -1);
	CHECK(proxy_init("10.0.0.256", err, sizeof(err)) == -1);
	CHECK(proxy_init("127.0.0.5,nonsense", err, sizeof(err)) == -1 && !proxy_enabled());
	proxy_init(NULL, err, sizeof(err));
}

static void matching(void)
{
	char err[128];

	CHECK(proxy_init("10.1.0.0/16,127.0.0.5,fd00:ab::/32,::1,0.0.0.0/0x", err, sizeof(err)) == -1);
	CHECK(proxy_init("10.1.0.0/16,127.0.0.5,fd00:ab::/32,::1,172.16.0.0/12", err, sizeof(err)) == 0);
	CHECK(proxy_trusted(sa_of("10.1.255.3")));
	CHECK(!proxy_trusted(sa_of("10.2.0.1")));
	CHECK(proxy_trusted(sa_of("127.0.0.5")));
	CHECK(!proxy_trusted(sa_of("127.0.0.6")));
	CHECK(proxy_trusted(sa_of("172.31.255.255")));
	CHECK(!proxy_trusted(sa_of("172.32.0.0")));
	CHECK(proxy_trusted(sa_of("fd00:ab:1::9")));
	CHECK(!proxy_trusted(sa_of("fd00:ac::9")));
	CHECK(proxy_trusted(sa_of("::1")));
	CHECK(!proxy_trusted(sa_of("::2")));
	/* a dual-stack listener's IPv4 peer */
	CHECK(proxy_trusted(sa_of("::ffff:127.0.0.5")));
	CHECK(!proxy_trusted(NULL));
	proxy_init(NULL, err, sizeof(err));
	CHECK(!proxy_trusted(sa_of("127.0.0.5")));
}

static void forwarded_for(void)
{
	char err[128];

	CHECK(proxy_init("127.0.0.5,10.0.0.0/8,fd00::/8", err, sizeof(err)) == 0);
	/* an untrusted peer: its header is ignored, whatever it says */
	CHECK(client_is("198.51.100.7", "203.0.113.9", "198.51.100.7"));
	CHECK(client_is("::ffff:198.51.100.7", "203.0.113.9", "198.51.100.7"));
	/* a trusted peer without the header is its own client */
	CHECK(client_is("127.0.0.5", NULL, "127.0.0.5"));
	CHECK(client_is("127.0.0.5", "203.0.113.9", "203.0.113.9"));
	/* right-most untrusted: what the client wrote itself is never believed */
	CHECK(client_is("127.0.0.5", "1.1.1.1, 203.0.113.9", "203.0.113.9"));
	CHECK(client_is("127.0.0.5", "1.1.1.1, 203.0.113.9, 10.0.0.3", "203.0.113.9"));
	CHECK(client_is("127.0.0.5", "1.1.1.1,203.0.113.9,10.0.0.3,fd00::1", "203.0.113.9"));
	/* all trusted: the left-most */
	CHECK(client_is("127.0.0.5", "10.0.0.1, 10.0.0.3", "10.0.0.1"));
	/* ports and brackets, IPv6 */
	CHECK(client_is("127.0.0.5", "203.0.113.9:4711", "203.0.113.9"));
	CHECK(client_is("127.0.0.5", "[2001:db8::7]:443", "2001:db8::7"));
	CHECK(client_is("127.0.0.5", "2001:db8::7", "2001:db8::7"));
	CHECK(client_is("127.0.0.5", "[2001:db8::7]", "2001:db8::7"));
	CHECK(client_is("127.0.0.5", "::ffff:203.0.113.9", "203.0.113.9"));
	CHECK(client_is("fd00::3", "203.0.113.9", "203.0.113.9"));
	/* empty entries are skipped */
	CHECK(client_is("127.0.0.5", "203.0.113.9, ,", "203.0.113.9"));
	CHECK(client_is("127.0.0.5", "", "127.0.0.5"));
	/* malformed: the walk ends at the last trusted hop, never beyond */
	CHECK(client_is("127.0.0.5", "unknown", "127.0.0.5"));
	CHECK(client_is("127.0.0.5", "203.0.113.9, garbage", "127.0.0.5"));
	CHECK(client_is("127.0.0.5", "203.0.113.9, garbage, 10.0.0.3", "10.0.0.3"));
	CHECK(client_is("127.0.0.5", "203.0.113.9x", "127.0.0.5"));
	CHECK(client_is("127.0.0.5", "203.0.113.9:80x", "127.0.0.5"));
	CHECK(client_is("127.0.0.5", "[2001:db8::7", "127.0.0.5"));
	CHECK(client_is("127.0.0.5", "[2001:db8::7]x", "127.0.0.5"));
	CHECK(client_is("127.0.0.5", "1.2.3.4.5", "127.0.0.5"));
	CHECK(client_is("127.0.0.5", "\"1.2.3.4\"", "127.0.0.5"));
	CHECK(client_is("127.0.0.5", "for=1.2.3.4", "127.0.0.5"));
	CHECK(client_is("127.0.0.5",
			"2001:0db8:0000:0000:0000:0000:0000:0007:0000:0000:0000:0000:0000:0000:0000:0001",
			"127.0.0.5"));
	proxy_init(NULL, err, sizeof(err));
	CHECK(client_is("127.0.0.5", "203.0.113.9", "127.0.0.5"));
}

static void connection_count(void)
{
	char err[128];
	int i;

	CHECK(proxy_init("127.0.0.5", err, sizeof(err)) == 0);
	proxy_conn_limit(2);
	CHECK(proxy_conn_admit(sa_of("10.9.0.1")));
	proxy_conn_count(sa_of("10.9.0.1"), 1);
	CHECK(proxy_conn_admit(sa_of("10.9.0.1")));
	proxy_conn_count(sa_of("10.9.0.1"), 1);
	CHECK(!proxy_conn_admit(sa_of("10.9.0.1")));
	CHECK(!proxy_conn_admit(sa_of("::ffff:10.9.0.1"))); /* the same address */
	CHECK(proxy_conn_admit(sa_of("10.9.0.2")));
	/* a trusted proxy is never limited */
	for (i = 0; i < 10; i++)
		proxy_conn_count(sa_of("127.0.0.5"), 1);
	CHECK(proxy_conn_admit(sa_of("127.0.0.5")));
	for (i = 0; i < 10; i++)
		proxy_conn_count(sa_of("127.0.0.5"), -1);
	proxy_conn_count(sa_of("10.9.0.1"), -1);
	CHECK(proxy_conn_admit(sa_of("10.9.0.1")));
	proxy_conn_count(sa_of("10.9.0.1"), -1);
	proxy_conn_count(sa_of("10.9.0.1"), -1); /* one close too many: harmless */
	/* many addresses come and go: the table's deletions keep every lookup right */
	for (i = 0; i < 20000; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
		proxy_conn_count(sa_of(ip), 1);
		proxy_conn_count(sa_of(ip), 1);
		if (i % 3 == 0)
			proxy_conn_count(sa_of(ip), -1);
	}
	for (i = 0; i < 20000; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
		if (proxy_conn_admit(sa_of(ip)) != (i % 3 == 0)) {
			CHECK(!"admit after churn");
			break;
		}
		proxy_conn_count(sa_of(ip), -1);
		if (i % 3)
			proxy_conn_count(sa_of(ip), -1);
	}
	proxy_conn_count(sa_of("10.9.0.3"), 1);
	proxy_conn_count(sa_of("10.9.0.3"), 1);
	CHECK(!proxy_conn_admit(sa_of("10.9.0.3")));
	proxy_conn_count(sa_of("10.9.0.3"), -1);
	proxy_conn_count(sa_of("10.9.0.3"), -1);
	proxy_conn_limit(0);
	CHECK(proxy_conn_admit(sa_of("10.9.0.1")));
	proxy_init(NULL, err, sizeof(err));
}

void suite_proxy(void)
{
	static const struct unit_test t[] = {
		{ "list_syntax", list_syntax },
		{ "matching", matching },
		{ "forwarded_for", forwarded_for },
		{ "connection_count", connection_count },
	};
	unit_run("proxy", t, sizeof(t) / sizeof(t[0]));
}
