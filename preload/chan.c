/* The interposer's channel to the supervisor, and what it keeps from the
 * environment it was started with.
 *
 * One private channel per process, registered over the inherited socket
 * on first use (see proto.h); a fork child gets its own (atfork), and a
 * vfork child, which shares our memory but not our fd table, asks over a
 * one-shot channel that it never stores. Threads take turns on the
 * channel: the supervisor answers one question at a time anyway. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fngp.h"

/* Lambda runs glibc 2.26 (AL2): bind the symbols whose default version
 * moved since to their old one. */
#if defined(__x86_64__)
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
__asm__(".symver dladdr,dladdr@GLIBC_2.2.5");
#elif defined(__aarch64__)
__asm__(".symver dlsym,dlsym@GLIBC_2.17");
__asm__(".symver dladdr,dladdr@GLIBC_2.17");
#endif

extern int __register_atfork(void (*)(void), void (*)(void), void (*)(void), void *);
extern void *__dso_handle;

#define MAX_VAL 4096

static int reg_fd = -1; /* the inherited socket; -1: none (fail closed) */
static char lib[MAX_VAL], code_exts[512], dns[64];
static bool have_code, have_dns;

/* This process's channel; shared with a vfork child, whose own is never
 * stored here (chan_pid tells them apart). */
static int chan_fd = -1;
static pid_t chan_pid;
static int lock_tid; /* 0: free */

void *fngp_next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

static pid_t my_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void sys_close(int fd)
{
	syscall(SYS_close, fd);
}

static void after_fork_child(void)
{
	/* The parent's channel copy is ours to drop; the lock may be held by
	 * a thread that does not exist here. Only the parent's own: a channel
	 * stored by a vfork child of the parent (which shares its memory, not
	 * its fd table) is a number that means something else here, such as
	 * the pipe a shell is about to wire (`true; echo a | cat` lost the
	 * pipe's read end). */
	if (chan_fd >= 0 && chan_pid == getppid())
		sys_close(chan_fd);
	chan_fd = -1;
	chan_pid = 0;
	__atomic_store_n(&lock_tid, 0, __ATOMIC_RELEASE);
	fngp_net_after_fork();
}

static void save(const char *env, char *dst, size_t size, bool *have)
{
	const char *v = getenv(env);
	if (have)
		*have = v != NULL;
	snprintf(dst, size, "%s", v ? v : "");
}

__attribute__((constructor)) static void fngp_init(void)
{
	char fdv[16];

	save(FNGP_ENV_FD, fdv, sizeof fdv, NULL);
	save(FNGP_ENV_LIB, lib, sizeof lib, NULL);
	save(FNGP_ENV_CODE, code_exts, sizeof code_exts, &have_code);
	save(FNGP_ENV_DNS, dns, sizeof dns, &have_dns);
	Dl_info self;
	if (!lib[0] && dladdr((void *)fngp_init, &self) && self.dli_fname &&
	    self.dli_fname[0] == '/')
		/* Started with LD_PRELOAD but without our variable: our own
		 * file, so that children still get the interposer. */
		snprintf(lib, sizeof lib, "%s", self.dli_fname);
	char *end = NULL;
	long fd = strtol(fdv, &end, 10);
	int type = 0;
	socklen_t len = sizeof type;
	/* Only a SEQPACKET socket is ours; anything else there means the
	 * chain was broken (a closed or reused fd): every question then
	 * fails, closed. */
	if (end && end != fdv && !*end && fd >= 0 && fd < 65536 &&
	    getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_SEQPACKET)
		reg_fd = (int)fd;
	__register_atfork(NULL, NULL, after_fork_child, &__dso_handle);
}

const char *fngp_lib(void)
{
	return lib;
}

const char *fngp_code_exts(void)
{
	return have_code ? code_exts : NULL;
}

const char *fngp_dns(void)
{
	return have_dns && dns[0] ? dns : NULL;
}

int fngp_reg_fd(void)
{
	return reg_fd;
}

bool fngp_protected(int fd)
{
	return fd >= 0 && (fd == reg_fd || (fd == chan_fd && chan_pid == getpid()));
}

int fngp_chan_fd(void)
{
	return chan_pid == getpid() ? chan_fd : -1;
}

