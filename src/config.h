/*
 * config.h - cmsd's options, from the command line and CMSD_* variables.
 */
#ifndef CMSD_CONFIG_H
#define CMSD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config {
	const char *listen;      /* HOST:PORT */
	const char *db;          /* sqlite:PATH */
	const char *tls_cert;    /* file, or NULL for plain HTTP */
	const char *tls_key;
	const char *pwhash;      /* interactive | min */
	const char *trusted_proxies; /* addresses/CIDRs, or NULL (proxy.h) */
	const char *admin_user;  /* CMSD_ADMIN_USER */
	const char *admin_password;
	unsigned threads;
	size_t body_limit;       /* bytes */
	unsigned timeout;        /* seconds a connection may idle */
	unsigned per_ip_limit;   /* connections one client address may hold */
	unsigned login_limit;    /* failed password checks per login name... */
	unsigned login_addr_limit; /* ...and per client address... */
	unsigned login_window;   /* ...within this many seconds */
	unsigned max_connections; /* open at once */
	unsigned busy_timeout_ms; /* wait for a request when busy (deadline.c) */
	int64_t change_retention; /* seconds the change feed keeps an event */
	unsigned cache_mib;       /* --cache-size: MiB, 0 off */
	unsigned write_group;     /* --write-group: PUTs per transaction, 0 off */
	unsigned write_wait_us;   /* --write-wait: how long a group may wait to fill, 0 off */
	unsigned sse_heartbeat;  /* seconds between a stream's heartbeats */
	unsigned hash_threads;   /* --hash-threads: logins' password checks at once */
	unsigned hash_queue;     /* --hash-queue: logins waiting for one */
	unsigned look_delay_ms;  /* --look-delay: a look held after its statement (tests only) */
	bool faults;             /* honour X-Cmsd-Fault (tests only) */
	bool demo;
	bool routes;             /* print the route table and exit */
};

/* Fill cfg from defaults, then the environment, then argv (which wins).
 * Returns 0; 1 after printing help or the version (exit 0); -1 after printing a usage error
 * (exit 2). */
int config_load(struct config *cfg, int argc, char **argv);

#endif
