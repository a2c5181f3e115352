/*
 * writer.c - the group writer of writer.h.
 *
 * The queue is a list under one lock; the thread takes every request waiting
 * (at most MAX_GROUP) and runs them in one transaction.  Under load (PUTs
 * closer together than half of --write-wait) it first waits for the group
 * to fill: until its first PUT has waited --write-wait, or the next one is
 * late (twice the mean gap after the last), or it is full.  On SQLite
 * (run_group):
 *
 *   BEGIN IMMEDIATE                    (sent with the first look)
 *   the look; access, handler          per request
 *   COMMIT
 *
 * No savepoint: a request whose handler fails (an unknown user, no such
 * lead, a precondition) fails before it writes, so it has nothing to undo
 * and is answered as it says; the others commit (a dry run reads what would
 * change: it writes nothing either).  One that fails after a write (a
 * statement that failed) has nothing but the transaction to undo it: then,
 * as when a statement of the group itself fails (BEGIN, the look, COMMIT),
 * nothing is answered from the group: every request of it runs again alone,
 * and a request alone that fails so is answered with the store's error (a
 * retry is tried up to MAX_ATTEMPTS times, as request.c does).  With --faults
 * every group is one request, so that a fault hits the request it names,
 * unless the request asks to be grouped (request_fault_alone()).
 * On PostgreSQL the group's writes go in one statement instead (run_sent).
 */
#include "writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "feed.h"
#include "log.h"
#include "metrics.h"
#include "store_thread.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_GROUP 64
#define MAX_ATTEMPTS 5

struct job {
	struct request *rq;
	struct reply *rp;
	void (*done)(void *);
	void *ctx;
	int attempts; /* runs that asked for a retry */
	bool alone;   /* its group failed: run it in a group of its own */
	int res;      /* the last run's enum result */
	bool here;    /* run on the worker that got it (writer_here) */
	bool rerun;   /* here, and its run asked for a retry */
	struct mapping_put put; /* a group sent whole: its write (request_group_stage) */
	int64_t cc;             /* and the caller's contact center */
	int64_t at;   /* ns (monotonic): when it was queued */
	struct job *next;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t more;
	struct job *head, *tail;
	bool stop, running;
	bool busy;  /* a group is running, on the thread or on a worker */
	bool gathering; /* the thread waits for a group to fill (take) */
	size_t queued;  /* jobs in the queue */
	int64_t arrived, gap; /* ns: the last submit, and the mean gap between submits */
	int64_t wait_ns;      /* the longest a job waits for its group to fill */
	size_t last; /* requests in the last group: more than one, a load that
			groups (writer_here leaves them to the thread) */
	size_t max; /* requests in a group at most */
	int64_t began, ended; /* ns (monotonic): the last group's run */
	pthread_t thread;
	struct store *s;
} W = { .lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER };

bool writer_running(void)
{
	return W.running;
}

void writer_submit(struct request *rq, struct reply *rp, void (*done)(void *), void *ctx)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->rq = rq;
	j->rp = rp;
	j->done = done;
	j->ctx = ctx;
	j->alone = request_fault_alone(rq);
	pthread_mutex_lock(&W.lock);
	j->at = mono_ns();
	if (W.arrived)
		W.gap += (j->at - W.arrived - W.gap) / 8;
	W.arrived = j->at;
	if (W.tail)
		W.tail->next = j;
	else
		W.head = j;
	W.tail = j;
	W.queued++;
	/* a thread gathering a group is woken only once the group is full,
	 * or cannot grow (a job that runs alone) */
	if (!W.gathering || W.queued >= W.max || j->alone)
		pthread_cond_signal(&W.more);
	pthread_mutex_unlock(&W.lock);
}

/* Puts j back at the front of the queue (the writer's own thread); a job
 * run here is run again by its worker instead. */
static void again(struct job *j, bool alone)
{
	j->alone = j->alone || alone;
	if (j->here) {
		j->rerun = true;
		return;
	}
	pthread_mutex_lock(&W.lock);
	j->next = W.head;
	W.head = j;
	if (!W.tail)
		W.tail = j;
	W.queued++;
	pthread_mutex_unlock(&W.lock);
}

