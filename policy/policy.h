/* Policy model: plain data read by every enforcement tier, and its loader.
 *
 * Nothing in policy/ makes a system call: the caller reads the file and
 * hands the bytes to policy_parse(); every diagnostic carries FILE:LINE:COL.
 */
#ifndef FNG_POLICY_H
#define FNG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pol_action {
	POL_ACT_UNSET = 0, /* inherit: section -> top level -> kill */
	POL_ACT_KILL,
	POL_ACT_DENY,
	POL_ACT_LOG,
};

enum pol_mode { POL_MODE_ENFORCE = 0, POL_MODE_AUDIT };

/* Ordered: a larger value is a stronger tier. */
enum pol_tier { POL_TIER_ANY = 0, POL_TIER_PRELOAD, POL_TIER_KERNEL };

enum pol_engine { POL_ENGINE_AUTO = 0, POL_ENGINE_NOTIFY, POL_ENGINE_BPF };
/* Which scanned code files are handed to the workload as fnguard's own
 * open file (ADDFD): those it could rewrite or re-point (the default),
 * or every one. */
enum pol_handover { POL_HANDOVER_WRITABLE = 0, POL_HANDOVER_ALWAYS };

enum pol_secrets { POL_SECRETS_ENV = 0, POL_SECRETS_NONE };

struct pol_loc {
	int line; /* 1-based; 0 when the value is a default */
	int col;  /* 1-based */
};

/* A list of strings, each with the place it was written. */
struct pol_strv {
	char **v;
	struct pol_loc *loc;
	size_t n;
};

enum pol_net_kind {
	POL_NET_DOMAIN,   /* api.example.com: exactly this name */
	POL_NET_WILDCARD, /* *.example.com: any name below example.com, not the apex */
	POL_NET_CIDR,     /* 10.0.0.0/8, [2001:db8::]/32:443, 192.0.2.1 (a /32) */
};

struct pol_net_entry {
	enum pol_net_kind kind;
	char *text;       /* as written in the policy */
	char *domain;     /* DOMAIN/WILDCARD: lower case, no trailing dot; for a
			   * wildcard the suffix without "*." */
	int family;       /* CIDR: AF_INET or AF_INET6 */
	uint8_t addr[16]; /* CIDR: network address, host bits clear; IPv4 in
			   * the first 4 bytes */
	int prefix;       /* CIDR: 0..32 or 0..128 */
	uint16_t port;    /* 0 = any port */
	struct pol_loc loc;
};

struct pol_rule {
	char *id;
	char *pattern;  /* PCRE2 syntax, checked by the loader */
	char *message;  /* may be NULL */
	char *severity; /* may be NULL: low | medium | high | critical */
	struct pol_loc loc;
};

struct pol_exec {
	bool present;
	struct pol_strv allow; /* absolute-path globs (see pol_glob_match) */
	/* Filled by the enforcing tier at start (policy/ makes no syscalls):
	 * entries whose literal part runs through a symlink, resolved
	 * (/bin/sh -> /usr/bin/dash, /bin/py* -> /usr/bin/py*); real_of[i] is
	 * the index in allow of the entry allow_real.v[i] came from. */
	struct pol_strv allow_real;
	size_t *real_of;
	enum pol_action action;
	struct pol_loc loc;
};

struct pol_network {
	bool present;
	struct pol_net_entry *allow;
	size_t n_allow;
	bool loopback; /* default true */
	enum pol_engine engine;
	enum pol_action action;
	struct pol_loc loc;
};

struct pol_code {
	bool present;
	struct pol_strv paths;
	struct pol_rule *rules;
	size_t n_rules;
	struct pol_strv rule_files; /* as written; relative to the policy's directory */
	/* A verdict cache written by `fnguard scan --write-cache`, as written
	 * (relative to the policy's directory); NULL: none. */
	char *cache;
	enum pol_handover handover;
	enum pol_action action;
	struct pol_loc loc;
};

enum pol_detector {
	POL_DETECT_SQLI = 1u << 0,
	POL_DETECT_CMDI = 1u << 1,
	POL_DETECT_XSS = 1u << 2,
	POL_DETECT_PATH_TRAVERSAL = 1u << 3,
};

struct pol_events {
	bool present;
	unsigned detect; /* enum pol_detector bits */
	struct pol_strv rule_files;
	enum pol_action action;
	struct pol_loc loc;
};

struct pol_responses {
	bool present;
	enum pol_secrets secrets;
	struct pol_strv rule_files;
	enum pol_action action;
	struct pol_loc loc;
};

struct pol_log {
	char *sink;   /* NULL or "stderr": stderr; "stdout"; else a file path */
	bool allowed; /* also log allowed decisions */
};

