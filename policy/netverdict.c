/* The network verdicts every tier asks: address normalisation, loopback,
 * CIDR/port rules and DNS name matching. Pure: no allocation, no syscalls. */
#include <sys/socket.h>
#include <string.h>

#include "policy.h"

/* RFC 1035: 253 characters in presentation form, root dot not counted. */
#define NAME_MAX_LEN 253

static const uint8_t v4mapped_pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
/* RFC 6052 well-known prefix only: a local-use NAT64 prefix is a route the
 * operator chose, and nothing says what IPv4 address it leads to. */
static const uint8_t nat64_pfx[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };
static const uint8_t sixto4_pfx[2] = { 0x20, 0x02 };

static void to_v4(struct pol_addr *out, const uint8_t *v4, uint16_t port)
{
	uint8_t b[4];

	memcpy(b, v4, 4); /* v4 may point into out->addr */
	memset(out, 0, sizeof(*out));
	out->family = AF_INET;
	memcpy(out->addr, b, 4);
	out->port = port;
}

void pol_addr_normalize(const struct pol_addr *in, struct pol_addr *out)
{
	const uint8_t *a = in->addr;

	if (out != in)
		*out = *in;
	/* IPv4-compatible ::a.b.c.d is not converted: RFC 4291 deprecated it
	 * and Linux does not route it to IPv4, so it is judged as written. */
	if (in->family != AF_INET6)
		return;
	if (!memcmp(a, v4mapped_pfx, 12) || !memcmp(a, nat64_pfx, 12))
		to_v4(out, a + 12, in->port);
	else if (!memcmp(a, sixto4_pfx, 2))
		to_v4(out, a + 2, in->port);
}

/* Destinations that never leave this host: 127.0.0.0/8, ::1, and the
 * unspecified 0.0.0.0 and :: (Linux connects those to the local host).
 * Only the IPv4-mapped form is unwrapped here: a NAT64 or 6to4 address
 * with 127.x inside is routed to a gateway or relay, off the host, so it
 * is no loopback (it is still judged as its IPv4 against CIDR entries). */
static bool is_loopback_raw(const struct pol_addr *a)
{
	static const uint8_t v6_lo[16] = { [15] = 1 }, v6_any[16] = { 0 };

	if (a->family == AF_INET)
		return a->addr[0] == 127 ||
		       (a->addr[0] | a->addr[1] | a->addr[2] | a->addr[3]) == 0;
	if (a->family != AF_INET6)
		return false;
	if (!memcmp(a->addr, v6_lo, 16) || !memcmp(a->addr, v6_any, 16))
		return true;
	if (!memcmp(a->addr, v4mapped_pfx, 12)) {
		struct pol_addr v4;
		to_v4(&v4, a->addr + 12, a->port);
		return is_loopback_raw(&v4);
	}
	return false;
}

bool pol_addr_is_loopback(const struct pol_addr *a)
{
	return a && is_loopback_raw(a);
}

static bool prefix_match(const uint8_t *a, const uint8_t *net, int prefix)
{
	int full = prefix / 8, rest = prefix % 8;
	uint8_t mask;

	if (memcmp(a, net, (size_t)full))
		return false;
	if (!rest)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (net[full] & mask);
}

static bool cidr_covers(const struct pol_net_entry *e, const struct pol_addr *a)
{
	int bits = e->family == AF_INET ? 32 : 128;

	if (e->kind != POL_NET_CIDR || e->family != a->family)
		return false;
	/* Entries come from the loader, but a bad prefix must not read past
	 * addr[16]. */
	if (e->prefix < 0 || e->prefix > bits)
		return false;
	return prefix_match(a->addr, e->addr, e->prefix);
}

static bool cidr_matches(const struct pol_net_entry *e, const struct pol_addr *a)
{
	return cidr_covers(e, a) && pol_net_entry_port_ok(e, a->port);
}

bool pol_net_addr_any_port(const struct policy *p, const struct pol_addr *a)
{
	struct pol_addr n;

	if (!p || !p->network.present)
		return true;
	if (!a)
		return false;
	if (p->network.loopback && is_loopback_raw(a))
		return true;
	pol_addr_normalize(a, &n);
	for (size_t i = 0; i < p->network.n_allow; i++)
		if (cidr_covers(&p->network.allow[i], &n))
			return true;
	return false;
}

void pol_net_addr_verdict(const struct policy *p, const struct pol_addr *a, struct pol_verdict *out)
{
	struct pol_addr n;

	*out = (struct pol_verdict){ .allowed = true, .rule = NULL, .reason = NULL };
	if (!p || !p->network.present) {
		out->rule = "network:absent";
		return;
	}
	if (a) {
		pol_addr_normalize(a, &n);
		if (p->network.loopback && is_loopback_raw(a)) {
			out->rule = "loopback";
			return;
		}
		for (size_t i = 0; i < p->network.n_allow; i++) {
			if (cidr_matches(&p->network.allow[i], &n)) {
				out->rule = p->network.allow[i].text;
				return;
			}
		}
	}
	out->allowed = false;
	out->rule = "network.allow";
	out->reason = "address not in network.allow";
}

bool pol_net_entry_port_ok(const struct pol_net_entry *e, uint16_t port)
{
	/* A destination without a port (port 0) only fits an entry that
	 * names none: "db:5432" must not allow a sendto we cannot place. */
	return e->port == 0 || e->port == port;
}

static char lower(char c)
{
	/* Not tolower(): the locale must not change what a policy allows. */
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool ieq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

/* Length of name without its one root dot, or 0 when the name can match
 * nothing: empty, too long, an empty label, or a '\' escape. An escaped
 * dot ("x\.example.com") is inside a label, so a plain suffix compare
 * would put a name under com into *.example.com. */
static size_t name_len(const char *name)
{
	size_t n = strnlen(name, NAME_MAX_LEN + 2);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (name[i] == '\\')
			return 0;
		if (name[i] == '.' && (i == 0 || name[i - 1] == '.' || i == n - 1))
			return 0;
	}
	return n;
}

bool pol_net_entry_name_matches(const struct pol_net_entry *e, const char *name)
{
	size_t n, dlen;

	if (!e || !name || !e->domain || e->kind == POL_NET_CIDR)
		return false;
	n = name_len(name);
	dlen = strlen(e->domain);
	if (!n || !dlen)
		return false;
	if (e->kind == POL_NET_DOMAIN)
		return n == dlen && ieq(name, e->domain, n);
	/* Wildcard: at least one label, then a dot, then the suffix; the
	 * apex itself is not covered. */
	return n > dlen + 1 && name[n - dlen - 1] == '.' && ieq(name + n - dlen, e->domain, dlen);
}

const struct pol_net_entry *pol_net_name_match(const struct policy *p, const char *name,
					       size_t *index)
{
	size_t i = index ? *index : 0;

	if (!p || !p->network.present)
		return NULL;
	for (; i < p->network.n_allow; i++) {
		if (pol_net_entry_name_matches(&p->network.allow[i], name)) {
			if (index)
				*index = i;
			return &p->network.allow[i];
		}
	}
	return NULL;
}
