/* b64_check: for each line of stdin (the input in hex), prints the
 * decodings rules/b64.c makes of it, in hex: "NODE PYTHON", PYTHON being
 * "error" where Python raises; for tests/integration/test_b64.py, which
 * compares them with what node and python3 themselves decode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

static void put_hex(const unsigned char *p, size_t n)
{
	if (!n)
		fputs("-", stdout);
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

int main(void)
{
	static char line[1 << 16];
	static unsigned char in[1 << 15], out[B64_OUT_MAX(1 << 15)];

	while (fgets(line, sizeof line, stdin)) {
		size_t n = 0;
		for (char *p = line; p[0] && p[1] && p[0] != '\n' && n < sizeof in; p += 2) {
			unsigned v;
			if (sscanf(p, "%2x", &v) != 1)
				return 2;
			in[n++] = (unsigned char)v;
		}
		put_hex(out, b64_node((const char *)in, n, out));
		putchar(' ');
		ssize_t py = b64_python((const char *)in, n, out);
		if (py < 0)
			fputs("error", stdout);
		else
			put_hex(out, (size_t)py);
		putchar('\n');
	}
	return 0;
}
