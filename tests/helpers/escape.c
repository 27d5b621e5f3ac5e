/* escape CHECK...: try one way out of the supervisor per CHECK and print
 * "CHECK ret=R errno=E" (E is 0 when the call succeeded). The supervisor is
 * taken to be the parent process. Exits 0 after all checks, so the caller
 * judges the lines; a check that escaped undoes what it did where it can.
 *
 * Checks: io_uring ptrace_attach ptrace_seize ptrace_child kill_sup
 * tgkill_sup pidfd_open_sup kill_all vm_readv vm_writev proc_mem
 * unshare_user unshare_ns unshare_net mount setns clone_untraced clone3 bpf
 * userfaultfd perf_event_open open_by_handle_at kill_sup_stop tkill_sup
 * sigqueue_sup tgsigqueue_sup pidfd_proc_sup proc_fd; and the reports
 * sid (prints "sid self=S sup=T") and caps (prints "caps eff=X bnd=Y"). */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t sup;

static long report(const char *name, long ret)
{
	printf("%s ret=%ld errno=%d\n", name, ret, ret < 0 ? errno : 0);
	fflush(stdout);
	return ret;
}

static void check_io_uring(void)
{
	unsigned char params[120]; /* struct io_uring_params */
	memset(params, 0, sizeof params);
	long r = report("io_uring", syscall(425 /* io_uring_setup */, 4, params));
	if (r >= 0)
		close((int)r);
}

static void check_ptrace(const char *name, int req)
{
	long r = report(name, ptrace(req, sup, 0, 0));
	if (r == 0)
		ptrace(PTRACE_DETACH, sup, 0, 0);
}

static void check_ptrace_child(void)
{
	pid_t c = fork();
	if (c == 0) {
		pause();
		_exit(0);
	}
	long r = report("ptrace_child", ptrace(PTRACE_SEIZE, c, 0, 0));
	if (r == 0)
		ptrace(PTRACE_DETACH, c, 0, 0);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
}

static void check_vm(const char *name, int write)
{
	static char local[16];
	struct iovec l = { local, sizeof local };
	struct iovec r = { (void *)0x10000, sizeof local };
	/* A write into the supervisor only lands if the refusal is missing;
	 * the remote address is chosen to be unmapped so even then it faults. */
	long ret = write ? process_vm_writev(sup, &l, 1, &r, 1, 0)
			 : process_vm_readv(sup, &l, 1, &r, 1, 0);
	report(name, ret);
}

static void check_proc_mem(void)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/mem", (int)sup);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	report("proc_mem", fd);
	if (fd >= 0)
		close(fd);
}

static void check_mount(void)
{
	char dir[] = "/tmp/fng-escape-XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return;
	}
	long r = report("mount", mount("none", dir, "tmpfs", 0, NULL));
	if (r == 0)
		umount2(dir, MNT_DETACH);
	rmdir(dir);
}

static void check_setns(void)
{
	int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror("open ns");
		return;
	}
	report("setns", setns(fd, 0));
	close(fd);
}

static void check_clone_untraced(void)
{
	long r = syscall(SYS_clone, (long)(CLONE_UNTRACED | SIGCHLD), 0L, 0L, 0L, 0L);
	if (r == 0)
		_exit(0);
	report("clone_untraced", r);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
}

static void check_clone3(void)
{
	uint64_t args[11]; /* struct clone_args, CLONE_ARGS_SIZE_VER2 */
	memset(args, 0, sizeof args);
	args[4] = SIGCHLD; /* exit_signal */
	long r = syscall(435 /* clone3 */, args, sizeof args);
	if (r == 0)
		_exit(0);
	report("clone3", r);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
}

static void check_bpf(void)
{
	unsigned char attr[128];
	memset(attr, 0, sizeof attr);
	uint32_t *a = (uint32_t *)attr;
	a[0] = 2; /* BPF_MAP_TYPE_ARRAY */
	a[1] = 4; /* key_size */
	a[2] = 4; /* value_size */
	a[3] = 1; /* max_entries */
	long r = report("bpf", syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, attr, sizeof attr));
	if (r >= 0)
		close((int)r);
}

static void check_perf(void)
{
	struct perf_event_attr pa;
	memset(&pa, 0, sizeof pa);
	pa.type = PERF_TYPE_SOFTWARE;
	pa.size = sizeof pa;
	pa.config = PERF_COUNT_SW_TASK_CLOCK;
	pa.disabled = 1;
	long r = report("perf_event_open", syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0));
	if (r >= 0)
		close((int)r);
}

static void check_open_by_handle(void)
{
	struct {
		unsigned int bytes;
		int type;
		unsigned char h[64];
	} fh;
	memset(&fh, 0, sizeof fh);
	fh.bytes = 8;
	fh.type = 1;
	long r = report("open_by_handle_at",
			syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY));
	if (r >= 0)
		close((int)r);
}

static void check_kill_stop(void)
{
	long r = report("kill_sup_stop", kill(sup, SIGSTOP));
	if (r == 0)
		kill(sup, SIGCONT);
}

