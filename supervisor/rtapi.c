#include "rtapi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cleanup.h"
#include "http.h"
#include "sup.h"

/* Synchronous payloads are at most 6 MB each way; headroom for headers
 * and encodings, then a clear error rather than unbounded memory. */
#define RT_MAX_BODY   (8u << 20)
#define RT_MAX_CONNS  16
#define RT_PREFIX     "/2018-06-01/runtime/invocation/"
#define RT_INIT_ERROR "/2018-06-01/runtime/init/error"

enum kind { K_OTHER, K_NEXT, K_RESPONSE, K_ERROR, K_INIT_ERROR };
enum state { S_IDLE, S_UPSTREAM, S_ERRPOST };

struct bytes {
	char *d;
	size_t len, off; /* off: already written (output) or parsed (input) */
	size_t cap;
};

struct conn {
	int down, up;
	bool connecting; /* up: non-blocking connect in progress */
	bool close_down; /* close downstream once its output is flushed */
	struct bytes din, uin, dout, uout;
	struct http_in *dp, *up_p;
	enum state state;
	enum kind kind;
	struct http_msg req; /* the request being proxied (kept to re-send) */
	char rid[128];       /* the event under an error post */
};

struct rtapi {
	struct sup *s;
	struct rtapi_hooks hooks;
	int lfd;
	struct sockaddr_in self; /* 127.0.0.1:port */
	struct sockaddr_storage upstream;
	socklen_t upstream_len;
	char upstream_text[128];
	struct conn *c[RT_MAX_CONNS];
	char current[128]; /* request id of the invocation in progress */
};

/* ---- buffers ---- */

static int bytes_add(struct bytes *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		/* Doubling: a 6 MB body arrives in many reads. */
		size_t cap = b->cap ? b->cap : 65536;
		while (cap < b->len + len + 1)
			cap *= 2;
		char *d = realloc(b->d, cap);
		if (!d)
			return -ENOMEM;
		b->d = d;
		b->cap = cap;
	}
	memcpy(b->d + b->len, data, len);
	b->len += len;
	return 0;
}

static void bytes_consume(struct bytes *b)
{
	if (b->off >= b->len) {
		free(b->d);
		*b = (struct bytes){ 0 };
	}
}

/* ---- setup ---- */

