/* The rule engine: one PCRE2 code per rule, JIT-compiled when the rule is
 * added. The matching state (match context, JIT stack, match data, hit
 * list) lives in a scanner, reused by every scan: one per thread, while
 * the compiled set is shared read-only. rules_scan() uses the set's own.
 *
 * Rules with a literal prefilter (literal.c) are run together: one pass
 * over the buffer looks for every rule's strings, and a rule's regex runs
 * only from the start of a line holding one of its strings (LINE rules)
 * or only at the strings (PREFIX rules), with PCRE2's offset limit keeping
 * the match start on that line or at that string. The regex still sees
 * the whole buffer (lookbehinds, \b and $ behave as before), and it is
 * the same search: a LINE rule's match contains one of the strings and
 * cannot cross a '\n', a PREFIX rule's match starts with one. The match
 * limit now counts per line or per string instead of per file, so a file
 * can pass where the whole-file search gave up with -E2BIG.
 *
 * Patterns run in byte mode (no PCRE2_UTF): code files are not always
 * valid UTF-8 and a UTF check costs a pass over every buffer. They are
 * compiled with PCRE2_MULTILINE so that ^ and $ work per line, while '.'
 * still stops at '\n': protectLambda's `.*x.*` patterns stay line-bound.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <nettle/sha2.h>
#include <pcre2.h>

#include "cleanup.h"
#include "literal.h"
#include "rules.h"
#include "script.h"

/* A backtracking pattern on a long minified line can run for minutes;
 * the limit turns that into -E2BIG instead. ~10^7 steps is well past
 * what any sane rule needs on a 16 MiB file. */
#define MATCH_LIMIT 10000000u
/* `.*` patterns push a backtrack frame per character on long lines;
 * PCRE2's default 32 KiB JIT stack runs out on minified JavaScript. */
#define JIT_STACK_MIN (32u * 1024)
#define JIT_STACK_MAX (8u * 1024 * 1024)
/* Interpreted, 64 KiB take ~1 ms with the shipped packs, about what JIT
 * compiling them costs; a larger file is JIT compiled for before its scan. */
#define LAZY_JIT_BYTES (64u * 1024)

/* .pth: site.py executes each line of a .pth file that starts with
 * "import", before any module of the function is imported. .ts .mts .cts:
 * Node runs TypeScript itself since 22.18 (type stripping), and require()
 * or import of one runs it; declaration files (.d.ts) never run. .pm:
 * Perl's modules. */
static const char *const default_exts[] = { ".py",  ".pth", ".js",  ".mjs", ".cjs", ".ts", ".mts",
					    ".cts", ".rb",  ".php", ".pl",  ".pm",  ".sh", NULL };
static const char *const declaration_exts[] = { ".d.ts", ".d.mts", ".d.cts", NULL };

struct rule {
	char *id;
	char *pattern;
	char *message;
	char *severity;
	char *source;
	char **exts; /* NULL: every file */
	pcre2_code *re;
	bool jit;
	/* Has prefilter strings (and was compiled with PCRE2_USE_OFFSET_LIMIT). */
	enum rules_lit_mode pf;
};

/* One prefilter string; the set's index is sorted by searched pair. */
struct lit {
	uint16_t bigram; /* the two bytes at anchor */
	uint8_t len;
	uint8_t anchor; /* where in s the pair searched for is */
	uint32_t rule;
	char s[RULES_LIT_LEN];
};

/* Up to this many distinct pairs are searched for 16 bytes at a time
 * (each costs a few vector operations per block); more go through the
 * bitmap a byte at a time. */
#define PAIRS_MAX 16

typedef unsigned char v16u8 __attribute__((vector_size(16)));
typedef uint64_t v2u64 __attribute__((vector_size(16)));

struct rules {
	struct rule *v;
	size_t n, cap;
	struct lit *lits;
	size_t n_lits, cap_lits;
	uint64_t bigrams[65536 / 64]; /* the searched pairs, as a bitmap */
	struct rules_scanner *own;    /* rules_scan()'s */
	struct rules_jit *jit;
};

/* JIT code is made on the first scan, not when a rule is added: a start
 * whose files are all in a verdict cache never scans, and JIT-compiling
 * the shipped packs costs a few milliseconds (executable mappings).
 * Scanners on several threads may get there first together. */
