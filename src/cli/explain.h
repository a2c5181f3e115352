/*
 * explain.h - why the CMS answered "lead L: not found" for a lead named in
 * a campaign (explain.c).  The mapping's 404 names the lead both when it
 * does not exist and when it exists but is not attached to the campaign;
 * cmsctl asks the API which it is, and says what to do.
 */
#ifndef CMSCTL_EXPLAIN_H
#define CMSCTL_EXPLAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"

/* Whether r is a 404 CONF-1001 whose details name a lead. */
bool explain_names_lead(const struct response *r);

/*
 * One sentence into sb saying why lead is no lead of campaign, found by
 * GETs through cli's client (the campaign's contact center and process are
 * looked up once per run and kept in cli->places):
 *   lead L exists but is not attached to campaign C; attach it with
 *     'cmsctl campaign-lead create --cc X --process P --campaign C --lead L'
 *   lead L belongs to process Q, not to process P of campaign C ...
 *   lead L does not exist in contact center X
 * and, when the lookups fail or would take too many requests, that the
 * lead is not attached to the campaign or does not exist.
 */
void explain_lead(struct cli *cli, int64_t campaign, int64_t lead, struct strbuf *sb);

/* explain_lead as a line "cmsctl: ..." on stderr when r names a lead. */
void explain_report(struct cli *cli, const struct response *r, int64_t campaign, int64_t lead);

#endif
