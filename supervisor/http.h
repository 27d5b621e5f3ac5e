/* HTTP/1.1 messages for the Runtime API proxy, parsed with llhttp (node's
 * parser; Debian ships its C sources, compiled at build time). A parser
 * is fed bytes as they arrive and hands out one whole message at a time:
 * method or status, target, headers and the body with any chunked
 * transfer coding removed, so the proxy can inspect and re-send it. */
#ifndef FNG_HTTP_H
#define FNG_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct http_hdr {
	char *name, *value; /* owned */
};

struct http_msg {
	bool request;
	char method[16];    /* requests */
	char *target;       /* requests: the request target, owned */
	int status;         /* responses */
	char *reason;       /* responses: the reason phrase as received, owned */
	struct http_hdr *h; /* owned */
	size_t n_h, cap_h;
	char *body; /* owned; NUL-terminated for convenience (not counted) */
	size_t body_len, body_cap;
	bool keep_alive; /* the peer expects the connection to stay open */
};

void http_msg_free(struct http_msg *m); /* frees the contents */

/* The value of header name (case-insensitive), or NULL. */
const char *http_get(const struct http_msg *m, const char *name);
/* Sets (replaces) a header; 0 or -ENOMEM. */
int http_set(struct http_msg *m, const char *name, const char *value);
/* Replaces the body with a copy of len bytes; 0 or -ENOMEM. */
int http_set_body(struct http_msg *m, const char *body, size_t len);

/* Serialises m with Content-Length framing (hop-by-hop headers dropped,
 * Connection: keep-alive or close as m->keep_alive says) into a new
 * buffer. 0 or -ENOMEM. */
int http_serialize(const struct http_msg *m, char **out, size_t *len);

struct http_in; /* a parser for one direction of one connection */

/* request: parse requests (else responses). max_body bounds a body (a
 * bigger one is -EMSGSIZE). */
struct http_in *http_in_new(bool request, size_t max_body);
void http_in_free(struct http_in *in); /* accepts NULL */

/* Parses bytes; *used tells how many were consumed. Returns 1 when a
 * whole message is ready (take it with http_in_take, then feed the rest
 * of the bytes), 0 when more bytes are needed, or -EPROTO (malformed;
 * http_in_error says why) / -EMSGSIZE / -ENOMEM. */
int http_in_feed(struct http_in *in, const char *data, size_t len, size_t *used);
/* The peer closed: a response framed by the end of the connection is
 * complete now (1), else 0; -EPROTO when a message was cut short. */
int http_in_eof(struct http_in *in);
/* Moves the ready message into *m (the caller frees it). */
void http_in_take(struct http_in *in, struct http_msg *m);
const char *http_in_error(const struct http_in *in);

#endif
