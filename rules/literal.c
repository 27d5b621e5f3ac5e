/* Literal prefilters: a small parser for the subset of PCRE2 syntax that
 * rule packs and protectLambda files use, computing for each part of a
 * pattern the strings it matches exactly (when finite and small), the
 * strings one of which every match of it contains, and the strings one of
 * which every match of it starts with.
 *
 * A prefilter that drops a true match lets code through, so the parser
 * gives up (no prefilter, the regex runs everywhere) on anything it does
 * not model; it never guesses. Why each piece is safe:
 * - concatenation: a match of A·B contains a match of A and one of B;
 *   exact sets multiply (x ∈ A, y ∈ B gives xy), and zero-width parts
 *   (^ $ \b \B \A \z \Z and lookarounds) match the empty string;
 * - alternation: a match of A|B is a match of A or of B, so the union of
 *   their requirements is one; a branch without one sinks it;
 * - a quantifier with a minimum of 0 drops the requirement, one of at
 *   least 1 keeps it (a match holds at least one copy), and a match of
 *   X+ starts like a match of X;
 * - a match of A·B starts with a start of A, and when A is exact, with
 *   an exact string of A followed by a start of B.
 * A scan with "contains" strings runs the regex only from the line holding
 * one, which also needs that no part of the pattern can match '\n'; one
 * with "starts with" strings tries the regex only where one starts. */
#include <stdint.h>
#include <string.h>

#include "literal.h"

/* Deeper nesting is unusual in rules; each level costs ~10 KiB of stack. */
#define MAX_DEPTH 16
/* Past this many bytes a longer string is not much rarer, while every
 * extra string is one more pair for the scan to look for; between sets
 * at least this long the one with fewer strings wins, then the longer. */
#define LEN_ENOUGH 4
#define UNBOUNDED  UINT32_MAX

struct info {
	bool exact;            /* the part matches exactly one of ex's strings */
	struct rules_lits ex;  /* only meaningful when exact */
	struct rules_lits rq;  /* every match contains one; n == 0: none known */
	struct rules_lits pre; /* every match starts with one; {""}: none known */
};

struct parser {
	const char *p;
	int depth;
	bool fail; /* a construct that is not modelled */
	bool nl;   /* some part can match '\n' */
};

static void set_one(struct rules_lits *s, const char *str, size_t len)
{
	s->n = 1;
	s->len[0] = (unsigned char)len;
	memcpy(s->s[0], str, len);
}

static size_t set_minlen(const struct rules_lits *s)
{
	size_t m = SIZE_MAX;

	for (size_t i = 0; i < s->n; i++)
		if (s->len[i] < m)
			m = s->len[i];
	return m;
}

static bool usable(const struct rules_lits *s)
{
	return s->n > 0 && set_minlen(s) >= 2;
}

static bool set_has(const struct rules_lits *s, const char *str, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->len[i] == len && !memcmp(s->s[i], str, len))
			return true;
	return false;
}

static bool set_add(struct rules_lits *s, const char *str, size_t len)
{
	if (set_has(s, str, len))
		return true;
	if (s->n == RULES_LIT_MAX || len > RULES_LIT_LEN)
		return false;
	s->len[s->n] = (unsigned char)len;
	memcpy(s->s[s->n], str, len);
	s->n++;
	return true;
}

/* Copies the strings only: a set is mostly unused room. */
static void set_copy(struct rules_lits *d, const struct rules_lits *s)
{
	d->n = s->n;
	for (size_t i = 0; i < s->n; i++) {
		d->len[i] = s->len[i];
		memcpy(d->s[i], s->s[i], s->len[i]);
	}
}

/* a = a × b; false (a unchanged) when the product does not fit. */
static bool set_product(struct rules_lits *a, const struct rules_lits *b)
{
	struct rules_lits r;
	char tmp[2 * RULES_LIT_LEN];

	if (b->n == 1 && !b->len[0])
		return true;
	if (a->n == 1 && !a->len[0]) {
		set_copy(a, b);
		return true;
	}
	if (b->n == 1) { /* the common case, one more byte: in place */
		for (size_t i = 0; i < a->n; i++)
			if (a->len[i] + b->len[0] > RULES_LIT_LEN)
				return false;
		for (size_t i = 0; i < a->n; i++) {
			memcpy(a->s[i] + a->len[i], b->s[0], b->len[0]);
			a->len[i] = (unsigned char)(a->len[i] + b->len[0]);
		}
		return true;
	}
	r.n = 0;
	for (size_t i = 0; i < a->n; i++)
		for (size_t j = 0; j < b->n; j++) {
			memcpy(tmp, a->s[i], a->len[i]);
			memcpy(tmp + a->len[i], b->s[j], b->len[j]);
			if (!set_add(&r, tmp, (size_t)a->len[i] + b->len[j]))
				return false;
		}
	set_copy(a, &r);
	return true;
}

