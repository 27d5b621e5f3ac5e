/* `fnguard learn`: what an audit run did, as the policy that allows just
 * that. Every line counts as evidence whatever its action: in an audit
 * log, "audit" lines are what the audit policy would have blocked and
 * "allow" lines (log.allowed) what it allowed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "rep_int.h"
#include "learn.h"

/* Distinct names under one zone before they become "*.zone": fewer are
 * listed one by one (tighter), more look like a sharded service
 * (bucket-1.s3…, node-7.cluster…) whose next name no run can predict. */
#define WILDCARD_MIN 3
#define FIELD        1024

struct learn {
	uint64_t lines, fng, skipped, runs, audit_runs, enforce_runs, blocked;
	char first_ts[32], last_ts[32];
	struct rep_tally functions;
	struct rep_tally execs;  /* path */
	struct rep_tally names;  /* DNS name */
	struct rep_tally qtypes; /* name \x1f qtype */
	struct rep_tally conns;  /* proto \x1f addr \x1f port \x1f domain */
	struct rep_tally dirs;   /* code directory; aux: files */
	struct rep_tally files;  /* code file */
	struct rep_tally broken; /* code rule \x1f path, what a code section would refuse */
};

int learn_new(struct learn **out)
{
	*out = calloc(1, sizeof **out);
	return *out ? 0 : -ENOMEM;
}

void learn_free(struct learn *l)
{
	if (!l)
		return;
	struct rep_tally *t[] = { &l->functions, &l->execs, &l->names, &l->qtypes,
				  &l->conns,     &l->dirs,  &l->files, &l->broken };
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		rep_tally_free(t[i]);
	free(l);
}

static int count(struct rep_tally *t, const char *key)
{
	struct rep_cnt *c = rep_tally_get(t, key, strlen(key));

	if (!c)
		return -ENOMEM;
	c->n[RA_ALLOW]++;
	return 0;
}

static int see_code(struct learn *l, const struct rep_line *ln, const char *action)
{
	char path[FIELD], rule[FIELD], key[2 * FIELD];
	size_t before = l->files.n;

	rep_val_text(&ln->v[RK_PATH], path, sizeof path);
	rep_val_text(&ln->v[RK_RULE], rule, sizeof rule);
	if (path[0] != '/')
		return 0;
	if (strcmp(action, "allow") != 0 && rule[0]) {
		snprintf(key, sizeof key, "%s\x1f%s", rule, path);
		return count(&l->broken, key);
	}
	if (count(&l->files, path) < 0)
		return -ENOMEM;
	char *slash = strrchr(path, '/');
	*slash = 0;
	struct rep_cnt *d =
		rep_tally_get(&l->dirs, path[0] ? path : "/", strlen(path[0] ? path : "/"));
	if (!d)
		return -ENOMEM;
	d->n[RA_ALLOW]++;
	if (l->files.n != before)
		d->aux++;
	return 0;
}

static int see_net(struct learn *l, const struct rep_line *ln, const char *event)
{
	char proto[16], addr[64], port[16], domain[FIELD], rule[64], key[2 * FIELD];

	rep_val_text(&ln->v[RK_RULE], rule, sizeof rule);
	/* fnguard's own Runtime API proxy: always reachable, never listed. */
	if (!strcmp(rule, "runtime-api"))
		return 0;
	rep_val_text(&ln->v[RK_PROTO], proto, sizeof proto);
	rep_val_text(&ln->v[RK_ADDR], addr, sizeof addr);
	rep_val_text(&ln->v[RK_PORT], port, sizeof port);
	domain[0] = 0;
	if (ln->v[RK_DOMAIN].type == RV_STRING)
		rep_val_text(&ln->v[RK_DOMAIN], domain, sizeof domain);
	if (!addr[0] || !port[0])
		return 0;
	snprintf(key, sizeof key, "%s\x1f%s\x1f%s\x1f%s\x1f%s", proto[0] ? proto : event, addr,
		 port, domain, event);
	return count(&l->conns, key);
}

