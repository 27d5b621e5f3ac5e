/* The rule engine: one PCRE2 code per rule, JIT-compiled when the rule is
 * added; one match context, JIT stack and match data per set, reused by
 * every scan (a set is therefore not for concurrent use).
 *
 * Patterns run in byte mode (no PCRE2_UTF): code files are not always
 * valid UTF-8 and a UTF check costs a pass over every buffer. They are
 * compiled with PCRE2_MULTILINE so that ^ and $ work per line, while '.'
 * still stops at '\n': protectLambda's `.*x.*` patterns stay line-bound.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cleanup.h"
#include "rules.h"

/* A backtracking pattern on a long minified line can run for minutes;
 * the limit turns that into -E2BIG instead. ~10^7 steps is well past
 * what any sane rule needs on a 16 MiB file. */
#define MATCH_LIMIT 10000000u
/* `.*` patterns push a backtrack frame per character on long lines;
 * PCRE2's default 32 KiB JIT stack runs out on minified JavaScript. */
#define JIT_STACK_MIN (32u * 1024)
#define JIT_STACK_MAX (8u * 1024 * 1024)

static const char *const default_exts[] = { ".py",  ".js", ".mjs", ".cjs", ".rb",
					    ".php", ".pl", ".sh",  NULL };

struct rule {
	char *id;
	char *pattern;
	char *message;
	char *severity;
	char *source;
	char **exts; /* NULL: every file */
	pcre2_code *re;
	bool jit;
};

struct rules {
	struct rule *v;
	size_t n, cap;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jstack;
	pcre2_match_data *md;
};

struct hit {
	size_t offset, len;
	size_t rule;
};

static void rule_fini(struct rule *ru)
{
	free(ru->id);
	free(ru->pattern);
	free(ru->message);
	free(ru->severity);
	free(ru->source);
	if (ru->exts)
		for (char **e = ru->exts; *e; e++)
			free(*e);
	free(ru->exts);
	pcre2_code_free(ru->re);
}

struct rules *rules_new(void)
{
	struct rules *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->mctx = pcre2_match_context_create(NULL);
	r->jstack = pcre2_jit_stack_create(JIT_STACK_MIN, JIT_STACK_MAX, NULL);
	/* Only the whole match is needed: one ovector pair. */
	r->md = pcre2_match_data_create(1, NULL);
	if (!r->mctx || !r->jstack || !r->md) {
		rules_free(r);
		return NULL;
	}
	pcre2_set_match_limit(r->mctx, MATCH_LIMIT);
	pcre2_jit_stack_assign(r->mctx, NULL, r->jstack);
	return r;
}

void rules_free(struct rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		rule_fini(&r->v[i]);
	free(r->v);
	pcre2_match_data_free(r->md);
	pcre2_jit_stack_free(r->jstack);
	pcre2_match_context_free(r->mctx);
	free(r);
}