/* a = a ∪ b; false (a left partly merged) when it does not fit. */
static bool set_union(struct rules_lits *a, const struct rules_lits *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (!set_add(a, b->s[i], b->len[i]))
			return false;
	return true;
}

/* Keeps s as in's requirement when it is a cheaper filter. */
static void offer(struct info *in, const struct rules_lits *s)
{
	size_t ls, lc;

	if (!usable(s))
		return;
	if (!usable(&in->rq)) {
		set_copy(&in->rq, s);
		return;
	}
	ls = set_minlen(s);
	lc = set_minlen(&in->rq);
	ls = ls < LEN_ENOUGH ? ls : LEN_ENOUGH;
	lc = lc < LEN_ENOUGH ? lc : LEN_ENOUGH;
	if (ls > lc || (ls == lc && s->n < in->rq.n) ||
	    (ls == lc && s->n == in->rq.n && set_minlen(s) > set_minlen(&in->rq)))
		set_copy(&in->rq, s);
}

static void set_epsilon(struct info *in)
{
	in->exact = true;
	set_one(&in->ex, "", 0);
	in->rq.n = 0;
	set_one(&in->pre, "", 0);
}

static void set_char(struct info *in, char c)
{
	in->exact = true;
	set_one(&in->ex, &c, 1);
	in->rq.n = 0;
	set_one(&in->pre, &c, 1);
}

/* Matches something, but no string is known about it. */
static void set_opaque(struct info *in)
{
	in->exact = false;
	in->rq.n = 0;
	set_one(&in->pre, "", 0);
}

static bool is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A backslash and a non-alphanumeric ASCII character stand for that
 * character, in and out of classes; -1 when e is not one. */
static int escaped_punct(unsigned char e)
{
	return e && e < 0x80 && e != '\n' && !is_alnum(e) ? e : -1;
}

static void parse_alt(struct parser *ps, struct info *out);

/* \x at ps->p. Only escapes whose meaning does not depend on options or
 * on the PCRE2 version are modelled. */
static void parse_escape(struct parser *ps, struct info *it)
{
	unsigned char e = (unsigned char)ps->p[1];

	set_opaque(it);
	if (e && strchr("bBAzZ", e)) {
		set_epsilon(it);
	} else if (e && strchr("dwhSV", e)) {
		/* classes without '\n' */
	} else if (e && strchr("svWDH", e)) {
		ps->nl = true; /* classes with '\n' */
	} else if (e == 'N' && ps->p[2] != '{') {
		/* any character but '\n'; \N{...} is a code point */
	} else if (e == 't') {
		set_char(it, '\t');
	} else if (e == 'n') {
		set_char(it, '\n');
		ps->nl = true;
	} else if (escaped_punct(e) >= 0) {
		set_char(it, (char)e);
	} else {
		/* backreferences, \G, \K, \Q, \x, \p, \c, \R ... */
		ps->fail = true;
		return;
	}
	ps->p += 2;
}

/* One class member at ps->p: its byte, or -1 for a class escape (\d);
 * sets *nl when it can be '\n'. */
static int class_member(struct parser *ps, bool *nl)
{
	unsigned char c = (unsigned char)ps->p[0], e;

	if (c == '[' && ps->p[1] && strchr(":.=", ps->p[1])) {
		ps->fail = true; /* POSIX classes: [:space:] has '\n' */
		return -1;
	}
	if (c != '\\') {
		ps->p++;
		*nl |= c == '\n';
		return c;
	}
	e = (unsigned char)ps->p[1];
	ps->p += 2;
	if (e == 'n' || e == 't') {
		*nl |= e == 'n';
		return e == 'n' ? '\n' : '\t';
	}
	if (e && strchr("dwhSV", e))
		return -1;
	if (e && strchr("svWDH", e)) {
		*nl = true;
		return -1;
	}
	if (escaped_punct(e) >= 0)
		return e;
	ps->fail = true; /* \b is a backspace here; \x, \Q ... not modelled */
	return -1;
}