struct rules_jit {
	pthread_mutex_t lock;
	size_t done; /* rules [0, done) have been through pcre2_jit_compile */
};

static void ensure_jit(const struct rules *r)
{
	pthread_mutex_lock(&r->jit->lock);
	for (; r->jit->done < r->n; r->jit->done++) {
		struct rule *ru = &r->v[r->jit->done];
		/* Without JIT PCRE2 is 8-13x slower here; a kernel or policy
		 * that refuses executable memory still gets correct
		 * (interpreted) matching. */
		ru->jit = pcre2_jit_compile(ru->re, PCRE2_JIT_COMPLETE) == 0;
	}
	pthread_mutex_unlock(&r->jit->lock);
}

struct rules_scanner {
	const struct rules *r;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jstack;
	pcre2_match_data *md;
	struct hit *hits;
	size_t n_hits, cap_hits;
	size_t *next;       /* per prefiltered rule: where its next line starts */
	unsigned char *use; /* per rule: applies to this file */
	size_t n_rules;     /* the size of next and use */
	/* The distinct searched pairs of the strings of the rules that apply,
	 * each byte repeated over a vector; PAIRS_MAX + 1: too many.
	 * Kept while files with the same extension follow each other. */
	v16u8 first[PAIRS_MAX], second[PAIRS_MAX];
	size_t n_pairs;
	char pairs_ext[16];
	size_t pairs_rules; /* r->n when they were computed; 0: never */
	size_t seen;        /* bytes scanned before JIT (the set's own scanner) */
	bool lazy;          /* the set's own: JIT once LAZY_JIT_BYTES are scanned */
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

struct rules_scanner *rules_scanner_new(const struct rules *r)
{
	struct rules_scanner *sc = calloc(1, sizeof(*sc));

