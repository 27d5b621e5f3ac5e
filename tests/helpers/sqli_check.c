/* Runs the SQL-injection detector over inputs from stdin, one per line,
 * for tests/bench/sqli_rates.py. A line escapes its newline, carriage
 * return, tab and backslash as \n \r \t \\ (and NUL as \0). Prints one line
 * per input: "0", or "1<TAB>context<TAB>fingerprint<TAB>reason". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqli.h"

static size_t unescape(char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\' || i + 1 == n) {
			s[o++] = s[i];
			continue;
		}
		switch (s[++i]) {
		case 'n':
			s[o++] = '\n';
			break;
		case 'r':
			s[o++] = '\r';
			break;
		case 't':
			s[o++] = '\t';
			break;
		case '0':
			s[o++] = '\0';
			break;
		default:
			s[o++] = s[i];
		}
	}
	return o;
}

int main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) >= 0) {
		struct sqli_result r;

		if (n > 0 && line[n - 1] == '\n')
			n--;
		if (sqli_detect(line, unescape(line, (size_t)n), &r))
			printf("1\t%s\t%s\t%s\n", sqli_ctx_name(r.ctx), r.fingerprint, r.reason);
		else
			printf("0\n");
	}
	free(line);
	return ferror(stdin) ? 1 : 0;
}
