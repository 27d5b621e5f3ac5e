/* The JSON encoders' forms of a string (common/jsonesc.c), as the real
 * encoders write them: Python's json.dumps (with and without
 * ensure_ascii) and Node's JSON.stringify were run on each input; Go's,
 * .NET's and PHP's forms follow their documented escaping. */
#include <errno.h>
#include <stdlib.h>

#include "jsonesc.h"
#include "unit.h"

UNIT_SUITE(jsonesc_styles)
{
	static const struct {
		const char *in;
		enum jesc_style style;
		const char *want; /* NULL: -EILSEQ */
	} t[] = {
		{ "pa\"ss\\word", JESC_MINIMAL, "pa\\\"ss\\\\word" },
		{ "pa\"ss\\word", JESC_ASCII, "pa\\\"ss\\\\word" },
		{ "t\xc3\xb6k\xc3\xa9n", JESC_MINIMAL, "t\xc3\xb6k\xc3\xa9n" },
		{ "t\xc3\xb6k\xc3\xa9n", JESC_ASCII, "t\\u00f6k\\u00e9n" },
		{ "k-\xf0\x9f\x98\x80", JESC_ASCII, "k-\\ud83d\\ude00" },
		{ "k-\xf0\x9f\x98\x80", JESC_MINIMAL, "k-\xf0\x9f\x98\x80" },
		{ "l1\nl2\tz\x01", JESC_MINIMAL, "l1\\nl2\\tz\\u0001" },
		{ "a/b+c<d>&e'f`g", JESC_MINIMAL, "a/b+c<d>&e'f`g" },
		{ "a/b+c<d>&e'f`g", JESC_SLASH, "a\\/b+c<d>&e'f`g" },
		{ "a/b+c<d>&e'f`g", JESC_GO, "a/b+c\\u003cd\\u003e\\u0026e'f`g" },
		{ "a/b+c<d>&e'f`g", JESC_DOTNET,
		  "a/b\\u002bc\\u003cd\\u003e\\u0026e\\u0027f\\u0060g" },
		{ "q\"\xc3\xa9", JESC_DOTNET, "q\\u0022\\u00e9" },
		{ "\xc3\xa9/", JESC_ASCII_SLASH, "\\u00e9\\/" },
		/* not UTF-8: no \u form exists, the raw bytes stay for MINIMAL */
		{ "a\xff", JESC_ASCII, NULL },
		{ "a\xc0\xaf", JESC_ASCII, NULL },
		{ "a\xed\xa0\x80", JESC_ASCII, NULL },
		{ "a\xff", JESC_MINIMAL, "a\xff" },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct util_sb sb;
		util_sb_init(&sb, 0);
		int rc = jesc_append(&sb, t[i].in, strlen(t[i].in), t[i].style);
		char *got = util_sb_take(&sb);
		if (!t[i].want) {
			CHECK_MSG(rc == -EILSEQ && (!got || !got[0]), t[i].in);
		} else {
			CHECK_MSG(rc == 0, t[i].in);
			CHECK_STR(got, t[i].want);
		}
		free(got);
	}
}
