/*
 * feedload.c - the change feed under load, for bench/feed: many Server-Sent
 * Events subscribers and an open-loop stream of mapping PUTs, in one epoll
 * loop, so that 1,000 sockets are read on time on a small machine.
 *
 *     feedload -p PORT -a AUTHORIZATION -t CURSOR -s SUBSCRIPTIONS -w SLOTS
 *              -r RATE[,RATE...] -d SECONDS [-c PUT_CONNECTIONS] [-g GRACE]
 *              [-b BATCH] [-n]
 *
 * SUBSCRIPTIONS: one line per subscriber, the query of its stream after
 * "after=CURSOR&" (an empty line: unfiltered; "campaignId=7"; "userId=a12").
 * Each GETs .../campaignLeadUserMapping/changes with Accept:
 * text/event-stream; connections are opened BATCH at a time (default 50).
 * Once every subscriber has its 200 head, feedload prints
 *     {"phase":"subscribed",...}
 * and, unless -n, waits for a line on its standard input (bench/feed reads
 * cmsd's memory and times GETs meanwhile), still reading the streams.
 *
 * SLOTS: one line per slot, "campaignId leadId userId".  Each PUT toggles one
 * slot's user on its lead (assign, then unassign, ...), so that each PUT
 * changes exactly one user and appends exactly one event; slots start
 * unassigned.  Slot i is always sent on connection i % PUT_CONNECTIONS and
 * a connection has one request out at a time, so a slot's PUTs never race.
 *
 * For each RATE, PUTs are due at RATE per second for SECONDS (open loop:
 * request k is due at start + k / RATE and goes out on its connection as
 * soon as that is free; the backlog of due-but-unsent requests is reported).
 * Then up to GRACE seconds (default 5) for the answers and for every
 * unfiltered subscriber to have every event.  One JSON line per stage:
 * PUTs due/sent/ok, the achieved rate, PUT latency (sent -> answered), and
 * the delivery latency of every event at every unfiltered subscriber: the
 * time its "data:" line was read minus the time the PUT that caused it
 * (matched by requestId with the PUT's X-Request-Id) was sent.
 * At the end {"phase":"end",...}: subscribers whose stream closed, and
 * filtered subscribers whose event count differs from what the successful
 * PUTs imply (campaignId and userId filters).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RID_MAX	  64
#define LINE_MAX_ 16384
#define CHANGES	  "/cms/configuration/voice/campaignLeadUserMapping/changes"
#define MAPPING	  "/cms/configuration/voice/campaignLeadUserMapping"

enum { K_SUB = 1, K_PUT = 2, K_STDIN = 3 };

struct sub {
	int kind;
	int fd;
	int state; /* 0 idle, 1 connecting, 2 head, 3 streaming, 4 closed, 5 failed */
	char *query;
	int unfiltered;
	long campaign;	    /* campaignId filter, 0 if none */
	char user[RID_MAX]; /* userId filter, "" if none */
	char *out;
	size_t outlen, outsent;
	char head[8192];
	size_t headlen;
	int chunked;
	int cstate; /* 0 size line, 1 data, 2 CR, 3 LF, 4 ended */
	size_t cleft;
	char sizebuf[32];
	size_t sizelen;
	char line[LINE_MAX_];
	size_t linelen;
	long events;
	long expected;
	int status;
};

struct slot {
	long campaign, lead;
	char user[RID_MAX];
	int assigned;
	int dirty; /* a PUT failed: its state is unknown, leave it alone */
};

struct put {
	int64_t t_due, t_sent, t_done;
	int status;
	int stage;
	int slot;
	char rid[RID_MAX];
};

struct pconn {
	int kind;
	int fd;
	int busy;
	long put; /* index into puts */
	char out[2048];
	size_t outlen, outsent;
	char *in;
	size_t inlen, incap;
	long *queue; /* slots due, waiting for this connection */
	size_t qhead, qlen, qcap;
};

struct dlv {
	int64_t t;
	char rid[RID_MAX];
};

