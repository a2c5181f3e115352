/*
 * store_thread.c - starting a thread with its own store connection
 * (store_thread.h).
 */
#include "store_thread.h"

#include "log.h"
#include "banned.h"

int store_thread_start(const char *url, const char *who, const char *name,
		       void *(*fn)(void *), pthread_t *t, struct store **s)
{
	char err[256];

	if (store_open(url, s, err, sizeof(err))) {
		log_msgf("error", "%s: cannot open the store: %s", who, err);
		*s = NULL;
		return -1;
	}
	if (pthread_create(t, NULL, fn, *s)) {
		log_msgf("error", "%s: cannot start its thread", who);
		store_close(*s);
		*s = NULL;
		return -1;
	}
	pthread_setname_np(*t, name);
	return 0;
}

void store_thread_stop(pthread_mutex_t *lock, pthread_cond_t *cond, bool *stop, pthread_t t,
		       struct store **s)
{
	pthread_mutex_lock(lock);
	*stop = true;
	pthread_cond_broadcast(cond);
	pthread_mutex_unlock(lock);
	pthread_join(t, NULL);
	store_close(*s);
	*s = NULL;
}
