/* pol_glob_match / pol_glob_check: tables, a differential test against a
 * naive recursive matcher, and hostile inputs that must stay fast. */
#include <stdlib.h>
#include <time.h>

#include "policy.h"
#include "unit.h"

static const struct {
	const char *pattern, *path;
	bool match;
} match_cases[] = {
	{ "/usr/bin/python3", "/usr/bin/python3", true },
	{ "/usr/bin/python3", "/usr/bin/python3.11", false },
	{ "/usr/bin/python3*", "/usr/bin/python3.11", true },
	{ "/usr/bin/python3*", "/usr/bin/python3", true },
	{ "/usr/bin/python3*", "/usr/bin/python3/x", false },
	{ "/usr/*/python3", "/usr/bin/python3", true },
	{ "/usr/*/python3", "/usr/local/bin/python3", false },
	{ "/usr/*", "/usr/", true },
	{ "/usr/*", "/usr", false },
	{ "/bin/?h", "/bin/sh", true },
	{ "/bin/?h", "/bin/bash", false },
	{ "/a?b", "/a/b", false },
	{ "/usr/**", "/usr/lib/x/y", true },
	{ "/usr/**", "/usr/", true },
	{ "/usr/**", "/usr", false },
	{ "/usr/**", "/usrx", false },
	{ "/usr/**/bin/sh", "/usr/bin/sh", true },
	{ "/usr/**/bin/sh", "/usr/local/bin/sh", true },
	{ "/usr/**/bin/sh", "/usr/a/b/c/bin/sh", true },
	{ "/usr/**/bin/sh", "/usr/xbin/sh", false },
	{ "/usr/**/bin/sh", "/usrbin/sh", false },
	{ "/opt/**python*", "/opt/a/b/python3.11", true },
	{ "/opt/**python*", "/opt/a/b/python3/x", false },
	{ "/**", "/anything/at/all", true },
	{ "/**/*.py", "/x.py", true },
	{ "/**/*.py", "/a/b/x.py", true },
	{ "/**/*.py", "/a/b/x.pyc", false },
	{ "/***/x", "/a/b/x", true },
	{ "/bin/[a-c]at", "/bin/cat", true },
	{ "/bin/[a-c]at", "/bin/rat", false },
	{ "/bin/[!a-c]at", "/bin/rat", true },
	{ "/bin/[^a-c]at", "/bin/cat", false },
	{ "/bin/[!a]", "/bin//", false },
	{ "/x[]]y", "/x]y", true },
	{ "/x[!]]y", "/x]y", false },
	{ "/x[!]]y", "/xay", true },
	{ "/x[a-]", "/x-", true },
	{ "/x[\\]]", "/x]", true },
	{ "/a\\*b", "/a*b", true },
	{ "/a\\*b", "/axb", false },
	{ "/a\\?", "/a?", true },
	{ "/a\\[b", "/a[b", true },
	{ "/a[b", "/a[b", true }, /* unterminated: literal, and refused by the loader */
	{ "/a[.-0]", "/a.", true },
	{ "/a[.-0]", "/a/", false },
	{ "/a*b*c", "/aXbYc", true },
	{ "/a*b*c", "/aXbY/c", false },
	{ "/a*/*c", "/ab/xc", true },
	{ "", "", true },
	{ "", "/", false },
	{ "*", "", true },
};

UNIT_SUITE(glob_table)
{
	char d[512];

	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		bool got = pol_glob_match(match_cases[i].pattern, match_cases[i].path);

		snprintf(d, sizeof(d), "'%s' vs '%s': got %d", match_cases[i].pattern,
			 match_cases[i].path, got);
		CHECK_MSG(got == match_cases[i].match, d);
	}
	CHECK(!pol_glob_match(NULL, "/x"));
	CHECK(!pol_glob_match("/x", NULL));
}

static const struct {
	const char *pattern;
	const char *err; /* substring, NULL when well formed */
} check_cases[] = {
	{ "/usr/bin/python3*", NULL },
	{ "/usr/**/[a-z]?\\*", NULL },
	{ "/x[]]", NULL },
	{ "", "empty" },
	{ "/a\\", "trailing backslash" },
	{ "/a[b", "unterminated '['" },
	{ "/a[!", "unterminated '['" },
	{ "/a[]", "unterminated '['" },
	{ "/a[z-a]", "reversed range" },
	{ "/a[/]", "'/' cannot appear" },
	{ "/a[.-0]", NULL }, /* spans '/', but a class never matches it anyway */
};

