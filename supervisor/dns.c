/* DNS wire format on c-ares. Names go through ares_expand_name(), which
 * follows compression pointers, refuses loops and escapes odd bytes
 * ("a\.b", "\001"), so a name compares equal only to itself. The fixed
 * fields around the names are read here, each behind a bounds check.
 *
 * Answers are not read with ares_parse_a_reply(): c-ares 1.18.1 lets any
 * CNAME in the answer section redirect the chain whatever its owner
 * ("evil.test CNAME x.test" plus "x.test A 6.6.6.6" in an answer for
 * foo.example yields 6.6.6.6 and drops foo.example's own address), and
 * passes TTLs with the top bit set through as negative numbers. Both
 * would let an answer allow addresses the question never led to. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <ares.h>

#include "dns.h"

#define DNS_HDR_LEN   12
#define DNS_RR_FIXED  10 /* type, class, ttl, rdlength after an owner name */
#define DNS_MSG_MAX   65535
#define DNS_WIRE_MAX  255 /* RFC 1035 2.3.4: a name on the wire */
#define DNS_CHAIN_MAX 16

#define DNS_T_A     1
#define DNS_T_CNAME 5
#define DNS_T_AAAA  28
#define DNS_T_OPT   41
#define DNS_C_IN    1

struct dns_cur {
	const uint8_t *pkt;
	size_t len;
	size_t off;
	char *err;
	size_t errlen;
};

struct dns_hdr {
	uint16_t id;
	bool qr, tc;
	unsigned opcode, rcode;
	uint16_t qd, an, ns, ar;
};

struct dns_rr {
	char *owner; /* from c-ares, lower case */
	uint16_t type, class;
	uint32_t ttl;
	size_t rdoff;
	uint16_t rdlen;
	char *target; /* CNAME rdata (class IN, answer section), lower case */
};

struct dns_rrs {
	struct dns_rr *v;
	size_t n;
};

__attribute__((format(printf, 2, 3))) static int dns_fail(struct dns_cur *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err && c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

static int dns_nomem(struct dns_cur *c)
{
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "out of memory");
	return -ENOMEM;
}

static void dns_free_ares(char **s)
{
	if (*s)
		ares_free_string(*s);
}

#define _cleanup_ares_ __attribute__((cleanup(dns_free_ares)))

static uint16_t dns_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int dns_u16(struct dns_cur *c, uint16_t *v)
{
	if (c->len - c->off < 2)
		return dns_fail(c, "truncated at offset %zu", c->off);
	*v = dns_get16(c->pkt + c->off);
	c->off += 2;
	return 0;
}

static int dns_u32(struct dns_cur *c, uint32_t *v)
{
	if (c->len - c->off < 4)
		return dns_fail(c, "truncated at offset %zu", c->off);
	*v = (uint32_t)dns_get16(c->pkt + c->off) << 16 | dns_get16(c->pkt + c->off + 2);
	c->off += 4;
	return 0;
}