	if (!sc)
		return NULL;
	if (r->jit) /* not yet for the set's own, made before its JIT state */
		ensure_jit(r);
	sc->r = r;
	sc->mctx = pcre2_match_context_create(NULL);
	sc->jstack = pcre2_jit_stack_create(JIT_STACK_MIN, JIT_STACK_MAX, NULL);
	/* Only the whole match is needed: one ovector pair. */
	sc->md = pcre2_match_data_create(1, NULL);
	if (!sc->mctx || !sc->jstack || !sc->md) {
		rules_scanner_free(sc);
		return NULL;
	}
	pcre2_set_match_limit(sc->mctx, MATCH_LIMIT);
	pcre2_jit_stack_assign(sc->mctx, NULL, sc->jstack);
	return sc;
}

void rules_scanner_free(struct rules_scanner *sc)
{
	if (!sc)
		return;
	pcre2_match_data_free(sc->md);
	pcre2_jit_stack_free(sc->jstack);
	pcre2_match_context_free(sc->mctx);
	free(sc->hits);
	free(sc->next);
	free(sc->use);
	free(sc);
}

struct rules *rules_new(void)
{
	struct rules *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->jit = calloc(1, sizeof *r->jit);
	r->own = r->jit ? rules_scanner_new(r) : NULL;
	if (!r->own || !r->jit) {
		rules_scanner_free(r->own);
		free(r->jit);
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->jit->lock, NULL);
	r->own->lazy = true;
	return r;
}

void rules_free(struct rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		rule_fini(&r->v[i]);
	free(r->v);
	free(r->lits);
	rules_scanner_free(r->own);
	pthread_mutex_destroy(&r->jit->lock);
	free(r->jit);
	free(r);
}

size_t rules_count(const struct rules *r)
{
	return r ? r->n : 0;
}

bool rules_finding_enforces(const struct rules_finding *f, bool packs)
{
	return !packs || !f->severity ||
	       (strcmp(f->severity, "low") != 0 && strcmp(f->severity, "medium") != 0);
}

static void digest_str(struct sha256_ctx *ctx, const char *s)
{
	/* With its NUL: "ab"+"c" and "a"+"bc" hash apart. */
	s = s ? s : "";
	sha256_update(ctx, strlen(s) + 1, (const uint8_t *)s);
}

void rules_digest(const struct rules *r, bool packs, unsigned char out[RULES_DIGEST_LEN])
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	/* A new engine may match differently: verdicts of another version
	 * are not reused. */
	digest_str(&ctx, "fnguard " FNG_VERSION);
	digest_str(&ctx, packs ? "packs: high and critical enforce" : "every rule enforces");
	for (size_t i = 0; r && i < r->n; i++) {
		const struct rule *ru = &r->v[i];

		digest_str(&ctx, ru->id);
		digest_str(&ctx, ru->pattern);
		digest_str(&ctx, ru->severity);
		for (char **e = ru->exts; e && *e; e++)
			digest_str(&ctx, *e);
		digest_str(&ctx, "\n");
	}
	sha256_digest(&ctx, RULES_DIGEST_LEN, out);
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

/* The prefilter's line argument needs '.' (and \N) to stop at '\n' and
 * nowhere else a line could go on: true for the LF, ANYCRLF and ANY
 * newline conventions PCRE2 can be built with, not for CR, CRLF or NUL. */
static bool dot_stops_at_lf(void)
{
	uint32_t nl = 0;

	if (pcre2_config(PCRE2_CONFIG_NEWLINE, &nl) < 0)
		return false;
	return nl == PCRE2_NEWLINE_LF || nl == PCRE2_NEWLINE_ANYCRLF || nl == PCRE2_NEWLINE_ANY;
}

/* A pattern whose matches all start with one known byte is searched by
 * PCRE2 itself with a vector scan for that byte, faster than the
 * prefilter's pass (measured: 5-20 GB/s for the shipped packs' `\bos\.`
 * rules, against ~1 GB/s); the prefilter pays off where PCRE2 only has a
 * set of possible first bytes (protectLambda's `(call|system|...)`). */
static bool has_first_byte(const pcre2_code *re)
{
	uint32_t type = 0;

	return pcre2_pattern_info(re, PCRE2_INFO_FIRSTCODETYPE, &type) == 0 && type == 1;
}

static int lits_reserve(struct rules *r, size_t more)
{
	if (r->n_lits + more <= r->cap_lits)
		return 0;
	size_t cap = r->cap_lits * 2 > r->n_lits + more ? r->cap_lits * 2 : r->n_lits + more;
	struct lit *v = realloc(r->lits, cap * sizeof(*v));

	if (!v)
		return -ENOMEM;
	r->lits = v;
	r->cap_lits = cap;
	return 0;
}

static int lit_cmp(const void *a, const void *b)
{
	const struct lit *x = a, *y = b;

	if (x->bigram != y->bigram)
		return x->bigram < y->bigram ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static uint16_t bigram_at(const void *p)
{
	const unsigned char *b = p;

	return (uint16_t)(b[0] | b[1] << 8);
}

/* Roughly how common a byte is in source code (a relative weight). */
static unsigned byte_weight(unsigned char c)
{
	static const unsigned char lower[26] = { 60, 12, 30, 30, 90, 20, 15, 20, 60, 1,  7, 40, 25,
						 60, 60, 30, 1,  60, 60, 70, 30, 10, 10, 5, 12, 1 };

	if (c >= 'a' && c <= 'z')
		return lower[c - 'a'];
	if (c == ' ')
		return 150;
	if (c && strchr("_.()\t\"',=:", c))
		return 15;
	return 5;
}

/* The pair of a LINE string to search for: the rarest by byte_weight()
 * (fewer candidates to check: 94,000 -> 62,000 for protectLambda's
 * strings on the Python standard library). A PREFIX string is searched
 * by its first pair so that candidates come in the order of their
 * starts, which its search needs. */
static size_t pick_anchor(const char *s, size_t len, enum rules_lit_mode mode)
{
	size_t best = 0, best_w = SIZE_MAX;

	for (size_t k = 0; mode == RULES_LIT_LINE && k + 1 < len; k++) {
		size_t w = (size_t)byte_weight((unsigned char)s[k]) *
			   byte_weight((unsigned char)s[k + 1]);

		if (w < best_w) {
			best_w = w;
			best = k;
		}
	}
	return best;
}

/* Adds rule ri's strings (room reserved) to the set's index. */
static void lits_index(struct rules *r, size_t ri, const struct rules_lits *l,
		       enum rules_lit_mode mode)
{
	for (size_t i = 0; i < l->n; i++) {
		struct lit *x = &r->lits[r->n_lits++];

		x->anchor = (uint8_t)pick_anchor(l->s[i], l->len[i], mode);
		x->bigram = bigram_at(l->s[i] + x->anchor);
		x->len = l->len[i];
		x->rule = (uint32_t)ri;
		memcpy(x->s, l->s[i], l->len[i]);
		r->bigrams[x->bigram >> 6] |= (uint64_t)1 << (x->bigram & 63);
	}
	qsort(r->lits, r->n_lits, sizeof(*r->lits), lit_cmp);
}

int rules_add(struct rules *r, const char *id, const char *pattern, const char *message,
	      const char *severity, const char *const *exts, const char *source, char *err,
	      size_t errlen)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off = 0;
	int code = 0;

	if (errlen)
		err[0] = '\0';
	if (!r || !id || !*id || !pattern) {
		snprintf(err, errlen, "a rule needs an id and a pattern");
		return -EINVAL;
	}
	/* The user's pattern is compiled first so that errors point into it. */
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_MULTILINE,
				       &code, &off, NULL);
	if (!re) {
		if (code == PCRE2_ERROR_NOMEMORY)
			return -ENOMEM;
		if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", code);
		snprintf(err, errlen, "%s at offset %zu", (char *)msg, (size_t)off);
		return -EINVAL;
	}
	return rules_add_compiled(r, id, pattern, re, message, severity, exts, source);
}

