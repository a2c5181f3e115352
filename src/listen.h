/*
 * listen.h - the listening socket systemd passes to cmsd (socket
 * activation: cmsd.socket, LISTEN_FDS and LISTEN_PID), read once at start
 * (listen.c).
 */
#ifndef CMSD_LISTEN_H
#define CMSD_LISTEN_H

#include <stddef.h>

struct passed_socket {
	int fd;            /* the listening socket, or -1: none was passed */
	int family;        /* AF_INET or AF_INET6 */
	char address[64];  /* its local address, numeric ("::", "127.0.0.1") */
};

/* Take the one listening TCP socket systemd passed to this process into
 * *ps, or set ps->fd to -1 when none was passed (no LISTEN_FDS, or
 * LISTEN_PID names another process: then cmsd binds --listen itself).
 * Returns 0, or -1 with the reason in err when the variables are malformed
 * or the descriptors are not exactly one listening TCP socket.  The
 * variables are removed from the environment either way, so that no child
 * takes them for its own. */
int listen_passed(struct passed_socket *ps, char *err, size_t errlen);

#endif
