/* Code validation on open: a code file under code.paths is opened by the
 * supervisor, scanned, and the very same open file is handed to the
 * workload (SECCOMP_IOCTL_NOTIF_ADDFD + SEND), so what was scanned is
 * what the interpreter reads. Other files go on untouched. Not a
 * boundary: code that already runs can eval anything (DESIGN.md). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "become.h"
#include "cleanup.h"
#include "codeopen.h"
#include "pool.h"
#include "rules.h"
#include "sup.h"
#include "sys.h"
#include "trust.h"
#include "vcache.h"
#include "walk.h"

#define CODE_MAX_FILE (64u << 20) /* larger code files are refused, not skimmed */
/* Files read and scanned ahead of the one being logged. */
#define PRESCAN_WINDOW      64
#define PRESCAN_THREADS_MAX 8

struct verdict {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	bool clean;
	char rule[128];
	size_t line, col;
};

struct sup_code {
	struct rules *rules;
	bool packs;   /* the shipped packs: only high/critical rules enforce */
	char **paths; /* code.paths, resolved */
	size_t n_paths;
	struct verdict *cache;
	size_t n_cache, cap_cache;
	/* (dev, ino) -> 1 + index into cache, open addressing; the latest
	 * verdict for an inode wins (a rewritten file is judged again). */
	uint32_t *idx;
	size_t idx_cap;
	struct vcache *vc;  /* code.cache, when believed */
	char vc_state[320]; /* why it is used or not, for the start event */
	long task_uid;      /* every task's euid when it cannot differ from ours, else -1 */
};

struct open_how_v0 {
	uint64_t flags, mode, resolve;
};

/* Under NO_NEW_PRIVS a task can only drop ids: when all of ours are one
 * unprivileged uid without capabilities, it is every task's euid. */
static long fixed_task_uid(void)
{
	uid_t r, e, su;
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (getresuid(&r, &e, &su) < 0 || r != e || e != su || e == 0 ||
	    syscall(SYS_capget, &h, d) < 0 || (d[0].permitted | d[1].permitted))
		return -1;
	return (long)e;
}

static void load_vcache(struct sup_code *c, const struct policy *p)
{
	const char *f = p->code.cache, *slash = p->file ? strrchr(p->file, '/') : NULL;
	unsigned char digest[RULES_DIGEST_LEN];
	char path[PATH_MAX], why[256];

	if (f[0] == '/' || !slash)
		snprintf(path, sizeof path, "%s", f);
	else
		snprintf(path, sizeof path, "%.*s/%s", (int)(slash - p->file), p->file, f);
	rules_digest(c->rules, c->packs, digest);
	int rc = vcache_load(path, digest, &c->vc, why, sizeof why);
	if (rc == 0)
		snprintf(c->vc_state, sizeof c->vc_state, "%s: %zu clean files", path,
			 vcache_count(c->vc));
	else
		snprintf(c->vc_state, sizeof c->vc_state, "%s: not used: %s", path, why);
}

const char *sup_code_cache_state(const struct sup_code *c)
{
	return c && c->vc_state[0] ? c->vc_state : NULL;
}

int sup_code_open(struct sup *s, char *err, size_t errlen)
{
	struct sup_code *c = calloc(1, sizeof *c);
	struct pol_diags d = { 0 };
	const struct pol_code *pc = &s->pol->code;

	if (!c || !(c->rules = rules_new())) {
		free(c);
		return -ENOMEM;
	}
	int rc = rules_from_policy(c->rules, s->pol, &d);
	if (rc == 0 && rules_count(c->rules) == 0) {
		const char *dir = rules_default_dir();
		c->packs = true;
		rc = dir ? rules_load_dir(c->rules, dir, &d) : -ENOENT;
	}
	if (rc < 0 || d.n) {
		snprintf(err, errlen, "code rules: %s", d.n ? d.v[0].msg : strerror(-rc));
		pol_diags_clear(&d);
		free(d.v);
		sup_code_free(c);
		return rc < 0 ? rc : -EINVAL;
	}
	free(d.v);
	c->paths = calloc(pc->paths.n ? pc->paths.n : 1, sizeof *c->paths);
	for (size_t i = 0; c->paths && i < pc->paths.n; i++) {
		char real[PATH_MAX];
		/* A path that does not exist yet still counts as written. */
		c->paths[c->n_paths] =
			strdup(realpath(pc->paths.v[i], real) ? real : pc->paths.v[i]);
		if (c->paths[c->n_paths])
			c->n_paths++;
	}
	c->task_uid = fixed_task_uid();
	if (pc->cache)
		load_vcache(c, s->pol);
	s->code = c;
	return 0;
}