int rules_add_compiled(struct rules *r, const char *id, const char *pattern, pcre2_code *re,
		       const char *message, const char *severity, const char *const *exts,
		       const char *source)
{
	struct rule ru = { .re = re };
	PCRE2_SIZE off = 0;
	int code = 0;
	bool oom = false;

	_cleanup_free_ char *core = pattern_core(pattern);
	const char *used = pattern;
	if (core) {
		pcre2_code *c = pcre2_compile((PCRE2_SPTR)core, PCRE2_ZERO_TERMINATED,
					      PCRE2_MULTILINE, &code, &off, NULL);
		if (c) {
			pcre2_code_free(ru.re);
			ru.re = c;
			used = core;
		}
	}
	struct rules_lits lits;
	enum rules_lit_mode mode =
		has_first_byte(ru.re) ? RULES_LIT_NONE : rules_literals(used, &lits);
	if (mode == RULES_LIT_LINE && !dot_stops_at_lf())
		mode = RULES_LIT_NONE;
	if (mode != RULES_LIT_NONE) {
		pcre2_code *c =
			pcre2_compile((PCRE2_SPTR)used, PCRE2_ZERO_TERMINATED,
				      PCRE2_MULTILINE | PCRE2_USE_OFFSET_LIMIT, &code, &off, NULL);
		if (c) {
			pcre2_code_free(ru.re);
			ru.re = c;
			ru.pf = mode;
		}
	}
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
	if (!oom && ru.pf && lits_reserve(r, lits.n) < 0)
		oom = true;
	if (oom) {
		rule_fini(&ru);
		return -ENOMEM;
	}
	if (ru.pf)
		lits_index(r, r->n, &lits, ru.pf);
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

static bool ends_in(const char *path, const char *const *suffixes)
{
	size_t n = strlen(path);

	for (; *suffixes; suffixes++) {
		size_t k = strlen(*suffixes);
		if (n > k && !strcmp(path + n - k, *suffixes) && path[n - k - 1] != '/')
			return true;
	}
	return false;
}

bool rules_is_code_file(const char *path)
{
	return path && ext_in(path_ext(path), default_exts) && !ends_in(path, declaration_exts);
}

const char *const *rules_code_exts(void)
{
	return default_exts;
}

static int match_once(struct rules_scanner *sc, const struct rule *ru, const char *buf, size_t len,
		      size_t start)
{
	if (ru->jit)
		return pcre2_jit_match(ru->re, (PCRE2_SPTR)buf, len, start, 0, sc->md, sc->mctx);
	return pcre2_match(ru->re, (PCRE2_SPTR)buf, len, start, 0, sc->md, sc->mctx);
}

static int hits_push(struct rules_scanner *sc, struct hit h)
{
	if (sc->n_hits == sc->cap_hits) {
		size_t c = sc->cap_hits ? sc->cap_hits * 2 : 64;
		struct hit *nv = realloc(sc->hits, c * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		sc->hits = nv;
		sc->cap_hits = c;
	}
	sc->hits[sc->n_hits++] = h;
	return 0;
}

/* Runs rule ri once from start; on a match records it and sets *next to
 * where the search for this rule goes on: the next line (or past the
 * match, when it spans lines, so a `(?s)` pattern cannot make the scan
 * quadratic). Returns 1 on a match, 0 on none, or -errno. */
static int match_rule(struct rules_scanner *sc, size_t ri, const char *buf, size_t len,
		      size_t start, size_t *next)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(sc->md);
	int rc = match_once(sc, &sc->r->v[ri], buf, len, start);

	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc == PCRE2_ERROR_NOMEMORY)
		return -ENOMEM;
	if (rc < 0) /* match or JIT stack limit: the verdict is unknown */
		return -E2BIG;
	size_t s = ov[0], e = ov[1] > ov[0] ? ov[1] : ov[0];
	if (hits_push(sc, (struct hit){ s, e - s, ri }) < 0)
		return -ENOMEM;
	const char *nl = memchr(buf + s, '\n', len - s);
	size_t after = nl ? (size_t)(nl - buf) + 1 : len + 1;
	*next = after > e ? after : e;
	return 1;
}

