/* Open addressing on the inode, linear probing, backward-shift deletion
 * (no tombstones: the table churns with every short-lived socket). */
#include "socktab.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct slot {
	ino_t ino; /* 0: empty (no socket has inode 0) */
	int fd;
	bool marked;
};

struct socktab {
	struct slot *s;
	size_t cap; /* power of two */
	size_t n;
};

static size_t home(const struct socktab *t, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 32) & (t->cap - 1);
}

struct socktab *socktab_new(void)
{
	struct socktab *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->cap = 64;
	t->s = calloc(t->cap, sizeof *t->s);
	if (!t->s) {
		free(t);
		return NULL;
	}
	return t;
}

void socktab_free(struct socktab *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++)
		if (t->s[i].ino)
			close(t->s[i].fd);
	free(t->s);
	free(t);
}

static struct slot *find(const struct socktab *t, ino_t ino)
{
	for (size_t i = home(t, ino);; i = (i + 1) & (t->cap - 1)) {
		if (t->s[i].ino == ino)
			return &t->s[i];
		if (!t->s[i].ino)
			return NULL;
	}
}

static void put(struct socktab *t, struct slot v)
{
	size_t i = home(t, v.ino);
	while (t->s[i].ino)
		i = (i + 1) & (t->cap - 1);
	t->s[i] = v;
	t->n++;
}

static int grow(struct socktab *t)
{
	struct slot *old = t->s;
	size_t oldcap = t->cap;
	struct slot *s = calloc(oldcap * 2, sizeof *s);

	if (!s)
		return -ENOMEM;
	t->s = s;
	t->cap = oldcap * 2;
	t->n = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].ino)
			put(t, old[i]);
	free(old);
	return 0;
}

int socktab_add(struct socktab *t, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) || st.st_ino == 0) {
		close(fd);
		return -ENOTSOCK;
	}
	struct slot *have = find(t, st.st_ino);
	if (have) {
		close(fd);
		have->marked = true;
		return 0;
	}
	if ((t->n + 1) * 4 > t->cap * 3 && grow(t) < 0) {
		close(fd);
		return -ENOMEM;
	}
	/* Marked: a copy made during a collection must survive its sweep. */
	put(t, (struct slot){ .ino = st.st_ino, .fd = fd, .marked = true });
	return 0;
}

int socktab_dup(const struct socktab *t, ino_t ino)
{
	const struct slot *s = ino ? find(t, ino) : NULL;
	if (!s)
		return -ENOENT;
	int fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 3);
	return fd < 0 ? -errno : fd;
}

void socktab_begin_gc(struct socktab *t)
{
	for (size_t i = 0; i < t->cap; i++)
		t->s[i].marked = false;
}

void socktab_mark(struct socktab *t, ino_t ino)
{
	struct slot *s = ino ? find(t, ino) : NULL;
	if (s)
		s->marked = true;
}

/* Removes slot i, shifting back the entries of its probe run. */
static void remove_at(struct socktab *t, size_t i)
{
	size_t j = i;

	t->s[i].ino = 0;
	t->n--;
	for (;;) {
		j = (j + 1) & (t->cap - 1);
		if (!t->s[j].ino)
			return;
		size_t h = home(t, t->s[j].ino);
		/* Move j back to i unless its home lies cyclically in (i, j]. */
		bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
		if (stays)
			continue;
		t->s[i] = t->s[j];
		t->s[j].ino = 0;
		i = j;
	}
}

size_t socktab_sweep(struct socktab *t)
{
	size_t closed = 0;

	for (size_t i = 0; i < t->cap;) {
		if (t->s[i].ino && !t->s[i].marked) {
			close(t->s[i].fd);
			remove_at(t, i);
			closed++;
			continue; /* slot i may hold a shifted entry now */
		}
		i++;
	}
	return closed;
}

size_t socktab_count(const struct socktab *t)
{
	return t->n;
}
