/* vfork_exec PATH [ARG...]: vfork, execve(PATH, [PATH, ARG...]) in the
 * child, and report what the child saw.
 *
 * vfork shares the parent's memory until the child execs or exits, so the
 * child's errno reaches the parent through a plain variable. Prints
 * "execve errno=N" when the exec failed, "child status=S" when it ran, and
 * always "CONTINUED" last; exits 0 unless vfork itself failed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static volatile int child_errno;

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: vfork_exec PATH [ARG...]\n");
		return 2;
	}
	pid_t pid = vfork();
	if (pid < 0) {
		perror("vfork");
		return 1;
	}
	if (pid == 0) {
		execve(argv[1], argv + 1, environ);
		child_errno = errno;
		_exit(127);
	}
	int st = 0;
	if (waitpid(pid, &st, 0) < 0) {
		perror("waitpid");
		return 1;
	}
	if (child_errno)
		printf("execve errno=%d (%s)\n", child_errno, strerror(child_errno));
	else
		printf("child status=%d\n", st);
	printf("CONTINUED\n");
	return 0;
}
