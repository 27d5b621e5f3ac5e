/* The pre-launch scan on threads of its own. One thread walks the code
 * paths as soon as the scan starts (the walk's thousands of system calls
 * overlap the rules' compilation), waits for the rules, then judges each
 * walked file: named by the verdict cache, or read and hashed (a cache
 * match by contents) and scanned by a pool of workers. Results go into a
 * slot per walked file, so they come back in walk order whatever thread
 * made them; only prescan_results() hands them to the supervisor.
 *
 * Every thread is made by prescan_start(), before the workload exists,
 * and lives as long as the supervisor: the filter refuses signals and
 * scheduling calls aimed at any of our threads' ids, and an id must not be
 * freed for a workload process to take while the filter still names it. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "archive.h"
#include "cleanup.h"
#include "codeopen.h"
#include "pool.h"
#include "prescan.h"
#include "rules.h"
#include "vcache.h"
#include "walk.h"

/* Files read and scanned ahead of the one handed back. */
#define PRESCAN_WINDOW      64
#define PRESCAN_THREADS_MAX 8

struct result {
	const char *path; /* borrowed from kept; NULL: not judged (stopped, no memory) */
	struct stat st;
	bool known, scanned, oom, archive, has_pyc;
	char *sourceless; /* an archive's first .pyc with no source */
	struct prescan_hit *hits;
	size_t n_hits, cap_hits;
};

struct worker {
	struct rules_scanner *sc;
	char *buf;
	size_t cap;
};

struct prescan {
	char *const *roots;
	size_t n_roots;
	char **kept; /* the walked code files, in walk order */
	size_t n_kept, cap_kept;
	struct result *res; /* one per kept file */

	/* Set once by prescan_go(), read by the scan's threads after it. */
	const struct rules *rules;
	bool packs;
	const struct vcache *vc;

	pthread_t tid;
	bool threaded;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Under mu. */
	bool go;     /* the rules (or none: stop) were given */
	bool judged; /* every result is in */
	bool quit;   /* prescan_free(): the thread may end */
	atomic_bool stop;
	int done_fd; /* eventfd: written once every result is in */

	struct sup_pool *pool; /* made with the thread, used by it alone */
	struct worker *w;      /* n_w states: the pool's workers, then the pushing thread */
	unsigned n_w;
};

/* The pool's item: which file. */
struct item {
	size_t i;
	/* Hashed by a worker and not in the verdict cache: the pushing
	 * thread reads it again and scans it, without hashing it again. */
	bool rescan;
};

static bool walk_file(void *arg, const char *path, bool named)
{
	struct prescan *p = arg;

	(void)named;
	if (atomic_load_explicit(&p->stop, memory_order_relaxed))
		return false;
	if (!sup_code_walked(path))
		return true;
	if (p->n_kept == p->cap_kept) {
		size_t cap = p->cap_kept ? p->cap_kept * 2 : 256;
		char **v = realloc(p->kept, cap * sizeof *v);
		if (!v)
			return false; /* what was not kept is judged when it is opened */
		p->kept = v;
		p->cap_kept = cap;
	}
	if (!(p->kept[p->n_kept] = strdup(path)))
		return false;
	p->n_kept++;
	return true;
}

static bool walk_error(void *arg, const char *path, int err)
{
	(void)arg;
	(void)path;
	(void)err;
	return true; /* what cannot be read here is judged when it is opened */
}

static void walk_all(struct prescan *p)
{
	static const struct sup_walk_ops ops = { .file = walk_file, .error = walk_error };

	for (size_t i = 0; i < p->n_roots; i++) {
		char *const one[] = { p->roots[i], NULL };
		/* A root that did not resolve (it does not exist) may be
		 * relative: the cwd is the supervisor's to change (become.h). */
		if (p->roots[i][0] != '/')
			continue;
		if (sup_walk(one, false, &ops, p) == -ECANCELED)
			break;
	}
}

static bool on_hit(void *arg, const struct rules_finding *f)
{
	struct result *r = arg;

	if (r->n_hits == r->cap_hits) {
		size_t cap = r->cap_hits ? r->cap_hits * 2 : 8;
		struct prescan_hit *v = realloc(r->hits, cap * sizeof *v);
		if (!v) {
			r->oom = true;
			return false;
		}
		r->hits = v;
		r->cap_hits = cap;
	}
	r->hits[r->n_hits++] = (struct prescan_hit){ f->rule_id, NULL, f->line, f->col };
	return true;
}

static bool on_pack_hit(void *arg, const struct rules_finding *f)
{
	/* The shipped packs: only what enforces is a finding. */
	return !rules_finding_enforces(f, true) || on_hit(arg, f);
}