UNIT_SUITE(glob_check)
{
	for (size_t i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]); i++) {
		const char *err = pol_glob_check(check_cases[i].pattern);

		if (!check_cases[i].err)
			CHECK_STR(err, NULL);
		else
			CHECK_MSG(err && strstr(err, check_cases[i].err), check_cases[i].pattern);
	}
	CHECK(pol_glob_check(NULL) != NULL);
}

/* Naive exponential matcher with the same semantics, on the restricted
 * alphabet the random test uses ('a' 'b' '/' '*' '?' "[ab]" "[!a]"). */
static bool ref_match(const char *p, const char *s, const char *p0)
{
	if (p[0] == '*' && p[1] == '*') {
		const char *q = p;

		while (*q == '*')
			q++;
		if (*q == '/' && (p == p0 || p[-1] == '/')) {
			if (ref_match(q + 1, s, p0))
				return true;
			for (const char *t = s; *t; t++)
				if (*t == '/' && ref_match(q + 1, t + 1, p0))
					return true;
			return false;
		}
		for (const char *t = s;; t++) {
			if (ref_match(q, t, p0))
				return true;
			if (!*t)
				return false;
		}
	}
	if (*p == '*') {
		for (const char *t = s;; t++) {
			if (ref_match(p + 1, t, p0))
				return true;
			if (!*t || *t == '/')
				return false;
		}
	}
	if (!*p)
		return !*s;
	if (!*s)
		return false;
	if (strncmp(p, "[ab]", 4) == 0)
		return (*s == 'a' || *s == 'b') && ref_match(p + 4, s + 1, p0);
	if (strncmp(p, "[!a]", 4) == 0)
		return *s != 'a' && *s != '/' && ref_match(p + 4, s + 1, p0);
	if (*p == '?')
		return *s != '/' && ref_match(p + 1, s + 1, p0);
	return *p == *s && ref_match(p + 1, s + 1, p0);
}

UNIT_SUITE(glob_differential)
{
	static const char *const tok[] = { "a", "b", "/", "*", "**", "?", "[ab]", "[!a]", "/**/" };
	unsigned seed = 12345, bad = 0;
	char pat[64], path[32], d[160];

	for (int iter = 0; iter < 200000; iter++) {
		size_t pl = 0, sl = 0;
		int nt = 1 + (int)((seed = seed * 1103515245 + 12345) >> 16) % 6;
		int ns = (int)((seed = seed * 1103515245 + 12345) >> 16) % 10;

		pat[0] = '\0';
		for (int t = 0; t < nt; t++) {
			const char *k = tok[((seed = seed * 1103515245 + 12345) >> 16) % 9];

			memcpy(pat + pl, k, strlen(k) + 1);
			pl += strlen(k);
		}
		for (int c = 0; c < ns; c++)
			path[sl++] = "ab/"[((seed = seed * 1103515245 + 12345) >> 16) % 3];
		path[sl] = '\0';
		if (pol_glob_match(pat, path) != ref_match(pat, path, pat) && bad++ < 5) {
			snprintf(d, sizeof(d), "'%s' vs '%s': matcher says %d", pat, path,
				 pol_glob_match(pat, path));
			CHECK_MSG(false, d);
		}
	}
	CHECK(bad == 0);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The path comes from the workload: no pattern may take exponential (or
 * even noticeable) time on it. Generous bound for sanitizer builds. */
UNIT_SUITE(glob_hostile)
{
	static const char *const pats[] = {
		"/a*a*a*a*a*a*a*a*a*a*a*a*b", "/**a*a*a*a*a*a*b",  "/**/a*a*a*a*b",
		"/**a**a**a**a**a**b",        "/*/*/*/*/*/*/*/*b", "/**/**/**/**/**/b",
	};
	char path[4097];
	double t0 = now();

	path[0] = '/';
	for (size_t i = 1; i < sizeof(path) - 1; i++)
		path[i] = i % 64 == 0 ? '/' : 'a';
	path[sizeof(path) - 1] = '\0';
	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
		CHECK(!pol_glob_match(pats[i], path));
	for (size_t i = 1; i < sizeof(path) - 1; i++)
		path[i] = 'a';
	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
		CHECK(!pol_glob_match(pats[i], path));
	CHECK_MSG(now() - t0 < 2.0, "hostile glob inputs took more than 2 s");
}
