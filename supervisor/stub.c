#include "stub.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cleanup.h"

#define STUB_MAX_NS      3    /* as many as glibc reads (MAXNS) */
#define STUB_MAX_PENDING 256  /* queries waiting for upstream */
#define STUB_TIMEOUT_MS  5000 /* glibc's default per-try timeout */
#define DNS_UDP_MAX      65535

struct pending {
	int fd; /* connected to the upstream nameserver; -1 when free */
	struct sockaddr_in client;
	struct dns_query q;
	int64_t deadline;
	uint8_t *query; /* the client's packet, for SERVFAIL */
	size_t qlen;
};

/* A DNS-over-TCP client (a TC=1 retry, or a resolver that prefers TCP):
 * length-prefixed messages, forwarded over TCP to the nameserver. */
#define STUB_MAX_TCP 32
#define TCP_BUF      (2 + 65535)

struct tcp_sess {
	int cfd; /* the workload's connection; -1 when free */
	int ufd; /* upstream connection while a query is out */
	uint16_t client_port;
	uint8_t *in, *up; /* TCP_BUF each */
	size_t in_len, up_len;
	bool up_sent;
	struct dns_query q;
	int64_t deadline;
};

struct stub {
	int udp;
	int tcp; /* listener on the same address and port */
	struct sockaddr_in addr;
	struct tcp_sess t[STUB_MAX_TCP];
	struct sockaddr_storage ns[STUB_MAX_NS];
	socklen_t ns_len[STUB_MAX_NS];
	size_t n_ns;
	struct stub_hooks h;
	struct pending p[STUB_MAX_PENDING];
	size_t n_pending;
};

static void read_resolv(struct stub *s, const char *path)
{
	_cleanup_file_ FILE *f = fopen(path, "re");
	char line[512], addr[INET6_ADDRSTRLEN + 1];

	while (f && fgets(line, sizeof line, f) && s->n_ns < STUB_MAX_NS) {
		if (sscanf(line, " nameserver %46s", addr) != 1)
			continue;
		struct sockaddr_in *in = (struct sockaddr_in *)&s->ns[s->n_ns];
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&s->ns[s->n_ns];
		memset(&s->ns[s->n_ns], 0, sizeof s->ns[s->n_ns]);
		if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
			in->sin_family = AF_INET;
			in->sin_port = htons(53);
			s->ns_len[s->n_ns++] = sizeof *in;
		} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons(53);
			s->ns_len[s->n_ns++] = sizeof *in6;
		}
	}
	if (s->n_ns == 0) { /* glibc's default when resolv.conf names none */
		struct sockaddr_in *in = (struct sockaddr_in *)&s->ns[0];
		in->sin_family = AF_INET;
		in->sin_port = htons(53);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s->ns_len[0] = sizeof *in;
		s->n_ns = 1;
	}
}

int stub_open(struct stub **out, const char *resolv_conf, const struct stub_hooks *h, char *err,
	      size_t errlen)
{
	struct stub *s = calloc(1, sizeof *s);
	socklen_t len = sizeof s->addr;

	if (!s)
		return -ENOMEM;
	s->h = *h;
	for (size_t i = 0; i < STUB_MAX_PENDING; i++)
		s->p[i].fd = -1;
	for (size_t i = 0; i < STUB_MAX_TCP; i++)
		s->t[i].cfd = s->t[i].ufd = -1;
	s->tcp = -1;
	int terr = 0;
	/* UDP and TCP share one port number, which the kernel hands out for
	 * UDP only: the same number may be taken for TCP (by a listener or a
	 * connection on this host). Another ephemeral port is then tried. */
	for (int attempt = 0;; attempt++) {
		s->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		s->addr = (struct sockaddr_in){ .sin_family = AF_INET,
						.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		len = sizeof s->addr;
		if (s->udp < 0 || bind(s->udp, (struct sockaddr *)&s->addr, sizeof s->addr) < 0 ||
		    getsockname(s->udp, (struct sockaddr *)&s->addr, &len) < 0) {
			int e = errno;
			snprintf(err, errlen, "DNS stub: cannot bind a UDP socket on 127.0.0.1: %s",
				 strerror(e));
			stub_free(s);
			return -e;
		}
		s->tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		terr = s->tcp < 0 || bind(s->tcp, (struct sockaddr *)&s->addr, sizeof s->addr) < 0
			       ? errno
			       : 0;
		if (terr != EADDRINUSE || attempt == 16)
			break;
		close(s->tcp);
		close(s->udp);
		s->tcp = s->udp = -1;
	}
	if (terr || listen(s->tcp, 64) < 0) {
		int e = terr ? terr : errno;
		snprintf(err, errlen, "DNS stub: cannot listen on 127.0.0.1:%u/tcp: %s",
			 ntohs(s->addr.sin_port), strerror(e));
		stub_free(s);
		return -e;
	}
	read_resolv(s, resolv_conf);
	*out = s;
	return 0;
}

static void drop(struct stub *s, struct pending *p)
{
	if (p->fd >= 0)
		close(p->fd);
	free(p->query);
	p->query = NULL;
	p->fd = -1;
	s->n_pending--;
}

static void tcp_close(struct tcp_sess *t)
{
	if (t->cfd >= 0)
		close(t->cfd);
	if (t->ufd >= 0)
		close(t->ufd);
	free(t->in);
	free(t->up);
	memset(t, 0, sizeof *t);
	t->cfd = t->ufd = -1;
}

void stub_free(struct stub *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < STUB_MAX_PENDING; i++)
		if (s->p[i].fd >= 0)
			drop(s, &s->p[i]);
	for (size_t i = 0; i < STUB_MAX_TCP; i++)
		if (s->t[i].cfd >= 0)
			tcp_close(&s->t[i]);
	if (s->udp >= 0)
		close(s->udp);
	if (s->tcp >= 0)
		close(s->tcp);
	free(s);
}

