/* The supervisor's one event loop: seccomp notifications, ptrace stops of
 * every task, and signals, all through poll(2). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>

#include "cleanup.h"
#include "filter.h"
#include "codeopen.h"
#include "netbpf.h"
#include "netdns.h"
#include "preload.h"
#include "rtapi.h"
#include "sup.h"
#include "sys.h"
#include "util.h"

const char *sup_violation_action(const struct sup *s, enum pol_action section, enum pol_action *eff)
{
	*eff = policy_effective(s->pol, section);
	if (s->audit)
		*eff = POL_ACT_LOG;
	switch (*eff) {
	case POL_ACT_KILL:
		return "kill";
	case POL_ACT_DENY:
		return "deny";
	default:
		return "audit";
	}
}

cJSON *sup_event(struct sup *s, const char *event, const char *action, pid_t pid)
{
	char link[64], exe[512];
	cJSON *ev = log_begin(s->log, event, action, pid);

	if (!ev)
		return NULL;
	snprintf(link, sizeof link, "/proc/%d/exe", pid);
	if (sys_readlink(link, exe, sizeof exe) > 0)
		cJSON_AddStringToObject(ev, "exe", exe);
	if (s->pre)
		cJSON_AddStringToObject(ev, "tier", "preload");
	return ev;
}

static void kill_one(struct tracee *t, void *arg)
{
	(void)arg;
	kill(t->tid, SIGKILL);
}

/* SIGKILLs every task ever seen and reaps them all. */
static void end_workload(struct sup *s)
{
	int st;
	pid_t pid;

	if (s->pre)
		sup_preload_kill_tree(s); /* no tracees: found through /proc */
	tracee_each(s->tt, kill_one, NULL);
	kill(s->child, SIGKILL);
	/* Tasks born while we were killing are attached to us already
	 * (auto-attach happens inside fork): each shows up in waitpid as a
	 * stop or an exit. Drain until no tracee is left, with a bound in
	 * case a task sits in an uninterruptible sleep. */
	int64_t deadline = util_mono_ms() + 3000;
	for (;;) {
		pid = waitpid(-1, &st, __WALL | WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break; /* ECHILD: nothing left */
		if (pid == 0) {
			if (util_mono_ms() > deadline)
				break;
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
			continue;
		}
		if (WIFSTOPPED(st)) {
			kill(pid, SIGKILL);
			continue;
		}
		if (pid == s->child && !s->child_done) {
			s->child_done = true;
			s->child_status = st;
		}
		tracee_del(s->tt, pid);
	}
}

void sup_kill_workload(struct sup *s)
{
	s->violation = true;
	end_workload(s);
}

void sup_refuse_syscall(struct sup *s, const struct seccomp_notif *req,
			struct seccomp_notif_resp *resp, const struct sup_trap_info *ti)
{
	resp->error = -ti->err;
	cJSON *ev = sup_event(s, "syscall", "deny", (pid_t)req->pid);
	if (!ev)
		return;
	cJSON_AddStringToObject(ev, "syscall", sup_syscall_name(req->data.nr));
	cJSON *args = cJSON_AddArrayToObject(ev, "args");
	for (int i = 0; i < 3; i++)
		cJSON_AddItemToArray(args, cJSON_CreateNumber((double)(int64_t)req->data.args[i]));
	cJSON_AddStringToObject(ev, "rule", "anti-escape");
	cJSON_AddStringToObject(ev, "reason", ti->reason);
	log_emit(s->log, ev);
}

static void handle_notification(struct sup *s, struct seccomp_notif *req,
				struct seccomp_notif_resp *resp)
{
	struct sup_trap_info ti;

	memset(req, 0, s->sizes.seccomp_notif);
	if (ioctl(s->notify_fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
		return; /* ENOENT: the task died or was killed meanwhile */
	s->n_notif++;
	memset(resp, 0, s->sizes.seccomp_notif_resp);
	resp->id = req->id;
	s->deferred = false;
	sup_filter_classify(req->data.nr, &ti);
	switch (ti.kind) {
	case SUP_TRAP_EXEC:
		sup_exec_notify(s, req, resp);
		break;
	case SUP_TRAP_REFUSE:
		sup_refuse_syscall(s, req, resp, &ti);
		break;
	case SUP_TRAP_SOCK:
		sup_broker_notify(s, req, resp, &ti);
		break;
	case SUP_TRAP_NET:
		sup_net_notify(s, req, resp);
		break;
	case SUP_TRAP_OPEN:
		if (s->code) {
			bool answered;
			sup_code_notify(s, req, resp, &answered);
			if (answered)
				goto sent;
		} else {
			resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		}
		break;
	default:
		/* The filter sent something no handler knows: fail closed. */
		resp->error = -ENOSYS;
		break;
	}
	if (!s->deferred)
		(void)ioctl(s->notify_fd, SECCOMP_IOCTL_NOTIF_SEND, resp);
sent:
	if (s->violation)
		sup_kill_workload(s);
}

/* A task was killed by the filter itself (SECCOMP_RET_KILL_PROCESS: a
 * non-native ABI). The kernel gives no notification, only the status. */
static void seccomp_killed(struct sup *s, pid_t pid)
{
	cJSON *ev = log_begin(s->log, "syscall", "kill", pid);
	if (ev) {
		cJSON_AddStringToObject(ev, "rule", "anti-escape");
		cJSON_AddStringToObject(ev, "reason",
					"killed by the seccomp filter: a syscall through a "
					"non-native ABI (i386 int 0x80 or x32)");
		log_emit(s->log, ev);
	}
	sup_kill_workload(s);
}

static void handle_stop(struct sup *s, pid_t pid, int st)
{
	int event = st >> 16;
	int sig = WSTOPSIG(st);
	unsigned long msg = 0;

	tracee_get(s->tt, pid, true);
	switch (event) {
	case PTRACE_EVENT_EXEC:
		sup_exec_stop(s, pid);
		return;
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
	case PTRACE_EVENT_CLONE:
		if (ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg) == 0)
			tracee_get(s->tt, (pid_t)msg, true);
		ptrace(PTRACE_CONT, pid, 0, 0);
		return;
	case PTRACE_EVENT_STOP:
		/* Under PTRACE_SEIZE a group-stop reports the stopping signal;
		 * the auto-attach and interrupt stops report SIGTRAP. LISTEN
		 * keeps job control working (the task stays stopped until
		 * SIGCONT) without losing sight of it. */
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
			ptrace(PTRACE_LISTEN, pid, 0, 0);
		else
			ptrace(PTRACE_CONT, pid, 0, 0);
		return;
	default:
		/* Signal-delivery stop: deliver the signal unchanged. */
		ptrace(PTRACE_CONT, pid, 0, sig);
		return;
	}
}

static void reap(struct sup *s)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, __WALL | WNOHANG)) > 0) {
		if (WIFSTOPPED(st)) {
			handle_stop(s, pid, st);
			if (s->violation)
				return;
			continue;
		}
		tracee_del(s->tt, pid);
		if (pid == s->child) {
			s->child_done = true;
			s->child_status = st;
		}
		if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS) {
			seccomp_killed(s, pid);
			return;
		}
	}
}

