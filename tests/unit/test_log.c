/*
 * test_log.c - structured logs (src/log.c): one JSON object per line on
 * stderr, whatever the message holds, with its fields typed as asked; and,
 * buffered between log_start() and log_stop(): no write per line, lines whole
 * and in each thread's order, nothing lost at a flush, at exit or on a fatal
 * signal, a bounded buffer that drops and counts when stderr does not keep
 * up, and a stop that does not hang on a stderr that takes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "log.h"
#include "strbuf.h"
#include "unit.h"
#include "xalloc.h"

void suite_log(void);

/* The one line that fn wrote to stderr, parsed (caller decrefs), and its
 * text into *text when text is not NULL (caller frees).  NULL (a failed
 * check) unless fn wrote exactly one line holding one JSON object. */
static json_t *one_line(void (*fn)(void), char **text)
{
	struct capture cap;
	json_error_t jerr;
	json_t *o = NULL;
	char *out;
	size_t n;

	CHECK(capture_begin(&cap, 2) == 0);
	fn();
	out = capture_end(&cap);
	n = out ? strlen(out) : 0;
	CHECK(n > 0 && out[n - 1] == '\n' && count_lines(out) == 1);
	if (n > 0 && out[n - 1] == '\n' && count_lines(out) == 1) {
		o = json_loads(out, JSON_REJECT_DUPLICATES, &jerr);
		CHECK(json_is_object(o));
		if (!o)
			fprintf(stderr, "  not JSON (%s): %s", jerr.text, out);
	}
	if (text)
		*text = out;
	else
		free(out);
	return o;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "(missing)";
}

static void hello(void)
{
	log_msgf("info", "hello %d %s", 42, "world");
}

/* "ts" is the time now, as 2026-11-27T15:10:24.123Z. */
static void plain_message(void)
{
	struct tm tm;
	const char *ts, *end;
	time_t before = time(NULL), t;
	json_t *o = one_line(hello, NULL);

	if (!o)
		return;
	CHECK(json_object_size(o) == 3);
	CHECK(!strcmp(str(o, "level"), "info") && !strcmp(str(o, "msg"), "hello 42 world"));
	ts = str(o, "ts");
	memset(&tm, 0, sizeof(tm));
	end = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm);
	CHECK(strlen(ts) == 24 && end && end[0] == '.' && end[4] == 'Z');
	CHECK(end && end[1] >= '0' && end[1] <= '9' && end[3] >= '0' && end[3] <= '9');
	t = timegm(&tm);
	CHECK(t >= before && t <= time(NULL));
	json_decref(o);
}

static const char tricky[] = "quote \" backslash \\ newline \n tab \t bell \x07 e\xC3\xA9 end";

static void tricky_message(void)
{
	log_msgf("warn", "%s", tricky);
}

static void bad_utf8(void)
{
	log_fields("error", "cut \xC3 here \xFF", NULL, 0);
}

