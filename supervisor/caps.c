/* One-shot probe of the kernel features the tiers rely on.
 *
 * Features that need a loaded filter are tried in a throw-away child so
 * the supervisor itself stays unfiltered; version numbers are never
 * trusted (distribution kernels backport, containers filter). */
#include "caps.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "cleanup.h"
#include "preload.h"
#include "sys.h"

const char *const sup_broker_limits[] = {
	"without pidfd_getfd fnguard creates the workload's sockets itself (socket broker): a "
	"socket passed in from outside the process tree cannot be used for network calls",
	"a socket the workload closes stays open up to 100 ms (the broker's sweep)",
	"SO_PEERCRED of a socketpair shows fnguard's pid (with the workload's uid and gid)",
	NULL,
};

const char *const sup_kernel_tier_limits[] = {
	"code already running can eval anything: code validation gates what is loaded, it is "
	"not a boundary",
	"a program allowed by exec.allow runs with the same rights as the workload",
	"writes to allowed files and reads of readable files are not policed",
	"a kernel exploit from inside the workload is out of scope",
	NULL,
};

/* What the probe child finds; it shares our memory (CLONE_VM). */
struct child_result {
	bool filter, listener, killable, sync_wake, addfd, addfd_send;
};

struct child_arg {
	int go_fd; /* the child waits for one byte, then probes */
	struct child_result r;
};

/* Runs on its own small stack in our address space, as a separate
 * process (no CLONE_THREAD) so the filter it loads binds only itself.
 * Raw syscalls only: no allocation, no sanitizer interceptors. */
__attribute__((no_sanitize("address", "undefined"))) static int child_probe(void *p)
{
	struct child_arg *a = p;
	struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_fprog prog = { .len = 1, .filter = allow };
	char go;

	/* Wait until the parent has tried ptrace and pidfd_getfd on us. */
	while (syscall(SYS_read, a->go_fd, &go, 1) < 0 && errno == EINTR)
		;
	if (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return 0;
	const unsigned long nl = SECCOMP_FILTER_FLAG_NEW_LISTENER;
	int fd = sys_seccomp(SECCOMP_SET_MODE_FILTER, nl | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
			     &prog);
	if (fd >= 0) {
		a->r.filter = a->r.listener = a->r.killable = true;
	} else {
		fd = sys_seccomp(SECCOMP_SET_MODE_FILTER, nl, &prog);
		if (fd >= 0)
			a->r.filter = a->r.listener = true;
		else
			a->r.filter = sys_seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog) == 0;
	}
	if (fd < 0)
		return 0;
	uint64_t flags = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
	a->r.sync_wake = syscall(SYS_ioctl, fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, flags) == 0;
	/* No notification has id 0: a kernel that knows the ioctl (and the
	 * flag) gets as far as looking it up and answers ENOENT. */
	struct seccomp_notif_addfd ad = { .id = 0, .srcfd = (uint32_t)fd };
	a->r.addfd = syscall(SYS_ioctl, fd, SECCOMP_IOCTL_NOTIF_ADDFD, &ad) < 0 && errno == ENOENT;
	ad.flags = SECCOMP_ADDFD_FLAG_SEND;
	a->r.addfd_send =
		syscall(SYS_ioctl, fd, SECCOMP_IOCTL_NOTIF_ADDFD, &ad) < 0 && errno == ENOENT;
	return 0;
}

static void probe_in_child(struct sup_caps *c)
{
	enum { STACK = 64 * 1024 };
	struct child_arg a = { 0 };
	int go[2];

	_cleanup_free_ char *stack = malloc(STACK);
	if (!stack || pipe2(go, O_CLOEXEC) < 0)
		return;
	a.go_fd = go[0];
	/* CLONE_VM: no copy of our page tables; about a tenth of a fork. */
	pid_t pid = clone(child_probe, stack + STACK, CLONE_VM | SIGCHLD, &a);
	if (pid < 0) {
		close(go[0]);
		close(go[1]);
		return;
	}
	c->ptrace = ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_EXITKILL) == 0;
	_cleanup_fd_ int pidfd = sys_pidfd_open(pid, 0);
	c->pidfd_open = pidfd >= 0;
	if (pidfd >= 0) {
		int fd = sys_pidfd_getfd(pidfd, go[0]);
		c->pidfd_getfd = fd >= 0;
		if (fd >= 0)
			close(fd);
	}
	(void)!write(go[1], "g", 1);
	int st;
	while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
		;
	close(go[0]);
	close(go[1]);
	c->seccomp_filter = a.r.filter;
	c->seccomp_user_notif = a.r.listener;
	c->wait_killable_recv = a.r.killable;
	c->sync_wake_up = a.r.sync_wake;
	c->notif_addfd = a.r.addfd;
	c->notif_addfd_send = a.r.addfd_send;
}

