#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rep_int.h"

const char *const rep_act_names[RA_N] = { "allow", "deny", "kill", "audit", "other" };

static uint32_t fnv1a(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

/* A slot holds the entry's hash (high half) and index + 1 (low half):
 * probing compares hashes without touching the entries. */
#define SLOT(h, i)   (((uint64_t)(h) << 32) | (uint64_t)((i) + 1))
#define SLOT_IDX(s)  ((size_t)((s)&0xffffffffu) - 1)
#define SLOT_HASH(s) ((uint32_t)((s) >> 32))

static int grow_slots(struct rep_tally *t)
{
	size_t ns = t->n_slot ? t->n_slot * 2 : 64;
	uint64_t *slot = calloc(ns, sizeof *slot);

	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t j = t->v[i].hash & (ns - 1);
		while (slot[j])
			j = (j + 1) & (ns - 1);
		slot[j] = SLOT(t->v[i].hash, i);
	}
	free(t->slot);
	t->slot = slot;
	t->n_slot = ns;
	return 0;
}

static bool same_key(const struct rep_cnt *c, const char *key, size_t len)
{
	return c->len == len && memcmp(c->key, key, len) == 0;
}

struct rep_cnt *rep_tally_get(struct rep_tally *t, const char *key, size_t len)
{
	uint32_t h;
	size_t j;

	/* Lines of one invocation, one function, one minute come together:
	 * the last key asked for is the likeliest next one. */
	if (t->last && same_key(t->last, key, len))
		return t->last;
	h = fnv1a(key, len);
	if ((t->n + 1) * 2 > t->n_slot && grow_slots(t) < 0)
		return NULL;
	for (j = h & (t->n_slot - 1); t->slot[j]; j = (j + 1) & (t->n_slot - 1)) {
		if (SLOT_HASH(t->slot[j]) != h)
			continue;
		struct rep_cnt *c = &t->v[SLOT_IDX(t->slot[j])];
		if (same_key(c, key, len))
			return t->last = c;
	}
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 16;
		struct rep_cnt *v = realloc(t->v, nc * sizeof *v);
		if (!v)
			return NULL;
		t->v = v;
		t->cap = nc;
		t->last = NULL;
	}
	struct rep_cnt *c = &t->v[t->n];
	*c = (struct rep_cnt){ .key = strndup(key, len), .hash = h };
	/* A key with a NUL inside is kept as far as the NUL, and matched so. */
	c->len = c->key ? strlen(c->key) : 0;
	if (!c->key)
		return NULL;
	t->slot[j] = SLOT(h, t->n);
	t->n++;
	return t->last = c;
}

const struct rep_cnt *rep_tally_find(const struct rep_tally *t, const char *key)
{
	size_t len = strlen(key);
	uint32_t h = fnv1a(key, len);

	if (!t->n_slot)
		return NULL;
	for (size_t j = h & (t->n_slot - 1); t->slot[j]; j = (j + 1) & (t->n_slot - 1)) {
		if (SLOT_HASH(t->slot[j]) != h)
			continue;
		const struct rep_cnt *c = &t->v[SLOT_IDX(t->slot[j])];
		if (strcmp(c->key, key) == 0)
			return c;
	}
	return NULL;
}

void rep_tally_free(struct rep_tally *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].key);
	free(t->v);
	free(t->slot);
	*t = (struct rep_tally){ 0 };
}

uint64_t rep_cnt_viol(const struct rep_cnt *c)
{
	return c->n[RA_DENY] + c->n[RA_KILL] + c->n[RA_AUDIT];
}

static uint64_t cnt_all(const struct rep_cnt *c)
{
	uint64_t s = 0;

	for (int i = 0; i < RA_N; i++)
		s += c->n[i];
	return s;
}

static int by_count(const void *a, const void *b)
{
	const struct rep_cnt *x = *(const struct rep_cnt *const *)a;
	const struct rep_cnt *y = *(const struct rep_cnt *const *)b;
	uint64_t vx = rep_cnt_viol(x), vy = rep_cnt_viol(y);

	if (vx != vy)
		return vx > vy ? -1 : 1;
	vx = cnt_all(x) + x->aux;
	vy = cnt_all(y) + y->aux;
	if (vx != vy)
		return vx > vy ? -1 : 1;
	return strcmp(x->key, y->key);
}

static int by_key(const void *a, const void *b)
{
	const struct rep_cnt *x = *(const struct rep_cnt *const *)a;
	const struct rep_cnt *y = *(const struct rep_cnt *const *)b;

	return strcmp(x->key, y->key);
}

const struct rep_cnt **rep_tally_sorted(const struct rep_tally *t, bool key_order)
{
	const struct rep_cnt **v = malloc((t->n + 1) * sizeof *v);

	if (!v)
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		v[i] = &t->v[i];
	qsort(v, t->n, sizeof *v, key_order ? by_key : by_count);
	return v;
}
