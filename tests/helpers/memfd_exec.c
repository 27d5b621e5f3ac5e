/* memfd_exec FILE ARGV0 [ARG...]: copy FILE (an ELF binary or a #! script)
 * into an anonymous memfd and run it with execveat(fd, "", AT_EMPTY_PATH)
 * (what fexecve does) in a forked child, so no path on disk names what runs.
 *
 * The memfd is created without MFD_CLOEXEC: a #! script is run by its
 * interpreter through /dev/fd/N, which a close-on-exec fd would not survive.
 * Prints "execveat errno=N" when the exec failed, "child status=S" when it
 * ran, then "CONTINUED"; exits 0 unless the setup failed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int copy_to_memfd(const char *file)
{
	int in = open(file, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	int fd = memfd_create("payload", 0);
	if (fd < 0) {
		close(in);
		return -1;
	}
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0) {
		if (write(fd, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	}
	close(in);
	if (n < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: memfd_exec FILE ARGV0 [ARG...]\n");
		return 2;
	}
	int fd = copy_to_memfd(argv[1]);
	if (fd < 0) {
		perror("memfd copy");
		return 1;
	}
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		perror("pipe2");
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		close(pipefd[0]);
		syscall(SYS_execveat, fd, "", argv + 2, environ, AT_EMPTY_PATH);
		int e = errno;
		if (write(pipefd[1], &e, sizeof e) != (ssize_t)sizeof e)
			_exit(126);
		_exit(127);
	}
	close(pipefd[1]);
	int e = 0;
	ssize_t got = read(pipefd[0], &e, sizeof e);
	int st = 0;
	if (waitpid(pid, &st, 0) < 0) {
		perror("waitpid");
		return 1;
	}
	if (got == (ssize_t)sizeof e)
		printf("execveat errno=%d (%s)\n", e, strerror(e));
	else
		printf("child status=%d\n", st);
	printf("CONTINUED\n");
	return 0;
}