struct member_scan {
	struct prescan *p;
	struct worker *w;
	struct result *r;
	const char *name; /* of the member being scanned */
};

static bool on_member_hit(void *arg, const struct rules_finding *f)
{
	struct member_scan *ms = arg;
	struct result *r = ms->r;
	size_t before = r->n_hits;

	if (!(ms->p->packs ? on_pack_hit : on_hit)(r, f))
		return false;
	if (r->n_hits > before && !(r->hits[before].member = strdup(ms->name))) {
		r->n_hits--;
		r->oom = true;
		return false;
	}
	return true;
}

static bool scan_member(void *arg, const struct arch_member *m)
{
	struct member_scan *ms = arg;

	ms->name = m->name;
	return rules_scan_with(ms->w->sc, m->path, m->data, m->len, on_member_hit, ms) >= 0;
}

/* An archive's .py members (archive.h), each scanned as the file it
 * would be. One that cannot be read whole is left to its open, which
 * refuses it. */
static void scan_archive(struct prescan *p, struct worker *w, struct result *r, size_t n)
{
	struct member_scan ms = { p, w, r, NULL };
	struct arch_info info;
	char why[256];

	r->archive = true;
	/* With a verdict cache the workers have no scanner of their own
	 * (work()): an archive needs one, as no cache names it. */
	if (!w->sc && !(w->sc = rules_scanner_new(p->rules)))
		return;
	int rc = arch_members(r->path, w->buf, n, scan_member, &ms, &info, why, sizeof why);
	/* Cut short by a lack of memory: what was found is still reported. */
	r->scanned = rc == 0 || r->oom;
	r->has_pyc = info.n_pyc > 0;
	if (rc == 0 && info.sourceless[0] && !(r->sourceless = strdup(info.sourceless)))
		r->oom = true;
}

static void work(void *ctx, unsigned worker, void *item)
{
	struct prescan *p = ctx;
	struct worker *w = &p->w[worker];
	struct item *it = item;
	struct result *r = &p->res[it->i];

	if (atomic_load_explicit(&p->stop, memory_order_relaxed))
		return;
	_cleanup_fd_ int fd = open(r->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &r->st) < 0)
		return;
	/* Larger files are refused when opened; specials are not code. */
	bool archive = arch_is_archive(r->path);
	if (!S_ISREG(r->st.st_mode) ||
	    r->st.st_size > (off_t)(archive ? ARCH_MAX_SIZE : CODE_MAX_FILE))
		return;
	size_t want = (size_t)r->st.st_size;
	if (want + 1 > w->cap) {
		char *b = realloc(w->buf, want + 1);
		if (!b)
			return;
		w->buf = b;
		w->cap = want + 1;
	}
	ssize_t n = pread(fd, w->buf, want, 0);
	if (n < 0)
		return;
	if (archive) {
		scan_archive(p, w, r, (size_t)n);
		return;
	}
	if (p->vc && !it->rescan) {
		unsigned char sha[VCACHE_SHA_LEN];
		vcache_sha(w->buf, (size_t)n, sha);
		if (vcache_has_content(p->vc, sha)) {
			r->scanned = true;
			return;
		}
		/* With a verdict cache the workers only read and hash: a file it
		 * does not know is scanned when handed back, by the pushing
		 * thread with the set's own scanner, which compiles JIT code
		 * only once enough is scanned (a worker's scanner would compile
		 * it at once). */
		if (worker < p->n_w - 1) {
			it->rescan = true;
			return;
		}
	}
	/* Without one, every thread gets a JIT scanner once it has a file to
	 * scan (none for an empty tree). */
	if (!p->vc && !w->sc && !(w->sc = rules_scanner_new(p->rules)))
		return; /* judged when it is opened */
	rules_cb cb = p->packs ? on_pack_hit : on_hit;
	r->scanned = (w->sc ? rules_scan_with(w->sc, r->path, w->buf, (size_t)n, cb, r)
			    : rules_scan(p->rules, r->path, w->buf, (size_t)n, cb, r)) >= 0;
}

static void done(void *ctx, void *item)
{
	struct prescan *p = ctx;
	struct item *it = item;

	if (it->rescan)
		work(ctx, p->n_w - 1, item);
}

/* Judges every kept file, in the calling thread with the pool's workers
 * (none: inline). With a verdict cache that names every file by identity
 * nothing is read and no JIT code is made. */