const struct sockaddr_in *stub_addr(const struct stub *s)
{
	return &s->addr;
}

size_t stub_pollfds(struct stub *s, struct pollfd *fds, size_t max)
{
	size_t n = 0;

	if (n < max)
		fds[n++] = (struct pollfd){ .fd = s->udp, .events = POLLIN };
	if (n < max)
		fds[n++] = (struct pollfd){ .fd = s->tcp, .events = POLLIN };
	for (size_t i = 0; i < STUB_MAX_TCP && n < max; i++) {
		const struct tcp_sess *t = &s->t[i];
		if (t->cfd < 0)
			continue;
		if (t->ufd >= 0)
			fds[n++] = (struct pollfd){ .fd = t->ufd,
						    .events = t->up_sent ? POLLIN : POLLOUT };
		else
			fds[n++] = (struct pollfd){ .fd = t->cfd, .events = POLLIN };
	}
	for (size_t i = 0; i < STUB_MAX_PENDING && n < max; i++)
		if (s->p[i].fd >= 0)
			fds[n++] = (struct pollfd){ .fd = s->p[i].fd, .events = POLLIN };
	return n;
}

static void reply_error(struct stub *s, const struct sockaddr_in *to, const uint8_t *q, size_t qlen,
			int rcode)
{
	_cleanup_free_ uint8_t *out = NULL;
	size_t n = 0;

	if (dns_build_error(q, qlen, rcode, &out, &n) == 0)
		sendto(s->udp, out, n, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof *to);
}

/* A new upstream socket per query: a fresh source port and a connected
 * socket, so only the nameserver's own datagrams reach it. */
static int forward(struct stub *s, const struct sockaddr_in *client, const struct dns_query *q,
		   const uint8_t *pkt, size_t len, int64_t now)
{
	struct pending *p = NULL;

	for (size_t i = 0; i < STUB_MAX_PENDING && !p; i++)
		if (s->p[i].fd < 0)
			p = &s->p[i];
	if (!p)
		return -EAGAIN;
	int fam = s->ns[0].ss_family;
	int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&s->ns[0], s->ns_len[0]) < 0 ||
	    send(fd, pkt, len, MSG_DONTWAIT) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	p->query = malloc(len);
	if (!p->query) {
		close(fd);
		return -ENOMEM;
	}
	memcpy(p->query, pkt, len);
	p->qlen = len;
	p->fd = fd;
	p->client = *client;
	p->q = *q;
	p->deadline = now + STUB_TIMEOUT_MS;
	s->n_pending++;
	return 0;
}

static void from_client(struct stub *s, int64_t now)
{
	uint8_t pkt[DNS_UDP_MAX];
	struct sockaddr_in from;
	socklen_t flen = sizeof from;
	char err[128];
	struct dns_query q;

	for (;;) {
		ssize_t n = recvfrom(s->udp, pkt, sizeof pkt, MSG_DONTWAIT,
				     (struct sockaddr *)&from, &flen);
		if (n < 0)
			return;
		/* Only workload sockets on this host reach 127.0.0.1. */
		if (flen != sizeof from || from.sin_family != AF_INET)
			continue;
		if (dns_parse_query(pkt, (size_t)n, &q, err, sizeof err) < 0)
			continue; /* not DNS: nothing to answer */
		if (s->h.decide(s->h.arg, &q, ntohs(from.sin_port)) == STUB_REFUSE) {
			reply_error(s, &from, pkt, (size_t)n, 3 /* NXDOMAIN */);
			continue;
		}
		if (forward(s, &from, &q, pkt, (size_t)n, now) < 0)
			reply_error(s, &from, pkt, (size_t)n, 2 /* SERVFAIL */);
	}
}