/* [...] at ps->p: never exact; notes whether it can match '\n'. */
static void parse_class(struct parser *ps)
{
	bool neg, nl = false, first = true;

	ps->p++;
	neg = *ps->p == '^';
	if (neg)
		ps->p++;
	for (;;) {
		if (!*ps->p) {
			ps->fail = true;
			return;
		}
		if (*ps->p == ']' && !first)
			break;
		first = false;
		int lo = class_member(ps, &nl);
		if (ps->fail)
			return;
		if (ps->p[0] != '-' || ps->p[1] == ']' || !ps->p[1])
			continue;
		ps->p++;
		int hi = class_member(ps, &nl);
		if (ps->fail || lo < 0 || hi < 0) {
			ps->fail = true; /* a '-' next to \d: not modelled */
			return;
		}
		nl |= lo <= '\n' && '\n' <= hi;
	}
	ps->p++;
	if (neg != nl) /* [^...] without \n, or [...] with it */
		ps->nl = true;
}

/* (...) at ps->p: groups and lookarounds; anything else fails. */
static void parse_group(struct parser *ps, struct info *it)
{
	const char *p = ps->p + 1;
	bool look = false;
	struct info inner;

	if (p[0] == '?') {
		if (p[1] == ':') {
			p += 2;
		} else if (p[1] == '=' || p[1] == '!') {
			look = true;
			p += 2;
		} else if (p[1] == '<' && (p[2] == '=' || p[2] == '!')) {
			look = true;
			p += 3;
		} else if ((p[1] == '<' || p[1] == '\'' || (p[1] == 'P' && p[2] == '<'))) {
			char end = p[1] == '\'' ? '\'' : '>';

			p += p[1] == 'P' ? 3 : 2;
			while (is_alnum((unsigned char)*p) || *p == '_')
				p++;
			if (*p != end) {
				ps->fail = true;
				return;
			}
			p++;
		} else {
			/* options ((?i) (?s) (?x)), atomic, conditional, recursion,
			 * comments, callouts, branch reset */
			ps->fail = true;
			return;
		}
	} else if (p[0] == '*') {
		ps->fail = true; /* verbs and (*CRLF)-style settings */
		return;
	}
	if (++ps->depth > MAX_DEPTH) {
		ps->fail = true;
		return;
	}
	ps->p = p;
	parse_alt(ps, &inner);
	ps->depth--;
	if (ps->fail || *ps->p != ')') {
		ps->fail = true;
		return;
	}
	ps->p++;
	if (look)
		set_epsilon(it); /* zero width: the match itself is "" there */
	else
		*it = inner;
}

static void parse_atom(struct parser *ps, struct info *it)
{
	unsigned char c = (unsigned char)*ps->p;

	set_opaque(it);
	switch (c) {
	case '(':
		parse_group(ps, it);
		return;
	case '[':
		parse_class(ps);
		return;
	case '\\':
		parse_escape(ps, it);
		return;
	case '.': /* not '\n' without (?s) */
		ps->p++;
		return;
	case '^':
	case '$':
		ps->p++;
		set_epsilon(it);
		return;
	case '*':
	case '+':
	case '?':
	case '{': /* a literal '{' in some PCRE2 versions, a quantifier in others */
		ps->fail = true;
		return;
	case '\n':
		ps->nl = true;
		ps->p++;
		set_char(it, '\n');
		return;
	default:
		ps->p++;
		set_char(it, (char)c);
		return;
	}
}

static uint32_t parse_count(struct parser *ps)
{
	uint32_t n = 0;

	if (*ps->p < '0' || *ps->p > '9')
		ps->fail = true;
	while (*ps->p >= '0' && *ps->p <= '9') {
		n = n > 100000 ? n : n * 10 + (uint32_t)(*ps->p - '0');
		ps->p++;
	}
	return n;
}

