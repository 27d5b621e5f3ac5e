/* Starting the workload: a child that shares the supervisor's fd table
 * until execve (CLONE_FILES), so the seccomp listener it creates is ours
 * without sendmsg (which later filters may trap) or pidfd_getfd (which
 * docker's default profile refuses). */
#ifndef FNG_LAUNCH_H
#define FNG_LAUNCH_H

#include <linux/filter.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

struct sup_launch {
	const char *path;        /* absolute path of the program to exec */
	char *const *argv;       /* borrowed */
	char *const *envp;       /* borrowed */
	const struct sock_fprog *prog;
	unsigned filter_flags;   /* extra SECCOMP_FILTER_FLAG_* (WAIT_KILLABLE_RECV) */
	bool sync_wake_up;       /* set SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP */
	sigset_t child_mask;     /* signal mask the workload starts with */
};

/* Forks the child, seizes it with ptrace, receives the listener and lets
 * the child exec. On success *child and *notify_fd (close-on-exec, owned
 * by the caller) are set and the child's first execve is waiting for the
 * supervisor's answer. *child_end is the child's end of the setup socket,
 * still in the shared fd table: the caller closes it once the child has
 * exec'd or died, never before. Returns 0 or -errno with err set. */
int sup_launch(const struct sup_launch *l, pid_t *child, int *notify_fd, int *child_end,
	       char *err, size_t errlen);

/* Capabilities a root workload keeps; every other one leaves the bounding set. */
bool sup_cap_kept(int cap);

#endif
