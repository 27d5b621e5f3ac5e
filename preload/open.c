/* Opens of code files: the supervisor opens the file itself, scans it and
 * hands over that very descriptor, so what was scanned is what is read.
 * Also keeps the workload from closing the interposer's own sockets. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <strings.h>
#include <unistd.h>

#include "fngp.h"

/* True when the last extension of path is in the ':'-separated list, in
 * any case (zipimport reads a `Lib.Zip` as well as a `lib.zip`), or when
 * it has none: a script's #! line is the supervisor's to read. The
 * kernel's own trees are not asked about. */
static bool code_file(const char *path)
{
	const char *exts = fngp_code_exts();
	const char *slash = path ? strrchr(path, '/') : NULL;
	const char *base = slash ? slash + 1 : path;
	const char *dot = base && base[0] ? strrchr(base + 1, '.') : NULL;

	if (!exts || !base || !base[0])
		return false;
	if (!dot)
		return strncmp(path, "/proc/", 6) != 0 && strncmp(path, "/sys/", 5) != 0 &&
		       strncmp(path, "/dev/", 5) != 0;
	size_t n = strlen(dot);
	for (const char *e = exts; *e;) {
		size_t k = strcspn(e, ":");
		if (k == n && strncasecmp(e, dot, n) == 0)
			return true;
		e += k + (e[k] == ':');
	}
	return false;
}

/* 1: *fd is the answer; 0: open normally; -errno: refused. */
static int judge_open(int dirfd, const char *path, int flags, int *fd)
{
	struct fngp_req req;
	struct fngp_resp resp;

	if ((flags & O_PATH) || (flags & O_ACCMODE) != O_RDONLY || !code_file(path))
		return 0;
	if (fngp_req_str(&req, FNGP_OPEN, path) < 0)
		return -ENAMETOOLONG;
	req.arg = flags;
	req.dirfd = dirfd;
	if (fngp_ask(&req, &resp, fd, flags & O_CLOEXEC) < 0)
		return -EACCES;
	if (resp.err < 0)
		return resp.err;
	return (resp.flags & FNGP_R_FD) ? 1 : 0;
}

static int result(int rc, int fd)
{
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return fd;
}

#define MODE_ARG(flags, mode)                                \
	do {                                                 \
		if ((flags) & (O_CREAT | __O_TMPFILE)) {     \
			va_list ap;                          \
			va_start(ap, flags);                 \
			mode = (mode_t)va_arg(ap, unsigned); \
			va_end(ap);                          \
		}                                            \
	} while (0)

#define OPEN_WRAP(name)                                          \
	FNGP_EXPORT int name(const char *path, int flags, ...)   \
	{                                                        \
		FNGP_REAL(real, name);                           \
		mode_t mode = 0;                                 \
		int fd;                                          \
		MODE_ARG(flags, mode);                           \
		int rc = judge_open(AT_FDCWD, path, flags, &fd); \
		if (rc != 0)                                     \
			return result(rc, fd);                   \
		return real(path, flags, mode);                  \
	}

#define OPENAT_WRAP(name)                                                 \
	FNGP_EXPORT int name(int dirfd, const char *path, int flags, ...) \
	{                                                                 \
		FNGP_REAL(real, name);                                    \
		mode_t mode = 0;                                          \
		int fd;                                                   \
		MODE_ARG(flags, mode);                                    \
		int rc = judge_open(dirfd, path, flags, &fd);             \
		if (rc != 0)                                              \
			return result(rc, fd);                            \
		return real(dirfd, path, flags, mode);                    \
	}

/* The fortified entries (_FORTIFY_SOURCE builds such as CPython's). */
#define OPEN2_WRAP(name)                                         \
	FNGP_EXPORT int name(const char *path, int flags)        \
	{                                                        \
		FNGP_REAL(real, name);                           \
		int fd;                                          \
		int rc = judge_open(AT_FDCWD, path, flags, &fd); \
		if (rc != 0)                                     \
			return result(rc, fd);                   \
		return real(path, flags);                        \
	}

