/* Taking on a workload task's identity for one call the supervisor makes
 * for it (connect and send on unix sockets): its cwd, so relative paths
 * resolve as its own call would; its fsuid, fsgid and groups, so paths
 * are permission-checked as for it (our root would reach root-only
 * sockets such as docker's); its real and effective uid and gid, which
 * SO_PEERCRED and SO_PASSCRED show the peer (a root supervisor must not lend root to an
 * unprivileged workload connecting to a service that trusts uid 0); and
 * its effective capabilities, which netlink checks in the sender's
 * context (a root workload without CAP_NET_ADMIN must not change routes
 * through us). The peer still sees the supervisor's pid. */
#ifndef FNG_BECOME_H
#define FNG_BECOME_H

#include <limits.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <sys/types.h>

struct as_task {
	bool creds;       /* ids were switched (supervisor running as root) */
	gid_t rgid, egid; /* ours, to restore (our uids are 0 when creds is set) */
	int ngroups;
	gid_t groups[NGROUPS_MAX > 256 ? 256 : NGROUPS_MAX];
	struct __user_cap_data_struct caps[2]; /* ours, to restore */
	int cwd; /* ours (O_PATH), or -1 when paths were not asked for */
};

/* Takes on tid's identity (when we are root: nothing to take on
 * otherwise) and, with paths (unix sockets; netlink has none), its cwd.
 * 0 or -errno. Always call unbecome() afterwards, whatever this
 * returned. Every id call is a raw system call, which changes only the
 * calling thread: glibc's setgroups() (and the other set*id wrappers)
 * would signal every other thread (the pre-launch scan's) to change it
 * there too, slowly and to the wrong effect. The cwd, with paths, is the
 * whole process's: the scan threads use only absolute paths. */
int become(pid_t tid, bool paths, struct as_task *st);
void unbecome(struct as_task *st);

#endif
