#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "jsonesc.h"
#include "log.h"
#include "util.h"

/* One line, newline included, stays within 64 KiB: one default Linux pipe
 * buffer, and well under CloudWatch's 256 KiB event limit, so a reader
 * never has to reassemble a line. */
#define LOG_LINE_MAX 65536
/* cJSON_PrintPreallocated may need a few bytes beyond the printed length
 * (its README asks for 5), so the buffer is larger than the cap and the
 * cap is checked on the printed length. */
#define LOG_LINE_BUF (LOG_LINE_MAX + 64)
/* Bytes kept of a string that is cut to make a line fit. */
#define LOG_KEEP 256
/* Shorter values ("1", "yes", "us") would redact half of every line. */
#define LOG_SECRET_MIN 4
#define LOG_MARK       "\xe2\x80\xa6" /* "…" */
#define LOG_MARK_LEN   3

struct log_secret {
	char *name;
	char *value; /* owned; wiped in log_free() */
	size_t len;
};

struct log_count {
	char *event;
	char *action;
	uint64_t n;
};

struct log_ctx {
	int fd;
	bool own_fd;
	bool allowed;
	char *function;
	char *request_id;
	struct log_secret *secrets; /* longest first, so a secret that contains
				     * another is replaced whole */
	size_t n_secrets;
	/* The pairs of bytes (ASCII-lower-cased) secrets start with, as
	 * bits: a body is crossed at one lookup a byte where no secret can
	 * start (a 5 MB response took two seconds with 40 secrets and their
	 * encoded forms compared at every byte). */
	uint64_t *starts;
	struct log_count *counts; /* in order of first appearance */
	size_t n_counts;
	char *line; /* LOG_LINE_BUF bytes; lines are printed here */
};

static void log_freep(struct log_ctx **l)
{
	log_free(*l);
}

#define _cleanup_log_ __attribute__((cleanup(log_freep)))

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt,
							  ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

bool log_is_secret_name(const char *name)
{
	static const char *const exact[] = { "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
					     "AWS_ACCESS_KEY_ID" };
	static const char *const parts[] = { "SECRET", "TOKEN",      "PASSWORD",
					     "PASSWD", "CREDENTIAL", "KEY" };

	if (!name)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(exact); i++)
		if (strcmp(name, exact[i]) == 0)
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
		if (strcasestr(name, parts[i]))
			return true;
	return false;
}

static int secret_cmp(const void *a, const void *b)
{
	const struct log_secret *x = a, *y = b;

	if (x->len != y->len)
		return x->len > y->len ? -1 : 1;
	return strcmp(x->name, y->name);
}

static bool secret_known(const struct log_ctx *l, const char *value, size_t len)
{
	for (size_t i = 0; i < l->n_secrets; i++)
		if (l->secrets[i].len == len && memcmp(l->secrets[i].value, value, len) == 0)
			return true;
	return false;
}

static int push_secret(struct log_ctx *l, const char *name, const char *value, size_t len)
{
	if (len < LOG_SECRET_MIN || secret_known(l, value, len))
		return 0;
	struct log_secret *s = realloc(l->secrets, (l->n_secrets + 1) * sizeof *s);
	if (!s)
		return -ENOMEM;
	l->secrets = s;
	s = &l->secrets[l->n_secrets];
	s->value = strndup(value, len);
	s->name = strdup(name);
	if (!s->value || !s->name) {
		free(s->value);
		free(s->name);
		return -ENOMEM;
	}
	s->len = len;
	l->n_secrets++;
	return 0;
}

/* A secret and the forms JSON encoders write it in (jsonesc.h): a
 * response the runtime serialised holds those, not its bytes. */
static int add_secret(struct log_ctx *l, const char *entry)
{
	const char *eq = strchr(entry, '=');

	if (!eq || eq == entry)
		return 0;
	_cleanup_free_ char *name = strndup(entry, (size_t)(eq - entry));
	if (!name)
		return -ENOMEM;
	if (!log_is_secret_name(name))
		return 0;
	size_t len = strlen(eq + 1);
	int rc = push_secret(l, name, eq + 1, len);
	for (int st = 0; rc == 0 && len >= LOG_SECRET_MIN && st < JESC_N_STYLES; st++) {
		struct util_sb sb;
		util_sb_init(&sb, 0);
		if (jesc_append(&sb, eq + 1, len, (enum jesc_style)st) == 0) {
			size_t n = sb.len;
			_cleanup_free_ char *v = util_sb_take(&sb);
			rc = v ? push_secret(l, name, v, n) : -ENOMEM;
			if (v)
				explicit_bzero(v, n);
		} else {
			util_sb_free(&sb);
		}
	}
	return rc;
}

