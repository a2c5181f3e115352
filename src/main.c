/*
 * main.c - cmsd: read the options, open and migrate the store, make sure the
 * system administrator exists, serve until SIGTERM or SIGINT, then finish the
 * requests in flight and exit 0.  Every way out after the log started goes
 * through `out:`, which ends with log_stop(): the buffered lines of a failed
 * start are written like those of a clean stop.  Under systemd it serves
 * the socket systemd passed, if any (listen.c), and says when it is ready
 * and when it stops (sd_notify; cmsd.service is Type=notify).
 * `cmsd backup ...` runs backup.c's command instead, before any of this.
 */
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "auth.h"
#include "backup.h"
#include "cache.h"
#include "config.h"
#include "demo.h"
#include "feed.h"
#include "hasher.h"
#include "http.h"
#include "request.h"
#include "router.h"
#include "json.h"
#include "listen.h"
#include "log.h"
#include "store.h"
#include "proxy.h"
#include "throttle.h"
#include "looker.h"
#include "writer.h"
#include "banned.h"

#define GRACE_SECONDS 30
#define PURGE_SECONDS 3600

/* Delete expired tokens, so that the table stays as small as the live
 * sessions.  Failure is only logged: the next round tries again. */
static void purge_tokens(struct store *s)
{
	if (store_token_purge(s, (int64_t)time(NULL)))
		log_msgf("warn", "could not purge expired tokens");
}

/* Create the system administrator of CMSD_ADMIN_USER / CMSD_ADMIN_PASSWORD,
 * or update its password when it changed; any other system administrator
 * (CMSD_ADMIN_USER was renamed) is deleted, and its tokens with it: the
 * configured name is the one system administrator (docs/decisions.md).
 * Returns a store_rc (logged). */
static int ensure_admin_once(struct store *s, const struct config *cfg)
{
	struct user u;
	int64_t gone = 0;
	int rc;

	if (!cfg->admin_user || !cfg->admin_password)
		return 0;
	if (!valid_user_id(cfg->admin_user) || strlen(cfg->admin_password) < 8 ||
	    strlen(cfg->admin_password) > 1024) {
		log_msgf("error", "CMSD_ADMIN_USER must be 1 to 128 of A-Z a-z 0-9 . _ - @ + "
			 "and CMSD_ADMIN_PASSWORD 8 to 1024 bytes");
		return STORE_ERROR;
	}
	memset(&u, 0, sizeof(u));
	if ((rc = store_begin(s, true)))
		goto out;
	rc = store_user_get(s, 0, cfg->admin_user, &u);
	if (rc == STORE_OK && u.cc_id) {
		log_msgf("error", "CMSD_ADMIN_USER names a contact-center user");
		rc = STORE_ERROR;
	} else if (rc == STORE_OK && !auth_check_password(u.pw_hash, cfg->admin_password)) {
		rc = auth_hash_password(cfg->admin_password, u.pw_hash) ? STORE_ERROR :
			store_user_update(s, 0, cfg->admin_user, NULL, NULL, u.pw_hash);
		if (!rc)
			log_msgf("info", "system administrator password updated");
	} else if (rc == STORE_NOT_FOUND) {
		rc = auth_new_user(&u, 0, cfg->admin_user, "System Administrator", "System",
				   cfg->admin_password) ? STORE_ERROR : store_user_create(s, &u);
		if (!rc)
			log_msgf("info", "system administrator created");
	}
	if (!rc && !(rc = store_user_delete_system(s, cfg->admin_user, &gone)) && gone)
		log_msgf("info", "%lld former system administrator(s) deleted with their tokens: "
			 "CMSD_ADMIN_USER names another", (long long)gone);
	if (!rc)
		rc = store_commit(s);
out:
	if (rc)
		store_rollback(s);
	sodium_memzero(&u, sizeof(u));
	return rc;
}

/* As ensure_admin_once(), again when another node starting on the same store
 * created the administrator first (EXISTS) or a transaction collided
 * (RETRY).  Returns 0 or -1. */
