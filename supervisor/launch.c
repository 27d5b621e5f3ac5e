#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "caps.h"
#include "sys.h"

/* Steps of the child, reported back when one fails. */
enum step { ST_OK, ST_PDEATHSIG, ST_SETSID, ST_CAPS, ST_NNP, ST_SECCOMP, ST_CGROUP };

static const char *const step_names[] = {
	[ST_OK] = "ok",
	[ST_PDEATHSIG] = "prctl(PR_SET_PDEATHSIG)",
	[ST_SETSID] = "setsid",
	[ST_CAPS] = "dropping capabilities",
	[ST_NNP] = "prctl(PR_SET_NO_NEW_PRIVS)",
	[ST_SECCOMP] = "seccomp(SECCOMP_SET_MODE_FILTER, NEW_LISTENER)",
	[ST_CGROUP] = "unshare(CLONE_NEWCGROUP) in the workload's cgroup",
};

struct msg {
	int step;
	int val;       /* ST_OK: the listener fd; else errno */
	bool killable; /* the listener waits killably (WAIT_KILLABLE_RECV) */
};

bool sup_cap_kept(int cap)
{
	/* Docker's default set minus what breaks the model: no raw sockets,
	 * no mknod, no chroot, no setpcap/setfcap. */
	switch (cap) {
	case CAP_CHOWN:
	case CAP_DAC_OVERRIDE:
	case CAP_FOWNER:
	case CAP_FSETID:
	case CAP_KILL:
	case CAP_SETGID:
	case CAP_SETUID:
	case CAP_NET_BIND_SERVICE:
	case CAP_AUDIT_WRITE:
		return true;
	default:
		return false;
	}
}

#define CHILD    __attribute__((no_sanitize("address", "undefined"), noreturn))
#define CHILD_FN __attribute__((no_sanitize("address", "undefined")))

CHILD static void child_fail(int fd, enum step s, int err)
{
	struct msg m = { .step = s, .val = err };
	(void)!write(fd, &m, sizeof m);
	_exit(125);
}

/* Empties the bounding, inheritable and ambient sets of everything not
 * kept, so execve (as root) grants no more. Without CAP_SETPCAP the
 * bounding set cannot shrink; that is only acceptable when the process
 * holds no capability at all (then NO_NEW_PRIVS stops file caps and
 * setuid binaries from granting any). */
CHILD_FN static int child_drop_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	bool refused = false;

	for (int cap = 0; cap < 64; cap++) {
		if (sup_cap_kept(cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; /* past the kernel's last capability */
			refused = true;
		}
	}
	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	if (refused && (d[0].effective | d[1].effective | d[0].permitted | d[1].permitted))
		return -EPERM;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	d[0].inheritable = d[1].inheritable = 0;
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	return 0;
}

/* Between fork and execve: no allocation, no locks, raw syscalls only.
 * The fd table is shared with the supervisor, so close nothing here. */
CHILD static void child_main(const struct sup_launch *l, pid_t parent, int sock, bool wait_go)
{
	int fd;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		child_fail(sock, ST_PDEATHSIG, errno);
	if (getppid() != parent)
		_exit(125); /* the supervisor died before PDEATHSIG was armed */
	if (l->into_cgroup) {
		/* Without clone3 the parent moves us, then says go. The new
		 * namespace's root is the cgroup we are in (needs
		 * CAP_SYS_ADMIN, so before the capabilities go). */
		char go;
		if (wait_go && read(sock, &go, 1) != 1)
			_exit(125);
		if (unshare(CLONE_NEWCGROUP) < 0)
			child_fail(sock, ST_CGROUP, errno);
	}
	/* A session of its own: kill(0)/job control stay inside the workload. */
	if (setsid() < 0)
		child_fail(sock, ST_SETSID, errno);
	if ((fd = child_drop_caps()) < 0)
		child_fail(sock, ST_CAPS, -fd);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(sock, ST_NNP, errno);
	struct sock_fprog prog = *l->prog;
	const unsigned long nl = SECCOMP_FILTER_FLAG_NEW_LISTENER;
	bool killable = true;
	fd = sys_seccomp(SECCOMP_SET_MODE_FILTER, nl | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
			 &prog);
	if (fd < 0 && errno == EINVAL) {
		/* Before 5.19: a signal may interrupt a notified syscall after
		 * we received it; we then answer a gone notification (ENOENT). */
		killable = false;
		fd = sys_seccomp(SECCOMP_SET_MODE_FILTER, nl, &prog);
	}
	if (fd < 0)
		child_fail(sock, ST_SECCOMP, errno);
	struct msg m = { .step = ST_OK, .val = fd, .killable = killable };
	if (write(sock, &m, sizeof m) != sizeof m)
		_exit(125);
	/* No need to wait for the supervisor: it seizes us right after
	 * clone, and this execve stops at the filter until it answers. */
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &l->child_mask, NULL, sizeof(uint64_t));
	execve(l->path, l->argv, l->envp);
	int e = errno;
	const char *d = strerrordesc_np(e);
	(void)!write(2, "fnguard: cannot execute ", 24);
	(void)!write(2, l->path, strlen(l->path));
	(void)!write(2, ": ", 2);
	(void)!write(2, d ? d : "error", strlen(d ? d : "error"));
	(void)!write(2, "\n", 1);
	_exit(e == ENOENT ? 127 : 126);
}

