/* libFuzzer target for the SQL-injection detector: every input is judged
 * (twice, which must agree) and tokenized in each reading; the result and
 * every token must stay inside the input, and the tokenizer must advance. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sqli.h"
#include "sqli_lex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_result(bool found, const struct sqli_result *r, size_t size)
{
	if (!found) {
		if (r->ctx != SQLI_CTX_NONE || r->reason || r->fingerprint[0])
			abort();
		return;
	}
	if (r->ctx == SQLI_CTX_NONE || !r->reason || r->offset >= size)
		abort();
	if (memchr(r->fingerprint, '\0', sizeof(r->fingerprint)) == NULL)
		abort();
	for (const char *c = r->fingerprint; *c; c++)
		if (!strchr("snbvofkEU&(),;c", *c))
			abort();
}

static void check_lexer(const char *s, size_t size, char vquote)
{
	struct sqli_lex lx;
	struct sqli_tok t;
	size_t end = 0, n = 0;

	sqli_lex_init(&lx, s, size, vquote);
	while (sqli_lex_next(&lx, &t)) {
		if (t.off < end || t.off + t.len > size || ++n > size + 1)
			abort();
		if (t.len == 0 && !(vquote && n == 1))
			abort();
		if (t.type == SQLI_T_KW && !t.kw)
			abort();
		end = t.off + t.len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct sqli_result a, b;
	bool fa = sqli_detect(s, size, &a);
	bool fb = sqli_detect(s, size, &b);

	check_result(fa, &a, size);
	if (fa != fb || memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	check_lexer(s, size, 0);
	check_lexer(s, size, '\'');
	check_lexer(s, size, '"');
	check_lexer(s, size, '`');
	check_lexer(s, size, '[');
	return 0;
}
