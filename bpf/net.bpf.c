// SPDX-License-Identifier: GPL-2.0
/* The bpf engine of the network allowlist: cgroup sock_addr programs that
 * judge every connect and every unconnected UDP send of the workload's
 * cgroup in the kernel, on the address the kernel is about to use (no
 * copy a racing thread could change), redirect DNS to fnguard's stub and
 * make the stub's replies look like the nameserver's.
 *
 * The same order of judgement as policy/netverdict.c and supervisor/net.c:
 * Runtime API, loopback (on the address as written), CIDR entries, then
 * addresses learned through DNS (both on the normalised address),
 * glibc's address-selection probe, refusal. */
/* The context's layout is UAPI: no CO-RE relocations, so libbpf need not
 * parse the kernel's BTF (~60 ms) on every start. */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "net.h"

#define AF_INET     2
#define AF_INET6    10
#define SOCK_STREAM 1
#define SOCK_DGRAM  2

/* Set by the loader before load; the verifier sees them as constants. */
const volatile __u8 loopback_ok = 1;
const volatile __u8 log_allowed = 0;
const volatile __u8 let_refused = 0; /* log/audit: refused calls go on */
/* action kill: the refused task is killed before its call returns (as the
 * notify path does), so nothing it runs after the refusal happens. */
const volatile __u8 kill_refused = 0;
/* Set after load, once the DNS stub has its port (.bss, mmap'd). */
volatile __u32 stub_ip4;  /* network order; 0: no DNS stub */
volatile __u32 stub_port; /* network order, in the low 16 bits */
/* fnguard's pid namespace (nsfs device and inode): event thread ids as
 * fnguard sees them, inside a container too. 0: the global ids. */
const volatile __u64 pidns_dev = 0;
const volatile __u64 pidns_ino = 0;
/* Tests only: a program the verifier must reject, to exercise the
 * rejection path (FNGUARD_TEST_BPF_REJECT). */
const volatile __u8 test_reject = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fng_cidr_key);
	__type(value, struct fng_slots);
} cidrs SEC(".maps");

/* Addresses learned by the DNS stub, by address (16 bytes). LRU: when
 * full, the oldest is dropped and its connects are refused (fail closed). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u8[16]);
	__type(value, struct fng_slots);
} learned SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, struct fng_special_key);
	__type(value, __u32);
} special SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct fng_ns);
} redirects SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FNG_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

union addr {
	__u8 b[16];
	__u32 w[4];
};

struct call {
	union addr raw;  /* as written (IPv4 mapped) */
	union addr norm; /* NAT64 / 6to4 unwrapped */
	__u32 family;
	__u16 port; /* host order */
	__u8 proto;
	__u8 kind;
};

static __always_inline bool is_mapped(const union addr *a)
{
	return a->w[0] == 0 && a->w[1] == 0 && a->w[2] == bpf_htonl(0xffff);
}

static __always_inline void set_mapped(union addr *a, __u32 ip4)
{
	a->w[0] = 0;
	a->w[1] = 0;
	a->w[2] = bpf_htonl(0xffff);
	a->w[3] = ip4;
}

static __always_inline bool is_loopback(const union addr *a)
{
	if (is_mapped(a)) {
		__u32 h = bpf_ntohl(a->w[3]);
		return (h >> 24) == 127 || h == 0;
	}
	return a->w[0] == 0 && a->w[1] == 0 && a->w[2] == 0 &&
	       (a->w[3] == 0 || a->w[3] == bpf_htonl(1));
}

static __always_inline void normalize(struct call *c)
{
	const union addr *a = &c->raw;

	c->norm = c->raw;
	if (a->w[0] == bpf_htonl(0x0064ff9b) && a->w[1] == 0 && a->w[2] == 0) {
		set_mapped(&c->norm, a->w[3]); /* NAT64, RFC 6052 prefix */
	} else if (!is_mapped(a) && (bpf_ntohl(a->w[0]) >> 16) == 0x2002) {
		/* 6to4: 2002:AABB:CCDD::/48 carries AABBCCDD */
		__u32 v4 = (bpf_ntohl(a->w[0]) << 16) | (bpf_ntohl(a->w[1]) >> 16);
		set_mapped(&c->norm, bpf_htonl(v4));
	}
}