static int parse_upstream(struct rtapi *r, const char *v, char *err, size_t errlen)
{
	char host[128], port[16];
	const char *colon = strrchr(v, ':');
	/* Numeric first: Lambda gives 127.0.0.1:9001, and a static binary's
	 * name lookup would need glibc's NSS modules at run time. */
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | AI_NUMERICHOST },
			*res = NULL;

	if (!colon || colon == v || strlen(colon + 1) >= sizeof port ||
	    (size_t)(colon - v) >= sizeof host) {
		snprintf(err, errlen, "AWS_LAMBDA_RUNTIME_API=%s is not HOST:PORT", v);
		return -EINVAL;
	}
	size_t hl = (size_t)(colon - v);
	if (v[0] == '[' && hl >= 2 && v[hl - 1] == ']')
		snprintf(host, sizeof host, "%.*s", (int)hl - 2, v + 1);
	else
		snprintf(host, sizeof host, "%.*s", (int)hl, v);
	snprintf(port, sizeof port, "%s", colon + 1);
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc == EAI_NONAME) {
		hints.ai_flags = AI_NUMERICSERV;
		rc = getaddrinfo(host, port, &hints, &res);
	}
	if (rc != 0 || !res) {
		snprintf(err, errlen, "AWS_LAMBDA_RUNTIME_API=%s: %s", v, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(&r->upstream, res->ai_addr, res->ai_addrlen);
	r->upstream_len = res->ai_addrlen;
	freeaddrinfo(res);
	snprintf(r->upstream_text, sizeof r->upstream_text, "%s", v);
	return 0;
}

int rtapi_open(struct sup *s, const struct rtapi_hooks *hooks, struct rtapi **out, char *err,
	       size_t errlen)
{
	const char *v = getenv("AWS_LAMBDA_RUNTIME_API");
	char env[64];

	*out = NULL;
	if (!v || !*v)
		return 0;
	struct rtapi *r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	r->s = s;
	if (hooks)
		r->hooks = *hooks;
	int rc = parse_upstream(r, v, err, errlen);
	if (rc < 0) {
		free(r);
		return rc;
	}
	r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	r->self = (struct sockaddr_in){ .sin_family = AF_INET,
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof r->self;
	if (r->lfd < 0 || bind(r->lfd, (struct sockaddr *)&r->self, sizeof r->self) < 0 ||
	    listen(r->lfd, 16) < 0 || getsockname(r->lfd, (struct sockaddr *)&r->self, &sl) < 0) {
		snprintf(err, errlen, "Runtime API proxy: cannot listen on 127.0.0.1: %s",
			 strerror(errno));
		rc = -errno;
		rtapi_free(r);
		return rc;
	}
	snprintf(env, sizeof env, "127.0.0.1:%u", ntohs(r->self.sin_port));
	if (setenv("AWS_LAMBDA_RUNTIME_API", env, 1) < 0) {
		rtapi_free(r);
		return -ENOMEM;
	}
	*out = r;
	return 1;
}

static void conn_free(struct conn *c)
{
	if (!c)
		return;
	if (c->down >= 0)
		close(c->down);
	if (c->up >= 0)
		close(c->up);
	free(c->din.d);
	free(c->uin.d);
	free(c->dout.d);
	free(c->uout.d);
	http_in_free(c->dp);
	http_in_free(c->up_p);
	http_msg_free(&c->req);
	free(c);
}

void rtapi_free(struct rtapi *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < RT_MAX_CONNS; i++)
		conn_free(r->c[i]);
	if (r->lfd >= 0)
		close(r->lfd);
	free(r);
}

/* ---- addresses ---- */

static bool same_addr(const struct sockaddr *sa, const struct pol_addr *a)
{
	struct pol_addr x = { 0 }, na, nx;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		x.family = AF_INET;
		memcpy(x.addr, &in->sin_addr, 4);
		x.port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		x.family = AF_INET6;
		memcpy(x.addr, &in6->sin6_addr, 16);
		x.port = ntohs(in6->sin6_port);
	} else {
		return false;
	}
	pol_addr_normalize(a, &na);
	pol_addr_normalize(&x, &nx);
	return na.family == nx.family && na.port == nx.port &&
	       memcmp(na.addr, nx.addr, na.family == AF_INET ? 4 : 16) == 0;
}

bool rtapi_is_proxy(const struct rtapi *r, const struct pol_addr *a)
{
	return r && same_addr((const struct sockaddr *)&r->self, a);
}

bool rtapi_is_upstream(const struct rtapi *r, const struct pol_addr *a)
{
	return r && same_addr((const struct sockaddr *)&r->upstream, a);
}

const struct sockaddr *rtapi_proxy_addr(const struct rtapi *r)
{
	return r ? (const struct sockaddr *)&r->self : NULL;
}

const struct sockaddr *rtapi_upstream_addr(const struct rtapi *r)
{
	return r ? (const struct sockaddr *)&r->upstream : NULL;
}

const char *rtapi_current(const struct rtapi *r)
{
	return r && r->current[0] ? r->current : NULL;
}

/* ---- the exchange ---- */

static enum kind classify(const struct http_msg *m, char *rid, size_t ridlen)
{
	const char *t = m->target ? m->target : "";

	rid[0] = 0;
	if (strcmp(m->method, "GET") == 0 && strcmp(t, RT_PREFIX "next") == 0)
		return K_NEXT;
	if (strcmp(m->method, "POST") == 0 && strcmp(t, RT_INIT_ERROR) == 0)
		return K_INIT_ERROR;
	if (strcmp(m->method, "POST") != 0 || strncmp(t, RT_PREFIX, strlen(RT_PREFIX)) != 0)
		return K_OTHER;
	const char *id = t + strlen(RT_PREFIX), *slash = strchr(id, '/');
	if (!slash || slash == id || (size_t)(slash - id) >= ridlen)
		return K_OTHER;
	snprintf(rid, ridlen, "%.*s", (int)(slash - id), id);
	if (strcmp(slash, "/response") == 0)
		return K_RESPONSE;
	if (strcmp(slash, "/error") == 0)
		return K_ERROR;
	return K_OTHER;
}

