/* The exec family, posix_spawn, system and popen: each program is judged
 * by the supervisor before it runs, and each child starts with the
 * interposer and its channel in its environment. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fngp.h"

#define MAX_ARGS 1024

extern char **environ;

int fngp_check_exec(const char *path, char *const argv[])
{
	struct fngp_req req;
	struct fngp_resp resp;
	size_t used = 0;
	int fd;

	if (!path)
		return -EFAULT;
	fngp_req_init(&req, FNGP_EXEC);
	if (path[0] != '/') {
		/* The supervisor judges the absolute path: our cwd, not its. */
		if (!getcwd(req.data, PATH_MAX))
			return -errno;
		used = strlen(req.data);
		req.data[used++] = '/';
	}
	int n = snprintf(req.data + used, sizeof req.data - used, "%s", path);
	if (n < 0 || (size_t)n >= sizeof req.data - used)
		return -ENAMETOOLONG;
	used += (size_t)n + 1;
	for (size_t i = 0; argv && argv[i] && i < MAX_ARGS; i++) {
		size_t len = strlen(argv[i]);
		if (used + len + 1 > sizeof req.data)
			break; /* the log keeps what fits */
		memcpy(req.data + used, argv[i], len + 1);
		used += len + 1;
		req.arg++;
	}
	req.len = (uint32_t)used;
	int rc = fngp_ask(&req, &resp, &fd, true);
	if (rc < 0)
		return -EACCES; /* no supervisor: nothing runs */
	return resp.err;
}

/* execvp's search: the first executable regular file along PATH. */
static int search(const char *file, char *out, size_t size)
{
	const char *path = getenv("PATH");
	int err = ENOENT;

	if (strchr(file, '/')) {
		snprintf(out, size, "%s", file);
		return 0;
	}
	if (!*file)
		return -ENOENT;
	if (!path)
		path = "/bin:/usr/bin";
	while (*path || path[-1] == ':') {
		size_t n = strcspn(path, ":");
		snprintf(out, size, "%.*s%s%s", (int)n, path, n ? "/" : "", file);
		path += n + (path[n] == ':');
		struct stat st;
		if (syscall(SYS_newfstatat, AT_FDCWD, out, &st, 0) == 0 && S_ISREG(st.st_mode)) {
			if (access(out, X_OK) == 0)
				return 0;
			err = EACCES;
		}
		if (!*path)
			break;
	}
	return -err;
}

static int fail(int err)
{
	errno = err;
	return -1;
}

FNGP_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	FNGP_REAL(real, execve);
	int rc = fngp_check_exec(path, argv);
	if (rc < 0)
		return fail(-rc);
	size_t size;
	char **env = fngp_env(envp, &size);
	if (!env)
		return fail(ENOMEM);
	rc = real(path, argv, env);
	int e = errno;
	fngp_env_free(env, size);
	return fail(e);
}

FNGP_EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

FNGP_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	char path[PATH_MAX];
	int rc = search(file, path, sizeof path);
	return rc < 0 ? fail(-rc) : execve(path, argv, envp);
}

FNGP_EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

/* The execl family's argv, from the variadic list; for execle, the envp
 * after it. 0, or -E2BIG past MAX_ARGS (as the kernel would). */
static int collect(const char *first, va_list *ap, char **argv, char *const **envp)
{
	argv[0] = (char *)(uintptr_t)first;
	for (size_t n = 1; argv[n - 1]; n++) {
		if (n == MAX_ARGS)
			return -E2BIG;
		argv[n] = va_arg(*ap, char *);
	}
	if (envp)
		*envp = va_arg(*ap, char *const *);
	return 0;
}

FNGP_EXPORT int execl(const char *path, const char *arg, ...)
{
	char *argv[MAX_ARGS];
	va_list ap;
	va_start(ap, arg);
	int rc = collect(arg, &ap, argv, NULL);
	va_end(ap);
	return rc < 0 ? fail(-rc) : execve(path, argv, environ);
}

FNGP_EXPORT int execlp(const char *file, const char *arg, ...)
{
	char *argv[MAX_ARGS];
	va_list ap;
	va_start(ap, arg);
	int rc = collect(arg, &ap, argv, NULL);
	va_end(ap);
	return rc < 0 ? fail(-rc) : execvpe(file, argv, environ);
}

