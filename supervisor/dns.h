/* DNS wire format for fnguard's stub resolver, on c-ares (static, no
 * libcrypto: ldns would add ~1 ms to every cold start): parse the
 * workload's queries, build refusals, read upstream answers. No sockets
 * here; the stub's I/O lives with the event loop. */
#ifndef FNG_DNS_H
#define FNG_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 256 /* presentation form, no trailing dot, NUL included */

struct dns_query {
	uint16_t id;
	char name[DNS_NAME_MAX]; /* lower case, no trailing dot; "" for the root */
	uint16_t qtype;          /* host byte order (1 = A, 28 = AAAA, ...) */
	uint16_t qclass;
};

/* Parses a query (exactly one question, QR=0, opcode QUERY). Returns 0,
 * or -EBADMSG with a short reason in err for anything malformed: a
 * hostile packet never crashes and never half-parses. */
int dns_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q, char *err, size_t errlen);

/* Builds a response to the query in pkt (which dns_parse_query accepted)
 * with the given RCODE (3 NXDOMAIN, 5 REFUSED, 2 SERVFAIL), the question
 * echoed, no records. *out is malloc'd (caller frees). 0 or -errno. */
int dns_build_error(const uint8_t *pkt, size_t len, int rcode, uint8_t **out, size_t *outlen);

struct dns_addr {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order */
	uint32_t ttl;     /* seconds, the smallest along the CNAME chain */
};

struct dns_answer {
	int rcode;
	bool truncated;         /* TC bit: the client will retry over TCP */
	struct dns_addr *addrs; /* malloc'd; A/AAAA reachable from the question
				 * name through CNAMEs (at most 16 hops) */
	size_t n_addrs;
	char **cnames; /* malloc'd names of the chain, lower case */
	size_t n_cnames;
};

/* Parses an upstream response to q: the id and question must match q (a
 * mismatch is -EBADMSG: a spoofed or stray answer). Fills *a; release
 * with dns_answer_clear. */
int dns_parse_answer(const uint8_t *pkt, size_t len, const struct dns_query *q,
		     struct dns_answer *a, char *err, size_t errlen);
void dns_answer_clear(struct dns_answer *a);

/* Name of a query type for logs ("A", "AAAA", "TXT", "TYPE65534"):
 * a static buffer for unknown types. */
const char *dns_type_name(uint16_t qtype);

#endif
