/* Network verdicts: address normalisation, loopback, (policy, address,
 * port) -> verdict, and DNS name matching against real parsed entries. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "policy.h"
#include "unit.h"

/* An address from its text; IPv6 when it holds a ':'. */
static struct pol_addr addr(const char *s, uint16_t port)
{
	struct pol_addr a = { .family = strchr(s, ':') ? AF_INET6 : AF_INET, .port = port };

	if (inet_pton(a.family, s, a.addr) != 1)
		fprintf(stderr, "test_netverdict: bad address '%s'\n", s);
	return a;
}

static struct policy *parse(const char *yaml)
{
	struct pol_diags d = { 0 };
	struct policy *p = NULL;

	if (policy_parse(yaml, strlen(yaml), "t.yaml", &p, &d) < 0) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "  %d:%d: %s\n", d.v[i].line, d.v[i].col, d.v[i].msg);
	}
	pol_diags_clear(&d);
	return p;
}

/* ---- normalisation ---------------------------------------------------- */

static const struct {
	const char *in;
	int family; /* after normalisation */
	const char *out;
} norm_cases[] = {
	/* IPv4-mapped */
	{ "::ffff:10.1.2.3", AF_INET, "10.1.2.3" },
	{ "::ffff:0.0.0.0", AF_INET, "0.0.0.0" },
	{ "::ffff:255.255.255.255", AF_INET, "255.255.255.255" },
	{ "::fffe:10.1.2.3", AF_INET6, "::fffe:a01:203" },
	{ "::1:ffff:10.1.2.3", AF_INET6, "::1:ffff:a01:203" },
	{ "1::ffff:10.1.2.3", AF_INET6, "1::ffff:a01:203" },
	/* NAT64 well-known prefix, and what is not it */
	{ "64:ff9b::a01:203", AF_INET, "10.1.2.3" },
	{ "64:ff9b::10.1.2.3", AF_INET, "10.1.2.3" },
	{ "64:ff9b::", AF_INET, "0.0.0.0" },
	{ "64:ff9b:1::a01:203", AF_INET6, "64:ff9b:1::a01:203" },
	{ "64:ff9b::1:a01:203", AF_INET6, "64:ff9b::1:a01:203" },
	{ "64:ff9a::a01:203", AF_INET6, "64:ff9a::a01:203" },
	/* 6to4: the 32 bits after 2002:, whatever follows */
	{ "2002:a01:203::", AF_INET, "10.1.2.3" },
	{ "2002:a01:203:1:2:3:4:5", AF_INET, "10.1.2.3" },
	{ "2002:7f00:1::", AF_INET, "127.0.0.1" },
	{ "2002::", AF_INET, "0.0.0.0" },
	{ "2003:a01:203::", AF_INET6, "2003:a01:203::" },
	{ "2012:a01:203::", AF_INET6, "2012:a01:203::" },
	/* IPv4-compatible (deprecated) stays IPv6, ::1 and :: too */
	{ "::10.1.2.3", AF_INET6, "::10.1.2.3" }, /* glibc prints it dotted */
	{ "::127.0.0.1", AF_INET6, "::127.0.0.1" },
	{ "::1", AF_INET6, "::1" },
	{ "::", AF_INET6, "::" },
	{ "2001:db8::1", AF_INET6, "2001:db8::1" },
	{ "10.1.2.3", AF_INET, "10.1.2.3" },
	{ "127.0.0.1", AF_INET, "127.0.0.1" },
};

UNIT_SUITE(netverdict_normalize)
{
	for (size_t i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
		struct pol_addr in = addr(norm_cases[i].in, 8443), out, same;
		char text[INET6_ADDRSTRLEN] = "";

		memset(&out, 0xaa, sizeof(out));
		pol_addr_normalize(&in, &out);
		CHECK_MSG(out.family == norm_cases[i].family, norm_cases[i].in);
		CHECK_MSG(out.port == 8443, norm_cases[i].in);
		inet_ntop(out.family, out.addr, text, sizeof(text));
		CHECK_STR(text, norm_cases[i].out);
		if (out.family == AF_INET) {
			static const uint8_t zero[12];

			CHECK_MSG(!memcmp(out.addr + 4, zero, 12), norm_cases[i].in);
		}
		/* in place gives the same result */
		same = in;
		pol_addr_normalize(&same, &same);
		CHECK_MSG(same.family == out.family && same.port == out.port &&
				  !memcmp(same.addr, out.addr, 16),
			  norm_cases[i].in);
	}
}

