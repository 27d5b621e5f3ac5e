/* getppid_loop [N [floor]]: N (default 200000) raw getppid() calls; a syscall
 * the supervisor never sees, for measuring the cost of the filter itself. */
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp_floor.h"

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	if (seccomp_floor(argc, argv) < 0)
		return 2;
	long sum = 0;
	for (long i = 0; i < n; i++)
		sum += syscall(SYS_getppid);
	return sum == 0 ? 1 : 0;
}