void sup_code_free(struct sup_code *c)
{
	if (!c)
		return;
	rules_free(c->rules);
	for (size_t i = 0; i < c->n_paths; i++)
		free(c->paths[i]);
	free(c->paths);
	free(c->cache);
	free(c->idx);
	vcache_free(c->vc);
	free(c);
}

static bool under(const struct sup_code *c, const char *real)
{
	for (size_t i = 0; i < c->n_paths; i++) {
		size_t n = strlen(c->paths[i]);
		if (n == 1 && c->paths[i][0] == '/')
			return true;
		if (strncmp(real, c->paths[i], n) == 0 && (real[n] == '/' || real[n] == 0))
			return true;
	}
	return false;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

struct first_hit {
	const struct sup_code *c;
	struct verdict *v;
};

static bool on_finding(void *arg, const struct rules_finding *f)
{
	struct first_hit *h = arg;

	/* The shipped packs' low and medium rules flag ordinary library
	 * code (plain subprocess, ctypes): they inform a scan, not a refusal. */
	if (!rules_finding_enforces(f, h->c->packs))
		return true;
	h->v->clean = false;
	snprintf(h->v->rule, sizeof h->v->rule, "%s", f->rule_id);
	h->v->line = f->line;
	h->v->col = f->col;
	return false;
}

static bool same_file(const struct verdict *v, const struct stat *st)
{
	return v->dev == st->st_dev && v->ino == st->st_ino && v->size == st->st_size &&
	       v->mtime.tv_sec == st->st_mtim.tv_sec && v->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       v->ctime.tv_sec == st->st_ctim.tv_sec && v->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static size_t id_hash(dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15ull) ^ (uint64_t)ino;
	return (size_t)(h * 0xff51afd7ed558ccdull >> 17);
}

static void idx_put(struct sup_code *c, size_t i)
{
	size_t m = c->idx_cap - 1;
	const struct verdict *v = &c->cache[i];

	for (size_t k = id_hash(v->dev, v->ino) & m;; k = (k + 1) & m) {
		uint32_t j = c->idx[k];
		if (j == 0 || (c->cache[j - 1].dev == v->dev && c->cache[j - 1].ino == v->ino)) {
			c->idx[k] = (uint32_t)i + 1;
			return;
		}
	}
}

/* Counts the slot cache_slot() filled: it becomes what lookup() finds for
 * its inode. False without memory for the index (the verdict is then
 * simply not kept). */
static bool cache_commit(struct sup_code *c)
{
	if ((c->n_cache + 1) * 2 > c->idx_cap) {
		size_t cap = c->idx_cap ? c->idx_cap * 2 : 1024;
		uint32_t *idx = calloc(cap, sizeof *idx);
		if (!idx)
			return false;
		free(c->idx);
		c->idx = idx;
		c->idx_cap = cap;
		for (size_t i = 0; i < c->n_cache; i++)
			idx_put(c, i);
	}
	idx_put(c, c->n_cache++);
	return true;
}

static struct verdict *lookup(const struct sup_code *c, const struct stat *st)
{
	if (!c->idx_cap)
		return NULL;
	size_t m = c->idx_cap - 1;
	for (size_t k = id_hash(st->st_dev, st->st_ino) & m; c->idx[k]; k = (k + 1) & m) {
		struct verdict *v = &c->cache[c->idx[k] - 1];
		if (v->dev == st->st_dev && v->ino == st->st_ino)
			return same_file(v, st) ? v : NULL;
	}
	return NULL;
}

/* A fresh, clean cache slot for st (not yet counted: cache_commit()), or
 * NULL. */
static struct verdict *cache_slot(struct sup_code *c, const struct stat *st)
{
	if (c->n_cache == c->cap_cache) {
		size_t cap = c->cap_cache ? c->cap_cache * 2 : 64;
		struct verdict *v = realloc(c->cache, cap * sizeof *v);
		if (!v)
			return NULL;
		c->cache = v;
		c->cap_cache = cap;
	}
	struct verdict *v = &c->cache[c->n_cache];
	memset(v, 0, sizeof *v);
	v->dev = st->st_dev;
	v->ino = st->st_ino;
	v->size = st->st_size;
	v->mtime = st->st_mtim;
	v->ctime = st->st_ctim;
	v->clean = true;
	return v;
}

/* The verdict for the open file fd (whose identity is st), cached by
 * identity and times: a file rewritten at run time (same inode, new
 * mtime/ctime) is judged again. A file the verdict cache names (by
 * identity, else by contents) is clean without a scan. */
static const struct verdict *judge_st(struct sup_code *c, int fd, const char *real,
				      const struct stat *st)
{
	struct verdict *v = lookup(c, st);

	if (v)
		return v;
	v = cache_slot(c, st);
	if (!v)
		return NULL;
	if (vcache_has_file(c->vc, st)) {
		/* clean */
	} else if (st->st_size > (off_t)CODE_MAX_FILE) {
		v->clean = false;
		snprintf(v->rule, sizeof v->rule, "code.size");
	} else {
		_cleanup_free_ char *buf = malloc((size_t)st->st_size + 1);
		ssize_t n = buf ? pread(fd, buf, (size_t)st->st_size, 0) : -1;
		if (n < 0)
			return NULL;
		unsigned char sha[VCACHE_SHA_LEN];
		if (c->vc)
			vcache_sha(buf, (size_t)n, sha);
		struct first_hit h = { c, v };
		if ((!c->vc || !vcache_has_content(c->vc, sha)) &&
		    rules_scan(c->rules, real, buf, (size_t)n, on_finding, &h) < 0)
			return NULL;
	}
	return cache_commit(c) ? v : NULL;
}

static const struct verdict *judge(struct sup_code *c, int fd, const char *real)
{
	struct stat st;

	return fstat(fd, &st) < 0 ? NULL : judge_st(c, fd, real, &st);
}

static void log_code(struct sup *s, pid_t tid, const char *action, const char *path,
		     const struct verdict *v)
{
	cJSON *ev = sup_event(s, "code", action, tid);
	if (!ev)
		return;
	cJSON_AddStringToObject(ev, "path", path);
	cJSON_AddNumberToObject(ev, "line", (double)v->line);
	cJSON_AddNumberToObject(ev, "col", (double)v->col);
	cJSON_AddStringToObject(ev, "rule", v->rule);
	cJSON_AddStringToObject(ev, "reason", "code file breaks a rule: refused before it is read");
	log_emit(s->log, ev);
}

/* Rewrites /proc/self and /proc/thread-self, which would otherwise name
 * the supervisor, and makes a relative path relative to the task. */
/* Opens path as the task's open would: the directory it is relative to
 * (the task's cwd, its dirfd, its /proc/self) is taken as ourselves, as
 * an O_PATH handle: a task may always use its own, which we, wearing its
 * fsuid, might not (a non-dumpable task's /proc files are root's). The
 * rest of the walk and the open itself are done with the task's identity
 * (become.h): a root supervisor must not open what the task could not
 * (a `x.py` symlink to /etc/shadow would otherwise be handed over).
 * Returns the fd or -errno. */
static int open_as_task(pid_t tid, int dirfd, const char *path, int flags)
{
	char base[96];
	const char *rel = path;

	if (strncmp(path, "/proc/self/", 11) == 0)
		snprintf(base, sizeof base, "/proc/%d", tid), rel = path + 11;
	else if (strncmp(path, "/proc/thread-self/", 18) == 0)
		snprintf(base, sizeof base, "/proc/%d/task/%d", tid, tid), rel = path + 18;
	else if (path[0] == '/')
		base[0] = 0;
	else if (dirfd == AT_FDCWD)
		snprintf(base, sizeof base, "/proc/%d/cwd", tid);
	else
		snprintf(base, sizeof base, "/proc/%d/fd/%d", tid, dirfd);
	_cleanup_fd_ int at = base[0] ? open(base, O_PATH | O_CLOEXEC) : AT_FDCWD;
	if (base[0] && at < 0)
		return -errno;
	struct as_task st;
	int rc = become(tid, false, &st);
	int fd =
		rc == 0 ? openat(at, rel, (flags & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_CLOEXEC) : -1;
	if (rc == 0 && fd < 0)
		rc = -errno;
	unbecome(&st);
	return fd >= 0 ? fd : rc;
}

/* Hands our open file to the workload as the result of its open. */
static bool hand_over(struct sup *s, uint64_t id, int fd, int flags)
{
	struct seccomp_notif_addfd a = {
		.id = id,
		.flags = SECCOMP_ADDFD_FLAG_SEND,
		.srcfd = (uint32_t)fd,
		.newfd_flags = (uint32_t)(flags & O_CLOEXEC),
	};
	return ioctl(s->notify_fd, SECCOMP_IOCTL_NOTIF_ADDFD, &a) >= 0;
}

/* The effective uid of a task (-1 when unknown). */
static long task_euid(const struct sup_code *c, pid_t tid)
{
	char path[64], line[256];
	long ruid, euid = -1;

	if (c->task_uid >= 0)
		return c->task_uid;
	snprintf(path, sizeof path, "/proc/%d/status", tid);
	_cleanup_file_ FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "Uid: %ld %ld", &ruid, &euid) == 2)
			break;
	return euid;
}

