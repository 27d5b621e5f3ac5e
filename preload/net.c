/* connect, sendto, sendmsg, sendmmsg to internet addresses, and the name
 * lookups of glibc's resolver: the supervisor judges a private copy of
 * each destination, and the allowed call goes on with that copy. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fngp.h"

#define MMSG_MAX 64

static bool is_inet(const struct sockaddr *sa, socklen_t len)
{
	return sa && ((sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) ||
		      (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)));
}

/* Sockets whose DNS went to the stub: the nameserver they meant. Their
 * replies are given that address as source (glibc, c-ares and others
 * drop a reply from any other). */
#define REDIRECTS 64
struct redirect {
	int fd; /* -1: free */
	struct sockaddr_storage ns;
	socklen_t len;
	struct sockaddr_in stub;
};
static struct redirect redirects[REDIRECTS];
static int redirect_lock;

static void lock(void)
{
	while (__atomic_exchange_n(&redirect_lock, 1, __ATOMIC_ACQUIRE))
		;
}

static void unlock(void)
{
	__atomic_store_n(&redirect_lock, 0, __ATOMIC_RELEASE);
}

static void remember(int fd, const struct sockaddr *ns, socklen_t len,
		     const struct sockaddr_storage *to)
{
	static unsigned next;
	struct sockaddr_in stub = { .sin_family = AF_INET };

	if (to->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)to;
		memcpy(&stub.sin_addr, &in6->sin6_addr.s6_addr[12], 4);
		stub.sin_port = in6->sin6_port;
	} else {
		stub = *(const struct sockaddr_in *)to;
	}
	lock();
	struct redirect *r = NULL;
	for (unsigned i = 0; i < REDIRECTS && !r; i++)
		if (redirects[i].fd == fd + 1)
			r = &redirects[i];
	if (!r)
		r = &redirects[next++ % REDIRECTS];
	r->fd = fd + 1; /* zero-initialised table: 0 is free */
	memcpy(&r->ns, ns, len);
	r->len = len;
	r->stub = stub;
	unlock();
}

void fngp_net_after_fork(void)
{
	__atomic_store_n(&redirect_lock, 0, __ATOMIC_RELEASE);
}

void fngp_forget_fd(int fd)
{
	lock();
	for (unsigned i = 0; i < REDIRECTS; i++)
		if (redirects[i].fd == fd + 1)
			redirects[i].fd = 0;
	unlock();
}

/* A datagram from the stub on a redirected socket: from its nameserver. */
static void rewrite_source(int fd, void *src, socklen_t *len)
{
	struct sockaddr_storage *ss = src;
	uint16_t port;
	const uint8_t *a;

	if (!src || !len || *len < sizeof(struct sockaddr_in))
		return;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = src;
		port = in->sin_port;
		a = (const uint8_t *)&in->sin_addr;
	} else if (ss->ss_family == AF_INET6 && *len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = src;
		port = in6->sin6_port;
		a = &in6->sin6_addr.s6_addr[12];
	} else {
		return;
	}
	lock();
	for (unsigned i = 0; i < REDIRECTS; i++) {
		struct redirect *r = &redirects[i];
		if (r->fd != fd + 1 || r->stub.sin_port != port || memcmp(a, &r->stub.sin_addr, 4))
			continue;
		if (r->ns.ss_family == ss->ss_family) {
			memcpy(src, &r->ns, r->len < *len ? r->len : *len);
			*len = r->len;
		} else if (ss->ss_family == AF_INET6 && r->ns.ss_family == AF_INET) {
			/* A v6 socket asked a v4 nameserver: v4-mapped. */
			struct sockaddr_in6 *in6 = src;
			const struct sockaddr_in *ns = (const struct sockaddr_in *)&r->ns;
			memcpy(&in6->sin6_addr.s6_addr[12], &ns->sin_addr, 4);
			in6->sin6_port = ns->sin_port;
		}
		break;
	}
	unlock();
}

FNGP_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *src,
			     socklen_t *len)
{
	FNGP_REAL(real, recvfrom);
	ssize_t r = real(fd, buf, n, flags, src, len);
	if (r >= 0)
		rewrite_source(fd, src, len);
	return r;
}

FNGP_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	FNGP_REAL(real, recvmsg);
	ssize_t r = real(fd, msg, flags);
	if (r >= 0 && msg)
		rewrite_source(fd, msg->msg_name, &msg->msg_namelen);
	return r;
}

/* Judges the destination; on success *to holds what to use (the private
 * copy, or the stub for DNS). 0 or -errno. */
static int judge(int fd, unsigned op, const struct sockaddr *sa, socklen_t len,
		 struct sockaddr_storage *to, socklen_t *tolen)
{
	struct fngp_req req;
	struct fngp_resp resp;
	int type = 0, rfd;
	socklen_t tl = sizeof type;

