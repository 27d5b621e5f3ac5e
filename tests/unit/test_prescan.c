/* The pre-launch scan on its threads: every code file the walk finds,
 * in walk order, with the findings a scan of each reports; the ids of
 * its threads; abandoned scans stop and free. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "codeopen.h"
#include "pool.h"
#include "prescan.h"
#include "rules.h"
#include "unit.h"
#include "util.h"
#include "walk.h"

static void put(const char *dir, const char *name, const char *text)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static bool list_code(void *arg, const char *path, bool named)
{
	(void)named;
	if (sup_code_walked(path)) {
		util_sb_puts(arg, path);
		util_sb_putc(arg, '\n');
	}
	return true;
}

static bool pass_error(void *arg, const char *path, int err)
{
	(void)arg;
	(void)path;
	(void)err;
	return true;
}

/* Each file as "path" plus " rule:line:col" per finding. */
static void put_result(void *arg, const struct prescan_file *f)
{
	struct util_sb *sb = arg;
	char hit[160];

	util_sb_puts(sb, f->path);
	for (size_t i = 0; i < f->n_hits; i++) {
		snprintf(hit, sizeof hit, " %s:%zu:%zu", f->hits[i].rule_id, f->hits[i].line,
			 f->hits[i].col);
		util_sb_puts(sb, hit);
	}
	util_sb_putc(sb, '\n');
	CHECK(f->scanned && !f->known && !f->oom && S_ISREG(f->st->st_mode));
}

struct tree {
	char root[32];
	char *roots[5];
	size_t n;
};

static bool make_tree(struct tree *t)
{
	char d[300];

	snprintf(t->root, sizeof t->root, "/tmp/fng-prescan-XXXXXX");
	if (!mkdtemp(t->root))
		return false;
	snprintf(d, sizeof d, "%s/pkg", t->root);
	mkdir(d, 0755);
	put(d, "b.py", "import os\nx = 1;  os.system('id')\n");
	put(d, "a.py", "print('clean')\n");
	put(t->root, "z.js", "os.system(1)\nos.system(2)\n");
	put(t->root, "m.txt", "os.system('not code')\n");
	static char stdlib[] = "/usr/lib/python3.11", none[] = "/nonexistent/fng";
	/* A root twice, a tree of a few hundred files, one that is missing. */
	t->roots[0] = t->root;
	t->roots[1] = stdlib;
	t->roots[2] = none;
	t->roots[3] = t->root;
	t->n = 4;
	return true;
}

static void drop_tree(const struct tree *t)
{
	char cmd[64];
	snprintf(cmd, sizeof cmd, "rm -rf %s", t->root);
	CHECK(system(cmd) == 0);
}

UNIT_SUITE(prescan_walk_order_and_findings)
{
	struct tree t;
	char err[256];
	struct util_sb want, got;
	static const struct sup_walk_ops ops = { .file = list_code, .error = pass_error };

	if (!make_tree(&t)) {
		CHECK(false);
		return;
	}
	struct rules *r = rules_new();
	CHECK(r && rules_add(r, "sys", "os\\.system\\(", NULL, "high", NULL, "test", err,
			     sizeof err) == 0);
	util_sb_init(&want, 0);
	util_sb_init(&got, 0);
	for (size_t i = 0; i < t.n; i++) {
		char *const one[] = { t.roots[i], NULL };
		sup_walk(one, false, &ops, &want);
	}
	struct prescan *p = prescan_start(t.roots, t.n);
	CHECK(p != NULL);
	prescan_go(p, r, false, NULL);
	/* The loop waits on this fd: it says when finishing will not wait. */
	struct pollfd pf = { .fd = prescan_fd(p), .events = POLLIN };
	CHECK(pf.fd < 0 || poll(&pf, 1, 10000) == 1);
	prescan_results(p, put_result, &got);
	prescan_results(p, put_result, &got); /* once */
	prescan_free(p);
	_cleanup_free_ char *w = util_sb_take(&want), *g = util_sb_take(&got);

	/* The same files in the same order, findings aside. */
	char *plain = g ? strdup(g) : NULL;
	for (char *q = plain; q && (q = strchr(q, ' '));) {
		char *eol = strchr(q, '\n');
		memmove(q, eol, strlen(eol) + 1);
	}
	CHECK(w && plain && strlen(w) > 1000);
	CHECK_MSG(w && plain && !strcmp(w, plain), plain);
	free(plain);

	char line[512];
	snprintf(line, sizeof line, "%s/pkg/a.py\n%s/pkg/b.py sys:2:9\n%s/z.js sys:1:1 sys:2:1\n",
		 t.root, t.root, t.root);
	CHECK_MSG(g && strncmp(g, line, strlen(line)) == 0, g);
	CHECK_MSG(g && strstr(g + strlen(line), line) != NULL,
		  "the root walked twice is scanned twice");
	rules_free(r);
	drop_tree(&t);
}

