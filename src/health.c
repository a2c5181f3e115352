/*
 * health.c - the service's own endpoints: GET /health (200 when the store
 * answers, 503 otherwise) and GET /metrics (the counters of metrics.c).
 */
#include "handlers.h"

#include "metrics.h"
#include "banned.h"

static int health(const struct request *rq, struct reply *rp)
{
	if (!rq->store || store_ping(rq->store))
		return error_set(&rp->err, ERR_UNAVAILABLE);
	return reply_json(rp, 200, json_pack("{s:s}", "status", "ok"));
}

static int metrics(const struct request *rq, struct reply *rp)
{
	(void)rq;
	return reply_text(rp, 200, "text/plain; version=0.0.4; charset=utf-8", metrics_text());
}

const struct endpoint health_get[1] = { { NULL, health, NULL } };
const struct endpoint metrics_get[1] = { { NULL, metrics, NULL } };
