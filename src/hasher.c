/*
 * hasher.c - the hasher threads of hasher.h: one queue under one lock, a
 * count of the places taken (queued or reserved) that never passes the
 * bound.
 *
 * A place is reserved before the worker suspends the connection, so that a
 * login never has to be refused after its connection was parked; it is
 * given back when a hasher takes the login off its lane.  Two lanes, each
 * of `queue` places: logins from addresses without a failure in the window
 * are taken first (three times in four), so that a flood of wrong passwords from any number of
 * addresses (each dirty after its first failure) delays a clean address's
 * login by the hashes already running, not by the flood's queue.
 */
#include "hasher.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "store_thread.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_THREADS 64
#define FAILED_TURN 4 /* the failed lane goes first one time in 4 */

struct job {
	struct request *rq;
	struct reply *rp;
	void (*done)(void *);
	void *ctx;
	struct job *next;
};

/* A queue of logins waiting for a hasher, and its places (queued or
 * reserved). */
struct lane {
	struct job *head, *tail;
	unsigned places;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t more;
	struct lane lanes[HASHER_LANES]; /* the clean one taken first */
	unsigned max_places;             /* per lane */
	bool stop, running;
	unsigned nthreads;
	pthread_t threads[MAX_THREADS];
	struct store *s[MAX_THREADS];
} H = { .lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER };

bool hasher_running(void)
{
	return H.running;
}

bool hasher_reserve(enum hasher_lane lane)
{
	bool ok;

	pthread_mutex_lock(&H.lock);
	ok = H.lanes[lane].places < H.max_places && !H.stop;
	if (ok)
		H.lanes[lane].places++;
	pthread_mutex_unlock(&H.lock);
	return ok;
}

void hasher_submit(enum hasher_lane lane, struct request *rq, struct reply *rp,
		   void (*done)(void *), void *ctx)
{
	struct job *j = xcalloc(1, sizeof(*j));
	struct lane *l = &H.lanes[lane];

	j->rq = rq;
	j->rp = rp;
	j->done = done;
	j->ctx = ctx;
	pthread_mutex_lock(&H.lock);
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
	pthread_cond_signal(&H.more);
	pthread_mutex_unlock(&H.lock);
}

/* The next job, its place given back, NULL if none: the clean lane's
 * first, except every FAILED_TURN-th time, so that the failed lane waits
 * longer but is never starved.  Lock held. */
static struct job *pop(void)
{
	static unsigned turn;
	struct job *j = NULL;
	int i, first = ++turn % FAILED_TURN ? HASHER_CLEAN : HASHER_FAILED;

	for (i = 0; i < HASHER_LANES && !j; i++) {
		struct lane *l = &H.lanes[(first + i) % HASHER_LANES];

		if ((j = l->head)) {
			l->head = j->next;
			if (!l->head)
				l->tail = NULL;
			l->places--;
		}
	}
	return j;
}

/* The next job; NULL when stopping with none. */
static struct job *take(void)
{
	struct job *j;

	pthread_mutex_lock(&H.lock);
	while (!(j = pop()) && !H.stop)
		pthread_cond_wait(&H.more, &H.lock);
	pthread_mutex_unlock(&H.lock);
	return j;
}

static void *hasher_main(void *arg)
{
	struct store *s = arg;
	struct job *j;

	while ((j = take())) {
		request_move(j->rq, s);
		request_run(j->rq, j->rp);
		j->done(j->ctx);
		free(j);
	}
	return NULL;
}

int hasher_start(const char *url, unsigned threads, unsigned queue)
{
	char name[16];
	unsigned i;

	H.max_places = queue;
	H.stop = false;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	for (i = 0; i < threads; i++) {
		snprintf(name, sizeof(name), "cmsd-hash%u", i);
		if (store_thread_start(url, "hasher", name, hasher_main, &H.threads[i], &H.s[i]))
			goto fail;
		H.nthreads = i + 1;
	}
	H.running = true;
	return 0;
fail:
	H.running = true; /* for hasher_stop() to join those started */
	hasher_stop();
	return -1;
}

void hasher_abandon(void)
{
	struct job *j;

	for (;;) {
		pthread_mutex_lock(&H.lock);
		j = pop();
		pthread_mutex_unlock(&H.lock);
		if (!j)
			break;
		reply_reset(j->rp);
		error_set(&j->rp->err, ERR_UNAVAILABLE);
		j->done(j->ctx);
		free(j);
	}
}

void hasher_stop(void)
{
	unsigned i;

	if (!H.running)
		return;
	pthread_mutex_lock(&H.lock);
	H.stop = true;
	pthread_cond_broadcast(&H.more);
	pthread_mutex_unlock(&H.lock);
	for (i = 0; i < H.nthreads; i++) {
		pthread_join(H.threads[i], NULL);
		store_close(H.s[i]);
		H.s[i] = NULL;
	}
	H.nthreads = 0;
	H.running = false;
}