int learn_feed_line(struct learn *l, const char *line, size_t len)
{
	char ts[40], event[32], action[16], buf[FIELD], key[2 * FIELD];
	struct rep_line ln;

	l->lines++;
	if (!rep_line_parse(line, len, &ln)) {
		l->skipped += len > 0;
		return 0;
	}
	l->fng++;
	rep_val_text(&ln.v[RK_TS], ts, sizeof ts);
	rep_val_text(&ln.v[RK_EVENT], event, sizeof event);
	rep_val_text(&ln.v[RK_ACTION], action, sizeof action);
	if (!l->first_ts[0] || strcmp(ts, l->first_ts) < 0)
		snprintf(l->first_ts, sizeof l->first_ts, "%s", ts);
	if (strcmp(ts, l->last_ts) > 0)
		snprintf(l->last_ts, sizeof l->last_ts, "%s", ts);
	rep_val_text(&ln.v[RK_FUNCTION], buf, sizeof buf);
	if (buf[0] && count(&l->functions, buf) < 0)
		return -ENOMEM;
	if (!strcmp(action, "deny") || !strcmp(action, "kill"))
		l->blocked++;
	if (!strcmp(event, "start")) {
		l->runs++;
		if (rep_val_is(&ln.v[RK_MODE], "audit"))
			l->audit_runs++;
		else
			l->enforce_runs++;
		return 0;
	}
	if (!strcmp(event, "exec")) {
		rep_val_text(&ln.v[RK_RULE], buf, sizeof buf);
		/* The command itself is always allowed. */
		if (!strcmp(buf, "command"))
			return 0;
		rep_val_text(&ln.v[RK_PATH], buf, sizeof buf);
		return buf[0] == '/' ? count(&l->execs, buf) : 0;
	}
	if (!strcmp(event, "dns")) {
		char qtype[16];
		rep_val_text(&ln.v[RK_NAME], buf, sizeof buf);
		rep_val_text(&ln.v[RK_QTYPE], qtype, sizeof qtype);
		if (!buf[0])
			return 0;
		snprintf(key, sizeof key, "%s\x1f%s", buf, qtype);
		return count(&l->names, buf) < 0 || count(&l->qtypes, key) < 0 ? -ENOMEM : 0;
	}
	if (!strcmp(event, "connect") || !strcmp(event, "send"))
		return see_net(l, &ln, event);
	if (!strcmp(event, "code"))
		return see_code(l, &ln, action);
	return 0;
}

static int learn_cb(void *arg, const char *line, size_t len)
{
	struct learn *l = arg;

	if (!line) {
		l->lines++;
		l->skipped++;
		return 0;
	}
	return learn_feed_line(l, line, len);
}

int learn_feed_fd(struct learn *l, int fd)
{
	return rep_read_lines(fd, learn_cb, l);
}

/* ---- writing the policy ------------------------------------------------ */

/* A YAML double-quoted scalar (JSON escapes are valid YAML ones). */
static void yaml_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* Comment text: one line whatever the log held. */
static void comment(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, f);
}

static const char *times(uint64_t n)
{
	return n == 1 ? "time" : "times";
}

static bool has_glob_chars(const char *s)
{
	return strpbrk(s, "*?[]{}\\") != NULL;
}

static void write_exec(const struct learn *l, FILE *f)
{
	_cleanup_free_ const struct rep_cnt **v = rep_tally_sorted(&l->execs, true);

	fputs("exec:\n", f);
	if (!v || !l->execs.n) {
		fputs("  allow: []   # nothing but the command itself was executed\n", f);
		return;
	}
	fputs("  allow:\n", f);
	for (size_t i = 0; i < l->execs.n; i++) {
		if (has_glob_chars(v[i]->key)) {
			fputs("    # not listed, its name has glob characters: ", f);
			comment(f, v[i]->key);
			fputc('\n', f);
			continue;
		}
		fputs("    - ", f);
		yaml_str(f, v[i]->key);
		fprintf(f, "   # executed %llu %s\n", (unsigned long long)v[i]->n[RA_ALLOW],
			times(v[i]->n[RA_ALLOW]));
	}
}

