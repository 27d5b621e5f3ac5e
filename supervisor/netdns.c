/* The supervisor's side of the DNS stub: redirecting the workload's UDP
 * DNS traffic to the stub, making the stub's replies look as if they came
 * from the nameserver the workload asked (glibc and c-ares drop replies
 * from any other source), and the stub's verdicts and learned addresses. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cleanup.h"
#include "netbpf.h"
#include "netdns.h"
#include "stub.h"
#include "sup.h"
#include "sys.h"
#include "util.h"

/* Addresses learned from an answer stay allowed this long past its TTL:
 * clients cache a little longer than they should. */
#define DNS_GRACE_MS  30000
#define MAX_REDIRECTS 256

/* A workload socket whose DNS traffic goes to the stub. */
struct redirect {
	ino_t ino;                  /* socket inode (0: free slot) */
	struct sockaddr_storage ns; /* where the workload meant to send */
	socklen_t ns_len;
	uint16_t local_port; /* the socket's port: attributes queries */
	pid_t tid;
};

struct netdns {
	struct stub *stub;
	struct redirect r[MAX_REDIRECTS];
	size_t next;
	struct sup *s;
};

static struct redirect *by_port(struct netdns *d, uint16_t port)
{
	for (size_t i = 0; i < MAX_REDIRECTS; i++)
		if (d->r[i].ino && d->r[i].local_port == port)
			return &d->r[i];
	return NULL;
}

struct redirect *netdns_find(struct netdns *d, ino_t ino)
{
	for (size_t i = 0; i < MAX_REDIRECTS && ino; i++)
		if (d->r[i].ino == ino)
			return &d->r[i];
	return NULL;
}

static void kill_now(struct tracee *t, void *arg)
{
	(void)arg;
	kill(t->tid, SIGKILL);
}

static enum stub_verdict decide(void *arg, const struct dns_query *q, uint16_t client_port)
{
	struct netdns *d = arg;
	const struct redirect *r = by_port(d, client_port);

	return netdns_judge(d, q->name, q->qtype, r ? r->tid : d->s->child, false) ? STUB_ALLOW
										   : STUB_REFUSE;
}

const struct sockaddr_in *netdns_stub(const struct netdns *d)
{
	return stub_addr(d->stub);
}

bool netdns_judge(struct netdns *d, const char *name, uint16_t qtype, pid_t pid, bool quiet_allow)
{
	struct sup *s = d->s;
	size_t idx = 0;
	bool ok = pol_net_name_match(s->pol, name, &idx) != NULL;
	enum pol_action eff = POL_ACT_LOG;
	const char *action = ok ? "allow" : sup_violation_action(s, s->pol->network.action, &eff);

	if (ok && quiet_allow)
		return true;
	if (log_writes(s->log, action)) {
		cJSON *ev = sup_event(s, "dns", action, pid);
		if (ev) {
			cJSON_AddStringToObject(ev, "name", name);
			cJSON_AddStringToObject(ev, "qtype", dns_type_name(qtype));
			cJSON_AddStringToObject(
				ev, "rule", ok ? s->pol->network.allow[idx].text : "network.allow");
			if (!ok)
				cJSON_AddStringToObject(
					ev, "reason",
					eff == POL_ACT_LOG
						? "name not in network.allow (let through: "
						  "audit/log)"
						: "name not in network.allow: never sent upstream");
			log_emit(s->log, ev);
		}
	} else {
		log_count(s->log, "dns", action);
	}
	if (ok || eff == POL_ACT_LOG)
		return true;
	if (eff == POL_ACT_KILL) {
		/* Dead before the NXDOMAIN goes out: under the bpf engine the
		 * workload's receive is not trapped, and it must not act on
		 * the answer. The loop reaps them (sup_kill_workload). */
		s->violation = true;
		tracee_each(s->tt, kill_now, NULL);
		kill(s->child, SIGKILL);
	}
	return false;
}

static void learned(void *arg, const struct dns_query *q, const struct dns_answer *a)
{
	struct netdns *d = arg;
	struct sup *s = d->s;
	int64_t now = util_mono_ms();

	bool any = false;
	for (size_t idx = 0; pol_net_name_match(s->pol, q->name, &idx); idx++) {
		any = true;
		for (size_t i = 0; i < a->n_addrs; i++) {
			struct pol_addr pa = { .family = a->addrs[i].family };
			memcpy(pa.addr, a->addrs[i].addr, 16);
			int64_t until = now + (int64_t)a->addrs[i].ttl * 1000 + DNS_GRACE_MS;
			addrtab_add(s->addrs, &pa, q->name, idx, until);
			sup_netbpf_learned(s, &pa, idx, until);
		}
	}
	/* A name let through by audit or `log`: remember it for attribution
	 * only, so a later connect names the domain but is not allowed. */
	for (size_t i = 0; !any && i < a->n_addrs; i++) {
		struct pol_addr pa = { .family = a->addrs[i].family };
		memcpy(pa.addr, a->addrs[i].addr, 16);
		addrtab_add(s->addrs, &pa, q->name, ADDRTAB_NO_RULE,
			    now + (int64_t)a->addrs[i].ttl * 1000 + DNS_GRACE_MS);
	}
}

