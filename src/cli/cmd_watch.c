/*
 * cmd_watch.c - `cmsctl mapping watch`: follow the mapping's change feed
 * (docs/feed.md, API.md §8) by long-poll, one line per event.
 *
 * 1. Where to start: the cursor in --cursor-file when that file exists and
 *    holds one, else --after, else the oldest event the server retains.  The
 *    file wins over --after so that the same command line, run again after a
 *    stop, goes on where it stopped instead of printing events again.
 * 2. One GET .../changes?after=C&wait=W (with the filters) at a time.  Its
 *    events are printed - a line each, or a compact JSON object each with
 *    --json - and stdout is flushed; only then is the answer's cursor
 *    written to the cursor file (FILE.tmp, fsync, rename).  So the file never
 *    names a position past what was printed, and a restart from it never
 *    prints an event twice; a crash between the flush and the rename prints
 *    that one batch again.  The next GET resumes from the answer's cursor,
 *    which with filters may lie past the last event printed.
 * 3. No answer, a 5xx or a 429: say so on stderr, wait (Retry-After, else
 *    0.5 s doubling to 30 s, each wait drawn between half and all of it, so
 *    that many watchers do not come back at once) and ask again; an answer
 *    resets the wait.  Any other error ends the watch (exit 1, or 4 for a
 *    401) with a hint: 401 (log in again), 403, 400, 404, and 410 (the cursor is older than
 *    the retention window: take a new snapshot).
 * 4. SIGINT or SIGTERM: the request under way is abandoned within about a
 *    second and nothing of it is printed; the watch ends with exit 0, its
 *    cursor file as the last batch printed left it.
 *
 * --once makes one GET, prints its events and ends; it does not try again.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define FEED "/voice/campaignLeadUserMapping/changes"
#define WAIT_DEFAULT 25        /* seconds a GET may be held */
#define BACKOFF_FIRST_MS 500   /* the first wait before asking again */
#define BACKOFF_MAX_MS 30000   /* doubled up to this */
#define CURSOR_FILE_MAX 256    /* bytes read of a cursor file */

struct watch_opts {
	int64_t campaign;        /* filters; 0 or NULL: not given */
	int64_t lead;
	const char *user_id;
	const char *after;       /* where to start without a cursor file */
	const char *cursor_file;
	bool once;
	struct opt_int wait;     /* not given: WAIT_DEFAULT */
};

#define W(kind, field) BIND_##kind(struct watch_opts, field)

static const struct option watch_options[] = {
	{ "campaign", W(ID, campaign), .arg = "ID", .help = "only the changes of this campaign" },
	{ "lead", W(ID, lead), .arg = "ID", .help = "only the changes of this lead" },
	/* not --user: that is the global option of the login */
	{ "user-id", W(STR, user_id), .arg = "USERID", .nonempty = true,
	  .help = "only the changes that assign or unassign this user" },
	{ "after", W(STR, after), .arg = "CURSOR",
	  .help = "start after CURSOR (from 'mapping get'); default: the oldest kept" },
	{ "cursor-file", W(STR, cursor_file), .arg = "FILE", .nonempty = true,
	  .help = "start from the cursor in FILE if it exists; keep it there" },
	{ "once", W(FLAG, once), .help = "one request: print what it brings, then stop" },
	{ "wait", W(INT, wait), .arg = "SECONDS", .min = 0, .max = CMS_FEED_WAIT_MAX,
	  .unit = "seconds",
	  .help = "hold each request up to SECONDS for news (0-" NUMSTR(CMS_FEED_WAIT_MAX)
		  ", default " NUMSTR(WAIT_DEFAULT) ")" },
	OPT_END,
};

/* Set by SIGINT and SIGTERM while the watch runs. */
static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* ---- the cursor ---- */

/* Whether s is a cursor as docs/feed.md writes them: "0", or
 * CMS_CURSOR_LEN lowercase hexadecimal digits. */
static bool cursor_ok(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return !strcmp(s, "0") || (n == CMS_CURSOR_LEN && !s[n]);
}

/*
 * The cursor saved in path into cur (left empty when the file does not
 * exist or holds only white space).  Returns EXIT_OK, or EXIT_USAGE after
 * saying why (unreadable, or something that is not a cursor).
 */
