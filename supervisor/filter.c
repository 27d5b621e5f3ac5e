#include "filter.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "cleanup.h"

#ifndef FIOSETOWN
#define FIOSETOWN 0x8901
#endif
#ifndef SIOCSPGRP
#define SIOCSPGRP 0x8902
#endif

/* When the syscall is trapped. Pid arguments are C ints: compare only the
 * low 32 bits, since the upper half of the register is whatever the
 * caller left there and the kernel ignores it. */
enum cond {
	C_ALWAYS,
	C_A0_SUP,     /* arg0 is the supervisor's pid */
	C_KILL,       /* kill(2): the supervisor, -1, or -supervisor_pgid */
	C_UNTRACED,   /* clone(2) flags with CLONE_UNTRACED */
	C_FCNTL_OWN,  /* fcntl F_SETOWN to the supervisor, or F_SETOWN_EX */
	C_IOCTL_OWN,  /* FIOSETOWN / SIOCSPGRP: owner behind a pointer */
	C_SOCKET,     /* socket(2) outside inet/inet6 (not raw), unix, route netlink */
	C_FASTOPEN,   /* setsockopt(IPPROTO_TCP, TCP_FASTOPEN_CONNECT) */
	C_INET_PROTO, /* socket(2) inet/inet6 with a protocol other than 0, TCP, UDP */
};

static const struct refusal {
	long nr;
	enum cond cond;
	int err;
	const char *reason;
	bool net; /* only while network rules are active */
} refusals[] = {
	{ SYS_io_uring_setup, C_ALWAYS, ENOSYS, "io_uring performs I/O without passing seccomp" },
	{ SYS_io_uring_enter, C_ALWAYS, ENOSYS, "io_uring performs I/O without passing seccomp" },
	{ SYS_io_uring_register, C_ALWAYS, ENOSYS,
	  "io_uring performs I/O without passing seccomp" },
	{ SYS_ptrace, C_ALWAYS, EPERM, "ptrace would let the workload control processes" },
	{ SYS_process_vm_readv, C_ALWAYS, EPERM, "reading another process's memory" },
	{ SYS_process_vm_writev, C_ALWAYS, EPERM, "writing another process's memory" },
	{ SYS_bpf, C_ALWAYS, EPERM, "loading eBPF programs" },
	{ SYS_userfaultfd, C_ALWAYS, EPERM, "userfaultfd widens kernel race windows" },
	{ SYS_perf_event_open, C_ALWAYS, EPERM, "perf events observe other processes" },
	{ SYS_kexec_load, C_ALWAYS, EPERM, "kexec" },
	{ SYS_kexec_file_load, C_ALWAYS, EPERM, "kexec" },
	{ SYS_init_module, C_ALWAYS, EPERM, "loading kernel modules" },
	{ SYS_finit_module, C_ALWAYS, EPERM, "loading kernel modules" },
	{ SYS_delete_module, C_ALWAYS, EPERM, "unloading kernel modules" },
	{ SYS_mount, C_ALWAYS, EPERM, "mounts could hide programs behind allowed paths" },
	{ SYS_umount2, C_ALWAYS, EPERM, "mounts could hide programs behind allowed paths" },
	{ SYS_pivot_root, C_ALWAYS, EPERM, "changing the root" },
	{ SYS_chroot, C_ALWAYS, EPERM, "changing the root" },
	{ SYS_unshare, C_ALWAYS, EPERM, "new namespaces escape the supervisor's view" },
	{ SYS_setns, C_ALWAYS, EPERM, "joining namespaces escapes the supervisor's view" },
	{ SYS_open_tree, C_ALWAYS, EPERM, "mounts could hide programs behind allowed paths" },
	{ SYS_move_mount, C_ALWAYS, EPERM, "mounts could hide programs behind allowed paths" },
	{ SYS_fsopen, C_ALWAYS, EPERM, "mounts could hide programs behind allowed paths" },
	{ SYS_fsconfig, C_ALWAYS, EPERM, "mounts could hide programs behind allowed paths" },
	{ SYS_fsmount, C_ALWAYS, EPERM, "mounts could hide programs behind allowed paths" },
	{ SYS_fspick, C_ALWAYS, EPERM, "mounts could hide programs behind allowed paths" },
	{ SYS_mount_setattr, C_ALWAYS, EPERM, "mounts could hide programs behind allowed paths" },
	{ SYS_open_by_handle_at, C_ALWAYS, EPERM, "opens files without a path" },
	/* A pidfd may be a /proc/PID directory fd: its target cannot be
	 * judged from the filter, and callers fall back to kill(2). */
	{ SYS_pidfd_send_signal, C_ALWAYS, EPERM, "pidfd_send_signal target cannot be checked" },
	{ SYS_clone, C_UNTRACED, EPERM, "CLONE_UNTRACED would escape the supervisor's ptrace" },
	{ SYS_kill, C_KILL, EPERM, "signal aimed at the supervisor, its process group, or all" },
	{ SYS_tkill, C_A0_SUP, EPERM, "signal aimed at the supervisor" },
	{ SYS_tgkill, C_A0_SUP, EPERM, "signal aimed at the supervisor" },
	{ SYS_rt_sigqueueinfo, C_A0_SUP, EPERM, "signal aimed at the supervisor" },
	{ SYS_rt_tgsigqueueinfo, C_A0_SUP, EPERM, "signal aimed at the supervisor" },
	{ SYS_pidfd_open, C_A0_SUP, EPERM, "pidfd of the supervisor" },
	{ SYS_prlimit64, C_A0_SUP, EPERM, "resource limits of the supervisor" },
	{ SYS_sched_setaffinity, C_A0_SUP, EPERM, "scheduling of the supervisor" },
	{ SYS_sched_setscheduler, C_A0_SUP, EPERM, "scheduling of the supervisor" },
	{ SYS_sched_setparam, C_A0_SUP, EPERM, "scheduling of the supervisor" },
	{ SYS_sched_setattr, C_A0_SUP, EPERM, "scheduling of the supervisor" },
	/* SIGIO/F_SETSIG deliver any signal, SIGKILL included, to the owner. */
	{ SYS_fcntl, C_FCNTL_OWN, EPERM, "I/O signals aimed at the supervisor" },
	{ SYS_ioctl, C_IOCTL_OWN, EPERM, "I/O signal owner set through a pointer" },
	/* Raw and packet sockets, and families the network rules do not
	 * know, would send without connect/sendto passing the supervisor. */
	{ SYS_socket, C_SOCKET, EAFNOSUPPORT,
	  "socket family or type outside what network rules can judge", true },
	{ SYS_socketpair, C_SOCKET, EAFNOSUPPORT,
	  "socket family or type outside what network rules can judge", true },
	/* Connects on the first write, without connect(2). */
	{ SYS_setsockopt, C_FASTOPEN, ENOPROTOOPT, "TCP_FASTOPEN_CONNECT connects without connect",
	  true },
	/* The bpf engine's cgroup hooks see TCP and UDP only: ping (ICMP)
	 * and SCTP sockets send to addresses they never judge. */
	{ SYS_socket, C_INET_PROTO, EAFNOSUPPORT,
	  "socket family, type or protocol outside what network rules can judge "
	  "(the bpf engine judges TCP and UDP only)",
	  true },
};