static unsigned lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32u : c;
}

/* The first two bytes of s (at least LOG_SECRET_MIN long), lower-cased
 * as strncasecmp() compares them. */
static unsigned start_pair(const char *s)
{
	return lower((unsigned char)s[0]) << 8 | lower((unsigned char)s[1]);
}

static int load_secrets(struct log_ctx *l, char *const *envp)
{
	for (size_t i = 0; envp[i]; i++) {
		int r = add_secret(l, envp[i]);
		if (r < 0)
			return r;
	}
	if (l->n_secrets > 1)
		qsort(l->secrets, l->n_secrets, sizeof *l->secrets, secret_cmp);
	if (l->n_secrets && !(l->starts = calloc(65536 / 64, sizeof *l->starts)))
		return -ENOMEM;
	for (size_t i = 0; i < l->n_secrets; i++) {
		unsigned pair = start_pair(l->secrets[i].value);
		l->starts[pair / 64] |= 1ull << (pair % 64);
	}
	return 0;
}

static int open_sink(struct log_ctx *l, const struct log_opts *o, char *err, size_t errlen)
{
	const char *hint;
	int r;

	if (!o->path) {
		if (o->fd < 0 || fcntl(o->fd, F_GETFD) < 0) {
			set_err(err, errlen, "log: file descriptor %d is not open", o->fd);
			return -EBADF;
		}
		l->fd = o->fd;
		return 0;
	}
	l->fd = open(o->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (l->fd >= 0) {
		l->own_fd = true;
		return 0;
	}
	r = -errno;
	switch (-r) {
	case ENOENT:
	case ENOTDIR:
		hint = "create its directory first";
		break;
	case EACCES:
	case EPERM:
		hint = "the file or its directory is not writable by this user";
		break;
	case EROFS:
		hint = "the file system is read-only (on AWS Lambda only /tmp is writable)";
		break;
	default:
		hint = "choose another file with --log or log.sink, or log to stderr";
		break;
	}
	set_err(err, errlen, "log: cannot open %s: %s. Hint: %s", o->path, strerror(-r), hint);
	return r;
}

int log_open(const struct log_opts *o, struct log_ctx **out, char *err, size_t errlen)
{
	_cleanup_log_ struct log_ctx *l = calloc(1, sizeof *l);
	int r;

	if (l) {
		l->fd = -1;
		l->allowed = o->allowed;
		l->function = strdup(o->function ? o->function : "");
		l->line = malloc(LOG_LINE_BUF);
	}
	if (!l || !l->function || !l->line || (o->envp && load_secrets(l, o->envp) < 0)) {
		set_err(err, errlen, "log: out of memory");
		return -ENOMEM;
	}
	r = open_sink(l, o, err, errlen);
	if (r < 0)
		return r;
	*out = take_ptr(&l);
	return 0;
}

void log_free(struct log_ctx *l)
{
	if (!l)
		return;
	if (l->own_fd && l->fd >= 0)
		close(l->fd);
	for (size_t i = 0; i < l->n_secrets; i++) {
		explicit_bzero(l->secrets[i].value, l->secrets[i].len);
		free(l->secrets[i].value);
		free(l->secrets[i].name);
	}
	free(l->secrets);
	free(l->starts);
	for (size_t i = 0; i < l->n_counts; i++) {
		free(l->counts[i].event);
		free(l->counts[i].action);
	}
	free(l->counts);
	free(l->function);
	free(l->request_id);
	free(l->line);
	free(l);
}

void log_set_request_id(struct log_ctx *l, const char *request_id)
{
	free(l->request_id);
	/* Out of memory clears the id rather than keeping a stale one. */
	l->request_id = request_id ? strdup(request_id) : NULL;
}

cJSON *log_begin(struct log_ctx *l, const char *event, const char *action, pid_t pid)
{
	struct timespec now;
	char ts[32];
	cJSON *ev;

	clock_gettime(CLOCK_REALTIME, &now);
	util_rfc3339_ms(&now, ts);
	ev = cJSON_CreateObject();
	if (!ev)
		return NULL;
	if (!cJSON_AddStringToObject(ev, "ts", ts) ||
	    !cJSON_AddStringToObject(ev, "event", event ? event : "") ||
	    !cJSON_AddStringToObject(ev, "action", action ? action : "") ||
	    !cJSON_AddStringToObject(ev, "function", l && l->function ? l->function : "") ||
	    !cJSON_AddNumberToObject(ev, "pid", (double)pid) ||
	    (l && l->request_id && !cJSON_AddStringToObject(ev, "request_id", l->request_id))) {
		cJSON_Delete(ev);
		return NULL;
	}
	return ev;
}

/* ---- redaction ---------------------------------------------------------- */

/* Case-insensitive (ASCII; fnguard never sets a locale): DNS names are
 * lower-cased on the way in, and a secret in a queried name must still
 * be recognised. */
static const struct log_secret *secret_at(const struct log_ctx *l, const char *s, size_t rem)
{
	if (!l->starts || rem < LOG_SECRET_MIN)
		return NULL;
	unsigned pair = start_pair(s);
	if (!(l->starts[pair / 64] & 1ull << (pair % 64)))
		return NULL;
	for (size_t k = 0; k < l->n_secrets; k++) {
		const struct log_secret *sec = &l->secrets[k];

		if (sec->len <= rem && strncasecmp(s, sec->value, sec->len) == 0)
			return sec;
	}
	return NULL;
}

/* A secret cut short by a truncation (log_add_strv(), a payload cut by a
 * handler before it reached us) survives as its first bytes right before
 * the "…" marker; those bytes are still the secret. */
static const struct log_secret *secret_prefix_at(const struct log_ctx *l, const char *s, size_t rem)
{
	if (rem < LOG_SECRET_MIN)
		return NULL;
	for (size_t k = 0; k < l->n_secrets; k++) {
		const struct log_secret *sec = &l->secrets[k];

		if (sec->len > rem && strncasecmp(s, sec->value, rem) == 0)
			return sec;
	}
	return NULL;
}

static bool ends_with_mark(const char *s, size_t n)
{
	return n >= LOG_MARK_LEN && memcmp(s + n - LOG_MARK_LEN, LOG_MARK, LOG_MARK_LEN) == 0;
}

/* Appends s with every secret replaced to sb; returns whether anything
 * was replaced. sb stays untouched when nothing was. */
static bool redact_into(const struct log_ctx *l, const char *s, size_t n, struct util_sb *sb)
{
	bool cut = ends_with_mark(s, n);
	size_t tail = cut ? n - LOG_MARK_LEN : n;
	size_t run = 0, i = 0;
	bool hit = false;

	while (i < n) {
		const struct log_secret *sec = secret_at(l, s + i, n - i);
		size_t skip = sec ? sec->len : 0;

		if (!sec && cut && i < tail && (sec = secret_prefix_at(l, s + i, tail - i)))
			skip = tail - i;
		if (!sec) {
			i++;
			continue;
		}
		util_sb_put(sb, s + run, i - run);
		util_sb_puts(sb, "[REDACTED:");
		util_sb_puts(sb, sec->name);
		util_sb_putc(sb, ']');
		i += skip;
		run = i;
		hit = true;
	}
	if (hit)
		util_sb_put(sb, s + run, n - run);
	return hit;
}

char *log_redact(const struct log_ctx *l, const char *s)
{
	struct util_sb sb;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	util_sb_init(&sb, 0);
	if (!l || !redact_into(l, s, n, &sb))
		util_sb_put(&sb, s, n);
	return util_sb_take(&sb);
}

/* Length of the well-formed UTF-8 sequence at s, or 0 with *bad set to
 * the length of its maximal ill-formed prefix (Unicode's "substitution of
 * maximal subparts", so one U+FFFD replaces each broken sequence). */
static size_t utf8_seq(const unsigned char *s, size_t rem, size_t *bad)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		lo = c == 0xe0 ? 0xa0 : 0x80; /* overlong */
		hi = c == 0xed ? 0x9f : 0xbf; /* UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		lo = c == 0xf0 ? 0x90 : 0x80; /* overlong */
		hi = c == 0xf4 ? 0x8f : 0xbf; /* above U+10FFFF */
	} else {
		*bad = 1;
		return 0;
	}
	for (size_t k = 1; k <= need; k++) {
		if (k >= rem || s[k] < lo || s[k] > hi) {
			*bad = k;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return need + 1;
}

/* Like redact_into(), for ill-formed UTF-8: cJSON copies bytes >= 0x80 as
 * they are, so without this a line would not be valid JSON. */
static bool fix_utf8_into(const char *s, size_t n, struct util_sb *sb)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0, i = 0, bad = 0;
	bool hit = false;

	while (i < n) {
		size_t k = utf8_seq(u + i, n - i, &bad);

		if (k) {
			i += k;
			continue;
		}
		util_sb_put(sb, s + run, i - run);
		util_sb_puts(sb, "\xef\xbf\xbd");
		i += bad;
		run = i;
		hit = true;
	}
	if (hit)
		util_sb_put(sb, s + run, n - run);
	return hit;
}

