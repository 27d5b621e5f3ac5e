/* Network decisions in the kernel tier: connect and sendto.
 *
 * The address is read once into a private copy and judged there. An
 * allowed call is then performed by the supervisor itself, on a copy of
 * the workload's socket taken with pidfd_getfd, with the private address:
 * a racing thread that rewrites the sockaddr after the check changes
 * nothing, since the kernel never reads the workload's copy again. */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "addrtab.h"
#include "become.h"
#include "filter.h"
#include "netdns.h"
#include "rtapi.h"
#include "cleanup.h"
#include "sup.h"
#include "sys.h"
#include "util.h"

/* The largest datagram the supervisor copies to send on the workload's
 * behalf: a UDP datagram cannot be larger. */
#define NET_DGRAM_MAX 65536

/* glibc asks nscd before DNS: a host nscd would resolve around the stub. */
static const char *const nscd_paths[] = { "/var/run/nscd/socket", "/run/nscd/socket" };

struct net_call {
	pid_t tid;
	int fd;
	struct sockaddr_storage ss; /* private copy of the destination */
	socklen_t len;
	struct pol_addr a; /* ss as judged */
	bool inet;
	const char *proto; /* "tcp", "udp", or NULL before it is known */
};

/* A pidfd for the task, kept with its tracee record: pidfd_open and close
 * on every connect are a tenth of its cost. A traced task's id cannot be
 * reused before we reap it, and reaping drops the record and the fd. */
static int task_pidfd(struct sup *s, pid_t tid)
{
	struct tracee *t = tracee_get(s->tt, tid, true);
	if (!t)
		return -ENOMEM;
	if (t->pidfd >= 0)
		return t->pidfd;
	/* A thread's own pidfd (6.9) saves reading /proc for its group. */
	int pidfd = sys_pidfd_open(tid, PIDFD_THREAD);
	if (pidfd < 0 && errno == EINVAL) {
		/* pidfd_open refuses thread ids without PIDFD_THREAD (6.9),
		 * and node connects from worker threads. */
		pid_t tgid = sys_tgid_of(tid);
		if (tgid <= 0)
			return -ESRCH;
		pidfd = sys_pidfd_open(tgid, 0);
	}
	if (pidfd < 0)
		return -errno;
	t->pidfd = pidfd;
	return pidfd;
}

/* A copy of the workload's socket in our fd table, or -errno. */
static int grab_socket(struct sup *s, pid_t tid, int fd)
{
	if (s->brk)
		return sup_broker_grab(s, tid, fd);
	int pidfd = task_pidfd(s, tid);
	if (pidfd < 0)
		return pidfd;
	int copy = sys_pidfd_getfd(pidfd, fd);
	return copy < 0 ? -errno : copy;
}

static void to_pol_addr(struct net_call *c)
{
	memset(&c->a, 0, sizeof c->a);
	if (c->ss.ss_family == AF_INET && c->len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&c->ss;
		c->a.family = AF_INET;
		memcpy(c->a.addr, &in->sin_addr, 4);
		c->a.port = ntohs(in->sin_port);
		c->inet = true;
	} else if (c->ss.ss_family == AF_INET6 && c->len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&c->ss;
		c->a.family = AF_INET6;
		memcpy(c->a.addr, &in6->sin6_addr, 16);
		c->a.port = ntohs(in6->sin6_port);
		c->inet = true;
	}
}

static bool is_nscd(const struct net_call *c)
{
	const struct sockaddr_un *un = (const struct sockaddr_un *)&c->ss;
	size_t max = c->len > offsetof(struct sockaddr_un, sun_path)
			     ? c->len - offsetof(struct sockaddr_un, sun_path)
			     : 0;

	if (c->ss.ss_family != AF_UNIX)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(nscd_paths); i++)
		if (strnlen(un->sun_path, max) == strlen(nscd_paths[i]) &&
		    strncmp(un->sun_path, nscd_paths[i], max) == 0)
			return true;
	return false;
}

void sup_net_log(struct sup *s, const char *event, const char *action, pid_t tid, const char *proto,
		 const struct pol_addr *a, const char *domain, const char *rule, const char *reason)
{
	char text[INET6_ADDRSTRLEN];

	if (!log_writes(s->log, action)) {
		log_count(s->log, event, action);
		return;
	}
	cJSON *ev = sup_event(s, event, action, tid);
	if (!ev)
		return;
	if (proto)
		cJSON_AddStringToObject(ev, "proto", proto);
	if (inet_ntop(a->family, a->addr, text, sizeof text))
		cJSON_AddStringToObject(ev, "addr", text);
	cJSON_AddNumberToObject(ev, "port", a->port);
	if (domain)
		cJSON_AddStringToObject(ev, "domain", domain);
	else
		cJSON_AddNullToObject(ev, "domain");
	if (rule)
		cJSON_AddStringToObject(ev, "rule", rule);
	if (reason)
		cJSON_AddStringToObject(ev, "reason", reason);
	log_emit(s->log, ev);
}

static void log_net(struct sup *s, const char *event, const char *action, const struct net_call *c,
		    const char *domain, const char *rule, const char *reason)
{
	sup_net_log(s, event, action, c->tid, c->proto, &c->a, domain, rule, reason);
}

