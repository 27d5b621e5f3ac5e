/* Glob matching for exec paths.
 *
 * `*`, `?` and classes never match '/'; `**` matches anything. A `**`
 * that is a whole path component ("/usr/" "**" "/bin") matches zero or more
 * whole directories, so that pattern also matches /usr/bin as it does in
 * gitignore. The path is chosen by the workload, so the matcher keeps
 * one backtrack point per star kind instead of recursing: /aaaa...aaa
 * against /a*a*a*a*b costs a few passes over the path, and no input
 * costs more than len(path)^2 * len(pattern) steps.
 */
#include <stdbool.h>
#include <string.h>

#include "policy.h"

/* p points just past '['. Returns the closing ']' or NULL when there is
 * none. A ']' right after '[' or '[!' is a member, as in POSIX. */
static const char *class_close(const char *p)
{
	if (*p == '!' || *p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p && *p != ']') {
		if (*p == '\\' && p[1])
			p++;
		p++;
	}
	return *p == ']' ? p : NULL;
}

/* Walks the members of the class [p, end): calls back per range. */
struct class_range {
	unsigned char lo, hi;
};

static const char *class_next(const char *p, const char *end, struct class_range *r)
{
	r->lo = (unsigned char)*p;
	if (*p == '\\')
		r->lo = (unsigned char)*++p;
	p++;
	r->hi = r->lo;
	if (*p == '-' && p + 1 < end) {
		p++;
		if (*p == '\\')
			p++;
		r->hi = (unsigned char)*p++;
	}
	return p;
}

static bool class_match(const char *p, const char *end, unsigned char c)
{
	bool neg = false, hit = false;
	struct class_range r;

	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	while (p < end) {
		p = class_next(p, end, &r);
		if (r.lo <= c && c <= r.hi)
			hit = true;
	}
	/* Even [!a] must not match '/': a class is one character of one
	 * path component. */
	if (c == '/')
		return false;
	return hit != neg;
}

/* Matches one pattern element (not a star) against c; on success sets
 * *next to the element after it. */
static bool match_one(const char *p, unsigned char c, const char **next)
{
	const char *end;

	switch (*p) {
	case '?':
		*next = p + 1;
		return c != '/';
	case '[':
		end = class_close(p + 1);
		if (!end)
			break; /* unterminated: a literal '[' */
		*next = end + 1;
		return class_match(p + 1, end, c);
	case '\\':
		if (p[1]) {
			*next = p + 2;
			return (unsigned char)p[1] == c;
		}
		break;
	}
	*next = p + 1;
	return (unsigned char)*p == c;
}

struct star {
	const char *p; /* pattern after the star */
	const char *s; /* where the star's match ends */
};

bool pol_glob_match(const char *pattern, const char *path)
{
	const char *p = pattern, *s = path, *np;
	struct star one = { NULL, NULL }, two = { NULL, NULL };
	bool two_dir = false;

	if (!pattern || !path)
		return false;
	for (;;) {
		if (*p == '*' && p[1] == '*') {
			const char *q = p;

			while (*q == '*')
				q++;
			two_dir = *q == '/' && (p == pattern || p[-1] == '/');
			if (two_dir)
				q++;
			two = (struct star){ q, s };
			/* A later `**` absorbs anything an earlier star could
			 * have matched, so older backtrack points are dropped. */
			one.p = NULL;
			p = q;
			continue;
		}
		if (*p == '*') {
			one = (struct star){ ++p, s };
			continue;
		}
		if (!*p && !*s)
			return true;
		if (*p && *s && match_one(p, (unsigned char)*s, &np)) {
			p = np;
			s++;
			continue;
		}
		if (one.p) {
			/* The rest failed at every position up to the end of the
			 * path: moving an earlier star right cannot help. */
			if (!*one.s)
				return false;
			if (*one.s != '/') {
				s = ++one.s;
				p = one.p;
				continue;
			}
		}
		if (!two.p)
			return false;
		if (two_dir) {
			const char *slash = strchr(two.s, '/');

			if (!slash)
				return false;
			two.s = slash + 1;
		} else {
			if (!*two.s)
				return false;
			two.s++;
		}
		one.p = NULL;
		p = two.p;
		s = two.s;
	}
}

static const char *class_check(const char *p, const char *end)
{
	struct class_range r;

	if (*p == '!' || *p == '^')
		p++;
	while (p < end) {
		p = class_next(p, end, &r);
		if (r.lo == '/' || r.hi == '/')
			return "'/' cannot appear in a [...] class (a class never matches '/')";
		if (r.lo > r.hi)
			return "reversed range in a [...] class (write [a-z], not [z-a])";
	}
	return NULL;
}

const char *pol_glob_check(const char *pattern)
{
	const char *err;

	if (!pattern || !*pattern)
		return "empty pattern";
	for (const char *p = pattern; *p; p++) {
		if (*p == '\\') {
			if (!p[1])
				return "trailing backslash (write \\\\ for a literal backslash)";
			p++;
			continue;
		}
		if (*p != '[')
			continue;
		const char *end = class_close(p + 1);

		if (!end)
			return "unterminated '[' (a class needs a closing ']'; write \\[ for a "
			       "literal '[')";
		err = class_check(p + 1, end);
		if (err)
			return err;
		p = end;
	}
	return NULL;
}