/* The cleaned copy of s in cJSON's allocator, or NULL with *err 0 when s
 * is fine as it is, or NULL with *err -ENOMEM. */
static char *clean_string(const struct log_ctx *l, const char *s, int *err)
{
	size_t n = strlen(s);
	struct util_sb sb;
	_cleanup_free_ char *red = NULL, *fixed = NULL;
	const char *cur = s;
	char *r;

	*err = -ENOMEM;
	util_sb_init(&sb, 0);
	if (redact_into(l, s, n, &sb)) {
		cur = red = util_sb_take(&sb);
		if (!red)
			return NULL;
		n = strlen(red);
	}
	if (fix_utf8_into(cur, n, &sb)) {
		cur = fixed = util_sb_take(&sb);
		if (!fixed)
			return NULL;
		n = strlen(fixed);
	}
	if (cur == s) {
		*err = 0;
		return NULL;
	}
	r = cJSON_malloc(n + 1);
	if (!r)
		return NULL;
	memcpy(r, cur, n + 1);
	*err = 0;
	return r;
}

/* Secrets in the caller's strings are wiped before they are freed, so
 * they do not linger in the heap after the line is written. */
static void wipe_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	cJSON_free(s);
}

static void set_key(cJSON *it, char *s)
{
	if (!(it->type & cJSON_StringIsConst))
		wipe_free(it->string);
	it->type &= ~cJSON_StringIsConst;
	it->string = s;
}