static void long_message(void)
{
	char big[3000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_msgf("info", "%s", big);
}

static void escaping(void)
{
	json_t *o = one_line(tricky_message, NULL);

	CHECK(o && !strcmp(str(o, "msg"), tricky) && !strcmp(str(o, "level"), "warn"));
	json_decref(o);
	/* text that is not UTF-8 still makes a valid line */
	o = one_line(bad_utf8, NULL);
	CHECK(o && !strncmp(str(o, "msg"), "cut ", 4));
	json_decref(o);
	/* log_msgf cuts a long message, still one line */
	o = one_line(long_message, NULL);
	CHECK(o && strlen(str(o, "msg")) == 1023);
	json_decref(o);
}

static void with_fields(void)
{
	const struct log_field f[] = {
		{ "method", "GET", 0, 0 },      { "status", NULL, 200, 0 },
		{ "ms", NULL, 1.25, 0 },        { "tiny", NULL, 0.001, 0 },
		{ "neg", NULL, -2.5, 0 },       { "negsmall", NULL, -0.04, 0 },
		{ "big", NULL, 1e13, 0 },       { "odd", NULL, 1234.5678, 0 },
		{ "ok", NULL, 0, 1 },           { "cached", "ignored", 0, -1 },
		{ "path", "/a\"b", 0, 0 },      { "zero", NULL, 0, 0 },
	};
	struct capture cap;
	char *text;
	json_t *o;

	CHECK(capture_begin(&cap, 2) == 0);
	log_fields("info", "request", f, sizeof(f) / sizeof(f[0]));
	text = capture_end(&cap);
	o = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
	CHECK(o && json_object_size(o) == 3 + sizeof(f) / sizeof(f[0]));
	CHECK(!strcmp(str(o, "method"), "GET") && !strcmp(str(o, "path"), "/a\"b"));
	CHECK(json_is_true(json_object_get(o, "ok")) && json_is_false(json_object_get(o, "cached")));
	/* numbers as written: whole, thousandths by hand, the rest %.6g */
	CHECK(text && strstr(text, "\"status\":200,"));
	CHECK(text && strstr(text, "\"ms\":1.25,"));
	CHECK(text && strstr(text, "\"tiny\":0.001,"));
	CHECK(text && strstr(text, "\"neg\":-2.5,"));
	CHECK(text && strstr(text, "\"negsmall\":-0.04,"));
	CHECK(text && strstr(text, "\"big\":1e+13,"));
	CHECK(text && strstr(text, "\"odd\":1234.57,"));
	CHECK(text && strstr(text, "\"zero\":0}"));
	CHECK(json_real_value(json_object_get(o, "big")) == 1e13);
	json_decref(o);
	free(text);
}

static void lines_in_order(void)
{
	struct capture cap;
	char *text, *second;
	json_t *a, *b;

	CHECK(capture_begin(&cap, 2) == 0);
	log_msgf("info", "first");
	log_fields("error", "second", NULL, 0);
	text = capture_end(&cap);
	CHECK(text && count_lines(text) == 2);
	second = text ? strchr(text, '\n') : NULL;
	if (!second)
		goto out;
	*second++ = '\0';
	a = json_loads(text, 0, NULL);
	b = json_loads(second, 0, NULL);
	CHECK(a && !strcmp(str(a, "msg"), "first"));
	CHECK(b && !strcmp(str(b, "msg"), "second") && !strcmp(str(b, "level"), "error"));
	json_decref(a);
	json_decref(b);
out:
	free(text);
}

/* ---- buffered: between log_start() and log_stop() ---- */

/* Options that write only when asked (a flush, an error, the stop, exit), so
 * that a test sees what was written without asking. */
static const struct log_options when_asked = { 1 << 20, 64 << 10, 60000, 100, 5000 };

/* What the file behind fd holds now (caller frees). */
static char *file_text(int fd)
{
	struct strbuf sb = STRBUF_INIT;
	char chunk[4096];
	ssize_t n;
	off_t at = 0;

	while ((n = pread(fd, chunk, sizeof(chunk), at)) > 0) {
		strbuf_add(&sb, chunk, (size_t)n);
		at += n;
	}
	return strbuf_detach(&sb);
}

/* The lines of text as JSON objects, in order, into a new array (caller
 * decrefs); NULL when a line is not a JSON object or does not end in '\n'. */
static json_t *parse_lines(const char *text)
{
	json_t *all = json_array(), *o;
	const char *nl;

	for (; text && *text; text = nl + 1) {
		nl = strchr(text, '\n');
		o = nl ? json_loadb(text, (size_t)(nl - text), JSON_REJECT_DUPLICATES, NULL) : NULL;
		if (!json_is_object(o)) {
			fprintf(stderr, "  not a JSON line: %.200s\n", text);
			json_decref(o);
			json_decref(all);
			return NULL;
		}
		json_array_append_new(all, o);
	}
	return all;
}

static json_int_t num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static void numbered(const char *msg, int i)
{
	const struct log_field f = { "n", NULL, i, 0 };

	log_fields("info", msg, &f, 1);
}

/* Whether lines holds exactly the lines "msg" numbered 0 .. n-1, in order,
 * from index *at on; moves *at past them. */
static bool run_of(json_t *lines, size_t *at, const char *msg, int n)
{
	int i;

	for (i = 0; i < n; i++, (*at)++) {
		json_t *o = json_array_get(lines, *at);

		if (!o || strcmp(str(o, "msg"), msg) || num(o, "n") != i)
			return false;
	}
	return true;
}

/* Lines wait in memory: none is written until a flush, which writes all of
 * them; log_stop() writes the rest; after it a line is written at once. */
static void buffered_until_flushed(void)
{
	struct capture cap;
	char *before = NULL, *flushed = NULL, *text;
	json_t *lines;
	int i, started, flush_rc = -1;
	size_t at = 0;

	CHECK(capture_begin(&cap, 2) == 0);
	started = log_start(&when_asked);
	for (i = 0; i < 100; i++)
		numbered("waiting", i);
	before = file_text(cap.fd);
	if (!started)
		flush_rc = log_flush();
	flushed = file_text(cap.fd);
	for (i = 0; i < 3; i++)
		numbered("at stop", i);
	log_stop();
	numbered("after stop", 0);
	free(file_text(cap.fd)); /* nothing to wait for */
	text = capture_end(&cap);
	CHECK(started == 0 && flush_rc == 0);
	CHECK(before && before[0] == '\0');
	CHECK(flushed && count_lines(flushed) == 100);
	lines = parse_lines(text);
	CHECK(lines && json_array_size(lines) == 104);
	CHECK(run_of(lines, &at, "waiting", 100) && run_of(lines, &at, "at stop", 3) &&
	      run_of(lines, &at, "after stop", 1));
	json_decref(lines);
	free(before);
	free(flushed);
	free(text);
}

/* A line at "error" is written without waiting for the interval, and the
 * lines before it with it. */
static void errors_written_at_once(void)
{
	struct capture cap;
	char *text = NULL;
	int64_t until;
	int started;

	CHECK(capture_begin(&cap, 2) == 0);
	started = log_start(&when_asked);
	log_msgf("info", "before the error");
	log_msgf("error", "the error");
	until = clock_ms(CLOCK_MONOTONIC) + 5000;
	do {
		free(text);
		usleep(2000);
		text = file_text(cap.fd);
	} while (count_lines(text) < 2 && clock_ms(CLOCK_MONOTONIC) < until);
	log_stop();
	free(capture_end(&cap));
	CHECK(started == 0);
	CHECK(text && count_lines(text) == 2 && strstr(text, "before the error") &&
	      strstr(text, "the error"));
	free(text);
}

#define NTHREADS 8
#define PER_THREAD 3000

/* The pad of thread t's line i: a length that varies, t's own letter. */
static size_t pad_len(int t, int i)
{
	return (size_t)(i * 37 + t * 11) % 300;
}

static void *chatter(void *arg)
{
	int t = (int)(intptr_t)arg, i;
	char pad[301];

	for (i = 0; i < PER_THREAD; i++) {
		size_t n = pad_len(t, i);
		const struct log_field f[] = {
			{ "t", NULL, t, 0 }, { "seq", NULL, i, 0 }, { "pad", pad, 0, 0 },
		};

		memset(pad, 'a' + t, n);
		pad[n] = '\0';
		log_fields("info", "chatter", f, 3);
	}
	return NULL;
}

/* Many threads at once, through a small buffer that the writer takes many
 * times: every line arrives whole, once, and each thread's in its order. */
static void threads_whole_and_in_order(void)
{
	/* 16 KiB: threads often find it full and wait (never 10 s) */
	const struct log_options o = { 16 << 10, 4 << 10, 1, 10000, 5000 };
	pthread_t th[NTHREADS];
	int next[NTHREADS] = { 0 }, t, started, made = 0, bad = 0;
	struct capture cap;
	json_t *lines, *l;
	char *text, pad[301];
	size_t i;

	CHECK(capture_begin(&cap, 2) == 0);
	started = log_start(&o);
	for (t = 0; t < NTHREADS; t++)
		made += !pthread_create(&th[t], NULL, chatter, (void *)(intptr_t)t);
	for (t = 0; t < made; t++)
		pthread_join(th[t], NULL);
	log_stop();
	text = capture_end(&cap);
	CHECK(started == 0 && made == NTHREADS);
	lines = parse_lines(text);
	CHECK(lines && json_array_size(lines) == NTHREADS * PER_THREAD);
	json_array_foreach(lines, i, l) {
		t = (int)num(l, "t");
		if (t < 0 || t >= NTHREADS || num(l, "seq") != next[t]) {
			bad++;
			continue;
		}
		memset(pad, 'a' + t, pad_len(t, next[t]));
		pad[pad_len(t, next[t])] = '\0';
		bad += !!strcmp(str(l, "pad"), pad);
		next[t]++;
	}
	CHECK(bad == 0);
	for (t = 0; t < NTHREADS; t++)
		CHECK(next[t] == PER_THREAD);
	json_decref(lines);
	free(text);
}

/* How a forked child ends after logging its lines. */
enum ending { END_EXIT, END_ABORT, END_FAULT, END_SANITIZER };

/* 0: a fault the compiler cannot see (at 16, not NULL, so that UBSan's
 * null check does not end the process first) */
static volatile uintptr_t nowhere;
static char *volatile freed; /* freed, then written: AddressSanitizer's report */

/* Forks a child whose stderr is fd (the parent keeps its copy open): it
 * starts the log with o, logs the lines "msg" numbered 0 .. count-1, with
 * 10 ms of quiet after line `pause_after` (-1: none), and ends as `how` says
 * (exit status 3: log_start failed).  Returns its pid, or -1. */
static pid_t fork_logger(int fd, const struct log_options *o, const char *msg, int count,
			 int pause_after, enum ending how)
{
	struct rlimit no_core = { 0, 0 };
	pid_t pid = fork();
	int i;

	if (pid)
		return pid;
	if (fd != STDERR_FILENO) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	setrlimit(RLIMIT_CORE, &no_core);
	if (log_start(o))
		_exit(3);
	for (i = 0; i < count; i++) {
		numbered(msg, i);
		if (i == pause_after)
			usleep(10000);
	}
	if (how == END_ABORT)
		abort();
	if (how == END_FAULT)
		*(volatile int *)(nowhere + 16) = 1;
	if (how == END_SANITIZER) {
		freed = xmalloc(8);
		free(freed);
		freed[1] = 1; /* use after free */
	}
	exit(0); /* log_stop() through atexit */
}

/* A child of fork_logger() logging 50 lines "child" to a file, ended as
 * `how` says; returns what the file holds (caller frees) and the child's
 * status in *status. */
static char *child_logs(enum ending how, int *status)
{
	struct capture cap;
	pid_t pid;

	*status = -1;
	if (capture_begin(&cap, 2))
		return NULL;
	pid = fork_logger(STDERR_FILENO, &when_asked, "child", 50, -1, how);
	if (pid > 0)
		waitpid(pid, status, 0);
	return capture_end(&cap);
}

/* A pipe that holds one page: a writer soon waits on it.  0 or -1. */
static int small_pipe(int p[2])
{
	if (pipe(p))
		return -1;
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	return 0;
}

/* The 50 lines of the child are all in text, whole, in order (other lines,
 * such as a sanitizer's report of the fault, may follow). */
static bool child_lines(const char *text)
{
	const char *p = text;
	char want[64];
	int i;

	for (i = 0; i < 50; i++) {
		snprintf(want, sizeof(want), "\"msg\":\"child\",\"n\":%d}\n", i);
		if (!p || !(p = strstr(p, want)))
			return false;
		p += strlen(want);
	}
	return true;
}

/* Nothing is lost when the process ends: exit() without log_stop(), abort()
 * and a segmentation fault each leave every line on stderr, and the signal
 * still ends the process as it would have. */
static void nothing_lost_at_the_end(void)
{
	int status;
	char *text;

	text = child_logs(END_EXIT, &status);
	CHECK(text && child_lines(text));
	CHECK(WIFEXITED(status));
	free(text);

	text = child_logs(END_ABORT, &status);
	CHECK(text && child_lines(text));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	free(text);

	/* a sanitizer's handler, put back, reports the fault and exits 1 */
	text = child_logs(END_FAULT, &status);
	CHECK(text && child_lines(text));
	CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) ||
	      (WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 3));
	free(text);
