/* The network engine of a run (network.engine): `notify` judges connects
 * and sends in the supervisor (net.c), `bpf` in the kernel through cgroup
 * programs (bpf/bpfnet.c); this module chooses, falls back and logs the
 * bpf programs' verdicts as net.c does. */
#ifndef FNG_NETBPF_H
#define FNG_NETBPF_H

#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "policy.h"

struct sup;

/* Before the filter is built: sets s->engine ("notify", "bpf", or NULL
 * without network rules) and, for bpf, s->bpf (cgroup made, programs
 * attached). engine auto falls back to notify with s->engine_reason set;
 * engine bpf that cannot run returns -errno with the reason in err (the
 * run exits 125). */
int sup_netbpf_open(struct sup *s, char *err, size_t errlen);

/* Once the DNS stub and the Runtime API proxy exist (any may be NULL). */
void sup_netbpf_start(struct sup *s, const struct sockaddr_in *stub, const struct sockaddr *proxy,
		      const struct sockaddr *real);

/* The DNS stub learned addr for allow entry `rule` until expires_ms. */
void sup_netbpf_learned(struct sup *s, const struct pol_addr *addr, size_t rule,
			int64_t expires_ms);

/* The ring buffer in the event loop. */
size_t sup_netbpf_pollfds(struct sup *s, struct pollfd *fds, size_t max);
void sup_netbpf_handle(struct sup *s, const struct pollfd *fds, size_t n);

/* After the loop: the verdicts still queued, and the allowed calls the
 * programs only counted, into the exit line's counts; *code becomes 159
 * when a queued verdict was a kill. */
void sup_netbpf_finish(struct sup *s, int *code);

/* Detaches the programs and removes the cgroup. */
void sup_netbpf_free(struct sup *s);

#endif
