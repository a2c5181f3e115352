/*
 * log.c - structured logs: one JSON object per line on stderr.
 *
 * A line is formatted by the thread that logs it.  Outside log_start() ..
 * log_stop() it is written at once with one write(2).  Between them it costs
 * its caller no system call: it is copied whole, under one lock, to the end of
 * the filling buffer, so lines of concurrent threads never interleave or split
 * and each thread's lines stay in its order.  One writer thread takes the
 * filling buffer (handing back the other, empty one) and writes it with one
 * write(2):
 *
 *   - `interval_ms` (50) after the first line of a batch, at once past
 *     `threshold` bytes (64 KiB), at once for a line at "error", and at once
 *     for log_flush() and log_stop();
 *   - while it writes, lines fill the other buffer, so a request never waits
 *     for stderr as long as stderr keeps up.
 *
 * When stderr does not keep up (a full pipe nobody reads, a stopped
 * terminal), the filling buffer reaches `cap` (1 MiB; with the one being
 * written, memory stays under 2 MiB).  A line that then finds no room waits
 * up to `block_ms` (100) for the writer to take the buffer, then is dropped
 * and counted; once one line was dropped, lines that find no room are dropped
 * at once, without waiting, until the writer takes the buffer.  The batch it
 * takes then ends with one line {"level":"warn","msg":"log lines dropped",
 * "dropped":N}.  So a request thread waits at most block_ms per line and only
 * until the first drop; memory never grows.
 *
 * Nothing is lost at exit: log_stop() (main's last step, and exit() through
 * atexit) writes what is left.  It waits at most `exit_ms` (5 s) for a stderr
 * that takes nothing; it then gives up, and later lines are dropped, so that
 * the exit does not hang on stderr either.  On a fatal signal (SIGSEGV,
 * SIGBUS, SIGILL, SIGFPE, SIGABRT) the handler lets the batch in flight
 * finish and writes the filling buffer with write(2) only, taking no lock
 * (the crashing thread may hold it), then lets the signal go on to its
 * previous action; AddressSanitizer's death callback does the same.
 * Reading the filling buffer without the lock is safe: a line is counted in
 * only after it is copied whole, and the writer takes no more batches once
 * the handler has begun (write_pending says how the batch in flight is kept
 * from being written twice).  SIGKILL loses what is buffered (at most
 * interval_ms of lines).
 */
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "json.h"
#include "strbuf.h"
#include "xalloc.h"

/* Under AddressSanitizer a report ends the process without a signal: its
 * death callback writes what is buffered instead (make asan). */
#if defined(__SANITIZE_ADDRESS__)
#define LOG_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LOG_SANITIZER 1
#endif
#endif
#ifdef LOG_SANITIZER
#include <sanitizer/common_interface_defs.h>
#endif

#include "banned.h"

/* Room after a batch for the line that says how many lines were dropped. */
#define NOTE_MAX 256

static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
#define NFATAL (sizeof(fatal_signals) / sizeof(fatal_signals[0]))

/* The buffered log (see the top of the file).  `lock` guards everything but
 * the atomics, which the fatal-signal handler reads without it. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake; /* the writer: a first line, past threshold, urgent, stop */
	pthread_cond_t room; /* the buffer was taken, a batch written, the writer ended */
	pthread_t thread;
	struct log_options opt;
	char *buf[2];                  /* cap + NOTE_MAX bytes each */
	_Atomic uint64_t fill;         /* the filling buffer: bytes in it << 1 | its index */
	_Atomic size_t out_len;        /* the batch being written (the other buffer) */
	_Atomic size_t out_done;       /* and how much of it was written */
	uint64_t in;                   /* bytes buffered since log_start */
	uint64_t out;                  /* of them, bytes the writer is done with */
	uint64_t dropped;              /* lines dropped since the writer last took the buffer */
	bool urgent;                   /* write without waiting for the interval */
	bool stopping;                 /* log_stop() is waiting for the writer to end */
	bool alive;                    /* the writer thread exists */
	bool orphaned;                 /* log_stop() gave up on it: it frees the buffers */
	struct sigaction saved[NFATAL]; /* the fatal signals' actions before log_start */
} lg = { .lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP };

/* Where lines go: written at once (before log_start, after log_stop), to the
 * buffer, or nowhere (log_stop gave up on a stderr that takes nothing; until
 * the writer's write(2) returns, a line written at once would block too).
 * Read without the lock first, so that a log that never started costs
 * nothing more. */
enum { LOG_DIRECT, LOG_BUFFERED, LOG_GONE };
static atomic_int mode;
/* Set once the process is dying (write_pending): the writer then takes no
 * more batches, so that no line is written by both. */
static atomic_bool crashing;
static atomic_int writer_tid; /* the writer's gettid(), for write_pending */

/* Writes s[0..n) to stderr, waiting while a non-blocking stderr is full; gives
 * the rest up on any other error (there is nowhere to report it).  Adds what
 * was written to *done when done is not NULL.  Only write(2) and poll(2):
 * the fatal-signal handler calls it too. */
static void emit(const char *s, size_t n, _Atomic size_t *done)
{
	struct pollfd p = { STDERR_FILENO, POLLOUT, 0 };
	ssize_t w;

	while (n) {
		w = write(STDERR_FILENO, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && poll(&p, 1, 1000) >= 0)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
		if (done)
			atomic_fetch_add(done, (size_t)w);
	}
}

/* Waits on c until `until`; true when the time is up. */
static bool wait_until(pthread_cond_t *c, const struct timespec *until)
{
	return pthread_cond_timedwait(c, &lg.lock, until) == ETIMEDOUT;
}

static size_t fill_len(void)
{
	return (size_t)(atomic_load(&lg.fill) >> 1);
}

/*
 * As the process dies: writes what is buffered, once, without the lock.  The
 * writer takes no batch once `crashing` is set; the batch it is writing it is
 * left to finish (up to 100 ms), unless the writer is the thread that
 * crashed, or stderr holds it longer: then the rest of it is written here,
 * and there a line may come out twice.  Then the filling buffer.  A stderr
 * that takes nothing must not keep a crashed process alive: SIGALRM ends it
 * 2 s on.
 */
static void write_pending(void)
{
	const struct timespec ms = { 0, 1000000 };
	bool self = gettid() == atomic_load(&writer_tid);
	size_t done, len;
	uint64_t f;
	int i;

	if (atomic_exchange(&crashing, true))
		return;
	alarm(2);
	for (i = 0; !self && i < 100 && atomic_load(&lg.out_len); i++)
		nanosleep(&ms, NULL);
	f = atomic_load(&lg.fill);
	done = atomic_load(&lg.out_done);
	len = atomic_load(&lg.out_len);
	if ((self || i == 100) && done < len)
		emit(lg.buf[(f & 1) ^ 1] + done, len - done, NULL);
	emit(lg.buf[f & 1], (size_t)(f >> 1), NULL);
}

/*
 * The fatal-signal handler: write_pending(), then hands the signal to the
 * action it had before log_start().  A signal that was sent (abort(), kill)
 * is raised again; a fault just returns, so that the faulting instruction
 * faults again under the previous action (a sanitizer's handler then still
 * sees where).
 */
static void on_fatal(int sig, siginfo_t *si, void *ctx)
{
	size_t i;

	(void)ctx;
	write_pending();
	for (i = 0; i < NFATAL; i++)
		if (fatal_signals[i] == sig)
			sigaction(sig, &lg.saved[i], NULL);
	if (si->si_code <= 0)
		raise(sig);
}

/* Installs on_fatal for the fatal signals (on), or puts back what was
 * there (off). */
static void fatal_handlers(bool on)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fatal;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NFATAL; i++)
		sigaction(fatal_signals[i], on ? &sa : &lg.saved[i], on ? &lg.saved[i] : NULL);
#ifdef LOG_SANITIZER
	__sanitizer_set_death_callback(on ? write_pending : NULL);
#endif
}

/*
 * The time now as the "ts" of a line, written into ts[TS_LEN + 1].  The date
 * and time of day are formatted once a second per thread; the milliseconds
 * by hand, so that the line of every request costs no printf.
 */
#define TS_LEN 24 /* 2026-11-27T15:10:24.123Z */