#ifdef __SANITIZE_ADDRESS__
	/* a report of AddressSanitizer ends the process without a signal */
	text = child_logs(END_SANITIZER, &status);
	CHECK(text && child_lines(text) && strstr(text, "heap-use-after-free"));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 3);
	free(text);
#endif
}

/* A crash while the writer is in the middle of a batch (stderr a pipe that
 * is read slowly): the handler lets that batch finish, then writes the rest;
 * every line comes out once, whole and in order. */
static void crash_while_writing(void)
{
	const struct log_options o = { 1 << 20, 1024, 1, 100, 5000 };
	struct strbuf got = STRBUF_INIT;
	int p[2], status = -1, next = 0, bad = 0;
	json_t *lines, *l;
	char chunk[512];
	ssize_t n;
	size_t k;
	pid_t pid;

	if (small_pipe(p)) {
		CHECK(!"pipe");
		return;
	}
	/* the writer takes the first 500 lines and is slow to write them */
	pid = fork_logger(p[1], &o, "crash", 1000, 499, END_ABORT);
	close(p[1]);
	while ((n = read(p[0], chunk, sizeof(chunk))) > 0) {
		strbuf_add(&got, chunk, (size_t)n);
		usleep(200);
	}
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	lines = parse_lines(got.buf);
	CHECK(lines != NULL);
	json_array_foreach(lines, k, l)
		bad += strcmp(str(l, "msg"), "crash") || num(l, "n") != next++;
	CHECK(bad == 0 && next == 1000);
	json_decref(lines);
	strbuf_release(&got);
}