size_t rules_count(const struct rules *r)
{
	return r ? r->n : 0;
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

static char **dup_exts(const char *const *exts, bool *oom)
{
	size_t n = 0;
	char **v;

	if (!exts)
		return NULL;
	while (exts[n])
		n++;
	v = calloc(n + 1, sizeof(*v));
	if (!v) {
		*oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = dup_or_null(exts[i], oom);
	return v;
}

/* Inline syntax that can change what an outer `.*` means: option settings
 * ((?s) lets '.' cross lines, (?x) makes text a comment), recursion into
 * the whole pattern, backtracking verbs, \G and \Q...\E quoting. */
static bool core_safe(const char *p)
{
	if (strstr(p, "(*") || strstr(p, "\\G") || strstr(p, "\\Q"))
		return false;
	for (const char *q = strstr(p, "(?"); q; q = strstr(q + 2, "(?"))
		if (!strchr(":=!<>P#|'", q[2]) || !q[2])
			return false;
	return true;
}

/* The part of a pattern worth running: an outer `^.*` or `.*` at the
 * start and `.*` or `.*$` at the end (protectLambda writes `.*x.*`). In
 * multiline mode with '.' stopping at newlines they cannot change which
 * lines match, and each costs a backtracking pass over every line
 * (measured: 2x on the Python standard library). The finding then
 * points at the interesting part of the line, not at its first column.
 * Returns a new string, or NULL when the pattern is used as is. */
static char *pattern_core(const char *p)
{
	size_t n = strlen(p), b = 0, e;

	if (!core_safe(p))
		return NULL;
	if (p[0] == '^' && p[1] == '.' && p[2] == '*')
		b = 1;
	if (p[b] == '.' && p[b + 1] == '*' && p[b + 2] != '+' && p[b + 2] != '{')
		b += p[b + 2] == '?' ? 3 : 2;
	else
		b = 0;
	e = n;
	if (e > b && p[e - 1] == '$' && (e < 2 || p[e - 2] != '\\'))
		e--;
	if (e > b && (p[e - 1] == '?' || p[e - 1] == '+'))
		e--;
	if (e >= b + 2 && p[e - 1] == '*' && p[e - 2] == '.') {
		size_t bs = 0; /* an escaped dot is a literal dot */

		while (e - 2 - bs > b && p[e - 3 - bs] == '\\')
			bs++;
		e = bs % 2 ? n : e - 2;
	} else {
		e = n;
	}
	if (b == 0 && e == n)
		return NULL;
	if (e <= b)
		return NULL; /* `.*` alone: keep it, it matches every line */
	return strndup(p + b, e - b);
}

int rules_add(struct rules *r, const char *id, const char *pattern, const char *message,
	      const char *severity, const char *const *exts, const char *source, char *err,
	      size_t errlen)
{
	struct rule ru = { 0 };
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off = 0;
	int code = 0;
	bool oom = false;

	if (errlen)
		err[0] = '\0';
	if (!r || !id || !*id || !pattern) {
		snprintf(err, errlen, "a rule needs an id and a pattern");
		return -EINVAL;
	}
	ru.re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_MULTILINE, &code,
			      &off, NULL);
	if (!ru.re) {
		if (code == PCRE2_ERROR_NOMEMORY)
			return -ENOMEM;
		if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", code);
		snprintf(err, errlen, "%s at offset %zu", (char *)msg, (size_t)off);
		return -EINVAL;
	}
	/* The user's pattern is compiled first so that errors point into it. */
	_cleanup_free_ char *core = pattern_core(pattern);
	if (core) {
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)core, PCRE2_ZERO_TERMINATED,
					       PCRE2_MULTILINE, &code, &off, NULL);
		if (re) {
			pcre2_code_free(ru.re);
			ru.re = re;
		}
	}
	/* Without JIT PCRE2 is 8-13x slower here; a kernel or policy that
	 * refuses executable memory still gets correct (interpreted) matching. */
	ru.jit = pcre2_jit_compile(ru.re, PCRE2_JIT_COMPLETE) == 0;
	ru.id = dup_or_null(id, &oom);
	ru.pattern = dup_or_null(pattern, &oom);
	ru.message = dup_or_null(message, &oom);
	ru.severity = dup_or_null(severity, &oom);
	ru.source = dup_or_null(source, &oom);
	ru.exts = dup_exts(exts, &oom);
	if (!oom && r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct rule *v = realloc(r->v, cap * sizeof(*v));

		if (v) {
			r->v = v;
			r->cap = cap;
		} else {
			oom = true;
		}
	}
	if (oom) {
		rule_fini(&ru);
		return -ENOMEM;
	}
	r->v[r->n++] = ru;
	return 0;
}

/* The extension of path's last component, with the dot; "" when none
 * (a leading dot names a hidden file, not an extension). */
static const char *path_ext(const char *path)
{
	const char *base = strrchr(path, '/');
	const char *dot;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	return dot && dot != base ? dot : "";
}

static bool ext_in(const char *ext, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(ext, *list))
			return true;
	return false;
}

bool rules_is_code_file(const char *path)
{
	return path && ext_in(path_ext(path), default_exts);
}

static int match_once(const struct rules *r, const struct rule *ru, const char *buf, size_t len,
		      size_t start)
{
	if (ru->jit)
		return pcre2_jit_match(ru->re, (PCRE2_SPTR)buf, len, start, 0, r->md, r->mctx);
	return pcre2_match(ru->re, (PCRE2_SPTR)buf, len, start, 0, r->md, r->mctx);
}

