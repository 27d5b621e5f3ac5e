/* The literal prefilter: which strings a pattern yields (or that it
 * yields none), and that a scan with prefilters finds exactly what a
 * plain PCRE2 search of the whole buffer finds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cleanup.h"
#include "literal.h"
#include "rules.h"
#include "unit.h"

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "MODE:s1|s2|..." with the strings sorted, or "NONE". */
static void describe(const char *pattern, char *out, size_t size)
{
	struct rules_lits l;
	enum rules_lit_mode m = rules_literals(pattern, &l);
	char strs[RULES_LIT_MAX][RULES_LIT_LEN + 1];
	char *p[RULES_LIT_MAX];
	size_t at;

	if (m == RULES_LIT_NONE) {
		snprintf(out, size, "NONE");
		return;
	}
	for (size_t i = 0; i < l.n; i++) {
		memcpy(strs[i], l.s[i], l.len[i]);
		strs[i][l.len[i]] = '\0';
		p[i] = strs[i];
	}
	qsort(p, l.n, sizeof(*p), str_cmp);
	at = (size_t)snprintf(out, size, "%s:", m == RULES_LIT_LINE ? "LINE" : "PREFIX");
	for (size_t i = 0; i < l.n && at < size; i++)
		at += (size_t)snprintf(out + at, size - at, "%s%s", i ? "|" : "", p[i]);
}

UNIT_SUITE(rules_literal_extraction)
{
	static const struct {
		const char *pattern, *want;
	} cases[] = {
		/* protectLambda: the alternation, on one line */
		{ "(call|check_output|system|popen|run|local|spawn).*\\(",
		  "LINE:call|check_output|local|popen|run|spawn|system" },
		{ ".*(call|check_output|system|popen|run|local|spawn).*\\(.*",
		  "LINE:call|check_output|local|popen|run|spawn|system" },
		{ "exec|eval", "LINE:eval|exec" },
		{ "os\\.(?:system|popen)", "LINE:os.popen|os.system" },
		{ "(?:a|b)(?:c|d)", "LINE:ac|ad|bc|bd" },
		{ "(exec|ev)al", "LINE:eval|execal" },
		/* a string holding another is dropped: the shorter finds both */
		{ "exec|execve|spawn", "LINE:exec|spawn" },
		/* zero-width parts keep the run going */
		{ "\\babc\\b", "LINE:abc" },
		{ "^abc$", "LINE:abc" },
		{ "\\Aabc\\z", "LINE:abc" },
		{ "exec(?=\\()", "LINE:exec" },
		{ "(?<![\\w.])eval", "LINE:eval" },
		{ "(?<name>exec)", "LINE:exec" },
		{ "a\\tb", "LINE:a\tb" },
		{ "\\w+\\.exec", "LINE:.exec" },
		{ "[Ee]xec", "LINE:xec" },
		{ "[^'\"\\n]+exec", "LINE:exec" },
		{ "ab?cd", "LINE:cd" },
		{ "x*abc", "LINE:abc" },
		{ "(?:abc)+d", "LINE:abc" },
		{ "a{2}bc", "LINE:bc" },
		{ "a{1}bc", "LINE:abc" },
		/* long strings are cut, not dropped */
		{ "abcdefghijklmnopqrstuvwxyz0123456789", "LINE:abcdefghijklmnopqrstuvwxyz012345" },
		/* a part that can match '\n': only a start can be used */
		{ "\\bos\\.system\\s*\\(", "PREFIX:os.system" },
		{ "foo[^)]*bar", "PREFIX:foo" },
		{ "foo\\nbar", "PREFIX:foo\nbar" },
		{ "(?:libc|cdll\\.\\w+|CDLL\\([^)]*\\))\\.x", "PREFIX:CDLL(|cdll.|libc" },
		{ "\\b(?:ab|cd)\\s", "PREFIX:ab|cd" },
		/* no prefilter: something may match without a known string */
		{ "abc|", "NONE" },
		{ "(?:abc|)d", "NONE" },
		{ "(?:abc)*d", "NONE" },
		{ "ab{0}c", "NONE" },
		{ "a.b", "NONE" },
		{ ".*", "NONE" },
		{ "", "NONE" },
		{ "[^)]*foo\\s", "NONE" },
		{ "[\\n]abc\\s", "NONE" },
		{ "\\sabc\\s", "NONE" },
		/* not modelled: options, escapes, references, verbs */
		{ "(?i)exec", "NONE" },
		{ "(?i:exec)", "NONE" },
		{ "ex(?i)ec", "NONE" },
		{ "(?s)exec.*", "NONE" },
		{ "(?x)exec", "NONE" },
		{ "(*CR)exec", "NONE" },
		{ "(*UTF)exec", "NONE" },
		{ "(exec)\\1", "NONE" },
		{ "(?P<n>exec)(?P=n)", "NONE" },
		{ "(exec)\\g1", "NONE" },
		{ "\\Qexec\\E", "NONE" },
		{ "ex\\Kec", "NONE" },
		{ "\\Gexec", "NONE" },
		{ "\\x65xec", "NONE" },
		{ "\\eexec", "NONE" },
		{ "\\p{L}exec", "NONE" },
		{ "\\Rexec", "NONE" },
		{ "[[:alpha:]]exec", "NONE" },
		{ "[\\x00-\\x7f]exec", "NONE" },
		{ "exec{,3}", "NONE" },
		{ "exec{ 1}", "NONE" },
		{ "exec{", "NONE" },
		{ "(?#c)exec", "NONE" },
		{ "(?>exec)", "NONE" },
		{ "(?|exec)", "NONE" },
		{ "(?(1)exec|eval)", "NONE" },
		{ "(?R)exec", "NONE" },
		{ "exec)", "NONE" },
		{ "((((((((((((((((((exec))))))))))))))))))", "NONE" }, /* too deep */
		{ "w00|w01|w02|w03|w04|w05|w06|w07|w08|w09|w10|w11|w12|w13|w14|w15|w16|"
		  "w17|w18|w19|w20|w21|w22|w23|w24|w25|w26|w27|w28|w29|w30|w31|w32",
		  "NONE" }, /* too many */
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char got[1024], what[1200];

		describe(cases[i].pattern, got, sizeof got);
		snprintf(what, sizeof what, "/%s/: got %s, want %s", cases[i].pattern, got,
			 cases[i].want);
		CHECK_MSG(strcmp(got, cases[i].want) == 0, what);
	}
}