static void check_sigqueue(const char *name, int tg)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = SIGKILL;
	si.si_code = SI_QUEUE; /* what sigqueue(3) sends */
	si.si_pid = getpid();
	si.si_uid = getuid();
	long r = tg ? syscall(SYS_rt_tgsigqueueinfo, sup, sup, SIGKILL, &si)
		    : syscall(SYS_rt_sigqueueinfo, sup, SIGKILL, &si);
	report(name, r);
}

/* A /proc/PID directory fd is accepted by pidfd_send_signal() as a pidfd
 * (Linux >= 5.1), without pidfd_open(). */
static void check_pidfd_proc(void)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/%d", (int)sup);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		report("pidfd_proc_sup", -1);
		return;
	}
	report("pidfd_proc_sup", syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0));
	close(fd);
}

/* The supervisor's open files (notify fd, log, pidfds) through /proc:
 * ret is how many of them could be opened. */
static void check_proc_fd(void)
{
	char p[64];
	int opened = 0, first_err = 0;
	for (int n = 0; n < 1024; n++) {
		snprintf(p, sizeof p, "/proc/%d/fd/%d", (int)sup, n);
		int fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0) {
			opened++;
			close(fd);
		} else if (!first_err && errno != ENOENT) {
			first_err = errno;
		}
	}
	/* Listing the directory is allowed (it only shows fd numbers). */
	if (opened)
		printf("proc_fd ret=%d errno=0\n", opened);
	else
		printf("proc_fd ret=-1 errno=%d\n", first_err);
}

static void check_caps(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256], eff[64] = "?", bnd[64] = "?";
	if (!f) {
		perror("status");
		return;
	}
	while (fgets(line, sizeof line, f)) {
		sscanf(line, "CapEff: %63s", eff);
		sscanf(line, "CapBnd: %63s", bnd);
	}
	fclose(f);
	printf("caps eff=%s bnd=%s\n", eff, bnd);
}

static int run(const char *c)
{
	if (!strcmp(c, "io_uring"))
		check_io_uring();
	else if (!strcmp(c, "ptrace_attach"))
		check_ptrace(c, PTRACE_ATTACH);
	else if (!strcmp(c, "ptrace_seize"))
		check_ptrace(c, PTRACE_SEIZE);
	else if (!strcmp(c, "ptrace_child"))
		check_ptrace_child();
	else if (!strcmp(c, "kill_sup"))
		report(c, kill(sup, SIGKILL));
	else if (!strcmp(c, "tgkill_sup"))
		report(c, syscall(SYS_tgkill, sup, sup, SIGKILL));
	else if (!strcmp(c, "pidfd_open_sup"))
		report(c, syscall(SYS_pidfd_open, sup, 0));
	else if (!strcmp(c, "kill_all"))
		/* SIGURG: ignored by default, harmless should it get through. */
		report(c, kill(-1, SIGURG));
	else if (!strcmp(c, "vm_readv"))
		check_vm(c, 0);
	else if (!strcmp(c, "vm_writev"))
		check_vm(c, 1);
	else if (!strcmp(c, "proc_mem"))
		check_proc_mem();
	else if (!strcmp(c, "unshare_user"))
		report(c, unshare(CLONE_NEWUSER));
	else if (!strcmp(c, "unshare_ns"))
		report(c, unshare(CLONE_NEWNS));
	else if (!strcmp(c, "unshare_net"))
		report(c, unshare(CLONE_NEWNET));
	else if (!strcmp(c, "mount"))
		check_mount();
	else if (!strcmp(c, "setns"))
		check_setns();
	else if (!strcmp(c, "clone_untraced"))
		check_clone_untraced();
	else if (!strcmp(c, "clone3"))
		check_clone3();
	else if (!strcmp(c, "bpf"))
		check_bpf();
	else if (!strcmp(c, "userfaultfd"))
		report(c, syscall(SYS_userfaultfd, O_CLOEXEC));
	else if (!strcmp(c, "perf_event_open"))
		check_perf();
	else if (!strcmp(c, "open_by_handle_at"))
		check_open_by_handle();
	else if (!strcmp(c, "kill_sup_stop"))
		check_kill_stop();
	else if (!strcmp(c, "tkill_sup"))
		report(c, syscall(SYS_tkill, sup, SIGKILL));
	else if (!strcmp(c, "sigqueue_sup"))
		check_sigqueue(c, 0);
	else if (!strcmp(c, "tgsigqueue_sup"))
		check_sigqueue(c, 1);
	else if (!strcmp(c, "pidfd_proc_sup"))
		check_pidfd_proc();
	else if (!strcmp(c, "proc_fd"))
		check_proc_fd();
	else if (!strcmp(c, "sid"))
		printf("sid self=%d sup=%d\n", (int)getsid(0), (int)getsid(sup));
	else if (!strcmp(c, "caps"))
		check_caps();
	else {
		fprintf(stderr, "escape: unknown check %s\n", c);
		return -1;
	}
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	sup = getppid();
	printf("sup pid=%d\n", (int)sup);
	for (int i = 1; i < argc; i++)
		if (run(argv[i]) < 0)
			return 2;
	/* The supervisor must still be there after everything above. */
	usleep(100 * 1000);
	printf("sup alive=%d\n", kill(sup, 0) == 0 || errno == EPERM);
	return 0;
}
