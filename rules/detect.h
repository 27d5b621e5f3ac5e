/* Built-in detectors for values carried by invocation events: command
 * injection, cross-site scripting and path traversal (SQL injection has
 * its own tokenizer, sqli.h). Each looks for the structure an attack
 * needs — a shell separator followed by a command, markup that runs
 * script, a climb out of a directory — not for single suspicious words,
 * so ordinary text (prose with semicolons, "less than" signs, dotted
 * version numbers) passes. No system calls, no allocation, linear in the
 * input, all of which is judged: an attack behind any length of padding
 * is found (a value is bounded by the event's own size limit). */
#ifndef FNG_DETECT_H
#define FNG_DETECT_H

#include <stdbool.h>
#include <stddef.h>

struct detect_hit {
	size_t offset;      /* where the telling part starts */
	const char *reason; /* static text */
};

bool detect_cmdi(const char *s, size_t len, struct detect_hit *hit);
bool detect_xss(const char *s, size_t len, struct detect_hit *hit);
bool detect_path_traversal(const char *s, size_t len, struct detect_hit *hit);

/* Percent-decodes src (and '+' as a space when form) into dst (at least
 * len bytes); returns the decoded length. Malformed escapes stay as
 * they are. */
size_t detect_url_decode(const char *src, size_t len, char *dst, bool form);

#endif