static const struct {
	const char *a;
	bool loopback;
} lo_cases[] = {
	{ "127.0.0.1", true },
	{ "127.0.0.0", true },
	{ "127.255.255.255", true },
	{ "126.255.255.255", false },
	{ "128.0.0.0", false },
	{ "0.0.0.0", true }, /* unspecified: Linux connects it to this host */
	{ "::1", true },
	{ "::", true },
	{ "::2", false },
	{ "1::1", false },
	{ "fe80::1", false },
	{ "::ffff:127.0.0.1", true },
	{ "::ffff:127.1.2.3", true },
	{ "::ffff:128.0.0.1", false },
	/* NAT64 and 6to4 go to a gateway or relay: off the host */
	{ "64:ff9b::7f00:1", false },
	{ "2002:7f00:1::", false },
	{ "2002:7f00:1:1:2:3:4:5", false },
	{ "2002:8000:1::", false },
	{ "64:ff9b:1::7f00:1", false },
	{ "::127.0.0.1", false }, /* IPv4-compatible: not converted */
};

UNIT_SUITE(netverdict_loopback)
{
	for (size_t i = 0; i < sizeof(lo_cases) / sizeof(lo_cases[0]); i++) {
		struct pol_addr a = addr(lo_cases[i].a, 80);

		CHECK_MSG(pol_addr_is_loopback(&a) == lo_cases[i].loopback, lo_cases[i].a);
	}
}

/* ---- address verdicts ------------------------------------------------- */

enum { P_ABSENT, P_CIDR, P_ZERO, P_NOLOOP, P_EMPTY, P_N };

static const char *const net_yaml[P_N] = {
	[P_ABSENT] = "version: 1\n",
	[P_CIDR] = "version: 1\n"
		   "network:\n"
		   "  allow:\n"
		   "    - api.example.com\n"
		   "    - '*.example.com'\n"
		   "    - 10.0.0.0/8\n"
		   "    - 192.0.2.1\n"
		   "    - 198.51.100.0/24:443\n"
		   "    - 172.16.0.0/12\n"
		   "    - '[2001:db8::]/32:443'\n"
		   "    - 2001:db9::1\n"
		   "    - fc00::/7\n",
	[P_ZERO] = "version: 1\n"
		   "network:\n"
		   "  allow: ['0.0.0.0/0:443', '[::]/0']\n"
		   "  loopback: false\n",
	[P_NOLOOP] = "version: 1\n"
		     "network:\n"
		     "  allow: ['127.0.0.1:8080', '[::1]:8080', example.com]\n"
		     "  loopback: false\n",
	[P_EMPTY] = "version: 1\n"
		    "network:\n"
		    "  allow: []\n",
};

#define NO NULL /* refused: rule "network.allow" */