/* Every match of one rule, at most one per line. */
static int scan_rule(struct rules_scanner *sc, size_t ri, const char *buf, size_t len)
{
	size_t pos = 0;

	while (pos <= len) {
		int rc = match_rule(sc, ri, buf, len, pos, &pos);

		if (rc <= 0)
			return rc;
	}
	return 0;
}

/* The line [ls, le) of the latest candidate, le at its '\n' (or the end). */
struct line {
	size_t ls, le;
	bool known;
};

/* The prefiltered rules of this scan with a string whose searched pair
 * (bg) is at j, unless the rule's search has been past it already: a LINE
 * rule runs on the string's line (j's: a LINE string has no '\n'), a
 * PREFIX rule is tried where the string starts, alone. */
static int at_candidate(struct rules_scanner *sc, const char *buf, size_t len, size_t j,
			uint16_t bg, struct line *ln)
{
	const struct rules *r = sc->r;
	size_t lo = 0, hi = r->n_lits;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->lits[mid].bigram < bg)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < r->n_lits && r->lits[lo].bigram == bg; lo++) {
		const struct lit *l = &r->lits[lo];
		size_t next, at = j - l->anchor; /* where the string would start */

		if (j < l->anchor || !sc->use[l->rule] || at < sc->next[l->rule] ||
		    l->len > len - at || memcmp(buf + at, l->s, l->len))
			continue;
		if (r->v[l->rule].pf == RULES_LIT_PREFIX) {
			pcre2_set_offset_limit(sc->mctx, at);
			int rc = match_rule(sc, l->rule, buf, len, at, &next);
			if (rc < 0)
				return rc;
			if (rc)
				sc->next[l->rule] = next;
			continue;
		}
		if (!ln->known || j > ln->le) {
			/* No line between the cached one and j holds a candidate:
			 * its start is searched for from there. */
			size_t from = ln->known ? ln->le + 1 : 0;
			const char *nl = memrchr(buf + from, '\n', j - from);

			ln->ls = nl ? (size_t)(nl - buf) + 1 : from;
			nl = memchr(buf + j, '\n', len - j);
			ln->le = nl ? (size_t)(nl - buf) : len;
			ln->known = true;
		}
		pcre2_set_offset_limit(sc->mctx, ln->le);
		int rc = match_rule(sc, l->rule, buf, len, ln->ls, &next);
		if (rc < 0)
			return rc;
		sc->next[l->rule] = rc && next > ln->le + 1 ? next : ln->le + 1;
	}
	return 0;
}

/* The candidates among 16 positions from j, whose pair test set the
 * bytes of m; returns 0 or -errno. */
static int block_candidates(struct rules_scanner *sc, const char *buf, size_t len, size_t j,
			    v16u8 m, struct line *ln)
{
	v2u64 w = (v2u64)m;

	for (size_t half = 0; half < 2; half++) {
		uint64_t bits = w[half];

		while (bits) {
			size_t at = j + half * 8 + (size_t)__builtin_ctzll(bits) / 8;
			int rc = at_candidate(sc, buf, len, at, bigram_at(buf + at), ln);

			if (rc < 0)
				return rc;
			bits &= ~((uint64_t)0xff << (__builtin_ctzll(bits) & ~7));
		}
	}
	return 0;
}