static void set_value(cJSON *it, char *s)
{
	/* A reference's string belongs to someone else (maybe a literal):
	 * swap it for an owned one, never write to it. */
	if (!(it->type & cJSON_IsReference))
		wipe_free(it->valuestring);
	it->type &= ~cJSON_IsReference;
	it->valuestring = s;
}

static int clean_tree(const struct log_ctx *l, cJSON *it)
{
	int err = 0;
	char *s;

	if (it->string && (s = clean_string(l, it->string, &err)))
		set_key(it, s);
	if (err)
		return err;
	if ((cJSON_IsString(it) || cJSON_IsRaw(it)) && it->valuestring &&
	    (s = clean_string(l, it->valuestring, &err)))
		set_value(it, s);
	if (err)
		return err;
	for (cJSON *c = it->child; c; c = c->next) {
		err = clean_tree(l, c);
		if (err)
			return err;
	}
	return 0;
}

/* ---- fitting a line into LOG_LINE_MAX ---------------------------------- */

/* Bytes cJSON prints for string s, quotes included. */
static size_t printed_len(const char *s)
{
	size_t n = 2;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\' || *p == '\b' || *p == '\f' || *p == '\n' ||
		    *p == '\r' || *p == '\t')
			n += 2;
		else if (*p < 32)
			n += 6; /* \u00XX */
		else
			n++;
	}
	return n;
}

/* Largest k <= max that does not split a UTF-8 sequence of s; a sequence
 * has at most three continuation bytes, so back up at most that far. */
static size_t utf8_cut(const char *s, size_t max)
{
	size_t k = max;

	while (k > 0 && max - k < 3 && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--;
	return ((unsigned char)s[k] & 0xc0) == 0x80 ? max : k;
}

struct cand {
	cJSON *it;
	size_t plen;
};

struct cands {
	struct cand *v;
	size_t n;
};

static int collect(cJSON *it, struct cands *c)
{
	if (cJSON_IsString(it) && it->valuestring && strlen(it->valuestring) > LOG_KEEP) {
		struct cand *v = realloc(c->v, (c->n + 1) * sizeof *v);

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->v[c->n++] = (struct cand){ it, printed_len(it->valuestring) };
	}
	for (cJSON *ch = it->child; ch; ch = ch->next)
		if (collect(ch, c) < 0)
			return -ENOMEM;
	return 0;
}

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	return x->plen == y->plen ? 0 : x->plen > y->plen ? -1 : 1;
}