struct policy {
	int version;
	char *name; /* NULL: caller picks $AWS_LAMBDA_FUNCTION_NAME or the command */
	enum pol_mode mode;
	enum pol_action action; /* top-level default; POL_ACT_UNSET means kill */
	enum pol_tier require;
	struct pol_exec exec;
	struct pol_network network;
	struct pol_code code;
	struct pol_events events;
	struct pol_responses responses;
	struct pol_log log;
	char *file; /* the file name given to policy_parse */
};

/* One problem found in a policy. */
struct pol_diag {
	char *file;
	int line;
	int col;
	char *msg;
};

struct pol_diags {
	struct pol_diag *v;
	size_t n;
};

/* Parse and validate a policy held in buf[0..len). Every problem is
 * appended to diags (all of them, not only the first).
 * Returns 0 and sets *out (owned by the caller; free with policy_free)
 * when there is no error; -EINVAL with *out = NULL when diags holds at
 * least one error; -ENOMEM. `file` is copied; it is only used in messages. */
int policy_parse(const char *buf, size_t len, const char *file, struct policy **out,
		 struct pol_diags *diags);

/* A policy with every section absent and the defaults set; for tests. */
struct policy *policy_new_default(void);

void policy_free(struct policy *p); /* accepts NULL */

void pol_diags_clear(struct pol_diags *d); /* frees the entries; d stays usable */

/* Effective action of a section after inheritance (never POL_ACT_UNSET). */
enum pol_action policy_effective(const struct policy *p, enum pol_action section);

const char *pol_action_name(enum pol_action a); /* "kill" "deny" "log" */
const char *pol_tier_name(enum pol_tier t);     /* "any" "preload" "kernel" */

/* Glob match for exec paths: `*` and `?` stop at '/', `**` crosses '/',
 * `[a-z]` / `[!a-z]` classes, `\` escapes. Pure; no allocation. */
bool pol_glob_match(const char *pattern, const char *path);

/* Returns NULL when the glob is well formed, else a static message. */
const char *pol_glob_check(const char *pattern);

/* Exec verdict, shared by every tier. `real` is the canonical path of the
 * file that will run (symlinks resolved); `given` (the path the workload
 * passed, made absolute) is judged only when real is NULL. Judging the
 * real file keeps a symlink under an allowed glob (/tmp/ANY -> /bin/sh)
 * from running what it points to. `initial` lists the command paths that
 * are always allowed (may be NULL). */
struct pol_verdict {
	bool allowed;
	const char *rule;   /* borrowed from the policy: the glob that matched,
			     * or a fixed string such as "exec.allow" */
	const char *reason; /* static text for violations */
};

void pol_exec_verdict(const struct policy *p, const char *given, const char *real,
		      const struct pol_strv *initial, struct pol_verdict *out);

/* ---- Network verdicts, shared by every tier (pure; netverdict.c) ---- */

/* A destination as the workload named it. */
struct pol_addr {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; IPv4 in the first 4 bytes */
	uint16_t port;    /* host byte order; 0 when the call has none */
};

/* The address to judge: IPv4-mapped (::ffff:a.b.c.d), NAT64
 * (64:ff9b::/96) and 6to4 (2002:AABB:CCDD::/48) become the IPv4 address
 * inside; anything else is copied. out may equal in. */
void pol_addr_normalize(const struct pol_addr *in, struct pol_addr *out);

/* Never leaves the host: 127.0.0.0/8, ::1, 0.0.0.0, ::, and their
 * IPv4-mapped forms. Not NAT64/6to4 forms (those reach a gateway). */
bool pol_addr_is_loopback(const struct pol_addr *a);

/* Judges a destination against the static rules: loopback (unless
 * network.loopback is false) and the CIDR entries with their ports.
 * Domain entries are not consulted: addresses learned through DNS are the
 * caller's state. With no network section everything is allowed
 * ("network:absent"). rule is the matching entry's text, "loopback", or
 * "network.allow" with a reason when refused. */
void pol_net_addr_verdict(const struct policy *p, const struct pol_addr *a,
			  struct pol_verdict *out);

/* True when some static rule (loopback or a CIDR) covers the address on
 * any port: for the UDP connect to port 0 that glibc's getaddrinfo makes
 * to sort addresses (RFC 3484), which sends nothing. */
bool pol_net_addr_any_port(const struct policy *p, const struct pol_addr *a);

/* True when a DNS name (any case, trailing dot ignored) is allowed by
 * entry e: exact for POL_NET_DOMAIN, a strict subdomain for
 * POL_NET_WILDCARD; never for CIDR entries, nor for names with an empty
 * label or a backslash (escaped text form). */
bool pol_net_entry_name_matches(const struct pol_net_entry *e, const char *name);

/* True when e allows the port (e->port 0 allows every port). */
bool pol_net_entry_port_ok(const struct pol_net_entry *e, uint16_t port);

/* The first domain entry at or after *index that allows name; *index is
 * set to its position (so callers can walk every matching entry), or
 * NULL when none. index may be NULL (start at 0). */
const struct pol_net_entry *pol_net_name_match(const struct policy *p, const char *name,
					       size_t *index);

#endif
