/* The network engine of a run: `notify` (supervisor/net.c judges every
 * connect and send in user space) or `bpf` (bpf/bpfnet.c: cgroup programs
 * judge them in the kernel). This file chooses, falls back, and turns the
 * bpf programs' verdicts into the same log lines net.c writes. */
#include "netbpf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addrtab.h"
#include "cleanup.h"
#include "bpfnet.h"
#include "sup.h"
#include "util.h"

/* glibc asks nscd before DNS; a socket nscd answers on would resolve
 * around the stub, and the cgroup programs do not see unix sockets. */
static const char *const nscd_paths[] = { "/var/run/nscd/socket", "/run/nscd/socket" };

/* True when the cgroup v2 hierarchy at mount is mounted with nsdelegate:
 * then a cgroup namespace is a delegation boundary, and the workload
 * (in its own cgroup namespace, see launch.c) cannot write its pid into
 * a cgroup outside it. */
static bool nsdelegate(const char *mount)
{
	_cleanup_file_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024], mnt[256];

	while (f && fgets(line, sizeof line, f)) {
		const char *sep = strstr(line, " - cgroup2 ");
		if (sep && sscanf(line, "%*s %*s %*s %*s %255s", mnt) == 1 && !strcmp(mnt, mount))
			return strstr(sep, "nsdelegate") != NULL;
	}
	return false;
}

/* A root workload can write its pid into any cgroup.procs it can see
 * (its owner is root) unless nsdelegate makes its cgroup namespace a
 * boundary: it would leave the cgroup, and the programs with it. */
static bool workload_can_leave(const struct sup *s)
{
	return geteuid() == 0 && !nsdelegate(s->caps->cgroup2_mount);
}

static const char *const leave_limit =
	"bpf network engine: a workload running as root can move itself out of its cgroup "
	"(cgroup v2 is mounted without nsdelegate) and then connect unjudged";

/* Why bpf cannot (or, for auto, should not) run here, or NULL: the cheap
 * checks, before the programs are loaded and verified (~15 ms). */
static const char *precheck(struct sup *s, bool is_auto)
{
	if (!s->caps->cgroup2)
		return "no cgroup v2 hierarchy is mounted (see /proc/self/mountinfo)";
	for (size_t i = 0; i < ARRAY_SIZE(nscd_paths); i++)
		if (access(nscd_paths[i], F_OK) == 0)
			return "an nscd socket exists: the bpf programs cannot keep the workload "
			       "from resolving through it";
	sup_probe_bpf(s->caps);
	if (!s->caps->bpf)
		return "this process may not load eBPF programs (bpf() refused; CAP_BPF and "
		       "CAP_NET_ADMIN are needed)";
	/* auto picks the engine that holds: notify judges every connect
	 * wherever the workload's cgroup is. */
	if (is_auto && workload_can_leave(s))
		return "the workload runs as root and cgroup v2 is mounted without nsdelegate: it "
		       "could move itself out of the bpf programs' cgroup";
	return NULL;
}

int sup_netbpf_open(struct sup *s, char *err, size_t errlen)
{
	const struct pol_network *net = &s->pol->network;
	const char *env = getenv("FNGUARD_TEST_BPF_REJECT");
	enum pol_action eff;
	char why[768];

	s->engine = NULL;
	if (!net->present)
		return 0;
	s->engine = "notify";
	if (net->engine == POL_ENGINE_NOTIFY)
		return 0;
	sup_probe_cgroup2(s->caps);
	const char *pre = precheck(s, net->engine == POL_ENGINE_AUTO);
	int rc = -EOPNOTSUPP;
	if (pre) {
		snprintf(why, sizeof why, "%s", pre);
	} else {
		sup_violation_action(s, net->action, &eff);
		struct bpfnet_opts o = {
			.net = net,
			.let_refused = eff == POL_ACT_LOG,
			.kill_refused = eff == POL_ACT_KILL,
			.log_allowed = log_writes(s->log, "allow"),
			.cgroup2_mount = s->caps->cgroup2_mount,
			.test_reject = env && strcmp(env, "1") == 0,
		};
		rc = bpfnet_open(&o, &s->bpf, why, sizeof why);
	}
	if (rc == 0) {
		s->engine = "bpf";
		s->engine_limit = workload_can_leave(s) ? leave_limit : NULL;
		return 0;
	}
	if (net->engine == POL_ENGINE_BPF) {
		snprintf(err, errlen, "network.engine is bpf, but the bpf engine cannot run: %s",
			 why);
		return rc;
	}
	free(s->engine_reason);
	s->engine_reason = strdup(why);
	return 0;
}

void sup_netbpf_start(struct sup *s, const struct sockaddr_in *stub, const struct sockaddr *proxy,
		      const struct sockaddr *real)
{
	if (!s->bpf)
		return;
	if (stub)
		bpfnet_set_stub(s->bpf, stub);
	bpfnet_set_rtapi(s->bpf, proxy, real);
}

