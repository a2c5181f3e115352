/*
 * pace.c - an open-loop HTTP/1.1 load at a fixed request rate, for
 * bench/perf's "p99 at half of the peak rate" (wrk2 is not in Debian).
 *
 *     pace -p PORT -r RATE -d SECONDS -c CONNECTIONS -f REQUESTS [-w WARMUP]
 *
 * Request i is due at start + i / RATE, whatever happened before: it goes
 * out on the first idle keep-alive connection, and its latency is counted
 * from the moment it was due, not from when it was sent.  So when the server
 * stalls, the requests that queue behind the stall count their wait (no
 * "coordinated omission", the flaw of a closed loop such as wrk with a
 * paced Lua script, whose connections simply send less while the server is
 * slow).  Requests due in the first WARMUP seconds (default 1) are sent but
 * not counted.
 *
 * REQUESTS holds raw requests, each as "<length>\n<bytes>"; they are sent
 * in turn, round and round.  Answers must carry Content-Length (cmsd and
 * nginx do).  Prints one line of JSON: requests due and completed, socket
 * errors, non-2xx answers, the achieved rate, and latency percentiles in
 * microseconds.
 *
 * With PACE_TRACE=FILE in the environment, each counted request is also
 * appended to FILE as "<due> <latency>" (microseconds; due from the start),
 * after a line "# port PORT start NS" (NS on CLOCK_MONOTONIC, which cmsd's
 * own clocks read too): when the tail happens, beside what the server did
 * then.  Written after the run, so that it costs the run nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct req {
	char *p;
	size_t n;
};

struct conn {
	int fd;
	int busy;      /* a request is out */
	int64_t due;   /* ns: when that request was due */
	int counted;   /* its latency is counted */
	const struct req *rq;
	size_t sent;   /* bytes of rq written */
	char *in;
	size_t inlen, incap;
};

static struct req *reqs;
static size_t nreqs;
static struct conn *conns;
static int nconns, ep, port;
static uint32_t *lat, *lat_due; /* microseconds: latency, and when it was due */
static size_t nlat, latcap;
static int64_t start_ns;
static long errors, non2xx, completed;

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

static void load(const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 0, n;

	if (!f)
		die(path);
	while (fscanf(f, "%zu", &n) == 1) {
		if (fgetc(f) != '\n')
			break;
		if (nreqs == cap) {
			cap = cap ? cap * 2 : 64;
			reqs = realloc(reqs, cap * sizeof(*reqs));
			if (!reqs)
				die("realloc");
		}
		reqs[nreqs].p = malloc(n ? n : 1);
		reqs[nreqs].n = n;
		if (!reqs[nreqs].p || fread(reqs[nreqs].p, 1, n, f) != n) {
			fprintf(stderr, "pace: %s: short request %zu\n", path, nreqs);
			exit(2);
		}
		nreqs++;
	}
	fclose(f);
	if (!nreqs) {
		fprintf(stderr, "pace: %s: no requests\n", path);
		exit(2);
	}
}

static void conn_open(struct conn *c)
{
	struct sockaddr_in a;
	struct epoll_event ev;
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		die("socket");
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev))
		die("epoll_ctl");
	c->busy = 0;
	c->inlen = 0;
}

static void conn_reopen(struct conn *c)
{
	close(c->fd);
	conn_open(c);
}

static void record(struct conn *c, int64_t t)
{
	completed++;
	if (!c->counted)
		return;
	if (nlat == latcap) {
		latcap = latcap ? latcap * 2 : 65536;
		lat = realloc(lat, latcap * sizeof(*lat));
		lat_due = realloc(lat_due, latcap * sizeof(*lat_due));
		if (!lat || !lat_due)
			die("realloc");
	}
	lat_due[nlat] = (uint32_t)((c->due - start_ns) / 1000);
	lat[nlat++] = (uint32_t)((t - c->due) / 1000);
}

static void pump_write(struct conn *c)
{
	while (c->busy && c->sent < c->rq->n) {
		ssize_t w = write(c->fd, c->rq->p + c->sent, c->rq->n - c->sent);

		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0) {
			errors++;
			conn_reopen(c);
			return;
		}
		c->sent += (size_t)w;
	}
}

