/* The base64 readings (rules/b64.c): plain base64 and how Node and Python
 * read what is not (values from node and python3 themselves; the
 * integration test compares thousands more). */
#include "b64.h"
#include "unit.h"

#define NONE "\x01" /* Python raises */

UNIT_SUITE(b64_readings)
{
	static const struct {
		const char *in, *plain, *node, *python; /* plain NULL: not plain */
	} t[] = {
		{ "", "", "", "" },
		{ "OyBpZA==", "; id", "; id", "; id" },
		{ "eDsgaWQ=", "x; id", "x; id", "x; id" },
		{ "eHk7IGlk", "xy; id", "xy; id", "xy; id" },
		{ "OyBpZA==eA==", NULL, "; id", "; id" },
		{ "eA==OyBpZA==", NULL, "x", "x" },
		{ "Oy=BpZA==", NULL, ";", "; id" },
		{ "=OyBpZA==", NULL, "", "; id" },
		{ "OyBpZA", NULL, "; id", NONE },
		{ "OyBpZA=", NULL, "; id", NONE },
		{ "O$yBpZA==", NULL, "; id", "; id" },
		{ "OyBp ZA==\n", NULL, "; id", "; id" },
		{ "OyB=pZA==", NULL, "; ", "; " },
		{ "OyBpZA=x=", NULL, "; id", "; id\x0c" },
		{ "O-_-", NULL, "\x3b\xef\xfe", NONE },
		{ "A", NULL, "", NONE },
		{ "====", NULL, "", "" },
		{ "QQ=C", NULL, "A", NONE },
	};
	unsigned char out[64];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		const char *in = t[i].in;
		size_t len = strlen(in);
		ssize_t p = b64_plain(in, len, out);
		if (t[i].plain)
			CHECK_MSG(p == (ssize_t)strlen(t[i].plain) &&
					  memcmp(out, t[i].plain, (size_t)p) == 0,
				  in);
		else
			CHECK_MSG(p == -1, in);
		size_t n = b64_node(in, len, out);
		CHECK_MSG(n == strlen(t[i].node) && memcmp(out, t[i].node, n) == 0, in);
		ssize_t y = b64_python(in, len, out);
		if (strcmp(t[i].python, NONE) == 0)
			CHECK_MSG(y == -1, in);
		else
			CHECK_MSG(y == (ssize_t)strlen(t[i].python) &&
					  memcmp(out, t[i].python, (size_t)y) == 0,
				  in);
	}
}