static void answer(struct job *j)
{
	if (j->here) /* its worker sends rp itself */
		return;
	j->done(j->ctx);
	free(j);
}

/*
 * PUTs arriving closer together than a job may wait (W.lock held, a job
 * queued): the group waits for more, until its first one has waited wait_ns
 * or the next one is late, twice the mean gap after the last (all of the
 * clients' PUTs may be here already), or it is full, or a job that runs
 * alone is queued (it cannot grow past that).
 */
static void gather(void)
{
	W.gathering = true;
	while (W.head && !W.head->alone && !W.tail->alone && !W.stop && W.wait_ns &&
	       W.queued < W.max && W.gap < W.wait_ns / 2) {
		int64_t until = W.head->at + W.wait_ns, next = W.arrived + 2 * W.gap;
		struct timespec ts;

		if (next < until)
			until = next;
		if (mono_ns() >= until)
			break;
		ts.tv_sec = until / 1000000000;
		ts.tv_nsec = until % 1000000000;
		pthread_cond_timedwait(&W.more, &W.lock, &ts);
	}
	W.gathering = false;
}

/* Takes the next group into g[]; 0 when stopping with nothing queued. */
static size_t take(struct job **g)
{
	size_t n = 0;

	pthread_mutex_lock(&W.lock);
	/* a group running on a worker (writer_here) is waited for, even
	 * when stopping: the connection is the writer's */
	/* (again when writer_abandon() emptied the queue while it gathered:
	 * 0 means stopping) */
	do {
		while (W.head ? W.busy : !W.stop)
			pthread_cond_wait(&W.more, &W.lock);
		gather();
	} while (!W.head && !W.stop);
	W.busy = W.head != NULL;
	W.began = mono_ns();
	while (W.head && n < W.max) {
		struct job *j = W.head;

		if (n && j->alone)
			break;
		W.head = j->next;
		if (!W.head)
			W.tail = NULL;
		W.queued--;
		j->next = NULL;
		g[n++] = j;
		if (j->alone)
			break;
	}
	pthread_mutex_unlock(&W.lock);
	return n;
}

/* A job whose run asked for a retry: queued again (alone, or as it was),
 * or 503 when out of attempts. */
static void retry(struct job *j, bool alone)
{
	if (++j->attempts >= MAX_ATTEMPTS) {
		reply_reset(j->rp);
		error_set(&j->rp->err, ERR_UNAVAILABLE);
		answer(j);
		return;
	}
	metrics_store_rerun();
	again(j, alone);
}

/*
 * Ends the group's transaction (rc: how it went so far; commit_fault: the
 * commit's injected fault; undo: rolled back, a request alone answering as
 * it said) and answers g[0..n) or queues them again; `ran` is how many
 * handlers ran.
 */
static void settle(struct job **g, size_t n, int rc, int commit_fault, size_t ran, bool undo)
{
	struct store *s = W.s;
	size_t i;

	if (!rc && undo)
		store_rollback(s);
	else if (!rc && !(rc = commit_fault))
		rc = store_commit(s);
	if (rc)
		store_rollback(s);
	/* before any answer: the feed holds this commit's events, or
	 * feed_has_own_commits() knows of them */
	if (!rc)
		feed_commit_done(s);
	for (i = 0; i < n; i++)
		request_group_done(g[i]->rq, g[i]->rp, s);
	if (rc && rc == STORE_RETRY && !ran) { /* a busy store before anything ran */
		for (i = n; i-- > 0;)
			retry(g[i], false); /* the group again, as it was */
		return;
	}
	if (rc && n > 1) { /* nothing of it stands: each again, alone */
		metrics_write_group_again();
		for (i = n; i-- > 0;)
			again(g[i], true);
		return;
	}
	if (rc) { /* alone, and the group's own statement failed */
		if (rc == STORE_RETRY) {
			retry(g[0], true);
			return;
		}
		reply_reset(g[0]->rp);
		reply_store_error(g[0]->rp, rc, "store", 0);
		answer(g[0]);
		return;
	}
	for (i = 0; i < n; i++) {
		if (g[i]->res == RES_RETRY)
			retry(g[i], true);
		else
			answer(g[i]);
	}
}

