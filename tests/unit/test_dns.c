/* DNS wire format: queries as glibc, node (c-ares) and dig send them,
 * refusals built from them, and upstream answers with CNAME chains,
 * compression, loops and truncation. Answers are built by a small
 * encoder that compresses names the way servers do. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ares.h>

#include "cleanup.h"
#include "dns.h"
#include "unit.h"

/* A byte string and its length, NULs included. */
#define P(s) s, sizeof(s) - 1

/* Header of a recursive query with id 0x1234 and n additional records. */
#define QHDR(ar) "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00" ar
#define EXAMPLE       \
	"\x07"        \
	"example\x03" \
	"com\x00"
#define QA "\x00\x01\x00\x01"
/* glibc's OPT record ("options edns0"): root owner, UDP size 1200. */
#define OPT_GLIBC "\x00\x00\x29\x04\xb0\x00\x00\x00\x00\x00\x00"

UNIT_SUITE(dns_query)
{
	static const struct {
		const char *desc;
		const char *pkt;
		size_t len;
		int want;
		const char *name;
		uint16_t qtype;
	} cases[] = {
		{ "plain A", P(QHDR("\x00") EXAMPLE QA), 0, "example.com", 1 },
		/* captured from glibc 2.36 getaddrinfo(), then with edns0 */
		{ "glibc 2.36 AAAA",
		  P("\x3b\x46\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03"
		    "Api\x07"
		    "Example\x03"
		    "com\x00\x00\x1c\x00\x01"),
		  0, "api.example.com", 28 },
		{ "glibc 2.36 edns0 A",
		  P("\xdb\x37\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01\x05"
		    "glibc\x07"
		    "example\x03"
		    "com\x00\x00\x01\x00\x01\x00\x00\x29\x04\xb0\x00\x00\x00\x00\x00\x00"),
		  0, "glibc.example.com", 1 },
		{ "glibc A with EDNS", P(QHDR("\x01") EXAMPLE QA OPT_GLIBC), 0, "example.com", 1 },
		{ "glibc AAAA with EDNS", P(QHDR("\x01") EXAMPLE "\x00\x1c\x00\x01" OPT_GLIBC), 0,
		  "example.com", 28 },
		/* dig: OPT for 1232 bytes with a client cookie option */
		{ "dig with cookie",
		  P(QHDR("\x01") EXAMPLE QA "\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x0c"
					    "\x00\x0a\x00\x08\x01\x02\x03\x04\x05\x06\x07\x08"),
		  0, "example.com", 1 },
		{ "mixed case (0x20)",
		  P(QHDR("\x00") "\x07"
				 "ExAmPLe\x03"
				 "cOM\x00" QA),
		  0, "example.com", 1 },
		{ "root NS", P(QHDR("\x00") "\x00\x00\x02\x00\x01"), 0, "", 2 },
		{ "escaped label",
		  P(QHDR("\x00") "\x03"
				 "a.b\x03"
				 "com\x00" QA),
		  0, "a\\.b.com", 1 },
		{ "binary label",
		  P(QHDR("\x00") "\x02\x01"
				 "A\x00"
				 "\x00\x10\x00\x01"),
		  0, "\\001a", 16 },
		/* c-ares 1.18 renders a one-NUL label as a raw NUL: this would
		 * read "allowed.com." and resolve under evil.com */
		{ "NUL label",
		  P(QHDR("\x00") "\x07"
				 "allowed\x03"
				 "com\x01\x00\x04"
				 "evil\x03"
				 "com\x00" QA),
		  -EBADMSG },
		{ "NUL label alone", P(QHDR("\x00") "\x01\x00\x00" QA), -EBADMSG },
		{ "NUL in a longer label",
		  P(QHDR("\x00") "\x02\x00"
				 "a\x03"
				 "com\x00" QA),
		  0, "\\000a.com", 1 },
		{ "space in a label",
		  P(QHDR("\x00") "\x03"
				 "a b\x00" QA),
		  0, "a b", 1 },
		{ "response", P("\x12\x34\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00" EXAMPLE QA),
		  -EBADMSG },
		{ "opcode STATUS", P("\x12\x34\x11\x00\x00\x01\x00\x00\x00\x00\x00\x00" EXAMPLE QA),
		  -EBADMSG },
		{ "opcode UPDATE", P("\x12\x34\x29\x00\x00\x01\x00\x00\x00\x00\x00\x00" EXAMPLE QA),
		  -EBADMSG },
		{ "no question", P("\x12\x34\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"), -EBADMSG },
		{ "two questions",
		  P("\x12\x34\x01\x00\x00\x02\x00\x00\x00\x00\x00\x00" EXAMPLE QA EXAMPLE QA),
		  -EBADMSG },
		{ "answer in query",
		  P("\x12\x34\x01\x00\x00\x01\x00\x01\x00\x00\x00\x00" EXAMPLE QA
		    "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x01\x02\x03\x04"),
		  -EBADMSG },
		{ "two additional", P(QHDR("\x02") EXAMPLE QA OPT_GLIBC OPT_GLIBC), -EBADMSG },
		{ "additional not OPT",
		  P(QHDR("\x01") EXAMPLE QA "\xc0\x0c" QA "\x00\x00\x00\x3c\x00\x00"), -EBADMSG },
		{ "OPT not at root",
		  P(QHDR("\x01") EXAMPLE QA "\x01x\x00\x00\x29\x04\xb0\x00\x00\x00\x00\x00\x00"),
		  -EBADMSG },
		{ "OPT rdata past end",
		  P(QHDR("\x01") EXAMPLE QA "\x00\x00\x29\x04\xb0\x00\x00\x00\x00\x00\x08\x00\x0a"),
		  -EBADMSG },
		{ "OPT missing", P(QHDR("\x01") EXAMPLE QA), -EBADMSG },
		{ "trailing byte", P(QHDR("\x00") EXAMPLE QA "\x00"), -EBADMSG },
		{ "trailing after OPT", P(QHDR("\x01") EXAMPLE QA OPT_GLIBC "x"), -EBADMSG },
		{ "self pointer", P(QHDR("\x00") "\xc0\x0c" QA), -EBADMSG },
		{ "pointer into header", P(QHDR("\x00") "\x03www\xc0\x02" QA), -EBADMSG },
		{ "pointer past end", P(QHDR("\x00") "\x03www\xc0\xff" QA), -EBADMSG },
		{ "label type 01", P(QHDR("\x00") "\x41www\x00" QA), -EBADMSG },
		{ "name unterminated", P(QHDR("\x00") "\x03www"), -EBADMSG },
		{ "no qclass", P(QHDR("\x00") EXAMPLE "\x00\x01"), -EBADMSG },
	};
	const uint8_t *glibc = (const uint8_t *)cases[2].pkt; /* glibc 2.36 edns0 A */
	size_t glibc_len = cases[2].len;
	struct dns_query q;
	char err[128];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(&q, 0xaa, sizeof(q));
		err[0] = '\0';
		int r = dns_parse_query((const uint8_t *)cases[i].pkt, cases[i].len, &q, err,
					sizeof(err));
		CHECK_MSG(r == cases[i].want, cases[i].desc);
		if (r == 0) {
			CHECK_STR(q.name, cases[i].name);
			CHECK_MSG(q.qtype == cases[i].qtype && q.qclass == 1, cases[i].desc);
			CHECK_MSG(
				q.id == ((uint8_t)cases[i].pkt[0] << 8 | (uint8_t)cases[i].pkt[1]),
				cases[i].desc);
		} else {
			/* a refusal says why and leaves q untouched */
			CHECK_MSG(err[0] != '\0', cases[i].desc);
			CHECK_MSG(q.id == 0xaaaa && (uint8_t)q.name[0] == 0xaa, cases[i].desc);
		}
	}

	/* Every proper prefix of an accepted query is refused. */
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (cases[i].want != 0)
			continue;
		for (size_t n = 0; n < cases[i].len; n++)
			CHECK_MSG(dns_parse_query((const uint8_t *)cases[i].pkt, n, &q, NULL, 0) ==
					  -EBADMSG,
				  cases[i].desc);
	}

	CHECK(dns_parse_query(NULL, 0, &q, err, sizeof(err)) == -EINVAL);
	CHECK(dns_parse_query(glibc, glibc_len, NULL, err, sizeof(err)) == -EINVAL);
	/* a reason always fits the caller's buffer */
	CHECK(dns_parse_query(glibc, glibc_len - 1, &q, err, 4) == -EBADMSG && strlen(err) == 3);
}

