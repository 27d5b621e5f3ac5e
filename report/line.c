#include "line.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Nesting beyond this is not something fnguard writes; refusing it keeps
 * the skipper's work bounded on hostile input. */
#define MAX_DEPTH 64

static const char *const key_names[RK_N] = {
	[RK_TS] = "ts",
	[RK_EVENT] = "event",
	[RK_ACTION] = "action",
	[RK_FUNCTION] = "function",
	[RK_PID] = "pid",
	[RK_REQUEST_ID] = "request_id",
	[RK_RULE] = "rule",
	[RK_REASON] = "reason",
	[RK_PATH] = "path",
	[RK_NAME] = "name",
	[RK_QTYPE] = "qtype",
	[RK_PROTO] = "proto",
	[RK_ADDR] = "addr",
	[RK_PORT] = "port",
	[RK_DOMAIN] = "domain",
	[RK_ATTACK] = "attack",
	[RK_JSON_PATH] = "json_path",
	[RK_PAYLOAD] = "payload",
	[RK_SOURCE] = "source",
	[RK_MATCH] = "match",
	[RK_SYSCALL] = "syscall",
	[RK_EXE] = "exe",
	[RK_MODE] = "mode",
	[RK_COUNTS] = "counts",
};

static const unsigned char key_len[RK_N] = {
	[RK_TS] = 2,        [RK_EVENT] = 5,       [RK_ACTION] = 6, [RK_FUNCTION] = 8,
	[RK_PID] = 3,       [RK_REQUEST_ID] = 10, [RK_RULE] = 4,   [RK_REASON] = 6,
	[RK_PATH] = 4,      [RK_NAME] = 4,        [RK_QTYPE] = 5,  [RK_PROTO] = 5,
	[RK_ADDR] = 4,      [RK_PORT] = 4,        [RK_DOMAIN] = 6, [RK_ATTACK] = 6,
	[RK_JSON_PATH] = 9, [RK_PAYLOAD] = 7,     [RK_SOURCE] = 6, [RK_MATCH] = 5,
	[RK_SYSCALL] = 7,   [RK_EXE] = 3,         [RK_MODE] = 4,   [RK_COUNTS] = 6,
};

static int key_index(const char *k, size_t n)
{
	/* Length and first letter rule out nearly every key before a compare. */
	for (int i = 0; i < RK_N; i++)
		if (key_len[i] == n && key_names[i][0] == k[0] && memcmp(key_names[i], k, n) == 0)
			return i;
	return -1;
}

struct cur {
	const char *p, *end;
};

static void skip_ws(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
		c->p++;
}

/* At an opening quote: leaves c after the closing one and fills v with the
 * contents. Returns 0, or -1 on an unterminated string or a control
 * character (not JSON). */
static int scan_string(struct cur *c, struct rep_val *v)
{
	const char *s = ++c->p;
	bool esc = false;

	for (;;) {
		const char *q = memchr(c->p, '"', (size_t)(c->end - c->p));
		if (!q)
			return -1;
		/* An escaped quote has an odd run of backslashes before it. */
		const char *b = q;
		while (b > s && b[-1] == '\\')
			b--;
		if (b != q)
			esc = true;
		c->p = q + 1;
		if (((q - b) & 1) == 0)
			break;
	}
	if (!esc && memchr(s, '\\', (size_t)(c->p - 1 - s)))
		esc = true;
	for (const char *x = s; x < c->p - 1; x++) {
		if ((unsigned char)*x < 0x20)
			return -1;
		if (*x != '\\')
			continue;
		x++;
		if (*x == 'u') {
			if (c->p - 1 - (x + 1) < 4)
				return -1;
			for (int k = 1; k <= 4; k++)
				if (!isxdigit((unsigned char)x[k]))
					return -1;
			x += 4;
		} else if (!*x || !strchr("\"\\/bfnrt", *x)) {
			/* (strchr finds the NUL that ends its own string) */
			return -1;
		}
	}
	if (v)
		*v = (struct rep_val){ s, (size_t)(c->p - 1 - s), RV_STRING, esc };
	return 0;
}

static int skip_value(struct cur *c, struct rep_val *v, int depth);

static size_t digits(struct cur *c)
{
	const char *s = c->p;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
		c->p++;
	return (size_t)(c->p - s);
}