#define M32 0xffffffffULL

/* Set by sup_filter_build for sup_filter_classify. */
static bool broker_mode, bpf_mode;

bool sup_filter_socket_refused(uint64_t domain, uint64_t type, uint64_t proto)
{
	/* Mirrors add_socket_rules: the low 32 bits of domain and type, the
	 * full width of a netlink protocol. */
	uint32_t fam = (uint32_t)domain, kind = (uint32_t)type & 0xf;

	if (fam == AF_UNIX)
		return false;
	if (fam == AF_INET || fam == AF_INET6)
		return kind == SOCK_RAW || kind == SOCK_PACKET;
	if (fam == AF_NETLINK)
		return proto != NETLINK_ROUTE;
	return fam < AF_MAX;
}

static int add(scmp_filter_ctx ctx, uint32_t act, long nr, unsigned n, const struct scmp_arg_cmp *a)
{
	return seccomp_rule_add_array(ctx, act, (int)nr, n, a);
}

/* socket(domain, type, protocol): every family but unix, inet, inet6 and
 * netlink (route only); for inet and inet6 no raw or packet type. One EQ
 * per refused family: a libseccomp rule compares an argument only once.
 * Families past AF_MAX the kernel refuses itself. */
static int add_socket_rules(scmp_filter_ctx ctx, uint32_t act, long nr)
{
	int rc = 0;

	for (int fam = 0; fam < AF_MAX && rc == 0; fam++) {
		if (fam == AF_UNIX || fam == AF_INET || fam == AF_INET6)
			continue;
		if (fam == AF_NETLINK) {
			struct scmp_arg_cmp a[2] = {
				SCMP_A0(SCMP_CMP_MASKED_EQ, M32, AF_NETLINK),
				/* Full width: garbage in the upper half only refuses. */
				SCMP_A2(SCMP_CMP_NE, NETLINK_ROUTE),
			};
			rc = add(ctx, act, nr, 2, a);
			continue;
		}
		struct scmp_arg_cmp a = SCMP_A0(SCMP_CMP_MASKED_EQ, M32, (uint64_t)fam);
		rc = add(ctx, act, nr, 1, &a);
	}
	const int inet[] = { AF_INET, AF_INET6 }, bad_types[] = { SOCK_RAW, SOCK_PACKET };
	for (size_t i = 0; i < ARRAY_SIZE(inet) && rc == 0; i++) {
		for (size_t j = 0; j < ARRAY_SIZE(bad_types) && rc == 0; j++) {
			/* The type carries SOCK_NONBLOCK/SOCK_CLOEXEC above 0xf. */
			struct scmp_arg_cmp a[2] = {
				SCMP_A0(SCMP_CMP_MASKED_EQ, M32, (uint64_t)inet[i]),
				SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, (uint64_t)bad_types[j]),
			};
			rc = add(ctx, act, nr, 2, a);
		}
	}
	return rc;
}