static void probe_actions(struct sup_caps *c)
{
	static const struct {
		uint32_t act;
		size_t off;
	} acts[] = {
		{ SECCOMP_RET_KILL_PROCESS, offsetof(struct sup_caps, act_kill_process) },
		{ SECCOMP_RET_ERRNO, offsetof(struct sup_caps, act_errno) },
		{ SECCOMP_RET_USER_NOTIF, offsetof(struct sup_caps, act_user_notif) },
		{ SECCOMP_RET_LOG, offsetof(struct sup_caps, act_log) },
	};
	for (size_t i = 0; i < ARRAY_SIZE(acts); i++) {
		uint32_t a = acts[i].act;
		*(bool *)((char *)c + acts[i].off) =
			sys_seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &a) == 0;
	}
}

void sup_probe_cgroup2(struct sup_caps *c)
{
	_cleanup_file_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024];

	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		/* id parent maj:min root mountpoint opts... - fstype source super */
		char *sep = strstr(line, " - cgroup2 ");
		char mnt[256];
		if (!sep || sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1)
			continue;
		c->cgroup2 = true;
		snprintf(c->cgroup2_mount, sizeof c->cgroup2_mount, "%s", mnt);
		return;
	}
}

void sup_probe_bpf(struct sup_caps *c)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;

	memset(&attr, 0, sizeof attr);
	attr.prog_type = BPF_PROG_TYPE_CGROUP_SOCK_ADDR;
	attr.expected_attach_type = BPF_CGROUP_INET4_CONNECT;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = ARRAY_SIZE(insns);
	attr.license = (uint64_t)(uintptr_t) "GPL";
	int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
	c->bpf = fd >= 0;
	if (fd >= 0)
		close(fd);
}

void sup_probe(struct sup_caps *c, bool full)
{
	struct utsname u;

	memset(c, 0, sizeof *c);
	if (uname(&u) == 0)
		snprintf(c->kernel, sizeof c->kernel, "%.63s", u.release);
	c->running_as_root = geteuid() == 0;
	probe_actions(c);
	if (!full) {
		/* `run` tries the rest for real while it launches the workload
		 * (a child of its own costs a cross-CPU wake-up on every start);
		 * until then the kernel's answer about the action stands in. */
		c->seccomp_filter = c->seccomp_user_notif = c->act_user_notif;
		c->ptrace = true;
		/* The filter must know before fork whether the socket broker
		 * is needed: a container profile that refuses pidfd_getfd
		 * refuses it on ourselves too (two syscalls). */
		_cleanup_fd_ int self = sys_pidfd_open(getpid(), 0);
		c->pidfd_open = self >= 0;
		_cleanup_fd_ int fd = self >= 0 ? sys_pidfd_getfd(self, self) : -1;
		c->pidfd_getfd = fd >= 0;
		return;
	}
	c->full = true;
	probe_in_child(c);
	sup_probe_cgroup2(c);
	sup_probe_bpf(c);
}

const char *sup_caps_tier(const struct sup_caps *c, const char **why)
{
	*why = NULL;
	if (!c->seccomp_filter)
		*why = "seccomp filters are refused (prctl/seccomp EPERM or a kernel without "
		       "CONFIG_SECCOMP_FILTER)";
	else if (!c->act_user_notif || !c->seccomp_user_notif)
		*why = "seccomp user notification is missing (needs Linux >= 5.0)";
	else if (!c->ptrace)
		*why = "ptrace of a child is refused (Yama ptrace_scope 3, or a seccomp profile "
		       "that denies ptrace)";
	return *why ? NULL : "kernel";
}