	fngp_req_init(&req, op);
	if (len > sizeof req.addr)
		len = sizeof req.addr;
	memcpy(&req.addr, sa, len);
	req.addrlen = len;
	getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl);
	req.arg = type;
	memcpy(to, &req.addr, len);
	*tolen = len;
	if (fngp_ask(&req, &resp, &rfd, true) < 0)
		return -EPERM; /* no supervisor: nothing leaves */
	if (resp.err < 0)
		return resp.err;
	if ((resp.flags & FNGP_R_REDIRECT) && resp.addrlen <= sizeof *to) {
		memcpy(to, &resp.addr, resp.addrlen);
		*tolen = resp.addrlen;
		remember(fd, sa, len, to);
	}
	return 0;
}

FNGP_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	FNGP_REAL(real, connect);
	struct sockaddr_storage to;
	socklen_t tolen;

	if (!is_inet(sa, len))
		return real(fd, sa, len);
	int rc = judge(fd, FNGP_CONNECT, sa, len, &to, &tolen);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return real(fd, (struct sockaddr *)&to, tolen);
}

FNGP_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa,
			   socklen_t len)
{
	FNGP_REAL(real, sendto);
	struct sockaddr_storage to;
	socklen_t tolen;

	if (!is_inet(sa, len))
		return real(fd, buf, n, flags, sa, len);
	int rc = judge(fd, FNGP_SEND, sa, len, &to, &tolen);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return real(fd, buf, n, flags, (struct sockaddr *)&to, tolen);
}

FNGP_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	FNGP_REAL(real, sendmsg);
	struct sockaddr_storage to;
	socklen_t tolen;

	if (!msg || !is_inet(msg->msg_name, msg->msg_namelen))
		return real(fd, msg, flags);
	int rc = judge(fd, FNGP_SEND, msg->msg_name, msg->msg_namelen, &to, &tolen);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	struct msghdr m = *msg;
	m.msg_name = &to;
	m.msg_namelen = tolen;
	return real(fd, &m, flags);
}

FNGP_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags)
{
	FNGP_REAL(real, sendmmsg);
	struct mmsghdr copy[MMSG_MAX];
	struct sockaddr_storage to[MMSG_MAX];

	if (!vec)
		return real(fd, vec, n, flags);
	/* At most MMSG_MAX per call: sendmmsg may send fewer than asked. */
	if (n > MMSG_MAX)
		n = MMSG_MAX;
	for (unsigned i = 0; i < n; i++) {
		copy[i] = vec[i];
		struct msghdr *m = &copy[i].msg_hdr;
		if (!is_inet(m->msg_name, m->msg_namelen))
			continue;
		socklen_t tolen;
		int rc = judge(fd, FNGP_SEND, m->msg_name, m->msg_namelen, &to[i], &tolen);
		if (rc < 0) {
			if (i == 0) {
				errno = -rc;
				return -1;
			}
			n = i; /* send those judged so far */
			break;
		}
		m->msg_name = &to[i];
		m->msg_namelen = tolen;
	}
	int sent = real(fd, copy, n, flags);
	for (int i = 0; i < sent; i++)
		vec[i].msg_len = copy[i].msg_len;
	return sent;
}

/* ---- names ---- */

static bool numeric(const char *name)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

int fngp_check_name(const char *name, int qtype)
{
	struct fngp_req req;
	struct fngp_resp resp;
	int fd;

	if (!name || numeric(name))
		return 0;
	if (fngp_req_str(&req, FNGP_DNS, name) < 0)
		return -ENAMETOOLONG;
	req.arg = qtype;
	if (fngp_ask(&req, &resp, &fd, true) < 0)
		return -EPERM;
	return resp.err;
}

/* glibc asks the nameservers in the calling thread's resolver state
 * (each thread has its own): all of them become the stub, which judges
 * every name that reaches DNS as it does in the kernel tier and teaches
 * fnguard the addresses of allowed names. */
