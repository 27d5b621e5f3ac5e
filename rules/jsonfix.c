#include "jsonfix.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The code unit of the \uXXXX escape at s[i] (s[i] is the backslash), or
 * -1 when there is none. */
static long unit_at(const char *s, size_t len, size_t i)
{
	if (i + 6 > len || s[i] != '\\' || s[i + 1] != 'u')
		return -1;
	long v = 0;
	for (size_t k = 2; k < 6; k++) {
		int h = util_hexval(s[i + k]);
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

static bool word_at(const char *s, size_t len, size_t i, const char *w)
{
	size_t n = strlen(w);
	return i + n <= len && memcmp(s + i, w, n) == 0;
}

char *jfix_relaxed(const char *s, size_t len, size_t *out_len)
{
	/* Each change shortens what it replaces ("\ud800" -> "\ufffd" keeps
	 * its length; "NaN" -> "0"). */
	char *out = malloc(len + 1);
	size_t o = 0;
	bool in_str = false, changed = false;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len;) {
		char c = s[i];
		if (in_str) {
			if (c == '"') {
				in_str = false;
			} else if (c == '\\') {
				long u = unit_at(s, len, i);
				if (u >= 0xd800 && u <= 0xdbff) {
					long lo = unit_at(s, len, i + 6);
					if (lo >= 0xdc00 && lo <= 0xdfff) { /* a pair */
						memcpy(out + o, s + i, 12);
						o += 12, i += 12;
						continue;
					}
				}
				if (u >= 0xd800 && u <= 0xdfff) {
					memcpy(out + o, "\\ufffd", 6);
					o += 6, i += 6;
					changed = true;
					continue;
				}
				if (i + 1 < len) { /* any other escape, copied whole */
					out[o++] = s[i++];
					out[o++] = s[i++];
					continue;
				}
			}
			out[o++] = s[i++];
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (word_at(s, len, i, "NaN") || word_at(s, len, i, "Infinity") ||
			   word_at(s, len, i, "-Infinity")) {
			i += s[i] == 'N' ? 3 : s[i] == 'I' ? 8 : 9;
			out[o++] = '0';
			changed = true;
			continue;
		}
		out[o++] = s[i++];
	}
	if (!changed) {
		free(out);
		return NULL;
	}
	out[o] = 0;
	*out_len = o;
	return out;
}