/* Runs g[0..n) in one transaction (SQLite), and answers them (or queues
 * them again). */
static void run_group(struct job **g, size_t n)
{
	struct store *s = W.s;
	struct store_look lk;
	int rc = store_begin(s, true), commit_fault = STORE_OK;
	size_t i, ran = 0; /* requests whose handler ran */
	int64_t written;

	memset(&lk, 0, sizeof(lk));
	metrics_write_group(n);
	for (i = 0; i < n && !rc; i++) {
		commit_fault = request_group_arm(g[i]->rq, s);
		/* the group's one look, first in its transaction: every token
		 * taken from the cache is checked against its epoch */
		if ((rc = store_look(s, &lk)))
			break;
		written = store_written(s);
		g[i]->res = request_in_group(g[i]->rq, g[i]->rp, s, &lk);
		ran++;
		/* failed after a write, or with a statement failed: only the
		 * group's rollback undoes it (alone, settle()'s undo) */
		if (g[i]->res != RES_OK && n > 1 &&
		    (store_failed(s) || store_written(s) != written))
			rc = STORE_ERROR;
	}
	settle(g, n, rc, commit_fault, ran, !rc && n == 1 && g[0]->res != RES_OK);
}

/*
 * Runs g[0..n) with their writes sent in one statement (PostgreSQL,
 * store_mapping_put_group()), and answers them (or queues them again):
 *
 *   the look                           a transaction of its own
 *   each request's steps before its write (most run no statement)
 *   the group's writes                 one statement: the transaction
 *   each request's answer              (If-Match: its new ETag)
 *
 * A request whose answer reads what its own write left (If-Match: the
 * ETag of the new state) has the writes before it and its own sent at
 * once, so that it reads no later one: then its group is several
 * statements.
 * When nothing runs before the group's statement, it is the transaction
 * (two round trips for the group); a request with If-Match reads its lead
 * first, and then BEGIN and COMMIT come around it.  A PUT that fails
 * (an unknown user, no such lead, a precondition, a dry run) writes nothing:
 * it is a result, and the others commit.  A statement that fails breaks the
 * transaction: a group of more than one then runs again, each alone; but a
 * connection lost during the group's writes as a transaction of their own
 * leaves them committed or not, so those answer 503 and none runs again.
 */
static void run_sent(struct job **g, size_t n)
{
	struct store *s = W.s;
	struct store_look lk;
	struct mapping_put *ms[MAX_GROUP];
	struct job *in[MAX_GROUP]; /* whose write waits to be sent */
	int64_t cc[MAX_GROUP];
	int rcs[MAX_GROUP];
	int rc = STORE_OK, commit_fault = STORE_OK;
	size_t i, j, k = 0, ran = 0;
	bool sent, flush = false, unknown = false;

	memset(&lk, 0, sizeof(lk));
	metrics_write_group(n);
	for (i = 0; i < n; i++) {
		commit_fault = request_group_arm(g[i]->rq, s);
		/* the group's one look, before its transaction: every token
		 * taken from the cache is checked against its epoch */
		if (!i && ((rc = store_look(s, &lk)) || (rc = store_begin(s, true))))
			break;
		g[i]->res = request_group_stage(g[i]->rq, g[i]->rp, s, &lk, &g[i]->put, &g[i]->cc,
						&flush);
		ran++;
		if (g[i]->res == RES_OK) {
			in[k] = g[i];
			ms[k] = &g[i]->put;
			cc[k++] = g[i]->cc;
		}
		/* the writes waiting, sent when a request's answer reads what its
		 * own write left (If-Match), and at the end */
		if (!k || (i + 1 < n && !flush))
			continue;
		sent = !store_failed(s);
		/* the connection lost while the group's writes were their own
		 * transaction: they may have committed, so each answers 503 as
		 * it is (the store logged it) and none runs again */
		if (sent && store_mapping_put_group(s, cc, ms, rcs, k) == STORE_UNAVAILABLE &&
		    store_ran_alone(s))
			unknown = true;
		for (j = 0; j < k; j++) /* (each frees its write) */
			in[j]->res = request_group_finish(in[j]->rq, in[j]->rp, s, ms[j],
							   sent ? rcs[j] : STORE_ERROR);
		k = 0;
	}
	for (i = 0; i < n; i++)
		if (g[i]->res == RES_ROLLBACK) /* a dry run: it wrote nothing */
			g[i]->res = RES_OK;
	/* a statement failed: in a group nothing of it stands; alone, the
	 * request answers as it said, after a rollback */
	if (!rc && store_failed(s) && n > 1 && !unknown)
		rc = STORE_ERROR;
	settle(g, n, rc, commit_fault, ran, !rc && store_failed(s));
}

