/*
 * health.c - GET /health: 200 when the store answers, 503 otherwise.
 */
#include "handlers.h"

#include "banned.h"

int health_get(struct request *r)
{
	struct store *s = http_thread_store();

	if (!s || store_ping(s))
		return error_set(&r->err, ERR_UNAVAILABLE);
	return http_reply(r, 200, json_pack("{s:s}", "status", "ok"));
}