void fngp_point_resolver(void *state)
{
	res_state st = state;
	const char *dns = fngp_dns();
	struct sockaddr_in stub = { .sin_family = AF_INET };
	char host[32];
	unsigned port;

	if (!dns || sscanf(dns, "%31[0-9.]:%u", host, &port) != 2 ||
	    inet_pton(AF_INET, host, &stub.sin_addr) != 1)
		return;
	stub.sin_port = htons((uint16_t)port);
	if (!(st->options & RES_INIT))
		res_ninit(st);
	for (int i = 0; i < MAXNS; i++) {
		st->nsaddr_list[i] = stub;
		struct sockaddr_in6 *v6 = st->_u._ext.nsaddrs[i];
		if (v6) {
			/* An IPv6 nameserver is asked over an IPv6 socket:
			 * the stub, v4-mapped. */
			memset(v6, 0, sizeof *v6);
			v6->sin6_family = AF_INET6;
			v6->sin6_port = stub.sin_port;
			v6->sin6_addr.s6_addr[10] = v6->sin6_addr.s6_addr[11] = 0xff;
			memcpy(&v6->sin6_addr.s6_addr[12], &stub.sin_addr, 4);
		}
	}
	if (st->nscount < 1)
		st->nscount = 1;
}

static int qtype_of(const struct addrinfo *hints)
{
	return hints && hints->ai_family == AF_INET6 ? 28 : 1;
}

FNGP_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
			    struct addrinfo **res)
{
	FNGP_REAL(real, getaddrinfo);
	if (node && !(hints && (hints->ai_flags & AI_NUMERICHOST))) {
		int rc = fngp_check_name(node, qtype_of(hints));
		if (rc == -EPERM || rc == -EACCES) {
			return EAI_NONAME;
		} else if (rc < 0) {
			errno = -rc;
			return EAI_SYSTEM;
		}
		fngp_point_resolver(&_res);
	}
	return real(node, service, hints, res);
}

FNGP_EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
	FNGP_REAL(real, gethostbyname2);
	if (fngp_check_name(name, af == AF_INET6 ? 28 : 1) < 0) {
		h_errno = HOST_NOT_FOUND;
		return NULL;
	}
	fngp_point_resolver(&_res);
	return real(name, af);
}

FNGP_EXPORT struct hostent *gethostbyname(const char *name)
{
	return gethostbyname2(name, AF_INET);
}

FNGP_EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf,
				 size_t len, struct hostent **result, int *err)
{
	FNGP_REAL(real, gethostbyname2_r);
	if (fngp_check_name(name, af == AF_INET6 ? 28 : 1) < 0) {
		*result = NULL;
		*err = HOST_NOT_FOUND;
		return 0;
	}
	fngp_point_resolver(&_res);
	return real(name, af, ret, buf, len, result, err);
}

FNGP_EXPORT int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t len,
				struct hostent **result, int *err)
{
	return gethostbyname2_r(name, AF_INET, ret, buf, len, result, err);
}

/* res_* take the name (or a packet holding it) and the caller's state. */
typedef int (*query_fn)(const char *, int, int, unsigned char *, int);
typedef int (*nquery_fn)(res_state, const char *, int, int, unsigned char *, int);

static int refused(res_state st)
{
	if (st)
		st->res_h_errno = HOST_NOT_FOUND;
	h_errno = HOST_NOT_FOUND;
	return -1;
}

