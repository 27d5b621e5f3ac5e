/* Every task (process or thread) of the workload the supervisor has seen,
 * keyed by tid, with the exec it expects next. */
#ifndef FNG_TRACEE_H
#define FNG_TRACEE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tracee {
	pid_t tid;
	/* Set when an exec notification from this task was answered with
	 * CONTINUE: the image the kernel must load (device, inode). */
	bool expect_exec;
	dev_t exp_dev;
	ino_t exp_ino;
	bool exp_enforce;   /* a mismatch is a violation (exec section present) */
	char exp_path[256]; /* for the log */
	/* For a #! script: the file name the kernel must pass to the
	 * interpreter (the identity check alone would accept any script
	 * with the same interpreter swapped in by a racing thread). */
	char exp_script[256];
	int pidfd;  /* -1, or a pidfd of this task (owned: closed on delete) */
	pid_t tgid; /* 0 until looked up (broker.c) */
};

struct tracee_tab;

struct tracee_tab *tracee_tab_new(void);
void tracee_tab_free(struct tracee_tab *t); /* accepts NULL */

/* Finds tid; with create, adds it when absent. NULL when absent (or out
 * of memory). The pointer is valid until the next add or delete. */
struct tracee *tracee_get(struct tracee_tab *t, pid_t tid, bool create);
void tracee_del(struct tracee_tab *t, pid_t tid);
size_t tracee_count(const struct tracee_tab *t);

/* Calls fn for every task; fn must not add or delete. */
void tracee_each(struct tracee_tab *t, void (*fn)(struct tracee *, void *), void *arg);

#endif
