#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "util.h"

UNIT_SUITE(util_sha256)
{
	static const struct {
		const char *in;
		const char *hex;
	} cases[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	char out[65];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memset(out, 'x', sizeof out);
		CHECK(util_sha256_hex(cases[i].in, strlen(cases[i].in), out) == 0);
		CHECK_STR(out, cases[i].hex);
	}
	CHECK(util_sha256_hex(NULL, 0, out) == 0);
	CHECK_STR(out, cases[0].hex);
	CHECK(util_sha256_hex(NULL, 1, out) == -EINVAL);
	CHECK(util_sha256_hex("abc", 3, NULL) == -EINVAL);
}

UNIT_SUITE(util_rfc3339)
{
	static const struct {
		struct timespec ts;
		const char *want;
	} cases[] = {
		{ { 0, 0 }, "1970-01-01T00:00:00.000Z" },
		{ { 1795455449, 123456789 }, "2026-11-23T17:37:29.123Z" },
		/* leap day, and milliseconds truncated, not rounded up */
		{ { 951782400 + 86399, 999999999 }, "2000-02-29T23:59:59.999Z" },
		{ { 1, 1000000 }, "1970-01-01T00:00:01.001Z" },
		{ { 1, -5 }, "1970-01-01T00:00:01.000Z" },
	};
	char out[32];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		util_rfc3339_ms(&cases[i].ts, out);
		CHECK_STR(out, cases[i].want);
	}
}

UNIT_SUITE(util_clocks)
{
	int64_t now = util_now_ms(), m1 = util_mono_ms(), m2 = util_mono_ms();

	CHECK(now > 1577836800000LL); /* after 2020-01-01 */
	CHECK(m1 > 0 && m2 >= m1);
}

UNIT_SUITE(util_sb)
{
	struct util_sb sb;
	char *s;

	util_sb_init(&sb, 0);
	s = util_sb_take(&sb);
	CHECK_STR(s, "");
	free(s);

	util_sb_puts(&sb, "ab");
	util_sb_putc(&sb, 'c');
	util_sb_put(&sb, "defg", 2);
	for (int i = 0; i < 1000; i++)
		util_sb_putc(&sb, 'x');
	CHECK(sb.len == 1005 && sb.err == 0);
	s = util_sb_take(&sb);
	CHECK(s && strncmp(s, "abcdex", 6) == 0 && strlen(s) == 1005);
	CHECK(sb.buf == NULL && sb.len == 0);
	free(s);

	util_sb_init(&sb, 4);
	util_sb_puts(&sb, "abcd");
	CHECK(sb.err == 0);
	util_sb_putc(&sb, 'e');
	CHECK(sb.err == -E2BIG);
	util_sb_puts(&sb, ""); /* sticky: later appends do nothing */
	CHECK(sb.len == 4);
	CHECK(util_sb_take(&sb) == NULL);
	util_sb_free(&sb);
}