cJSON *sup_caps_json(const struct sup_caps *c)
{
	cJSON *o = cJSON_CreateObject();
	const char *why;
	const char *tier = sup_caps_tier(c, &why);

	cJSON_AddStringToObject(o, "kernel", c->kernel);
	/* Where the kernel tier cannot run, `run` steps down to preload. */
	cJSON_AddStringToObject(o, "tier", tier ? tier : "preload");
	if (why)
		cJSON_AddStringToObject(o, "tier_reason", why);
	cJSON_AddBoolToObject(o, "seccomp_filter", c->seccomp_filter);
	cJSON *acts = cJSON_AddObjectToObject(o, "seccomp_actions");
	cJSON_AddBoolToObject(acts, "kill_process", c->act_kill_process);
	cJSON_AddBoolToObject(acts, "errno", c->act_errno);
	cJSON_AddBoolToObject(acts, "user_notif", c->act_user_notif);
	cJSON_AddBoolToObject(acts, "log", c->act_log);
	cJSON_AddBoolToObject(o, "seccomp_user_notif", c->seccomp_user_notif);
	cJSON_AddBoolToObject(o, "notif_addfd", c->notif_addfd);
	cJSON_AddBoolToObject(o, "notif_addfd_send", c->notif_addfd_send);
	cJSON_AddBoolToObject(o, "wait_killable_recv", c->wait_killable_recv);
	cJSON_AddBoolToObject(o, "sync_wake_up", c->sync_wake_up);
	cJSON_AddBoolToObject(o, "ptrace", c->ptrace);
	cJSON_AddBoolToObject(o, "pidfd_open", c->pidfd_open);
	cJSON_AddBoolToObject(o, "pidfd_getfd", c->pidfd_getfd);
	cJSON_AddStringToObject(o, "network_sockets", c->pidfd_getfd ? "pidfd_getfd" : "broker");
	cJSON_AddBoolToObject(o, "cgroup2", c->cgroup2);
	if (c->cgroup2)
		cJSON_AddStringToObject(o, "cgroup2_mount", c->cgroup2_mount);
	cJSON_AddBoolToObject(o, "bpf", c->bpf);
	/* What network.engine: auto picks (a policy may still ask for either). */
	cJSON_AddStringToObject(o, "network_engine", c->cgroup2 && c->bpf ? "bpf" : "notify");
	cJSON_AddBoolToObject(o, "root", c->running_as_root);
	char lib[PATH_MAX], err[PATH_MAX + 128];
	if (sup_preload_find(lib, sizeof lib, err, sizeof err) == 0)
		cJSON_AddStringToObject(o, "preload_library", lib);
	else
		cJSON_AddNullToObject(o, "preload_library");
	cJSON *lim = cJSON_AddArrayToObject(o, "limits");
	for (size_t i = 0; sup_kernel_tier_limits[i]; i++)
		cJSON_AddItemToArray(lim, cJSON_CreateString(sup_kernel_tier_limits[i]));
	for (size_t i = 0; !tier && sup_preload_tier_limits[i]; i++)
		cJSON_AddItemToArray(lim, cJSON_CreateString(sup_preload_tier_limits[i]));
	return o;
}

static const char *yesno(bool b)
{
	return b ? "yes" : "no";
}

void sup_caps_print(const struct sup_caps *c)
{
	const char *why;
	const char *tier = sup_caps_tier(c, &why);

	printf("kernel                %s\n", c->kernel);
	printf("seccomp filter        %s\n", yesno(c->seccomp_filter));
	printf("  actions             kill_process=%s errno=%s user_notif=%s log=%s\n",
	       yesno(c->act_kill_process), yesno(c->act_errno), yesno(c->act_user_notif),
	       yesno(c->act_log));
	printf("user notification     %s\n", yesno(c->seccomp_user_notif));
	printf("  ADDFD / SEND        %s / %s\n", yesno(c->notif_addfd),
	       yesno(c->notif_addfd_send));
	printf("  WAIT_KILLABLE_RECV  %s\n", yesno(c->wait_killable_recv));
	printf("  SYNC_WAKE_UP        %s\n", yesno(c->sync_wake_up));
	printf("ptrace (own child)    %s\n", yesno(c->ptrace));
	printf("pidfd_open / getfd    %s / %s\n", yesno(c->pidfd_open), yesno(c->pidfd_getfd));
	printf("network sockets       %s\n",
	       c->pidfd_getfd ? "copied with pidfd_getfd"
			      : "socket broker (pidfd_getfd refused: fnguard creates the "
				"workload's sockets itself)");
	printf("cgroup v2             %s%s%s\n", yesno(c->cgroup2), c->cgroup2 ? " at " : "",
	       c->cgroup2 ? c->cgroup2_mount : "");
	printf("eBPF cgroup programs  %s\n", yesno(c->bpf));
	printf("network engine (auto) %s\n",
	       c->cgroup2 && c->bpf ? "bpf (cgroup programs judge connects in the kernel)"
				    : "notify (the supervisor judges connects)");
	printf("running as root       %s\n", yesno(c->running_as_root));
	char lib[PATH_MAX], err[PATH_MAX + 128];
	bool have = sup_preload_find(lib, sizeof lib, err, sizeof err) == 0;
	printf("preload library       %s\n", have ? lib : err);
	printf("tier                  %s%s%s\n", tier ? tier : "preload (LD_PRELOAD interposer)",
	       tier ? "" : ": the kernel tier is not usable: ", tier ? "" : why);
	printf("limits of this tier:\n");
	for (size_t i = 0; sup_kernel_tier_limits[i]; i++)
		printf("  - %s\n", sup_kernel_tier_limits[i]);
	for (size_t i = 0; !tier && sup_preload_tier_limits[i]; i++)
		printf("  - %s\n", sup_preload_tier_limits[i]);
	if (!tier)
		printf("Hint: a policy with `require: kernel` refuses to run here (exit 125).\n");
}
