/* refuse MODE COMMAND [ARG...]: loads a seccomp filter that refuses one
 * newer kernel feature, then execs COMMAND (fnguard), so its fallback or
 * its error for that feature runs on this kernel (crun tests its openat2
 * fallback the same way).
 *   killable  seccomp() with SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV -> EINVAL
 *   ptrace    ptrace() -> EPERM (as some container profiles do)
 *   seccomp   seccomp() and prctl(PR_SET_SECCOMP) -> EPERM (as on AWS Lambda)
 *   lambda    seccomp(), prctl(PR_SET_SECCOMP) and ptrace() -> EPERM: both
 *             kernel-tier mechanisms refused, as public reports say
 *             Lambda does (fnguard must choose the preload tier)
 *   getfd     pidfd_getfd() -> EPERM
 *   docker    pidfd_getfd(), process_vm_readv(), process_vm_writev(), kcmp()
 *             and process_madvise() -> EPERM, as docker's default profile
 *             does in a container without CAP_SYS_PTRACE
 *   bpf       bpf() -> EPERM (a container without CAP_BPF)
 *   clone3    clone3() -> ENOSYS (before Linux 5.7, or docker's profile) */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NR      offsetof(struct seccomp_data, nr)
#define ARG1_LO offsetof(struct seccomp_data, args[1])

int main(int argc, char **argv)
{
	struct sock_filter killable[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_seccomp, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG1_LO),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter ptrace_f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ptrace, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter seccomp_f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_seccomp, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_prctl, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_SET_SECCOMP, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter lambda_f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_seccomp, 4, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ptrace, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_prctl, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_SET_SECCOMP, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter getfd_f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pidfd_getfd, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter docker_f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pidfd_getfd, 5, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_vm_readv, 4, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_vm_writev, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_kcmp, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_madvise, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	struct sock_filter bpf_f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_bpf, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter clone3_f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog;

	if (argc < 3) {
		fprintf(stderr, "usage: refuse killable|ptrace|seccomp|lambda|getfd|docker|bpf|"
				"clone3 COMMAND [ARG...]\n");
		return 2;
	}
	if (!strcmp(argv[1], "killable")) {
		prog.filter = killable;
		prog.len = sizeof killable / sizeof killable[0];
	} else if (!strcmp(argv[1], "ptrace")) {
		prog.filter = ptrace_f;
		prog.len = sizeof ptrace_f / sizeof ptrace_f[0];
	} else if (!strcmp(argv[1], "getfd")) {
		prog.filter = getfd_f;
		prog.len = sizeof getfd_f / sizeof getfd_f[0];
	} else if (!strcmp(argv[1], "docker")) {
		prog.filter = docker_f;
		prog.len = sizeof docker_f / sizeof docker_f[0];
	} else if (!strcmp(argv[1], "lambda")) {
		prog.filter = lambda_f;
		prog.len = sizeof lambda_f / sizeof lambda_f[0];
	} else if (!strcmp(argv[1], "clone3")) {
		prog.filter = clone3_f;
		prog.len = sizeof clone3_f / sizeof clone3_f[0];
	} else if (!strcmp(argv[1], "bpf")) {
		prog.filter = bpf_f;
		prog.len = sizeof bpf_f / sizeof bpf_f[0];
	} else if (!strcmp(argv[1], "seccomp")) {
		prog.filter = seccomp_f;
		prog.len = sizeof seccomp_f / sizeof seccomp_f[0];
	} else {
		fprintf(stderr, "refuse: unknown mode %s\n", argv[1]);
		return 2;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		perror("refuse: seccomp");
		return 2;
	}
	execv(argv[2], argv + 2);
	perror("refuse: execv");
	return 127;
}