static __always_inline __u8 proto_of(struct bpf_sock_addr *ctx)
{
	__u32 t = ctx->type;
	return t == SOCK_STREAM ? FNG_PROTO_TCP : t == SOCK_DGRAM ? FNG_PROTO_UDP : FNG_PROTO_OTHER;
}

/* A global function: verified once, not once per caller. Scalars only
 * (what every kernel with global functions accepts): the address in two
 * halves, the rest packed. */
__attribute__((noinline)) int emit(__u64 hi, __u64 lo, __u64 packed, __u32 family)
{
	struct fng_event *e = bpf_ringbuf_reserve(&events, sizeof *e, 0);

	if (!e) {
		/* The call is still judged; only its line is lost, and counted
		 * so that fnguard says how many (and knows of a kill). */
		__u8 why = (__u8)(packed >> 48);
		__u32 k = why == FNG_WHY_REFUSED || why == FNG_WHY_RTAPI || why == FNG_WHY_V6DNS
				  ? FNG_CNT_LOST_REFUSED
				  : FNG_CNT_LOST_ALLOWED;
		__u64 *n = bpf_map_lookup_elem(&counts, &k);
		if (n)
			*n += 1;
		return 0;
	}
	e->tid = (__u32)bpf_get_current_pid_tgid();
	if (pidns_ino) {
		struct bpf_pidns_info ns = { 0 };
		if (!bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof ns))
			e->tid = ns.pid;
	}
	e->port = (__u16)packed;
	e->rule = (__u16)(packed >> 16);
	e->kind = (__u8)(packed >> 32);
	e->allowed = (__u8)(packed >> 40);
	e->why = (__u8)(packed >> 48);
	e->proto = (__u8)(packed >> 56);
	e->family = family;
	__builtin_memcpy(e->addr, &hi, 8);
	__builtin_memcpy(e->addr + 8, &lo, 8);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline void emit_call(const struct call *c, __u8 allowed, __u8 why, __u16 rule)
{
	__u64 hi = (__u64)c->raw.w[0] | (__u64)c->raw.w[1] << 32;
	__u64 lo = (__u64)c->raw.w[2] | (__u64)c->raw.w[3] << 32;
	__u64 packed = (__u64)c->port | (__u64)rule << 16 | (__u64)c->kind << 32 |
		       (__u64)allowed << 40 | (__u64)why << 48 | (__u64)c->proto << 56;

	emit(hi, lo, packed, c->family);
}

static __always_inline int allow(const struct call *c, __u8 why, __u16 rule)
{
	if (log_allowed) {
		emit_call(c, 1, why, rule);
	} else {
		__u32 k = c->kind;
		__u64 *n = bpf_map_lookup_elem(&counts, &k);
		if (n)
			*n += 1;
	}
	return 1;
}

static __always_inline int refuse(const struct call *c, __u8 why)
{
	emit_call(c, let_refused, why, 0);
	if (kill_refused)
		bpf_send_signal(9 /* SIGKILL, delivered on the way out of the call */);
	return let_refused ? 1 : 0;
}

/* First slot whose port fits (port 0 in a slot: any; a destination port
 * 0 fits only such a slot) and, for learned addresses, not expired. */
static __always_inline int slot_fit(const struct fng_slots *s, __u16 port, bool timed, __u64 now)
{
	for (int i = 0; i < FNG_SLOTS; i++) {
		if (i >= s->n)
			break;
		if (timed && s->expires_ns[i] <= now)
			continue;
		if (s->port[i] == 0 || s->port[i] == port)
			return i;
	}
	return -1;
}

