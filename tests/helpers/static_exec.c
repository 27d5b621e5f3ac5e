/* static_exec PROGRAM [ARG...]: a statically linked program (as a Go
 * binary is) that execs PROGRAM. No dynamic loader runs in it, so an
 * LD_PRELOAD interposer never sees its exec: the preload tier's limit,
 * made concrete. Built with -static (Makefile). */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: static_exec PROGRAM [ARG...]\n");
		return 2;
	}
	execv(argv[1], argv + 1);
	perror("static_exec: execv");
	return 127;
}