/* One connection key taken apart: proto, addr, port, domain, event. */
struct conn {
	char buf[2 * FIELD];
	const char *part[5];
};

static void conn_split(const char *key, struct conn *c)
{
	snprintf(c->buf, sizeof c->buf, "%s", key);
	char *p = c->buf;
	for (int i = 0; i < 5; i++) {
		c->part[i] = p ? p : "";
		char *sep = p ? strchr(p, '\x1f') : NULL;
		if (sep)
			*sep = 0;
		p = sep ? sep + 1 : NULL;
	}
}

static bool is_loopback(const char *addr)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, addr, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, addr, a) == 1)
		return !memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) ||
		       (!memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) && a[12] == 127);
	return false;
}

/* The zone a name's wildcard would cover, or NULL for names of two
 * labels or fewer (never "*.com"). */
static const char *zone_of(const char *name)
{
	const char *dot = strchr(name, '.');

	return dot && strchr(dot + 1, '.') ? dot + 1 : NULL;
}

struct net {
	struct rep_tally ports; /* name or *.zone \x1f port; n: connections */
	struct rep_tally hosts; /* name or *.zone; n: lookups, aux: names (zones) */
	struct rep_tally zones; /* zone; aux: distinct names */
	struct rep_tally addrs; /* addr:port; n: connections; aux2: udp */
	bool loopback;
};

static void net_free(struct net *n)
{
	rep_tally_free(&n->ports);
	rep_tally_free(&n->hosts);
	rep_tally_free(&n->zones);
	rep_tally_free(&n->addrs);
}

/* The entry a name is allowed by: itself, or its zone's wildcard. */
static void host_of(const struct net *n, const char *name, char *out, size_t size)
{
	const char *z = zone_of(name);
	const struct rep_cnt *c = z ? rep_tally_find(&n->zones, z) : NULL;

	if (c && c->aux >= WILDCARD_MIN)
		snprintf(out, size, "*.%s", z);
	else
		snprintf(out, size, "%s", name);
}

static int net_zone(struct net *n, const char *name)
{
	const char *z = zone_of(name);
	struct rep_cnt *c;

	if (!z)
		return 0;
	c = rep_tally_get(&n->zones, z, strlen(z));
	if (!c)
		return -ENOMEM;
	c->aux++;
	return 0;
}

static int net_build(const struct learn *l, struct net *n)
{
	char host[FIELD + 2], key[2 * FIELD];
	struct conn c;
	struct rep_cnt *e;

	/* Every distinct name once, for the zone counts. */
	struct rep_tally all = { 0 };
	for (size_t i = 0; i < l->names.n; i++)
		if (!rep_tally_get(&all, l->names.v[i].key, strlen(l->names.v[i].key)))
			goto oom;
	for (size_t i = 0; i < l->conns.n; i++) {
		conn_split(l->conns.v[i].key, &c);
		if (c.part[3][0] && !rep_tally_get(&all, c.part[3], strlen(c.part[3])))
			goto oom;
	}
	for (size_t i = 0; i < all.n; i++)
		if (net_zone(n, all.v[i].key) < 0)
			goto oom;
	for (size_t i = 0; i < all.n; i++) {
		host_of(n, all.v[i].key, host, sizeof host);
		const struct rep_cnt *q = rep_tally_find(&l->names, all.v[i].key);
		if (!(e = rep_tally_get(&n->hosts, host, strlen(host))))
			goto oom;
		e->n[RA_ALLOW] += q ? q->n[RA_ALLOW] : 0;
		e->aux++;
	}
	rep_tally_free(&all);
	for (size_t i = 0; i < l->conns.n; i++) {
		uint64_t k = l->conns.v[i].n[RA_ALLOW];
		conn_split(l->conns.v[i].key, &c);
		if (c.part[3][0]) {
			host_of(n, c.part[3], host, sizeof host);
			snprintf(key, sizeof key, "%s\x1f%s", host, c.part[2]);
			if (!(e = rep_tally_get(&n->ports, key, strlen(key))))
				return -ENOMEM;
		} else {
			snprintf(key, sizeof key, strchr(c.part[1], ':') ? "[%s]:%s" : "%s:%s",
				 c.part[1], c.part[2]);
			if (!(e = rep_tally_get(&n->addrs, key, strlen(key))))
				return -ENOMEM;
			n->loopback |= is_loopback(c.part[1]);
		}
		e->n[RA_ALLOW] += k;
		if (!strcmp(c.part[0], "udp"))
			e->aux2 += k;
	}
	return 0;
oom:
	rep_tally_free(&all);
	return -ENOMEM;
}

