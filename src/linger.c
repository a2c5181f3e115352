/*
 * linger.c - the lingering close of a connection answered before its
 * request was read whole (a 413 for a body announced too large, a 401 or a
 * 415 decided on the headers, a 400 for a request without Host...).
 *
 * libmicrohttpd 0.9.75, once such an answer is sent, shuts the socket down
 * for writing and closes it.  The client may still be sending its body: a
 * close with unread bytes makes the kernel send a reset, which may destroy
 * the answer in the client's buffers, and a client that sends its whole body
 * before it reads (Python's http.client, Node's fetch) meets EPIPE or
 * ECONNRESET instead of the answer.  So, as nginx does (lingering_close,
 * lingering_time, lingering_timeout), the socket is kept a while after the
 * answer: libmicrohttpd's last call about a connection
 * (MHD_CONNECTION_NOTIFY_CLOSED) comes before it closes the descriptor, and
 * linger_closing() takes a dup() of it then.  The socket lives on through
 * the copy: it is shut down for writing (the answer is followed by the end
 * of stream, also after TLS's close_notify), and one thread reads and throws
 * away whatever arrives until the client closes, or a bound is reached
 * (linger.h: time in all, silence, bytes), then closes it.  The answer has
 * been read by then, or the client is not reading it.
 *
 * Which sockets linger: those http.c marked (linger_mark(): it answered
 * before the body was read) and those with bytes already waiting unread when
 * libmicrohttpd closes them (its own early answers, a pipelined request
 * behind a Connection: close).  A connection cut by the deadline reaper was
 * shut down for reading: it reads as ended at once and is closed.
 *
 * Marks are one byte per descriptor number, set and taken by the worker
 * thread that owns the connection, and cleared as taken, so a number reused
 * by a later connection starts unmarked.
 */
#include "linger.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "feed.h"
#include "log.h"
#include "xalloc.h"
#include "banned.h"

#define TICK_MS 100

struct lingerer {
	int fd;            /* our copy; -1: free slot */
	int64_t until_ms;  /* closed at this time whatever comes */
	int64_t idle_ms;   /* closed at this time unless a byte comes */
	size_t bytes;      /* thrown away so far */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct lingerer slots[LINGER_MAX];
static size_t used;
static int ep = -1;
static pthread_t thread;
static atomic_bool running, stopping;
static size_t byte_bound;
static atomic_uchar *marks;
static size_t nmarks;
static atomic_ulong lingered;

/* Close slot i's socket and free the slot.  Lock held. */
static void release(size_t i)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, slots[i].fd, NULL);
	close(slots[i].fd);
	slots[i].fd = -1;
	used--;
}

/* Read and throw away what slot i's client sent; release it at the end of
 * its stream, on an error or past the byte bound.  Lock held. */
static void drain(size_t i, int64_t now)
{
	static char sink[64 * 1024]; /* the thread's alone */
	struct lingerer *l = &slots[i];
	ssize_t n;

	for (;;) {
		n = recv(l->fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n > 0) {
			l->bytes += (size_t)n;
			l->idle_ms = now + LINGER_IDLE_MS;
			if (l->bytes > byte_bound)
				break;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 && errno == EINTR)
			continue;
		break; /* the end of the stream, or an error */
	}
	release(i);
}

static void *linger_main(void *arg)
{
	struct epoll_event ev[32];
	int n, k;
	size_t i;
	int64_t now;

	(void)arg;
	while (!atomic_load(&stopping)) {
		n = epoll_wait(ep, ev, 32, TICK_MS);
		now = mono_ms(); /* the process's monotonic clock */
		pthread_mutex_lock(&lock);
		for (k = 0; k < n; k++) {
			i = ev[k].data.u32;
			if (i < LINGER_MAX && slots[i].fd >= 0)
				drain(i, now);
		}
		for (i = 0; i < LINGER_MAX && used; i++)
			if (slots[i].fd >= 0 && (now >= slots[i].until_ms || now >= slots[i].idle_ms))
				release(i);
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

int linger_start(size_t max_bytes)
{
	struct rlimit rl;
	size_t i;

	byte_bound = max_bytes;
	for (i = 0; i < LINGER_MAX; i++)
		slots[i].fd = -1;
	used = 0;
	nmarks = !getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY &&
			 rl.rlim_cur < (1u << 24) ?
		 (size_t)rl.rlim_cur : (1u << 16);
	marks = xcalloc(nmarks, sizeof(*marks));
	ep = epoll_create1(EPOLL_CLOEXEC);
	atomic_store(&stopping, false);
	if (ep < 0 || pthread_create(&thread, NULL, linger_main, NULL)) {
		log_msgf("error", "cannot start the lingering close: %s", strerror(errno));
		if (ep >= 0)
			close(ep);
		ep = -1;
		free(marks);
		marks = NULL;
		return -1;
	}
	atomic_store(&running, true);
	return 0;
}

void linger_stop(void)
{
	size_t i;

	if (!atomic_load(&running))
		return;
	atomic_store(&stopping, true);
	pthread_join(thread, NULL);
	pthread_mutex_lock(&lock);
	for (i = 0; i < LINGER_MAX; i++)
		if (slots[i].fd >= 0)
			release(i);
	atomic_store(&running, false);
	pthread_mutex_unlock(&lock);
	close(ep);
	ep = -1;
	free(marks);
	marks = NULL;
	nmarks = 0;
}

void linger_mark(int fd)
{
	if (marks && fd >= 0 && (size_t)fd < nmarks)
		atomic_store_explicit(&marks[fd], 1, memory_order_relaxed);
}

/* Whether fd should linger: marked (the mark is taken), or bytes wait. */
static bool wanted(int fd)
{
	int unread = 0;
	bool marked = marks && fd >= 0 && (size_t)fd < nmarks &&
		      atomic_exchange_explicit(&marks[fd], 0, memory_order_relaxed);

	return marked || (!ioctl(fd, FIONREAD, &unread) && unread > 0);
}

void linger_closing(int fd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	int copy;
	size_t i;
	int64_t now;

	if (!wanted(fd) || !atomic_load(&running) || atomic_load(&stopping))
		return;
	pthread_mutex_lock(&lock);
	if (used == LINGER_MAX || (copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		pthread_mutex_unlock(&lock);
		return; /* closed at once, as without a lingering close */
	}
	for (i = 0; slots[i].fd >= 0; i++)
		;
	now = mono_ms();
	/* the answer is out: the end of stream follows it now (libmicrohttpd
	 * shut a plain socket down already; after TLS's close_notify it did not) */
	shutdown(copy, SHUT_WR);
	fcntl(copy, F_SETFL, fcntl(copy, F_GETFL) | O_NONBLOCK);
	slots[i] = (struct lingerer){ copy, now + LINGER_MS, now + LINGER_IDLE_MS, 0 };
	ev.data.u32 = (uint32_t)i;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, copy, &ev)) {
		close(copy);
		slots[i].fd = -1;
	} else {
		used++;
		atomic_fetch_add(&lingered, 1);
	}
	pthread_mutex_unlock(&lock);
}

unsigned long linger_count(void)
{
	return atomic_load(&lingered);
}