static int hits_push(struct hit **v, size_t *n, size_t *cap, struct hit h)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct hit *nv = realloc(*v, c * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = h;
	return 0;
}

/* Every match of one rule, at most one per line: after a match the
 * search goes on at the next line (or past the match, when it spans
 * lines, so a `(?s)` pattern cannot make the scan quadratic). */
static int scan_rule(const struct rules *r, size_t ri, const char *buf, size_t len, struct hit **v,
		     size_t *n, size_t *cap)
{
	const struct rule *ru = &r->v[ri];
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
	size_t pos = 0;

	while (pos <= len) {
		int rc = match_once(r, ru, buf, len, pos);

		if (rc == PCRE2_ERROR_NOMATCH)
			return 0;
		if (rc == PCRE2_ERROR_NOMEMORY)
			return -ENOMEM;
		if (rc < 0) /* match or JIT stack limit: the verdict is unknown */
			return -E2BIG;
		size_t s = ov[0], e = ov[1] > ov[0] ? ov[1] : ov[0];
		if (hits_push(v, n, cap, (struct hit){ s, e - s, ri }) < 0)
			return -ENOMEM;
		const char *nl = memchr(buf + s, '\n', len - s);
		size_t next = nl ? (size_t)(nl - buf) + 1 : len + 1;
		pos = next > e ? next : e;
	}
	return 0;
}

static int hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

int rules_scan(const struct rules *r, const char *path, const char *buf, size_t len, rules_cb cb,
	       void *arg)
{
	_cleanup_free_ struct hit *hits = NULL;
	size_t n = 0, cap = 0, line = 1, line_start = 0, counted = 0;
	const char *ext = path_ext(path ? path : "");
	int rc;

	if (!r || (!buf && len))
		return -EINVAL;
	if (!buf)
		buf = "";
	if (len > INT_MAX)
		return -E2BIG; /* the count of findings must fit the return value */
	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i].exts && !ext_in(ext, (const char *const *)r->v[i].exts))
			continue;
		rc = scan_rule(r, i, buf, len, &hits, &n, &cap);
		if (rc < 0)
			return rc;
	}
	if (n)
		qsort(hits, n, sizeof(*hits), hit_cmp);
	/* Line numbers in one pass over the sorted offsets. */
	for (size_t i = 0; i < n; i++) {
		const struct rule *ru = &r->v[hits[i].rule];
		const char *nl;

		while (counted < hits[i].offset &&
		       (nl = memchr(buf + counted, '\n', hits[i].offset - counted))) {
			line++;
			counted = (size_t)(nl - buf) + 1;
			line_start = counted;
		}
		counted = hits[i].offset;
		struct rules_finding f = {
			.rule_id = ru->id,
			.message = ru->message,
			.severity = ru->severity,
			.source = ru->source,
			.line = line,
			.col = hits[i].offset - line_start + 1,
			.offset = hits[i].offset,
			.len = hits[i].len,
		};
		if (!cb(arg, &f))
			return (int)i + 1;
	}
	return (int)n;
}

size_t rules_jit_size(const struct rules *r, size_t i)
{
	size_t size = 0;

	if (!r || i >= r->n || !r->v[i].jit)
		return 0;
	if (pcre2_pattern_info(r->v[i].re, PCRE2_INFO_JITSIZE, &size) != 0)
		return 0;
	return size;
}

const char *rules_default_dir(void)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX];
	const char *env = getenv("FNGUARD_RULES_DIR");
	ssize_t n;
	char *slash;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	/* Installed: PREFIX/bin/fnguard and PREFIX/share/fnguard/rules. */
	snprintf(dir, sizeof(dir), "%s/../share/fnguard/rules", exe);
	if (access(dir, F_OK) == 0)
		return dir;
	/* Build tree: build/fnguard (or build/tests/unit) and rules/packs. */
	for (int up = 1; up <= 2; up++) {
		snprintf(dir, sizeof(dir), "%s/%s../rules/packs", exe, up == 2 ? "../" : "");
		if (access(dir, F_OK) == 0)
			return dir;
	}
	return NULL;
}