static void dns_lower(char *s)
{
	/* ASCII only: the escapes c-ares writes are digits and punctuation,
	 * so folding never changes which name a string denotes. */
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* c-ares 1.18 writes a label made of one NUL byte as a raw NUL, which
 * cuts the string short: the wire name "allowed.com.\000.evil.com"
 * would read as "allowed.com.", and be resolved under evil.com. Dots,
 * backslashes and other non-printing bytes come back escaped ("\.",
 * "\001"), so only that label is refused. This runs
 * after ares_expand_name() accepted the name (labels and pointers in
 * bounds, no loops); the checks stay anyway. */
static bool dns_name_ok(const uint8_t *pkt, size_t len, size_t off, bool *compressed)
{
	for (size_t hops = 0; off < len && hops < len; hops++) {
		uint8_t b = pkt[off];

		if (b == 0)
			return true;
		if ((b & 0xc0) == 0xc0) {
			if (len - off < 2)
				return false;
			*compressed = true;
			off = (size_t)(b & 0x3f) << 8 | pkt[off + 1];
			continue;
		}
		if (b == 1 && len - off > 1 && pkt[off + 1] == 0)
			return false;
		off += 1u + b;
	}
	return false;
}

/* The name at c->off as a lower-case string the caller releases with
 * ares_free_string(); *enclen is its size at that offset, *compressed
 * (optional) whether it uses a pointer. */
static int dns_name(struct dns_cur *c, char **name, size_t *enclen, bool *compressed)
{
	bool comp = false;
	char *s = NULL;
	long enc = 0;
	int r;

	/* c-ares refuses this too, but only as a bad name. */
	if (c->off >= c->len)
		return dns_fail(c, "truncated at offset %zu", c->off);
	r = ares_expand_name(c->pkt + c->off, c->pkt, (int)c->len, &s, &enc);
	if (r == ARES_ENOMEM)
		return dns_nomem(c);
	if (r != ARES_SUCCESS)
		return dns_fail(c, "bad name at offset %zu", c->off);
	if (enc <= 0 || (size_t)enc > c->len - c->off ||
	    !dns_name_ok(c->pkt, c->len, c->off, &comp)) {
		ares_free_string(s);
		return dns_fail(c, "bad name at offset %zu", c->off);
	}
	dns_lower(s);
	*name = s;
	*enclen = (size_t)enc;
	if (compressed)
		*compressed = comp;
	c->off += (size_t)enc;
	return 0;
}

static int dns_header(struct dns_cur *c, struct dns_hdr *h)
{
	const uint8_t *p = c->pkt;

	if (c->len < DNS_HDR_LEN)
		return dns_fail(c, "%zu bytes: shorter than a header", c->len);
	/* ares_expand_name() takes an int length; TCP frames stop at 65535. */
	if (c->len > DNS_MSG_MAX)
		return dns_fail(c, "%zu bytes: longer than a DNS message", c->len);
	h->id = dns_get16(p);
	h->qr = p[2] & 0x80;
	h->opcode = (p[2] >> 3) & 0x0f;
	h->tc = p[2] & 0x02;
	h->rcode = p[3] & 0x0f;
	h->qd = dns_get16(p + 4);
	h->an = dns_get16(p + 6);
	h->ns = dns_get16(p + 8);
	h->ar = dns_get16(p + 10);
	c->off = DNS_HDR_LEN;
	if (h->opcode != 0)
		return dns_fail(c, "opcode %u is not QUERY", h->opcode);
	if (h->qd != 1)
		return dns_fail(c, "%u questions, want 1", h->qd);
	return 0;
}

/* The question, as a lower-case name and its type and class; *name is
 * the caller's to free even on failure. */
static int dns_question(struct dns_cur *c, char **name, size_t *enclen, bool *compressed,
			uint16_t *qtype, uint16_t *qclass)
{
	int r = dns_name(c, name, enclen, compressed);

	if (r < 0)
		return r;
	if ((r = dns_u16(c, qtype)) < 0 || (r = dns_u16(c, qclass)) < 0)
		return r;
	return 0;
}

static void dns_rr_clear(struct dns_rr *rr)
{
	if (rr->owner)
		ares_free_string(rr->owner);
	if (rr->target)
		ares_free_string(rr->target);
	rr->owner = rr->target = NULL;
}

/* One resource record: owner, fixed fields and the rdata's place. With
 * want_target, a CNAME's rdata is expanded too; it must be exactly one
 * name filling the rdata. */
static int dns_rr(struct dns_cur *c, bool want_target, struct dns_rr *rr)
{
	size_t enc = 0;
	int r;

	*rr = (struct dns_rr){ NULL, 0, 0, 0, 0, 0, NULL };
	r = dns_name(c, &rr->owner, &enc, NULL);
	if (r < 0)
		return r;
	if (c->len - c->off < DNS_RR_FIXED) {
		dns_rr_clear(rr);
		return dns_fail(c, "truncated record at offset %zu", c->off);
	}
	(void)dns_u16(c, &rr->type);
	(void)dns_u16(c, &rr->class);
	(void)dns_u32(c, &rr->ttl);
	(void)dns_u16(c, &rr->rdlen);
	rr->rdoff = c->off;
	if (c->len - c->off < rr->rdlen) {
		dns_rr_clear(rr);
		return dns_fail(c, "rdata of %u bytes past the end at offset %zu", rr->rdlen,
				c->off);
	}
	if (want_target && rr->class == DNS_C_IN && rr->type == DNS_T_CNAME) {
		r = dns_name(c, &rr->target, &enc, NULL);
		if (r == 0 && enc != rr->rdlen)
			r = dns_fail(c, "CNAME rdata at offset %zu is not one name", rr->rdoff);
		if (r < 0) {
			dns_rr_clear(rr);
			return r;
		}
	}
	c->off = rr->rdoff + rr->rdlen;
	return 0;
}

/* Shared by dns_parse_query() and dns_build_error(): *qend is where the
 * question ends, so the error reply can copy it. */
static int dns_query_span(struct dns_cur *c, struct dns_query *q, size_t *qend)
{
	char *name _cleanup_ares_ = NULL;
	struct dns_hdr h;
	struct dns_rr opt;
	uint16_t qtype = 0, qclass = 0;
	size_t enc = 0, n;
	bool compressed = false, is_opt;
	int r;

	if ((r = dns_header(c, &h)) < 0)
		return r;
	if (h.qr)
		return dns_fail(c, "a response, not a query");
	if (h.an || h.ns)
		return dns_fail(c, "query with %u answer and %u authority records", h.an, h.ns);
	if (h.ar > 1)
		return dns_fail(c, "query with %u additional records", h.ar);
	if ((r = dns_question(c, &name, &enc, &compressed, &qtype, &qclass)) < 0)
		return r;
	n = strlen(name);
	if (n >= DNS_NAME_MAX || enc > DNS_WIRE_MAX)
		return dns_fail(c, "question name too long");
	/* The error reply echoes the question byte for byte, so its name must
	 * not point elsewhere; no client compresses the first name anyway. */
	if (compressed)
		return dns_fail(c, "compressed question name");
	*qend = c->off;
	/* glibc with "options edns0", dig and c-ares with ARES_FLAG_EDNS
	 * send an EDNS OPT record; nothing else belongs in a query. */
	if (h.ar) {
		if ((r = dns_rr(c, false, &opt)) < 0)
			return r;
		is_opt = opt.type == DNS_T_OPT && opt.owner[0] == '\0';
		dns_rr_clear(&opt);
		if (!is_opt)
			return dns_fail(c, "additional record is not EDNS OPT");
	}
	if (c->off != c->len)
		return dns_fail(c, "%zu trailing bytes", c->len - c->off);
	q->id = h.id;
	memcpy(q->name, name, n + 1);
	q->qtype = qtype;
	q->qclass = qclass;
	return 0;
}

int dns_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q, char *err, size_t errlen)
{
	struct dns_cur c = { pkt, len, 0, err, errlen };
	size_t qend;

	if (!pkt || !q)
		return -EINVAL;
	return dns_query_span(&c, q, &qend);
}