static bool out_of_reach(const struct stat *st, const char *real, long uid)
{
	return trust_not_writable_by(st, uid) || trust_read_only(st->st_dev, real);
}

/* A .pyc may be read when nothing the workload could have written is in
 * it: neither the .pyc nor its directory is writable by it (it is not
 * root and owns neither, or they are on a read-only mount), and the
 * source it stands for (dir/__pycache__/m.TAG.pyc for dir/m.py) scans
 * clean. A header check cannot do this: a forged .pyc carries whatever
 * source size, mtime or hash it likes. Otherwise refusing it makes
 * CPython compile the scanned source (measured: ~6x slower for an
 * import-heavy start). */
static bool pyc_usable(struct sup *s, pid_t tid, int fd, const char *real)
{
	struct stat st, dst, sst;
	char dir[PATH_MAX], src[PATH_MAX];
	long uid = task_euid(s->code, tid);

	snprintf(dir, sizeof dir, "%s", real);
	char *slash = strrchr(dir, '/');
	if (!slash || fstat(fd, &st) < 0 || !out_of_reach(&st, real, uid))
		return false;
	*slash = 0;
	if (stat(dir, &dst) < 0 || !out_of_reach(&dst, dir, uid))
		return false;
	/* dir must be .../__pycache__; the module name ends at the first dot. */
	char *cache = strrchr(dir, '/');
	if (!cache || strcmp(cache, "/__pycache__") != 0)
		return false;
	*cache = 0;
	const char *base = slash + 1;
	size_t mod = strcspn(base, ".");
	if ((size_t)snprintf(src, sizeof src, "%s/%.*s.py", dir, (int)mod, base) >= sizeof src)
		return false;
	/* A source judged before (the pre-launch scan) needs no open. */
	const struct verdict *v =
		lstat(src, &sst) == 0 && S_ISREG(sst.st_mode) ? lookup(s->code, &sst) : NULL;
	if (!v) {
		_cleanup_fd_ int sfd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (sfd < 0)
			return false; /* sourceless bytecode cannot be scanned */
		v = judge(s->code, sfd, src);
	}
	/* A flagged source is reported (and acted on) when CPython, refused
	 * its cache, opens the source itself; where violations only log, the
	 * source would run anyway and its trusted cache may as well. */
	enum pol_action eff;
	sup_violation_action(s, s->pol->code.action, &eff);
	return v && (v->clean || eff == POL_ACT_LOG);
}

