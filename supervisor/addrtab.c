/* A small vector: a function resolves tens of names, not thousands, and
 * a linear scan of live records beats a hash at that size. */
#include "addrtab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct rec {
	int family;
	uint8_t addr[16];
	size_t rule;
	int64_t expires_ms;
	char *name;
};

struct addrtab {
	struct rec *v;
	size_t n, cap;
};

struct addrtab *addrtab_new(void)
{
	return calloc(1, sizeof(struct addrtab));
}

void addrtab_free(struct addrtab *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
	free(t);
}

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static bool same_addr(const struct rec *r, const struct pol_addr *a)
{
	return r->family == a->family && memcmp(r->addr, a->addr, addr_len(a->family)) == 0;
}

int addrtab_add(struct addrtab *t, const struct pol_addr *addr, const char *name, size_t rule,
		int64_t expires_ms)
{
	struct pol_addr a;

	pol_addr_normalize(addr, &a);
	for (size_t i = 0; i < t->n; i++) {
		struct rec *r = &t->v[i];
		if (same_addr(r, &a) && r->rule == rule) {
			if (expires_ms > r->expires_ms)
				r->expires_ms = expires_ms;
			return 0;
		}
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		struct rec *v = realloc(t->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	struct rec *r = &t->v[t->n++];
	memset(r, 0, sizeof *r);
	r->family = a.family;
	memcpy(r->addr, a.addr, addr_len(a.family));
	r->rule = rule;
	r->expires_ms = expires_ms;
	r->name = copy;
	return 0;
}

const char *addrtab_lookup(struct addrtab *t, const struct pol_network *net,
			   const struct pol_addr *addr, int64_t now_ms, size_t *rule)
{
	struct pol_addr a;

	pol_addr_normalize(addr, &a);
	for (size_t i = 0; i < t->n; i++) {
		const struct rec *r = &t->v[i];
		if (r->expires_ms < now_ms || !same_addr(r, &a) || r->rule >= net->n_allow)
			continue;
		if (!pol_net_entry_port_ok(&net->allow[r->rule], a.port))
			continue;
		*rule = r->rule;
		return r->name;
	}
	return NULL;
}

const char *addrtab_name(struct addrtab *t, const struct pol_addr *addr, int64_t now_ms)
{
	struct pol_addr a;

	pol_addr_normalize(addr, &a);
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].expires_ms >= now_ms && same_addr(&t->v[i], &a))
			return t->v[i].name;
	return NULL;
}

bool addrtab_any(struct addrtab *t, const struct pol_addr *addr, int64_t now_ms)
{
	struct pol_addr a;

	pol_addr_normalize(addr, &a);
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].expires_ms >= now_ms && t->v[i].rule != ADDRTAB_NO_RULE &&
		    same_addr(&t->v[i], &a))
			return true;
	return false;
}

void addrtab_expire(struct addrtab *t, int64_t now_ms)
{
	size_t keep = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i].expires_ms < now_ms) {
			free(t->v[i].name);
			continue;
		}
		t->v[keep++] = t->v[i];
	}
	t->n = keep;
}

size_t addrtab_count(const struct addrtab *t)
{
	return t->n;
}