int dns_build_error(const uint8_t *pkt, size_t len, int rcode, uint8_t **out, size_t *outlen)
{
	struct dns_cur c = { pkt, len, 0, NULL, 0 };
	struct dns_query q;
	size_t qend;
	uint8_t *buf;
	int r;

	if (!pkt || !out || !outlen || rcode < 0 || rcode > 15)
		return -EINVAL;
	if ((r = dns_query_span(&c, &q, &qend)) < 0)
		return r;
	buf = malloc(qend);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, pkt, qend);
	/* QR, opcode QUERY, RD echoed; AA and TC clear. RA set, CD echoed
	 * as resolvers do, AD clear: nothing here was validated. The OPT
	 * record is dropped, which RFC 6891 allows a responder to do. */
	buf[2] = 0x80 | (pkt[2] & 0x01);
	buf[3] = 0x80 | (pkt[3] & 0x10) | (uint8_t)rcode;
	memset(buf + 6, 0, 6);
	*out = buf;
	*outlen = qend;
	return 0;
}

static void dns_rrs_free(struct dns_rrs *rrs)
{
	for (size_t i = 0; i < rrs->n; i++)
		dns_rr_clear(&rrs->v[i]);
	free(rrs->v);
	rrs->v = NULL;
	rrs->n = 0;
}

#define _cleanup_rrs_ __attribute__((cleanup(dns_rrs_free)))

