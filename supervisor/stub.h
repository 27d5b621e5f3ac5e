/* fnguard's DNS stub: every DNS query the workload sends over UDP is
 * redirected here; a name the policy does not allow is answered NXDOMAIN
 * and never leaves the host (DNS exfiltration), an allowed one goes to
 * the upstream resolver of /etc/resolv.conf and its answer teaches the
 * address table which addresses the name may reach. */
#ifndef FNG_STUB_H
#define FNG_STUB_H

#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "dns.h"

struct stub;

enum stub_verdict {
	STUB_ALLOW,  /* forward upstream */
	STUB_REFUSE, /* answer NXDOMAIN here */
};

struct stub_hooks {
	void *arg;
	/* Decides a query from the workload socket bound to client_port
	 * (and logs it). */
	enum stub_verdict (*decide)(void *arg, const struct dns_query *q, uint16_t client_port);
	/* An upstream answer to an allowed query, before it is relayed. */
	void (*learned)(void *arg, const struct dns_query *q, const struct dns_answer *a);
};

/* Binds the UDP socket on 127.0.0.1 (ephemeral port) and reads the
 * nameservers from resolv_conf. Returns 0 or -errno with err set. */
int stub_open(struct stub **out, const char *resolv_conf, const struct stub_hooks *h, char *err,
	      size_t errlen);
void stub_free(struct stub *s); /* accepts NULL */

/* Where redirected queries go. */
const struct sockaddr_in *stub_addr(const struct stub *s);

/* The fds to watch (at most max); returns how many were written. */
size_t stub_pollfds(struct stub *s, struct pollfd *fds, size_t max);

/* Serves whatever the fds polled as ready, and expires upstream queries
 * that outlived their deadline (answered SERVFAIL). */
void stub_handle(struct stub *s, const struct pollfd *fds, size_t n, int64_t now_ms);

/* Milliseconds until the next deadline, or -1 when nothing is pending. */
int stub_timeout(const struct stub *s, int64_t now_ms);

#endif