/* The socket's family, or -1 when it cannot be asked. */
static int sock_domain(int copy)
{
	int dom = 0;
	socklen_t l = sizeof dom;

	return getsockopt(copy, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0 ? -1 : dom;
}

static bool is_inet_socket(int copy)
{
	int dom = sock_domain(copy);
	return dom < 0 || dom == AF_INET || dom == AF_INET6;
}

/* A call that stays on this host: a non-inet address on a socket that is
 * not inet either (judged by the socket, not only by the family a racing
 * thread may rewrite). An inet address is judged and performed on our
 * copy with our copy of the address, whatever the socket is. */
static bool is_local_call(const struct net_call *c, int copy)
{
	bool inet = c->ss.ss_family == AF_INET || c->ss.ss_family == AF_INET6;
	return !inet && !is_inet_socket(copy);
}

static const char *sock_proto(int copy)
{
	int type = 0;
	socklen_t len = sizeof type;

	if (getsockopt(copy, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return NULL;
	return type == SOCK_STREAM ? "tcp" : type == SOCK_DGRAM ? "udp" : "other";
}

/* DNS to any address goes to the stub, which judges the name: true when
 * c now points there. TCP reaches the stub's listener on the same port. */
static bool to_stub(struct sup *s, int copy, struct net_call *c)
{
	if (!s->dns || !c->inet || c->a.port != 53 || !c->proto ||
	    (strcmp(c->proto, "udp") != 0 && strcmp(c->proto, "tcp") != 0))
		return false;
	return netdns_redirect(s->dns, copy, c->tid, &c->ss, &c->len) == 0;
}

/* The verdict for an inet destination: static rules, then addresses the
 * DNS stub learned for allowed names. Returns true when allowed; *domain
 * is the name behind the address, if any. */
static bool judge(struct sup *s, const struct net_call *c, const char **domain, const char **rule)
{
	struct pol_verdict v;
	size_t idx;

	*domain = NULL;
	pol_net_addr_verdict(s->pol, &c->a, &v);
	if (v.allowed) {
		*rule = v.rule;
		return true;
	}
	int64_t now = util_mono_ms();
	if (s->addrs) {
		*domain = addrtab_lookup(s->addrs, &s->pol->network, &c->a, now, &idx);
		if (*domain) {
			*rule = s->pol->network.allow[idx].text;
			return true;
		}
		*domain = addrtab_name(s->addrs, &c->a, now);
	}
	/* glibc's getaddrinfo connects a UDP socket to port 0 of each answer
	 * only to learn the source address it would use (RFC 3484 sorting);
	 * nothing is sent. Allow it to any address some rule covers. */
	if (c->a.port == 0 && c->proto && strcmp(c->proto, "udp") == 0 &&
	    (pol_net_addr_any_port(s->pol, &c->a) ||
	     (*domain && addrtab_any(s->addrs, &c->a, now)))) {
		*rule = "address-selection";
		return true;
	}
	*rule = "network.allow";
	return false;
}

/* Applies the section's action to a refused destination. Returns true
 * when the call may go on (log/audit). */
static bool refuse_why(struct sup *s, const char *event, const struct net_call *c,
		       const char *domain, const char *rule, const char *reason,
		       struct seccomp_notif_resp *resp)
{
	enum pol_action eff;
	const char *action = sup_violation_action(s, s->pol->network.action, &eff);

	log_net(s, event, action, c, domain, rule, reason);
	if (eff == POL_ACT_LOG)
		return true;
	resp->error = -EPERM;
	if (eff == POL_ACT_KILL)
		s->violation = true;
	return false;
}

static bool refuse(struct sup *s, const char *event, const struct net_call *c, const char *domain,
		   struct seccomp_notif_resp *resp)
{
	return refuse_why(s, event, c, domain, "network.allow",
			  domain ? "address not allowed for this name's rule (port)"
				 : "address not in network.allow",
			  resp);
}

/* Judges c's destination for `event` on the socket copy: DNS goes to the
 * stub (which judges the name); other inet destinations are judged and
 * logged here. True when the call may go on. */
static bool admit(struct sup *s, const char *event, int copy, struct net_call *c,
		  struct seccomp_notif_resp *resp)
{
	const char *domain = NULL, *rule = NULL;

	if (to_stub(s, copy, c) || !c->inet)
		return true;
	/* fnguard's Runtime API proxy is the workload's API, whatever the
	 * rules; the real one only fnguard may reach (or events would skip
	 * the inspection). */
	if (rtapi_is_proxy(s->rt, &c->a))
		return true;
	if (rtapi_is_upstream(s->rt, &c->a))
		return refuse_why(s, event, c, NULL, "runtime-api",
				  "the real Runtime API is reached only through fnguard's proxy",
				  resp);
	if (!judge(s, c, &domain, &rule))
		return refuse(s, event, c, domain, resp);
	log_net(s, event, "allow", c, domain, rule, NULL);
	return true;
}

int sup_net_judge_copy(struct sup *s, const char *event, pid_t pid, int type,
		       struct sockaddr_storage *ss, socklen_t *len, bool *redirect)
{
	struct net_call c = { .tid = pid, .ss = *ss, .len = *len };
	struct seccomp_notif_resp resp = { 0 };
	const char *domain = NULL, *rule = NULL;

	*redirect = false;
	to_pol_addr(&c);
	c.proto = type == SOCK_STREAM ? "tcp" : type == SOCK_DGRAM ? "udp" : "other";
	if (!c.inet || !s->pol->network.present)
		return 0;
	if (s->dns && c.a.port == 53 && strcmp(c.proto, "other") != 0) {
		netdns_to_stub(s->dns, ss, len);
		*redirect = true;
		return 0;
	}
	if (rtapi_is_proxy(s->rt, &c.a))
		return 0;
	if (rtapi_is_upstream(s->rt, &c.a))
		return refuse_why(s, event, &c, NULL, "runtime-api",
				  "the real Runtime API is reached only through fnguard's proxy",
				  &resp)
			       ? 0
			       : resp.error;
	if (!judge(s, &c, &domain, &rule))
		return refuse(s, event, &c, domain, &resp) ? 0 : resp.error;
	log_net(s, event, "allow", &c, domain, rule, NULL);
	return 0;
}

/* grab_socket(), answering the notification when it fails: a bad fd is
 * the workload's EBADF, anything else a refusal. */
static int grab_or_answer(struct sup *s, const struct seccomp_notif *req, int fd,
			  struct seccomp_notif_resp *resp)
{
	int copy = grab_socket(s, (pid_t)req->pid, fd);
	if (copy == -ESTALE) {
		/* The broker holds no copy (a socket passed in from outside
		 * the tree): no private socket to decide on. */
		struct sup_trap_info ti = {
			.err = EPERM,
			.reason = "socket not created under fnguard (passed in from outside): "
				  "its network calls cannot be judged without pidfd_getfd",
		};
		sup_refuse_syscall(s, req, resp, &ti);
	} else if (copy < 0) {
		resp->error = copy == -EBADF || copy == -ENOTSOCK ? copy : -EPERM;
	}
	return copy;
}

/* ---- unix sockets, performed as the workload ---- */

/* connect or sendto on a unix (or netlink) socket copy, as the task,
 * never blocking the supervisor (a peer that must drain the socket may
 * itself wait for one of our answers). When the call would block on a
 * blocking socket it goes on in the kernel instead (CONTINUE). */
/* True when data (our copy) holds only rtnetlink GET requests for the
 * kernel: those need no privilege, so they are sent without taking on
 * the task's identity (glibc's getaddrinfo asks RTM_GETADDR on every
 * lookup that sorts more than one answer). */
static bool netlink_kernel_gets(int dom, const struct net_call *c, const void *data, size_t len)
{
	const struct sockaddr_nl *nl = (const struct sockaddr_nl *)&c->ss;
	int left = len > INT_MAX ? 0 : (int)len;

	if (dom != AF_NETLINK || c->len < sizeof *nl || nl->nl_family != AF_NETLINK ||
	    nl->nl_pid != 0 || left < (int)sizeof(struct nlmsghdr))
		return false;
	for (const struct nlmsghdr *h = data; left > 0; h = NLMSG_NEXT(h, left)) {
		if (!NLMSG_OK(h, left) || h->nlmsg_type < RTM_BASE || h->nlmsg_type >= RTM_MAX ||
		    (h->nlmsg_type & 3) != 2)
			return false;
	}
	return true;
}

static void unix_call(pid_t tid, int copy, const struct net_call *c, const void *data, size_t len,
		      int flags, bool is_connect, struct seccomp_notif_resp *resp)
{
	struct as_task st = { .cwd = -1 };
	int fl = fcntl(copy, F_GETFL);
	bool blocking = fl >= 0 && !(fl & O_NONBLOCK) && !(flags & MSG_DONTWAIT);
	int dom = sock_domain(copy);
	int rc = !is_connect && netlink_kernel_gets(dom, c, data, len)
			 ? 0
			 : become(tid, dom == AF_UNIX, &st);
	ssize_t n = -1;

	if (rc == 0) {
		const struct sockaddr *sa = (const struct sockaddr *)&c->ss;
		if (is_connect && blocking)
			fcntl(copy, F_SETFL, fl | O_NONBLOCK);
		n = is_connect ? connect(copy, sa, c->len)
			       : sendto(copy, data, len, flags | MSG_NOSIGNAL | MSG_DONTWAIT, sa,
					c->len);
		rc = n < 0 ? -errno : 0;
		if (is_connect && blocking)
			fcntl(copy, F_SETFL, fl);
	}
	unbecome(&st);
	if (blocking && (rc == -EAGAIN || rc == -EINPROGRESS))
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	else if (rc < 0)
		resp->error = rc;
	else
		resp->val = is_connect ? 0 : n;
}

/* A blocking connect of the workload's, finished by us: its thread stays
 * in the notification until the handshake ends. */
struct net_wait {
	uint64_t id;      /* the notification to answer */
	int copy;         /* our copy of the socket, owned */
	int64_t deadline; /* monotonic ms */
	pid_t tid;
	int signal_seen; /* checks that found a handled signal pending */
};

#define NET_SIGNAL_MS 100 /* how often a waiting connect looks for signals */

#define NET_MAX_WAITS  256
#define NET_CONNECT_MS 130000 /* about the kernel's SYN retry budget */

/* connect(2) on the copy, never blocking the supervisor. A blocking
 * socket is connected non-blocking and the answer deferred until the
 * handshake ends (sup_net_handle): answering CONTINUE instead would let
 * the kernel look the fd up again, and a racing thread could dup2() a
 * fresh socket onto it, with a forbidden address in the shared buffer.
 * Returns true when the answer was deferred (copy is then owned here). */
static bool do_connect(struct sup *s, const struct seccomp_notif *req, struct net_call *c, int copy,
		       struct seccomp_notif_resp *resp)
{
	int fl = fcntl(copy, F_GETFL);
	bool blocking = fl >= 0 && !(fl & O_NONBLOCK);

	if (blocking)
		fcntl(copy, F_SETFL, fl | O_NONBLOCK);
	int rc = connect(copy, (struct sockaddr *)&c->ss, c->len);
	int e = errno;
	if (blocking)
		fcntl(copy, F_SETFL, fl);
	if (rc == 0) {
		resp->val = 0;
		return false;
	}
	if (e != EINPROGRESS || !blocking || s->n_waits == NET_MAX_WAITS) {
		resp->error = -e;
		return false;
	}
	/* A local peer often completes the handshake at once: answer now
	 * rather than after another trip through the event loop. */
	struct pollfd p = { .fd = copy, .events = POLLOUT };
	if (poll(&p, 1, 0) == 1) {
		int err = 0;
		socklen_t el = sizeof err;
		/* Writable without error or hang-up: connected (SO_ERROR is 0). */
		if (p.revents != POLLOUT && getsockopt(copy, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		resp->error = -err;
		return false;
	}
	if (!s->waits && !(s->waits = calloc(NET_MAX_WAITS, sizeof *s->waits))) {
		resp->error = -ENOMEM;
		return false;
	}
	struct timeval tv = { 0 };
	socklen_t l = sizeof tv;
	int64_t ms = NET_CONNECT_MS;
	if (getsockopt(copy, SOL_SOCKET, SO_SNDTIMEO, &tv, &l) == 0 && (tv.tv_sec || tv.tv_usec))
		ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	s->waits[s->n_waits++] = (struct net_wait){
		.id = req->id, .copy = copy, .deadline = util_mono_ms() + ms, .tid = (pid_t)req->pid
	};
	s->deferred = true;
	return true;
}

size_t sup_net_pollfds(struct sup *s, struct pollfd *fds, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n_waits && n < max; i++)
		fds[n++] = (struct pollfd){ .fd = s->waits[i].copy, .events = POLLOUT };
	return n;
}

int sup_net_timeout(const struct sup *s)
{
	int64_t now = util_mono_ms(), best = -1;
	for (size_t i = 0; i < s->n_waits; i++) {
		int64_t left = s->waits[i].deadline > now ? s->waits[i].deadline - now : 0;
		if (best < 0 || left < best)
			best = left;
	}
	if (s->n_waits && (best < 0 || best > NET_SIGNAL_MS))
		best = NET_SIGNAL_MS;
	return (int)best;
}

/* Answers the deferred connects whose handshake ended (or timed out). */
void sup_net_handle(struct sup *s, const struct pollfd *fds, size_t n)
{
	int64_t now = util_mono_ms();
	size_t keep = 0;

	bool check = now >= s->next_signal_check;

	if (check)
		s->next_signal_check = now + NET_SIGNAL_MS;
	for (size_t i = 0; i < s->n_waits; i++) {
		struct net_wait *w = &s->waits[i];
		bool ready = w->deadline <= now;
		for (size_t j = 0; j < n && !ready; j++)
			ready = fds[j].fd == w->copy && fds[j].revents;
		/* The thread waits killable only (WAIT_KILLABLE_RECV): a handler
		 * the kernel's connect would have run gets EINTR from us; the
		 * handshake goes on, as it does after the kernel's EINTR. */
		if (!ready && check)
			w->signal_seen = sys_signal_pending(w->tid) ? w->signal_seen + 1 : 0;
		if (!ready && w->signal_seen < 2) {
			s->waits[keep++] = *w;
			continue;
		}
		struct seccomp_notif_resp resp = { .id = w->id };
		int err = 0;
		socklen_t l = sizeof err;
		if (!ready)
			err = EINTR;
		else if (w->deadline <= now)
			err = ETIMEDOUT;
		else if (getsockopt(w->copy, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
			err = errno;
		resp.error = -err;
		/* ENOENT: the thread is gone, nobody waits for the answer. */
		(void)ioctl(s->notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
		close(w->copy);
	}
	s->n_waits = keep;
}

void sup_net_free(struct sup *s)
{
	for (size_t i = 0; i < s->n_waits; i++)
		close(s->waits[i].copy);
	free(s->waits);
	s->waits = NULL;
	s->n_waits = 0;
}

static int read_addr(struct net_call *c, uint64_t ptr, uint64_t len)
{
	if (len > sizeof c->ss)
		return -EINVAL;
	memset(&c->ss, 0, sizeof c->ss);
	c->len = (socklen_t)len;
	if (len && sys_peek(c->tid, ptr, &c->ss, len) < 0)
		return -EFAULT;
	return 0;
}

static void net_connect(struct sup *s, const struct seccomp_notif *req,
			struct seccomp_notif_resp *resp)
{
	struct net_call c = { .tid = (pid_t)req->pid, .fd = (int)req->data.args[0] };
	int rc = read_addr(&c, req->data.args[1], req->data.args[2]);

	if (!sys_notif_valid(s->notify_fd, req->id))
		return;
	if (rc < 0) {
		resp->error = rc;
		return;
	}
	_cleanup_fd_ int copy = grab_or_answer(s, req, c.fd, resp);
	if (copy < 0)
		return;
	if (is_local_call(&c, copy)) {
		/* Not a network destination; an nscd would resolve for us. */
		if (is_nscd(&c))
			resp->error = -ECONNREFUSED;
		else
			unix_call(c.tid, copy, &c, NULL, 0, 0, true, resp);
		return;
	}
	to_pol_addr(&c);
	c.proto = sock_proto(copy);
	if (admit(s, "connect", copy, &c, resp) && do_connect(s, req, &c, copy, resp))
		copy = -1; /* owned by the deferred answer */
}

/* sendto with a destination: judged, then sent by the supervisor with the
 * private address and a private copy of the payload. */
static void net_sendto(struct sup *s, const struct seccomp_notif *req,
		       struct seccomp_notif_resp *resp)
{
	struct net_call c = { .tid = (pid_t)req->pid, .fd = (int)req->data.args[0] };
	uint64_t buf = req->data.args[1], len = req->data.args[2];
	int flags = (int)req->data.args[3];
	int rc = read_addr(&c, req->data.args[4], req->data.args[5]);

	if (rc == 0 && len > NET_DGRAM_MAX)
		len = NET_DGRAM_MAX; /* a stream send may be partial; a datagram
				      * this large fails as EMSGSIZE anyway */
	_cleanup_free_ char *data = rc == 0 ? malloc(len ? len : 1) : NULL;
	if (rc == 0 && !data)
		rc = -ENOMEM;
	if (rc == 0 && len && sys_peek(c.tid, buf, data, len) < 0)
		rc = -EFAULT;
	if (!sys_notif_valid(s->notify_fd, req->id))
		return;
	if (rc < 0) {
		resp->error = rc;
		return;
	}
	_cleanup_fd_ int copy = grab_or_answer(s, req, c.fd, resp);
	if (copy < 0)
		return;
	if (is_local_call(&c, copy)) {
		unix_call(c.tid, copy, &c, data, len, flags, false, resp);
		return;
	}
	if (flags & MSG_FASTOPEN) {
		/* Connect and send in one call: not supported by the emulation;
		 * clients fall back to connect + send. */
		resp->error = -EOPNOTSUPP;
		return;
	}
	to_pol_addr(&c);
	c.proto = sock_proto(copy);
	if (!admit(s, "send", copy, &c, resp))
		return;
	ssize_t n = sendto(copy, data, len, flags | MSG_NOSIGNAL, (struct sockaddr *)&c.ss, c.len);
	if (n < 0)
		resp->error = -errno;
	else
		resp->val = n;
}

/* A private copy of one msghdr: name, payload (gathered) and control. */
struct msg_copy {
	struct net_call c;
	bool has_name;
	char *data; /* gathered iovecs */
	size_t len;
	char *control;
	size_t controllen;
	int msg_flags;
};

static void msg_copy_free(struct msg_copy *m)
{
	free(m->data);
	free(m->control);
}

/* Reads the msghdr at ptr and everything it points to. */
/* stream: a send may be partial, so a payload over NET_DGRAM_MAX is cut
 * there (the caller sends the rest next); for datagrams it is EMSGSIZE. */
static int read_msg(int mem, uint64_t ptr, struct msg_copy *m, bool stream)
{
	struct msghdr h = { 0 };
	struct iovec iov[UIO_MAXIOV];

	if (sys_read_mem(mem, ptr, &h, sizeof h) < 0)
		return -EFAULT;
	if (h.msg_iovlen > UIO_MAXIOV || h.msg_namelen > sizeof m->c.ss ||
	    h.msg_controllen > NET_DGRAM_MAX)
		return h.msg_iovlen > UIO_MAXIOV ? -EMSGSIZE : -EINVAL;
	memset(&m->c.ss, 0, sizeof m->c.ss);
	m->has_name = h.msg_name && h.msg_namelen;
	m->c.len = m->has_name ? h.msg_namelen : 0;
	if (m->has_name &&
	    sys_read_mem(mem, (uint64_t)(uintptr_t)h.msg_name, &m->c.ss, m->c.len) < 0)
		return -EFAULT;
	if (h.msg_iovlen &&
	    sys_read_mem(mem, (uint64_t)(uintptr_t)h.msg_iov, iov, h.msg_iovlen * sizeof *iov) < 0)
		return -EFAULT;
	size_t total = 0;
	for (size_t i = 0; i < h.msg_iovlen; i++) {
		if (iov[i].iov_len > NET_DGRAM_MAX - total) {
			if (!stream)
				return -EMSGSIZE; /* larger than any datagram */
			iov[i].iov_len = NET_DGRAM_MAX - total;
			h.msg_iovlen = i + 1;
		}
		total += iov[i].iov_len;
	}
	m->data = malloc(total ? total : 1);
	m->control = malloc(h.msg_controllen ? h.msg_controllen : 1);
	if (!m->data || !m->control)
		return -ENOMEM;
	for (size_t i = 0, off = 0; i < h.msg_iovlen; off += iov[i].iov_len, i++)
		if (iov[i].iov_len && sys_read_mem(mem, (uint64_t)(uintptr_t)iov[i].iov_base,
						   m->data + off, iov[i].iov_len) < 0)
			return -EFAULT;
	if (h.msg_controllen &&
	    sys_read_mem(mem, (uint64_t)(uintptr_t)h.msg_control, m->control, h.msg_controllen) < 0)
		return -EFAULT;
	m->len = total;
	m->controllen = h.msg_controllen;
	return 0;
}

/* Judges one datagram's destination (its own name, else the connected
 * peer checked at connect) and sends the private copy. Returns bytes
 * sent, or -errno; -EPERM when refused (already logged). */
static ssize_t send_copy(struct sup *s, int copy, struct msg_copy *m, int flags,
			 struct seccomp_notif_resp *resp)
{
	if (m->has_name) {
		to_pol_addr(&m->c);
		if (!admit(s, "send", copy, &m->c, resp))
			return -EPERM;
	}
	struct iovec iov = { m->data, m->len };
	struct msghdr h = {
		.msg_name = m->has_name ? &m->c.ss : NULL,
		.msg_namelen = m->has_name ? m->c.len : 0,
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = m->controllen ? m->control : NULL,
		.msg_controllen = m->controllen,
	};
	if (!m->controllen) {
		ssize_t n = sendmsg(copy, &h, flags | MSG_NOSIGNAL);
		return n < 0 ? -errno : n;
	}
	/* Control messages can ask for privileges (SO_MARK and SO_PRIORITY
	 * need CAP_NET_ADMIN, checked in the sender's context): send them
	 * with the task's capabilities, not ours. */
	struct as_task st;
	int rc = become(m->c.tid, false, &st);
	ssize_t n = rc == 0 ? sendmsg(copy, &h, flags | MSG_NOSIGNAL) : rc;
	if (rc == 0 && n < 0)
		n = -errno;
	unbecome(&st);
	return n;
}

/* Unix and netlink sockets go on (their permission checks must be the
 * workload's own). Every inet socket is emulated on our copy, TCP too:
 * answering CONTINUE would let the kernel look the fd up again, and a
 * racing dup2() could put a datagram socket there with a name in the
 * shared msghdr. *stream is set for stream sockets (partial sends). */
static bool passes_through(int copy, int flags, bool *stream, struct seccomp_notif_resp *resp)
{
	int type = 0;
	socklen_t l = sizeof type;

	if (!is_inet_socket(copy))
		return true;
	getsockopt(copy, SOL_SOCKET, SO_TYPE, &type, &l);
	*stream = type == SOCK_STREAM;
	if (flags & MSG_FASTOPEN)
		resp->error = -EOPNOTSUPP;
	return false;
}

#define NET_MAX_RIGHTS 253 /* SCM_MAX_FD: the kernel refuses more */

/* SCM_RIGHTS messages name files by the task's fd numbers: each number is
 * replaced, in our private copy of the control data, by a copy of that
 * file in our table, so the kernel never looks the task's numbers up
 * again. Returns how many copies were made (owned, in fds), -EBADF for a
 * number the task does not hold, or -ENOTSUP when the control data holds
 * anything else (credentials, which the kernel would check against us)
 * or a file we cannot copy (the broker holds sockets only). */
static int copy_rights(struct sup *s, pid_t tid, struct msg_copy *m, int *fds)
{
	struct msghdr h = { .msg_control = m->control, .msg_controllen = m->controllen };
	int n = 0, rc = 0;

	if (!CMSG_FIRSTHDR(&h))
		return -ENOTSUP; /* malformed: the kernel answers it */
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&h); cm && rc == 0; cm = CMSG_NXTHDR(&h, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0)) {
			rc = -ENOTSUP;
			break;
		}
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k && rc == 0; i++) {
			int fd, c = -1;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof fd, sizeof fd);
			if (n == NET_MAX_RIGHTS || (c = grab_socket(s, tid, fd)) < 0) {
				rc = n < NET_MAX_RIGHTS && c == -EBADF ? -EBADF : -ENOTSUP;
				break;
			}
			fds[n++] = c;
			memcpy(CMSG_DATA(cm) + i * sizeof c, &c, sizeof c);
		}
	}
	if (rc < 0)
		while (n > 0)
			close(fds[--n]);
	return rc < 0 ? rc : n;
}

/* sendmsg on a unix or netlink socket, performed as the task (see
 * unix_call), file descriptors passed included. Returns false when it
 * must go on in the kernel instead: credentials in control messages (the
 * kernel checks them against the sender), a file the broker holds no
 * copy of, a datagram over NET_DGRAM_MAX, or a send that would block. */
static bool local_sendmsg(struct sup *s, const struct seccomp_notif *req, int copy, int flags,
			  struct seccomp_notif_resp *resp)
{
	struct msg_copy m = { .c = { .tid = (pid_t)req->pid } };
	int type = 0, fds[NET_MAX_RIGHTS], nfds = 0;
	socklen_t l = sizeof type;
	bool done = false;

	getsockopt(copy, SOL_SOCKET, SO_TYPE, &type, &l);
	_cleanup_fd_ int mem = sys_open_mem(m.c.tid);
	int rc = mem < 0 ? mem : read_msg(mem, req->data.args[1], &m, type == SOCK_STREAM);
	if (rc == 0 && m.controllen)
		nfds = copy_rights(s, m.c.tid, &m, fds);
	if (nfds == -EBADF) {
		resp->error = -EBADF; /* as the kernel: a number the task does not hold */
		done = true;
	} else if (rc == 0 && nfds >= 0 && sys_notif_valid(s->notify_fd, req->id)) {
		struct as_task st;
		struct iovec iov = { m.data, m.len };
		struct msghdr h = {
			.msg_name = m.has_name ? &m.c.ss : NULL,
			.msg_namelen = m.has_name ? m.c.len : 0,
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = m.controllen ? m.control : NULL,
			.msg_controllen = m.controllen,
		};
		int fl = fcntl(copy, F_GETFL);
		bool blocking = fl >= 0 && !(fl & O_NONBLOCK) && !(flags & MSG_DONTWAIT);
		rc = become(m.c.tid, sock_domain(copy) == AF_UNIX, &st);
		ssize_t n = rc == 0 ? sendmsg(copy, &h, flags | MSG_NOSIGNAL | MSG_DONTWAIT) : -1;
		if (rc == 0 && n < 0)
			rc = -errno;
		unbecome(&st);
		/* Would block: let the kernel wait, not the supervisor. */
		done = !(blocking && rc == -EAGAIN);
		if (done && rc < 0)
			resp->error = rc;
		else if (done)
			resp->val = n;
	} else if (rc < 0 && rc != -EMSGSIZE) {
		resp->error = rc;
		done = true;
	}
	while (nfds > 0)
		close(fds[--nfds]);
	msg_copy_free(&m);
	return done;
}

static void net_sendmsg(struct sup *s, const struct seccomp_notif *req,
			struct seccomp_notif_resp *resp)
{
	struct msg_copy m = { .c = { .tid = (pid_t)req->pid, .fd = (int)req->data.args[0] } };
	int flags = (int)req->data.args[2];
	_cleanup_fd_ int copy = grab_or_answer(s, req, m.c.fd, resp);

	if (copy < 0)
		return;
	bool stream = false;
	if (passes_through(copy, flags, &stream, resp)) {
		if (!local_sendmsg(s, req, copy, flags, resp))
			resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		return;
	}
	if (resp->error)
		return;
	_cleanup_fd_ int mem = sys_open_mem(m.c.tid);
	int rc = mem < 0 ? mem : read_msg(mem, req->data.args[1], &m, stream);
	if (stream)
		/* A TCP name is ignored: only the payload goes, never blocking
		 * the supervisor (a full send buffer answers EAGAIN). */
		m.has_name = false, flags |= MSG_DONTWAIT;
	if (sys_notif_valid(s->notify_fd, req->id)) {
		m.c.proto = stream ? "tcp" : "udp";
		ssize_t n = rc < 0 ? rc : send_copy(s, copy, &m, flags, resp);
		if (n >= 0)
			resp->val = n;
		else if (!resp->error)
			resp->error = (int32_t)n;
	}
	msg_copy_free(&m);
}

/* sendmmsg: each message as sendmsg; msg_len written back as the kernel
 * would. Stops at the first failure: the count so far, or its error. */
static void net_sendmmsg(struct sup *s, const struct seccomp_notif *req,
			 struct seccomp_notif_resp *resp)
{
	pid_t tid = (pid_t)req->pid;
	uint64_t vec = req->data.args[1];
	unsigned vlen = (unsigned)req->data.args[2];
	int flags = (int)req->data.args[3];
	_cleanup_fd_ int copy = grab_or_answer(s, req, (int)req->data.args[0], resp);

	if (copy < 0)
		return;
	bool stream = false;
	if (passes_through(copy, flags, &stream, resp)) {
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		return;
	}
	if (stream)
		flags |= MSG_DONTWAIT;
	if (resp->error)
		return;
	if (vlen > UIO_MAXIOV)
		vlen = UIO_MAXIOV;
	_cleanup_fd_ int mem = sys_open_mem(tid);
	unsigned sent = 0;
	ssize_t err = mem < 0 ? mem : 0;
	for (; sent < vlen && err == 0; sent++) {
		struct msg_copy m = {
			.c = { .tid = tid, .fd = (int)req->data.args[0], .proto = "udp" }
		};
		uint64_t at = vec + sent * sizeof(struct mmsghdr);
		ssize_t n = read_msg(mem, at, &m, stream);
		if (stream)
			m.has_name = false;
		if (n == 0 && !sys_notif_valid(s->notify_fd, req->id))
			n = -ESRCH;
		if (n == 0)
			n = send_copy(s, copy, &m, flags, resp);
		msg_copy_free(&m);
		if (n < 0) {
			err = n;
			break;
		}
		unsigned len = (unsigned)n;
		if (sys_poke(tid, at + offsetof(struct mmsghdr, msg_len), &len, sizeof len) < 0) {
			err = -EFAULT;
			break;
		}
	}
	if (sent > 0) {
		resp->error = 0;
		resp->val = sent;
	} else if (!resp->error) {
		resp->error = (int32_t)err;
	}
}

/* ---- receive emulation for sockets whose DNS went to the stub ---- */

/* Receives one datagram on the copy without blocking the supervisor, with
 * the stub's address replaced by the nameserver's. A blocking socket
 * with nothing queued gets EAGAIN: resolvers poll before they read. */
static ssize_t stub_recv(struct sup *s, int copy, ino_t ino, void *buf, size_t len, int flags,
			 struct sockaddr_storage *from, socklen_t *flen)
{
	*flen = sizeof *from;
	ssize_t n = recvfrom(copy, buf, len, flags | MSG_DONTWAIT, (struct sockaddr *)from, flen);
	if (n < 0)
		return -errno;
	netdns_rewrite_source(s->dns, ino, from, flen);
	return n;
}

/* The socket behind fd when its DNS went to the stub (else -1 and the
 * call goes on untouched). */
static int stub_socket(struct sup *s, pid_t tid, int fd, ino_t *ino)
{
	char path[64];
	struct stat st, cst;

	/* Most receives are not DNS: one stat tells, without a copy. */
	snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)tid, fd);
	if (!s->dns || stat(path, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    !netdns_find(s->dns, st.st_ino))
		return -1;
	int copy = grab_socket(s, tid, fd);
	if (copy < 0)
		return -1;
	/* A dup2() in between: the receive goes on untouched. */
	if (fstat(copy, &cst) < 0 || cst.st_ino != st.st_ino) {
		close(copy);
		return -1;
	}
	*ino = st.st_ino;
	return copy;
}

static void net_recvfrom(struct sup *s, const struct seccomp_notif *req,
			 struct seccomp_notif_resp *resp)
{
	pid_t tid = (pid_t)req->pid;
	ino_t ino;
	_cleanup_fd_ int copy = stub_socket(s, tid, (int)req->data.args[0], &ino);
	if (copy < 0) {
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		return;
	}
	uint64_t buf = req->data.args[1], src = req->data.args[4], srclen = req->data.args[5];
	size_t len = req->data.args[2] > NET_DGRAM_MAX ? NET_DGRAM_MAX : req->data.args[2];
	_cleanup_free_ char *data = malloc(len ? len : 1);
	struct sockaddr_storage from;
	socklen_t flen, ulen = 0;
	if (!data || sys_peek(tid, srclen, &ulen, sizeof ulen) < 0) {
		resp->error = data ? -EFAULT : -ENOMEM;
		return;
	}
	if (!sys_notif_valid(s->notify_fd, req->id))
		return;
	ssize_t n = stub_recv(s, copy, ino, data, len, (int)req->data.args[3], &from, &flen);
	if (n < 0) {
		resp->error = (int32_t)n;
		return;
	}
	size_t put = (size_t)n < len ? (size_t)n : len;
	/* One write for payload, address and its length, as the kernel's
	 * own copies to user space would (writable memory only). */
	struct iovec local[3] = { { data, put },
				  { &from, ulen < flen ? ulen : flen },
				  { &flen, sizeof flen } };
	struct iovec remote[3] = { { (void *)(uintptr_t)buf, local[0].iov_len },
				   { (void *)(uintptr_t)src, local[1].iov_len },
				   { (void *)(uintptr_t)srclen, sizeof flen } };
	if (sys_pokev(tid, local, remote, 3) < 0) {
		resp->error = -EFAULT;
		return;
	}
	resp->val = n;
}

/* recvmsg, and recvmmsg as one message: enough for resolvers. */
static void net_recvmsg(struct sup *s, const struct seccomp_notif *req,
			struct seccomp_notif_resp *resp, bool mmsg)
{
	pid_t tid = (pid_t)req->pid;
	ino_t ino;
	_cleanup_fd_ int copy = stub_socket(s, tid, (int)req->data.args[0], &ino);
	if (copy < 0) {
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		return;
	}
	uint64_t at = req->data.args[1];
	int flags = (int)(mmsg ? req->data.args[3] : req->data.args[2]);
	struct msghdr h = { 0 };
	struct iovec iov[UIO_MAXIOV];
	if (sys_peek(tid, at, &h, sizeof h) < 0 || h.msg_iovlen > UIO_MAXIOV ||
	    (h.msg_iovlen &&
	     sys_peek(tid, (uint64_t)(uintptr_t)h.msg_iov, iov, h.msg_iovlen * sizeof *iov) < 0)) {
		resp->error = h.msg_iovlen > UIO_MAXIOV ? -EMSGSIZE : -EFAULT;
		return;
	}
	size_t total = 0;
	for (size_t i = 0; i < h.msg_iovlen && total < NET_DGRAM_MAX; i++)
		total += iov[i].iov_len;
	if (total > NET_DGRAM_MAX)
		total = NET_DGRAM_MAX;
	_cleanup_free_ char *data = malloc(total ? total : 1);
	if (!data) {
		resp->error = -ENOMEM;
		return;
	}
	if (!sys_notif_valid(s->notify_fd, req->id))
		return;
	struct sockaddr_storage from;
	socklen_t flen;
	ssize_t n = stub_recv(s, copy, ino, data, total, flags, &from, &flen);
	if (n < 0) {
		resp->error = (int32_t)n;
		return;
	}
	size_t left = (size_t)n < total ? (size_t)n : total, off = 0;
	int rc = 0;
	for (size_t i = 0; i < h.msg_iovlen && left && rc == 0; i++) {
		size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;
		rc = sys_poke(tid, (uint64_t)(uintptr_t)iov[i].iov_base, data + off, k);
		off += k;
		left -= k;
	}
	socklen_t namelen = h.msg_name ? flen : 0;
	if (rc == 0 && h.msg_name)
		rc = sys_poke(tid, (uint64_t)(uintptr_t)h.msg_name, &from,
			      h.msg_namelen < flen ? h.msg_namelen : flen);
	size_t zero = 0;
	int mflags = (size_t)n > total ? MSG_TRUNC : 0;
	if (rc == 0)
		rc = sys_poke(tid, at + offsetof(struct msghdr, msg_namelen), &namelen,
			      sizeof namelen);
	if (rc == 0)
		rc = sys_poke(tid, at + offsetof(struct msghdr, msg_controllen), &zero,
			      sizeof zero);
	if (rc == 0)
		rc = sys_poke(tid, at + offsetof(struct msghdr, msg_flags), &mflags, sizeof mflags);
	if (rc == 0 && mmsg) {
		unsigned len = (unsigned)n;
		rc = sys_poke(tid, at + offsetof(struct mmsghdr, msg_len), &len, sizeof len);
	}
	if (rc < 0)
		resp->error = rc;
	else
		resp->val = mmsg ? 1 : n;
}

void sup_net_notify(struct sup *s, const struct seccomp_notif *req, struct seccomp_notif_resp *resp)
{
	switch (req->data.nr) {
	case SYS_connect:
		net_connect(s, req, resp);
		break;
	case SYS_sendto:
		net_sendto(s, req, resp);
		break;
	case SYS_sendmsg:
		net_sendmsg(s, req, resp);
		break;
	case SYS_sendmmsg:
		net_sendmmsg(s, req, resp);
		break;
	case SYS_recvfrom:
		net_recvfrom(s, req, resp);
		break;
	case SYS_recvmsg:
		net_recvmsg(s, req, resp, false);
		break;
	case SYS_recvmmsg:
		net_recvmsg(s, req, resp, true);
		break;
	default:
		resp->error = -ENOSYS;
		break;
	}
}