/* arg0 names the supervisor: its pid or one of its threads' ids. */
static int add_a0_sup(scmp_filter_ctx ctx, uint32_t act, int nr, const struct sup_filter_opts *o)
{
	struct scmp_arg_cmp a = SCMP_A0(SCMP_CMP_MASKED_EQ, M32, (uint32_t)o->supervisor_pid);
	int rc = add(ctx, act, nr, 1, &a);

	for (size_t i = 0; i < o->n_thread_ids && rc == 0; i++) {
		a = SCMP_A0(SCMP_CMP_MASKED_EQ, M32, (uint32_t)o->thread_ids[i]);
		rc = add(ctx, act, nr, 1, &a);
	}
	return rc;
}

static int add_refusal(scmp_filter_ctx ctx, const struct refusal *r,
		       const struct sup_filter_opts *o)
{
	const uint32_t act = SCMP_ACT_NOTIFY;
	const uint64_t sup = (uint32_t)o->supervisor_pid;
	const uint64_t minus_pgid = (uint32_t)-o->supervisor_pgid;
	int rc = 0;

	switch (r->cond) {
	case C_ALWAYS:
		return add(ctx, act, r->nr, 0, NULL);
	case C_A0_SUP:
		return add_a0_sup(ctx, act, r->nr, o);
	case C_KILL: {
		const uint64_t targets[] = { M32 /* -1 */, minus_pgid };
		for (size_t i = 0; i < ARRAY_SIZE(targets) && rc == 0; i++) {
			struct scmp_arg_cmp a = SCMP_A0(SCMP_CMP_MASKED_EQ, M32, targets[i]);
			rc = add(ctx, act, r->nr, 1, &a);
		}
		return rc ? rc : add_a0_sup(ctx, act, r->nr, o);
	}
	case C_UNTRACED: {
		struct scmp_arg_cmp a = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_UNTRACED, CLONE_UNTRACED);
		return add(ctx, act, r->nr, 1, &a);
	}
	case C_FCNTL_OWN: {
		const uint64_t owners[] = { sup, minus_pgid };
		for (size_t i = 0; i < ARRAY_SIZE(owners) && rc == 0; i++) {
			struct scmp_arg_cmp a[2] = {
				SCMP_A1(SCMP_CMP_MASKED_EQ, M32, F_SETOWN),
				SCMP_A2(SCMP_CMP_MASKED_EQ, M32, owners[i]),
			};
			rc = add(ctx, act, r->nr, 2, a);
		}
		if (rc == 0) {
			struct scmp_arg_cmp a = SCMP_A1(SCMP_CMP_MASKED_EQ, M32, F_SETOWN_EX);
			rc = add(ctx, act, r->nr, 1, &a);
		}
		return rc;
	}
	case C_SOCKET:
		return add_socket_rules(ctx, act, r->nr);
	case C_FASTOPEN: {
		struct scmp_arg_cmp a[2] = {
			SCMP_A1(SCMP_CMP_MASKED_EQ, M32, IPPROTO_TCP),
			SCMP_A2(SCMP_CMP_MASKED_EQ, M32, TCP_FASTOPEN_CONNECT),
		};
		return add(ctx, act, r->nr, 2, a);
	}
	case C_INET_PROTO: {
		const int inet[] = { AF_INET, AF_INET6 };
		for (size_t i = 0; i < ARRAY_SIZE(inet) && rc == 0; i++) {
			/* ICMP (1) and every protocol above UDP (17): SCTP,
			 * UDP-Lite, MPTCP, ICMPv6; 2..16 are raw-only. */
			struct scmp_arg_cmp a[2] = {
				SCMP_A0(SCMP_CMP_MASKED_EQ, M32, (uint64_t)inet[i]),
				SCMP_A2(SCMP_CMP_EQ, IPPROTO_ICMP),
			};
			rc = add(ctx, act, r->nr, 2, a);
			a[1] = SCMP_A2(SCMP_CMP_GT, IPPROTO_UDP);
			if (rc == 0)
				rc = add(ctx, act, r->nr, 2, a);
		}
		return rc;
	}
	case C_IOCTL_OWN: {
		const uint64_t reqs[] = { FIOSETOWN, SIOCSPGRP };
		for (size_t i = 0; i < ARRAY_SIZE(reqs) && rc == 0; i++) {
			struct scmp_arg_cmp a = SCMP_A1(SCMP_CMP_MASKED_EQ, M32, reqs[i]);
			rc = add(ctx, act, r->nr, 1, &a);
		}
		return rc;
	}
	}
	return -EINVAL;
}