static void judge_all(struct prescan *p)
{
	p->res = calloc(p->n_kept ? p->n_kept : 1, sizeof *p->res);
	if (!p->pool)
		p->pool = sup_pool_new(0, sizeof(struct item), PRESCAN_WINDOW, work, done, p);
	p->n_w = sup_pool_threads(p->pool) + 1; /* the pushing thread works too */
	p->w = calloc(p->n_w, sizeof *p->w);
	if (!p->res || !p->w || !p->pool) {
		free(p->w);
		p->w = NULL;
		return; /* out of memory: everything is judged when opened */
	}
	for (size_t i = 0; i < p->n_kept; i++) {
		struct result *r = &p->res[i];

		if (atomic_load_explicit(&p->stop, memory_order_relaxed))
			break;
		r->path = p->kept[i];
		if (p->vc && !arch_is_archive(r->path) && lstat(r->path, &r->st) == 0 &&
		    S_ISREG(r->st.st_mode) && vcache_has_file(p->vc, &r->st)) {
			r->known = true;
			continue;
		}
		struct item *it = sup_pool_slot(p->pool);
		it->i = i;
		sup_pool_push(p->pool, false);
	}
	sup_pool_drain(p->pool);
	for (unsigned i = 0; i < p->n_w; i++) {
		rules_scanner_free(p->w[i].sc);
		free(p->w[i].buf);
	}
	free(p->w);
	p->w = NULL;
}

static void *scan_main(void *arg)
{
	struct prescan *p = arg;

	walk_all(p);
	pthread_mutex_lock(&p->mu);
	while (!p->go)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	if (p->rules && !atomic_load(&p->stop))
		judge_all(p);
	pthread_mutex_lock(&p->mu);
	p->judged = true;
	pthread_cond_broadcast(&p->cv);
	(void)eventfd_write(p->done_fd, 1);
	/* Parked, not ended: see the top of this file. */
	while (!p->quit)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	sup_pool_finish(p->pool);
	p->pool = NULL;
	return NULL;
}

struct prescan *prescan_start(char *const *roots, size_t n)
{
	struct prescan *p = calloc(1, sizeof *p);
	sigset_t all, old;

	if (!p)
		return NULL;
	p->roots = roots;
	p->n_roots = n;
	atomic_init(&p->stop, false);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->done_fd < 0)
		return p; /* no fd to wait on: prescan_go() does it all */
	/* The workers first, so that every id exists before the workload
	 * does; a pool without threads works inline. */
	p->pool = sup_pool_new(sup_pool_workers(PRESCAN_THREADS_MAX), sizeof(struct item),
			       PRESCAN_WINDOW, work, done, p);
	/* The supervisor reads its signals from a signalfd: none for us. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	p->threaded = pthread_create(&p->tid, NULL, scan_main, p) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!p->threaded) {
		close(p->done_fd);
		p->done_fd = -1;
	}
	return p;
}

void prescan_go(struct prescan *p, const struct rules *rules, bool packs, const struct vcache *vc)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	if (!p->go) {
		p->rules = rules;
		p->packs = packs;
		p->vc = vc;
		p->go = true;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	if (!p->threaded && !p->judged) {
		walk_all(p);
		if (rules)
			judge_all(p);
		sup_pool_finish(p->pool);
		p->pool = NULL;
		p->judged = true;
	}
}

int prescan_fd(const struct prescan *p)
{
	return p && p->threaded ? p->done_fd : -1;
}

static void drop_results(struct prescan *p)
{
	for (size_t i = 0; p->res && i < p->n_kept; i++) {
		for (size_t k = 0; k < p->res[i].n_hits; k++)
			free(p->res[i].hits[k].member);
		free(p->res[i].hits);
		free(p->res[i].sourceless);
	}
	free(p->res);
	p->res = NULL;
	for (size_t i = 0; i < p->n_kept; i++)
		free(p->kept[i]);
	free(p->kept);
	p->kept = NULL;
	p->n_kept = p->cap_kept = 0;
}

void prescan_results(struct prescan *p, void (*file)(void *arg, const struct prescan_file *f),
		     void *arg)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	while (p->threaded && p->go && !p->judged)
		pthread_cond_wait(&p->cv, &p->mu);
	bool ready = p->judged;
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; ready && p->res && i < p->n_kept; i++) {
		struct result *r = &p->res[i];
		struct prescan_file f = {
			.path = r->path,
			.st = &r->st,
			.known = r->known,
			.scanned = r->scanned,
			.oom = r->oom,
			.archive = r->archive,
			.has_pyc = r->has_pyc,
			.sourceless = r->sourceless,
			.hits = r->hits,
			.n_hits = r->n_hits,
		};
		if (r->path && (r->known || r->scanned))
			file(arg, &f);
	}
	if (ready)
		drop_results(p);
}

void prescan_free(struct prescan *p)
{
	if (!p)
		return;
	if (p->threaded) {
		atomic_store(&p->stop, true);
		pthread_mutex_lock(&p->mu);
		p->go = p->quit = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->tid, NULL);
		close(p->done_fd);
	}
	sup_pool_finish(p->pool);
	drop_results(p);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}