static __always_inline bool slot_live(const struct fng_slots *s, __u64 now)
{
	for (int i = 0; i < FNG_SLOTS; i++) {
		if (i >= s->n)
			break;
		if (s->expires_ns[i] > now)
			return true;
	}
	return false;
}

static __always_inline int judge(struct call *c)
{
	struct fng_special_key sk = { .port = c->port };
	struct fng_cidr_key ck = { .prefixlen = 8 + 128 };
	const struct fng_slots *s, *l;
	__u64 now = bpf_ktime_get_ns();
	int i;

	__builtin_memcpy(sk.addr, c->raw.b, 16);
	__u32 *sp = bpf_map_lookup_elem(&special, &sk);
	if (sp && *sp == FNG_SPECIAL_PROXY)
		return 1; /* fnguard's own Runtime API proxy: never logged */
	if (sp && *sp == FNG_SPECIAL_UPSTREAM)
		return refuse(c, FNG_WHY_RTAPI);
	if (loopback_ok && is_loopback(&c->raw))
		return allow(c, FNG_WHY_LOOPBACK, 0);
	normalize(c);
	if (is_mapped(&c->norm)) {
		ck.data[0] = 4;
		__builtin_memcpy(&ck.data[1], &c->norm.w[3], 4);
	} else {
		ck.data[0] = 6;
		__builtin_memcpy(&ck.data[1], c->norm.b, 16);
	}
	s = bpf_map_lookup_elem(&cidrs, &ck);
	if (s && (i = slot_fit(s, c->port, false, now)) >= 0 && i < FNG_SLOTS)
		return allow(c, FNG_WHY_STATIC, s->rule[i]);
	l = bpf_map_lookup_elem(&learned, c->norm.b);
	if (l && (i = slot_fit(l, c->port, true, now)) >= 0 && i < FNG_SLOTS)
		return allow(c, FNG_WHY_DNS, l->rule[i]);
	/* glibc connects a UDP socket to port 0 of each answer to learn its
	 * source address (RFC 3484 sorting); nothing is sent. */
	if (c->port == 0 && c->proto == FNG_PROTO_UDP && c->kind == FNG_EV_CONNECT &&
	    ((s && s->n) || (l && slot_live(l, now))))
		return allow(c, FNG_WHY_ADDRSEL, 0);
	return refuse(c, FNG_WHY_REFUSED);
}

static __always_inline bool is_dns(const struct call *c)
{
	return stub_ip4 && c->port == 53 &&
	       (c->proto == FNG_PROTO_TCP || c->proto == FNG_PROTO_UDP);
}

static __always_inline void remember_ns(struct bpf_sock_addr *ctx, const struct call *c)
{
	__u64 cookie = bpf_get_socket_cookie(ctx);
	struct fng_ns ns = { .family = c->family, .port = bpf_htons(c->port) };

	__builtin_memcpy(ns.addr, c->raw.b, 16);
	bpf_map_update_elem(&redirects, &cookie, &ns, BPF_ANY);
}

/* An IPv6 socket connected to a v4-mapped address hands every send to
 * the IPv4 path with the peer as its destination, so sendmsg4 runs for
 * sends that name no address. The peer was judged (or redirected to the
 * stub) at connect, as the notify engine does: not judged again. */
static __always_inline bool to_connected_peer(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;

	if (!sk || sk->state != 1 /* TCP_ESTABLISHED: a connected UDP socket */)
		return false;
	return sk->dst_ip4 == ctx->user_ip4 && (__u16)sk->dst_port == (__u16)ctx->user_port;
}

static __always_inline int from4(struct bpf_sock_addr *ctx, __u8 kind)
{
	struct call c = { .family = AF_INET, .kind = kind, .proto = proto_of(ctx) };

	if (test_reject) {
		/* A scalar used as a pointer: the verifier refuses it. */
		return *(volatile int *)(long)ctx->user_port;
	}
	set_mapped(&c.raw, ctx->user_ip4);
	c.port = bpf_ntohs((__u16)ctx->user_port);
	if (kind == FNG_EV_SEND && to_connected_peer(ctx))
		return 1;
	if (is_dns(&c)) {
		remember_ns(ctx, &c);
		ctx->user_ip4 = stub_ip4;
		ctx->user_port = stub_port;
		return 1;
	}
	return judge(&c);
}