static int ensure_admin(struct store *s, const struct config *cfg)
{
	int attempt, rc = STORE_ERROR;

	for (attempt = 1; attempt <= 3; attempt++) {
		rc = ensure_admin_once(s, cfg);
		if (rc != STORE_EXISTS && rc != STORE_RETRY)
			break;
	}
	return rc ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct store *store = NULL;
	struct demo demo;
	struct passed_socket passed;
	sigset_t stop;
	char err[256];
	int rc, sig = 0, status = 1;

	memset(&demo, 0, sizeof(demo));
	if (argc > 1 && !strcmp(argv[1], "backup"))
		return backup_main(argc - 1, argv + 1);
	rc = config_load(&cfg, argc, argv);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (cfg.routes)
		return router_print(stdout) ? 1 : 0;
	/* Block the stop signals in every thread; main waits for them below. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_start(NULL); /* on failure lines are written at once, as it said */

	/* before the store is touched: a bad LISTEN_FDS changes nothing */
	if (listen_passed(&passed, err, sizeof(err))) {
		log_msgf("error", "%s", err);
		goto out;
	}
	if (sodium_init() < 0 || auth_init(cfg.pwhash)) {
		log_msgf("error", "cannot initialise libsodium or --pwhash %s", cfg.pwhash);
		goto out;
	}
	if (cache_init((size_t)cfg.cache_mib << 20)) {
		log_msgf("error", "cannot set up the cache");
		goto out;
	}
	if (store_open(cfg.db, &store, err, sizeof(err))) {
		log_msgf("error", "cannot open store: %s", err);
		goto out;
	}
	if (store_migrate(store)) {
		log_msgf("error", "cannot migrate the store schema");
		goto out;
	}
	if (ensure_admin(store, &cfg) || (cfg.demo && demo_load(store, &demo)))
		goto out;
	throttle_init(cfg.login_limit, cfg.login_addr_limit, cfg.login_window);
	if (proxy_init(cfg.trusted_proxies, err, sizeof(err))) {
		log_msgf("error", "%s", err);
		goto out;
	}
	if (cfg.faults)
		log_msgf("warn", "--faults: X-Cmsd-Fault headers inject store failures (tests only)");
	if (feed_start(cfg.db, cfg.change_retention) ||
	    writer_start(cfg.db, cfg.write_group, cfg.write_wait_us) ||
	    looker_start(cfg.db, cfg.look_delay_ms) ||
	    hasher_start(cfg.db, cfg.hash_threads, cfg.hash_queue))
		goto out;
	if (cfg.look_delay_ms) /* a looker runs on PostgreSQL with the cache on */
		log_msgf("warn", "--look-delay: each look of the looker is held %u ms (tests only)%s",
			 cfg.look_delay_ms, looker_running() ? "" : "; no looker runs here");
	/* Basic headers' password checks run on the workers: one stays free */
	auth_bound_header_checks(cfg.threads > 1 ? cfg.threads - 1 : 1);
	request_groups(writer_running());
	if (http_start(&cfg, &passed))
		goto out;
	log_flush(); /* whoever started us waits for the "listening" line */
	/* and systemd (Type=notify) for this; without NOTIFY_SOCKET a no-op */
	sd_notify(0, "READY=1");
	demo_print(&demo, &cfg, http_port());
	demo_clear(&demo);

	purge_tokens(store);
	for (;;) {
		struct timespec wait = { PURGE_SECONDS, 0 };

		sig = sigtimedwait(&stop, NULL, &wait);
		if (sig > 0)
			break;
		purge_tokens(store);
	}
	log_msgf("info", "signal %d: finishing requests in flight", sig);
	sd_notify(0, "STOPPING=1");
	http_stop(GRACE_SECONDS);
	writer_stop(); /* after the requests it was running have been answered */
	looker_stop();
	hasher_stop();
	log_msgf("info", "stopped");
	status = 0;
out:
	writer_stop();
	looker_stop();
	hasher_stop();
	feed_release(); /* a failed start may have begun it */
	demo_clear(&demo);
	if (store)
		store_close(store);
	auth_release();
	cache_release();
	log_stop();
	return status;
}