static const struct {
	int policy;
	const char *a;
	uint16_t port;
	const char *rule; /* NO when refused */
} addr_cases[] = {
	{ P_ABSENT, "203.0.113.9", 443, "network:absent" },
	{ P_ABSENT, "2001:db8::1", 0, "network:absent" },
	{ P_EMPTY, "203.0.113.9", 443, NO },
	{ P_EMPTY, "127.0.0.1", 80, "loopback" },
	{ P_EMPTY, "::1", 80, "loopback" },

	/* loopback on (the default), in every spelling */
	{ P_CIDR, "127.0.0.1", 80, "loopback" },
	{ P_CIDR, "127.255.255.254", 0, "loopback" },
	{ P_CIDR, "::1", 53, "loopback" },
	{ P_CIDR, "::ffff:127.0.0.1", 80, "loopback" },
	{ P_CIDR, "64:ff9b::7f00:1", 80, NO },
	{ P_CIDR, "2002:7f00:1::", 80, NO },
	{ P_CIDR, "::127.0.0.1", 80, NO },
	{ P_CIDR, "0.0.0.0", 80, "loopback" },

	/* 10.0.0.0/8, any port: first, last, one outside each end */
	{ P_CIDR, "10.0.0.0", 1, "10.0.0.0/8" },
	{ P_CIDR, "10.255.255.255", 65535, "10.0.0.0/8" },
	{ P_CIDR, "9.255.255.255", 80, NO },
	{ P_CIDR, "11.0.0.0", 80, NO },
	{ P_CIDR, "10.1.2.3", 0, "10.0.0.0/8" },
	/* judged as the IPv4 inside */
	{ P_CIDR, "::ffff:10.1.2.3", 443, "10.0.0.0/8" },
	{ P_CIDR, "64:ff9b::a01:203", 443, "10.0.0.0/8" },
	{ P_CIDR, "2002:a01:203:ffff::1", 443, "10.0.0.0/8" },
	{ P_CIDR, "64:ff9b:1::a01:203", 443, NO },
	{ P_CIDR, "::10.1.2.3", 443, NO },
	{ P_CIDR, "::ffff:11.0.0.0", 443, NO },

	/* /32 */
	{ P_CIDR, "192.0.2.1", 80, "192.0.2.1" },
	{ P_CIDR, "192.0.2.0", 80, NO },
	{ P_CIDR, "192.0.2.2", 80, NO },
	{ P_CIDR, "::ffff:192.0.2.1", 80, "192.0.2.1" },

	/* /24 with a port; port-less destinations need a port-less entry */
	{ P_CIDR, "198.51.100.0", 443, "198.51.100.0/24:443" },
	{ P_CIDR, "198.51.100.255", 443, "198.51.100.0/24:443" },
	{ P_CIDR, "198.51.101.0", 443, NO },
	{ P_CIDR, "198.51.99.255", 443, NO },
	{ P_CIDR, "198.51.100.7", 80, NO },
	{ P_CIDR, "198.51.100.7", 444, NO },
	{ P_CIDR, "198.51.100.7", 0, NO },

	/* /12: a prefix off the byte boundary */
	{ P_CIDR, "172.16.0.0", 22, "172.16.0.0/12" },
	{ P_CIDR, "172.31.255.255", 22, "172.16.0.0/12" },
	{ P_CIDR, "172.15.255.255", 22, NO },
	{ P_CIDR, "172.32.0.0", 22, NO },

	/* IPv6 /32 with a port */
	{ P_CIDR, "2001:db8::", 443, "[2001:db8::]/32:443" },
	{ P_CIDR, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 443, "[2001:db8::]/32:443" },
	{ P_CIDR, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 443, NO },
	{ P_CIDR, "2001:db9::", 443, NO },
	{ P_CIDR, "2001:db8::1", 80, NO },
	{ P_CIDR, "2001:db8::1", 0, NO },

	/* /128, any port */
	{ P_CIDR, "2001:db9::1", 5, "2001:db9::1" },
	{ P_CIDR, "2001:db9::1", 0, "2001:db9::1" },
	{ P_CIDR, "2001:db9::2", 5, NO },
	{ P_CIDR, "2001:db9::", 5, NO },

	/* /7 off the byte boundary */
	{ P_CIDR, "fc00::", 1, "fc00::/7" },
	{ P_CIDR, "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, "fc00::/7" },
	{ P_CIDR, "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, NO },
	{ P_CIDR, "fe00::", 1, NO },

	/* domain entries are not consulted for addresses */
	{ P_CIDR, "93.184.216.34", 443, NO },

	/* prefix 0 */
	{ P_ZERO, "0.0.0.0", 443, "0.0.0.0/0:443" },
	{ P_ZERO, "255.255.255.255", 443, "0.0.0.0/0:443" },
	{ P_ZERO, "203.0.113.9", 80, NO },
	{ P_ZERO, "203.0.113.9", 0, NO },
	{ P_ZERO, "::", 0, "[::]/0" },
	{ P_ZERO, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, "[::]/0" },
	/* a mapped address is IPv4: the IPv6 /0 does not cover it */
	{ P_ZERO, "::ffff:203.0.113.9", 80, NO },
	{ P_ZERO, "::ffff:203.0.113.9", 443, "0.0.0.0/0:443" },
	{ P_ZERO, "64:ff9b::cb00:7109", 80, NO },
	/* loopback off: it needs an entry like any address */
	{ P_ZERO, "127.0.0.1", 443, "0.0.0.0/0:443" },
	{ P_ZERO, "127.0.0.1", 80, NO },
	{ P_ZERO, "::1", 80, "[::]/0" },

	{ P_NOLOOP, "127.0.0.1", 8080, "127.0.0.1:8080" },
	{ P_NOLOOP, "::ffff:127.0.0.1", 8080, "127.0.0.1:8080" },
	{ P_NOLOOP, "2002:7f00:1::", 8080, "127.0.0.1:8080" },
	{ P_NOLOOP, "127.0.0.1", 8081, NO },
	{ P_NOLOOP, "127.0.0.1", 0, NO },
	{ P_NOLOOP, "127.0.0.2", 8080, NO },
	{ P_NOLOOP, "::1", 8080, "[::1]:8080" },
	{ P_NOLOOP, "::1", 22, NO },
	{ P_NOLOOP, "::ffff:127.0.0.1", 22, NO },
	{ P_NOLOOP, "::127.0.0.1", 8080, NO },
};

UNIT_SUITE(netverdict_addr)
{
	struct policy *pol[P_N];
	struct pol_verdict v;
	bool ok = true;

	for (int i = 0; i < P_N; i++) {
		pol[i] = parse(net_yaml[i]);
		CHECK_MSG(pol[i] != NULL, net_yaml[i]);
		ok = ok && pol[i];
	}
	if (!ok)
		goto out;
	CHECK(!pol[P_ABSENT]->network.present);
	CHECK(pol[P_CIDR]->network.loopback);
	CHECK(!pol[P_ZERO]->network.loopback);
	for (size_t i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]); i++) {
		struct pol_addr a = addr(addr_cases[i].a, addr_cases[i].port);
		char what[96];

		snprintf(what, sizeof(what), "policy %d, %s port %u", addr_cases[i].policy,
			 addr_cases[i].a, addr_cases[i].port);
		pol_net_addr_verdict(pol[addr_cases[i].policy], &a, &v);
		CHECK_MSG(v.allowed == (addr_cases[i].rule != NO), what);
		CHECK_STR(v.rule, addr_cases[i].rule ? addr_cases[i].rule : "network.allow");
		CHECK_STR(v.reason, addr_cases[i].rule ? NULL : "address not in network.allow");
	}
	/* The verdict must not change the caller's address. */
	struct pol_addr m = addr("::ffff:10.1.2.3", 443), m0 = m;

	pol_net_addr_verdict(pol[P_CIDR], &m, &v);
	CHECK(m.family == m0.family && m.port == m0.port && !memcmp(m.addr, m0.addr, 16));
	pol_net_addr_verdict(NULL, &m, &v);
	CHECK(v.allowed);
	CHECK_STR(v.rule, "network:absent");
out:
	for (int i = 0; i < P_N; i++)
		policy_free(pol[i]);
}

