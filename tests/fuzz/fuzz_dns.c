/* libFuzzer target for the DNS wire format. Every input is read as a
 * workload's query (and, when accepted, answered with each error RCODE,
 * which must read back as an answer to it), as an upstream answer to
 * fixed A, AAAA and TXT queries for foo.example, and split at its first
 * byte into a query and an answer to that query. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_answer(int r, const struct dns_answer *a, const char *err)
{
	if (r != 0) {
		/* failure says why and hands back nothing */
		if (err[0] == '\0' || a->addrs || a->n_addrs || a->cnames || a->n_cnames)
			abort();
		return;
	}
	if (a->n_cnames > 16 || (a->truncated && (a->n_addrs || a->n_cnames)))
		abort();
	for (size_t i = 0; i < a->n_addrs; i++)
		if (a->addrs[i].family != AF_INET && a->addrs[i].family != AF_INET6)
			abort();
	for (size_t i = 0; i < a->n_cnames; i++)
		for (const char *s = a->cnames[i]; *s; s++)
			if (isupper((unsigned char)*s))
				abort();
}

/* Presentation form back to wire labels, escapes "\\c" and "\\DDD"
 * included (c-ares 1.18's ares_create_query() knows only the first). */
static size_t encode_name(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0, lab = 0;

	if (*s == '\0') {
		out[0] = 0;
		return 1;
	}
	out[n++] = 0;
	for (; *s; s++) {
		int c = (unsigned char)*s;

		if (n + 2 >= max)
			abort();
		if (c == '.') {
			out[lab] = (uint8_t)(n - lab - 1);
			lab = n;
			out[n++] = 0;
			continue;
		}
		if (c == '\\' && isdigit((unsigned char)s[1])) {
			if (!isdigit((unsigned char)s[2]) || !isdigit((unsigned char)s[3]))
				abort();
			c = (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
			s += 3;
		} else if (c == '\\') {
			c = (unsigned char)*++s;
		}
		out[n++] = (uint8_t)c;
	}
	out[lab] = (uint8_t)(n - lab - 1);
	out[n++] = 0;
	return n;
}

/* The name must say exactly what the wire said, up to case. */
static void check_name(const uint8_t *data, size_t size, const struct dns_query *q)
{
	uint8_t wire[1024];
	size_t n = encode_name(q->name, wire, sizeof(wire));

	if (12 + n > size)
		abort();
	for (size_t i = 0; i < n; i++)
		if (tolower(wire[i]) != tolower(data[12 + i]))
			abort();
}

static void fuzz_answer(const uint8_t *data, size_t size, const struct dns_query *q)
{
	struct dns_answer a = { 0 };
	char err[128] = "";
	int r = dns_parse_answer(data, size, q, &a, err, sizeof(err));

	check_answer(r, &a, err);
	dns_answer_clear(&a);
}

static void fuzz_query(const uint8_t *data, size_t size, struct dns_query *q, int *r)
{
	static const int rcodes[] = { 2, 3, 5 };
	struct dns_answer a = { 0 };
	char err[128] = "";
	uint8_t *out;
	size_t outlen;
	size_t n;

	*r = dns_parse_query(data, size, q, err, sizeof(err));
	if (*r != 0) {
		if (err[0] == '\0')
			abort();
		if (dns_build_error(data, size, 3, &out, &outlen) != *r)
			abort();
		return;
	}
	n = strnlen(q->name, sizeof(q->name));
	if (n == sizeof(q->name))
		abort();
	for (size_t i = 0; i < n; i++)
		if (isupper((unsigned char)q->name[i]))
			abort();
	check_name(data, size, q);
	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++) {
		if (dns_build_error(data, size, rcodes[i], &out, &outlen) != 0)
			abort();
		if (dns_parse_answer(out, outlen, q, &a, err, sizeof(err)) != 0 ||
		    a.rcode != rcodes[i] || a.n_addrs || a.n_cnames)
			abort();
		dns_answer_clear(&a);
		free(out);
	}
	(void)dns_type_name(q->qtype);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t qtypes[] = { 1, 28, 16 };
	struct dns_query q = { 0x1234, "foo.example", 1, 1 };
	int r;

	fuzz_query(data, size, &q, &r);
	for (size_t i = 0; i < sizeof(qtypes) / sizeof(qtypes[0]); i++) {
		struct dns_query fixed = { 0x1234, "foo.example", qtypes[i], 1 };

		fuzz_answer(data, size, &fixed);
	}
	/* [n][query of n bytes][answer] */
	if (size > 0 && (size_t)data[0] + 1 <= size) {
		fuzz_query(data + 1, data[0], &q, &r);
		if (r == 0)
			fuzz_answer(data + 1 + data[0], size - 1 - data[0], &q);
	}
	return 0;
}
