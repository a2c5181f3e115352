/*
 * http.h - the HTTP server around the pipeline: libmicrohttpd glue only
 * (http.c).  What a request is, and what happens to it, is request.h.
 */
#ifndef CMSD_HTTP_H
#define CMSD_HTTP_H

struct config;
struct passed_socket;

/* Start serving per cfg, on the socket systemd passed when passed->fd is
 * not -1 (listen.h), else on --listen.  Returns 0, or -1 after logging why. */
int http_start(const struct config *cfg, const struct passed_socket *passed);
/* The port actually bound (useful with port 0). */
unsigned http_port(void);
/* Stop accepting, finish requests in flight (at most `grace` seconds), stop. */
void http_stop(int grace);

#endif