struct hits {
	size_t n;
	size_t line[64], col[64], rule[64];
	const char *ids;
};

static bool collect_hit(void *arg, const struct rules_finding *f)
{
	struct hits *h = arg;

	if (h->n < 64) {
		h->line[h->n] = f->line;
		h->col[h->n] = f->col;
		h->rule[h->n] = (size_t)(f->rule_id[0] - 'a');
	}
	h->n++;
	return true;
}

/* The engine's contract computed the plain way: every match of the whole
 * buffer, at most one per line, in file order. */
static void reference(pcre2_code *re, size_t rule, const char *buf, size_t len, size_t *line,
		      size_t *col, size_t *rules, size_t *n)
{
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	size_t pos = 0;

	while (pos <= len && pcre2_match(re, (PCRE2_SPTR)buf, len, pos, 0, md, NULL) >= 0) {
		size_t s = ov[0], e = ov[1] > ov[0] ? ov[1] : ov[0], ln = 1, ls = 0;
		const char *nl = memchr(buf + s, '\n', len - s);
		size_t next = nl ? (size_t)(nl - buf) + 1 : len + 1;

		for (size_t k = 0; k < s; k++)
			if (buf[k] == '\n') {
				ln++;
				ls = k + 1;
			}
		if (*n < 64) {
			line[*n] = ln;
			col[*n] = s - ls + 1;
			rules[*n] = rule;
		}
		(*n)++;
		pos = next > e ? next : e;
	}
	pcre2_match_data_free(md);
}