#define OPENAT2_WRAP(name)                                           \
	FNGP_EXPORT int name(int dirfd, const char *path, int flags) \
	{                                                            \
		FNGP_REAL(real, name);                               \
		int fd;                                              \
		int rc = judge_open(dirfd, path, flags, &fd);        \
		if (rc != 0)                                         \
			return result(rc, fd);                       \
		return real(dirfd, path, flags);                     \
	}

extern int open64(const char *, int, ...);
extern int openat64(int, const char *, int, ...);
extern int __open_2(const char *, int);
extern int __open64_2(const char *, int);
extern int __openat_2(int, const char *, int);
extern int __openat64_2(int, const char *, int);

OPEN_WRAP(open)
OPEN_WRAP(open64)
OPENAT_WRAP(openat)
OPENAT_WRAP(openat64)
OPEN2_WRAP(__open_2)
OPEN2_WRAP(__open64_2)
OPENAT2_WRAP(__openat_2)
OPENAT2_WRAP(__openat64_2)

static FILE *judged_fopen(FILE *(*real)(const char *, const char *), const char *path,
			  const char *mode)
{
	int fd;
	bool ro = mode && mode[0] == 'r' && !strchr(mode, '+');
	int rc =
		ro ? judge_open(AT_FDCWD, path, O_RDONLY | (strchr(mode, 'e') ? O_CLOEXEC : 0), &fd)
		   : 0;
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	if (rc == 0)
		return real ? real(path, mode) : NULL;
	FILE *f = fdopen(fd, mode);
	if (!f)
		syscall(SYS_close, fd);
	return f;
}

extern FILE *fopen64(const char *, const char *);

FNGP_EXPORT FILE *fopen(const char *path, const char *mode)
{
	FNGP_REAL(real, fopen);
	return judged_fopen(real, path, mode);
}

FNGP_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	FNGP_REAL(real, fopen64);
	return judged_fopen(real, path, mode);
}

/* ---- the interposer's own descriptors ---- */

/* Closing them would cut every later question (and fail closed): a
 * close of one is answered as done and leaves it open. */
FNGP_EXPORT int close(int fd)
{
	if (fngp_protected(fd))
		return 0;
	fngp_forget_fd(fd);
	return (int)syscall(SYS_close, fd);
}

static int close_span(unsigned lo, unsigned hi, int flags)
{
	return (int)syscall(SYS_close_range, lo, hi, flags);
}

/* Closes [lo, hi] except the protected fds. */
FNGP_EXPORT int close_range(unsigned int lo, unsigned int hi, int flags)
{
	int keep[2] = { fngp_reg_fd(), fngp_chan_fd() };
	unsigned at = lo;
	int rc = 0;

	if (lo > hi)
		return close_span(lo, hi, flags); /* the kernel's EINVAL */
	if (keep[0] > keep[1]) {
		int t = keep[0];
		keep[0] = keep[1];
		keep[1] = t;
	}
	for (int i = 0; i < 2; i++) {
		if (keep[i] < 0 || (unsigned)keep[i] < at || (unsigned)keep[i] > hi)
			continue;
		if ((unsigned)keep[i] > at && close_span(at, (unsigned)keep[i] - 1, flags) < 0)
			rc = -1;
		at = (unsigned)keep[i] + 1;
	}
	if (at <= hi && close_span(at, hi, flags) < 0)
		rc = -1;
	return rc;
}

FNGP_EXPORT void closefrom(int lo)
{
	close_range((unsigned)lo, ~0u, 0);
}

FNGP_EXPORT int dup2(int old, int new_)
{
	FNGP_REAL(real, dup2);
	if (old != new_)
		fngp_move_reg(new_);
	return real(old, new_);
}

FNGP_EXPORT int dup3(int old, int new_, int flags)
{
	FNGP_REAL(real, dup3);
	fngp_move_reg(new_);
	return real(old, new_, flags);
}