static void from_upstream(struct stub *s, struct pending *p)
{
	uint8_t pkt[DNS_UDP_MAX];
	struct dns_answer a = { 0 };
	char err[128];

	ssize_t n = recv(p->fd, pkt, sizeof pkt, MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		/* ICMP unreachable from the nameserver, or similar. */
		reply_error(s, &p->client, p->query, p->qlen, 2);
		drop(s, p);
		return;
	}
	/* An answer that does not match the question (id, name, type) is a
	 * stray or a spoof: keep waiting for the real one. */
	if (dns_parse_answer(pkt, (size_t)n, &p->q, &a, err, sizeof err) < 0)
		return;
	s->h.learned(s->h.arg, &p->q, &a);
	dns_answer_clear(&a);
	sendto(s->udp, pkt, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&p->client,
	       sizeof p->client);
	drop(s, p);
}

/* Sends a whole framed message; DNS messages are small and the peer is a
 * local socket, so a short write only happens to a dead peer. */
static int send_framed(int fd, const uint8_t *msg, size_t len)
{
	uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	struct iovec iov[2] = { { hdr, 2 }, { (void *)(uintptr_t)msg, len } };
	struct msghdr h = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n = sendmsg(fd, &h, MSG_DONTWAIT | MSG_NOSIGNAL);
	return n == (ssize_t)(len + 2) ? 0 : -EIO;
}

static void tcp_error(struct tcp_sess *t, const uint8_t *q, size_t qlen, int rcode)
{
	_cleanup_free_ uint8_t *out = NULL;
	size_t n = 0;

	if (dns_build_error(q, qlen, rcode, &out, &n) < 0 || send_framed(t->cfd, out, n) < 0)
		tcp_close(t);
}

static void tcp_accept(struct stub *s)
{
	struct sockaddr_in from;
	socklen_t flen = sizeof from;

	for (;;) {
		int fd = accept4(s->tcp, (struct sockaddr *)&from, &flen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct tcp_sess *t = NULL;
		for (size_t i = 0; i < STUB_MAX_TCP && !t; i++)
			if (s->t[i].cfd < 0)
				t = &s->t[i];
		if (!t || !(t->in = malloc(TCP_BUF)) || !(t->up = malloc(TCP_BUF))) {
			if (t) {
				free(t->in);
				t->in = NULL;
			}
			close(fd);
			continue;
		}
		t->cfd = fd;
		t->client_port = ntohs(from.sin_port);
	}
}

/* Drops the query of len bytes (and its length prefix) from the buffer. */
static void tcp_consume(struct tcp_sess *t, size_t len)
{
	if (t->cfd < 0)
		return;
	memmove(t->in, t->in + 2 + len, t->in_len - 2 - len);
	t->in_len -= 2 + len;
}

/* A complete query from the client: judge it, answer or go upstream. */
static void tcp_query(struct stub *s, struct tcp_sess *t, int64_t now)
{
	size_t len = (size_t)t->in[0] << 8 | t->in[1];
	const uint8_t *q = t->in + 2;
	char err[128];

	if (dns_parse_query(q, len, &t->q, err, sizeof err) < 0) {
		tcp_close(t);
		return;
	}
	if (s->h.decide(s->h.arg, &t->q, t->client_port) == STUB_REFUSE) {
		tcp_error(t, q, len, 3 /* NXDOMAIN */);
		tcp_consume(t, len);
		return;
	}
	int fd = socket(s->ns[0].ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    (connect(fd, (struct sockaddr *)&s->ns[0], s->ns_len[0]) < 0 && errno != EINPROGRESS)) {
		if (fd >= 0)
			close(fd);
		tcp_error(t, q, len, 2 /* SERVFAIL */);
		tcp_consume(t, len);
		return;
	}
	t->ufd = fd;
	t->up_sent = false;
	t->up_len = 0;
	t->deadline = now + STUB_TIMEOUT_MS;
}

/* Serves every complete query already buffered, one at a time: glibc
 * pipelines A and AAAA on one connection after a TC=1 answer. */
static void tcp_next(struct stub *s, struct tcp_sess *t, int64_t now)
{
	while (t->cfd >= 0 && t->ufd < 0 && t->in_len >= 2 &&
	       t->in_len >= 2 + ((size_t)t->in[0] << 8 | t->in[1])) {
		size_t before = t->in_len;
		tcp_query(s, t, now);
		if (t->ufd >= 0 || t->cfd < 0 || t->in_len == before)
			break; /* gone upstream, closed, or stuck */
	}
}

static void tcp_from_client(struct stub *s, struct tcp_sess *t, int64_t now)
{
	ssize_t n = recv(t->cfd, t->in + t->in_len, TCP_BUF - t->in_len, MSG_DONTWAIT);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			tcp_close(t);
		return;
	}
	t->in_len += (size_t)n;
	tcp_next(s, t, now);
}

