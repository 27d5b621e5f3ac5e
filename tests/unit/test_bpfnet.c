/* The bpf engine's CIDR trie gives the notify engine's verdicts: the
 * entries bpfnet_cidr_slots builds, looked up as the kernel's LPM trie
 * and net.bpf.c do (longest prefix, then the first slot whose port fits),
 * against pol_net_addr_verdict on a grid of addresses and ports. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "bpfnet.h"
#include "policy.h"
#include "unit.h"

static struct policy *parse(const char *yaml)
{
	struct pol_diags d = { 0 };
	struct policy *p = NULL;

	policy_parse(yaml, strlen(yaml), "t.yaml", &p, &d);
	pol_diags_clear(&d);
	free(d.v);
	return p;
}

static bool key_covers(const struct fng_cidr_key *k, const struct fng_cidr_key *full)
{
	for (uint32_t bit = 0; bit < k->prefixlen; bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));
		if ((k->data[bit / 8] & m) != (full->data[bit / 8] & m))
			return false;
	}
	return true;
}

/* What net.bpf.c's judge() decides from the CIDR trie alone: the rule's
 * text, or NULL when refused. */
static const char *trie_verdict(const struct policy *p, const struct pol_addr *raw)
{
	struct pol_addr n;
	struct fng_cidr_key want = { .prefixlen = 8 + 128 }, k, best_k = { 0 };
	struct fng_slots v, best = { 0 };
	bool found = false;
	char err[256];

	pol_addr_normalize(raw, &n);
	want.data[0] = n.family == AF_INET ? 4 : 6;
	memcpy(&want.data[1], n.addr, n.family == AF_INET ? 4 : 16);
	for (size_t i = 0; i < p->network.n_allow; i++) {
		if (bpfnet_cidr_slots(&p->network, i, &k, &v, err, sizeof err) != 1)
			continue;
		if (key_covers(&k, &want) && (!found || k.prefixlen > best_k.prefixlen)) {
			best_k = k;
			best = v;
			found = true;
		}
	}
	for (uint32_t i = 0; found && i < best.n; i++)
		if (best.port[i] == 0 || best.port[i] == raw->port)
			return p->network.allow[best.rule[i]].text;
	return NULL;
}

UNIT_SUITE(bpfnet_trie_matches_notify_verdicts)
{
	struct policy *p = parse("version: 1\nnetwork:\n  loopback: false\n  allow:\n"
				 "    - \"10.0.0.0/8:443\"\n"
				 "    - \"10.1.0.0/16:80\"\n"
				 "    - \"10.1.2.0/24\"\n"
				 "    - \"10.1.2.3/32:22\"\n"
				 "    - \"192.0.2.1\"\n"
				 "    - \"[2001:db8::]/32:443\"\n"
				 "    - \"[2001:db8:1::]/48\"\n"
				 "    - \"[::ffff:0:0]/96:80\"\n"
				 "    - \"0.0.0.0/0:53\"\n"
				 "    - api.example.com\n");
	static const char *const addrs[] = {
		"10.1.2.3",        "10.1.2.4",         "10.1.3.3",       "10.2.0.1",
		"11.0.0.1",        "192.0.2.1",        "192.0.2.2",      "::ffff:10.1.2.3",
		"::ffff:11.0.0.1", "64:ff9b::a01:203", "2002:a01:303::", "2001:db8:1::5",
		"2001:db8:2::1",   "2001:db9::1",      "::ffff:0:1",     "::1",
	};
	static const uint16_t ports[] = { 0, 22, 53, 80, 443, 8080 };
	int compared = 0;

	CHECK(p != NULL);
	for (size_t i = 0; p && i < sizeof addrs / sizeof addrs[0]; i++) {
		for (size_t j = 0; j < sizeof ports / sizeof ports[0]; j++) {
			struct pol_addr a = { .family = strchr(addrs[i], ':') ? AF_INET6 : AF_INET,
					      .port = ports[j] };
			struct pol_verdict want;
			char what[128];

			inet_pton(a.family, addrs[i], a.addr);
			pol_net_addr_verdict(p, &a, &want);
			const char *got = trie_verdict(p, &a);
			snprintf(what, sizeof what, "%s port %u: notify %s, trie %s", addrs[i],
				 ports[j], want.allowed ? want.rule : "refused",
				 got ? got : "refused");
			CHECK_MSG(want.allowed == (got != NULL), what);
			if (want.allowed && got)
				CHECK_MSG(strcmp(want.rule, got) == 0, what);
			compared++;
		}
	}
	CHECK(compared == 16 * 6);
	policy_free(p);
}

UNIT_SUITE(bpfnet_too_many_covering_entries_is_an_error)
{
	struct policy *p = parse("version: 1\nnetwork:\n  allow: [\"10.0.0.0/8\", \"10.0.0.0/9\", "
				 "\"10.0.0.0/10\", \"10.0.0.0/11\", \"10.0.0.0/12\", "
				 "\"10.0.0.0/13\", \"10.0.0.0/14\", \"10.0.0.0/15\", "
				 "\"10.0.0.0/16\", api.example.com]\n");
	struct fng_cidr_key k;
	struct fng_slots v;
	char err[256] = "";

	CHECK(p != NULL);
	if (!p)
		return;
	/* The eighth prefix holds eight entries; the ninth would need nine. */
	CHECK(bpfnet_cidr_slots(&p->network, 7, &k, &v, err, sizeof err) == 1);
	CHECK(v.n == 8 && k.prefixlen == 8 + 15);
	CHECK(bpfnet_cidr_slots(&p->network, 8, &k, &v, err, sizeof err) == -E2BIG);
	CHECK(strstr(err, "10.0.0.0/16") != NULL);
	CHECK(bpfnet_cidr_slots(&p->network, 9, &k, &v, err, sizeof err) == 0);
	policy_free(p);
}
