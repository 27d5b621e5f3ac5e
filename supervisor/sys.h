/* Thin wrappers over system calls that glibc 2.36 does not wrap, and the
 * uapi constants Debian 12's headers (Linux 6.1) do not have yet. */
#ifndef FNG_SYS_H
#define FNG_SYS_H

#include <linux/seccomp.h>
#include <stdbool.h>
#include <sys/uio.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5) /* 5.19 */
#endif
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64) /* 6.6 */
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* 6.9 */
#endif

static inline int sys_seccomp(unsigned op, unsigned flags, void *arg)
{
	return (int)syscall(SYS_seccomp, op, flags, arg);
}

static inline int sys_pidfd_open(pid_t pid, unsigned flags)
{
	return (int)syscall(SYS_pidfd_open, pid, flags);
}

static inline int sys_pidfd_getfd(int pidfd, int fd)
{
	return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
}

/* Reads a NUL-terminated string at addr in pid's memory through an open
 * /proc/PID/mem fd. Returns its length, -ENAMETOOLONG past max-1 bytes,
 * or -errno. The result is a private copy: decide on it, never re-read. */
ssize_t sys_read_cstr(int memfd, uint64_t addr, char *buf, size_t max);

/* sys_read_cstr() with process_vm_readv (one system call instead of an
 * open, a read and a close), through /proc/PID/mem where it is refused. */
ssize_t sys_peek_cstr(pid_t pid, uint64_t addr, char *buf, size_t max);

/* Reads `len` bytes at addr (whole or -EIO). */
int sys_read_mem(int memfd, uint64_t addr, void *buf, size_t len);

/* Reads len bytes at addr in pid's memory with one process_vm_readv:
 * cheaper than /proc/PID/mem for small structures. Where process_vm_* is
 * refused (docker without CAP_SYS_PTRACE) through /proc/PID/mem. 0 or
 * -errno. */
int sys_peek(pid_t pid, uint64_t addr, void *buf, size_t len);

/* Writes n buffers to pid's memory with one process_vm_writev (writable
 * memory only); where process_vm_* is refused, one /proc/PID/mem write per
 * buffer. 0 or -errno. */
int sys_pokev(pid_t pid, const struct iovec *local, const struct iovec *remote, int n);

/* readlink into buf, NUL-terminated; returns length or -errno. */
ssize_t sys_readlink(const char *path, char *buf, size_t size);

/* Opens /proc/PID/mem read-only, close-on-exec; -errno on failure. */
int sys_open_mem(pid_t pid);

/* SECCOMP_IOCTL_NOTIF_ID_VALID: true while the notifying task still
 * waits on this notification (pid reuse and racing exits). */
bool sys_notif_valid(int notify_fd, uint64_t id);

/* sys_pokev for one buffer: len bytes at addr (whole or -EFAULT). */
int sys_poke(pid_t pid, uint64_t addr, const void *buf, size_t len);

/* True when tid has a signal pending (for itself or its process) that it
 * catches and does not block: a blocking call in the kernel would return
 * to run its handler, which a task waiting in a notification with
 * WAIT_KILLABLE_RECV cannot until we answer. */
bool sys_signal_pending(pid_t tid);

/* The thread group of a task, from /proc; -1 when it is gone. */
pid_t sys_tgid_of(pid_t tid);

/* The ids of this process's threads other than the calling one, from
 * /proc/self/task: a thread is listed from its clone on, whether it has
 * run yet or not. At most max into out; returns how many there are (more
 * than max: not all were written), or -errno. */
ssize_t sys_other_threads(pid_t *out, size_t max);

#endif