int sup_code_check(struct sup *s, pid_t tid, int dirfd, const char *path, int flags, int *out)
{
	char real[PATH_MAX];

	*out = -1;
	if ((flags & O_PATH) || (flags & O_ACCMODE) != O_RDONLY ||
	    (!rules_is_code_file(path) && !ends_with(path, ".pyc")))
		return SUP_CODE_CONTINUE;
	_cleanup_fd_ int fd = open_as_task(tid, dirfd, path, flags);
	if (fd < 0)
		return fd;
	char self[64];
	snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
	if (sys_readlink(self, real, sizeof real) < 0)
		snprintf(real, sizeof real, "%s", path);
	/* CPython falls back to the (scanned) source when its cache cannot
	 * be read: a swapped source cannot hide behind a stale-looking .pyc. */
	if (under(s->code, real) && ends_with(real, ".pyc") && !pyc_usable(s, tid, fd, real))
		return -EACCES;
	if (under(s->code, real) && rules_is_code_file(real)) {
		const struct verdict *v = judge(s->code, fd, real);
		if (!v)
			return -EACCES; /* could not scan: fail closed */
		if (!v->clean) {
			enum pol_action eff;
			const char *action = sup_violation_action(s, s->pol->code.action, &eff);
			log_code(s, tid, action, real, v);
			if (eff != POL_ACT_LOG) {
				if (eff == POL_ACT_KILL)
					s->violation = true;
				return -EACCES;
			}
		} else if (log_writes(s->log, "allow")) {
			/* With log.allowed, the code files a run loads are
			 * what `fnguard learn` makes the code paths from. */
			cJSON *ev = sup_event(s, "code", "allow", tid);
			if (ev) {
				cJSON_AddStringToObject(ev, "path", real);
				log_emit(s->log, ev);
			}
		} else {
			log_count(s->log, "code", "allow");
		}
	}
	*out = fd;
	fd = -1;
	return 1;
}

