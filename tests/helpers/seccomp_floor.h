/* Shared by the loop helpers: with "floor" as second argument they first
 * load a one-instruction allow-all seccomp filter, so the benchmark can
 * show what any seccomp filter costs per syscall on this kernel. */
#ifndef FNG_SECCOMP_FLOOR_H
#define FNG_SECCOMP_FLOOR_H

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline int seccomp_floor(int argc, char **argv)
{
	struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_fprog prog = { .len = 1, .filter = allow };

	if (argc < 3 || strcmp(argv[2], "floor") != 0)
		return 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		perror("seccomp");
		return -1;
	}
	return 0;
}

#endif