static char *cut_string(const char *s)
{
	size_t n = strlen(s), k = utf8_cut(s, LOG_KEEP);
	char tail[64];
	char *r;
	int t;

	t = snprintf(tail, sizeof tail, LOG_MARK "(truncated %zu bytes)", n - k);
	r = cJSON_malloc(k + (size_t)t + 1);
	if (!r)
		return NULL;
	memcpy(r, s, k);
	memcpy(r + k, tail, (size_t)t + 1);
	return r;
}

/* Cuts the biggest strings of ev until about excess bytes are saved.
 * Returns how many strings were cut, or -ENOMEM. */
static int cut_biggest(cJSON *ev, size_t excess)
{
	struct cands c = { 0 };
	_cleanup_free_ struct cand *v = NULL;
	int cut = 0;

	if (collect(ev, &c) < 0) {
		free(c.v);
		return -ENOMEM;
	}
	v = c.v;
	if (c.n > 1)
		qsort(v, c.n, sizeof *v, cand_cmp);
	for (size_t i = 0; i < c.n && excess > 0; i++) {
		char *s = cut_string(v[i].it->valuestring);
		size_t plen;

		if (!s)
			return -ENOMEM;
		plen = printed_len(s);
		if (plen >= v[i].plen) {
			cJSON_free(s);
			continue;
		}
		set_value(v[i].it, s);
		excess = v[i].plen - plen >= excess ? 0 : excess - (v[i].plen - plen);
		cut++;
	}
	return cut;
}

/* Last resort when cutting strings is not enough (thousands of small
 * items): keep only the fields every line has, and say what happened. */
static cJSON *header_only(const cJSON *ev, size_t len)
{
	static const char *const keep[] = {
		"ts", "event", "action", "function", "pid", "request_id"
	};
	cJSON *m = cJSON_CreateObject();
	char msg[96];

	if (!m)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
		const cJSON *it = cJSON_GetObjectItemCaseSensitive(ev, keep[i]);
		cJSON *dup = it ? cJSON_Duplicate(it, true) : NULL;

		if (it && !dup) {
			cJSON_Delete(m);
			return NULL;
		}
		if (dup)
			cJSON_AddItemToObject(m, keep[i], dup);
	}
	snprintf(msg, sizeof msg, "line of %zu bytes is over the %d-byte limit; fields dropped",
		 len, LOG_LINE_MAX);
	if (!cJSON_AddStringToObject(m, "log_error", msg)) {
		cJSON_Delete(m);
		return NULL;
	}
	return m;
}

static int shrink(cJSON **evp)
{
	size_t len = 0;

	for (int round = 0; round < 3; round++) {
		char *s = cJSON_PrintUnformatted(*evp);
		int r;

		if (!s)
			return -ENOMEM;
		len = strlen(s);
		cJSON_free(s);
		if (len + 1 <= LOG_LINE_MAX)
			return 0;
		r = cut_biggest(*evp, len + 1 - LOG_LINE_MAX);
		if (r < 0)
			return r;
		if (r == 0)
			break;
	}
	cJSON *m = header_only(*evp, len + 1);
	if (!m)
		return -ENOMEM;
	cJSON_Delete(*evp);
	*evp = m;
	return 0;
}

/* Prints ev into l->line with its newline; returns the line's length or
 * -errno. May replace *evp (see shrink()). */
static ssize_t render(struct log_ctx *l, cJSON **evp)
{
	size_t n = LOG_LINE_MAX;
	int r;

	if (cJSON_PrintPreallocated(*evp, l->line, LOG_LINE_BUF, false))
		n = strlen(l->line);
	if (n + 1 > LOG_LINE_MAX) {
		r = shrink(evp);
		if (r < 0)
			return r;
		if (!cJSON_PrintPreallocated(*evp, l->line, LOG_LINE_BUF, false))
			return -EMSGSIZE;
		n = strlen(l->line);
		if (n + 1 > LOG_LINE_MAX)
			return -EMSGSIZE;
	}
	l->line[n] = '\n';
	return (ssize_t)(n + 1);
}

/* ---- emitting ---------------------------------------------------------- */