static void proxy_log(struct rtapi *r, const char *what, const char *detail)
{
	cJSON *ev = log_begin(r->s->log, "runtime_api", "deny", r->s->child);
	if (!ev)
		return;
	cJSON_AddStringToObject(ev, "reason", what);
	if (detail)
		cJSON_AddStringToObject(ev, "detail", detail);
	cJSON_AddStringToObject(ev, "upstream", r->upstream_text);
	log_emit(r->s->log, ev);
}

static int queue_msg(struct bytes *out, const struct http_msg *m)
{
	char *buf;
	size_t len;
	int rc = http_serialize(m, &buf, &len);
	if (rc == 0)
		rc = bytes_add(out, buf, len);
	free(buf);
	return rc;
}

/* The error posted to target (an invocation's, or the init error) in
 * place of what the runtime sent. */
static void security_error_to(struct http_msg *m, const char *target, const char *reason)
{
	char body[512];
	cJSON *o = cJSON_CreateObject();
	char msg[256];

	snprintf(msg, sizeof msg, "Security Violation: %s", reason);
	cJSON_AddStringToObject(o, "errorType", "Security.Violation");
	cJSON_AddStringToObject(o, "errorMessage", msg);
	char *json = o ? cJSON_PrintUnformatted(o) : NULL;
	snprintf(body, sizeof body, "%s", json ? json : "{\"errorType\":\"Security.Violation\"}");
	free(json);
	cJSON_Delete(o);
	http_msg_free(m);
	m->request = true;
	m->keep_alive = true;
	snprintf(m->method, sizeof m->method, "POST");
	m->target = strdup(target);
	http_set(m, "Content-Type", "application/json");
	http_set(m, "Lambda-Runtime-Function-Error-Type", "Security.Violation");
	http_set_body(m, body, strlen(body));
}

/* The error the real API gets for a rejected event or response. */
static void security_error(struct http_msg *m, const char *rid, const char *reason)
{
	char target[256];

	snprintf(target, sizeof target, RT_PREFIX "%s/error", rid);
	security_error_to(m, target, reason);
}