void sup_netbpf_learned(struct sup *s, const struct pol_addr *a, size_t rule, int64_t expires_ms)
{
	if (!s->bpf || rule >= s->pol->network.n_allow)
		return;
	int rc = bpfnet_learn(s->bpf, a, rule, s->pol->network.allow[rule].port, expires_ms);
	if (rc < 0) {
		/* The address stays refused (fail closed): say why once. */
		char text[INET6_ADDRSTRLEN] = "?";
		inet_ntop(a->family, a->addr, text, sizeof text);
		cJSON *ev = log_begin(s->log, "error", "deny", s->child);
		if (ev) {
			cJSON_AddStringToObject(ev, "addr", text);
			cJSON_AddStringToObject(ev, "reason",
						rc == -ENOSPC
							? "too many rules learned for one address: "
							  "the bpf map keeps 8"
							: "cannot update the bpf map of learned "
							  "addresses");
			log_emit(s->log, ev);
		}
	}
}

size_t sup_netbpf_pollfds(struct sup *s, struct pollfd *fds, size_t max)
{
	if (!s->bpf || max == 0)
		return 0;
	fds[0] = (struct pollfd){ .fd = bpfnet_fd(s->bpf), .events = POLLIN };
	return 1;
}

/* One verdict of the programs as net.c's log_net() writes it. */
static void on_event(void *arg, const struct bpfnet_event *e)
{
	struct sup *s = arg;
	const struct pol_network *net = &s->pol->network;
	const char *event = e->send ? "send" : "connect";
	const char *action = "allow", *rule = NULL, *reason = NULL, *domain = NULL;
	int64_t now = util_mono_ms();
	enum pol_action eff = POL_ACT_LOG;
	size_t idx;

	switch (e->why) {
	case BPFNET_STATIC:
		rule = e->rule < net->n_allow ? net->allow[e->rule].text : "network.allow";
		break;
	case BPFNET_DNS:
		domain = addrtab_lookup(s->addrs, net, &e->addr, now, &idx);
		if (!domain)
			domain = addrtab_name(s->addrs, &e->addr, now);
		rule = e->rule < net->n_allow ? net->allow[e->rule].text : "network.allow";
		break;
	case BPFNET_LOOPBACK:
		rule = "loopback";
		break;
	case BPFNET_ADDRSEL:
		domain = addrtab_name(s->addrs, &e->addr, now);
		rule = "address-selection";
		break;
	case BPFNET_RTAPI:
		action = sup_violation_action(s, net->action, &eff);
		rule = "runtime-api";
		reason = "the real Runtime API is reached only through fnguard's proxy";
		break;
	case BPFNET_V6DNS:
		action = sup_violation_action(s, net->action, &eff);
		rule = "network.allow";
		reason = "DNS sent over IPv6 without connect cannot be redirected to fnguard's "
			 "stub by the bpf engine";
		break;
	default:
		action = sup_violation_action(s, net->action, &eff);
		domain = addrtab_name(s->addrs, &e->addr, now);
		rule = "network.allow";
		reason = domain ? "address not allowed for this name's rule (port)"
				: "address not in network.allow";
		break;
	}
	sup_net_log(s, event, action, e->tid, e->proto, &e->addr, domain, rule, reason);
	/* The kernel answered EPERM and killed the calling process already;
	 * `kill` ends the rest of the workload now (the loop does it once
	 * this batch is logged). */
	if (eff == POL_ACT_KILL)
		s->violation = true;
}

void sup_netbpf_handle(struct sup *s, const struct pollfd *fds, size_t n)
{
	if (s->bpf && n && (fds[0].revents & POLLIN))
		bpfnet_poll(s->bpf, on_event, s);
}

/* Verdicts whose events the full ring buffer dropped: their number, as
 * one line of the violation's action (a workload that floods refused
 * connects cannot make them vanish); a lost refusal under kill was a
 * kill the kernel carried out. */
static void lost_line(struct sup *s, const char *action, uint64_t n, const char *what,
		      const char *rule)
{
	char why[160];
	cJSON *ev = sup_event(s, "connect", action, s->child);

	if (!ev)
		return;
	snprintf(why, sizeof why,
		 "%llu %s calls were not logged one by one: the bpf engine's event buffer was "
		 "full",
		 (unsigned long long)n, what);
	cJSON_AddNumberToObject(ev, "count", (double)n);
	if (rule)
		cJSON_AddStringToObject(ev, "rule", rule);
	cJSON_AddStringToObject(ev, "reason", why);
	log_emit(s->log, ev);
}

static void log_lost(struct sup *s)
{
	uint64_t refused, allowed;

	bpfnet_lost(s->bpf, &refused, &allowed);
	if (refused) {
		enum pol_action eff;
		const char *action = sup_violation_action(s, s->pol->network.action, &eff);
		lost_line(s, action, refused, "refused", "network.allow");
		if (eff == POL_ACT_KILL)
			s->violation = true;
	}
	if (allowed && log_writes(s->log, "allow"))
		lost_line(s, "allow", allowed, "allowed", NULL);
}

void sup_netbpf_finish(struct sup *s, int *code)
{
	uint64_t c, snd;

	if (!s->bpf)
		return;
	bpfnet_poll(s->bpf, on_event, s);
	log_lost(s);
	/* A kill the kernel carried out before its event was read. */
	if (s->violation)
		*code = SUP_EXIT_VIOLATION;
	bpfnet_counts(s->bpf, &c, &snd);
	for (uint64_t i = 0; i < c; i++)
		log_count(s->log, "connect", "allow");
	for (uint64_t i = 0; i < snd; i++)
		log_count(s->log, "send", "allow");
}

void sup_netbpf_free(struct sup *s)
{
	bpfnet_free(s->bpf);
	s->bpf = NULL;
	free(s->engine_reason);
	s->engine_reason = NULL;
}
