#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "llhttp.h"

#include "util.h"

/* Hop-by-hop headers (RFC 9110 7.6.1) and the framing we redo. */
static const char *const hop[] = {
	"connection", "keep-alive", "proxy-connection", "transfer-encoding",
	"te",         "trailer",    "upgrade",          "content-length"
};

struct http_in {
	llhttp_t p;
	llhttp_settings_t s;
	struct http_msg cur;
	bool ready;   /* cur is a whole message */
	bool started; /* a message has begun */
	char *field, *value;
	size_t field_len, value_len;
	size_t max_body;
	int err; /* set by a callback: -ENOMEM or -EMSGSIZE */
	char why[160];
};

void http_msg_free(struct http_msg *m)
{
	for (size_t i = 0; i < m->n_h; i++) {
		free(m->h[i].name);
		free(m->h[i].value);
	}
	free(m->h);
	free(m->target);
	free(m->reason);
	free(m->body);
	memset(m, 0, sizeof *m);
}

const char *http_get(const struct http_msg *m, const char *name)
{
	for (size_t i = 0; i < m->n_h; i++)
		if (strcasecmp(m->h[i].name, name) == 0)
			return m->h[i].value;
	return NULL;
}

static int add_hdr(struct http_msg *m, char *name, char *value)
{
	if (m->n_h == m->cap_h) {
		size_t cap = m->cap_h ? m->cap_h * 2 : 16;
		struct http_hdr *h = realloc(m->h, cap * sizeof *h);
		if (!h)
			return -ENOMEM;
		m->h = h;
		m->cap_h = cap;
	}
	m->h[m->n_h++] = (struct http_hdr){ name, value };
	return 0;
}

int http_set(struct http_msg *m, const char *name, const char *value)
{
	char *v = strdup(value);
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_h; i++) {
		if (strcasecmp(m->h[i].name, name) == 0) {
			free(m->h[i].value);
			m->h[i].value = v;
			return 0;
		}
	}
	char *n = strdup(name);
	if (!n || add_hdr(m, n, v) < 0) {
		free(n);
		free(v);
		return -ENOMEM;
	}
	return 0;
}

static int body_append(struct http_msg *m, const char *at, size_t len)
{
	if (m->body_len + len + 1 > m->body_cap) {
		size_t cap = m->body_cap ? m->body_cap : 1024;
		while (cap < m->body_len + len + 1)
			cap *= 2;
		char *b = realloc(m->body, cap);
		if (!b)
			return -ENOMEM;
		m->body = b;
		m->body_cap = cap;
	}
	memcpy(m->body + m->body_len, at, len);
	m->body_len += len;
	m->body[m->body_len] = 0;
	return 0;
}

int http_set_body(struct http_msg *m, const char *body, size_t len)
{
	m->body_len = 0;
	return body_append(m, body, len);
}

static const char *default_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 413:
		return "Payload Too Large";
	case 502:
		return "Bad Gateway";
	default:
		return "Status";
	}
}

int http_serialize(const struct http_msg *m, char **out, size_t *len)
{
	struct util_sb sb;
	char line[512];

	util_sb_init(&sb, 0);
	if (m->request) {
		util_sb_puts(&sb, m->method);
		util_sb_putc(&sb, ' ');
		util_sb_puts(&sb, m->target ? m->target : "/");
		util_sb_puts(&sb, " HTTP/1.1\r\n");
	} else {
		/* The peer's own phrase (llhttp_status_name aborts on codes it
		 * does not know, so it is never asked). */
		snprintf(line, sizeof line, "HTTP/1.1 %03d ", m->status);
		util_sb_puts(&sb, line);
		util_sb_puts(&sb, m->reason ? m->reason : default_reason(m->status));
		util_sb_puts(&sb, "\r\n");
	}
	for (size_t i = 0; i < m->n_h; i++) {
		bool skip = false;
		for (size_t j = 0; j < sizeof hop / sizeof hop[0] && !skip; j++)
			skip = strcasecmp(m->h[i].name, hop[j]) == 0;
		if (skip)
			continue;
		util_sb_puts(&sb, m->h[i].name);
		util_sb_puts(&sb, ": ");
		util_sb_puts(&sb, m->h[i].value);
		util_sb_puts(&sb, "\r\n");
	}
	snprintf(line, sizeof line, "Content-Length: %zu\r\nConnection: %s\r\n\r\n", m->body_len,
		 m->keep_alive ? "keep-alive" : "close");
	util_sb_puts(&sb, line);
	util_sb_put(&sb, m->body ? m->body : "", m->body_len);
	*len = sb.len;
	*out = util_sb_take(&sb);
	return *out ? 0 : -ENOMEM;
}

/* ---- parsing ---- */

static struct http_in *in_of(llhttp_t *p)
{
	return p->data;
}

static int grow_str(char **s, size_t *n, const char *at, size_t len)
{
	if (*n + len > 64 * 1024)
		return -EMSGSIZE; /* a header line this long is an attack */
	char *r = realloc(*s, *n + len + 1);
	if (!r)
		return -ENOMEM;
	memcpy(r + *n, at, len);
	*n += len;
	r[*n] = 0;
	*s = r;
	return 0;
}

static int fail(struct http_in *in, int err)
{
	in->err = err;
	return HPE_USER;
}