static int port, ep, nsubs, npconns = 8, batch = 50;
static const char *auth, *cursor;
static struct sub *subs;
static struct slot *slots;
static long nslots;
static struct pconn *pconns;
static struct put *puts_;
static long nputs, putcap;
static struct dlv *dlvs;
static long ndlv, dlvcap;
static long ok_total;
static int stdin_line;

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("realloc");
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die("strdup");
	return p;
}

static int tcp_open(int blocking)
{
	struct sockaddr_in a;
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!blocking)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) && errno != EINPROGRESS)
		die("connect");
	if (blocking)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static void watch(int fd, void *ptr, uint32_t events, int op)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = ptr;
	if (epoll_ctl(ep, op, fd, &ev))
		die("epoll_ctl");
}

/* ---- input files ---- */

static char **read_lines(const char *path, long *n)
{
	FILE *f = fopen(path, "r");
	char buf[4096], **v = NULL;
	long cap = 0;

	if (!f)
		die(path);
	*n = 0;
	while (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\r\n")] = '\0';
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			v = xrealloc(v, (size_t)cap * sizeof(*v));
		}
		v[(*n)++] = xstrdup(buf);
	}
	fclose(f);
	return v;
}

static void load_subs(const char *path)
{
	long n, i;
	char **lines = read_lines(path, &n);

	nsubs = (int)n;
	subs = calloc((size_t)(n ? n : 1), sizeof(*subs));
	if (!subs)
		die("calloc");
	for (i = 0; i < n; i++) {
		struct sub *s = &subs[i];
		char *p;

		s->kind = K_SUB;
		s->fd = -1;
		s->query = lines[i];
		s->unfiltered = lines[i][0] == '\0';
		if ((p = strstr(lines[i], "campaignId=")))
			s->campaign = atol(p + 11);
		if ((p = strstr(lines[i], "userId="))) {
			snprintf(s->user, sizeof(s->user), "%s", p + 7);
			s->user[strcspn(s->user, "&")] = '\0';
		}
	}
	free(lines);
}

static void load_slots(const char *path)
{
	long n, i;
	char **lines = read_lines(path, &n);

	slots = calloc((size_t)(n ? n : 1), sizeof(*slots));
	if (!slots)
		die("calloc");
	for (i = 0; i < n; i++) {
		struct slot *s = &slots[nslots];

		if (sscanf(lines[i], "%ld %ld %63s", &s->campaign, &s->lead, s->user) == 3)
			nslots++;
		free(lines[i]);
	}
	free(lines);
	if (!nslots) {
		fprintf(stderr, "feedload: %s: no slots\n", path);
		exit(2);
	}
}

/* ---- subscribers ---- */

static void sub_fail(struct sub *s, int state)
{
	if (s->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
		close(s->fd);
	}
	s->fd = -1;
	s->state = state;
}

static void sub_open(struct sub *s)
{
	char buf[4096];
	int n;

	n = snprintf(buf, sizeof(buf),
		     "GET " CHANGES "?after=%s%s%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		     "Authorization: %s\r\nAccept: text/event-stream\r\n\r\n",
		     cursor, s->query[0] ? "&" : "", s->query, auth);
	s->out = xstrdup(buf);
	s->outlen = (size_t)n;
	s->outsent = 0;
	s->fd = tcp_open(0);
	s->state = 1;
	watch(s->fd, s, EPOLLOUT | EPOLLIN, EPOLL_CTL_ADD);
}

static void extract_rid(const char *line, char *rid)
{
	const char *p = strstr(line, "\"requestId\":");
	size_t i = 0;

	rid[0] = '\0';
	if (!p)
		return;
	p += 12;
	while (*p == ' ')
		p++;
	if (*p != '"')
		return;
	p++;
	while (*p && *p != '"' && i < RID_MAX - 1)
		rid[i++] = *p++;
	rid[i] = '\0';
}

static void sub_line(struct sub *s, int64_t t)
{
	s->line[s->linelen] = '\0';
	if (!strncmp(s->line, "data:", 5)) {
		s->events++;
		if (s->unfiltered) {
			if (ndlv == dlvcap) {
				dlvcap = dlvcap ? dlvcap * 2 : 65536;
				dlvs = xrealloc(dlvs, (size_t)dlvcap * sizeof(*dlvs));
			}
			dlvs[ndlv].t = t;
			extract_rid(s->line, dlvs[ndlv].rid);
			ndlv++;
		}
	}
	s->linelen = 0;
}