static int read_cursor_file(struct cli *cli, const char *path, struct strbuf *cur)
{
	char buf[CURSOR_FILE_MAX + 1];
	size_t n, start;
	FILE *f = fopen(path, "r");

	if (!f && errno == ENOENT)
		return EXIT_OK;
	if (!f)
		return cli_usage(cli, "cannot read the cursor file %s: %s", path, strerror(errno));
	n = fread(buf, 1, CURSOR_FILE_MAX, f);
	if (ferror(f)) {
		fclose(f);
		return cli_usage(cli, "cannot read the cursor file %s", path);
	}
	fclose(f);
	buf[n] = '\0';
	while (n && strchr(" \t\r\n", buf[n - 1]))
		buf[--n] = '\0';
	start = strspn(buf, " \t\r\n");
	if (!buf[start])
		return EXIT_OK;
	if (strlen(buf) != n || !cursor_ok(buf + start))
		return cli_usage(cli, "the cursor file %s holds no cursor (it should hold one line "
			"of %d lowercase hexadecimal digits; delete it to start from the oldest "
			"change)",
			path, CMS_CURSOR_LEN);
	strbuf_addstr(cur, buf + start);
	return EXIT_OK;
}

/* fsync the directory that holds path, so that a rename into it lasts. */
static void sync_dir(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd); /* best effort: some file systems refuse it */
		close(fd);
	}
	free(copy);
}

/*
 * Replace the contents of path by the line cursor, atomically: path.tmp is
 * written, fsynced and renamed over path, so that path holds the old cursor
 * or the new one, whatever stops the process.  Returns 0, or -1 after saying
 * why on stderr.
 */
static int write_cursor_file(const char *path, const char *cursor)
{
	struct strbuf tmp = STRBUF_INIT, line = STRBUF_INIT;
	size_t done = 0;
	ssize_t n;
	int fd, rc = -1;

	strbuf_addf(&tmp, "%s.tmp", path);
	strbuf_addf(&line, "%s\n", cursor);
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0)
		goto out;
	while (done < line.len) {
		n = write(fd, line.buf + done, line.len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		done += (size_t)n;
	}
	if (done < line.len || fsync(fd)) {
		close(fd);
		goto out;
	}
	if (close(fd) || rename(tmp.buf, path))
		goto out;
	sync_dir(path);
	rc = 0;
out:
	if (rc) {
		fprintf(stderr, "cmsctl: cannot write the cursor file %s: %s\n", path,
			strerror(errno));
		unlink(tmp.buf);
	}
	strbuf_release(&line);
	strbuf_release(&tmp);
	return rc;
}

/* Where the watch starts, into cur (empty: the oldest change kept). */
static int start_cursor(struct cli *cli, const struct watch_opts *o, struct strbuf *cur)
{
	int rc = EXIT_OK;

	if (o->after && !cursor_ok(o->after))
		return cli_usage(cli, "--after %s is not a cursor: 0, or %d lowercase hexadecimal "
			"digits as 'mapping get' prints them", o->after, CMS_CURSOR_LEN);
	if (o->cursor_file)
		rc = read_cursor_file(cli, o->cursor_file, cur);
	if (!rc && !cur->len && o->after)
		strbuf_addstr(cur, o->after);
	return rc;
}

/* ---- one batch ---- */

/* The path of the next GET: from cursor (none: the oldest), with the filters. */
static void feed_path(struct strbuf *p, const struct watch_opts *o, const char *cursor,
		      int64_t wait)
{
	char *esc;

	strbuf_addf(p, FEED "?wait=%lld", (long long)wait);
	if (*cursor) {
		esc = client_escape(cursor);
		strbuf_addf(p, "&after=%s", esc);
		free(esc);
	}
	if (o->campaign)
		strbuf_addf(p, "&campaignId=%lld", (long long)o->campaign);
	if (o->lead)
		strbuf_addf(p, "&leadId=%lld", (long long)o->lead);
	if (o->user_id) {
		esc = client_escape(o->user_id);
		strbuf_addf(p, "&userId=%s", esc);
		free(esc);
	}
}

