/* The workload's seccomp filter: generated with libseccomp before fork,
 * exported as raw BPF, loaded by the pre-exec child without any library
 * call (crun's shape). */
#ifndef FNG_FILTER_H
#define FNG_FILTER_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct sup_filter_opts {
	pid_t supervisor_pid;  /* signals and pid-taking calls aimed here are refused */
	pid_t supervisor_pgid; /* kill(-pgid, ...) is refused */
	/* The supervisor's other threads (kill(tid) reaches the whole
	 * process): refused like supervisor_pid. */
	const pid_t *thread_ids;
	size_t n_thread_ids;
	bool net;     /* network rules: trap connect/send, limit socket() */
	bool code;    /* code rules: trap read-only opens */
	bool broker;  /* with net, no pidfd_getfd: trap socket,
		       * socketpair, accept, accept4 (broker.c) */
	bool net_bpf; /* with net, the bpf engine judges connect and
		       * send in the kernel: those are not trapped */
};

/* Builds the filter into *prog (prog->filter is malloc'd; release with
 * sup_filter_free). Returns 0 or -errno with a message in err. */
int sup_filter_build(const struct sup_filter_opts *o, struct sock_fprog *prog, char *err,
		     size_t errlen);
void sup_filter_free(struct sock_fprog *prog);

/* What the supervisor does with a notification for syscall nr. */
enum sup_trap {
	SUP_TRAP_NONE = 0, /* not a syscall the filter sends us */
	SUP_TRAP_EXEC,     /* execve, execveat: the exec handler decides */
	SUP_TRAP_REFUSE,   /* anti-escape: always refused, logged as a deny */
	SUP_TRAP_NET,      /* connect, sendto/sendmsg/sendmmsg: the net handler */
	SUP_TRAP_OPEN,     /* open, openat, openat2 for reading: the code handler */
	SUP_TRAP_SOCK,     /* socket, socketpair, accept(4) in broker mode; for
			    * socket/socketpair err and reason say how a
			    * refused family is answered */
};

struct sup_trap_info {
	enum sup_trap kind;
	int err;            /* SUP_TRAP_REFUSE: errno answered */
	const char *reason; /* SUP_TRAP_REFUSE: why it is refused */
};

/* Classifies a notified syscall (native arch). Valid after a successful
 * sup_filter_build() in this process. */
void sup_filter_classify(long nr, struct sup_trap_info *out);

/* True when socket(domain, type, proto) is outside what network rules
 * can judge (the filter's own rule, for the broker, which traps every
 * socket() and must refuse the same ones). */
bool sup_filter_socket_refused(uint64_t domain, uint64_t type, uint64_t proto);

/* Name of a native syscall number, for logs: a static buffer. */
const char *sup_syscall_name(long nr);

#endif
