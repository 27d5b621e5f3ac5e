/* The ABI between net.bpf.c and its loader (bpfnet.c): map keys and
 * values, and the event the programs send through the ring buffer.
 *
 * Every address is 16 bytes; IPv4 is kept in its IPv4-mapped form
 * (::ffff:a.b.c.d), so one map serves both families and a mapped IPv6
 * destination finds the IPv4 rules by construction. */
#ifndef FNG_BPF_NET_H
#define FNG_BPF_NET_H

/* Rules kept per static prefix or per learned address; more than this
 * many rules on one address is refused by the loader (never cut). */
#define FNG_SLOTS 8

/* Rules and ports of one prefix of network.allow, including those of
 * every shorter prefix that covers it: the trie returns only the longest
 * match. Slots are in policy order, so the first fit is the rule the
 * notify path names. */
struct fng_cidr_key {
	__u32 prefixlen; /* 8 (the family tag) + the entry's prefix */
	/* data[0]: 4 or 6, so an IPv6 entry never covers an IPv4 address
	 * (as in netverdict.c); then the address, IPv4 in data[1..4]. */
	__u8 data[20];
};

struct fng_slots {
	__u32 n;
	__u16 port[FNG_SLOTS];       /* host order; 0: any port */
	__u16 rule[FNG_SLOTS];       /* index into network.allow */
	__u64 expires_ns[FNG_SLOTS]; /* learned only: CLOCK_MONOTONIC */
};

/* Runtime API addresses (fnguard's proxy: allowed; the real API:
 * refused), looked up before any rule. */
struct fng_special_key {
	__u8 addr[16];
	__u16 port; /* host order */
	__u16 pad;
};

enum fng_special { FNG_SPECIAL_PROXY = 1, FNG_SPECIAL_UPSTREAM = 2 };

/* Where a redirected DNS socket meant to send, by socket cookie. */
struct fng_ns {
	__u32 family; /* AF_INET / AF_INET6 */
	__u8 addr[16];
	__u16 port; /* network order */
	__u16 pad;
};

enum fng_kind { FNG_EV_CONNECT = 0, FNG_EV_SEND = 1 };

/* Why a destination was allowed, or refused. */
enum fng_why {
	FNG_WHY_REFUSED = 0,  /* no rule */
	FNG_WHY_STATIC = 1,   /* a CIDR entry: rule is its index */
	FNG_WHY_DNS = 2,      /* an address learned for a domain entry: rule */
	FNG_WHY_LOOPBACK = 3, /* network.loopback */
	FNG_WHY_ADDRSEL = 4,  /* glibc's UDP connect to port 0 (sends nothing) */
	FNG_WHY_RTAPI = 5,    /* refused: the real Runtime API */
	FNG_WHY_V6DNS = 6,    /* refused: unconnected DNS over IPv6 */
};

enum fng_proto { FNG_PROTO_OTHER = 0, FNG_PROTO_TCP = 1, FNG_PROTO_UDP = 2 };

struct fng_event {
	__u32 tid;
	__u8 kind;    /* enum fng_kind */
	__u8 allowed; /* 1: let through (allowed, or refused under log/audit) */
	__u8 why;     /* enum fng_why */
	__u8 proto;   /* enum fng_proto */
	__u32 family; /* as the workload named it */
	__u8 addr[16];
	__u16 port; /* host order */
	__u16 rule;
};

/* Per-CPU counters: allowed calls not sent as events (log.allowed off),
 * for the exit line's counts; and events the full ring buffer had no
 * room for (the verdict stands; only its line is missing), which fnguard
 * reports as such. */
enum fng_count {
	FNG_CNT_CONNECT = 0,
	FNG_CNT_SEND = 1,
	FNG_CNT_LOST_REFUSED = 2,
	FNG_CNT_LOST_ALLOWED = 3,
	FNG_CNT_MAX = 4
};

#endif