/* A crash while stderr takes nothing: the process still dies, within
 * seconds, rather than hang in the handler's write(2). */
static void crash_with_stuck_stderr_dies(void)
{
	const struct log_options o = { 4096, 1024, 1, 10, 5000 };
	int p[2], status = -1;
	int64_t t0, took;
	pid_t pid, got = 0;

	if (small_pipe(p)) {
		CHECK(!"pipe");
		return;
	}
	pid = fork_logger(p[1], &o, "stuck", 500, -1, END_ABORT);
	close(p[1]);
	t0 = clock_ms(CLOCK_MONOTONIC);
	while (pid > 0 && !got && clock_ms(CLOCK_MONOTONIC) - t0 < 10000) {
		got = waitpid(pid, &status, WNOHANG);
		usleep(10000);
	}
	took = clock_ms(CLOCK_MONOTONIC) - t0;
	if (pid > 0 && !got) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	close(p[0]); /* read by nobody, ever */
	CHECK(got == pid && WIFSIGNALED(status));
	CHECK(took < 5000);
}

/* stderr on a pipe of one page that nobody reads yet. */
struct stuck {
	int rd;         /* the read end */
	int saved;      /* the real stderr */
	pthread_t th;   /* drains rd into got, once started */
	struct strbuf got;
};