int netdns_open(struct sup *s, struct netdns **out, char *err, size_t errlen)
{
	struct netdns *d = calloc(1, sizeof *d);
	struct stub_hooks h = { .decide = decide, .learned = learned };

	if (!d)
		return -ENOMEM;
	d->s = s;
	h.arg = d;
	int rc = stub_open(&d->stub, "/etc/resolv.conf", &h, err, errlen);
	if (rc < 0) {
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

void netdns_free(struct netdns *d)
{
	if (!d)
		return;
	stub_free(d->stub);
	free(d);
}

size_t netdns_pollfds(struct netdns *d, struct pollfd *fds, size_t max)
{
	return stub_pollfds(d->stub, fds, max);
}

void netdns_handle(struct netdns *d, const struct pollfd *fds, size_t n)
{
	stub_handle(d->stub, fds, n, util_mono_ms());
}

int netdns_timeout(struct netdns *d)
{
	return stub_timeout(d->stub, util_mono_ms());
}

void netdns_to_stub(const struct netdns *d, struct sockaddr_storage *ss, socklen_t *len)
{
	const struct sockaddr_in *stub = stub_addr(d->stub);

	if (ss->ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		memset(&in6->sin6_addr, 0, sizeof in6->sin6_addr);
		in6->sin6_addr.s6_addr[10] = in6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&in6->sin6_addr.s6_addr[12], &stub->sin_addr, 4);
		in6->sin6_port = stub->sin_port;
		in6->sin6_flowinfo = in6->sin6_scope_id = 0;
	} else {
		memcpy(ss, stub, sizeof *stub);
		*len = sizeof *stub;
	}
}

/* Points a datagram to port 53 at the stub instead, and remembers the
 * socket (copy is ours, from pidfd_getfd) so its replies can be given the
 * nameserver's address. An IPv6 socket reaches the stub v4-mapped. */
int netdns_redirect(struct netdns *d, int copy, pid_t tid, struct sockaddr_storage *ss,
		    socklen_t *len)
{
	struct stat st;
	struct sockaddr_storage local;
	socklen_t llen = sizeof local;

	if (fstat(copy, &st) < 0)
		return -errno;
	struct redirect *r = netdns_find(d, st.st_ino);
	if (!r) {
		r = &d->r[d->next];
		d->next = (d->next + 1) % MAX_REDIRECTS;
	}
	r->ino = st.st_ino;
	r->ns = *ss;
	r->ns_len = *len;
	r->tid = tid;
	r->local_port = 0;
	netdns_to_stub(d, ss, len);
	/* Bind now so the port that names the query's sender is known. */
	if (getsockname(copy, (struct sockaddr *)&local, &llen) == 0 &&
	    ((struct sockaddr_in *)&local)->sin_port == 0) {
		struct sockaddr_storage any = { .ss_family = local.ss_family };
		bind(copy, (struct sockaddr *)&any, llen);
		llen = sizeof local;
		getsockname(copy, (struct sockaddr *)&local, &llen);
	}
	r->local_port = ntohs(((struct sockaddr_in *)&local)->sin_port);
	return 0;
}

/* The source to report for a datagram that came from src: the stub
 * stands in for the nameserver the socket's query went to. */
bool netdns_rewrite_source(struct netdns *d, ino_t ino, struct sockaddr_storage *src,
			   socklen_t *len)
{
	const struct redirect *r = netdns_find(d, ino);
	const struct sockaddr_in *stub = stub_addr(d->stub);
	uint16_t port;
	const uint8_t *a;

	if (!r)
		return false;
	if (src->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)src;
		port = in->sin_port;
		a = (const uint8_t *)&in->sin_addr;
	} else if (src->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)src;
		static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
		if (memcmp(in6->sin6_addr.s6_addr, mapped, 12) != 0)
			return false;
		port = in6->sin6_port;
		a = in6->sin6_addr.s6_addr + 12;
	} else {
		return false;
	}
	if (port != stub->sin_port || memcmp(a, &stub->sin_addr, 4) != 0)
		return false;
	if (src->ss_family == AF_INET6 && r->ns.ss_family == AF_INET) {
		/* A v6 socket asked a v4 nameserver: report it v4-mapped. */
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)src;
		const struct sockaddr_in *ns = (const struct sockaddr_in *)&r->ns;
		memcpy(in6->sin6_addr.s6_addr + 12, &ns->sin_addr, 4);
		in6->sin6_port = ns->sin_port;
		return true;
	}
	*src = r->ns;
	*len = r->ns_len;
	return true;
}