void dns_answer_clear(struct dns_answer *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_cnames; i++)
		free(a->cnames[i]);
	free(a->cnames);
	free(a->addrs);
	*a = (struct dns_answer){ 0, false, NULL, 0, NULL, 0 };
}

static uint32_t dns_ttl(uint32_t ttl)
{
	/* RFC 2181 8: a TTL with the top bit set means zero. */
	return ttl & 0x80000000u ? 0 : ttl;
}

static int dns_add_addr(struct dns_cur *c, struct dns_answer *a, const struct dns_rr *rr,
			uint32_t ttl)
{
	struct dns_addr *v, *d;

	/* Growing one by one is fine: rarely more than a dozen addresses. */
	v = realloc(a->addrs, (a->n_addrs + 1) * sizeof(*v));
	if (!v)
		return dns_nomem(c);
	a->addrs = v;
	d = &v[a->n_addrs++];
	memset(d, 0, sizeof(*d));
	d->family = rr->type == DNS_T_A ? AF_INET : AF_INET6;
	memcpy(d->addr, c->pkt + rr->rdoff, rr->rdlen);
	d->ttl = dns_ttl(rr->ttl) < ttl ? dns_ttl(rr->ttl) : ttl;
	return 0;
}

static int dns_add_cname(struct dns_cur *c, struct dns_answer *a, const char *name)
{
	char **v = realloc(a->cnames, (a->n_cnames + 1) * sizeof(*v));

	if (!v)
		return dns_nomem(c);
	a->cnames = v;
	if (!(v[a->n_cnames] = strdup(name)))
		return dns_nomem(c);
	a->n_cnames++;
	return 0;
}

/* Addresses (of type want, 0 for none) of the question name and of every
 * name a CNAME chain from it reaches, in any record order. */
static int dns_follow(struct dns_cur *c, const struct dns_rrs *rrs, const struct dns_query *q,
		      uint16_t want, struct dns_answer *a)
{
	const char *cur = q->name;
	uint32_t ttl = UINT32_MAX;
	int r;

	for (unsigned hops = 0;; hops++) {
		const struct dns_rr *cname = NULL;

		for (size_t i = 0; i < rrs->n; i++) {
			const struct dns_rr *rr = &rrs->v[i];

			if (rr->class != DNS_C_IN || strcasecmp(rr->owner, cur) != 0)
				continue;
			if (rr->type == DNS_T_CNAME) {
				if (cname && strcmp(cname->target, rr->target) != 0)
					return dns_fail(c, "two CNAMEs for %s", cur);
				cname = rr;
			} else if (want && rr->type == want) {
				if ((r = dns_add_addr(c, a, rr, ttl)) < 0)
					return r;
			}
		}
		if (!cname)
			return 0;
		if (hops == DNS_CHAIN_MAX)
			return dns_fail(c, "CNAME chain longer than %d", DNS_CHAIN_MAX);
		if (strcasecmp(cname->target, q->name) == 0)
			return dns_fail(c, "CNAME loop at %s", cname->target);
		for (size_t i = 0; i < a->n_cnames; i++)
			if (strcmp(cname->target, a->cnames[i]) == 0)
				return dns_fail(c, "CNAME loop at %s", cname->target);
		ttl = dns_ttl(cname->ttl) < ttl ? dns_ttl(cname->ttl) : ttl;
		if ((r = dns_add_cname(c, a, cname->target)) < 0)
			return r;
		cur = a->cnames[a->n_cnames - 1];
	}
}

/* Every record of the three sections. Answer records are kept (for the
 * chain); the others are only checked, except OPT for the extended
 * RCODE (RFC 6891 6.1.3). */