/* ---- names and ports -------------------------------------------------- */

/* n characters: 50-character labels of 'a', then ".example.com". */
static void long_name(char *buf, size_t n)
{
	static const char sfx[] = ".example.com";
	size_t s = sizeof(sfx) - 1;

	memset(buf, 'a', n - s);
	for (size_t i = 50; i + 2 < n - s; i += 51)
		buf[i] = '.';
	memcpy(buf + n - s, sfx, s + 1);
}

enum { E_EXACT, E_WILD, E_CIDR, E_PORT, E_WILDUP, E_LONG, E_N };

static const struct {
	int entry;
	const char *name;
	bool match;
} name_cases[] = {
	{ E_EXACT, "api.example.com", true },
	{ E_EXACT, "API.Example.COM", true },
	{ E_EXACT, "api.example.com.", true },
	{ E_EXACT, "Api.Example.Com.", true },
	{ E_EXACT, "api.example.com..", false },
	{ E_EXACT, ".api.example.com", false },
	{ E_EXACT, "x.api.example.com", false },
	{ E_EXACT, "example.com", false },
	{ E_EXACT, "api.example.co", false },
	{ E_EXACT, "api.example.comm", false },
	{ E_EXACT, "api-example.com", false },
	{ E_EXACT, "api\\.example.com", false },
	{ E_EXACT, "", false },
	{ E_EXACT, ".", false },

	/* *.example.com: strict subdomains only */
	{ E_WILD, "a.example.com", true },
	{ E_WILD, "a.b.example.com", true },
	{ E_WILD, "A.EXAMPLE.COM.", true },
	{ E_WILD, "_dmarc.example.com", true },
	{ E_WILD, "example.com", false },
	{ E_WILD, "example.com.", false },
	{ E_WILD, "EXAMPLE.COM", false },
	{ E_WILD, "badexample.com", false },
	{ E_WILD, "a.badexample.com", false },
	{ E_WILD, "xexample.com", false },
	{ E_WILD, ".example.com", false },
	{ E_WILD, "a..example.com", false },
	{ E_WILD, "a.example.com..", false },
	{ E_WILD, "a.example.com.evil.net", false },
	{ E_WILD, "example.com.a", false },
	{ E_WILD, "a.example.co", false },
	/* an escaped dot is inside a label: this name is under com */
	{ E_WILD, "x\\.example.com", false },
	{ E_WILD, "", false },

	/* CIDR entries never match a name */
	{ E_CIDR, "10.0.0.0", false },
	{ E_CIDR, "10.1.2.3", false },
	{ E_CIDR, "", false },

	/* the entry's port plays no part in the name */
	{ E_PORT, "db.example.org", true },
	{ E_PORT, "db.example.org:5432", false },

	/* "*.EXAMPLE.net." in the policy: lower-cased, root dot dropped */
	{ E_WILDUP, "x.example.net", true },
	{ E_WILDUP, "X.Example.Net.", true },
	{ E_WILDUP, "example.net", false },
};

