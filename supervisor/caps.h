/* Kernel features, probed once at start before any filter is loaded
 * (a later probe could be refused by our own filter). */
#ifndef FNG_CAPS_H
#define FNG_CAPS_H

#include <stdbool.h>

#include <cjson/cJSON.h>

struct sup_caps {
	char kernel[64];       /* uname release */
	bool seccomp_filter;   /* SECCOMP_SET_MODE_FILTER works */
	bool act_kill_process; /* SECCOMP_GET_ACTION_AVAIL answers */
	bool act_errno;
	bool act_user_notif;
	bool act_log;
	bool seccomp_user_notif; /* a filter with NEW_LISTENER loads (5.0) */
	bool notif_addfd;        /* SECCOMP_IOCTL_NOTIF_ADDFD (5.9) */
	bool notif_addfd_send;   /* SECCOMP_ADDFD_FLAG_SEND (5.14) */
	bool wait_killable_recv; /* SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (5.19) */
	bool sync_wake_up;       /* SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (6.6) */
	bool ptrace;             /* PTRACE_SEIZE of our own child permitted */
	bool pidfd_open;         /* 5.3 */
	bool pidfd_getfd;        /* 5.6; refused by docker's default profile
				  * without CAP_SYS_PTRACE */
	bool cgroup2;
	char cgroup2_mount[256]; /* where the v2 hierarchy is mounted */
	bool bpf;                /* a cgroup sock_addr program loads */
	bool running_as_root;
	bool full; /* every field was tried, not assumed */
};

/* Fills *c; never fails (a probe that errors reads as "missing").
 * full: also load a filter and ptrace in a throw-away child, and look at
 * cgroup v2 and eBPF (fnguard probe). Without it only what the seccomp()
 * syscall answers in-process is known: `run` confirms the rest while it
 * launches the workload (sup_launch fills ptrace, wait_killable_recv,
 * sync_wake_up, pidfd_getfd) and fails with a clear error if it must. */
void sup_probe(struct sup_caps *c, bool full);

/* Only the cgroup v2 mount (c->cgroup2, c->cgroup2_mount): for the bpf
 * network engine, which run needs without the full probe. */
void sup_probe_cgroup2(struct sup_caps *c);
/* Only c->bpf: a trivial cgroup sock_addr program loads. */
void sup_probe_bpf(struct sup_caps *c);

/* The tier `run --tier auto` picks: "kernel" or NULL when none is usable
 * in this build; *why explains what is missing (static text). */
const char *sup_caps_tier(const struct sup_caps *c, const char **why);

/* What the kernel tier does not stop, for the start event and probe;
 * and what the socket broker (network rules without pidfd_getfd) adds. */
extern const char *const sup_kernel_tier_limits[];
extern const char *const sup_broker_limits[];

cJSON *sup_caps_json(const struct sup_caps *c);
void sup_caps_print(const struct sup_caps *c); /* human text on stdout */

#endif