/* JSON's number grammar, no looser: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_number(struct cur *c)
{
	if (c->p < c->end && *c->p == '-')
		c->p++;
	if (c->p < c->end && *c->p == '0')
		c->p++;
	else if (!digits(c))
		return -1;
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		if (!digits(c))
			return -1;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (!digits(c))
			return -1;
	}
	return 0;
}

static int skip_container(struct cur *c, char close, int depth)
{
	bool obj = close == '}';

	if (depth > MAX_DEPTH)
		return -1;
	c->p++;
	skip_ws(c);
	if (c->p < c->end && *c->p == close) {
		c->p++;
		return 0;
	}
	for (;;) {
		skip_ws(c);
		if (obj) {
			if (c->p >= c->end || *c->p != '"' || scan_string(c, NULL) < 0)
				return -1;
			skip_ws(c);
			if (c->p >= c->end || *c->p != ':')
				return -1;
			c->p++;
			skip_ws(c);
		}
		if (skip_value(c, NULL, depth + 1) < 0)
			return -1;
		skip_ws(c);
		if (c->p >= c->end)
			return -1;
		if (*c->p == ',') {
			c->p++;
			continue;
		}
		if (*c->p != close)
			return -1;
		c->p++;
		return 0;
	}
}

static int skip_value(struct cur *c, struct rep_val *v, int depth)
{
	const char *s = c->p;
	enum rep_vtype t;

	if (c->p >= c->end)
		return -1;
	switch (*c->p) {
	case '"':
		return scan_string(c, v);
	case '{':
	case '[':
		t = *c->p == '{' ? RV_OBJECT : RV_ARRAY;
		if (skip_container(c, *c->p == '{' ? '}' : ']', depth) < 0)
			return -1;
		break;
	case 't':
	case 'f':
	case 'n':
		t = RV_LITERAL;
		while (c->p < c->end && *c->p >= 'a' && *c->p <= 'z')
			c->p++;
		if (!((c->p - s == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "null", 4))) ||
		      (c->p - s == 5 && !memcmp(s, "false", 5))))
			return -1;
		break;
	default:
		t = RV_NUMBER;
		if (scan_number(c) < 0)
			return -1;
		break;
	}
	if (v)
		*v = (struct rep_val){ s, (size_t)(c->p - s), t, false };
	return 0;
}

static int parse_object(const char *s, const char *end, struct rep_line *out)
{
	struct cur c = { s, end };

	memset(out->v, 0, sizeof out->v);
	c.p++; /* '{' */
	skip_ws(&c);
	if (c.p < c.end && *c.p == '}')
		return -1;
	for (;;) {
		struct rep_val k, v;

		skip_ws(&c);
		if (c.p >= c.end || *c.p != '"' || scan_string(&c, &k) < 0)
			return -1;
		skip_ws(&c);
		if (c.p >= c.end || *c.p != ':')
			return -1;
		c.p++;
		skip_ws(&c);
		if (skip_value(&c, &v, 1) < 0)
			return -1;
		int i = k.esc || k.n == 0 ? -1 : key_index(k.p, k.n);
		/* The first occurrence wins, as in cJSON's lookups. */
		if (i >= 0 && out->v[i].type == RV_NONE)
			out->v[i] = v;
		skip_ws(&c);
		if (c.p >= c.end)
			return -1;
		if (*c.p == ',') {
			c.p++;
			continue;
		}
		if (*c.p != '}')
			return -1;
		c.p++;
		break;
	}
	skip_ws(&c);
	if (c.p != c.end)
		return -1;
	out->json = s;
	out->json_len = (size_t)(end - s);
	return 0;
}

int rep_line_parse(const char *line, size_t len, struct rep_line *out)
{
	const char *end = line + len;
	const char *s;

	/* The object runs from the first '{' to the last '}': what exports
	 * put around it (a timestamp and request id before, `aws logs
	 * filter-log-events --output text`'s timestamp after) has neither in
	 * practice, and a line that is not ours fails the checks below. */
	const char *close = memrchr(line, '}', len);
	if (!close)
		return 0;
	end = close + 1;
	s = memchr(line, '{', (size_t)(end - line));
	if (!s || parse_object(s, end, out) < 0)
		return 0;
	return out->v[RK_TS].type == RV_STRING && out->v[RK_EVENT].type == RV_STRING &&
	       out->v[RK_ACTION].type == RV_STRING && out->v[RK_EVENT].n > 0;
}

static int hex4(const char *p, const char *end)
{
	int r = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = util_hexval(p[i]);
		if (h < 0)
			return -1;
		r = r * 16 + h;
	}
	return r;
}

static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes one escape at p (after the backslash) into o; returns bytes
 * written and advances *pp. */