static void write_hosts(const struct net *n, FILE *f)
{
	_cleanup_free_ const struct rep_cnt **h = rep_tally_sorted(&n->hosts, true);
	_cleanup_free_ const struct rep_cnt **p = rep_tally_sorted(&n->ports, true);
	char entry[FIELD + 16];

	if (!h || !p)
		return;
	for (size_t i = 0; i < n->hosts.n; i++) {
		const char *host = h[i]->key;
		size_t hl = strlen(host);
		bool any = false;
		char names[64] = "";

		if (host[0] == '*')
			snprintf(names, sizeof names, ", %llu names under it",
				 (unsigned long long)h[i]->aux);
		for (size_t j = 0; j < n->ports.n; j++) {
			const char *k = p[j]->key;
			if (strncmp(k, host, hl) != 0 || k[hl] != '\x1f')
				continue;
			any = true;
			snprintf(entry, sizeof entry, "%s:%s", host, k + hl + 1);
			fputs("    - ", f);
			yaml_str(f, entry);
			fprintf(f, "   # %llu connection%s, resolved %llu %s%s\n",
				(unsigned long long)p[j]->n[RA_ALLOW],
				p[j]->n[RA_ALLOW] == 1 ? "" : "s",
				(unsigned long long)h[i]->n[RA_ALLOW], times(h[i]->n[RA_ALLOW]),
				names);
		}
		if (any)
			continue;
		fputs("    - ", f);
		yaml_str(f, host);
		fprintf(f, "   # resolved %llu %s%s, no connection seen\n",
			(unsigned long long)h[i]->n[RA_ALLOW], times(h[i]->n[RA_ALLOW]), names);
	}
}

static int write_network(const struct learn *l, FILE *f)
{
	struct net n = { 0 };
	int rc = net_build(l, &n);
	_cleanup_free_ const struct rep_cnt **a = rc ? NULL : rep_tally_sorted(&n.addrs, true);

	if (rc < 0 || !a) {
		net_free(&n);
		return -ENOMEM;
	}
	fputs("network:\n", f);
	if (!n.hosts.n && !n.addrs.n) {
		fputs("  allow: []   # no name resolved, no address reached\n", f);
	} else {
		fputs("  allow:\n", f);
		write_hosts(&n, f);
		for (size_t i = 0; i < n.addrs.n; i++) {
			uint64_t k = a[i]->n[RA_ALLOW], udp = a[i]->aux2;
			fputs("    - ", f);
			yaml_str(f, a[i]->key);
			fprintf(f, "   # %llu %s%s, no name resolved to it\n",
				(unsigned long long)k, udp == k ? "datagram" : "connection",
				k == 1 ? "" : "s");
		}
	}
	/* Loopback the run used is listed above, address by address. */
	fprintf(f, "  loopback: false%s\n",
		n.loopback ? "   # the loopback addresses used are listed" : "");
	net_free(&n);
	return 0;
}

