#include "sys.h"

#include "cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* One pread that made progress: bytes read, -EIO at end of data (an
 * unmapped address), or -errno. */
static ssize_t pread_some(int fd, void *buf, size_t len, uint64_t off)
{
	for (;;) {
		ssize_t n = pread(fd, buf, len, (off_t)off);
		if (n > 0)
			return n;
		if (n == 0)
			return -EIO;
		if (errno != EINTR)
			return -errno;
	}
}

ssize_t sys_read_cstr(int memfd, uint64_t addr, char *buf, size_t max)
{
	size_t got = 0;

	if (max == 0)
		return -ENAMETOOLONG;
	/* Read page by page: a string may end just before an unmapped page,
	 * and a read that crosses into it would fail as a whole. */
	while (got < max - 1) {
		uint64_t a = addr + got;
		size_t chunk = 4096 - (size_t)(a & 4095);
		if (chunk > max - 1 - got)
			chunk = max - 1 - got;
		ssize_t n = pread_some(memfd, buf + got, chunk, a);
		if (n < 0)
			return n;
		char *nul = memchr(buf + got, 0, (size_t)n);
		if (nul)
			return nul - buf;
		got += (size_t)n;
	}
	buf[max - 1] = 0;
	return -ENAMETOOLONG;
}

int sys_read_mem(int memfd, uint64_t addr, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread_some(memfd, (char *)buf + got, len - got, addr + got);
		if (n < 0)
			return (int)n;
		got += (size_t)n;
	}
	return 0;
}

ssize_t sys_readlink(const char *path, char *buf, size_t size)
{
	ssize_t n = readlink(path, buf, size - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= size - 1)
		return -ENAMETOOLONG;
	buf[n] = 0;
	return n;
}

int sys_open_mem(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

bool sys_notif_valid(int notify_fd, uint64_t id)
{
	return ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* Docker's default seccomp profile refuses process_vm_readv/writev (with
 * pidfd_getfd, kcmp, process_madvise) to a container without
 * CAP_SYS_PTRACE, while /proc/PID/mem stays open to the tracer: once a
 * process_vm call is refused and /proc/PID/mem works, every later access
 * goes through /proc/PID/mem. */
static bool vm_refused;

static int peek_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	_cleanup_fd_ int fd = sys_open_mem(pid);
	if (fd < 0)
		return fd;
	return sys_read_mem(fd, addr, buf, len) == 0 ? 0 : -EFAULT;
}

int sys_peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	if (vm_refused)
		return peek_mem(pid, addr, buf, len);
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n >= 0)
		return (size_t)n == len ? 0 : -EFAULT;
	int err = -errno;
	if (err != -EPERM && err != -ENOSYS)
		return err;
	int rc = peek_mem(pid, addr, buf, len);
	if (rc == 0)
		vm_refused = true;
	return rc == 0 ? 0 : err;
}

ssize_t sys_peek_cstr(pid_t pid, uint64_t addr, char *buf, size_t max)
{
	struct iovec local = { buf, max ? max - 1 : 0 }, remote[8];
	unsigned long n = 0;

	if (max == 0)
		return -ENAMETOOLONG;
	/* Most paths are short: a first read of a few hundred bytes within
	 * the page saves copying (and scanning) the rest of it. */
	size_t first = 4096 - (size_t)(addr & 4095);
	if (first > 256)
		first = 256;
	if (!vm_refused && first < local.iov_len) {
		struct iovec l1 = { buf, first }, r1 = { (void *)(uintptr_t)addr, first };
		ssize_t got = process_vm_readv(pid, &l1, 1, &r1, 1, 0);
		char *nul = got > 0 ? memchr(buf, 0, (size_t)got) : NULL;
		if (nul)
			return nul - buf;
	}
	/* One remote element per page: a transfer stops short at the first
	 * element that faults, so a string ending before an unmapped page
	 * still arrives whole. */
	for (size_t off = 0; off < local.iov_len && n < 8; n++) {
		uint64_t a = addr + off;
		size_t chunk = 4096 - (size_t)(a & 4095);
		if (chunk > local.iov_len - off)
			chunk = local.iov_len - off;
		remote[n] = (struct iovec){ (void *)(uintptr_t)a, chunk };
		off += chunk;
	}
	ssize_t got = vm_refused ? -1 : process_vm_readv(pid, &local, 1, remote, n, 0);
	if (got < 0) {
		if (!vm_refused && errno != EPERM && errno != ENOSYS)
			return -errno;
		_cleanup_fd_ int fd = sys_open_mem(pid);
		ssize_t len = fd < 0 ? fd : sys_read_cstr(fd, addr, buf, max);
		if (len >= 0)
			vm_refused = true;
		return len;
	}
	char *nul = memchr(buf, 0, (size_t)got);
	if (nul)
		return nul - buf;
	buf[max - 1] = 0;
	return (size_t)got == local.iov_len ? -ENAMETOOLONG : -EFAULT;
}

int sys_pokev(pid_t pid, const struct iovec *local, const struct iovec *remote, int n)
{
	size_t want = 0;
	for (int i = 0; i < n; i++)
		want += local[i].iov_len;
	if (!vm_refused) {
		ssize_t got = process_vm_writev(pid, local, (unsigned long)n, remote,
						(unsigned long)n, 0);
		if (got >= 0)
			return (size_t)got == want ? 0 : -EFAULT;
		if (errno != EPERM && errno != ENOSYS)
			return -errno;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
	_cleanup_fd_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (int i = 0; i < n; i++)
		if (local[i].iov_len &&
		    pwrite(fd, local[i].iov_base, local[i].iov_len,
			   (off_t)(uintptr_t)remote[i].iov_base) != (ssize_t)local[i].iov_len)
			return -EFAULT;
	vm_refused = true;
	return 0;
}

int sys_poke(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	struct iovec local = { (void *)(uintptr_t)buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	return sys_pokev(pid, &local, &remote, 1);
}

ssize_t sys_other_threads(pid_t *out, size_t max)
{
	DIR *d = opendir("/proc/self/task");
	pid_t self = gettid();
	size_t n = 0;

	if (!d)
		return -errno;
	for (struct dirent *e; (e = readdir(d));) {
		pid_t id = (pid_t)atoi(e->d_name);
		if (id <= 0 || id == self)
			continue;
		if (n < max)
			out[n] = id;
		n++;
	}
	closedir(d);
	return (ssize_t)n;
}

pid_t sys_tgid_of(pid_t tid)
{
	char path[64], line[128];
	pid_t tgid = -1;

	snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
	_cleanup_file_ FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	return tgid;
}

bool sys_signal_pending(pid_t tid)
{
	char path[64], line[256];
	unsigned long long pnd = 0, shd = 0, blk = 0, cgt = 0;

	snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
	_cleanup_file_ FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof line, f)) {
		if (sscanf(line, "SigPnd: %llx", &pnd) == 1 ||
		    sscanf(line, "ShdPnd: %llx", &shd) == 1 ||
		    sscanf(line, "SigBlk: %llx", &blk) == 1)
			continue;
		if (sscanf(line, "SigCgt: %llx", &cgt) == 1)
			break;
	}
	/* Only caught signals: a fatal one ends the killable wait itself,
	 * and an ignored one (queued anyway, since we trace the task) would
	 * not interrupt the kernel's own call. */
	return ((pnd | shd) & cgt & ~blk) != 0;
}