static void tcp_from_upstream(struct stub *s, struct tcp_sess *t, int64_t now)
{
	size_t qlen = (size_t)t->in[0] << 8 | t->in[1];

	if (!t->up_sent) {
		int e = 0;
		socklen_t l = sizeof e;
		if (getsockopt(t->ufd, SOL_SOCKET, SO_ERROR, &e, &l) < 0 || e ||
		    send_framed(t->ufd, t->in + 2, qlen) < 0) {
			close(t->ufd);
			t->ufd = -1;
			tcp_error(t, t->in + 2, qlen, 2);
			tcp_consume(t, qlen);
			tcp_next(s, t, now);
			return;
		}
		t->up_sent = true;
		return;
	}
	ssize_t n = recv(t->ufd, t->up + t->up_len, TCP_BUF - t->up_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		t->up_len += (size_t)n;
	size_t alen = t->up_len >= 2 ? (size_t)t->up[0] << 8 | t->up[1] : 0;
	if (n > 0 && (t->up_len < 2 || t->up_len < 2 + alen))
		return; /* more to come */
	close(t->ufd);
	t->ufd = -1;
	struct dns_answer a = { 0 };
	char err[128];
	if (n <= 0 || dns_parse_answer(t->up + 2, alen, &t->q, &a, err, sizeof err) < 0) {
		tcp_error(t, t->in + 2, qlen, 2 /* SERVFAIL */);
	} else {
		s->h.learned(s->h.arg, &t->q, &a);
		dns_answer_clear(&a);
		if (send_framed(t->cfd, t->up + 2, alen) < 0) {
			tcp_close(t);
			return;
		}
	}
	tcp_consume(t, qlen);
	tcp_next(s, t, now);
}

void stub_handle(struct stub *s, const struct pollfd *fds, size_t n, int64_t now_ms)
{
	for (size_t i = 0; i < n; i++) {
		if (!(fds[i].revents & (POLLIN | POLLOUT | POLLERR | POLLHUP)))
			continue;
		if (fds[i].fd == s->udp) {
			from_client(s, now_ms);
			continue;
		}
		if (fds[i].fd == s->tcp) {
			tcp_accept(s);
			continue;
		}
		bool done = false;
		for (size_t j = 0; j < STUB_MAX_TCP && !done; j++) {
			struct tcp_sess *t = &s->t[j];
			if (t->cfd >= 0 && t->ufd == fds[i].fd) {
				tcp_from_upstream(s, t, now_ms);
				done = true;
			} else if (t->cfd >= 0 && t->ufd < 0 && t->cfd == fds[i].fd) {
				tcp_from_client(s, t, now_ms);
				done = true;
			}
		}
		if (done)
			continue;
		for (size_t j = 0; j < STUB_MAX_PENDING; j++)
			if (s->p[j].fd == fds[i].fd) {
				from_upstream(s, &s->p[j]);
				break;
			}
	}
	for (size_t j = 0; j < STUB_MAX_PENDING; j++) {
		struct pending *p = &s->p[j];
		if (p->fd >= 0 && p->deadline <= now_ms) {
			reply_error(s, &p->client, p->query, p->qlen, 2 /* SERVFAIL */);
			drop(s, p);
		}
	}
	for (size_t j = 0; j < STUB_MAX_TCP; j++) {
		struct tcp_sess *t = &s->t[j];
		if (t->cfd >= 0 && t->ufd >= 0 && t->deadline <= now_ms) {
			size_t qlen = (size_t)t->in[0] << 8 | t->in[1];
			close(t->ufd);
			t->ufd = -1;
			tcp_error(t, t->in + 2, qlen, 2);
			tcp_consume(t, qlen);
			tcp_next(s, t, now_ms);
		}
	}
}

int stub_timeout(const struct stub *s, int64_t now_ms)
{
	int64_t best = -1;

	for (size_t j = 0; j < STUB_MAX_PENDING; j++) {
		const struct pending *p = &s->p[j];
		if (p->fd < 0)
			continue;
		int64_t left = p->deadline > now_ms ? p->deadline - now_ms : 0;
		if (best < 0 || left < best)
			best = left;
	}
	for (size_t j = 0; j < STUB_MAX_TCP; j++) {
		const struct tcp_sess *t = &s->t[j];
		if (t->cfd < 0 || t->ufd < 0)
			continue;
		int64_t left = t->deadline > now_ms ? t->deadline - now_ms : 0;
		if (best < 0 || left < best)
			best = left;
	}
	return (int)best;
}
