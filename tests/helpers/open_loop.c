/* open_loop [N [floor]]: N (default 200000) openat("/dev/null") + close pairs;
 * open is a syscall the supervisor may be asked about. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "seccomp_floor.h"

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	if (seccomp_floor(argc, argv) < 0)
		return 2;
	for (long i = 0; i < n; i++) {
		int fd = openat(AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			perror("openat");
			return 1;
		}
		close(fd);
	}
	return 0;
}
