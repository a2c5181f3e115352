/*
 * listen.c - socket activation: systemd (cmsd.socket) binds the port and
 * passes the listening socket as descriptor 3, saying so in LISTEN_FDS (how
 * many) and LISTEN_PID (for which process).  sd_listen_fds() reads them and
 * the socket is checked here: cmsd serves exactly one listening stream
 * socket of the Internet families (its per-address limits and logs speak
 * IPv4 and IPv6 only).  Anything else is an error that stops the start with
 * a sentence that names the variable, rather than a cmsd that serves nothing
 * or binds a port of its own behind systemd's back.  Variables meant for
 * another process (LISTEN_PID not ours: a parent's, inherited) are ignored,
 * as sd_listen_fds(3) specifies, and cmsd binds --listen as without them.
 */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "banned.h"

/* The local address of the socket fd into ps; -1 unless IPv4 or IPv6. */
static int local_address(int fd, struct passed_socket *ps)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const void *addr;

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -1;
	ps->family = ss.ss_family;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)&ss;

		addr = &in->sin_addr;
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)&ss;

		addr = &in6->sin6_addr;
	} else {
		return -1;
	}
	return inet_ntop(ss.ss_family, addr, ps->address, sizeof(ps->address)) ? 0 : -1;
}

int listen_passed(struct passed_socket *ps, char *err, size_t errlen)
{
	const char *e = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	char count[32], owner[32];
	bool set = e != NULL;
	int n;

	memset(ps, 0, sizeof(*ps));
	ps->fd = -1;
	snprintf(count, sizeof(count), "%s", e ? e : "");
	snprintf(owner, sizeof(owner), "%s", pid ? pid : "");
	/* 1: unset LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES whatever happens */
	n = sd_listen_fds(1);
	if (n < 0) {
		snprintf(err, errlen, "LISTEN_FDS=%s LISTEN_PID=%s: not sockets systemd passed to "
			 "this process (%s); unset both to bind --listen", count, owner,
			 strerror(-n));
		return -1;
	}
	if (n == 0) {
		if (set)
			log_msgf("warn", "LISTEN_FDS is set, but LISTEN_PID does not name this "
				 "process: ignored, binding --listen");
		return 0;
	}
	if (n > 1) {
		snprintf(err, errlen, "systemd passed %d sockets (LISTEN_FDS=%s); cmsd serves one: "
			 "give cmsd.socket one ListenStream=", n, count);
		return -1;
	}
	if (sd_is_socket(SD_LISTEN_FDS_START, AF_UNSPEC, SOCK_STREAM, 1) <= 0 ||
	    local_address(SD_LISTEN_FDS_START, ps)) {
		snprintf(err, errlen, "descriptor %d passed by systemd (LISTEN_FDS=%s) is not a "
			 "listening TCP socket (IPv4 or IPv6)", SD_LISTEN_FDS_START, count);
		return -1;
	}
	ps->fd = SD_LISTEN_FDS_START;
	return 0;
}