void sup_code_notify(struct sup *s, const struct seccomp_notif *req,
		     struct seccomp_notif_resp *resp, bool *answered)
{
	pid_t tid = (pid_t)req->pid;
	int dirfd = AT_FDCWD, flags;
	uint64_t path_addr;
	char path[PATH_MAX];

	*answered = false;
	resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	if (req->data.nr == SYS_open) {
		path_addr = req->data.args[0];
		flags = (int)req->data.args[1];
	} else {
		dirfd = (int)req->data.args[0];
		path_addr = req->data.args[1];
		flags = (int)req->data.args[2];
	}
	if (sys_peek_cstr(tid, path_addr, path, sizeof path) < 0)
		return; /* the kernel will answer EFAULT/ENAMETOOLONG itself */
	if (req->data.nr == SYS_openat2) {
		struct open_how_v0 how;
		if (req->data.args[3] < sizeof how ||
		    sys_peek(tid, req->data.args[2], &how, sizeof how) < 0)
			return;
		flags = (int)how.flags;
	}
	/* Fast path: only code files and bytecode caches are judged. */
	if ((flags & O_PATH) || (flags & O_ACCMODE) != O_RDONLY ||
	    (!rules_is_code_file(path) && !ends_with(path, ".pyc")))
		return;
	if (!sys_notif_valid(s->notify_fd, req->id))
		return;
	_cleanup_fd_ int fd = -1;
	int rc = sup_code_check(s, tid, dirfd, path, flags, &fd);
	if (rc == SUP_CODE_CONTINUE)
		return;
	resp->flags = 0;
	if (rc < 0) {
		resp->error = rc;
		return;
	}
	if (hand_over(s, req->id, fd, flags))
		*answered = true;
	else
		resp->error = -errno;
}

