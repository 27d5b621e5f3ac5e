/* The scans' tree walk against fts(3), which it replaces, and the ordered
 * pool that hands results back in push order. */
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "pool.h"
#include "unit.h"
#include "util.h"
#include "walk.h"

static bool put_file(void *arg, const char *path, bool named)
{
	struct util_sb *sb = arg;

	util_sb_puts(sb, named ? "F " : "f ");
	util_sb_puts(sb, path);
	util_sb_putc(sb, '\n');
	return true;
}

static bool put_error(void *arg, const char *path, int err)
{
	struct util_sb *sb = arg;
	char line[512];

	snprintf(line, sizeof line, "E %s %d\n", path, err);
	util_sb_puts(sb, line);
	return true;
}

static int name_order(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

/* What `fnguard scan` took from fts: files (named at the root level) and
 * the entries it reported as errors. */
static char *fts_listing(char **roots)
{
	struct util_sb sb;
	FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_COMFOLLOW | FTS_NOCHDIR, name_order);
	FTSENT *e;

	util_sb_init(&sb, 0);
	while (fts && (e = fts_read(fts))) {
		if (e->fts_info == FTS_F)
			put_file(&sb, e->fts_path, e->fts_level == FTS_ROOTLEVEL);
		else if (e->fts_info == FTS_DNR || e->fts_info == FTS_NS || e->fts_info == FTS_ERR)
			put_error(&sb, e->fts_path, e->fts_errno);
	}
	if (fts)
		fts_close(fts);
	return util_sb_take(&sb);
}

static char *walk_listing(char **roots)
{
	static const struct sup_walk_ops ops = { .file = put_file, .error = put_error };
	struct util_sb sb;

	util_sb_init(&sb, 0);
	CHECK(sup_walk(roots, true, &ops, &sb) == 0);
	return util_sb_take(&sb);
}

static void touch(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	_cleanup_fd_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
}

static void sub(const char *dir, const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", dir, name);
	CHECK(mkdir(out, 0755) == 0);
}

UNIT_SUITE(walk_same_as_fts)
{
	char tmp[] = "/tmp/fng-walk-XXXXXX", a[256], b[256], c[256], link[512], cmd[512];

	if (!mkdtemp(tmp)) {
		CHECK(false);
		return;
	}
	/* Names fts sorts by byte value: upper case, digits, dots first. */
	sub(tmp, "b", b, sizeof b);
	sub(tmp, "a", a, sizeof a);
	sub(b, "c", c, sizeof c);
	touch(tmp, "z.py");
	touch(tmp, "B.py");
	touch(tmp, "a.py");
	touch(a, "x.js");
	touch(a, "10");
	touch(a, "9");
	touch(a, ".hidden.py");
	touch(b, "y.py");
	touch(c, "deep.sh");
	snprintf(link, sizeof link, "%s/link.py", a);
	CHECK(symlink("/etc/passwd", link) == 0); /* not followed in a tree */
	snprintf(link, sizeof link, "%s/up", c);
	CHECK(symlink(tmp, link) == 0); /* a loop, were links followed */
	snprintf(link, sizeof link, "%s/fifo.py", b);
	CHECK(mkfifo(link, 0644) == 0);
	snprintf(link, sizeof link, "%s/dangling", tmp);
	CHECK(symlink("/nonexistent/x", link) == 0);

	char file[300], missing[300], slash[300], dslash[300], tolink[300];
	snprintf(file, sizeof file, "%s/z.py", tmp);
	snprintf(missing, sizeof missing, "%s/missing", tmp);
	snprintf(slash, sizeof slash, "%s/", b);
	snprintf(dslash, sizeof dslash, "%s//", a);
	snprintf(tolink, sizeof tolink, "%s/c/up", b);
	char *sets[][8] = {
		{ tmp, NULL },           { file, tmp, NULL },
		{ b, a, missing, NULL }, /* roots in name order; an error in turn */
		{ slash, dslash, NULL }, /* "b/" + "y.py" is "b/y.py"; "a//" keeps one */
		{ tolink, link, NULL },  /* a root link is followed; a dangling one skipped */
	};
	for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
		_cleanup_free_ char *want = fts_listing(sets[i]);
		_cleanup_free_ char *got = walk_listing(sets[i]);
		char what[4096];

		snprintf(what, sizeof what, "set %zu:\n--- fts\n%s--- walk\n%s", i,
			 want ? want : "", got ? got : "");
		CHECK_MSG(want && got && !strcmp(want, got), what);
	}

	static const struct sup_walk_ops ops = { .file = put_file, .error = put_error };
	char empty[] = "", *bad[] = { tmp, empty, NULL };
	struct util_sb sb;
	util_sb_init(&sb, 0);
	CHECK(sup_walk(bad, true, &ops, &sb) == -ENOENT); /* as fts_open() */
	util_sb_free(&sb);

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	CHECK(system(cmd) == 0);
}

struct order {
	size_t next_done;
	bool in_order;
	unsigned max_worker;
	unsigned long work_sum;
};

struct num_item {
	size_t seq;
	unsigned long square;
	bool worked;
};

static void num_work(void *ctx, unsigned worker, void *item)
{
	struct num_item *it = item;
	volatile unsigned long spin = 0;

	(void)ctx;
	/* Uneven work, so that items finish out of order. */
	for (size_t i = 0; i < (it->seq % 7) * 20000; i++)
		spin += i;
	it->square = (unsigned long)it->seq * it->seq;
	it->worked = true;
	(void)worker;
}

static void num_done(void *ctx, void *item)
{
	struct order *o = ctx;
	struct num_item *it = item;

	o->in_order &= it->seq == o->next_done;
	o->work_sum += it->square;
	o->next_done++;
}

UNIT_SUITE(pool_hands_back_in_order)
{
	static const unsigned workers[] = { 0, 1, 3 };
	static const size_t windows[] = { 1, 2, 64 };

	for (size_t w = 0; w < ARRAY_SIZE(workers); w++)
		for (size_t k = 0; k < ARRAY_SIZE(windows); k++) {
			struct order o = { .in_order = true };
			unsigned long want = 0;
			struct sup_pool *p = sup_pool_new(workers[w], sizeof(struct num_item),
							  windows[k], num_work, num_done, &o);

			CHECK(p != NULL);
			if (!p)
				return;
			CHECK(sup_pool_threads(p) <= workers[w]);
			for (size_t i = 0; i < 300; i++) {
				struct num_item *it = sup_pool_slot(p);

				CHECK(!it->worked); /* slots come back zeroed */
				it->seq = i;
				/* Every fifth needs no work: done in turn all the same. */
				if (i % 5 == 0)
					it->square = (unsigned long)i * i;
				sup_pool_push(p, i % 5 == 0);
				want += (unsigned long)i * i;
			}
			sup_pool_finish(p);
			char what[128];
			snprintf(what, sizeof what,
				 "workers %u window %zu: order %d done %zu sum %lu want %lu",
				 workers[w], windows[k], o.in_order, o.next_done, o.work_sum, want);
			CHECK_MSG(o.in_order && o.next_done == 300 && o.work_sum == want, what);
		}
	sup_pool_finish(NULL);
}
