#include "jsonesc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* The code point of the UTF-8 sequence at s (len bytes left), its length
 * in *n; -1 for a malformed one. */
static long utf8_at(const unsigned char *s, size_t len, size_t *n)
{
	unsigned char c = s[0];
	size_t need = c < 0xc2 ? 0 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 0;
	long v = need == 2 ? c & 0x1f : need == 3 ? c & 0x0f : c & 0x07;

	if (!need || need > len)
		return -1;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		v = v << 6 | (s[i] & 0x3f);
	}
	/* overlong, surrogates, past U+10FFFF */
	if ((need == 3 && v < 0x800) || (need == 4 && (v < 0x10000 || v > 0x10ffff)) ||
	    (v >= 0xd800 && v <= 0xdfff))
		return -1;
	*n = need;
	return v;
}

static void put_u(struct util_sb *out, unsigned v)
{
	char b[8];
	snprintf(b, sizeof b, "\\u%04x", v & 0xffff);
	util_sb_put(out, b, 6);
}

int jesc_append(struct util_sb *out, const char *s, size_t len, enum jesc_style style)
{
	const unsigned char *p = (const unsigned char *)s;
	bool ascii = style == JESC_ASCII || style == JESC_ASCII_SLASH || style == JESC_DOTNET;

	/* Checked whole first: nothing is appended for what cannot be
	 * written in the style. */
	for (size_t i = 0, n; ascii && i < len; i += n) {
		n = 1;
		if (p[i] >= 0x80 && utf8_at(p + i, len - i, &n) < 0)
			return -EILSEQ;
	}
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		if (c >= 0x80) {
			size_t n = 1;
			long v = ascii ? utf8_at(p + i, len - i, &n) : -1;
			if (v < 0) {
				util_sb_put(out, p + i, 1);
			} else if (v >= 0x10000) {
				put_u(out, 0xd800 + (unsigned)((v - 0x10000) >> 10));
				put_u(out, 0xdc00 + (unsigned)((v - 0x10000) & 0x3ff));
			} else {
				put_u(out, (unsigned)v);
			}
			i += n;
			continue;
		}
		i++;
		if (style == JESC_DOTNET && (c == '"' || c == '&' || c == '\'' || c == '+' ||
					     c == '<' || c == '>' || c == '`')) {
			put_u(out, c);
		} else if (style == JESC_GO && (c == '<' || c == '>' || c == '&')) {
			put_u(out, c);
		} else if (c == '"' || c == '\\') {
			util_sb_putc(out, '\\');
			util_sb_putc(out, (char)c);
		} else if (c == '/' && (style == JESC_SLASH || style == JESC_ASCII_SLASH)) {
			util_sb_puts(out, "\\/");
		} else if (c < 0x20) {
			static const char short_form[0x20] = {
				['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'
			};
			if (short_form[c]) {
				util_sb_putc(out, '\\');
				util_sb_putc(out, short_form[c]);
			} else {
				put_u(out, c);
			}
		} else {
			util_sb_putc(out, (char)c);
		}
	}
	return 0;
}