/* One code file of the pre-launch scan: read and scanned by a worker,
 * cached and logged by the supervisor's thread in walk order. */
struct prescan_hit {
	const char *rule_id; /* borrowed from the rule set */
	size_t line, col;
};

struct prescan_item {
	char *path;
	bool scanned, oom;
	struct stat st;
	struct prescan_hit *v;
	size_t n, cap;
};

struct prescan_worker {
	struct rules_scanner *sc;
	char *buf;
	size_t cap;
};

struct prescan {
	struct sup *s;
	size_t findings;
	struct prescan_worker *w;
	size_t n_w;
};

static bool on_prescan(void *arg, const struct rules_finding *f)
{
	struct prescan_item *it = arg;

	if (!rules_finding_enforces(f, true))
		return true; /* the caller only passes packs' findings here */
	if (it->n == it->cap) {
		size_t cap = it->cap ? it->cap * 2 : 8;
		struct prescan_hit *v = realloc(it->v, cap * sizeof *v);
		if (!v) {
			it->oom = true;
			return false;
		}
		it->v = v;
		it->cap = cap;
	}
	it->v[it->n++] = (struct prescan_hit){ f->rule_id, f->line, f->col };
	return true;
}

static bool on_prescan_all(void *arg, const struct rules_finding *f)
{
	struct rules_finding g = *f;

	g.severity = NULL; /* a policy's own rules count whatever their severity */
	return on_prescan(arg, &g);
}

static void prescan_work(void *ctx, unsigned worker, void *item)
{
	struct prescan *p = ctx;
	struct prescan_worker *w = &p->w[worker];
	struct prescan_item *it = item;

	/* Files the verdict cache names by identity never get here
	 * (prescan_file); the others may still match by contents. */
	const struct vcache *vc = p->s->code->vc;
	_cleanup_fd_ int fd = open(it->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &it->st) < 0)
		return;
	/* Larger files are refused when opened; specials are not code. */
	if (!S_ISREG(it->st.st_mode) || it->st.st_size > (off_t)CODE_MAX_FILE)
		return;
	size_t want = (size_t)it->st.st_size;
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
	unsigned char sha[VCACHE_SHA_LEN];
	if (vc) {
		vcache_sha(w->buf, (size_t)n, sha);
		if (vcache_has_content(vc, sha)) {
			it->scanned = true;
			return;
		}
	}
	rules_cb cb = p->s->code->packs ? on_prescan : on_prescan_all;
	it->scanned =
		(w->sc ? rules_scan_with(w->sc, it->path, w->buf, (size_t)n, cb, it)
		       : rules_scan(p->s->code->rules, it->path, w->buf, (size_t)n, cb, it)) >= 0;
}

