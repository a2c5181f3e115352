/*
 * outcome.c - the one table of what the end of a request means for cmsctl
 * (outcome.h): HTTP statuses and libcurl's error codes sorted into
 * outcomes, and each outcome's exit code, retry and stop rules.  Commands
 * read these rows; none of them tests a status or a CURLcode itself.
 */
#include "outcome.h"

#include <curl/curl.h>
#include <stddef.h>

#include "banned.h"

static const struct outcome_info infos[OUTCOME_COUNT] = {
	[OUTCOME_OK] = { "ok", EXIT_OK, false, false, NULL },
	[OUTCOME_REFUSED] = { "refused", EXIT_API, false, false, NULL },
	/* after its tries again, a server that stays busy is so for every row */
	[OUTCOME_BUSY] = { "busy", EXIT_API, true, true, "once the server takes requests again" },
	[OUTCOME_DENIED] = { "denied", EXIT_API, false, true,
			     "with the credentials of a user whose role may do it" },
	[OUTCOME_AUTH] = { "auth", EXIT_AUTH, false, true, "after logging in again" },
	[OUTCOME_CUT] = { "unreachable", EXIT_NET, true, true, "once the server answers again" },
	[OUTCOME_UNREACHABLE] = { "unreachable", EXIT_NET, false, true,
				  "once the server answers again" },
};

/* HTTP statuses that are not about the request itself. */
static const struct {
	long status;
	enum outcome outcome;
} statuses[] = {
	{ 401, OUTCOME_AUTH },
	{ 403, OUTCOME_DENIED },
	{ 429, OUTCOME_BUSY },
	{ 502, OUTCOME_BUSY },
	{ 503, OUTCOME_BUSY },
	{ 504, OUTCOME_BUSY },
};

/* libcurl's codes of a request that may have reached the server and was
 * cut off or not answered in time: worth another try for an idempotent
 * request.  Every other code is no exchange at all. */
static const CURLcode cut_codes[] = {
	CURLE_OPERATION_TIMEDOUT, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING,
	CURLE_PARTIAL_FILE,
};

const struct outcome_info *outcome_info(enum outcome o)
{
	return &infos[o < OUTCOME_COUNT ? o : OUTCOME_REFUSED];
}

enum outcome outcome_of_status(long status)
{
	size_t i;

	if (status >= 200 && status <= 299)
		return OUTCOME_OK;
	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i].status == status)
			return statuses[i].outcome;
	return OUTCOME_REFUSED;
}

enum outcome outcome_of_curl(int cc)
{
	size_t i;

	for (i = 0; i < sizeof(cut_codes) / sizeof(cut_codes[0]); i++)
		if ((int)cut_codes[i] == cc)
			return OUTCOME_CUT;
	return OUTCOME_UNREACHABLE;
}