static int add_rules(scmp_filter_ctx ctx, const struct sup_filter_opts *o, const char **what)
{
	int rc;

	*what = "execve";
	if ((rc = add(ctx, SCMP_ACT_NOTIFY, SYS_execve, 0, NULL)) < 0)
		return rc;
	*what = "execveat";
	if ((rc = add(ctx, SCMP_ACT_NOTIFY, SYS_execveat, 0, NULL)) < 0)
		return rc;
	/* clone3 hides its flags behind a pointer the filter cannot read:
	 * ENOSYS makes glibc fall back to clone(2), whose flags it can. */
	*what = "clone3";
	if ((rc = add(ctx, SCMP_ACT_ERRNO(ENOSYS), SYS_clone3, 0, NULL)) < 0)
		return rc;
	for (size_t i = 0; i < ARRAY_SIZE(refusals); i++) {
		if (refusals[i].net && !o->net)
			continue;
		if (refusals[i].cond == C_INET_PROTO && !o->net_bpf)
			continue;
		/* The broker sees every socket() and judges the family itself. */
		if (o->broker && refusals[i].cond == C_SOCKET)
			continue;
		*what = sup_syscall_name(refusals[i].nr);
		if ((rc = add_refusal(ctx, &refusals[i], o)) < 0)
			return rc;
	}
	if (o->code) {
		/* Only opens for reading can load code. O_DIRECTORY ones cannot
		 * open a file (ENOTDIR) and O_PATH ones cannot be read (a
		 * reopen through /proc/self/fd is an open of its own): python
		 * lists a directory per package imported, and each notification
		 * costs two context switches. The flags are in registers: no race. */
		const uint64_t mask = O_ACCMODE | O_DIRECTORY | O_PATH;
		struct scmp_arg_cmp ro1 = SCMP_A1(SCMP_CMP_MASKED_EQ, mask, O_RDONLY);
		struct scmp_arg_cmp ro2 = SCMP_A2(SCMP_CMP_MASKED_EQ, mask, O_RDONLY);
		*what = "open";
		if ((rc = add(ctx, SCMP_ACT_NOTIFY, SYS_open, 1, &ro1)) < 0)
			return rc;
		*what = "openat";
		if ((rc = add(ctx, SCMP_ACT_NOTIFY, SYS_openat, 1, &ro2)) < 0)
			return rc;
		/* openat2 keeps its flags behind a pointer. */
		*what = "openat2";
		if ((rc = add(ctx, SCMP_ACT_NOTIFY, SYS_openat2, 0, NULL)) < 0)
			return rc;
	}
	/* With the bpf engine the cgroup programs judge every destination in
	 * the kernel, on the address the kernel uses: no round trip. */
	if (!o->net || o->net_bpf)
		return 0;
	/* Every destination passes the net handler, which decides on its own
	 * copy of the address and performs the allowed call itself. A sendto
	 * without an address goes to the connected peer, checked at connect. */
	/* Receives with a source address: the stub's replies must look like
	 * the nameserver's (only sockets that sent DNS are touched). */
	const long net[] = { SYS_connect, SYS_sendmsg, SYS_sendmmsg, SYS_recvmsg, SYS_recvmmsg };
	for (size_t i = 0; i < ARRAY_SIZE(net); i++) {
		*what = sup_syscall_name(net[i]);
		if ((rc = add(ctx, SCMP_ACT_NOTIFY, net[i], 0, NULL)) < 0)
			return rc;
	}
	*what = "sendto";
	struct scmp_arg_cmp to = SCMP_A4(SCMP_CMP_NE, 0);
	if ((rc = add(ctx, SCMP_ACT_NOTIFY, SYS_sendto, 1, &to)) < 0)
		return rc;
	*what = "recvfrom";
	if ((rc = add(ctx, SCMP_ACT_NOTIFY, SYS_recvfrom, 1, &to)) < 0 || !o->broker)
		return rc;
	/* Without pidfd_getfd the supervisor makes every socket itself and
	 * keeps a copy: socket, socketpair and accept are performed by it. */
	const long brk[] = { SYS_socket, SYS_socketpair, SYS_accept, SYS_accept4 };
	for (size_t i = 0; i < ARRAY_SIZE(brk); i++) {
		*what = sup_syscall_name(brk[i]);
		if ((rc = add(ctx, SCMP_ACT_NOTIFY, brk[i], 0, NULL)) < 0)
			return rc;
	}
	return 0;
}