/* Sets in *m0 and *m1 the positions of the 32 from buf where a pair
 * starts; returns whether there is one. Two blocks at a time share the
 * loads of the pair vectors. */
static bool pairs_at(const struct rules_scanner *sc, const char *buf, v16u8 *m0, v16u8 *m1)
{
	v16u8 a0, b0, a1, b1, x = { 0 }, y = { 0 };

	memcpy(&a0, buf, 16);
	memcpy(&b0, buf + 1, 16);
	memcpy(&a1, buf + 16, 16);
	memcpy(&b1, buf + 17, 16);
	for (size_t k = 0; k < sc->n_pairs; k++) {
		v16u8 f = sc->first[k], s = sc->second[k];

		x |= (v16u8)((a0 == f) & (b0 == s));
		y |= (v16u8)((a1 == f) & (b1 == s));
	}
	*m0 = x;
	*m1 = y;
	v2u64 w = (v2u64)(x | y);
	return (w[0] | w[1]) != 0;
}

/* Where the vector search over 32-byte blocks stopped (positions past it
 * are left to the bitmap loop); 0 when there are too many pairs. */
static size_t scan_pairs(struct rules_scanner *sc, const char *buf, size_t len, struct line *ln,
			 int *rc)
{
	size_t j = 0;

	if (sc->n_pairs > PAIRS_MAX)
		return 0;
	/* Each block reads 33 bytes: the second byte of the last pair. */
	for (; j + 33 <= len; j += 32) {
		v16u8 m0, m1;

		if (!pairs_at(sc, buf + j, &m0, &m1))
			continue;
		*rc = block_candidates(sc, buf, len, j, m0, ln);
		if (*rc == 0)
			*rc = block_candidates(sc, buf, len, j + 16, m1, ln);
		if (*rc < 0)
			break;
	}
	return j;
}

/* The pairs of the rules marked in sc->use (the index is sorted by pair). */
static void select_pairs(struct rules_scanner *sc, const char *ext)
{
	const struct rules *r = sc->r;
	size_t n = 0;
	uint16_t last = 0;

	if (sc->pairs_rules == r->n && strlen(ext) < sizeof(sc->pairs_ext) &&
	    !strcmp(ext, sc->pairs_ext))
		return;
	for (size_t i = 0; i < r->n_lits && n <= PAIRS_MAX; i++) {
		const struct lit *l = &r->lits[i];

		if (!sc->use[l->rule] || !r->v[l->rule].pf || (n && l->bigram == last))
			continue;
		last = l->bigram;
		if (n < PAIRS_MAX) {
			unsigned char b0 = (unsigned char)(l->bigram & 0xff),
				      b1 = (unsigned char)(l->bigram >> 8);

			for (size_t k = 0; k < 16; k++) {
				sc->first[n][k] = b0;
				sc->second[n][k] = b1;
			}
		}
		n++;
	}
	sc->n_pairs = n;
	sc->pairs_rules = 0;
	if (strlen(ext) < sizeof(sc->pairs_ext)) {
		strcpy(sc->pairs_ext, ext);
		sc->pairs_rules = r->n;
	}
}

/* One pass for every prefiltered rule that applies. */
static int scan_prefiltered(struct rules_scanner *sc, const char *buf, size_t len)
{
	const uint64_t *bits = sc->r->bigrams;
	const unsigned char *b = (const unsigned char *)buf;
	struct line ln = { 0 };
	int rc = 0;
	size_t from = scan_pairs(sc, buf, len, &ln, &rc);

	for (size_t j = from; rc == 0 && j + 1 < len; j++) {
		uint16_t bg = (uint16_t)(b[j] | b[j + 1] << 8);

		if (!(bits[bg >> 6] >> (bg & 63) & 1))
			continue;
		rc = at_candidate(sc, buf, len, j, bg, &ln);
		if (rc < 0)
			break;
	}
	pcre2_set_offset_limit(sc->mctx, PCRE2_UNSET);
	return rc;
}

static int hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* Marks the rules that apply to a file with extension ext; returns
 * whether a prefiltered one is among them. */