FNGP_EXPORT int execle(const char *path, const char *arg, ...)
{
	char *argv[MAX_ARGS];
	char *const *envp = NULL;
	va_list ap;
	va_start(ap, arg);
	int rc = collect(arg, &ap, argv, &envp);
	va_end(ap);
	return rc < 0 ? fail(-rc) : execve(path, argv, envp);
}

/* The file an fd (or dirfd + relative path) names, for the verdict. */
static int fd_path(int dirfd, const char *rel, char *out, size_t size)
{
	char link[64];

	snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
	ssize_t n = readlink(link, out, size - 1);
	if (n < 0)
		return -errno;
	out[n] = 0;
	if (rel && *rel)
		snprintf(out + n, size - (size_t)n, "/%s", rel);
	return 0;
}

FNGP_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	FNGP_REAL(real, fexecve);
	char path[PATH_MAX];
	int rc = fd_path(fd, NULL, path, sizeof path);
	if (rc == 0)
		rc = fngp_check_exec(path, argv);
	if (rc < 0)
		return fail(-rc);
	size_t size;
	char **env = fngp_env(envp, &size);
	if (!env || !real)
		return fail(ENOMEM);
	real(fd, argv, env);
	int e = errno;
	fngp_env_free(env, size);
	return fail(e);
}

FNGP_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
			 int flags)
{
	char buf[PATH_MAX];
	int rc = 0;

	if (path[0] == '/' || (dirfd == AT_FDCWD && path[0]))
		snprintf(buf, sizeof buf, "%s", path);
	else if (dirfd == AT_FDCWD)
		rc = -ENOENT;
	else
		rc = fd_path(dirfd, path, buf, sizeof buf);
	if (rc == 0)
		rc = fngp_check_exec(buf, argv);
	if (rc < 0)
		return fail(-rc);
	size_t size;
	char **env = fngp_env(envp, &size);
	if (!env)
		return fail(ENOMEM);
	/* Through the syscall: glibc before 2.34 has no execveat. */
	syscall(SYS_execveat, dirfd, path, argv, env, flags);
	int e = errno;
	fngp_env_free(env, size);
	return fail(e);
}

static int spawn(int (*real)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			     const posix_spawnattr_t *, char *const[], char *const[]),
		 pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	int rc = fngp_check_exec(path, argv);
	if (rc < 0)
		return -rc; /* posix_spawn returns the error */
	size_t size;
	char **env = fngp_env(envp, &size);
	if (!env || !real)
		return ENOMEM;
	rc = real(pid, path, fa, attr, argv, env);
	fngp_env_free(env, size);
	return rc;
}

FNGP_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	FNGP_REAL(real, posix_spawn);
	return spawn(real, pid, path, fa, attr, argv, envp);
}

FNGP_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	FNGP_REAL(real, posix_spawn);
	char path[PATH_MAX];
	int rc = search(file, path, sizeof path);
	if (rc < 0)
		return -rc;
	/* The path that was judged is the one that runs. */
	return spawn(real, pid, path, fa, attr, argv, envp);
}

/* system and popen run "/bin/sh -c CMD" inside glibc, out of our reach:
 * the shell is judged here, and what it runs is judged in the shell
 * (which loads the interposer from the environment put back first). */
static int check_shell(const char *cmd)
{
	char sh[] = "sh", c[] = "-c";
	char *argv[] = { sh, c, (char *)(uintptr_t)cmd, NULL };
	fngp_env_self();
	return fngp_check_exec("/bin/sh", argv);
}

FNGP_EXPORT int system(const char *cmd)
{
	FNGP_REAL(real, system);
	if (!cmd)
		return real ? real(cmd) : 0;
	int rc = check_shell(cmd);
	if (rc < 0) {
		/* As when the shell cannot be executed: status 127. */
		errno = -rc;
		return 127 << 8;
	}
	return real ? real(cmd) : -1;
}

FNGP_EXPORT FILE *popen(const char *cmd, const char *mode)
{
	FNGP_REAL(real, popen);
	int rc = check_shell(cmd);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	return real ? real(cmd, mode) : NULL;
}
