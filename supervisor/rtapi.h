/* The Lambda Runtime API proxy. When AWS_LAMBDA_RUNTIME_API is set, fnguard
 * listens on 127.0.0.1 (an ephemeral port), points the workload's
 * AWS_LAMBDA_RUNTIME_API at itself and forwards every request to the real
 * API, in the supervisor's one event loop: the next-invocation long poll
 * (no timeout: the sandbox may be frozen between invocations), responses,
 * errors, init errors and anything unknown, headers and status codes
 * passed through, chunked bodies decoded, keep-alive kept. While an
 * invocation runs, every log line carries its request_id; an event the
 * inspection rejects is answered upstream with an error and never reaches
 * the handler; a rejected response is replaced by that error. */
#ifndef FNG_RTAPI_H
#define FNG_RTAPI_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

struct rtapi;
struct sup;

/* A verdict on an event or a response body; filled by the inspection. */
struct rtapi_verdict {
	bool reject;
	char reason[160]; /* for the errorMessage sent upstream */
};

/* Inspection hooks (the caller's): may be NULL. */
struct rtapi_hooks {
	void (*event)(void *arg, const char *request_id, const char *body, size_t len,
		      struct rtapi_verdict *v);
	void (*response)(void *arg, const char *request_id, const char *body, size_t len,
			 struct rtapi_verdict *v);
	void *arg;
};

/* Starts the proxy when AWS_LAMBDA_RUNTIME_API is set (call before the
 * workload is launched: the variable is rewritten in our environ, which
 * it inherits). Returns 1 and *out, 0 when the variable is unset (no
 * proxy), or -errno with a message in err. */
int rtapi_open(struct sup *s, const struct rtapi_hooks *hooks, struct rtapi **out, char *err,
	       size_t errlen);
void rtapi_free(struct rtapi *r); /* accepts NULL */

size_t rtapi_pollfds(struct rtapi *r, struct pollfd *fds, size_t max);
void rtapi_handle(struct rtapi *r, const struct pollfd *fds, size_t n);

/* The proxy's own address (always reachable by the workload) and the real
 * API's (never: a direct connection would skip the inspection). */
bool rtapi_is_proxy(const struct rtapi *r, const struct pol_addr *a);
bool rtapi_is_upstream(const struct rtapi *r, const struct pol_addr *a);

/* The proxy's and the real API's addresses (for the bpf engine's map);
 * NULL when r is NULL. */
const struct sockaddr *rtapi_proxy_addr(const struct rtapi *r);
const struct sockaddr *rtapi_upstream_addr(const struct rtapi *r);

/* The request id of the invocation in progress, or NULL. */
const char *rtapi_current(const struct rtapi *r);

/* fnguard ended the workload during an invocation: report that
 * invocation's error to the real API (blocking, bounded to ~2 s) so the
 * caller sees a security error rather than a timeout. */
void rtapi_fail_current(struct rtapi *r, const char *reason);

#endif
