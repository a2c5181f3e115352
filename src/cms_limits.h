/*
 * cms_limits.h - the limits of API.md that the server enforces and the
 * client (src/cli/) must know: one header, so that they never drift apart.
 * Plain numbers only: both cmsd and cmsctl include it.
 */
#ifndef CMS_LIMITS_H
#define CMS_LIMITS_H

#define CMS_USERID_MAX 128        /* bytes of a userId (API.md §3) */
#define CMS_NAME_MAX 256          /* bytes of any display name */
#define CMS_ROLE_MAX 16           /* "Administrator" and the like */
#define CMS_PASSWORD_MIN 8        /* bytes of a password */
#define CMS_PASSWORD_MAX 1024
#define CMS_IDS_MAX 10000         /* userIds in one array of a body */
#define CMS_PAGE_DEFAULT 100      /* limit when none is given */
#define CMS_PAGE_MAX 1000         /* the largest limit of a list */
#define CMS_PRIORITY_MAX 1000     /* a campaign lead's priority: 1..this */
#define CMS_BODY_LIMIT 1048576    /* default --body-limit, bytes */
#define CMS_ANON_BODY_LIMIT 8192  /* a body without verified credentials (a login:
				   * any valid one, every byte \u-escaped, fits) */
#define CMS_TOKEN_LEN 43          /* base64url of 32 random bytes, no padding */
#define CMS_CURSOR_LEN 16         /* a change-feed cursor: lowercase hex digits (docs/feed.md) */
#define CMS_QUERY_ARGS_MAX 64     /* query parameters of one request (http.c) */
#define CMS_FEED_WAIT_MAX 60      /* seconds a feed read may hold (its `wait`) */

#endif