static int stuck_begin(struct stuck *s)
{
	int p[2];

	memset(s, 0, sizeof(*s));
	s->saved = -1;
	if (small_pipe(p))
		return -1;
	fflush(stderr);
	s->saved = dup(STDERR_FILENO);
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	s->rd = p[0];
	return 0;
}

static void *drain(void *arg)
{
	struct stuck *s = arg;
	char chunk[4096];
	ssize_t n;

	while ((n = read(s->rd, chunk, sizeof(chunk))) > 0)
		strbuf_add(&s->got, chunk, (size_t)n);
	return NULL;
}

/* stderr back; the pipe's write end is then closed, so drain() ends. */
static void stuck_end(struct stuck *s)
{
	dup2(s->saved, STDERR_FILENO);
	close(s->saved);
}

/* A stderr that does not keep up: a line waits at most block_ms for room,
 * only the first line waits at all, the rest are dropped at once and
 * counted, and once stderr reads again the count arrives as one line; the
 * lines that arrive are whole and in order, and no more than the buffer
 * could hold. */
static void full_buffer_drops_and_counts(void)
{
	const struct log_options o = { 4096, 1024, 1, 200, 5000 };
	int64_t t0, t, slowest = 0, total;
	int i, started, drained = -1, dropped = 0, arrived = 0, last = -1, order = 0, notes = 0;
	struct stuck s;
	json_t *lines, *l;
	const char *note;
	size_t k;

	if (stuck_begin(&s)) {
		CHECK(!"pipe");
		return;
	}
	started = log_start(&o);
	t0 = clock_ms(CLOCK_MONOTONIC);
	for (i = 0; i < 2000; i++) {
		t = clock_ms(CLOCK_MONOTONIC);
		numbered("flood", i);
		t = clock_ms(CLOCK_MONOTONIC) - t;
		slowest = t > slowest ? t : slowest;
	}
	total = clock_ms(CLOCK_MONOTONIC) - t0;
	drained = pthread_create(&s.th, NULL, drain, &s);
	log_stop();
	stuck_end(&s);
	if (!drained)
		pthread_join(s.th, NULL);
	close(s.rd);
	CHECK(started == 0 && drained == 0);
	CHECK(slowest >= 150 && slowest < 2000); /* waited for room, briefly */
	CHECK(total < 4000);                      /* one wait, not one per line */
	lines = parse_lines(s.got.buf);
	CHECK(lines != NULL);
	json_array_foreach(lines, k, l) {
		if (!strcmp(str(l, "msg"), "log lines dropped")) {
			notes++;
			dropped += (int)num(l, "dropped");
			CHECK(!strcmp(str(l, "level"), "warn"));
		} else if (!strcmp(str(l, "msg"), "flood")) {
			order += num(l, "n") <= last;
			last = (int)num(l, "n");
			arrived++;
		}
	}
	CHECK(order == 0);
	CHECK(notes >= 1 && dropped > 0 && arrived + dropped == 2000);
	/* what came before the count (whose msg is some 50 bytes into its
	 * line): a page in the pipe, the batch in flight, the full buffer */
	note = s.got.buf ? strstr(s.got.buf, "\"log lines dropped\"") : NULL;
	CHECK(note && note - s.got.buf <= 3 * 4096 + 64);
	json_decref(lines);
	strbuf_release(&s.got);
}