static __always_inline int from6(struct bpf_sock_addr *ctx, __u8 kind)
{
	struct call c = { .family = AF_INET6, .kind = kind, .proto = proto_of(ctx) };

	c.raw.w[0] = ctx->user_ip6[0];
	c.raw.w[1] = ctx->user_ip6[1];
	c.raw.w[2] = ctx->user_ip6[2];
	c.raw.w[3] = ctx->user_ip6[3];
	c.port = bpf_ntohs((__u16)ctx->user_port);
	if (is_dns(&c)) {
		/* The stub listens on 127.0.0.1: an IPv6 socket reaches it
		 * v4-mapped, which connect accepts but an unconnected
		 * sendmsg6 does not (the kernel refuses a v4-mapped rewrite). */
		if (kind == FNG_EV_SEND)
			return refuse(&c, FNG_WHY_V6DNS);
		remember_ns(ctx, &c);
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0xffff);
		ctx->user_ip6[3] = stub_ip4;
		ctx->user_port = stub_port;
		return 1;
	}
	return judge(&c);
}

SEC("cgroup/connect4")
int fng_connect4(struct bpf_sock_addr *ctx)
{
	return from4(ctx, FNG_EV_CONNECT);
}

SEC("cgroup/connect6")
int fng_connect6(struct bpf_sock_addr *ctx)
{
	return from6(ctx, FNG_EV_CONNECT);
}

SEC("cgroup/sendmsg4")
int fng_sendmsg4(struct bpf_sock_addr *ctx)
{
	return from4(ctx, FNG_EV_SEND);
}

SEC("cgroup/sendmsg6")
int fng_sendmsg6(struct bpf_sock_addr *ctx)
{
	return from6(ctx, FNG_EV_SEND);
}

/* A reply from the stub on a socket whose DNS was redirected: the source
 * becomes the nameserver the workload asked (glibc and c-ares drop
 * replies from any other address). */
static __always_inline const struct fng_ns *stub_reply(struct bpf_sock_addr *ctx, __u32 ip4)
{
	__u64 cookie;

	if (!stub_ip4 || ip4 != stub_ip4 || (__u16)ctx->user_port != stub_port)
		return NULL;
	cookie = bpf_get_socket_cookie(ctx);
	return bpf_map_lookup_elem(&redirects, &cookie);
}

SEC("cgroup/recvmsg4")
int fng_recvmsg4(struct bpf_sock_addr *ctx)
{
	const struct fng_ns *ns = stub_reply(ctx, ctx->user_ip4);
	const union addr *a;

	if (!ns || ns->family != AF_INET)
		return 1;
	a = (const union addr *)ns->addr;
	ctx->user_ip4 = a->w[3];
	ctx->user_port = ns->port;
	return 1;
}

SEC("cgroup/recvmsg6")
int fng_recvmsg6(struct bpf_sock_addr *ctx)
{
	union addr src;
	const struct fng_ns *ns;
	const union addr *a;

	src.w[0] = ctx->user_ip6[0];
	src.w[1] = ctx->user_ip6[1];
	src.w[2] = ctx->user_ip6[2];
	src.w[3] = ctx->user_ip6[3];
	if (!is_mapped(&src))
		return 1;
	ns = stub_reply(ctx, src.w[3]);
	if (!ns)
		return 1;
	/* An IPv4 nameserver asked from an IPv6 socket stays v4-mapped. */
	a = (const union addr *)ns->addr;
	ctx->user_ip6[0] = a->w[0];
	ctx->user_ip6[1] = a->w[1];
	ctx->user_ip6[2] = a->w[2];
	ctx->user_ip6[3] = a->w[3];
	ctx->user_port = ns->port;
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