void fngp_move_reg(int fd)
{
	if (fd < 0)
		return;
	if (fd == reg_fd) {
		/* Not close-on-exec: children inherit it. */
		int n = (int)syscall(SYS_fcntl, reg_fd, F_DUPFD, 100);
		reg_fd = n >= 0 ? n : -1;
	} else if (fd == fngp_chan_fd()) {
		int n = (int)syscall(SYS_fcntl, chan_fd, F_DUPFD_CLOEXEC, 100);
		chan_fd = n;
		chan_pid = n >= 0 ? chan_pid : 0;
	}
}

/* A new private channel: one end sent to the supervisor. -errno or fd. */
static int open_channel(void)
{
	int sv[2];
	struct fngp_req hello;
	char cbuf[CMSG_SPACE(sizeof(int))];

	if (reg_fd < 0)
		return -EPIPE;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	memset(&hello, 0, FNGP_REQ_HEAD);
	hello.op = FNGP_HELLO;
	struct iovec iov = { .iov_base = &hello, .iov_len = FNGP_REQ_HEAD };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf
	};
	memset(cbuf, 0, sizeof cbuf);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sv[1], sizeof(int));
	long rc;
	do
		rc = syscall(SYS_sendmsg, reg_fd, &m, MSG_NOSIGNAL);
	while (rc < 0 && errno == EINTR);
	int e = errno;
	sys_close(sv[1]);
	if (rc < 0) {
		sys_close(sv[0]);
		return -e;
	}
	return sv[0];
}

static int roundtrip(int fd, struct fngp_req *req, struct fngp_resp *resp, int *rfd, bool cloexec)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	long rc;

	do
		rc = syscall(SYS_sendto, fd, req, FNGP_REQ_HEAD + req->len, MSG_NOSIGNAL, NULL, 0);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -EPIPE;
	struct iovec iov = { .iov_base = resp, .iov_len = sizeof *resp };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf
	};
	do
		rc = syscall(SYS_recvmsg, fd, &m, cloexec ? MSG_CMSG_CLOEXEC : 0);
	while (rc < 0 && errno == EINTR);
	if (rc < (long)offsetof(struct fngp_resp, addr))
		return -EPIPE; /* 0: the supervisor is gone */
	*rfd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(rfd, CMSG_DATA(c), sizeof(int));
	if ((resp->flags & FNGP_R_FD) && *rfd < 0)
		return -EPIPE;
	return 0;
}

static int one_shot(struct fngp_req *req, struct fngp_resp *resp, int *fd, bool cloexec)
{
	int ch = open_channel();
	if (ch < 0)
		return ch;
	int rc = roundtrip(ch, req, resp, fd, cloexec);
	sys_close(ch);
	return rc;
}

int fngp_ask(struct fngp_req *req, struct fngp_resp *resp, int *fd, bool cloexec)
{
	pid_t pid = getpid(), tid = my_tid();
	int rc;

	*fd = -1;
	/* A vfork child, or a signal handler interrupting our own question:
	 * the stored channel is not ours to use now. */
	pid_t owner = __atomic_load_n(&chan_pid, __ATOMIC_ACQUIRE);
	if ((owner && owner != pid && getppid() == owner) ||
	    __atomic_load_n(&lock_tid, __ATOMIC_ACQUIRE) == tid)
		return one_shot(req, resp, fd, cloexec);
	int free_ = 0;
	while (!__atomic_compare_exchange_n(&lock_tid, &free_, tid, false, __ATOMIC_ACQUIRE,
					    __ATOMIC_RELAXED)) {
		free_ = 0;
		sched_yield();
	}
	if (chan_pid != pid || chan_fd < 0) {
		/* A stored channel of another pid was a vfork child's (its fd
		 * number means nothing in our table): forget, never close it. */
		chan_fd = open_channel();
		chan_pid = chan_fd >= 0 ? pid : 0;
	}
	if (chan_fd < 0) {
		rc = chan_fd;
		chan_fd = -1;
	} else {
		rc = roundtrip(chan_fd, req, resp, fd, cloexec);
		if (rc < 0) {
			/* Broken: ask once more on a fresh one (the workload may
			 * have shut it down); a gone supervisor fails that too. */
			sys_close(chan_fd);
			chan_fd = open_channel();
			chan_pid = chan_fd >= 0 ? pid : 0;
			rc = chan_fd < 0 ? chan_fd : roundtrip(chan_fd, req, resp, fd, cloexec);
		}
	}
	__atomic_store_n(&lock_tid, 0, __ATOMIC_RELEASE);
	return rc;
}