/* Whether c->in holds a whole answer; its status into *status. */
static int answer_done(struct conn *c, int *status, int *close_after)
{
	char *end, *p, *line;
	size_t hlen, clen = 0;
	int have_len = 0;

	end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
	if (!end)
		return 0;
	hlen = (size_t)(end - c->in) + 4;
	*end = '\0';
	*status = atoi(c->in + 9);
	*close_after = 0;
	for (line = strstr(c->in, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
		p = line + 2;
		if (!strncasecmp(p, "Content-Length:", 15)) {
			clen = strtoul(p + 15, NULL, 10);
			have_len = 1;
		} else if (!strncasecmp(p, "Connection:", 11) && strcasestr(p, "close")) {
			*close_after = 1;
		}
	}
	memcpy(end, "\r\n\r\n", 4);
	if (!have_len) {
		fprintf(stderr, "pace: an answer without Content-Length\n");
		exit(2);
	}
	return c->inlen >= hlen + clen;
}

static void pump_read(struct conn *c)
{
	int status, close_after;

	for (;;) {
		ssize_t r;

		if (c->incap - c->inlen < 65536) {
			c->incap = c->incap * 2 + 65536;
			c->in = realloc(c->in, c->incap + 1);
			if (!c->in)
				die("realloc");
		}
		r = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
		if (r < 0 && errno == EAGAIN)
			break;
		if (r <= 0) {
			if (c->busy)
				errors++;
			conn_reopen(c);
			return;
		}
		c->inlen += (size_t)r;
	}
	if (!c->busy || !answer_done(c, &status, &close_after))
		return;
	record(c, now_ns());
	if (status < 200 || status > 299)
		non2xx++;
	c->busy = 0;
	c->inlen = 0;
	if (close_after)
		conn_reopen(c);
}

/* PACE_TRACE: the run's requests, in the order answered. */
static void trace(void)
{
	const char *path = getenv("PACE_TRACE");
	FILE *f;
	size_t i;

	if (!path || !*path)
		return;
	f = fopen(path, "a");
	if (!f)
		die(path);
	fprintf(f, "# port %d start %lld\n", port, (long long)start_ns);
	for (i = 0; i < nlat; i++)
		fprintf(f, "%u %u\n", lat_due[i], lat[i]);
	if (fclose(f))
		die(path);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t pct(double p)
{
	size_t i;

	if (!nlat)
		return 0;
	i = (size_t)(p / 100.0 * (double)nlat);
	return lat[i >= nlat ? nlat - 1 : i];
}

int main(int argc, char **argv)
{
	double rate = 0, seconds = 0, warmup = 1;
	const char *file = NULL;
	int64_t t0, interval, end, warm_end, deadline;
	long due = 0, next = 0, nextreq = 0;
	struct epoll_event evs[256];
	int opt, i;

	while ((opt = getopt(argc, argv, "p:r:d:c:f:w:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'd': seconds = atof(optarg); break;
		case 'c': nconns = atoi(optarg); break;
		case 'f': file = optarg; break;
		case 'w': warmup = atof(optarg); break;
		default: goto usage;
		}
	}
	if (port <= 0 || rate <= 0 || seconds <= 0 || nconns <= 0 || !file)
		goto usage;
	load(file);
	ep = epoll_create1(0);
	if (ep < 0)
		die("epoll_create1");
	conns = calloc((size_t)nconns, sizeof(*conns));
	for (i = 0; i < nconns; i++)
		conn_open(&conns[i]);

	interval = (int64_t)(1e9 / rate);
	t0 = start_ns = now_ns();
	warm_end = t0 + (int64_t)(warmup * 1e9);
	end = warm_end + (int64_t)(seconds * 1e9);
	deadline = end + 10 * (int64_t)1000000000; /* stragglers */
	for (;;) {
		int64_t t = now_ns(), wait_ns;
		struct timespec ts;
		int n, busy = 0;

		/* every request due by now, on idle connections */
		if (t < end)
			due = (t - t0) / interval + 1;
		for (i = 0; i < nconns && next < due; i++) {
			struct conn *c = &conns[i];

			if (c->busy)
				continue;
			c->busy = 1;
			c->due = t0 + next * interval;
			c->counted = c->due >= warm_end;
			c->rq = &reqs[nextreq];
			c->sent = 0;
			nextreq = (nextreq + 1) % (long)nreqs;
			next++;
			pump_write(c);
		}
		for (i = 0; i < nconns; i++)
			busy |= conns[i].busy;
		if (t >= end && next >= due && !busy)
			break;
		if (t >= deadline)
			break;
		/* sleep until the next request is due or something happens (when
		 * requests wait for a connection, until one comes free) */
		wait_ns = next < due || t >= end ? 50000000 : t0 + next * interval - t;
		if (wait_ns > 50000000)
			wait_ns = 50000000;
		if (wait_ns < 0)
			wait_ns = 0;
		ts.tv_sec = wait_ns / 1000000000;
		ts.tv_nsec = wait_ns % 1000000000;
		n = epoll_pwait2(ep, evs, 256, &ts, NULL);
		if (n < 0 && errno != EINTR)
			die("epoll_pwait2");
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (evs[i].events & EPOLLOUT)
				pump_write(c);
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				pump_read(c);
		}
	}
	/* requests due but never answered count as errors */
	for (i = 0; i < nconns; i++)
		if (conns[i].busy)
			errors++;
	errors += due - next;
	trace();
	qsort(lat, nlat, sizeof(*lat), cmp_u32);
	printf("{\"due\":%ld,\"completed\":%ld,\"counted\":%zu,\"errors\":%ld,\"non2xx\":%ld,"
	       "\"rate\":%.1f,\"p50_us\":%u,\"p90_us\":%u,\"p99_us\":%u,\"p999_us\":%u,"
	       "\"max_us\":%u}\n",
	       due, completed, nlat, errors, non2xx, (double)nlat / seconds, pct(50), pct(90),
	       pct(99), pct(99.9), nlat ? lat[nlat - 1] : 0);
	return 0;
usage:
	fprintf(stderr, "usage: pace -p PORT -r RATE -d SECONDS -c CONNECTIONS -f REQUESTS"
			" [-w WARMUP]\n");
	return 2;
}