/* The tree and a rule set with one rule that flags os.system; NULL when
 * either could not be made (a failed check). */
static struct rules *tree_and_rule(struct tree *t)
{
	char err[256];

	if (!make_tree(t)) {
		CHECK(false);
		return NULL;
	}
	struct rules *r = rules_new();
	if (!r || rules_add(r, "sys", "os\\.system", NULL, NULL, NULL, "test", err, sizeof err)) {
		CHECK(false);
		rules_free(r);
		drop_tree(t);
		return NULL;
	}
	return r;
}

static void count_hits(void *arg, const struct prescan_file *f)
{
	*(size_t *)arg += f->n_hits;
}

/* With the shipped packs only high and critical findings count; a
 * policy's own rules count whatever their severity. */
UNIT_SUITE(prescan_pack_severity)
{
	struct tree t;
	char err[256];

	if (!make_tree(&t)) {
		CHECK(false);
		return;
	}
	char *only[] = { t.root };
	struct rules *r = rules_new();
	CHECK(r && rules_add(r, "low", "os\\.system\\(", NULL, "low", NULL, "test", err,
			     sizeof err) == 0);
	for (int packs = 0; packs < 2; packs++) {
		size_t hits = 0;
		struct prescan *p = prescan_start(only, 1);
		prescan_go(p, r, packs, NULL);
		prescan_results(p, count_hits, &hits);
		prescan_free(p);
		CHECK(hits == (packs ? 0u : 3u));
	}
	rules_free(r);
	drop_tree(&t);
}

static void never(void *arg, const struct prescan_file *f)
{
	(void)f;
	*(bool *)arg = true;
}

/* Abandoned before or after the rules came, or never given any: the
 * threads stop and nothing is handed out. */
UNIT_SUITE(prescan_abandoned)
{
	struct tree t;
	bool called = false;
	struct rules *r = tree_and_rule(&t);

	if (!r)
		return;
	struct prescan *p = prescan_start(t.roots, t.n);
	prescan_results(p, never, &called); /* before the rules: nothing */
	prescan_free(p);
	p = prescan_start(t.roots, t.n);
	prescan_go(p, r, false, NULL);
	prescan_free(p);
	p = prescan_start(t.roots, t.n);
	prescan_go(p, NULL, false, NULL); /* no rules: nothing is judged */
	prescan_results(p, never, &called);
	prescan_free(p);
	CHECK(!called);
	prescan_results(NULL, never, &called);
	prescan_free(NULL);
	CHECK(prescan_fd(NULL) == -1);
	rules_free(r);
	drop_tree(&t);
}

static size_t threads(void)
{
	size_t n = 0;
	DIR *d = opendir("/proc/self/task");
	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* The thread count once it is want: a thread pthread_join() saw end is
 * still listed for a moment, until the kernel has released it. */
static size_t settle(size_t want)
{
	size_t n = threads();
	for (int i = 0; i < 200 && n != want; i++) {
		usleep(5000);
		n = threads();
	}
	return n;
}

/* Every thread exists once prescan_start() returns (the filter, built
 * next, names them all: run.c) and stays until prescan_free(), even once
 * the scan is over: an id that ended could be a workload process's next,
 * one the filter would then protect. */
UNIT_SUITE(prescan_threads_live_until_freed)
{
	struct tree t;
	struct rules *r = tree_and_rule(&t);

	if (!r)
		return;
	char *only[] = { t.root };
	size_t before = settle(1); /* earlier suites' threads are gone */
	struct prescan *p = prescan_start(only, 1);
	size_t n = threads();
	CHECK(n == before + 1 + sup_pool_workers(8));
	prescan_go(p, r, false, NULL);
	size_t hits = 0;
	prescan_results(p, count_hits, &hits);
	CHECK(hits == 3);
	CHECK(threads() == n);
	prescan_free(p);
	CHECK(settle(before) == before);
	rules_free(r);
	drop_tree(&t);
}