static void write_code(const struct learn *l, FILE *f)
{
	_cleanup_free_ const struct rep_cnt **d = rep_tally_sorted(&l->dirs, true);
	_cleanup_free_ const struct rep_cnt **b = rep_tally_sorted(&l->broken, true);

	if (!d || !b || (!l->dirs.n && !l->broken.n))
		return;
	if (l->broken.n) {
		fputs("# code files that broke the audit policy's code rules (a code section\n"
		      "# with those rules would refuse them; fix them before adding rules):\n",
		      f);
		for (size_t i = 0; i < l->broken.n; i++) {
			const char *sep = strchr(b[i]->key, '\x1f');
			fputs("#   ", f);
			comment(f, sep ? sep + 1 : b[i]->key);
			fputs(" breaks ", f);
			fprintf(f, "%.*s", sep ? (int)(sep - b[i]->key) : 0, b[i]->key);
			fprintf(f, " (%llu %s)\n", (unsigned long long)b[i]->n[RA_ALLOW],
				times(b[i]->n[RA_ALLOW]));
		}
	}
	if (!l->dirs.n)
		return;
	fputs("code:\n  paths:\n", f);
	for (size_t i = 0; i < l->dirs.n; i++) {
		fputs("    - ", f);
		yaml_str(f, d[i]->key);
		fprintf(f, "   # %llu code file%s loaded, %llu %s\n", (unsigned long long)d[i]->aux,
			d[i]->aux == 1 ? "" : "s", (unsigned long long)d[i]->n[RA_ALLOW],
			times(d[i]->n[RA_ALLOW]));
	}
	fputs("  # rules: [...] or rule_files: [...]: the patterns to refuse (rules/packs/)\n", f);
}

int learn_write(const struct learn *l, FILE *out, FILE *notes)
{
	if (!l->fng)
		fputs("fnguard learn: no fnguard log lines in the input\n", notes);
	if (l->enforce_runs || (l->fng && !l->audit_runs))
		fputs("fnguard learn: note: this log is not (only) from audit runs (mode: audit); "
		      "what was blocked may have cut a run short\n",
		      notes);
	if (l->blocked)
		fprintf(notes,
			"fnguard learn: note: %llu actions were blocked in this log; the run did "
			"not do all it would have\n",
			(unsigned long long)l->blocked);
	if (l->functions.n > 1)
		fputs("fnguard learn: note: the log has several functions; one policy is learned "
		      "for all of them (filter the log to learn one)\n",
		      notes);
	fprintf(out, "# Learned by fnguard learn from %llu run%s (%llu log lines",
		(unsigned long long)l->runs, l->runs == 1 ? "" : "s", (unsigned long long)l->fng);
	if (l->first_ts[0])
		fprintf(out, ", %s to %s", l->first_ts, l->last_ts);
	fputs(").\n# It allows what those runs did and nothing else: review it, and run\n"
	      "# the function's other paths in audit mode too before enforcing it.\n"
	      "version: 1\n",
	      out);
	if (l->functions.n == 1) {
		fputs("name: ", out);
		yaml_str(out, l->functions.v[0].key);
		fputc('\n', out);
	}
	fputs("mode: enforce\naction: kill\n", out);
	write_exec(l, out);
	if (write_network(l, out) < 0)
		return -ENOMEM;
	write_code(l, out);
	return ferror(out) ? -EIO : 0;
}

static void learn_freep(struct learn **l)
{
	learn_free(*l);
}

int cli_learn(int argc, char **argv)
{
	__attribute__((cleanup(learn_freep))) struct learn *l = NULL;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs("usage: fnguard learn [LOG...]\n"
		      "  reads an audit-mode log (mode: audit, log.allowed: true; see\n"
		      "  policy/examples/audit.yaml) from LOG files or stdin and prints the\n"
		      "  tightest policy YAML that lets that run pass.\n",
		      stdout);
		return 0;
	}
	if (learn_new(&l) < 0) {
		fputs("fnguard learn: out of memory\n", stderr);
		return 2;
	}
	for (int i = argc > 1 ? 1 : 0; i < argc; i++) {
		const char *path = i ? argv[i] : "-";
		_cleanup_fd_ int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : -1;
		if (strcmp(path, "-") && fd < 0) {
			fprintf(stderr, "fnguard learn: cannot open %s: %s\n", path,
				strerror(errno));
			return 2;
		}
		int rc = learn_feed_fd(l, fd >= 0 ? fd : STDIN_FILENO);
		if (rc < 0) {
			fprintf(stderr, "fnguard learn: reading %s: %s\n", path, strerror(-rc));
			return 2;
		}
	}
	if (learn_write(l, stdout, stderr) < 0 || fflush(stdout) != 0) {
		fputs("fnguard learn: cannot write the policy\n", stderr);
		return 2;
	}
	return 0;
}