static int on_begin(llhttp_t *p)
{
	struct http_in *in = in_of(p);
	http_msg_free(&in->cur);
	in->cur.request = p->type == HTTP_REQUEST;
	in->started = true;
	return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
	struct http_in *in = in_of(p);
	size_t n = in->cur.target ? strlen(in->cur.target) : 0;
	int rc = grow_str(&in->cur.target, &n, at, len);
	return rc < 0 ? fail(in, rc) : 0;
}

static int on_status(llhttp_t *p, const char *at, size_t len)
{
	struct http_in *in = in_of(p);
	size_t n = in->cur.reason ? strlen(in->cur.reason) : 0;
	int rc = grow_str(&in->cur.reason, &n, at, len);
	return rc < 0 ? fail(in, rc) : 0;
}

static int on_field(llhttp_t *p, const char *at, size_t len)
{
	struct http_in *in = in_of(p);
	int rc = grow_str(&in->field, &in->field_len, at, len);
	return rc < 0 ? fail(in, rc) : 0;
}

static int on_value(llhttp_t *p, const char *at, size_t len)
{
	struct http_in *in = in_of(p);
	int rc = grow_str(&in->value, &in->value_len, at, len);
	return rc < 0 ? fail(in, rc) : 0;
}

static int on_value_done(llhttp_t *p)
{
	struct http_in *in = in_of(p);
	char *name = in->field ? in->field : strdup("");
	char *value = in->value ? in->value : strdup("");

	in->field = in->value = NULL;
	in->field_len = in->value_len = 0;
	if (!name || !value || in->cur.n_h >= 256 || add_hdr(&in->cur, name, value) < 0) {
		bool many = name && value;
		free(name);
		free(value);
		return fail(in, many ? -EMSGSIZE : -ENOMEM);
	}
	return 0;
}

static int on_headers_done(llhttp_t *p)
{
	struct http_in *in = in_of(p);

	if (in->cur.request)
		snprintf(in->cur.method, sizeof in->cur.method, "%s",
			 llhttp_method_name((llhttp_method_t)p->method));
	else
		in->cur.status = p->status_code;
	/* llhttp takes any digits; a status we could not re-send is refused. */
	if (!in->cur.request && (in->cur.status < 100 || in->cur.status > 999))
		return fail(in, -EPROTO);
	if (p->content_length > in->max_body && !(p->flags & F_CHUNKED))
		return fail(in, -EMSGSIZE); /* refused before reading it */
	return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
	struct http_in *in = in_of(p);

	if (in->cur.body_len + len > in->max_body)
		return fail(in, -EMSGSIZE);
	int rc = body_append(&in->cur, at, len);
	return rc < 0 ? fail(in, rc) : 0;
}

static int on_complete(llhttp_t *p)
{
	struct http_in *in = in_of(p);

	in->cur.keep_alive = llhttp_should_keep_alive(p);
	in->ready = true;
	in->started = false;
	return HPE_PAUSED; /* one message at a time */
}

struct http_in *http_in_new(bool request, size_t max_body)
{
	struct http_in *in = calloc(1, sizeof *in);

	if (!in)
		return NULL;
	llhttp_settings_init(&in->s);
	in->s.on_message_begin = on_begin;
	in->s.on_url = on_url;
	in->s.on_status = on_status;
	in->s.on_header_field = on_field;
	in->s.on_header_value = on_value;
	in->s.on_header_value_complete = on_value_done;
	in->s.on_headers_complete = on_headers_done;
	in->s.on_body = on_body;
	in->s.on_message_complete = on_complete;
	llhttp_init(&in->p, request ? HTTP_REQUEST : HTTP_RESPONSE, &in->s);
	in->p.data = in;
	in->max_body = max_body;
	return in;
}

void http_in_free(struct http_in *in)
{
	if (!in)
		return;
	http_msg_free(&in->cur);
	free(in->field);
	free(in->value);
	free(in);
}

int http_in_feed(struct http_in *in, const char *data, size_t len, size_t *used)
{
	*used = 0;
	if (in->ready)
		return 1;
	if (!len)
		return 0;
	llhttp_errno_t e = llhttp_execute(&in->p, data, len);
	if (e == HPE_OK) {
		*used = len;
		return 0;
	}
	if (e == HPE_PAUSED) {
		*used = (size_t)(llhttp_get_error_pos(&in->p) - data);
		llhttp_resume(&in->p);
		return 1;
	}
	if (in->err) { /* a callback refused (the error code names the callback) */
		snprintf(in->why, sizeof in->why, "%s",
			 in->err == -EMSGSIZE ? "message over the size limit"
			 : in->err == -EPROTO ? "status code outside 100-999"
					      : "out of memory");
		return in->err;
	}
	snprintf(in->why, sizeof in->why, "%s: %s", llhttp_errno_name(e),
		 llhttp_get_error_reason(&in->p) ? llhttp_get_error_reason(&in->p) : "?");
	return -EPROTO;
}

int http_in_eof(struct http_in *in)
{
	if (in->ready)
		return 1;
	llhttp_errno_t e = llhttp_finish(&in->p);
	if (e == HPE_PAUSED) {
		llhttp_resume(&in->p);
		return 1;
	}
	if (e != HPE_OK || in->started) {
		snprintf(in->why, sizeof in->why, "connection closed in the middle of a message");
		return -EPROTO;
	}
	return in->ready ? 1 : 0;
}

void http_in_take(struct http_in *in, struct http_msg *m)
{
	*m = in->cur;
	memset(&in->cur, 0, sizeof in->cur);
	in->ready = false;
}

const char *http_in_error(const struct http_in *in)
{
	return in->why;
}