static void timestamp(char ts[TS_LEN + 1])
{
	static _Thread_local char cached[TS_LEN + 1];
	static _Thread_local time_t cached_sec = -1;
	struct timeval tv;
	long ms;

	gettimeofday(&tv, NULL);
	if (tv.tv_sec != cached_sec) {
		struct tm tm;

		if (!gmtime_r(&tv.tv_sec, &tm) ||
		    strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S.000Z", &tm) != TS_LEN)
			memcpy(cached, "0000-00-00T00:00:00.000Z", sizeof(cached));
		cached_sec = tv.tv_sec;
	}
	memcpy(ts, cached, sizeof(cached));
	ms = (long)(tv.tv_usec / 1000);
	ts[TS_LEN - 4] = (char)('0' + ms / 100);
	ts[TS_LEN - 3] = (char)('0' + ms / 10 % 10);
	ts[TS_LEN - 2] = (char)('0' + ms % 10);
}

/* A number of a line: whole numbers and thousandths (the "ms" of every
 * request) by hand, anything else as %.6g. */
static void add_number(struct strbuf *sb, double v)
{
	double milli = v * 1000;
	char buf[32];

	if (v < 1e12 && v > -1e12 && milli == (double)(int64_t)milli) {
		int64_t m = (int64_t)milli, frac = m % 1000;

		if (m < 0 && frac) {
			strbuf_addch(sb, '-');
			m = -m;
			frac = -frac;
		}
		strbuf_addint(sb, m / 1000);
		if (frac) {
			buf[0] = '.';
			buf[1] = (char)('0' + frac / 100);
			buf[2] = (char)('0' + frac / 10 % 10);
			buf[3] = (char)('0' + frac % 10);
			strbuf_add(sb, buf, frac % 100 ? (frac % 10 ? 4 : 3) : 2);
		}
		return;
	}
	snprintf(buf, sizeof(buf), "%.6g", v);
	strbuf_addstr(sb, buf);
}

/* The line of log_fields() into sb, ending in '\n'. */
static void format_line(struct strbuf *sb, const char *level, const char *msg,
			const struct log_field *f, size_t n)
{
	char ts[TS_LEN + 1];
	size_t i;

	timestamp(ts);
	strbuf_grow(sb, 256);
	strbuf_addstr(sb, "{\"ts\":\"");
	strbuf_add(sb, ts, TS_LEN);
	strbuf_addstr(sb, "\",\"level\":");
	json_quote(sb, level);
	strbuf_addstr(sb, ",\"msg\":");
	json_quote(sb, msg);
	for (i = 0; i < n; i++) {
		strbuf_addstr(sb, ",\"");
		strbuf_addstr(sb, f[i].key);
		strbuf_addstr(sb, "\":");
		if (f[i].yes)
			strbuf_addstr(sb, f[i].yes > 0 ? "true" : "false");
		else if (f[i].str)
			json_quote(sb, f[i].str);
		else
			add_number(sb, f[i].num);
	}
	strbuf_addstr(sb, "}\n");
}

/*
 * Copies the line s[0..n) to the end of the filling buffer and wakes the
 * writer when it should write soon (the first line of a batch, past the
 * threshold) or now (urgent).  When the buffer has no room, waits for it as
 * the top of the file says, or drops the line and counts it.  Returns false
 * when the log is not buffering: the caller writes the line itself.
 */
static bool buffer_line(const char *s, size_t n, bool urgent)
{
	struct timespec until;
	bool waited = false, late = false, wake = false;
	uint64_t f;
	size_t len;

	pthread_mutex_lock(&lg.lock);
	if (atomic_load(&mode) != LOG_BUFFERED) {
		pthread_mutex_unlock(&lg.lock);
		return atomic_load(&mode) == LOG_GONE;
	}
	while ((len = fill_len()) + n > lg.opt.cap) {
		if (lg.dropped || late || n > lg.opt.cap || atomic_load(&mode) != LOG_BUFFERED) {
			lg.dropped++;
			goto out;
		}
		if (!waited)
			until = clock_after_ms(CLOCK_MONOTONIC, lg.opt.block_ms);
		waited = true;
		pthread_cond_signal(&lg.wake);
		late = wait_until(&lg.room, &until);
	}
	f = atomic_load(&lg.fill);
	memcpy(lg.buf[f & 1] + len, s, n);
	atomic_store(&lg.fill, f + ((uint64_t)n << 1)); /* counted in once whole */
	lg.in += n;
	if (urgent)
		lg.urgent = true;
	wake = urgent || !len || (len < lg.opt.threshold && len + n >= lg.opt.threshold);
out:
	pthread_mutex_unlock(&lg.lock);
	if (wake) /* after the unlock, so that the writer does not wake to a taken lock */
		pthread_cond_signal(&lg.wake);
	return true;
}

/* Appends the line saying that `dropped` lines were dropped to the batch of
 * len bytes at b (which has NOTE_MAX bytes of room after it); returns the new
 * length. */
static size_t add_drop_note(char *b, size_t len, uint64_t dropped)
{
	const struct log_field f = { "dropped", NULL, (double)dropped, 0 };
	struct strbuf sb = STRBUF_INIT;

	format_line(&sb, "warn", "log lines dropped", &f, 1);
	if (sb.len <= NOTE_MAX) {
		memcpy(b + len, sb.buf, sb.len);
		len += sb.len;
	}
	strbuf_release(&sb);
	return len;
}

/*
 * The writer thread: waits for a first line, gives the batch interval_ms to
 * grow (less when woken past the threshold, for an urgent line or a flush,
 * none when stopping), takes the filling buffer and writes it without the
 * lock.  Ends once stopping with nothing left, or when log_stop() gave up on
 * it (it then frees the buffers).
 */
static void *writer_main(void *arg)
{
	struct timespec until;
	uint64_t f, taken, dropped;
	size_t len;
	char *b;

	(void)arg;
	atomic_store(&writer_tid, gettid());
	pthread_mutex_lock(&lg.lock);
	for (;;) {
		while (!fill_len() && !lg.dropped && !lg.stopping)
			pthread_cond_wait(&lg.wake, &lg.lock);
		if (!fill_len() && !lg.dropped)
			break; /* stopping, everything written */
		until = clock_after_ms(CLOCK_MONOTONIC, lg.opt.interval_ms);
		while (!lg.stopping && !lg.urgent && fill_len() < lg.opt.threshold &&
		       !wait_until(&lg.wake, &until))
			;
		f = atomic_load(&lg.fill);
		len = (size_t)(f >> 1);
		b = lg.buf[f & 1];
		atomic_store(&lg.out_done, 0);
		atomic_store(&lg.out_len, len);
		if (atomic_load(&crashing)) {
			/* after out_len, so that write_pending either sees this
			 * batch taken and waits for it, or finds it still here */
			atomic_store(&lg.out_len, 0);
			pthread_mutex_unlock(&lg.lock);
			return NULL;
		}
		atomic_store(&lg.fill, (f & 1) ^ 1); /* the other buffer, empty */
		taken = lg.in;
		dropped = lg.dropped;
		lg.dropped = 0;
		lg.urgent = false;
		pthread_cond_broadcast(&lg.room);
		pthread_mutex_unlock(&lg.lock);

		if (dropped) {
			len = add_drop_note(b, len, dropped);
			atomic_store(&lg.out_len, len);
		}
		emit(b, len, &lg.out_done);

		pthread_mutex_lock(&lg.lock);
		atomic_store(&lg.out_len, 0);
		lg.out = taken;
		pthread_cond_broadcast(&lg.room);
		if (lg.orphaned)
			break;
	}
	atomic_store(&mode, LOG_DIRECT); /* later lines are written at once */
	if (lg.orphaned) {
		free(lg.buf[0]);
		free(lg.buf[1]);
		lg.buf[0] = lg.buf[1] = NULL;
	}
	lg.alive = false;
	pthread_cond_broadcast(&lg.room);
	pthread_mutex_unlock(&lg.lock);
	return NULL;
}

static pthread_once_t conds_once = PTHREAD_ONCE_INIT;

/* The two conditions, on CLOCK_MONOTONIC; made once, never destroyed (an
 * abandoned writer may still use them). */
static void init_conds(void)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&lg.wake, &a);
	pthread_cond_init(&lg.room, &a);
	pthread_condattr_destroy(&a);
}

