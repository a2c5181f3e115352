/*
 * demo.h - `cmsd --demo`: the vendor page's example as data, and a curl
 * command that works against it.
 */
#ifndef CMSD_DEMO_H
#define CMSD_DEMO_H

#include <stdbool.h>

#include "config.h"
#include "store.h"

struct demo {
	bool ready;        /* demo data present: print commands */
	bool created;      /* loaded just now: the password is new */
	long long cc, process, campaign, lead;
	char password[33]; /* the administrator's, only when created */
	char token[64];
};

/* Load the example into an empty store, or find it in a store that has it,
 * and mint a token for its administrator.  Returns 0, or -1 (logged). */
int demo_load(struct store *s, struct demo *d);
/* Print what to try, for a server listening as cfg says on `port`. */
void demo_print(const struct demo *d, const struct config *cfg, unsigned port);
/* Wipe the secrets in d. */
void demo_clear(struct demo *d);

#endif
