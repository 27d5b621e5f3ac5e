/* State of one `fnguard run`, shared by the supervisor's own modules
 * (run, loop, exec); not seen outside supervisor/. */
#ifndef FNG_SUP_H
#define FNG_SUP_H

#include <linux/seccomp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "caps.h"
#include "log.h"
#include "addrtab.h"
#include "policy.h"
#include "tracee.h"

#define SUP_EXIT_VIOLATION 159
#define SUP_EXIT_FAILURE   125

struct sup {
	const struct policy *pol; /* borrowed */
	struct log_ctx *log;      /* borrowed */
	struct sup_caps *caps;    /* borrowed; the launch completes it */
	bool audit;               /* mode: audit (policy or --mode) */
	struct pol_strv initial;  /* COMMAND's paths: always allowed */
	int notify_fd;            /* owned */
	int sig_fd;               /* owned */
	pid_t child;              /* the workload's first process */
	pid_t self;
	struct tracee_tab *tt;    /* owned */
	struct addrtab *addrs;    /* owned; NULL without network rules */
	struct netdns *dns;       /* owned; NULL without network rules */
	struct sup_code *code;    /* owned; NULL without code rules */
	struct net_wait *waits;   /* owned: blocking connects answered later */
	struct sup_invoke *inv;   /* owned; events/responses inspection, or NULL */
	struct rtapi *rt;         /* owned; the Runtime API proxy, NULL without
				   * AWS_LAMBDA_RUNTIME_API */
	struct brk *brk;          /* owned; the socket broker, NULL unless network
				   * rules run without pidfd_getfd */
	struct bpfnet *bpf;       /* owned; the bpf network engine, or NULL */
	const char *engine;       /* "notify", "bpf", "preload"; NULL without network rules */
	char *engine_reason;      /* owned; why auto fell back to notify, or NULL */
	const char *engine_limit; /* static; what the chosen engine leaves open */
	size_t n_waits;
	int64_t next_signal_check; /* monotonic ms, for waiting connects */
	bool deferred;             /* the current notification is answered later */
	int64_t t0_mono;
	struct seccomp_notif_sizes sizes;
	bool child_done;
	int child_status; /* wait status of the first process */
	bool violation;   /* a kill verdict was carried out */
	unsigned long n_notif;
	struct sup_preload *pre; /* owned; the preload tier's channels, or NULL */
};

/* The `action` field and the effective verdict for a violation of a
 * section: audit mode and `log` let it through as "audit". */
const char *sup_violation_action(const struct sup *s, enum pol_action section,
				 enum pol_action *eff);

/* A new log event for task pid, with `exe` filled from /proc. */
cJSON *sup_event(struct sup *s, const char *event, const char *action, pid_t pid);

/* Log is written; now end the workload: SIGKILL every task ever seen,
 * reap them, mark the run as a violation (exit 159). */
void sup_kill_workload(struct sup *s);

/* exec.c */
/* Resolves the symlinks in the literal part of every exec.allow entry into
 * p->exec.allow_real, since verdicts judge the real file. 0 or -ENOMEM. */
int sup_exec_resolve_allow(struct policy *p);
void sup_exec_notify(struct sup *s, const struct seccomp_notif *req,
		     struct seccomp_notif_resp *resp);
void sup_exec_stop(struct sup *s, pid_t pid);
/* Lexical normalisation of an absolute path: collapses "//", "." and
 * "..", in place. */
void sup_path_normalize(char *p);

/* net.c: connect, sendto, sendmsg, sendmmsg while network rules are on. */
void sup_net_notify(struct sup *s, const struct seccomp_notif *req,
		    struct seccomp_notif_resp *resp);

/* net.c for the preload tier: judges an inet destination the workload's
 * interposer sent (already a private copy) as the kernel tier would, and
 * logs it; DNS (port 53) is pointed at the stub (*redirect, *ss
 * rewritten). 0 when the call may go on, else -EPERM. */
int sup_net_judge_copy(struct sup *s, const char *event, pid_t pid, int type,
		       struct sockaddr_storage *ss, socklen_t *len, bool *redirect);

/* One `connect`/`send` line (or only its count, when the log leaves such
 * actions out): the notify engine's and the bpf engine's verdicts alike. */
void sup_net_log(struct sup *s, const char *event, const char *action, pid_t tid, const char *proto,
		 const struct pol_addr *a, const char *domain, const char *rule,
		 const char *reason);

/* Deferred blocking connects: their fds, the next deadline (-1: none),
 * and answering those that finished. */
size_t sup_net_pollfds(struct sup *s, struct pollfd *fds, size_t max);
int sup_net_timeout(const struct sup *s);
void sup_net_handle(struct sup *s, const struct pollfd *fds, size_t n);
void sup_net_free(struct sup *s);

/* invoke.c: the events and responses sections on the Runtime API proxy's
 * traffic. Fills hooks for rtapi_open; *out NULL when neither section is
 * present. 0 or -errno with a message (a rule file that does not load). */
struct sup_invoke;
struct rtapi_hooks;
int sup_invoke_open(struct sup *s, struct sup_invoke **out, struct rtapi_hooks *hooks, char *err,
		    size_t errlen);
void sup_invoke_free(struct sup_invoke *iv);

/* broker.c: without pidfd_getfd, the supervisor creates the workload's
 * sockets and keeps copies. sup_broker_open files the sockets the workload
 * inherits (call it before the launch); sup_broker_grab returns a copy of
 * the socket at tid's fd, -EBADF, -ENOTSOCK, or -ESTALE for a socket
 * the broker never saw. */
struct sup_trap_info;
int sup_broker_open(struct sup *s);
void sup_broker_free(struct sup *s);
int sup_broker_grab(struct sup *s, pid_t tid, int fd);
void sup_broker_notify(struct sup *s, const struct seccomp_notif *req,
		       struct seccomp_notif_resp *resp, const struct sup_trap_info *ti);
size_t sup_broker_pollfds(struct sup *s, struct pollfd *fds, size_t max);
int sup_broker_timeout(const struct sup *s);
void sup_broker_handle(struct sup *s, const struct pollfd *fds, size_t n);

/* loop.c: an anti-escape refusal, answered and logged as a `syscall`
 * deny with the filter's reason. */
void sup_refuse_syscall(struct sup *s, const struct seccomp_notif *req,
			struct seccomp_notif_resp *resp, const struct sup_trap_info *ti);

/* loop.c: runs until the workload is gone; returns fnguard's exit code. */
int sup_loop(struct sup *s);

#endif
