/* Literal prefilters for rules (literal.c): strings of which every match
 * of a pattern contains one, so that a scan can look for them first and
 * run the regex only on the lines that hold one. */
#ifndef FNG_RULES_LITERAL_H
#define FNG_RULES_LITERAL_H

#include <stdbool.h>
#include <stddef.h>

#define RULES_LIT_MAX 32 /* strings in a set */
#define RULES_LIT_LEN 32 /* bytes in a string */

struct rules_lits {
	size_t n;
	unsigned char len[RULES_LIT_MAX];
	char s[RULES_LIT_MAX][RULES_LIT_LEN];
};

enum rules_lit_mode {
	RULES_LIT_NONE,   /* no prefilter: the regex runs everywhere */
	RULES_LIT_LINE,   /* every match contains a string, on that line */
	RULES_LIT_PREFIX, /* every match starts with a string */
};

/* Finds strings (each at least 2 bytes) for a prefilter of pattern, as
 * rules_add() compiles it (PCRE2_MULTILINE, byte mode, no other option):
 * LINE when every match contains one of them and no part of the pattern,
 * lookarounds included, can match '\n' (so a match starts on the line
 * that holds the string); else PREFIX when every match starts with one.
 * NONE for anything it does not fully understand: option settings,
 * backreferences, recursion, verbs, \G, \K, \Q, POSIX classes, escapes
 * other than the plain ones, '{' outside a quantifier, nesting past a
 * depth limit. */
enum rules_lit_mode rules_literals(const char *pattern, struct rules_lits *out);

#endif