static void sub_body(struct sub *s, const char *p, size_t n, int64_t t)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n') {
			if (s->linelen && s->line[s->linelen - 1] == '\r')
				s->linelen--;
			sub_line(s, t);
		} else if (s->linelen < LINE_MAX_ - 1) {
			s->line[s->linelen++] = p[i];
		}
	}
}

/* Decode chunked transfer coding (or pass through) into sub_body. */
static void sub_bytes(struct sub *s, const char *p, size_t n, int64_t t)
{
	size_t i = 0;

	if (!s->chunked) {
		sub_body(s, p, n, t);
		return;
	}
	while (i < n) {
		switch (s->cstate) {
		case 0: /* size line up to LF */
			if (p[i] == '\n') {
				s->sizebuf[s->sizelen] = '\0';
				s->cleft = strtoul(s->sizebuf, NULL, 16);
				s->sizelen = 0;
				s->cstate = s->cleft ? 1 : 4;
			} else if (s->sizelen < sizeof(s->sizebuf) - 1 && p[i] != '\r') {
				s->sizebuf[s->sizelen++] = p[i];
			}
			i++;
			break;
		case 1: {
			size_t take = n - i < s->cleft ? n - i : s->cleft;

			sub_body(s, p + i, take, t);
			i += take;
			s->cleft -= take;
			if (!s->cleft)
				s->cstate = 2;
			break;
		}
		case 2:
		case 3:
			if (p[i] == '\n')
				s->cstate = 0;
			i++;
			break;
		default:
			return;
		}
	}
}

static void sub_read(struct sub *s)
{
	char buf[65536];
	int64_t t = now_ns();

	for (;;) {
		ssize_t r = read(s->fd, buf, sizeof(buf));
		char *end;

		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			sub_fail(s, s->state == 3 ? 4 : 5);
			return;
		}
		if (s->state == 3) {
			sub_bytes(s, buf, (size_t)r, t);
			continue;
		}
		/* the head */
		if (s->headlen + (size_t)r >= sizeof(s->head)) {
			sub_fail(s, 5);
			return;
		}
		memcpy(s->head + s->headlen, buf, (size_t)r);
		s->headlen += (size_t)r;
		s->head[s->headlen] = '\0';
		end = strstr(s->head, "\r\n\r\n");
		if (!end)
			continue;
		s->status = atoi(s->head + 9);
		if (s->status != 200) {
			fprintf(stderr, "feedload: subscriber got %.300s\n", s->head);
			sub_fail(s, 5);
			return;
		}
		*end = '\0';
		s->chunked = strcasestr(s->head, "transfer-encoding: chunked") != NULL;
		s->state = 3;
		sub_bytes(s, end + 4, s->headlen - (size_t)(end + 4 - s->head), t);
	}
}

static void sub_write(struct sub *s)
{
	while (s->outsent < s->outlen) {
		ssize_t w = write(s->fd, s->out + s->outsent, s->outlen - s->outsent);

		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0) {
			sub_fail(s, 5);
			return;
		}
		s->outsent += (size_t)w;
	}
	s->state = s->state == 1 ? 2 : s->state;
	watch(s->fd, s, EPOLLIN, EPOLL_CTL_MOD);
}

/* ---- PUTs ---- */

static void pconn_open(struct pconn *c)
{
	c->kind = K_PUT;
	c->fd = tcp_open(1);
	c->busy = 0;
	c->inlen = 0;
	watch(c->fd, c, EPOLLIN | EPOLLOUT | EPOLLET, EPOLL_CTL_ADD);
}

static void put_done(struct pconn *c, int status, const char *rid, int64_t t)
{
	struct put *p = &puts_[c->put];
	struct slot *s = &slots[p->slot];

	p->t_done = t;
	p->status = status;
	snprintf(p->rid, sizeof(p->rid), "%s", rid);
	if (status == 200) {
		s->assigned = !s->assigned;
		ok_total++;
	} else {
		s->dirty = 1;
	}
	c->busy = 0;
}

static void pconn_reopen(struct pconn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->busy)
		put_done(c, -1, "", now_ns());
	pconn_open(c);
}

