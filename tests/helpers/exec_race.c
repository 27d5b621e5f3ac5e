/* exec_race ITER ALLOWED FORBIDDEN MARKER: race a path buffer against the
 * supervisor's exec check.
 *
 * ALLOWED and FORBIDDEN must have the same length. Each of ITER rounds
 * forks a child; in the child one thread flips a shared path buffer between
 * the two paths while the main thread calls execve(buffer, [buffer, MARKER])
 * in a loop until one exec succeeds (a half-written path fails with ENOENT,
 * a refused one with EACCES). A supervisor that reads the path, decides, and
 * then lets the kernel read it again runs FORBIDDEN, which (a copy of touch)
 * creates MARKER. The parent stops early when MARKER appears.
 * Prints "rounds=N ran=R refused=F"; exits 0. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char path_buf[4096];
static const char *paths[2];
static size_t path_len;
static atomic_uint flips;

static void *flipper(void *arg)
{
	(void)arg;
	volatile char *b = path_buf;
	for (unsigned i = 0;; i++) {
		const char *src = paths[i & 1];
		for (size_t k = 0; k < path_len; k++)
			b[k] = src[k];
		atomic_fetch_add_explicit(&flips, 1, memory_order_relaxed);
	}
	return NULL;
}

static void child(const char *marker)
{
	pthread_t t;
	if (pthread_create(&t, NULL, flipper, NULL) != 0)
		_exit(120);
	/* Exec only once the flipper runs, or the path is read before any flip. */
	while (atomic_load_explicit(&flips, memory_order_relaxed) < 2)
		;
	for (int tries = 0; tries < 200; tries++) {
		char *const av[] = { path_buf, (char *)marker, NULL };
		execve(path_buf, av, environ);
		if (errno != ENOENT && errno != EACCES && errno != EPERM)
			_exit(121);
	}
	_exit(errno == EACCES || errno == EPERM ? 122 : 123);
}

int main(int argc, char **argv)
{
	if (argc != 5 || strlen(argv[2]) != strlen(argv[3]) || strlen(argv[2]) >= sizeof path_buf) {
		fprintf(stderr, "usage: exec_race ITER ALLOWED FORBIDDEN MARKER "
				"(paths of equal length)\n");
		return 2;
	}
	int iter = atoi(argv[1]);
	paths[0] = argv[2];
	paths[1] = argv[3];
	path_len = strlen(argv[2]);
	memcpy(path_buf, argv[2], path_len + 1);

	int rounds = 0, ran = 0, refused = 0;
	for (; rounds < iter; rounds++) {
		if (access(argv[4], F_OK) == 0)
			break;
		fflush(stdout);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			child(argv[4]);
		int st = 0;
		if (waitpid(pid, &st, 0) < 0) {
			perror("waitpid");
			return 1;
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ran++;
		else if (WIFEXITED(st) && WEXITSTATUS(st) == 122)
			refused++;
	}
	printf("rounds=%d ran=%d refused=%d\n", rounds, ran, refused);
	return 0;
}
