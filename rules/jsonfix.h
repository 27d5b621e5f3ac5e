/* JSON that cJSON refuses but the function's runtime reads: Python's
 * json.loads takes NaN, Infinity and -Infinity as values, and Python's
 * and Node's parsers take a \u escape of a lone UTF-16 surrogate
 * ("\ud800"). cJSON refuses the whole document for either, so one such
 * value would turn an event into text, and an attack in any other field
 * would be judged only as part of that text. Pure. */
#ifndef FNG_JSONFIX_H
#define FNG_JSONFIX_H

#include <stddef.h>

/* A copy of the JSON text s that cJSON reads as those runtimes read s:
 * NaN, Infinity and -Infinity outside strings become 0, a lone surrogate
 * escape becomes \ufffd (a surrogate pair stays). NULL when s holds
 * neither (nothing to repair) or without memory. */
char *jfix_relaxed(const char *s, size_t len, size_t *out_len);

#endif