static void forward(struct sup *s, int sig)
{
	/* To the first process, as a shell or docker's init would; it owns
	 * the rest of the tree. */
	if (!s->child_done)
		kill(s->child, sig);
}

static void handle_signals(struct sup *s)
{
	struct signalfd_siginfo si;

	while (read(s->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGCHLD)
			reap(s);
		else
			forward(s, (int)si.ssi_signo);
		if (s->violation)
			return;
	}
}

static int exit_code(const struct sup *s)
{
	if (s->violation)
		return SUP_EXIT_VIOLATION;
	if (WIFEXITED(s->child_status))
		return WEXITSTATUS(s->child_status);
	if (WIFSIGNALED(s->child_status))
		return 128 + WTERMSIG(s->child_status);
	return SUP_EXIT_FAILURE;
}

int sup_loop(struct sup *s)
{
	_cleanup_free_ struct seccomp_notif *req = calloc(1, s->sizes.seccomp_notif);
	_cleanup_free_ struct seccomp_notif_resp *resp = calloc(1, s->sizes.seccomp_notif_resp);

	if (!req || !resp)
		return SUP_EXIT_FAILURE;
	/* A SIGCHLD may have come before the loop started; reap once. */
	reap(s);
	while (!s->violation && !s->child_done) {
		/* sig, notify, then the DNS stub's sockets */
		/* Only the entries in use are written: zeroing all ~6 KiB on
		 * every notification shows in the connect benchmark. */
		struct pollfd p[2 + 260 + 256 + 256 + 40 + 260 + 1];
		p[0] = (struct pollfd){ .fd = s->sig_fd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = s->notify_fd, .events = POLLIN };
		size_t nfd = 2, ndns = 0, nwait, nbrk, nrt, nbpf;
		if (s->dns)
			nfd += ndns = netdns_pollfds(s->dns, p + 2, ARRAY_SIZE(p) - 2);
		nfd += nwait = sup_net_pollfds(s, p + nfd, ARRAY_SIZE(p) - nfd);
		nfd += nbrk = sup_broker_pollfds(s, p + nfd, ARRAY_SIZE(p) - nfd);
		nfd += nrt = rtapi_pollfds(s->rt, p + nfd, ARRAY_SIZE(p) - nfd);
		nfd += nbpf = sup_netbpf_pollfds(s, p + nfd, ARRAY_SIZE(p) - nfd);
		size_t npre = sup_preload_pollfds(s, p + nfd, ARRAY_SIZE(p) - nfd);
		nfd += npre;
		/* The pre-launch scan, until its results are in. */
		int scan_fd = sup_code_prescan_fd(s->code);
		if (scan_fd >= 0)
			p[nfd++] = (struct pollfd){ .fd = scan_fd, .events = POLLIN };
		int tmo = s->dns ? netdns_timeout(s->dns) : -1;
		const int more[] = { sup_net_timeout(s), sup_broker_timeout(s) };
		for (size_t i = 0; i < ARRAY_SIZE(more); i++)
			if (more[i] >= 0 && (tmo < 0 || more[i] < tmo))
				tmo = more[i];
		/* A closed notify fd (-1) is skipped by poll itself. */
		int n = poll(p, nfd, tmo);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (s->dns)
			netdns_handle(s->dns, p + 2, ndns);
		if (s->n_waits)
			sup_net_handle(s, p + 2 + ndns, nwait);
		if (s->brk)
			sup_broker_handle(s, p + 2 + ndns + nwait, nbrk);
		if (s->rt)
			rtapi_handle(s->rt, p + 2 + ndns + nwait + nbrk, nrt);
		/* Verdicts of the bpf engine: `kill` sets s->violation. */
		sup_netbpf_handle(s, p + 2 + ndns + nwait + nbrk + nrt, nbpf);
		if (s->pre && !s->violation)
			sup_preload_handle(s, p + 2 + ndns + nwait + nbrk + nrt + nbpf, npre);
		if (s->violation) {
			sup_kill_workload(s); /* a refused name under action kill */
			break;
		}
		if (scan_fd >= 0 && (p[nfd - 1].revents & POLLIN))
			sup_code_prescan(s);
		if (s->notify_fd >= 0 && (p[1].revents & POLLIN))
			handle_notification(s, req, resp);
		else if (s->notify_fd >= 0 && (p[1].revents & (POLLHUP | POLLERR | POLLNVAL))) {
			/* No task uses the filter any more. */
			close(s->notify_fd);
			s->notify_fd = -1;
		}
		if (!s->violation && (p[0].revents & POLLIN))
			handle_signals(s);
	}
	/* The first process is gone: its tree goes with it (fnguard's exit
	 * would kill the rest through PTRACE_O_EXITKILL anyway). */
	if (!s->violation && (tracee_count(s->tt) > 0 || s->pre))
		end_workload(s);
	return exit_code(s);
}
