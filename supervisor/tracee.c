/* Open addressing with linear probing and backward-shift deletion: the
 * table stays dense without tombstones however many tasks come and go. */
#include "tracee.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tracee_tab {
	struct tracee *slots; /* tid 0 marks an empty slot */
	size_t cap;           /* power of two */
	size_t n;
};

static size_t hash(pid_t tid, size_t cap)
{
	return ((uint32_t)tid * 2654435761u) & (cap - 1);
}

struct tracee_tab *tracee_tab_new(void)
{
	struct tracee_tab *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->cap = 64;
	t->slots = calloc(t->cap, sizeof *t->slots);
	if (!t->slots) {
		free(t);
		return NULL;
	}
	return t;
}

void tracee_tab_free(struct tracee_tab *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].tid && t->slots[i].pidfd >= 0)
			close(t->slots[i].pidfd);
	free(t->slots);
	free(t);
}

static int grow(struct tracee_tab *t)
{
	size_t cap = t->cap * 2;
	struct tracee *s = calloc(cap, sizeof *s);
	if (!s)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slots[i].tid)
			continue;
		size_t j = hash(t->slots[i].tid, cap);
		while (s[j].tid)
			j = (j + 1) & (cap - 1);
		s[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = s;
	t->cap = cap;
	return 0;
}

struct tracee *tracee_get(struct tracee_tab *t, pid_t tid, bool create)
{
	if (tid <= 0)
		return NULL;
	size_t i = hash(tid, t->cap);
	while (t->slots[i].tid) {
		if (t->slots[i].tid == tid)
			return &t->slots[i];
		i = (i + 1) & (t->cap - 1);
	}
	if (!create)
		return NULL;
	if ((t->n + 1) * 2 > t->cap) {
		if (grow(t) < 0)
			return NULL;
		return tracee_get(t, tid, true);
	}
	memset(&t->slots[i], 0, sizeof t->slots[i]);
	t->slots[i].tid = tid;
	t->slots[i].pidfd = -1;
	t->n++;
	return &t->slots[i];
}

void tracee_del(struct tracee_tab *t, pid_t tid)
{
	size_t mask = t->cap - 1;
	size_t i = hash(tid, t->cap);

	while (t->slots[i].tid && t->slots[i].tid != tid)
		i = (i + 1) & mask;
	if (!t->slots[i].tid)
		return;
	if (t->slots[i].pidfd >= 0)
		close(t->slots[i].pidfd);
	t->n--;
	/* Shift later members of the probe run back into the hole. */
	size_t hole = i;
	for (size_t j = (i + 1) & mask; t->slots[j].tid; j = (j + 1) & mask) {
		size_t home = hash(t->slots[j].tid, t->cap);
		if (((j - home) & mask) >= ((j - hole) & mask)) {
			t->slots[hole] = t->slots[j];
			hole = j;
		}
	}
	memset(&t->slots[hole], 0, sizeof t->slots[hole]);
}

size_t tracee_count(const struct tracee_tab *t)
{
	return t->n;
}

void tracee_each(struct tracee_tab *t, void (*fn)(struct tracee *, void *), void *arg)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].tid)
			fn(&t->slots[i], arg);
}