/* " KEY<cell>" into sb for the value of key in ev. */
static void add_cell(struct strbuf *sb, const char *word, const json_t *ev, const char *key)
{
	char *cell = output_cell(json_object_get(ev, key));

	strbuf_addf(sb, "%s%s", word, cell);
	free(cell);
}

/* " +a +b" for the user ids of the array key of ev, each after sign. */
static void add_users(struct strbuf *sb, const json_t *ev, const char *key, char sign)
{
	json_t *u;
	size_t i;

	json_array_foreach(json_object_get(ev, key), i, u) {
		char *cell = output_cell(u);

		strbuf_addf(sb, " %c%s", sign, cell);
		free(cell);
	}
}

/*
 * One event on stdout: with --json as compact JSON, else for people:
 * "000000000000002a campaign 1 lead 2 +anav_agent -exe_gs (mapping by sup1)".
 * The server's strings are escaped (output_escape).
 */
static void print_event(const struct cli *cli, const json_t *ev)
{
	struct strbuf sb = STRBUF_INIT;

	if (cli->json) {
		output_json(stdout, ev);
		return;
	}
	add_cell(&sb, "", ev, "cursor");
	add_cell(&sb, " campaign ", ev, "campaignId");
	add_cell(&sb, " lead ", ev, "leadId");
	add_users(&sb, ev, "assigned", '+');
	add_users(&sb, ev, "unassigned", '-');
	add_cell(&sb, " (", ev, "cause");
	add_cell(&sb, " by ", ev, "actor");
	strbuf_addch(&sb, ')');
	output_puts(stdout, sb.buf);
	putchar('\n');
	strbuf_release(&sb);
}

/*
 * A 200 answer r: its events printed and flushed, then its cursor kept in
 * cur and in the cursor file.  Returns EXIT_OK, or EXIT_API after saying why
 * (an answer not of the feed's shape, stdout or the cursor file not
 * writable).
 */
static int take_batch(const struct cli *cli, const struct watch_opts *o,
		      const struct response *r, struct strbuf *cur)
{
	json_t *events = json_object_get(r->json, "events"), *ev;
	const char *next = json_string_value(json_object_get(r->json, "cursor"));
	size_t i;

	if (!json_is_array(events) || !next || !cursor_ok(next)) {
		fprintf(stderr, "cmsctl: mapping watch: the answer is not a change feed's "
			"({\"events\": [...], \"cursor\": \"...\"})\n");
		return EXIT_API;
	}
	json_array_foreach(events, i, ev)
		print_event(cli, ev);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "cmsctl: cannot write the output: %s\n", strerror(errno));
		return EXIT_API;
	}
	if (!strcmp(strbuf_str(cur), next))
		return EXIT_OK;
	strbuf_reset(cur);
	strbuf_addstr(cur, next);
	if (o->cursor_file && write_cursor_file(o->cursor_file, next))
		return EXIT_API;
	return EXIT_OK;
}

/* ---- errors ---- */

/* Whether the failure r may pass by itself: no answer, a 5xx, a 429. */
static bool passing(const struct response *r)
{
	return !r->status || r->status >= 500 || r->status == 429;
}

/*
 * The wait before asking again after the failure r: Retry-After when the
 * server gave one, else a time drawn between half of *backoff and all of
 * it; *backoff doubles (up to BACKOFF_MAX_MS) for the next time.
 */
static long next_wait(const struct response *r, long *backoff)
{
	long ms = *backoff / 2 + random() % (*backoff / 2 + 1);

	*backoff = *backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *backoff * 2;
	return r->retry_after >= 0 ? r->retry_after * 1000 : ms;
}

/* The failure r that ends the watch, reported with what to do about it. */
static void report_end(const struct cli *cli, const struct watch_opts *o,
		       const struct response *r, const char *cur)
{
	response_report(r, false);
	cli_report_advice(cli, r); /* a 401: log in again */
	switch (r->status) {
	case 410:
		fprintf(stderr, "cmsctl: the cursor %s is older than the server's retention "
			"window (or ahead of its feed): take a new snapshot with 'cmsctl mapping "
			"get', ", *cur ? cur : "0");
		/* the file wins over --after: it must go first */
		if (o->cursor_file)
			fprintf(stderr, "delete the cursor file %s, ", o->cursor_file);
		fputs("and restart with --after and the cursor it prints\n", stderr);
		break;
	default:
		break;
	}
}