UNIT_SUITE(dns_query_limits)
{
	uint8_t pkt[600];
	struct dns_query q;
	char err[128];
	size_t n = 0;

	/* 63-byte labels: four make 257 wire bytes, one over RFC 1035's 255. */
	memcpy(pkt, "\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
	n = 12;
	for (int l = 0; l < 4; l++) {
		pkt[n++] = 63;
		memset(pkt + n, 'a' + l, 63);
		n += 63;
	}
	pkt[n++] = 0;
	memcpy(pkt + n, QA, 4);
	CHECK(dns_parse_query(pkt, n + 4, &q, err, sizeof(err)) == -EBADMSG);
	CHECK_STR(err, "question name too long");

	/* Three labels of 63 and one of 61: 255 bytes, 253 characters. */
	pkt[12 + 3 * 64] = 61;
	memmove(pkt + 12 + 3 * 64 + 62, pkt + 12 + 4 * 64, 5);
	n = 12 + 3 * 64 + 62 + 5;
	CHECK(dns_parse_query(pkt, n, &q, err, sizeof(err)) == 0);
	CHECK(strlen(q.name) == 253);

	/* Escapes make a legal wire name longer than DNS_NAME_MAX. */
	n = 12;
	for (int l = 0; l < 4; l++) {
		pkt[n++] = 60;
		memset(pkt + n, 1, 60);
		n += 60;
	}
	pkt[n++] = 0;
	memcpy(pkt + n, QA, 4);
	CHECK(dns_parse_query(pkt, n + 4, &q, err, sizeof(err)) == -EBADMSG);

	/* node's dns.resolve() goes through c-ares, which sends EDNS too. */
	unsigned char *buf = NULL;
	int buflen = 0;
	CHECK(ares_create_query("Api.Example.COM.", 1, 28, 0xbeef, 1, &buf, &buflen, 1232) ==
	      ARES_SUCCESS);
	CHECK(dns_parse_query(buf, (size_t)buflen, &q, err, sizeof(err)) == 0);
	CHECK_STR(q.name, "api.example.com");
	CHECK(q.id == 0xbeef && q.qtype == 28);
	ares_free_string(buf);
}

UNIT_SUITE(dns_error_reply)
{
	/* glibc query with RD, AD and CD set, EDNS */
	static const uint8_t query[] =
		"\xab\xcd\x01\x30\x00\x01\x00\x00\x00\x00\x00\x01" EXAMPLE QA OPT_GLIBC;
	static const uint8_t want[] = "\xab\xcd\x81\x93\x00\x01\x00\x00\x00\x00\x00\x00" EXAMPLE QA;
	struct dns_answer a = { 0 };
	struct dns_query q;
	uint8_t *out = NULL;
	size_t outlen = 0;

	CHECK(dns_build_error(query, sizeof(query) - 1, 3, &out, &outlen) == 0);
	CHECK(outlen == sizeof(want) - 1 && memcmp(out, want, outlen) == 0);
	/* the refusal is an answer the client takes for its question */
	CHECK(dns_parse_query(query, sizeof(query) - 1, &q, NULL, 0) == 0);
	CHECK(dns_parse_answer(out, outlen, &q, &a, NULL, 0) == 0);
	CHECK(a.rcode == 3 && !a.truncated && a.n_addrs == 0 && a.n_cnames == 0);
	dns_answer_clear(&a);
	free(out);

	/* RD clear stays clear; REFUSED */
	static const uint8_t norec[] = QHDR("\x00") EXAMPLE QA;
	uint8_t q2[sizeof(norec)];
	memcpy(q2, norec, sizeof(norec));
	q2[2] = 0x00;
	CHECK(dns_build_error(q2, sizeof(q2) - 1, 5, &out, &outlen) == 0);
	CHECK(outlen == sizeof(q2) - 1 && out[2] == 0x80 && out[3] == 0x85);
	free(out);

	out = NULL;
	CHECK(dns_build_error(query, sizeof(query) - 1, 16, &out, &outlen) == -EINVAL);
	CHECK(dns_build_error(query, sizeof(query) - 1, -1, &out, &outlen) == -EINVAL);
	CHECK(dns_build_error(query, sizeof(query) - 2, 3, &out, &outlen) == -EBADMSG);
	CHECK(dns_build_error(want, sizeof(want) - 1, 3, &out, &outlen) == -EBADMSG);
	CHECK(out == NULL);
}

/* A small encoder for answers: names are compressed against every name
 * (and suffix) written before, as servers do. */
struct pb {
	uint8_t b[4096];
	size_t n;
	struct {
		const char *name;
		size_t off;
	} dict[128];
	size_t nd;
};

static void pb_u8(struct pb *p, unsigned v)
{
	p->b[p->n++] = (uint8_t)v;
}

static void pb_u16(struct pb *p, unsigned v)
{
	pb_u8(p, v >> 8);
	pb_u8(p, v & 0xff);
}

static void pb_u32(struct pb *p, uint32_t v)
{
	pb_u16(p, v >> 16);
	pb_u16(p, v & 0xffff);
}

static void pb_name(struct pb *p, const char *s)
{
	while (*s) {
		for (size_t i = 0; i < p->nd; i++) {
			if (strcasecmp(p->dict[i].name, s) == 0) {
				pb_u16(p, 0xc000 | (unsigned)p->dict[i].off);
				return;
			}
		}
		if (p->nd < ARRAY_SIZE(p->dict)) {
			p->dict[p->nd].name = s;
			p->dict[p->nd++].off = p->n;
		}
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		pb_u8(p, (unsigned)l);
		memcpy(p->b + p->n, s, l);
		p->n += l;
		s += l + (dot != NULL);
	}
	pb_u8(p, 0);
}

struct rr_spec {
	const char *owner;
	uint16_t type;
	uint32_t ttl;
	const char *data; /* address, CNAME target, TXT text */
	uint16_t class;   /* 0: IN */
};

static void pb_rr(struct pb *p, const struct rr_spec *r)
{
	size_t rdlen_at;

	pb_name(p, r->owner);
	pb_u16(p, r->type);
	pb_u16(p, r->class ? r->class : 1);
	pb_u32(p, r->ttl);
	rdlen_at = p->n;
	pb_u16(p, 0);
	switch (r->type) {
	case 1:
		inet_pton(AF_INET, r->data, p->b + p->n);
		p->n += 4;
		break;
	case 28:
		inet_pton(AF_INET6, r->data, p->b + p->n);
		p->n += 16;
		break;
	case 5:
		pb_name(p, r->data);
		break;
	case 6: /* SOA: mname, rname and five counters */
		pb_name(p, "ns.example");
		pb_name(p, "admin.example");
		for (int i = 0; i < 5; i++)
			pb_u32(p, 60);
		break;
	case 16:
		pb_u8(p, (unsigned)strlen(r->data));
		memcpy(p->b + p->n, r->data, strlen(r->data));
		p->n += strlen(r->data);
		break;
	}
	p->b[rdlen_at] = (uint8_t)((p->n - rdlen_at - 2) >> 8);
	p->b[rdlen_at + 1] = (uint8_t)(p->n - rdlen_at - 2);
}

#define NRR 8

struct ans_case {
	const char *desc;
	uint16_t qtype;    /* 0: A */
	uint16_t flags;    /* 0: 0x8180 (response, RD, RA) */
	uint16_t id;       /* 0: the query's */
	const char *qname; /* question as echoed; NULL: the query's */
	uint16_t qtype_echo, qclass_echo;
	struct rr_spec an[NRR], ns[2], ar[2];
	int want;
	int rcode;
	bool tc;
	const char *addrs;  /* "addr/ttl ..." */
	const char *cnames; /* "name ..." */
};

static size_t count_rr(const struct rr_spec *v, size_t max)
{
	size_t n = 0;

	while (n < max && v[n].owner)
		n++;
	return n;
}

static void build_answer(struct pb *p, const struct ans_case *c, const struct dns_query *q)
{
	size_t an = count_rr(c->an, NRR), ns = count_rr(c->ns, 2), ar = count_rr(c->ar, 2);

	memset(p, 0, sizeof(*p));
	pb_u16(p, c->id ? c->id : q->id);
	pb_u16(p, c->flags ? c->flags : 0x8180);
	pb_u16(p, 1);
	pb_u16(p, (unsigned)an);
	pb_u16(p, (unsigned)ns);
	pb_u16(p, (unsigned)ar);
	pb_name(p, c->qname ? c->qname : q->name);
	pb_u16(p, c->qtype_echo ? c->qtype_echo : q->qtype);
	pb_u16(p, c->qclass_echo ? c->qclass_echo : q->qclass);
	for (size_t i = 0; i < an; i++)
		pb_rr(p, &c->an[i]);
	for (size_t i = 0; i < ns; i++)
		pb_rr(p, &c->ns[i]);
	for (size_t i = 0; i < ar; i++)
		pb_rr(p, &c->ar[i]);
}

static void answer_str(const struct dns_answer *a, char *addrs, char *cnames, size_t size)
{
	char ip[INET6_ADDRSTRLEN];
	size_t n = 0;

	addrs[0] = cnames[0] = '\0';
	for (size_t i = 0; i < a->n_addrs; i++) {
		inet_ntop(a->addrs[i].family, a->addrs[i].addr, ip, sizeof(ip));
		n += (size_t)snprintf(addrs + n, size - n, "%s%s/%u", i ? " " : "", ip,
				      a->addrs[i].ttl);
	}
	n = 0;
	for (size_t i = 0; i < a->n_cnames; i++)
		n += (size_t)snprintf(cnames + n, size - n, "%s%s", i ? " " : "", a->cnames[i]);
}

#define FOO "foo.example"
#define BAR "bar.example"
#define BAZ "baz.example"
#define OPT "" /* owner of an OPT record */

static const struct ans_case answer_cases[] = {
	{ "one address", .an = { { FOO, 1, 300, "192.0.2.1" } }, .addrs = "192.0.2.1/300" },
	{ "two addresses", .an = { { FOO, 1, 300, "192.0.2.1" }, { FOO, 1, 300, "192.0.2.2" } },
	  .addrs = "192.0.2.1/300 192.0.2.2/300" },
	{ "owner in other case", .an = { { "FOO.Example", 1, 60, "192.0.2.1" } },
	  .addrs = "192.0.2.1/60" },
	{ "question echoed in other case", .qname = "fOO.EXAMPLE",
	  .an = { { FOO, 1, 60, "192.0.2.1" } }, .addrs = "192.0.2.1/60" },
	{ "CNAME chain, TTL the smallest on the way",
	  .an = { { FOO, 5, 300, BAR }, { BAR, 5, 100, BAZ }, { BAZ, 1, 200, "192.0.2.7" } },
	  .addrs = "192.0.2.7/100", .cnames = BAR " " BAZ },
	{ "CNAME chain, address TTL the smallest",
	  .an = { { FOO, 5, 300, BAR }, { BAR, 1, 30, "192.0.2.7" } }, .addrs = "192.0.2.7/30",
	  .cnames = BAR },
	{ "CNAME chain out of order",
	  .an = { { BAZ, 1, 200, "192.0.2.7" }, { BAR, 5, 100, BAZ }, { FOO, 5, 300, BAR } },
	  .addrs = "192.0.2.7/100", .cnames = BAR " " BAZ },
	/* c-ares 1.18.1 answers 6.6.6.6 here and drops 192.0.2.1 */
	{ "CNAME of another owner is not followed",
	  .an = { { "evil.test", 5, 5, "x.test" },
		  { "x.test", 1, 200, "6.6.6.6" },
		  { FOO, 1, 50, "192.0.2.1" } },
	  .addrs = "192.0.2.1/50" },
	{ "address of another owner ignored",
	  .an = { { FOO, 1, 50, "192.0.2.1" }, { "evil.test", 1, 50, "6.6.6.6" } },
	  .addrs = "192.0.2.1/50" },
	{ "CNAME to a name without address (NODATA)", .an = { { FOO, 5, 300, BAR } },
	  .cnames = BAR },
	{ "CNAME loop",
	  .an = { { FOO, 5, 300, BAR }, { BAR, 5, 300, FOO }, { FOO, 1, 1, "192.0.2.1" } },
	  .want = -EBADMSG },
	{ "CNAME to itself", .an = { { FOO, 5, 300, FOO } }, .want = -EBADMSG },
	{ "CNAME loop not through the question",
	  .an = { { FOO, 5, 300, BAR }, { BAR, 5, 300, BAZ }, { BAZ, 5, 300, BAR } },
	  .want = -EBADMSG },
	{ "two CNAMEs for one name", .an = { { FOO, 5, 300, BAR }, { FOO, 5, 300, BAZ } },
	  .want = -EBADMSG },
	{ "duplicate CNAME", .an = { { FOO, 5, 300, BAR }, { FOO, 5, 300, BAR } }, .cnames = BAR },
	{ "TTL with the top bit set is zero",
	  .an = { { FOO, 1, 0x80000001u, "192.0.2.1" }, { FOO, 1, 0x7fffffffu, "192.0.2.2" } },
	  .addrs = "192.0.2.1/0 192.0.2.2/2147483647" },
	{ "AAAA", .qtype = 28,
	  .an = { { FOO, 5, 60, BAR },
		  { BAR, 28, 120, "2001:db8::1" },
		  { BAR, 1, 9, "192.0.2.9" } },
	  .addrs = "2001:db8::1/60", .cnames = BAR },
	{ "A records in an AAAA answer ignored", .qtype = 28,
	  .an = { { FOO, 1, 9, "192.0.2.9" } } },
	{ "AAAA records in an A answer ignored",
	  .an = { { FOO, 28, 9, "2001:db8::9" }, { FOO, 1, 9, "192.0.2.9" } },
	  .addrs = "192.0.2.9/9" },
	{ "class CH records ignored",
	  .an = { { FOO, 1, 9, "192.0.2.9", 3 }, { FOO, 5, 9, BAR, 3 } } },
	{ "TXT: no addresses", .qtype = 16, .an = { { FOO, 16, 60, "v=spf1 -all" } } },
	{ "TXT through a CNAME", .qtype = 16,
	  .an = { { FOO, 5, 60, BAR }, { BAR, 16, 60, "hello" } }, .cnames = BAR },
	{ "empty answer (NODATA)", .ns = { { "example", 6, 60, NULL } } },
	{ "NXDOMAIN", .flags = 0x8183, .ns = { { "example", 6, 60, NULL } }, .rcode = 3 },
	{ "NXDOMAIN at the end of a chain", .flags = 0x8183, .an = { { FOO, 5, 60, BAR } },
	  .rcode = 3, .cnames = BAR },
	{ "SERVFAIL: addresses not taken", .flags = 0x8182, .an = { { FOO, 1, 60, "192.0.2.1" } },
	  .rcode = 2 },
	{ "REFUSED", .flags = 0x8185, .rcode = 5 },
	{ "TC bit", .flags = 0x8380, .tc = true },
	{ "TC bit, records not read", .flags = 0x8380, .an = { { FOO, 1, 60, "192.0.2.1" } },
	  .tc = true },
	{ "EDNS", .an = { { FOO, 1, 60, "192.0.2.1" } }, .ar = { { OPT, 41, 0, NULL, 1232 } },
	  .addrs = "192.0.2.1/60" },
	{ "EDNS extended RCODE (BADVERS)", .ar = { { OPT, 41, 1u << 24, NULL, 1232 } },
	  .rcode = 16 },
	{ "two OPT records", .ar = { { OPT, 41, 0, NULL, 1232 }, { OPT, 41, 0, NULL, 1232 } },
	  .want = -EBADMSG },
	{ "glue in additional section", .an = { { FOO, 1, 60, "192.0.2.1" } },
	  .ar = { { "ns.example", 1, 60, "6.6.6.6" } }, .addrs = "192.0.2.1/60" },
	{ "wrong id", .id = 0x4321, .an = { { FOO, 1, 60, "192.0.2.1" } }, .want = -EBADMSG },
	{ "wrong question name", .qname = BAR, .an = { { BAR, 1, 60, "192.0.2.1" } },
	  .want = -EBADMSG },
	{ "wrong qtype", .qtype_echo = 28, .want = -EBADMSG },
	{ "wrong qclass", .qclass_echo = 3, .want = -EBADMSG },
	{ "not a response", .flags = 0x0100, .want = -EBADMSG },
	{ "opcode NOTIFY", .flags = 0xa180, .want = -EBADMSG },
};

UNIT_SUITE(dns_answer)
{
	struct dns_query q = { 0x1234, FOO, 1, 1 };
	static struct pb p;
	char addrs[512], cnames[512], err[128];
	struct dns_answer a = { 0 };

	for (size_t i = 0; i < ARRAY_SIZE(answer_cases); i++) {
		const struct ans_case *c = &answer_cases[i];

		q.qtype = c->qtype ? c->qtype : 1;
		build_answer(&p, c, &q);
		err[0] = '\0';
		int r = dns_parse_answer(p.b, p.n, &q, &a, err, sizeof(err));
		CHECK_MSG(r == c->want, c->desc);
		if (r != 0) {
			CHECK_MSG(err[0] != '\0', c->desc);
			CHECK_MSG(a.addrs == NULL && a.n_addrs == 0 && a.cnames == NULL, c->desc);
			continue;
		}
		answer_str(&a, addrs, cnames, sizeof(addrs));
		CHECK_MSG(a.rcode == c->rcode && a.truncated == c->tc, c->desc);
		CHECK_STR(addrs, c->addrs ? c->addrs : "");
		CHECK_STR(cnames, c->cnames ? c->cnames : "");
		dns_answer_clear(&a);
		CHECK(a.addrs == NULL && a.cnames == NULL);
	}
}

UNIT_SUITE(dns_answer_truncated)
{
	struct dns_query q = { 0x1234, FOO, 1, 1 };
	static struct pb p;
	struct dns_answer a = { 0 };
	char err[128];

	/* Every proper prefix of a compressed chain with EDNS is refused. */
	for (size_t i = 0; i < ARRAY_SIZE(answer_cases); i++) {
		const struct ans_case *c = &answer_cases[i];

		if (c->want != 0 || c->tc)
			continue;
		q.qtype = c->qtype ? c->qtype : 1;
		build_answer(&p, c, &q);
		for (size_t n = 0; n < p.n; n++) {
			int r = dns_parse_answer(p.b, n, &q, &a, err, sizeof(err));
			CHECK_MSG(r == -EBADMSG && a.n_addrs == 0, c->desc);
		}
		/* and a byte more is trailing garbage */
		p.b[p.n] = 0;
		CHECK_MSG(dns_parse_answer(p.b, p.n + 1, &q, &a, NULL, 0) == -EBADMSG, c->desc);
	}

	/* A truncated UDP answer may stop anywhere after the question. */
	q.qtype = 1;
	static const struct ans_case cut = { "TC", .flags = 0x8380,
					     .an = { { FOO, 1, 60, "192.0.2.1" },
						     { FOO, 1, 60, "192.0.2.2" } } };
	build_answer(&p, &cut, &q);
	for (size_t n = 29; n < p.n; n++) {
		CHECK(dns_parse_answer(p.b, n, &q, &a, err, sizeof(err)) == 0);
		CHECK(a.truncated && a.n_addrs == 0);
		dns_answer_clear(&a);
	}
	CHECK(dns_parse_answer(p.b, 28, &q, &a, err, sizeof(err)) == -EBADMSG);
}

UNIT_SUITE(dns_answer_chain_limit)
{
	static char names[20][16];
	struct dns_query q = { 7, "n0.example", 1, 1 };
	static struct pb p;
	struct dns_answer a = { 0 };
	char err[128];

	for (int i = 0; i < 20; i++)
		snprintf(names[i], sizeof(names[i]), "n%d.example", i);
	/* 16 CNAMEs then an address; 17 CNAMEs are refused */
	for (int hops = 15; hops <= 17; hops++) {
		struct pb *pp = &p;

		memset(pp, 0, sizeof(*pp));
		pb_u16(pp, 7);
		pb_u16(pp, 0x8180);
		pb_u16(pp, 1);
		pb_u16(pp, (unsigned)hops + 1);
		pb_u16(pp, 0);
		pb_u16(pp, 0);
		pb_name(pp, names[0]);
		pb_u32(pp, 0x00010001);
		for (int i = 0; i < hops; i++)
			pb_rr(pp,
			      &(struct rr_spec){ names[i], 5, (uint32_t)(1000 - i), names[i + 1] });
		pb_rr(pp, &(struct rr_spec){ names[hops], 1, 2000, "192.0.2.1" });
		int r = dns_parse_answer(pp->b, pp->n, &q, &a, err, sizeof(err));
		if (hops <= 16) {
			CHECK(r == 0 && a.n_cnames == (size_t)hops && a.n_addrs == 1);
			CHECK(r == 0 && a.addrs[0].ttl == (uint32_t)(1000 - hops + 1));
			CHECK(r == 0 && strcmp(a.cnames[hops - 1], names[hops]) == 0);
		} else {
			CHECK(r == -EBADMSG);
			CHECK_STR(err, "CNAME chain longer than 16");
		}
		dns_answer_clear(&a);
	}
}

UNIT_SUITE(dns_answer_raw)
{
	/* question foo.example A at offset 12, first answer at offset 29 */
#define AHDR(an) "\x12\x34\x81\x80\x00\x01\x00" an "\x00\x00\x00\x00"
#define FOOQ      \
	"\x03"    \
	"foo\x07" \
	"example\x00" QA
#define A_FIXED "\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04"
	static const struct {
		const char *desc;
		const char *pkt;
		size_t len;
		int want;
	} cases[] = {
		{ "compressed owner", P(AHDR("\x01") FOOQ "\xc0\x0c" A_FIXED "\xc0\x00\x02\x01"),
		  0 },
		{ "owner points to itself",
		  P(AHDR("\x01") FOOQ "\xc0\x1d" A_FIXED "\xc0\x00\x02\x01"), -EBADMSG },
		{ "two pointers in a loop",
		  P(AHDR("\x01") FOOQ "\x01x\xc0\x21\x01y\xc0\x1d" A_FIXED "\xc0\x00\x02\x01"),
		  -EBADMSG },
		{ "pointer past the end",
		  P(AHDR("\x01") FOOQ "\xc0\xf0" A_FIXED "\xc0\x00\x02\x01"), -EBADMSG },
		{ "pointer into itself, forward",
		  P(AHDR("\x01") FOOQ "\xc0\x1f\xc0\x1d" A_FIXED "\xc0\x00\x02\x01"), -EBADMSG },
		{ "A rdata of 5 bytes",
		  P(AHDR("\x01") FOOQ "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x05\xc0\x00\x02"
				      "\x01\x01"),
		  -EBADMSG },
		{ "AAAA rdata of 4 bytes",
		  P(AHDR("\x01") FOOQ "\xc0\x0c\x00\x1c\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02"
				      "\x01"),
		  -EBADMSG },
		{ "rdlength past the end",
		  P(AHDR("\x01") FOOQ "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x08\xc0\x00\x02"
				      "\x01"),
		  -EBADMSG },
		{ "CNAME rdata longer than its name",
		  P(AHDR("\x01") FOOQ
		    "\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x03\xc0\x0c\x00"),
		  -EBADMSG },
		{ "CNAME rdata shorter than its name",
		  P(AHDR("\x01") FOOQ "\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x01\x01x\x00"),
		  -EBADMSG },
		{ "CNAME target with a NUL label",
		  P(AHDR("\x01") FOOQ
		    "\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x04\x01\x00\xc0\x10"),
		  -EBADMSG },
		{ "owner with a NUL label behind a pointer",
		  P(AHDR("\x02") FOOQ
		    "\xc0\x0c\x00\x63\x00\x01\x00\x00\x00\x3c\x00\x04\x01\x00\xc0\x0c"
		    "\xc0\x29" A_FIXED "\xc0\x00\x02\x01"),
		  -EBADMSG },
		{ "CNAME target loops",
		  P(AHDR("\x01") FOOQ "\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x02\xc0\x29"),
		  -EBADMSG },
		{ "more answers than bytes",
		  P(AHDR("\x09") FOOQ "\xc0\x0c" A_FIXED "\xc0\x00\x02\x01"), -EBADMSG },
		{ "answer count 65535", P("\x12\x34\x81\x80\x00\x01\xff\xff\x00\x00\x00\x00" FOOQ),
		  -EBADMSG },
		{ "no question", P("\x12\x34\x81\x83\x00\x00\x00\x00\x00\x00\x00\x00"), -EBADMSG },
		{ "header only", P("\x12\x34\x81\x80"), -EBADMSG },
	};
	struct dns_query q = { 0x1234, FOO, 1, 1 };
	struct dns_answer a = { 0 };
	char err[128];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int r = dns_parse_answer((const uint8_t *)cases[i].pkt, cases[i].len, &q, &a, err,
					 sizeof(err));
		CHECK_MSG(r == cases[i].want, cases[i].desc);
		CHECK_MSG(r != 0 || (a.n_addrs == 1 && a.addrs[0].addr[0] == 192), cases[i].desc);
		dns_answer_clear(&a);
	}

	CHECK(dns_parse_answer(NULL, 0, &q, &a, err, sizeof(err)) == -EINVAL);
	CHECK(dns_parse_answer((const uint8_t *)cases[0].pkt, cases[0].len, NULL, &a, err,
			       sizeof(err)) == -EINVAL);
	dns_answer_clear(NULL);
}

UNIT_SUITE(dns_type_names)
{
	static const struct {
		uint16_t t;
		const char *name;
	} cases[] = {
		{ 1, "A" },     { 2, "NS" },      { 5, "CNAME" },         { 6, "SOA" },
		{ 12, "PTR" },  { 15, "MX" },     { 16, "TXT" },          { 28, "AAAA" },
		{ 33, "SRV" },  { 64, "SVCB" },   { 65, "HTTPS" },        { 255, "ANY" },
		{ 0, "TYPE0" }, { 41, "TYPE41" }, { 65534, "TYPE65534" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		CHECK_STR(dns_type_name(cases[i].t), cases[i].name);
}