static int up_connect(struct rtapi *r, struct conn *c)
{
	if (c->up >= 0)
		return 0;
	c->up = socket(r->upstream.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->up < 0)
		return -errno;
	setsockopt(c->up, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	c->up_p = http_in_new(false, RT_MAX_BODY);
	if (!c->up_p)
		return -ENOMEM;
	if (connect(c->up, (struct sockaddr *)&r->upstream, r->upstream_len) < 0) {
		if (errno != EINPROGRESS)
			return -errno;
		c->connecting = true;
	}
	return 0;
}

static void up_close(struct conn *c)
{
	if (c->up >= 0)
		close(c->up);
	c->up = -1;
	c->connecting = false;
	http_in_free(c->up_p);
	c->up_p = NULL;
	free(c->uin.d);
	free(c->uout.d);
	c->uin = c->uout = (struct bytes){ 0 };
}

/* Answers the workload itself (the real API could not be reached). */
static void answer_down(struct conn *c, int status, const char *why)
{
	struct http_msg m = { .status = status, .keep_alive = false };
	char body[256];

	snprintf(body, sizeof body, "{\"errorType\":\"Proxy.Error\",\"errorMessage\":\"%s\"}", why);
	http_set(&m, "Content-Type", "application/json");
	http_set_body(&m, body, strlen(body));
	queue_msg(&c->dout, &m);
	http_msg_free(&m);
	c->close_down = true;
	c->state = S_IDLE;
}

/* Sends c->req upstream. */
static void forward_request(struct rtapi *r, struct conn *c)
{
	int rc = up_connect(r, c);
	if (rc == 0)
		rc = queue_msg(&c->uout, &c->req);
	if (rc < 0) {
		proxy_log(r, "cannot reach the Runtime API", strerror(-rc));
		answer_down(c, 502, "fnguard cannot reach the Runtime API");
		return;
	}
	c->state = S_UPSTREAM;
}

static void got_request(struct rtapi *r, struct conn *c)
{
	char rid[128];
	struct rtapi_verdict v = { 0 };

	c->kind = classify(&c->req, rid, sizeof rid);
	/* What reaches the caller: a response, and an error's message (a
	 * function could put a secret there as well), the init error too. */
	if ((c->kind == K_RESPONSE || c->kind == K_ERROR || c->kind == K_INIT_ERROR) &&
	    r->hooks.response)
		r->hooks.response(r->hooks.arg, rid, c->req.body ? c->req.body : "",
				  c->req.body_len, &v);
	if (v.reject) {
		bool keep = c->req.keep_alive;
		if (c->kind == K_INIT_ERROR) {
			security_error_to(&c->req, RT_INIT_ERROR, v.reason);
		} else {
			security_error(&c->req, rid, v.reason);
			c->kind = K_ERROR;
		}
		c->req.keep_alive = keep;
	}
	forward_request(r, c);
}

static void got_response(struct rtapi *r, struct conn *c, struct http_msg *m)
{
	if (c->state == S_ERRPOST) {
		/* The rejected event's error is posted: ask for the next one,
		 * the handler never saw this one. */
		http_msg_free(m);
		c->rid[0] = 0;
		log_set_request_id(r->s->log, NULL);
		r->current[0] = 0;
		forward_request(r, c);
		return;
	}
	const char *rid = http_get(m, "Lambda-Runtime-Aws-Request-Id");
	if (c->kind == K_NEXT && m->status == 200 && r->hooks.event &&
	    (!rid || !*rid || strlen(rid) >= sizeof c->rid)) {
		/* An event no error can be posted for is not passed on
		 * uninspected either (fail closed). */
		proxy_log(r, "an event without a usable Lambda-Runtime-Aws-Request-Id", NULL);
		http_msg_free(m);
		up_close(c);
		answer_down(c, 502, "fnguard: an event without a request id");
		return;
	}
	if (c->kind == K_NEXT && m->status == 200 && rid && strlen(rid) < sizeof c->rid) {
		struct rtapi_verdict v = { 0 };
		log_set_request_id(r->s->log, rid);
		snprintf(r->current, sizeof r->current, "%s", rid);
		if (r->hooks.event)
			r->hooks.event(r->hooks.arg, rid, m->body ? m->body : "", m->body_len, &v);
		if (v.reject) {
			struct http_msg err = { 0 };
			snprintf(c->rid, sizeof c->rid, "%s", rid);
			security_error(&err, rid, v.reason);
			int rc = queue_msg(&c->uout, &err);
			http_msg_free(&err);
			http_msg_free(m);
			/* The invocation stays current until its error is
			 * accepted: a kill meanwhile reports it (fail_current). */
			if (rc < 0) {
				answer_down(c, 502, "fnguard: out of memory");
				return;
			}
			c->state = S_ERRPOST;
			return;
		}
	}
	bool down_keep = c->req.keep_alive;
	if (!m->keep_alive)
		up_close(c); /* after this answer the real API closes */
	m->keep_alive = down_keep;
	if (queue_msg(&c->dout, m) < 0)
		c->close_down = true;
	if (!down_keep)
		c->close_down = true;
	if ((c->kind == K_RESPONSE || c->kind == K_ERROR) && m->status < 300) {
		/* The invocation is over once its result is accepted. */
		log_set_request_id(r->s->log, NULL);
		r->current[0] = 0;
	}
	http_msg_free(m);
	http_msg_free(&c->req);
	c->state = S_IDLE;
}

/* ---- I/O ---- */

static int fill(int fd, struct bytes *in)
{
	char buf[65536];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 1 : -errno;
	if (n == 0)
		return 0;
	return bytes_add(in, buf, (size_t)n) < 0 ? -ENOMEM : 1;
}

static int flush(int fd, struct bytes *out)
{
	while (out->off < out->len) {
		ssize_t n = send(fd, out->d + out->off, out->len - out->off, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		out->off += (size_t)n;
	}
	bytes_consume(out);
	return 0;
}

/* Parses what c->din holds while the connection is idle. */
static int pump_down(struct rtapi *r, struct conn *c)
{
	while (c->state == S_IDLE && !c->close_down && c->din.off < c->din.len) {
		size_t used;
		int rc = http_in_feed(c->dp, c->din.d + c->din.off, c->din.len - c->din.off, &used);
		c->din.off += used;
		if (rc < 0) {
			proxy_log(r, "malformed request from the runtime", http_in_error(c->dp));
			answer_down(c, rc == -EMSGSIZE ? 413 : 400,
				    "malformed or oversized request");
			return rc;
		}
		if (rc == 0)
			break;
		http_in_take(c->dp, &c->req);
		got_request(r, c);
	}
	bytes_consume(&c->din);
	return 0;
}

static void pump_up(struct rtapi *r, struct conn *c, bool eof)
{
	while (c->up_p && c->uin.off < c->uin.len) {
		size_t used;
		int rc = http_in_feed(c->up_p, c->uin.d + c->uin.off, c->uin.len - c->uin.off,
				      &used);
		c->uin.off += used;
		if (rc < 0) {
			proxy_log(r, "malformed answer from the Runtime API",
				  http_in_error(c->up_p));
			up_close(c);
			answer_down(c, 502, "malformed answer from the Runtime API");
			return;
		}
		if (rc == 0)
			break;
		struct http_msg m;
		http_in_take(c->up_p, &m);
		if (c->state == S_IDLE) {
			http_msg_free(&m); /* unasked for: dropped */
			continue;
		}
		got_response(r, c, &m);
		if (!c->up_p)
			return; /* closed after a Connection: close answer */
	}
	if (c->up_p)
		bytes_consume(&c->uin);
	if (!eof || !c->up_p)
		return;
	int rc = c->state != S_IDLE ? http_in_eof(c->up_p) : 0;
	if (rc == 1) {
		struct http_msg m;
		http_in_take(c->up_p, &m);
		m.keep_alive = false;
		got_response(r, c, &m);
	} else if (c->state != S_IDLE) {
		proxy_log(r, "the Runtime API closed the connection mid-exchange", NULL);
		answer_down(c, 502, "the Runtime API closed the connection");
	}
	up_close(c);
}

size_t rtapi_pollfds(struct rtapi *r, struct pollfd *fds, size_t max)
{
	size_t n = 0;

	if (!r || max == 0)
		return 0;
	fds[n++] = (struct pollfd){ .fd = r->lfd, .events = POLLIN };
	for (size_t i = 0; i < RT_MAX_CONNS && n + 2 <= max; i++) {
		struct conn *c = r->c[i];
		if (!c)
			continue;
		short dev = POLLRDHUP | (c->dout.len > c->dout.off ? POLLOUT : 0) |
			    (c->state == S_IDLE && !c->close_down ? POLLIN : 0);
		fds[n++] = (struct pollfd){ .fd = c->down, .events = dev };
		short uev = POLLIN | (c->connecting || c->uout.len > c->uout.off ? POLLOUT : 0);
		fds[n++] = (struct pollfd){ .fd = c->up, .events = uev }; /* -1: skipped */
	}
	return n;
}

static void accept_conns(struct rtapi *r)
{
	for (;;) {
		int fd = accept4(r->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		size_t i = 0;
		while (i < RT_MAX_CONNS && r->c[i])
			i++;
		struct conn *c = i < RT_MAX_CONNS ? calloc(1, sizeof *c) : NULL;
		if (!c || !(c->dp = http_in_new(true, RT_MAX_BODY))) {
			free(c);
			close(fd);
			proxy_log(r, "too many Runtime API connections", NULL);
			continue;
		}
		/* Whole messages go out in one send; no Nagle wait behind them. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		c->down = fd;
		c->up = -1;
		r->c[i] = c;
	}
}

static short revents_of(const struct pollfd *fds, size_t n, int fd)
{
	for (size_t i = 0; fd >= 0 && i < n; i++)
		if (fds[i].fd == fd)
			return fds[i].revents;
	return 0;
}

static bool service(struct rtapi *r, struct conn *c, const struct pollfd *fds, size_t n)
{
	short dre = revents_of(fds, n, c->down), ure = revents_of(fds, n, c->up);

	if (c->state != S_IDLE && (dre & (POLLRDHUP | POLLHUP | POLLERR)))
		return false; /* the runtime gave up waiting (a long poll too) */
	if (c->up >= 0 && c->connecting && (ure & (POLLOUT | POLLERR | POLLHUP))) {
		int err = 0;
		socklen_t l = sizeof err;
		getsockopt(c->up, SOL_SOCKET, SO_ERROR, &err, &l);
		c->connecting = false;
		if (err) {
			proxy_log(r, "cannot reach the Runtime API", strerror(err));
			up_close(c);
			answer_down(c, 502, "fnguard cannot reach the Runtime API");
		}
	}
	if (c->up >= 0 && !c->connecting && (ure & (POLLIN | POLLHUP | POLLERR))) {
		int rc = fill(c->up, &c->uin);
		pump_up(r, c, rc <= 0);
	}
	if (c->state == S_IDLE && (dre & (POLLIN | POLLHUP | POLLERR))) {
		int rc = fill(c->down, &c->din);
		if (rc <= 0)
			c->close_down = true; /* the runtime closed its connection */
	}
	/* Pipelined requests wait in din until the previous answer is out. */
	if (c->state == S_IDLE && c->din.off < c->din.len)
		pump_down(r, c);
	/* A request read just now goes out now, not after another poll: every
	 * loop turn is on the invocation's critical path. */
	if (c->up >= 0 && !c->connecting && c->uout.len > c->uout.off &&
	    flush(c->up, &c->uout) < 0) {
		proxy_log(r, "write to the Runtime API failed", strerror(errno));
		up_close(c);
		answer_down(c, 502, "the Runtime API connection failed");
	}
	if (c->dout.len > c->dout.off && flush(c->down, &c->dout) < 0)
		return false;
	return !(c->close_down && c->dout.len == c->dout.off);
}

void rtapi_handle(struct rtapi *r, const struct pollfd *fds, size_t n)
{
	if (!r)
		return;
	if (revents_of(fds, n, r->lfd) & POLLIN)
		accept_conns(r);
	for (size_t i = 0; i < RT_MAX_CONNS; i++) {
		if (r->c[i] && !service(r, r->c[i], fds, n)) {
			conn_free(r->c[i]);
			r->c[i] = NULL;
		}
	}
}

/* ---- after a kill ---- */

void rtapi_fail_current(struct rtapi *r, const char *reason)
{
	struct http_msg m = { 0 };
	char *buf = NULL, resp[256];
	size_t len;

	if (!r || !r->current[0])
		return;
	security_error(&m, r->current, reason);
	m.keep_alive = false;
	int rc = http_serialize(&m, &buf, &len);
	http_msg_free(&m);
	_cleanup_fd_ int fd =
		rc == 0 ? socket(r->upstream.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
	struct timeval tv = { .tv_sec = 2 };
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	}
	bool sent = fd >= 0 && connect(fd, (struct sockaddr *)&r->upstream, r->upstream_len) == 0 &&
		    send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len &&
		    read(fd, resp, sizeof resp) > 0;
	free(buf);
	if (!sent)
		proxy_log(r, "could not report the killed invocation's error", r->current);
	log_set_request_id(r->s->log, NULL);
	r->current[0] = 0;
}