static int dns_records(struct dns_cur *c, const struct dns_hdr *h, struct dns_rrs *rrs,
		       unsigned *rcode)
{
	size_t total = (size_t)h->an + h->ns + h->ar;
	bool seen_opt = false;
	struct dns_rr rr;
	int r;

	/* The smallest record is 11 bytes: counts beyond that are lies. */
	if (total > (c->len - c->off) / (1 + DNS_RR_FIXED))
		return dns_fail(c, "%zu records cannot fit in %zu bytes", total, c->len - c->off);
	if (h->an && !(rrs->v = calloc(h->an, sizeof(*rrs->v))))
		return dns_nomem(c);
	for (size_t i = 0; i < total; i++) {
		if ((r = dns_rr(c, i < h->an, &rr)) < 0)
			return r;
		if (i < h->an) {
			rrs->v[rrs->n++] = rr;
			continue;
		}
		if (rr.type == DNS_T_OPT && i >= (size_t)h->an + h->ns) {
			bool dup = seen_opt;

			seen_opt = true;
			*rcode |= (rr.ttl >> 24) << 4;
			dns_rr_clear(&rr);
			if (dup)
				return dns_fail(c, "two OPT records");
			continue;
		}
		dns_rr_clear(&rr);
	}
	if (c->off != c->len)
		return dns_fail(c, "%zu trailing bytes", c->len - c->off);
	return 0;
}

int dns_parse_answer(const uint8_t *pkt, size_t len, const struct dns_query *q,
		     struct dns_answer *a, char *err, size_t errlen)
{
	struct dns_cur c = { pkt, len, 0, err, errlen };
	struct dns_rrs rrs _cleanup_rrs_ = { NULL, 0 };
	struct dns_answer tmp = { 0, false, NULL, 0, NULL, 0 };
	char *name _cleanup_ares_ = NULL;
	struct dns_hdr h;
	uint16_t qtype = 0, qclass = 0, want = 0;
	unsigned rcode;
	size_t enc = 0;
	int r;

	if (!a)
		return -EINVAL;
	/* Overwritten, not cleared: *a may be uninitialised. */
	*a = tmp;
	if (!pkt || !q)
		return -EINVAL;
	if ((r = dns_header(&c, &h)) < 0)
		return r;
	if (!h.qr)
		return dns_fail(&c, "a query, not a response");
	if (h.id != q->id)
		return dns_fail(&c, "id %u, want %u", h.id, q->id);
	if ((r = dns_question(&c, &name, &enc, NULL, &qtype, &qclass)) < 0)
		return r;
	if (strcasecmp(name, q->name) != 0 || qtype != q->qtype || qclass != q->qclass)
		return dns_fail(&c, "question does not match the query");
	/* A truncated answer is replaced by the client's TCP retry; its
	 * records may be cut anywhere, and none of them is needed. */
	if (h.tc) {
		a->rcode = (int)h.rcode;
		a->truncated = true;
		return 0;
	}
	rcode = h.rcode;
	if ((r = dns_records(&c, &h, &rrs, &rcode)) < 0)
		return r;
	if (rcode == 0 && q->qclass == DNS_C_IN && q->qtype == DNS_T_A)
		want = DNS_T_A;
	if (rcode == 0 && q->qclass == DNS_C_IN && q->qtype == DNS_T_AAAA)
		want = DNS_T_AAAA;
	/* Address records of the wrong size are not addresses at all. */
	for (size_t i = 0; i < rrs.n; i++) {
		const struct dns_rr *rr = &rrs.v[i];

		if (rr->class == DNS_C_IN && ((rr->type == DNS_T_A && rr->rdlen != 4) ||
					      (rr->type == DNS_T_AAAA && rr->rdlen != 16)))
			return dns_fail(&c, "address record of %u bytes at offset %zu", rr->rdlen,
					rr->rdoff);
	}
	if ((r = dns_follow(&c, &rrs, q, want, &tmp)) < 0) {
		dns_answer_clear(&tmp);
		return r;
	}
	tmp.rcode = (int)rcode;
	*a = tmp;
	return 0;
}

const char *dns_type_name(uint16_t qtype)
{
	static _Thread_local char buf[16];

	switch (qtype) {
	case 1:
		return "A";
	case 2:
		return "NS";
	case 5:
		return "CNAME";
	case 6:
		return "SOA";
	case 12:
		return "PTR";
	case 15:
		return "MX";
	case 16:
		return "TXT";
	case 28:
		return "AAAA";
	case 33:
		return "SRV";
	case 64:
		return "SVCB";
	case 65:
		return "HTTPS";
	case 255:
		return "ANY";
	}
	snprintf(buf, sizeof(buf), "TYPE%u", qtype);
	return buf;
}