static void pconn_write(struct pconn *c)
{
	while (c->busy && c->outsent < c->outlen) {
		ssize_t w = write(c->fd, c->out + c->outsent, c->outlen - c->outsent);

		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0) {
			pconn_reopen(c);
			return;
		}
		c->outsent += (size_t)w;
	}
}

static void put_send(struct pconn *c, long slot_i, int stage, int64_t due)
{
	struct slot *s = &slots[slot_i];
	char body[512];
	int bn;
	struct put *p;

	if (nputs == putcap) {
		putcap = putcap ? putcap * 2 : 65536;
		puts_ = xrealloc(puts_, (size_t)putcap * sizeof(*puts_));
	}
	p = &puts_[nputs];
	memset(p, 0, sizeof(*p));
	p->slot = (int)slot_i;
	p->stage = stage;
	p->t_due = due;
	bn = snprintf(body, sizeof(body),
		      "{\"leadId\":%ld,\"campaignId\":%ld,\"assignedUserIds\":[%s%s%s],"
		      "\"unassignedUserIds\":[%s%s%s]}",
		      s->lead, s->campaign, s->assigned ? "" : "\"", s->assigned ? "" : s->user,
		      s->assigned ? "" : "\"", s->assigned ? "\"" : "", s->assigned ? s->user : "",
		      s->assigned ? "\"" : "");
	c->outlen = (size_t)snprintf(c->out, sizeof(c->out),
				     "PUT " MAPPING " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				     "Authorization: %s\r\nContent-Type: application/json\r\n"
				     "Content-Length: %d\r\n\r\n%s",
				     auth, bn, body);
	c->outsent = 0;
	c->busy = 1;
	c->put = nputs++;
	c->inlen = 0;
	p->t_sent = now_ns();
	pconn_write(c);
}

static void pconn_read(struct pconn *c)
{
	for (;;) {
		ssize_t r;
		char *end, *line, rid[RID_MAX] = "";
		size_t hlen, clen = 0;
		int status;

		if (c->incap - c->inlen < 16384) {
			c->incap = c->incap * 2 + 65536;
			c->in = xrealloc(c->in, c->incap + 1);
		}
		r = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			pconn_reopen(c);
			return;
		}
		c->inlen += (size_t)r;
		c->in[c->inlen] = '\0';
		if (!c->busy)
			continue;
		end = strstr(c->in, "\r\n\r\n");
		if (!end)
			continue;
		hlen = (size_t)(end - c->in) + 4;
		*end = '\0';
		status = atoi(c->in + 9);
		for (line = strstr(c->in, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
			char *v = line + 2;

			if (!strncasecmp(v, "Content-Length:", 15)) {
				clen = strtoul(v + 15, NULL, 10);
			} else if (!strncasecmp(v, "X-Request-Id:", 13)) {
				size_t i = 0;

				v += 13;
				while (*v == ' ')
					v++;
				while (v[i] && v[i] != '\r' && i < RID_MAX - 1) {
					rid[i] = v[i];
					i++;
				}
				rid[i] = '\0';
			}
		}
		*end = '\r';
		if (c->inlen < hlen + clen)
			continue;
		put_done(c, status, rid, now_ns());
		c->inlen = 0;
	}
}

/* ---- the loop ---- */