UNIT_SUITE(rules_prefilter_same_findings)
{
	/* No outer .* (the engine strips it and reports the inner column). */
	static const char *const patterns[] = {
		"(call|check_output|system|popen|run|local|spawn)[^\\n]*\\(",
		"(?<![\\w.])(?:exec|eval|compile)[ \\t]*\\(",
		"\\b(?:libc|ctypes\\.CDLL\\([^)]*\\)|cdll\\.\\w+|CDLL\\([^)]*\\))\\.(?:syscall|"
		"prctl)",
		"(?:run|os)\\.?[a-z]*\\s+\\(",
		"(?:ab|ba)\\b",
		"\\bos\\.(?:system|popen)\\s*\\(",
		"(?:e|x)(?:x|e)(?=c)",
		"x[^y]*yz|zz",
		"(?:ca|sy)[^)]*\\)", /* a match across lines */
	};
	static const char *const tokens[] = {
		"exec",    "eval",
		"compile", "(",
		")",       " ",
		"\n",      "\n",
		"os",      ".",
		"system",  "popen",
		"run",     "call",
		"x",       "y",
		"z",       "\t",
		"ab",      "ba",
		"libc",    "CDLL",
		"ctypes",  "cdll",
		"syscall", "prctl",
		"spawn",   "local",
		"_",       "e",
		"c",       "'",
		"\n\n",    "check_output",
	};
	uint32_t seed = 12345;

	for (size_t pi = 0; pi < ARRAY_SIZE(patterns); pi++) {
		struct rules *r = rules_new();
		struct rules_scanner *sc = rules_scanner_new(r);
		char err[256], what[512];
		int code;
		PCRE2_SIZE off;
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)patterns[pi], PCRE2_ZERO_TERMINATED,
					       PCRE2_MULTILINE, &code, &off, NULL);

		CHECK(r && sc && re);
		if (!r || !sc || !re)
			return;
		CHECK(rules_add(r, "a", patterns[pi], NULL, NULL, NULL, "test", err, sizeof err) ==
		      0);
		for (int t = 0; t < 300; t++) {
			char buf[2048];
			size_t len = 0, n_tok;
			struct hits got = { 0 };
			size_t wl[64], wc[64], wr[64], wn = 0;

			seed = seed * 1103515245u + 12345u;
			n_tok = (seed >> 16) % 200;
			for (size_t k = 0; k < n_tok; k++) {
				seed = seed * 1103515245u + 12345u;
				const char *tk = tokens[(seed >> 16) % ARRAY_SIZE(tokens)];
				size_t tl = strlen(tk);

				if (len + tl >= sizeof buf)
					break;
				memcpy(buf + len, tk, tl);
				len += tl;
			}
			reference(re, 0, buf, len, wl, wc, wr, &wn);
			int rc = t % 2 ? rules_scan(r, "x.py", buf, len, collect_hit, &got)
				       : rules_scan_with(sc, "x.py", buf, len, collect_hit, &got);
			bool same = rc >= 0 && (size_t)rc == wn && got.n == wn;

			for (size_t k = 0; same && k < wn && k < 64; k++)
				same = got.line[k] == wl[k] && got.col[k] == wc[k];
			snprintf(what, sizeof what, "/%s/ text %d: %zu findings, want %zu",
				 patterns[pi], t, got.n, wn);
			CHECK_MSG(same, what);
		}
		pcre2_code_free(re);
		rules_scanner_free(sc);
		rules_free(r);
	}
}

UNIT_SUITE(rules_prefilter_many_rules)
{
	/* More pairs than the vector search takes, rules of other files, and
	 * a rule without prefilter: each rule's findings stay its own. */
	static const char *const py[] = { ".py", NULL };
	static const char *const js[] = { ".js", NULL };
	struct rules *r = rules_new();
	struct hits h = { 0 };
	char err[256];
	const char *pats[] = { "(?:aa|bb|cc|dd|ee|ff|gg|hh)q", "(?:ii|jj|kk|ll|mm|nn|oo|pp)q",
			       "(?:rr|ss|tt)q", "zq|qz" };

	for (size_t i = 0; i < ARRAY_SIZE(pats); i++) {
		char id[2] = { (char)('a' + i), 0 };

		CHECK(rules_add(r, id, pats[i], NULL, NULL,
				i == 2   ? js
				: i == 1 ? py
					 : NULL,
				"test", err, sizeof err) == 0);
	}
	const char *text = "xx ppq\naaq ttq zq\n\nttq\nhhq iiq\n";
	CHECK(rules_scan(r, "m.py", text, strlen(text), collect_hit, &h) == 5);
	size_t want_line[] = { 1, 2, 2, 5, 5 }, want_col[] = { 4, 1, 9, 1, 5 },
	       want_rule[] = { 1, 0, 3, 0, 1 };
	for (size_t i = 0; i < 5; i++)
		CHECK(h.line[i] == want_line[i] && h.col[i] == want_col[i] &&
		      h.rule[i] == want_rule[i]);
	memset(&h, 0, sizeof h);
	CHECK(rules_scan(r, "m.js", text, strlen(text), collect_hit, &h) == 5); /* a, c, d */
	CHECK(h.rule[0] == 0 && h.rule[1] == 2 && h.rule[2] == 3);
	CHECK(h.line[3] == 4 && h.rule[3] == 2 && h.rule[4] == 0);
	/* The end of the buffer: a string in the last bytes, no newline. */
	memset(&h, 0, sizeof h);
	CHECK(rules_scan(r, "m.py", "................ppq", 19, collect_hit, &h) == 1);
	CHECK(h.col[0] == 17);
	rules_free(r);

	/* A LINE string is searched by its rarest pair ("k_" here), which
	 * may sit past the start of the buffer's first string or at its end. */
	r = rules_new();
	CHECK(rules_add(r, "a", "(?:check_output|spawn)\\(", NULL, NULL, NULL, "test", err,
			sizeof err) == 0);
	memset(&h, 0, sizeof h);
	text = "check_output(x)\nx = spawn(\nzzcheck_output(";
	CHECK(rules_scan(r, "m.py", text, strlen(text), collect_hit, &h) == 3);
	CHECK(h.line[0] == 1 && h.col[0] == 1 && h.line[1] == 2 && h.col[1] == 5);
	CHECK(h.line[2] == 3 && h.col[2] == 3);
	rules_free(r);
}