int log_start(const struct log_options *opt)
{
	static const struct log_options defaults = LOG_OPTIONS_DEFAULT;
	static bool at_exit;
	sigset_t all, old;
	size_t i;
	int rc;

	pthread_once(&conds_once, init_conds);
	pthread_mutex_lock(&lg.lock);
	if (lg.alive) {
		pthread_mutex_unlock(&lg.lock);
		return -1;
	}
	lg.opt = opt ? *opt : defaults;
	lg.buf[0] = xmalloc(lg.opt.cap + NOTE_MAX);
	lg.buf[1] = xmalloc(lg.opt.cap + NOTE_MAX);
	atomic_store(&lg.fill, 0);
	atomic_store(&lg.out_len, 0);
	atomic_store(&lg.out_done, 0);
	lg.in = lg.out = lg.dropped = 0;
	lg.urgent = lg.stopping = lg.orphaned = false;
	/* The writer takes no asynchronous signal (main waits for SIGTERM and
	 * SIGINT itself); the faults stay open so that on_fatal runs. */
	sigfillset(&all);
	for (i = 0; i < NFATAL; i++)
		sigdelset(&all, fatal_signals[i]);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&lg.thread, NULL, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		free(lg.buf[0]);
		free(lg.buf[1]);
		lg.buf[0] = lg.buf[1] = NULL;
		pthread_mutex_unlock(&lg.lock);
		log_msgf("warn", "cannot start the log thread: every line is written at once");
		return -1;
	}
	lg.alive = true;
	atomic_store(&mode, LOG_BUFFERED);
	fatal_handlers(true);
	if (!at_exit && !atexit(log_stop))
		at_exit = true;
	pthread_mutex_unlock(&lg.lock);
	return 0;
}