static void dispatch(struct epoll_event *e)
{
	int kind = *(int *)e->data.ptr;

	if (kind == K_STDIN) {
		char buf[256];
		ssize_t r = read(0, buf, sizeof(buf));

		if (r <= 0 || memchr(buf, '\n', (size_t)r)) {
			stdin_line = 1;
			epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL);
		}
		return;
	}
	if (kind == K_SUB) {
		struct sub *s = e->data.ptr;

		if (s->fd < 0)
			return;
		if ((e->events & EPOLLOUT) && s->state == 1)
			sub_write(s);
		if (s->fd >= 0 && (e->events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			sub_read(s);
		return;
	}
	{
		struct pconn *c = e->data.ptr;

		if (e->events & EPOLLOUT)
			pconn_write(c);
		if (e->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			pconn_read(c);
	}
}

static void loop_once(int64_t wait_ns)
{
	struct epoll_event evs[512];
	struct timespec ts;
	int n, i;

	if (wait_ns < 0)
		wait_ns = 0;
	ts.tv_sec = wait_ns / 1000000000;
	ts.tv_nsec = wait_ns % 1000000000;
	n = epoll_pwait2(ep, evs, 512, &ts, NULL);
	if (n < 0 && errno != EINTR)
		die("epoll_pwait2");
	for (i = 0; i < n; i++)
		dispatch(&evs[i]);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int64_t pct(const int64_t *v, long n, double p)
{
	long i;

	if (!n)
		return -1;
	i = (long)(p / 100.0 * (double)n);
	return v[i >= n ? n - 1 : i];
}

struct rid_ent {
	const char *rid;
	long put;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* Delivery latencies of the stage's PUTs: one per (event, unfiltered subscriber). */
static void stage_report(int stage, double rate, double seconds, int64_t t_start, long max_backlog,
			 long due)
{
	long i, sent = 0, ok = 0, non2xx = 0, errs = 0, nlat = 0, nd = 0, unmatched = 0;
	long cap = 1, unfiltered = 0, expected;
	int64_t *plat, *dlat, last_done = t_start;
	struct rid_ent *tab;

	for (i = 0; i < nsubs; i++)
		unfiltered += subs[i].unfiltered && subs[i].state == 3;
	while (cap < 2 * nputs + 2)
		cap *= 2;
	tab = calloc((size_t)cap, sizeof(*tab));
	plat = calloc((size_t)(nputs + 1), sizeof(*plat));
	dlat = calloc((size_t)(ndlv + 1), sizeof(*dlat));
	if (!tab || !plat || !dlat)
		die("calloc");
	for (i = 0; i < nputs; i++) {
		struct put *p = &puts_[i];

		if (p->rid[0]) {
			uint64_t h = hash_str(p->rid) & (uint64_t)(cap - 1);

			while (tab[h].rid)
				h = (h + 1) & (uint64_t)(cap - 1);
			tab[h].rid = p->rid;
			tab[h].put = i;
		}
		if (p->stage != stage)
			continue;
		sent++;
		if (p->status == 200) {
			ok++;
			plat[nlat++] = p->t_done - p->t_sent;
			if (p->t_done > last_done)
				last_done = p->t_done;
		} else if (p->status > 0) {
			non2xx++;
		} else {
			errs++;
		}
	}
	for (i = 0; i < ndlv; i++) {
		uint64_t h = hash_str(dlvs[i].rid) & (uint64_t)(cap - 1);
		long found = -1;

		while (tab[h].rid) {
			if (!strcmp(tab[h].rid, dlvs[i].rid)) {
				found = tab[h].put;
				break;
			}
			h = (h + 1) & (uint64_t)(cap - 1);
		}
		if (found < 0) {
			unmatched++;
			continue;
		}
		if (puts_[found].stage == stage)
			dlat[nd++] = dlvs[i].t - puts_[found].t_sent;
	}
	qsort(plat, (size_t)nlat, sizeof(*plat), cmp_i64);
	qsort(dlat, (size_t)nd, sizeof(*dlat), cmp_i64);
	expected = ok * unfiltered;
	printf("{\"phase\":\"stage\",\"stage\":%d,\"rate\":%.1f,\"seconds\":%.2f,\"due\":%ld,"
	       "\"sent\":%ld,\"ok\":%ld,\"non2xx\":%ld,\"errors\":%ld,\"achieved\":%.1f,"
	       "\"max_backlog\":%ld,\"put_p50_us\":%lld,\"put_p99_us\":%lld,"
	       "\"unfiltered\":%ld,\"deliveries\":%ld,\"expected\":%ld,\"unmatched\":%ld,"
	       "\"dlv_p50_us\":%lld,\"dlv_p99_us\":%lld,\"dlv_max_us\":%lld}\n",
	       stage, rate, seconds, due, sent, ok, non2xx, errs,
	       (double)ok / ((double)(last_done - t_start) / 1e9 > seconds
				 ? (double)(last_done - t_start) / 1e9
				 : seconds),
	       max_backlog, (long long)(pct(plat, nlat, 50) / 1000),
	       (long long)(pct(plat, nlat, 99) / 1000), unfiltered, nd, expected, unmatched,
	       (long long)(pct(dlat, nd, 50) / 1000), (long long)(pct(dlat, nd, 99) / 1000),
	       (long long)(nd ? dlat[nd - 1] / 1000 : -1));
	fflush(stdout);
	free(tab);
	free(plat);
	free(dlat);
}

static int all_delivered(void)
{
	long i;

	for (i = 0; i < nsubs; i++)
		if (subs[i].unfiltered && subs[i].state == 3 && subs[i].events < ok_total)
			return 0;
	return 1;
}

static int any_busy(void)
{
	int i;

	for (i = 0; i < npconns; i++)
		if (pconns[i].busy || pconns[i].qlen)
			return 1;
	return 0;
}

static void enqueue(struct pconn *c, long slot_i)
{
	if (c->qlen == c->qcap) {
		size_t k, ncap = c->qcap ? c->qcap * 2 : 64;
		long *q = xrealloc(NULL, ncap * sizeof(*q));

		for (k = 0; k < c->qlen; k++)
			q[k] = c->queue[(c->qhead + k) % (c->qcap ? c->qcap : 1)];
		free(c->queue);
		c->queue = q;
		c->qcap = ncap;
		c->qhead = 0;
	}
	c->queue[(c->qhead + c->qlen) % c->qcap] = slot_i;
	c->qlen++;
}

static void run_stage(int stage, double rate, double seconds, double grace)
{
	int64_t t0 = now_ns(), end = t0 + (int64_t)(seconds * 1e9),
		interval = (int64_t)(1e9 / rate);
	int64_t deadline;
	long due = 0, next = 0, max_backlog = 0;
	static long next_slot;
	int i;

	for (;;) {
		int64_t t = now_ns(), wait;
		long backlog = 0;

		if (t < end)
			due = (t - t0) / interval + 1;
		/* hand every due request to the connection that owns its slot */
		for (; next < due; next++) {
			long si;

			/* skip slots whose state is unknown */
			for (i = 0; i < nslots && slots[next_slot].dirty; i++)
				next_slot = (next_slot + 1) % nslots;
			si = next_slot;
			next_slot = (next_slot + 1) % nslots;
			enqueue(&pconns[si % npconns], si);
		}
		for (i = 0; i < npconns; i++) {
			struct pconn *c = &pconns[i];

			if (!c->busy && c->qlen) {
				long si = c->queue[c->qhead];

				c->qhead = (c->qhead + 1) % c->qcap;
				c->qlen--;
				put_send(c, si, stage, t);
			}
			backlog += (long)c->qlen;
		}
		if (backlog > max_backlog)
			max_backlog = backlog;
		if (t >= end && !any_busy())
			break;
		if (t >= end + (int64_t)(grace * 1e9))
			break;
		wait = t < end ? t0 + next * interval - t : 2000000;
		if (wait > 2000000)
			wait = 2000000;
		loop_once(wait);
	}
	/* the events of the stage's PUTs reach every unfiltered subscriber */
	deadline = now_ns() + (int64_t)(grace * 1e9);
	while (!all_delivered() && now_ns() < deadline)
		loop_once(10000000);
	stage_report(stage, rate, seconds, t0, max_backlog, due);
}

static void usage(void)
{
	fprintf(stderr, "usage: feedload -p PORT -a AUTHORIZATION -t CURSOR -s SUBSCRIPTIONS "
			"-w SLOTS -r RATE[,RATE...] -d SECONDS [-c PUT_CONNECTIONS] [-g GRACE] "
			"[-b BATCH] [-n]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *subs_path = NULL, *slots_path = NULL, *rates = NULL;
	double seconds = 0, grace = 5;
	int opt, nowait = 0, i, opened = 0, stage = 0, stdin_kind = K_STDIN;
	int64_t t0;
	struct rlimit rl;
	char *rs, *tok, *save;

	while ((opt = getopt(argc, argv, "p:a:t:s:w:r:d:c:g:b:n")) != -1) {
		switch (opt) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'a':
			auth = optarg;
			break;
		case 't':
			cursor = optarg;
			break;
		case 's':
			subs_path = optarg;
			break;
		case 'w':
			slots_path = optarg;
			break;
		case 'r':
			rates = optarg;
			break;
		case 'd':
			seconds = atof(optarg);
			break;
		case 'c':
			npconns = atoi(optarg);
			break;
		case 'g':
			grace = atof(optarg);
			break;
		case 'b':
			batch = atoi(optarg);
			break;
		case 'n':
			nowait = 1;
			break;
		default:
			usage();
		}
	}
	if (port <= 0 || !auth || !cursor || !subs_path || !slots_path || !rates || seconds <= 0 ||
	    npconns <= 0 || batch <= 0)
		usage();
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	load_subs(subs_path);
	load_slots(slots_path);
	ep = epoll_create1(0);
	if (ep < 0)
		die("epoll_create1");

	/* subscribers, BATCH connecting at a time */
	t0 = now_ns();
	for (;;) {
		int connecting = 0, done = 0;

		for (i = 0; i < nsubs; i++) {
			connecting += subs[i].state == 1 || subs[i].state == 2;
			done += subs[i].state >= 3;
		}
		for (; opened < nsubs && connecting < batch; opened++, connecting++)
			sub_open(&subs[opened]);
		if (done == nsubs)
			break;
		if (now_ns() - t0 > 120 * (int64_t)1000000000) {
			fprintf(stderr, "feedload: subscribers still connecting after 120 s\n");
			break;
		}
		loop_once(10000000);
	}
	{
		int ok = 0, failed = 0;

		for (i = 0; i < nsubs; i++) {
			ok += subs[i].state == 3;
			failed += subs[i].state != 3;
		}
		printf(
		    "{\"phase\":\"subscribed\",\"subs\":%d,\"ok\":%d,\"failed\":%d,\"ms\":%.1f}\n",
		    nsubs, ok, failed, (double)(now_ns() - t0) / 1e6);
		fflush(stdout);
	}
	if (!nowait) {
		fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
		watch(0, &stdin_kind, EPOLLIN, EPOLL_CTL_ADD);
		while (!stdin_line)
			loop_once(50000000);
	}

	pconns = calloc((size_t)npconns, sizeof(*pconns));
	if (!pconns)
		die("calloc");
	for (i = 0; i < npconns; i++)
		pconn_open(&pconns[i]);
	rs = xstrdup(rates);
	for (tok = strtok_r(rs, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		double rate = atof(tok);

		if (rate <= 0)
			usage();
		run_stage(stage++, rate, seconds, grace);
	}
	free(rs);
	/* the filtered subscribers' counts against what the successful PUTs imply */
	{
		long wrong = 0, checked = 0, closed = 0, k;

		for (k = 0; k < nputs; k++) {
			struct put *p = &puts_[k];

			if (p->status != 200)
				continue;
			for (i = 0; i < nsubs; i++) {
				struct sub *s = &subs[i];

				if (s->unfiltered)
					s->expected++;
				else if (s->campaign && !s->user[0])
					s->expected += s->campaign == slots[p->slot].campaign;
				else if (s->user[0] && !s->campaign)
					s->expected += !strcmp(s->user, slots[p->slot].user);
			}
		}
		/* a last moment for stragglers */
		for (k = 0; k < 50; k++) {
			int behind = 0;

			for (i = 0; i < nsubs; i++)
				behind |= subs[i].state == 3 && subs[i].events < subs[i].expected;
			if (!behind)
				break;
			loop_once(20000000);
		}
		for (i = 0; i < nsubs; i++) {
			struct sub *s = &subs[i];

			closed += s->state != 3;
			if (s->state != 3)
				continue;
			checked++;
			if (s->events != s->expected) {
				if (wrong < 5)
					fprintf(stderr,
						"feedload: subscriber %d (%s) got %ld events, "
						"expected %ld\n",
						i, s->query, s->events, s->expected);
				wrong++;
			}
		}
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		printf("{\"phase\":\"end\",\"puts\":%ld,\"ok\":%ld,\"subs_checked\":%ld,"
		       "\"subs_wrong_count\":%ld,\"subs_closed\":%ld,\"cpu_s\":%.3f}\n",
		       nputs, ok_total, checked, wrong, closed,
		       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
			   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	}
	return 0;
}