UNIT_SUITE(netverdict_names)
{
	char yaml[512], longest[254], name[300];
	const struct pol_net_entry *e;
	struct policy *p;

	/* a 253-character domain: three 63-character labels, then 61 */
	memset(longest, 'a', 253);
	longest[63] = longest[127] = longest[191] = '.';
	longest[253] = '\0';
	snprintf(yaml, sizeof(yaml),
		 "version: 1\n"
		 "network:\n"
		 "  allow:\n"
		 "    - api.example.com\n"
		 "    - '*.example.com:443'\n"
		 "    - 10.0.0.0/8\n"
		 "    - db.example.org:5432\n"
		 "    - '*.EXAMPLE.net.'\n"
		 "    - %s\n",
		 longest);
	p = parse(yaml);

	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(p->network.n_allow == E_N);
	if (p->network.n_allow != E_N)
		goto out;
	e = p->network.allow;
	CHECK(e[E_WILD].kind == POL_NET_WILDCARD);
	CHECK_STR(e[E_WILDUP].domain, "example.net");
	CHECK(strlen(e[E_LONG].domain) == 253);
	for (size_t i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++)
		CHECK_MSG(pol_net_entry_name_matches(&e[name_cases[i].entry], name_cases[i].name) ==
				  name_cases[i].match,
			  name_cases[i].name);
	CHECK(!pol_net_entry_name_matches(&e[E_EXACT], NULL));

	/* 253 characters is the longest name; one root dot does not count */
	long_name(name, 253);
	CHECK(strlen(name) == 253);
	CHECK(pol_net_entry_name_matches(&e[E_WILD], name));
	strcat(name, ".");
	CHECK(pol_net_entry_name_matches(&e[E_WILD], name));
	long_name(name, 254);
	CHECK(!pol_net_entry_name_matches(&e[E_WILD], name));
	strcat(name, ".");
	CHECK(!pol_net_entry_name_matches(&e[E_WILD], name));
	long_name(name, 299);
	CHECK(!pol_net_entry_name_matches(&e[E_WILD], name));

	snprintf(name, sizeof(name), "%s", e[E_LONG].domain);
	CHECK(pol_net_entry_name_matches(&e[E_LONG], name));
	name[0] = 'A';
	strcat(name, ".");
	CHECK(pol_net_entry_name_matches(&e[E_LONG], name));
	snprintf(name, sizeof(name), "x%s", e[E_LONG].domain);
	CHECK(!pol_net_entry_name_matches(&e[E_LONG], name));
out:
	policy_free(p);
}