/* ---- the command ---- */

/* SIGINT and SIGTERM set `stopping` (without SA_RESTART, so that a sleep
 * ends); the old actions go to old[0..1]. */
static void catch_signals(struct sigaction old[2])
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old[0]);
	sigaction(SIGTERM, &sa, &old[1]);
}

static int watch(struct cli *cli, const struct call *call)
{
	const struct watch_opts *o = call->opts;
	int64_t wait = o->wait.given ? o->wait.v : WAIT_DEFAULT;
	struct strbuf cur = STRBUF_INIT, path = STRBUF_INIT;
	struct response r = RESPONSE_INIT;
	struct sigaction old[2];
	struct client *c = NULL;
	long backoff = BACKOFF_FIRST_MS;
	int rc;

	rc = start_cursor(cli, o, &cur);
	if (!rc)
		rc = cli_connect(cli, AUTH_REQUIRED, &c);
	if (rc)
		goto out;
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	/* the server holds a GET up to `wait` seconds: --timeout counts after that */
	client_set_timeout(c, (long)(cli->timeout.v + wait));
	stopping = 0;
	catch_signals(old);
	client_set_cancel(c, &stopping);
	while (!stopping) {
		strbuf_reset(&path);
		feed_path(&path, o, strbuf_str(&cur), wait);
		rc = client_request(c, "GET", path.buf, NULL, &r);
		if (stopping || r.printed)
			break; /* an answer that came as the signal did is not printed */
		if (!rc) {
			rc = take_batch(cli, o, &r, &cur);
			backoff = BACKOFF_FIRST_MS;
			if (rc || o->once)
				break;
			continue;
		}
		if (!passing(&r) || o->once) {
			report_end(cli, o, &r, strbuf_str(&cur));
			break;
		}
		cli_retry_pause("mapping watch", &r, next_wait(&r, &backoff), &stopping);
	}
	if (stopping) {
		fprintf(stderr, "cmsctl: mapping watch: stopped%s%s\n", cur.len ? " after " : "",
			strbuf_str(&cur));
		rc = EXIT_OK;
	}
	client_set_cancel(c, NULL);
	sigaction(SIGINT, &old[0], NULL);
	sigaction(SIGTERM, &old[1], NULL);
out:
	response_release(&r);
	strbuf_release(&path);
	strbuf_release(&cur);
	return rc;
}

const struct command cmd_mapping_watch = {
	.name = "watch",
	.summary = "follow the mapping's changes as they happen",
	.about = "Follow the change feed of the mapping (who was assigned to or unassigned\n"
		 "from which lead, by whom) and print one line per change:\n\n"
		 "  000000000000002a campaign 1 lead 2 +anav_agent -exe_gs (mapping by sup1)\n\n"
		 "or, with --json, one JSON object per line.  Each request waits up to\n"
		 "--wait seconds for news (long-poll).  Start from a snapshot: 'cmsctl\n"
		 "mapping get' prints 'cursor: C' on stderr; 'watch --after C' then prints\n"
		 "every later change exactly once.\n\n"
		 "With --cursor-file FILE the position is kept in FILE after each batch\n"
		 "printed (written atomically), and read from it at the start when FILE\n"
		 "exists (it then wins over --after): the same command, run again after a\n"
		 "stop, goes on where it stopped and never prints a change twice.\n\n"
		 "When the server cannot be reached, is busy (429, honouring Retry-After)\n"
		 "or fails (5xx), the watch says so on stderr and tries again after 0.5 s,\n"
		 "1 s, 2 s ... up to 30 s (with jitter).  It stops with exit 4 on 401 (log\n"
		 "in again), exit 1 on 403, 400 and 410 (the cursor is older than the server keeps\n"
		 "changes: delete the cursor file, take a new snapshot); SIGINT and\n"
		 "SIGTERM stop it with exit 0.  Errors go to stderr only, even with --json.",
	.run = watch,
	.options = watch_options,
	.opts_size = sizeof(struct watch_opts),
};