static size_t unescape(const char **pp, const char *end, char *o)
{
	const char *p = *pp;
	char e = *p++;
	int u, lo;

	*pp = p;
	switch (e) {
	case 'n':
		*o = '\n';
		return 1;
	case 't':
		*o = '\t';
		return 1;
	case 'r':
		*o = '\r';
		return 1;
	case 'b':
		*o = '\b';
		return 1;
	case 'f':
		*o = '\f';
		return 1;
	case 'u':
		break;
	default: /* " \ / and anything else as itself */
		*o = e;
		return 1;
	}
	u = hex4(p, end);
	if (u < 0)
		return put_utf8(o, 0xfffd);
	p += 4;
	if (u >= 0xd800 && u <= 0xdbff && end - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
	    (lo = hex4(p + 2, end)) >= 0xdc00 && lo <= 0xdfff) {
		p += 6;
		*pp = p;
		return put_utf8(o,
				0x10000 + (((uint32_t)u - 0xd800) << 10) + ((uint32_t)lo - 0xdc00));
	}
	*pp = p;
	if (u == 0 || (u >= 0xd800 && u <= 0xdfff))
		return put_utf8(o, 0xfffd);
	return put_utf8(o, (uint32_t)u);
}

/* Length of buf[0..o) without a UTF-8 sequence cut at its end. */
static size_t utf8_whole(const char *buf, size_t o)
{
	size_t k = o;
	unsigned char lead;
	size_t need;

	while (k > 0 && o - k < 3 && ((unsigned char)buf[k - 1] & 0xc0) == 0x80)
		k--;
	if (k == 0)
		return o;
	lead = (unsigned char)buf[k - 1];
	need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
	return o - (k - 1) < need ? k - 1 : o;
}

size_t rep_val_text(const struct rep_val *v, char *buf, size_t size)
{
	bool cut = false;
	size_t o = 0;

	if (size == 0)
		return 0;
	if (v->type == RV_NONE) {
		buf[0] = 0;
		return 0;
	}
	/* Only now: an absent value may have no pointer at all (NULL + 0 is
	 * undefined behaviour, which the fuzzer's UBSan stops on). */
	const char *p = v->p, *end = v->p + v->n;
	if (v->type != RV_STRING || !v->esc) {
		size_t n = v->n < size - 1 ? v->n : size - 1;
		cut = n < v->n;
		memcpy(buf, v->p, n);
		o = n;
	} else {
		while (p < end) {
			char tmp[4];
			size_t k;

			if (*p == '\\' && p + 1 < end) {
				p++;
				k = unescape(&p, end, tmp);
			} else {
				tmp[0] = *p++;
				k = 1;
			}
			if (o + k > size - 1) {
				cut = true;
				break;
			}
			memcpy(buf + o, tmp, k);
			o += k;
		}
	}
	if (cut)
		o = utf8_whole(buf, o);
	buf[o] = 0;
	return o;
}

bool rep_val_is(const struct rep_val *v, const char *s)
{
	size_t n = strlen(s);

	if (v->type != RV_STRING)
		return false;
	if (!v->esc)
		return v->n == n && memcmp(v->p, s, n) == 0;
	char buf[256];
	return n < sizeof buf && rep_val_text(v, buf, sizeof buf) == n && memcmp(buf, s, n) == 0;
}

long long rep_val_int(const struct rep_val *v, long long def)
{
	char buf[32], *e;
	long long r;

	if (v->type != RV_NUMBER || v->n >= sizeof buf)
		return def;
	memcpy(buf, v->p, v->n);
	buf[v->n] = 0;
	r = strtoll(buf, &e, 10);
	return e == buf ? def : r;
}

/* Calls fn on every key/value of the object v; stops at a malformed one. */
static void each_member(const struct rep_val *v,
			void (*fn)(void *, const struct rep_val *k, const struct rep_val *val),
			void *arg)
{
	struct cur c = { v->p + 1, v->p + v->n - 1 };

	if (v->type != RV_OBJECT)
		return;
	for (;;) {
		struct rep_val k, val;

		skip_ws(&c);
		if (c.p >= c.end || *c.p != '"' || scan_string(&c, &k) < 0)
			return;
		skip_ws(&c);
		if (c.p >= c.end || *c.p != ':')
			return;
		c.p++;
		skip_ws(&c);
		if (skip_value(&c, &val, 1) < 0)
			return;
		fn(arg, &k, &val);
		skip_ws(&c);
		if (c.p >= c.end || *c.p != ',')
			return;
		c.p++;
	}
}

struct counts_q {
	const char *event, *action;
	long long sum;
};

static void sum_action(void *arg, const struct rep_val *k, const struct rep_val *val)
{
	struct counts_q *q = arg;

	if (!q->action || rep_val_is(k, q->action))
		q->sum += rep_val_int(val, 0) > 0 ? rep_val_int(val, 0) : 0;
}

static void find_event(void *arg, const struct rep_val *k, const struct rep_val *val)
{
	struct counts_q *q = arg;

	if (rep_val_is(k, q->event))
		each_member(val, sum_action, q);
}

long long rep_counts_get(const struct rep_val *counts, const char *event, const char *action)
{
	struct counts_q q = { event, action, 0 };

	each_member(counts, find_event, &q);
	return q.sum;
}
