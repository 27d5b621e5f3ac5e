#include "b64.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* value + 1 of each byte of the alphabet; 0: not in it */
static signed char val[256];
/* The values already shifted to their place in a quad's 24 bits, one
 * table per place; BAD marks a byte outside the alphabet. */
#define BAD (1u << 31)
static uint32_t at[4][256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Built once; any thread (the pre-launch scan's, the loop) may ask. */
static void index_alphabet(void)
{
	for (int k = 0; k < 4; k++)
		for (int c = 0; c < 256; c++)
			at[k][c] = BAD;
	for (uint32_t v = 0; v < 64; v++) {
		unsigned char c = (unsigned char)alphabet[v];
		val[c] = (signed char)(v + 1);
		for (int k = 0; k < 4; k++)
			at[k][c] = v << (18 - 6 * k);
	}
}

ssize_t b64_plain(const char *s, size_t len, unsigned char *out)
{
	size_t pad = len >= 1 && s[len - 1] == '=' ? (len >= 2 && s[len - 2] == '=' ? 2 : 1) : 0;
	size_t o = 0;

	if (len % 4 || len == 0)
		return len ? -1 : 0;
	pthread_once(&once, index_alphabet);
	/* Every quad but the last (no padding there): four lookups, one
	 * branch (nettle decodes a character per call, a sixth of an API
	 * Gateway event's inspection once). */
	for (size_t i = 0; i + 4 < len; i += 4) {
		const unsigned char *q = (const unsigned char *)s + i;
		uint32_t v = at[0][q[0]] | at[1][q[1]] | at[2][q[2]] | at[3][q[3]];
		if (v & BAD)
			return -1;
		out[o++] = (unsigned char)(v >> 16);
		out[o++] = (unsigned char)(v >> 8);
		out[o++] = (unsigned char)v;
	}
	const unsigned char *q = (const unsigned char *)s + len - 4;
	int a = val[q[0]] - 1, b = val[q[1]] - 1;
	int c = pad == 2 ? 0 : val[q[2]] - 1;
	int d = pad ? 0 : val[q[3]] - 1;
	if ((a | b | c | d) < 0)
		return -1;
	uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
	out[o++] = (unsigned char)(v >> 16);
	out[o++] = (unsigned char)(v >> 8);
	out[o++] = (unsigned char)v;
	return (ssize_t)(o - pad);
}

/* The byte-at-a-time decoding both lenient decoders share: each value
 * completes what it can at once, as Node's and CPython's loops do. */
struct quad {
	unsigned pos, left;
	size_t o;
};

static void quad_add(struct quad *q, unsigned char *out, unsigned v)
{
	switch (q->pos) {
	case 0:
		q->left = v;
		break;
	case 1:
		out[q->o++] = (unsigned char)(q->left << 2 | v >> 4);
		q->left = v & 0x0f;
		break;
	case 2:
		out[q->o++] = (unsigned char)(q->left << 4 | v >> 2);
		q->left = v & 0x03;
		break;
	default:
		out[q->o++] = (unsigned char)(q->left << 6 | v);
		break;
	}
	q->pos = (q->pos + 1) & 3;
}

size_t b64_node(const char *s, size_t len, unsigned char *out)
{
	struct quad q = { 0 };

	pthread_once(&once, index_alphabet);
	for (size_t i = 0; i < len && s[i] != '='; i++) {
		/* Node reads the URL-safe alphabet's '-' and '_' too. */
		int v = s[i] == '-' ? 62 : s[i] == '_' ? 63 : val[(unsigned char)s[i]] - 1;
		if (v >= 0)
			quad_add(&q, out, (unsigned)v);
	}
	return q.o;
}

ssize_t b64_python(const char *s, size_t len, unsigned char *out)
{
	struct quad q = { 0 };
	unsigned pads = 0;

	pthread_once(&once, index_alphabet);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '=') {
			/* CPython: "a pad sequence means we should not parse
			 * more input", once it completes a quad. */
			if (q.pos >= 2 && q.pos + ++pads >= 4)
				return (ssize_t)q.o;
			continue;
		}
		int v = val[(unsigned char)s[i]] - 1;
		if (v < 0)
			continue;
		pads = 0;
		quad_add(&q, out, (unsigned)v);
	}
	return q.pos ? -1 : (ssize_t)q.o;
}
