/* Taking on a workload task's identity for one call the supervisor makes
 * for it (connect and send on unix sockets): its cwd, so relative paths
 * resolve as its own call would; its fsuid, fsgid and groups, so paths
 * are permission-checked as for it (our root would reach root-only
 * sockets such as docker's); and its euid and egid, which is what
 * SO_PEERCRED shows the peer (a root supervisor must not lend root to an
 * unprivileged workload connecting to a service that trusts uid 0). The
 * peer still sees the supervisor's pid. */
#ifndef FNG_BECOME_H
#define FNG_BECOME_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

struct as_task {
	bool creds; /* ids were switched (supervisor running as root) */
	gid_t egid; /* ours, to restore */
	int ngroups;
	gid_t groups[NGROUPS_MAX > 256 ? 256 : NGROUPS_MAX];
	int cwd; /* ours, O_PATH */
};

/* Takes on tid's cwd and (as root) identity; 0 or -errno. Always call
 * unbecome() afterwards, whatever this returned. The supervisor is
 * single-threaded: the raw set*id calls change only this thread. */
int become(pid_t tid, struct as_task *st);
void unbecome(struct as_task *st);

#endif
