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

#include "caps.h"

struct sup_launch {
	const char *path;  /* absolute path of the program to exec */
	char *const *argv; /* borrowed */
	char *const *envp; /* borrowed */
	const struct sock_fprog *prog;
	sigset_t child_mask; /* signal mask the workload starts with */
	/* The bpf network engine: the child starts in the cgroup whose
	 * directory is open as cgroup_dir (clone3 CLONE_INTO_CGROUP; before
	 * Linux 5.7 the parent writes its pid to cgroup_procs first), then
	 * gets a cgroup namespace rooted there (with nsdelegate, a root
	 * workload then cannot move itself out of the programs' reach). */
	bool into_cgroup;
	int cgroup_dir;
	int cgroup_procs;
};

/* Forks the child, seizes it with ptrace and receives the listener; the
 * child's execve then waits for the supervisor's answer. What the launch
 * finds out for real (ptrace, WAIT_KILLABLE_RECV, SYNC_WAKE_UP,
 * pidfd_getfd) is written into *caps. On success *child and *notify_fd (close-on-exec, owned
 * by the caller) are set and the child's first execve is waiting for the
 * supervisor's answer. Returns 0 or -errno with err set. */
int sup_launch(const struct sup_launch *l, struct sup_caps *caps, pid_t *child, int *notify_fd,
	       char *err, size_t errlen);

/* Capabilities a root workload keeps; every other one leaves the bounding set. */
bool sup_cap_kept(int cap);

#endif