static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
	_cleanup_fd_ int fd = memfd_create("fnguard-filter", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0)
		return rc;
	off_t size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(struct sock_filter) ||
	    size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS)
		return -E2BIG;
	struct sock_filter *insns = malloc((size_t)size);
	if (!insns)
		return -ENOMEM;
	if (pread(fd, insns, (size_t)size, 0) != size) {
		free(insns);
		return -EIO;
	}
	prog->filter = insns;
	prog->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
	return 0;
}

int sup_filter_build(const struct sup_filter_opts *o, struct sock_fprog *prog, char *err,
		     size_t errlen)
{
	const char *what = "init";
	int rc;

	prog->filter = NULL;
	prog->len = 0;
	/* The caps probe already established what the kernel offers: spare
	 * libseccomp its own detection (several syscalls on every start). */
	seccomp_api_set(5);
	broker_mode = o->net && o->broker;
	bpf_mode = o->net && o->net_bpf;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		snprintf(err, errlen, "libseccomp: cannot create a filter context");
		return -ENOMEM;
	}
	/* Only the native ABI may run: int 0x80 (i386) and x32 numbers are
	 * other syscall tables the rules below would not cover. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	/* A binary tree keeps the cost of untrapped syscalls flat. */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (rc == 0)
		rc = add_rules(ctx, o, &what);
	if (rc == 0) {
		what = "export";
		rc = export_bpf(ctx, prog);
	}
	seccomp_release(ctx);
	if (rc < 0)
		snprintf(err, errlen, "building the seccomp filter failed at %s: %s", what,
			 strerror(-rc));
	return rc;
}

void sup_filter_free(struct sock_fprog *prog)
{
	free(prog->filter);
	prog->filter = NULL;
	prog->len = 0;
}

void sup_filter_classify(long nr, struct sup_trap_info *out)
{
	memset(out, 0, sizeof *out);
	if (nr == SYS_execve || nr == SYS_execveat) {
		out->kind = SUP_TRAP_EXEC;
		return;
	}
	if (nr == SYS_open || nr == SYS_openat || nr == SYS_openat2) {
		out->kind = SUP_TRAP_OPEN;
		return;
	}
	if (nr == SYS_connect || nr == SYS_sendto || nr == SYS_sendmsg || nr == SYS_sendmmsg ||
	    nr == SYS_recvfrom || nr == SYS_recvmsg || nr == SYS_recvmmsg) {
		out->kind = SUP_TRAP_NET;
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(refusals); i++) {
		/* A refused socket() is answered the same for either rule; the
		 * reason names both when both are in the filter. */
		if (refusals[i].nr == nr && (refusals[i].cond != C_SOCKET || !bpf_mode)) {
			out->kind = broker_mode && refusals[i].cond == C_SOCKET ? SUP_TRAP_SOCK
										: SUP_TRAP_REFUSE;
			out->err = refusals[i].err;
			out->reason = refusals[i].reason;
			return;
		}
	}
	if (broker_mode && (nr == SYS_accept || nr == SYS_accept4))
		out->kind = SUP_TRAP_SOCK;
}

const char *sup_syscall_name(long nr)
{
	static char buf[64];
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, (int)nr);

	if (name)
		snprintf(buf, sizeof buf, "%s", name);
	else
		snprintf(buf, sizeof buf, "syscall_%ld", nr);
	free(name);
	return buf;
}
