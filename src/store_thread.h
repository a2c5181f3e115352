/*
 * store_thread.h - the service's own threads that each hold a store
 * connection of their own (the group writer, the looker, the password
 * hashers): one way to start one, and to say why it did not start.
 */
#ifndef CMSD_STORE_THREAD_H
#define CMSD_STORE_THREAD_H

#include <pthread.h>
#include <stdbool.h>

#include "store.h"

/* Opens a connection to `url` into *s and starts fn(*s) as thread *t,
 * named `name` (seen in top -H and perf; at most 15 characters).  Returns
 * 0, or -1 after logging why, as `who`, with *s closed and NULL. */
int store_thread_start(const char *url, const char *who, const char *name,
		       void *(*fn)(void *), pthread_t *t, struct store **s);

/* Sets *stop under lock, wakes every waiter on cond, waits for thread t to
 * end, then closes *s and sets it NULL. */
void store_thread_stop(pthread_mutex_t *lock, pthread_cond_t *cond, bool *stop, pthread_t t,
		       struct store **s);

#endif