static int select_rules(struct rules_scanner *sc, const char *ext, bool *any_pf)
{
	const struct rules *r = sc->r;

	if (sc->n_rules < r->n) {
		size_t *nx = realloc(sc->next, r->n * sizeof(*nx));

		if (nx)
			sc->next = nx;
		unsigned char *u = realloc(sc->use, r->n);
		if (u)
			sc->use = u;
		if (!nx || !u)
			return -ENOMEM;
		sc->n_rules = r->n;
	}
	*any_pf = false;
	for (size_t i = 0; i < r->n; i++) {
		sc->use[i] = !r->v[i].exts || ext_in(ext, (const char *const *)r->v[i].exts);
		sc->next[i] = 0;
		*any_pf |= sc->use[i] && r->v[i].pf;
	}
	return 0;
}

/* The '\n' bytes in p[0..n), 16 bytes at a time: a finding's line number
 * is the count before it, and one memchr() call per line took an eighth
 * of a scan. */
static size_t count_newlines(const char *p, size_t n)
{
	v16u8 nl;
	size_t count = 0, i = 0;

	memset(&nl, '\n', sizeof nl);
	while (n - i >= 16) {
		v16u8 acc = { 0 };

		/* Each byte of acc counts up to 255 blocks before it wraps. */
		for (size_t blocks = 0; blocks < 255 && n - i >= 16; blocks++, i += 16) {
			v16u8 v;

			memcpy(&v, p + i, 16);
			acc -= (v16u8)(v == nl);
		}
		for (size_t k = 0; k < 16; k++)
			count += acc[k];
	}
	for (; i < n; i++)
		count += p[i] == '\n';
	return count;
}

/* Reports the hits in file order, with line numbers counted in one pass
 * over the sorted offsets. */
static int report(struct rules_scanner *sc, const char *buf, rules_cb cb, void *arg)
{
	struct hit *hits = sc->hits;
	size_t n = sc->n_hits, line = 1, line_start = 0, counted = 0;

	if (n)
		qsort(hits, n, sizeof(*hits), hit_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct rule *ru = &sc->r->v[hits[i].rule];
		const char *nl;

		if (counted < hits[i].offset) {
			size_t n_nl = count_newlines(buf + counted, hits[i].offset - counted);

			if (n_nl) {
				nl = memrchr(buf + counted, '\n', hits[i].offset - counted);
				line += n_nl;
				line_start = (size_t)(nl - buf) + 1;
			}
			counted = hits[i].offset;
		}
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

int rules_scan_with(struct rules_scanner *sc, const char *path, const char *buf, size_t len,
		    rules_cb cb, void *arg)
{
	const char *ext = path_ext(path ? path : "");
	bool any_pf;
	int rc;

	if (!sc || (!buf && len))
		return -EINVAL;
	const char *script = path && !ext[0] && buf ? rules_script_ext(buf, len) : NULL;
	if (script)
		ext = script;
	/* The set's own scanner (one thread: the event loop) matches with the
	 * interpreter until LAZY_JIT_BYTES are scanned, then with JIT: a few
	 * small files cost less to interpret than 50 patterns to compile.
	 * Scanners for threads compile it when they are made, before any
	 * thread matches (JIT compiling is not safe beside matching). */
	if (!sc->lazy || (sc->seen += len) > LAZY_JIT_BYTES)
		ensure_jit(sc->r);
	if (!buf)
		buf = "";
	if (len > INT_MAX)
		return -E2BIG; /* the count of findings must fit the return value */
	sc->n_hits = 0;
	rc = select_rules(sc, ext, &any_pf);
	if (rc == 0 && any_pf) {
		select_pairs(sc, ext);
		rc = scan_prefiltered(sc, buf, len);
	}
	for (size_t i = 0; rc == 0 && i < sc->r->n; i++)
		if (sc->use[i] && !sc->r->v[i].pf)
			rc = scan_rule(sc, i, buf, len);
	if (rc < 0)
		return rc;
	return report(sc, buf, cb, arg);
}

int rules_scan(const struct rules *r, const char *path, const char *buf, size_t len, rules_cb cb,
	       void *arg)
{
	if (!r)
		return -EINVAL;
	return rules_scan_with(r->own, path, buf, len, cb, arg);
}

size_t rules_jit_size(const struct rules *r, size_t i)
{
	size_t size = 0;

	if (!r || i >= r->n)
		return 0;
	ensure_jit(r);
	if (!r->v[i].jit)
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
