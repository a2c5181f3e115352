/*
 * xalloc.h - allocation that cannot fail.
 *
 * cmsd is a service: when memory runs out there is nothing sensible left to do
 * for the request or the process, so every allocation goes through these
 * wrappers, which log and abort on failure.  Callers never check for NULL.
 */
#ifndef CMSD_XALLOC_H
#define CMSD_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