void fngp_req_init(struct fngp_req *req, unsigned op)
{
	memset(req, 0, FNGP_REQ_HEAD);
	req->op = op;
}

int fngp_req_str(struct fngp_req *req, unsigned op, const char *s)
{
	fngp_req_init(req, op);
	int n = snprintf(req->data, sizeof req->data, "%s", s);
	if (n < 0 || (size_t)n >= sizeof req->data)
		return -ENAMETOOLONG;
	req->len = (uint32_t)n + 1;
	return 0;
}

/* ---- the environment of children ---- */

static bool is_var(const char *e, const char *name)
{
	size_t n = strlen(name);
	return strncmp(e, name, n) == 0 && e[n] == '=';
}

static const char *const ours[] = { FNGP_ENV_FD, FNGP_ENV_LIB, FNGP_ENV_CODE, FNGP_ENV_DNS };

/* Appends "NAME=value" at *p within end; returns the string or NULL. */
static char *put(char **p, const char *end, const char *name, const char *a, const char *b)
{
	int n = snprintf(*p, (size_t)(end - *p), "%s=%s%s%s", name, a, b && *b ? ":" : "",
			 b ? b : "");
	if (n < 0 || *p + n + 1 > end)
		return NULL;
	char *s = *p;
	*p += n + 1;
	return s;
}

/* The workload's own LD_PRELOAD entries, with ours taken out. */
static void others(const char *val, char *out, size_t size)
{
	size_t used = 0;
	out[0] = 0;
	while (val && *val) {
		size_t n = strcspn(val, ": ");
		if (n && !(n == strlen(lib) && strncmp(val, lib, n) == 0) && used + n + 2 < size) {
			if (used)
				out[used++] = ':';
			memcpy(out + used, val, n);
			used += n;
			out[used] = 0;
		}
		val += n + (val[n] != 0);
	}
}

char **fngp_env(char *const *envp, size_t *size)
{
	size_t n = 0, strs = 0;
	const char *preload = NULL;

	for (; envp && envp[n]; n++)
		if (is_var(envp[n], "LD_PRELOAD"))
			preload = envp[n] + 11;
	strs = 3 * MAX_VAL + sizeof code_exts + sizeof dns + 256;
	*size = (n + 8) * sizeof(char *) + strs;
	char **v = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v == MAP_FAILED)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		bool drop = is_var(envp[i], "LD_PRELOAD");
		for (size_t j = 0; j < sizeof ours / sizeof ours[0]; j++)
			drop = drop || is_var(envp[i], ours[j]);
		if (!drop)
			v[k++] = envp[i];
	}
	char *p = (char *)(v + n + 8), *end = (char *)v + *size;
	char other[MAX_VAL], fdv[16];
	others(preload, other, sizeof other);
	snprintf(fdv, sizeof fdv, "%d", reg_fd);
	if (lib[0])
		v[k++] = put(&p, end, "LD_PRELOAD", lib, other);
	v[k++] = put(&p, end, FNGP_ENV_FD, fdv, NULL);
	v[k++] = put(&p, end, FNGP_ENV_LIB, lib, NULL);
	if (have_code)
		v[k++] = put(&p, end, FNGP_ENV_CODE, code_exts, NULL);
	if (have_dns)
		v[k++] = put(&p, end, FNGP_ENV_DNS, dns, NULL);
	for (size_t i = 0; i < k; i++)
		if (!v[i]) {
			munmap(v, *size);
			return NULL;
		}
	v[k] = NULL;
	return v;
}

void fngp_env_free(char **env, size_t size)
{
	if (env)
		munmap(env, size);
}

void fngp_env_self(void)
{
	char fdv[16], other[MAX_VAL], val[2 * MAX_VAL + 2];

	snprintf(fdv, sizeof fdv, "%d", reg_fd);
	setenv(FNGP_ENV_FD, fdv, 1);
	if (!lib[0])
		return;
	setenv(FNGP_ENV_LIB, lib, 1);
	others(getenv("LD_PRELOAD"), other, sizeof other);
	snprintf(val, sizeof val, "%s%s%s", lib, other[0] ? ":" : "", other);
	setenv("LD_PRELOAD", val, 1);
	if (have_code)
		setenv(FNGP_ENV_CODE, code_exts, 1);
	if (have_dns)
		setenv(FNGP_ENV_DNS, dns, 1);
}