static const struct {
	int entry;
	uint16_t port;
	bool ok;
} port_cases[] = {
	{ E_EXACT, 0, true },   { E_EXACT, 1, true },   { E_EXACT, 65535, true },
	{ E_CIDR, 0, true },    { E_CIDR, 443, true },  { E_WILD, 443, true },
	{ E_WILD, 442, false }, { E_WILD, 444, false }, { E_WILD, 0, false },
	{ E_PORT, 5432, true }, { E_PORT, 80, false },
};

UNIT_SUITE(netverdict_ports)
{
	struct policy *p = parse("version: 1\n"
				 "network:\n"
				 "  allow: [api.example.com, '*.example.com:443', 10.0.0.0/8,\n"
				 "          'db.example.org:5432']\n");

	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(p->network.n_allow == 4);
	for (size_t i = 0;
	     p->network.n_allow == 4 && i < sizeof(port_cases) / sizeof(port_cases[0]); i++)
		CHECK_MSG(pol_net_entry_port_ok(&p->network.allow[port_cases[i].entry],
						port_cases[i].port) == port_cases[i].ok,
			  p->network.allow[port_cases[i].entry].text);
	policy_free(p);
}

/* ---- walking the allowlist by name ------------------------------------ */

static const struct {
	const char *name;
	size_t start;
	long want; /* index of the entry found, -1 for none */
} walk_cases[] = {
	{ "api.example.com", 0, 1 },  { "api.example.com", 1, 1 },     { "api.example.com", 2, 2 },
	{ "api.example.com", 3, 3 },  { "api.example.com", 4, -1 },    { "API.EXAMPLE.COM.", 2, 2 },
	{ "www.example.com", 2, 3 },  { "example.com", 0, -1 },        { "other.org.", 0, 4 },
	{ "x.other.org", 0, -1 },     { "10.0.0.0", 0, -1 },           { "10.1.2.3", 0, -1 },
	{ "api.example.com", 5, -1 }, { "api.example.com", 1000, -1 }, { "", 0, -1 },
};

UNIT_SUITE(netverdict_name_match)
{
	struct policy *p = parse("version: 1\n"
				 "network:\n"
				 "  allow: [10.0.0.0/8, '*.example.com:443', api.example.com,\n"
				 "          '*.example.com:80', other.org]\n");
	struct policy *none = policy_new_default();

	CHECK(p != NULL && none != NULL);
	if (!p || !none)
		goto out;
	for (size_t i = 0; i < sizeof(walk_cases) / sizeof(walk_cases[0]); i++) {
		size_t idx = walk_cases[i].start;
		const struct pol_net_entry *e = pol_net_name_match(p, walk_cases[i].name, &idx);

		if (walk_cases[i].want < 0) {
			CHECK_MSG(e == NULL, walk_cases[i].name);
			continue;
		}
		CHECK_MSG(e == &p->network.allow[walk_cases[i].want], walk_cases[i].name);
		CHECK_MSG(idx == (size_t)walk_cases[i].want, walk_cases[i].name);
	}

	/* the caller's loop: every entry allowing a name, with its ports */
	size_t idx = 0, n = 0;
	uint16_t ports[4] = { 0 };

	for (const struct pol_net_entry *e; (e = pol_net_name_match(p, "a.Example.com", &idx));
	     idx++)
		if (n < 4)
			ports[n++] = e->port;
	CHECK(n == 2 && ports[0] == 443 && ports[1] == 80);

	idx = 0;
	CHECK(pol_net_name_match(none, "api.example.com", &idx) == NULL);
	CHECK(pol_net_name_match(NULL, "api.example.com", &idx) == NULL);
out:
	policy_free(p);
	policy_free(none);
}