/* A stderr that takes nothing at all: log_stop() gives up after exit_ms
 * rather than hang the exit, a line after it does not block, and the writer
 * left in its write(2) ends and frees its buffers once stderr fails. */
static void stop_gives_up_on_stuck_stderr(void)
{
	const struct log_options o = { 4096, 1024, 1, 10, 300 };
	int64_t t0, stop_ms, after_ms, restart_ms;
	int i, started, again = -1;
	struct stuck s;

	if (stuck_begin(&s)) {
		CHECK(!"pipe");
		return;
	}
	signal(SIGPIPE, SIG_IGN);
	started = log_start(&o);
	for (i = 0; i < 500; i++)
		numbered("stuck", i);
	t0 = clock_ms(CLOCK_MONOTONIC);
	log_stop();
	stop_ms = clock_ms(CLOCK_MONOTONIC) - t0;
	t0 = clock_ms(CLOCK_MONOTONIC);
	log_msgf("info", "after the stop");
	after_ms = clock_ms(CLOCK_MONOTONIC) - t0;
	stuck_end(&s);
	close(s.rd); /* the writer's write(2) fails now */
	t0 = clock_ms(CLOCK_MONOTONIC);
	while (clock_ms(CLOCK_MONOTONIC) - t0 < 5000 && (again = log_start(&when_asked)))
		usleep(5000);
	restart_ms = clock_ms(CLOCK_MONOTONIC) - t0;
	log_stop();
	signal(SIGPIPE, SIG_DFL);
	CHECK(started == 0);
	CHECK(stop_ms >= 250 && stop_ms < 3000);
	CHECK(after_ms < 100);
	CHECK(again == 0 && restart_ms < 5000);
}

void suite_log(void)
{
	static const struct unit_test t[] = {
		{ "plain_message", plain_message }, { "escaping", escaping },
		{ "with_fields", with_fields }, { "lines_in_order", lines_in_order },
		{ "buffered_until_flushed", buffered_until_flushed },
		{ "errors_written_at_once", errors_written_at_once },
		{ "threads_whole_and_in_order", threads_whole_and_in_order },
		{ "nothing_lost_at_the_end", nothing_lost_at_the_end },
		{ "crash_while_writing", crash_while_writing },
		{ "crash_with_stuck_stderr_dies", crash_with_stuck_stderr_dies },
		{ "full_buffer_drops_and_counts", full_buffer_drops_and_counts },
		{ "stop_gives_up_on_stuck_stderr", stop_gives_up_on_stuck_stderr },
	};
	unit_run("log", t, sizeof(t) / sizeof(t[0]));
}
