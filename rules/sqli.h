/* SQL-injection detector for event inspection (events.detect: sqli).
 * Tokenizer-based: the value is read as SQL tokens as if spliced into a
 * query unquoted (a number), after an open single quote, after an open
 * double quote, after an open backtick and after an open '[', and flagged only when, in one of
 * these readings, it breaks out and goes on as valid SQL that does something: a condition after
 * AND/OR, UNION SELECT, a stacked statement, a sub-select, a time or error function, a comment
 * cutting the query off. Pure: no allocation, no system calls; work is linear in the input and
 * stops after a bounded number of tokens per reading. Thread-safe. */
#ifndef FNG_SQLI_H
#define FNG_SQLI_H

#include <stdbool.h>
#include <stddef.h>

enum sqli_ctx {
	SQLI_CTX_NONE = 0,
	SQLI_CTX_ASIS,    /* spliced as is: WHERE id=<value> */
	SQLI_CTX_SQUOTE,  /* WHERE name='<value>' */
	SQLI_CTX_DQUOTE,  /* WHERE name="<value>" */
	SQLI_CTX_BTICK,   /* ORDER BY `<value>` (MySQL identifiers) */
	SQLI_CTX_BRACKET, /* ORDER BY [<value>] (T-SQL identifiers) */
};

#define SQLI_FP_MAX 16

struct sqli_result {
	enum sqli_ctx ctx;
	/* token classes of that reading up to the trigger, e.g. "s&non" for
	 * x' OR 1=1; the first 15, NUL-terminated */
	char fingerprint[SQLI_FP_MAX];
	size_t offset;      /* of the token that completed the finding */
	const char *reason; /* static, e.g. "logic+comparison" */
};

/* True when s (len bytes, need not be NUL-terminated, may hold NULs)
 * reads as an injection; out (optional) says where and why. */
bool sqli_detect(const char *s, size_t len, struct sqli_result *out);

/* "as-is", "single-quote", "double-quote", "backtick", "bracket" or "none". */
const char *sqli_ctx_name(enum sqli_ctx ctx);

#endif
