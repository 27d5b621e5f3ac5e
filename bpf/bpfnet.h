/* Loader of net.bpf.c (the bpf engine of the network allowlist): the
 * workload's cgroup v2 directory, the programs attached to it, the maps
 * that hold the policy's addresses, and the ring buffer of verdicts.
 * Knows libbpf and cgroupfs; knows nothing of the supervisor. */
#ifndef FNG_BPFNET_H
#define FNG_BPFNET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <linux/types.h>

#include "net.h"
#include "policy.h"

struct bpfnet;

struct bpfnet_opts {
	const struct pol_network *net; /* borrowed; read during open only */
	bool let_refused;              /* log/audit: refused calls go on (logged) */
	bool kill_refused;             /* kill: the refused task dies in the kernel */
	bool log_allowed;              /* send allowed calls as events too */
	const char *cgroup2_mount;     /* where cgroup v2 is mounted */
	bool test_reject;              /* tests: load a program the verifier refuses */
};

/* The event handed to bpfnet_poll's callback (a copy of the ABI's). */
struct bpfnet_event {
	pid_t tid;
	bool send;    /* sendmsg/sendto (else connect) */
	bool allowed; /* went on: allowed, or refused under log/audit */
	int why;      /* enum fng_why (net.h) */
	const char *proto;
	struct pol_addr addr; /* as the workload named it (family, port) */
	size_t rule;          /* index into network.allow, when why says so */
};

/* The reasons of bpfnet_event.why the supervisor needs. */
enum bpfnet_why {
	BPFNET_REFUSED = 0,
	BPFNET_STATIC = 1,
	BPFNET_DNS = 2,
	BPFNET_LOOPBACK = 3,
	BPFNET_ADDRSEL = 4,
	BPFNET_RTAPI = 5,
	BPFNET_V6DNS = 6,
};

/* Cleans the directories of earlier runs whose fnguard is dead, creates
 * this run's cgroup directory under fnguard's own cgroup, loads the
 * programs, fills the maps from o->net and attaches the programs. Nothing
 * is in the cgroup yet. Returns 0 or -errno with a message in err (for a
 * verifier rejection, the useful end of the verifier's log). */
int bpfnet_open(const struct bpfnet_opts *o, struct bpfnet **out, char *err, size_t errlen);

/* Detaches, empties (cgroup.kill) and removes the cgroup. Accepts NULL. */
void bpfnet_free(struct bpfnet *b);

/* The workload's cgroup directory and its cgroup.procs (owned by b), for
 * the launch. */
int bpfnet_dir_fd(const struct bpfnet *b);
int bpfnet_procs_fd(const struct bpfnet *b);
const char *bpfnet_cgroup_path(const struct bpfnet *b);

/* Where port-53 traffic goes (fnguard's DNS stub). */
void bpfnet_set_stub(struct bpfnet *b, const struct sockaddr_in *stub);

/* The Runtime API proxy (always allowed, never logged) and the real API
 * (refused). Either may be NULL. 0 or -errno. */
int bpfnet_set_rtapi(struct bpfnet *b, const struct sockaddr *proxy, const struct sockaddr *real);

/* An address the DNS stub learned for rule `rule` (its port `port`, 0 =
 * any) until expires_ms (CLOCK_MONOTONIC). A later answer for the same
 * address and rule extends it. 0, -ENOSPC when the address already has
 * as many live rules as a map value holds, or -errno. */
int bpfnet_learn(struct bpfnet *b, const struct pol_addr *addr, size_t rule, uint16_t port,
		 int64_t expires_ms);

/* The ring buffer's fd to poll, and its consumer: cb for every event
 * waiting. Returns the number of events or -errno. */
int bpfnet_fd(const struct bpfnet *b);
int bpfnet_poll(struct bpfnet *b, void (*cb)(void *arg, const struct bpfnet_event *e), void *arg);

/* The trie entry for network.allow[i] (pure; exposed for the unit
 * tests): its key, and every CIDR entry that covers its prefix (itself
 * included) in policy order, since the kernel's trie returns only the
 * longest match. 1 when filled, 0 when entry i is no CIDR, -E2BIG with a
 * message when more entries cover it than a map value holds. */
int bpfnet_cidr_slots(const struct pol_network *net, size_t i, struct fng_cidr_key *k,
		      struct fng_slots *v, char *err, size_t errlen);

/* Allowed calls not sent as events (log.allowed off): connects, sends. */
void bpfnet_counts(const struct bpfnet *b, uint64_t *connects, uint64_t *sends);

/* Events the full ring buffer had no room for: refusals, and allowed
 * calls (log.allowed on). */
void bpfnet_lost(const struct bpfnet *b, uint64_t *refused, uint64_t *allowed);

#endif