/* The child, sharing our fd table (CLONE_FILES). Into a cgroup with
 * clone3 where it exists: no migration afterwards, which costs an RCU
 * grace period (~10 ms) in the kernel. *wait_go: the older way, the
 * parent must move the child and release it. */
static pid_t spawn(const struct sup_launch *l, bool *wait_go)
{
	*wait_go = false;
	if (l->into_cgroup) {
		struct clone_args ca = {
			.flags = CLONE_FILES | CLONE_INTO_CGROUP,
			.exit_signal = SIGCHLD,
			.cgroup = (uint64_t)l->cgroup_dir,
		};
		pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
		if (pid >= 0 || (errno != ENOSYS && errno != E2BIG && errno != EINVAL))
			return pid;
		*wait_go = true; /* before Linux 5.7 */
	}
	return (pid_t)syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, 0, 0, 0);
}

static void reap(pid_t pid)
{
	int st;
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
		;
}

int sup_launch(const struct sup_launch *l, struct sup_caps *caps, pid_t *child, int *notify_fd,
	       char *err, size_t errlen)
{
	int sv[2];
	struct msg m;
	pid_t parent = getpid();

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -errno;
	}
	/* Raw clone: CLONE_FILES shares the fd table until the child's
	 * execve unshares it; without CLONE_VM this is fork otherwise. */
	bool wait_go;
	pid_t pid = spawn(l, &wait_go);
	if (pid == 0)
		child_main(l, parent, sv[1], wait_go);
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		snprintf(err, errlen, "clone: %s", strerror(e));
		return -e;
	}
	const long opts = PTRACE_O_EXITKILL | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEFORK |
			  PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE;
	if (ptrace(PTRACE_SEIZE, pid, 0, opts) < 0) {
		int e = errno;
		reap(pid);
		close(sv[0]);
		close(sv[1]);
		snprintf(err, errlen, "ptrace(PTRACE_SEIZE) of the workload: %s", strerror(e));
		caps->ptrace = false;
		return -e;
	}
	if (wait_go) {
		char pid_text[16];
		int len = snprintf(pid_text, sizeof pid_text, "%d", (int)pid);
		if (write(l->cgroup_procs, pid_text, (size_t)len) != len ||
		    write(sv[0], "g", 1) != 1) {
			int e = errno;
			reap(pid);
			close(sv[0]);
			close(sv[1]);
			snprintf(err, errlen, "moving the workload into its cgroup: %s",
				 strerror(e));
			return -e;
		}
	}
	ssize_t n;
	do
		n = read(sv[0], &m, sizeof m);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof m || m.step != ST_OK) {
		int e = n == (ssize_t)sizeof m ? m.val : EPIPE;
		const char *what =
			n == (ssize_t)sizeof m && m.step > 0 && m.step < (int)ARRAY_SIZE(step_names)
				? step_names[m.step]
				: "start";
		reap(pid);
		close(sv[0]);
		close(sv[1]);
		snprintf(err, errlen, "workload setup failed at %s: %s", what, strerror(e));
		return -e;
	}
	/* From here on a same-uid workload must not open our /proc files
	 * (mem, fd/, environ). After the seize: a non-dumpable parent at
	 * clone time would have made the child unseizable without
	 * CAP_SYS_PTRACE. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		int e = errno;
		reap(pid);
		close(sv[0]);
		close(sv[1]);
		snprintf(err, errlen, "prctl(PR_SET_DUMPABLE, 0): %s", strerror(e));
		return -e;
	}
	caps->wait_killable_recv = m.killable;
	uint64_t f = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
	/* A speed hint: the wake-up of an answered task stays on this CPU. */
	caps->sync_wake_up = ioctl(m.val, SECCOMP_IOCTL_NOTIF_SET_FLAGS, f) == 0;
	_cleanup_fd_ int pidfd = sys_pidfd_open(pid, 0);
	int copy = pidfd >= 0 ? sys_pidfd_getfd(pidfd, m.val) : -1;
	caps->pidfd_getfd = copy >= 0;
	if (copy >= 0)
		close(copy);
	/* The child wrote its last word: both ends can go, even though
	 * its execve has not unshared the fd table yet. */
	close(sv[0]);
	close(sv[1]);
	*child = pid;
	*notify_fd = m.val;
	return 0;
}