#define RES_WRAP(name, alias)                                                            \
	FNGP_EXPORT int name(const char *dname, int class, int type, unsigned char *ans, \
			     int anslen)                                                 \
	{                                                                                \
		static query_fn real;                                                    \
		if (!real)                                                               \
			real = (query_fn)fngp_next(#name);                               \
		if (!real)                                                               \
			real = (query_fn)fngp_next(#alias);                              \
		if (!real || fngp_check_name(dname, type) < 0)                           \
			return refused(NULL);                                            \
		fngp_point_resolver(&_res);                                              \
		return real(dname, class, type, ans, anslen);                            \
	}

#define RES_NWRAP(name, alias)                                                     \
	FNGP_EXPORT int name(res_state st, const char *dname, int class, int type, \
			     unsigned char *ans, int anslen)                       \
	{                                                                          \
		static nquery_fn real;                                             \
		if (!real)                                                         \
			real = (nquery_fn)fngp_next(#name);                        \
		if (!real)                                                         \
			real = (nquery_fn)fngp_next(#alias);                       \
		if (!real || fngp_check_name(dname, type) < 0)                     \
			return refused(st);                                        \
		fngp_point_resolver(st);                                           \
		return real(st, dname, class, type, ans, anslen);                  \
	}

/* <resolv.h> renames these to __res_*; both names are exported, each
 * forwarding to whichever the C library has. */
#undef res_query
#undef res_search
#undef res_nquery
#undef res_nsearch
int __res_query(const char *, int, int, unsigned char *, int);
int __res_search(const char *, int, int, unsigned char *, int);
int __res_nquery(res_state, const char *, int, int, unsigned char *, int);
int __res_nsearch(res_state, const char *, int, int, unsigned char *, int);
int __res_send(const unsigned char *, int, unsigned char *, int);

RES_WRAP(res_query, __res_query)
RES_WRAP(__res_query, res_query)
RES_WRAP(res_search, __res_search)
RES_WRAP(__res_search, res_search)
RES_NWRAP(res_nquery, __res_nquery)
RES_NWRAP(__res_nquery, res_nquery)
RES_NWRAP(res_nsearch, __res_nsearch)
RES_NWRAP(__res_nsearch, res_nsearch)

/* The question name of a DNS packet, as dotted text. */
static int packet_name(const unsigned char *msg, int len, char *out, size_t size)
{
	size_t used = 0;
	int off = 12;

	if (!msg || len < 17)
		return -EINVAL;
	while (off < len && msg[off]) {
		int l = msg[off];
		if (l > 63 || off + 1 + l > len || used + (size_t)l + 2 > size)
			return -EINVAL; /* compression or garbage in a question */
		memcpy(out + used, msg + off + 1, (size_t)l);
		used += (size_t)l;
		out[used++] = '.';
		off += 1 + l;
	}
	if (off + 4 >= len)
		return -EINVAL;
	out[used ? used - 1 : 0] = 0;
	return (msg[off + 1] << 8) | msg[off + 2];
}

typedef int (*send_fn)(const unsigned char *, int, unsigned char *, int);
typedef int (*nsend_fn)(res_state, const unsigned char *, int, unsigned char *, int);

#undef res_send
#undef res_nsend
#define SEND_WRAP(name, alias)                                                              \
	FNGP_EXPORT int name(const unsigned char *msg, int len, unsigned char *ans, int al) \
	{                                                                                   \
		static send_fn real;                                                        \
		char qn[256];                                                               \
		if (!real)                                                                  \
			real = (send_fn)fngp_next(#name);                                   \
		if (!real)                                                                  \
			real = (send_fn)fngp_next(#alias);                                  \
		int qt = packet_name(msg, len, qn, sizeof qn);                              \
		if (!real || qt < 0 || fngp_check_name(qn, qt) < 0)                         \
			return refused(NULL);                                               \
		fngp_point_resolver(&_res);                                                 \
		return real(msg, len, ans, al);                                             \
	}
SEND_WRAP(res_send, __res_send)
SEND_WRAP(__res_send, res_send)

/* name.domain, as res_querydomain asks it (glibc calls its internal query
 * function, not res_query). */
static int joined(const char *name, const char *domain, char *out, size_t size)
{
	int n = domain ? snprintf(out, size, "%s.%s", name, domain)
		       : snprintf(out, size, "%s", name);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

typedef int (*qd_fn)(const char *, const char *, int, int, unsigned char *, int);
int __res_querydomain(const char *, const char *, int, int, unsigned char *, int);

static int querydomain(const char *self, const char *alias, const char *name, const char *domain,
		       int class, int type, unsigned char *ans, int anslen)
{
	qd_fn real = (qd_fn)fngp_next(self);
	char full[1100];

	if (!real)
		real = (qd_fn)fngp_next(alias);
	if (!real || !name || joined(name, domain, full, sizeof full) < 0 ||
	    fngp_check_name(full, type) < 0)
		return refused(NULL);
	fngp_point_resolver(&_res);
	return real(name, domain, class, type, ans, anslen);
}

FNGP_EXPORT int res_querydomain(const char *name, const char *domain, int class, int type,
				unsigned char *ans, int anslen)
{
	return querydomain("res_querydomain", "__res_querydomain", name, domain, class, type, ans,
			   anslen);
}

FNGP_EXPORT int __res_querydomain(const char *name, const char *domain, int class, int type,
				  unsigned char *ans, int anslen)
{
	return querydomain("__res_querydomain", "res_querydomain", name, domain, class, type, ans,
			   anslen);
}

int __res_nsend(res_state, const unsigned char *, int, unsigned char *, int);

static int nsend(const char *self, const char *alias, res_state st, const unsigned char *msg,
		 int len, unsigned char *ans, int al)
{
	nsend_fn real = (nsend_fn)fngp_next(self);
	char qn[256];

	if (!real)
		real = (nsend_fn)fngp_next(alias);
	int qt = packet_name(msg, len, qn, sizeof qn);
	if (!real || qt < 0 || fngp_check_name(qn, qt) < 0)
		return refused(st);
	fngp_point_resolver(st);
	return real(st, msg, len, ans, al);
}

FNGP_EXPORT int res_nsend(res_state st, const unsigned char *msg, int len, unsigned char *ans,
			  int al)
{
	return nsend("res_nsend", "__res_nsend", st, msg, len, ans, al);
}

FNGP_EXPORT int __res_nsend(res_state st, const unsigned char *msg, int len, unsigned char *ans,
			    int al)
{
	return nsend("__res_nsend", "res_nsend", st, msg, len, ans, al);
}