static int count(struct log_ctx *l, const char *event, const char *action)
{
	struct log_count *c;

	for (size_t i = 0; i < l->n_counts; i++) {
		c = &l->counts[i];
		if (strcmp(c->event, event) == 0 && strcmp(c->action, action) == 0) {
			c->n++;
			return 0;
		}
	}
	c = realloc(l->counts, (l->n_counts + 1) * sizeof *c);
	if (!c)
		return -ENOMEM;
	l->counts = c;
	c = &l->counts[l->n_counts];
	*c = (struct log_count){ strdup(event), strdup(action), 1 };
	if (!c->event || !c->action) {
		free(c->event);
		free(c->action);
		return -ENOMEM;
	}
	l->n_counts++;
	return 0;
}

static const char *str_field(const cJSON *ev, const char *key)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, key));

	return s ? s : "";
}

/* One write(2) for the whole line: O_APPEND makes that one atomic append
 * to a file, and a second write to finish a short one could land after
 * another writer's line, so a short write is an error instead. */
static int write_line(int fd, const char *buf, size_t len)
{
	ssize_t w;

	do
		w = write(fd, buf, len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	return (size_t)w == len ? 0 : -EIO;
}

int log_emit(struct log_ctx *l, cJSON *ev)
{
	const char *action;
	ssize_t len;
	int rc, r;

	if (!ev)
		return -ENOMEM; /* log_begin() failed; nothing to write */
	if (!l) {
		cJSON_Delete(ev);
		return -EINVAL;
	}
	action = str_field(ev, "action");
	const char *event = str_field(ev, "event");
	rc = count(l, event, action);
	/* start and exit frame every run: they are written whatever
	 * log.allowed says, so a reader always sees where a run begins. */
	if (strcmp(action, "allow") == 0 && !l->allowed && strcmp(event, "start") != 0 &&
	    strcmp(event, "exit") != 0) {
		cJSON_Delete(ev);
		return rc;
	}
	/* A line that could not be redacted is dropped, never written raw. */
	r = clean_tree(l, ev);
	len = r < 0 ? r : render(l, &ev);
	cJSON_Delete(ev);
	if (len < 0)
		return (int)len;
	r = write_line(l->fd, l->line, (size_t)len);
	return r < 0 ? r : rc;
}

void log_add_counts(struct log_ctx *l, cJSON *ev)
{
	cJSON *all;

	if (!l || !ev)
		return;
	all = cJSON_AddObjectToObject(ev, "counts");
	for (size_t i = 0; all && i < l->n_counts; i++) {
		const struct log_count *c = &l->counts[i];
		cJSON *e = cJSON_GetObjectItemCaseSensitive(all, c->event);

		if (!e)
			e = cJSON_AddObjectToObject(all, c->event);
		if (!e || !cJSON_AddNumberToObject(e, c->action, (double)c->n))
			return;
	}
}

static cJSON *strv_item(const char *s, size_t max_len)
{
	size_t n = strlen(s), k;
	_cleanup_free_ char *cut = NULL;

	if (n <= max_len)
		return cJSON_CreateString(s);
	k = utf8_cut(s, max_len);
	cut = malloc(k + LOG_MARK_LEN + 1);
	if (!cut)
		return NULL;
	memcpy(cut, s, k);
	memcpy(cut + k, LOG_MARK, LOG_MARK_LEN + 1);
	return cJSON_CreateString(cut);
}

void log_add_strv(cJSON *ev, const char *key, char *const *argv, size_t n, size_t max_items,
		  size_t max_len)
{
	size_t shown = n < max_items ? n : max_items;
	struct util_sb tkey;
	cJSON *arr;

	if (!ev || !key)
		return;
	arr = cJSON_AddArrayToObject(ev, key);
	if (!arr)
		return;
	for (size_t i = 0; argv && i < shown; i++) {
		cJSON *it;

		if (!argv[i]) {
			n = shown = i; /* argv ends early: nothing was left out */
			break;
		}
		it = strv_item(argv[i], max_len);
		if (!it || !cJSON_AddItemToArray(arr, it)) {
			cJSON_Delete(it);
			return;
		}
	}
	if (!argv || n <= shown)
		return;
	util_sb_init(&tkey, 0);
	util_sb_puts(&tkey, key);
	util_sb_puts(&tkey, "_truncated");
	if (!tkey.err)
		cJSON_AddNumberToObject(ev, tkey.buf, (double)(n - shown));
	util_sb_free(&tkey);
}

bool log_writes(const struct log_ctx *l, const char *action)
{
	return l && (l->allowed || strcmp(action, "allow") != 0);
}

int log_count(struct log_ctx *l, const char *event, const char *action)
{
	return l ? count(l, event, action) : -EINVAL;
}