/* Runs the group g[0..n) on the writer's connection (W.busy is set). */
static void run(struct job **g, size_t n)
{
	uint64_t before = store_statements_ever(W.s);

	if (store_puts_grouped(W.s))
		run_sent(g, n);
	else
		run_group(g, n);
	metrics_write_group_statements(store_statements_ever(W.s) - before);
}

/* Ends a group: the connection is free for the next. */
static void idle(size_t n)
{
	pthread_mutex_lock(&W.lock);
	W.busy = false;
	W.last = n;
	W.ended = mono_ns();
	if (W.head) /* queued while a worker ran its own: the thread takes them */
		pthread_cond_signal(&W.more);
	pthread_mutex_unlock(&W.lock);
}

static void *writer_main(void *arg)
{
	struct job *g[MAX_GROUP];
	size_t n;

	(void)arg;
	while ((n = take(g))) {
		run(g, n);
		idle(n);
	}
	return NULL;
}

bool writer_here(struct request *rq, struct reply *rp)
{
	struct job j, *g = &j;

	int64_t now = mono_ns();

	pthread_mutex_lock(&W.lock);
	/* a PUT that came sooner after the last group than that group took
	 * is a load, not a PUT alone: PUTs waiting unread on this worker's
	 * other connections (all of a client's connections can be on one
	 * worker) would each run here in turn, groups of one for ever */
	if (W.busy || W.head || W.stop || W.last > 1 || now - W.ended < W.ended - W.began) {
		pthread_mutex_unlock(&W.lock);
		return false;
	}
	W.busy = true;
	W.began = now;
	pthread_mutex_unlock(&W.lock);
	memset(&j, 0, sizeof(j));
	j.rq = rq;
	j.rp = rp;
	j.here = true;
	do { /* a retry runs again here, as the thread would run it */
		j.rerun = false;
		j.alone = true;
		run(&g, 1);
	} while (j.rerun);
	idle(1);
	return true;
}

/* The queue's condition on the monotonic clock (take()'s timed wait). */
static void more_init(void)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_destroy(&W.more);
	pthread_cond_init(&W.more, &a);
	pthread_condattr_destroy(&a);
}

int writer_start(const char *url, unsigned group, unsigned wait_us)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	if (!group)
		return 0;
	pthread_once(&once, more_init);
	W.max = group < MAX_GROUP ? group : MAX_GROUP;
	W.wait_ns = (int64_t)wait_us * 1000;
	/* a rate is earned: the gap starts at the whole wait, from the
	 * first PUT (a writer started again forgets the last one's) */
	W.gap = W.wait_ns;
	W.arrived = 0;
	W.stop = false;
	if (store_thread_start(url, "writer", "cmsd-writer", writer_main, &W.thread, &W.s))
		return -1;
	W.running = true;
	return 0;
}

void writer_abandon(void)
{
	struct job *j, *next;

	pthread_mutex_lock(&W.lock);
	j = W.head;
	W.head = W.tail = NULL;
	W.queued = 0;
	pthread_mutex_unlock(&W.lock);
	for (; j; j = next) {
		next = j->next;
		reply_reset(j->rp);
		error_set(&j->rp->err, ERR_UNAVAILABLE);
		answer(j);
	}
}

void writer_stop(void)
{
	if (!W.running)
		return;
	store_thread_stop(&W.lock, &W.more, &W.stop, W.thread, &W.s);
	W.running = false;
}
