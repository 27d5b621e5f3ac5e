/* The preload tier: the workload runs with libfnguard-preload.so in
 * LD_PRELOAD, which asks the supervisor over an inherited socket before
 * each exec, connect/send to an internet address, name lookup and open of
 * a code file; the answers come from the same verdicts, stub, rules and
 * log as the kernel tier's. For hosts that refuse seccomp and ptrace. */
#ifndef FNG_PRELOAD_H
#define FNG_PRELOAD_H

#include <poll.h>
#include <signal.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct sup;
struct sup_preload;

/* What this tier does not stop: for the start event and probe. */
extern const char *const sup_preload_tier_limits[];

/* Appends the tier's limits for this run to a JSON array (start event). */
void sup_preload_limits(const struct sup *s, cJSON *arr);

/* Finds the library: $FNGUARD_PRELOAD, else ../lib/ or the directory of
 * the fnguard binary. 0 or -ENOENT with err set. */
int sup_preload_find(char *out, size_t size, char *err, size_t errlen);

/* Starts the workload (path, argv, the environment with the library,
 * its socket and the stub put in) as a child, with fnguard a child
 * subreaper so every descendant stays its own to kill. Sets s->child and
 * s->pre. 0 or -errno with err set. */
int sup_preload_launch(struct sup *s, const char *lib, const char *path, char *const *argv,
		       const sigset_t *child_mask, char *err, size_t errlen);
void sup_preload_free(struct sup_preload *p); /* accepts NULL */

/* For the event loop: the sockets to watch, and serving them. */
size_t sup_preload_pollfds(struct sup *s, struct pollfd *fds, size_t max);
void sup_preload_handle(struct sup *s, const struct pollfd *fds, size_t n);

/* SIGKILLs every descendant (found through /proc: without ptrace there
 * is no list of tasks) until none is left or a bound passes. */
void sup_preload_kill_tree(struct sup *s);

#endif