static void prescan_done(void *ctx, void *item)
{
	struct prescan *p = ctx;
	struct prescan_item *it = item;
	/* The verdict is kept: the interpreter's open of this very file (same
	 * identity and times) needs no second scan. A scan cut short by a
	 * lack of memory is not one. */
	struct verdict *v = it->scanned ? cache_slot(p->s->code, &it->st) : NULL;

	for (size_t i = 0; it->scanned && i < it->n; i++) {
		const struct prescan_hit *h = &it->v[i];

		p->findings++;
		if (v && v->clean) {
			v->clean = false;
			snprintf(v->rule, sizeof v->rule, "%s", h->rule_id);
			v->line = h->line;
			v->col = h->col;
		}
		cJSON *ev = sup_event(p->s, "code", "audit", p->s->child);
		if (!ev)
			continue;
		cJSON_AddStringToObject(ev, "path", it->path);
		cJSON_AddNumberToObject(ev, "line", (double)h->line);
		cJSON_AddNumberToObject(ev, "col", (double)h->col);
		cJSON_AddStringToObject(ev, "rule", h->rule_id);
		cJSON_AddStringToObject(ev, "phase", "prelaunch");
		cJSON_AddStringToObject(ev, "reason",
					"found before the workload started; refused when "
					"it is opened");
		log_emit(p->s->log, ev);
	}
	if (v && !it->oom)
		cache_commit(p->s->code);
	free(it->v);
	free(it->path);
}

struct prescan_walk {
	struct sup_pool *pool;
	struct sup_code *c;
};

static bool prescan_file(void *arg, const char *path, bool named)
{
	struct prescan_walk *pw = arg;
	struct sup_pool *pool = pw->pool;
	struct stat st;

	(void)named;
	if (!rules_is_code_file(path))
		return true;
	/* A file the verdict cache names is judged right here: handing it
	 * to a worker would cost more (a wake-up each) than the lookup. */
	if (pw->c->vc && lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    vcache_has_file(pw->c->vc, &st)) {
		if (!lookup(pw->c, &st) && cache_slot(pw->c, &st))
			cache_commit(pw->c);
		return true;
	}
	struct prescan_item *it = sup_pool_slot(pool);
	it->path = strdup(path);
	/* Without memory for the path the file is left to the open. */
	sup_pool_push(pool, it->path == NULL);
	return true;
}

static bool prescan_error(void *arg, const char *path, int err)
{
	(void)arg;
	(void)path;
	(void)err;
	return true; /* what cannot be read here is judged when it is opened */
}

size_t sup_code_prescan(struct sup *s)
{
	unsigned n = sup_pool_workers(PRESCAN_THREADS_MAX);
	struct prescan p = { .s = s, .n_w = n + 1 }; /* this thread works too */
	struct sup_pool *pool = NULL;

	/* With a verdict cache the few files it does not name are scanned
	 * in this thread with the set's own scanner, which compiles JIT code
	 * only once enough is scanned (rules.h): a start whose files are all
	 * known pays for neither threads nor JIT. */
	if (s->code->vc)
		n = 0, p.n_w = 1;
	p.w = calloc(p.n_w, sizeof *p.w);
	for (size_t i = 0; p.w && !s->code->vc && i < p.n_w; i++)
		p.w[i].sc = rules_scanner_new(s->code->rules);
	for (size_t i = 0; p.w && !s->code->vc && i < p.n_w; i++)
		if (!p.w[i].sc)
			n = 0;
	/* Threads only while the workload waits at its first execve: the
	 * event loop that follows stays single-threaded. */
	if (p.w && (p.w[0].sc || s->code->vc))
		pool = sup_pool_new(n, sizeof(struct prescan_item), PRESCAN_WINDOW, prescan_work,
				    prescan_done, &p);
	static const struct sup_walk_ops ops = { .file = prescan_file, .error = prescan_error };
	struct prescan_walk pw = { pool, s->code };
	for (size_t i = 0; pool && i < s->code->n_paths; i++) {
		char *const roots[] = { s->code->paths[i], NULL };
		sup_walk(roots, false, &ops, &pw);
	}
	sup_pool_finish(pool);
	for (size_t i = 0; p.w && i < p.n_w; i++) {
		rules_scanner_free(p.w[i].sc);
		free(p.w[i].buf);
	}
	free(p.w);
	return p.findings;
}
