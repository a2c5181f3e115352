/*
 * embedded.h - files compiled into cmsd by scripts/embed: the web console
 * (web/, served at /cms/ui/) and the OpenAPI document (docs/openapi.json,
 * served at /cms/openapi.json).
 */
#ifndef CMSD_EMBEDDED_H
#define CMSD_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
	const char *name;         /* "ui/index.html", "openapi.json" */
	const char *type;         /* Content-Type */
	const unsigned char *data; /* followed by a NUL */
	size_t len;
};

/* Ends with an entry whose name is NULL. */
extern const struct embedded_file embedded_files[];

#endif