int log_flush(void)
{
	struct timespec until;
	uint64_t target;
	bool late = false;
	int rc;

	if (atomic_load(&mode) != LOG_BUFFERED)
		return 0;
	pthread_mutex_lock(&lg.lock);
	target = lg.in;
	lg.urgent = true;
	pthread_cond_signal(&lg.wake);
	until = clock_after_ms(CLOCK_MONOTONIC, lg.opt.exit_ms);
	while (lg.alive && lg.out < target && !late)
		late = wait_until(&lg.room, &until);
	rc = lg.out < target ? -1 : 0;
	pthread_mutex_unlock(&lg.lock);
	return rc;
}

void log_stop(void)
{
	struct timespec until;
	bool late = false, ended;

	if (atomic_load(&mode) != LOG_BUFFERED)
		return;
	pthread_mutex_lock(&lg.lock);
	if (!lg.alive || lg.stopping || lg.orphaned) {
		pthread_mutex_unlock(&lg.lock);
		return;
	}
	lg.stopping = true;
	pthread_cond_signal(&lg.wake);
	until = clock_after_ms(CLOCK_MONOTONIC, lg.opt.exit_ms);
	while (lg.alive && !late)
		late = wait_until(&lg.room, &until);
	ended = !lg.alive;
	if (!ended) {
		/* stderr takes nothing: leave the writer in its write(2) and
		 * drop what is left, so that exit does not block on it too */
		lg.orphaned = true;
		atomic_store(&mode, LOG_GONE);
	}
	fatal_handlers(false);
	pthread_mutex_unlock(&lg.lock);
	if (!ended) {
		pthread_detach(lg.thread);
		return;
	}
	pthread_join(lg.thread, NULL);
	pthread_mutex_lock(&lg.lock);
	free(lg.buf[0]);
	free(lg.buf[1]);
	lg.buf[0] = lg.buf[1] = NULL;
	lg.stopping = false;
	pthread_mutex_unlock(&lg.lock);
}

void log_fields(const char *level, const char *msg, const struct log_field *f, size_t n)
{
	struct strbuf sb = STRBUF_INIT;

	format_line(&sb, level, msg, f, n);
	if (atomic_load_explicit(&mode, memory_order_relaxed) == LOG_DIRECT ||
	    !buffer_line(sb.buf, sb.len, !strcmp(level, "error")))
		emit(sb.buf, sb.len, NULL);
	strbuf_release(&sb);
}

void log_msgf(const char *level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_fields(level, buf, NULL, 0);
}
