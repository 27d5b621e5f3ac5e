/* A string as the JSON encoders that write a function's response escape
 * it. A secret returned in a response is serialised by the runtime, so a
 * password with a quote or a backslash, or a token with non-ASCII
 * letters, is not in the body as its bytes: Python's json.dumps writes
 * "\u00e9" and "\\", Go writes "\u0026" for '&', .NET "\u002B" for '+',
 * PHP "\/" for '/'. The log's redaction looks for each of these forms.
 * Pure. */
#ifndef FNG_JSONESC_H
#define FNG_JSONESC_H

#include <stddef.h>

#include "util.h"

enum jesc_style {
	JESC_MINIMAL,     /* Node, Java, Python ensure_ascii=False: '"' '\' controls */
	JESC_ASCII,       /* Python's json.dumps: also non-ASCII as \uXXXX (UTF-16) */
	JESC_ASCII_SLASH, /* PHP's json_encode: also '/' as "\/" */
	JESC_SLASH,       /* escaped slashes, UTF-8 kept */
	JESC_GO,          /* Go's encoding/json: also < > & as \u003c \u003e \u0026 */
	JESC_DOTNET,      /* .NET's System.Text.Json: non-ASCII and " & ' + < > ` as \u00XX */
	JESC_N_STYLES,
};

/* Appends s (len bytes) escaped in style to out, without quotes. -EILSEQ
 * when the style needs UTF-16 and s is not UTF-8 (nothing appended). */
int jesc_append(struct util_sb *out, const char *s, size_t len, enum jesc_style style);

#endif