/* A quantifier at ps->p, if any: false when there is none. */
static bool parse_quant(struct parser *ps, uint32_t *min, uint32_t *max)
{
	switch (*ps->p) {
	case '*':
		*min = 0;
		*max = UNBOUNDED;
		break;
	case '+':
		*min = 1;
		*max = UNBOUNDED;
		break;
	case '?':
		*min = 0;
		*max = 1;
		break;
	case '{':
		ps->p++;
		*min = *max = parse_count(ps);
		if (*ps->p == ',') {
			ps->p++;
			*max = *ps->p == '}' ? UNBOUNDED : parse_count(ps);
		}
		if (ps->fail || *ps->p != '}') {
			ps->fail = true;
			return false;
		}
		break;
	default:
		return false;
	}
	ps->p++;
	if (*ps->p == '?' || *ps->p == '+') /* lazy, possessive */
		ps->p++;
	if (*ps->p && strchr("*+?{", *ps->p))
		ps->fail = true;
	return true;
}

static void parse_item(struct parser *ps, struct info *it)
{
	uint32_t min, max;

	parse_atom(ps, it);
	if (ps->fail || !parse_quant(ps, &min, &max))
		return;
	if (min == 0) {
		set_opaque(it);
	} else if (min != 1 || max != 1) {
		if (it->exact)
			offer(it, &it->ex);
		it->exact = false;
	}
}

static void parse_seq(struct parser *ps, struct info *out)
{
	struct rules_lits run; /* the product of the current run of exact items */
	struct info it;
	bool open = true; /* every item so far was exact: the start goes on */

	set_epsilon(out);
	set_one(&run, "", 0);
	while (!ps->fail && *ps->p && *ps->p != '|' && *ps->p != ')') {
		parse_item(ps, &it);
		if (ps->fail)
			return;
		/* When the product does not fit, the shorter start stands. */
		if (open && (!set_product(&out->pre, &it.pre) || !it.exact))
			open = false;
		offer(out, &run);
		if (it.exact) {
			offer(out, &it.ex);
			if (!set_product(&run, &it.ex))
				set_copy(&run, &it.ex);
			if (out->exact && !set_product(&out->ex, &it.ex))
				out->exact = false;
		} else {
			set_one(&run, "", 0);
			out->exact = false;
		}
		offer(out, &it.rq);
	}
	offer(out, &run);
}

static void parse_alt(struct parser *ps, struct info *out)
{
	struct info br;

	parse_seq(ps, out);
	while (!ps->fail && *ps->p == '|') {
		ps->p++;
		parse_seq(ps, &br);
		if (ps->fail)
			return;
		if (out->exact && !(br.exact && set_union(&out->ex, &br.ex)))
			out->exact = false;
		if (out->rq.n && !(br.rq.n && set_union(&out->rq, &br.rq)))
			out->rq.n = 0;
		if (!set_union(&out->pre, &br.pre))
			set_one(&out->pre, "", 0);
		if (out->exact)
			offer(out, &out->ex);
	}
}

/* Drops the strings that hold another one (at their start, with
 * at_start): a text with the longer one has the shorter one too. */
static void set_minimize(struct rules_lits *s, bool at_start)
{
	size_t k = 0;

	for (size_t i = 0; i < s->n; i++) {
		bool redundant = false;

		for (size_t j = 0; j < s->n && !redundant; j++) {
			if (j == i || s->len[j] > s->len[i] || (s->len[j] == s->len[i] && j > i))
				continue;
			redundant =
				at_start ? !memcmp(s->s[i], s->s[j], s->len[j])
					 : memmem(s->s[i], s->len[i], s->s[j], s->len[j]) != NULL;
		}
		if (!redundant) {
			s->len[k] = s->len[i];
			memmove(s->s[k], s->s[i], s->len[i]);
			k++;
		}
	}
	s->n = k;
}

enum rules_lit_mode rules_literals(const char *pattern, struct rules_lits *out)
{
	struct parser ps = { .p = pattern };
	struct info top;

	out->n = 0;
	if (!pattern)
		return RULES_LIT_NONE;
	parse_alt(&ps, &top);
	if (ps.fail || *ps.p)
		return RULES_LIT_NONE;
	if (!ps.nl && usable(&top.rq)) {
		*out = top.rq;
		set_minimize(out, false);
		return RULES_LIT_LINE;
	}
	if (usable(&top.pre)) {
		*out = top.pre;
		set_minimize(out, true);
		return RULES_LIT_PREFIX;
	}
	return RULES_LIT_NONE;
}
