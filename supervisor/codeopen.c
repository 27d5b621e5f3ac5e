/* Code validation on open: a code file under code.paths is opened by the
 * supervisor, scanned, and the very same open file is handed to the
 * workload (SECCOMP_IOCTL_NOTIF_ADDFD + SEND), so what was scanned is
 * what the interpreter reads. Other files go on untouched. Not a
 * boundary: code that already runs can eval anything (DESIGN.md). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "archive.h"
#include "become.h"
#include "cleanup.h"
#include "codeopen.h"
#include "filter.h"
#include "prescan.h"
#include "rules.h"
#include "script.h"
#include "sup.h"
#include "sys.h"
#include "trust.h"
#include "vcache.h"

struct verdict {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	bool clean;
	/* An archive (archive.h) holding bytecode: usable only where the
	 * workload could not have written it, decided per open. */
	bool has_pyc;
	char rule[128];
	/* In an archive: the member the rule matched in, or (code.archive,
	 * code.size) what could not be read. */
	char member[200];
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
	struct vcache *vc;    /* code.cache, when believed */
	char vc_state[320];   /* why it is used or not, for the start event */
	long task_uid;        /* every task's euid when it cannot differ from ours, else -1 */
	bool supervisor_root; /* we may reach what a task may not */
	/* The pre-launch scan (prescan.h): no code file is judged before its
	 * results are in (taken: true). Its threads live as long as we do. */
	struct prescan *pre;
	bool taken;
	size_t findings;      /* of the pre-launch scan */
	bool unreadable_said; /* the log has said a task cannot be read */
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
	c->paths = calloc(pc->paths.n ? pc->paths.n : 1, sizeof *c->paths);
	for (size_t i = 0; c->paths && i < pc->paths.n; i++) {
		char real[PATH_MAX];
		/* A path that does not exist yet still counts as written. */
		c->paths[c->n_paths] =
			strdup(realpath(pc->paths.v[i], real) ? real : pc->paths.v[i]);
		if (c->paths[c->n_paths])
			c->n_paths++;
	}
	/* The pre-launch scan's walk (thousands of system calls on a large
	 * tree) runs while the rules compile; the rest of the scan while the
	 * workload starts. */
	c->pre = prescan_start(c->paths, c->n_paths);
	int rc = rules_from_policy(c->rules, s->pol, &d);
	if (rc == 0 && rules_count(c->rules) == 0) {
		const char *dir = rules_default_dir();
		c->packs = true;
		rc = dir ? rules_load_dir(c->rules, dir, &d) : -ENOENT;
	}
	if (rc < 0 || d.n) {
		if (d.n && d.v[0].file)
			snprintf(err, errlen, "%s:%d:%d: %s", d.v[0].file, d.v[0].line, d.v[0].col,
				 d.v[0].msg);
		else
			snprintf(err, errlen, "code rules: %s", d.n ? d.v[0].msg : strerror(-rc));
		pol_diags_clear(&d);
		free(d.v);
		sup_code_free(c);
		return rc < 0 ? rc : -EINVAL;
	}
	free(d.v);
	c->task_uid = fixed_task_uid();
	c->supervisor_root = geteuid() == 0;
	if (pc->cache)
		load_vcache(c, s->pol);
	prescan_go(c->pre, c->rules, c->packs, c->vc);
	s->code = c;
	return 0;
}

void sup_code_free(struct sup_code *c)
{
	if (!c)
		return;
	prescan_free(c->pre);
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

bool sup_code_walked(const char *path)
{
	return rules_is_code_file(path) || arch_is_archive(path) ||
	       (rules_may_be_script(path) && rules_script_ext_of(path));
}

/* The names an open is judged by: code files, bytecode caches, and the
 * archives Python imports from. */
static bool judged_name(const char *path)
{
	return rules_is_code_file(path) || ends_with(path, ".pyc") || arch_is_archive(path);
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

struct member_judge {
	struct sup_code *c;
	struct verdict *v;
	bool failed;
};

/* One .py member, judged as the file zipimport would make of it. */
static bool judge_member(void *arg, const struct arch_member *m)
{
	struct member_judge *j = arg;
	struct first_hit h = { j->c, j->v };

	if (rules_scan(j->c->rules, m->path, m->data, m->len, on_finding, &h) < 0) {
		j->failed = true;
		return false;
	}
	if (j->v->clean)
		return true;
	snprintf(j->v->member, sizeof j->v->member, "%s", m->name);
	return false;
}

static void flag(struct verdict *v, const char *rule, const char *member)
{
	v->clean = false;
	snprintf(v->rule, sizeof v->rule, "%s", rule);
	snprintf(v->member, sizeof v->member, "%s", member);
}

/* The verdict for the archive open as fd (archive.h), read whole into a
 * private copy and cached by identity like a file's. One that cannot be
 * read whole, or holds bytecode with no source beside it, is refused:
 * nothing in it could be judged. Verdict caches name no archive (`scan
 * --write-cache` leaves them out): its bytecode is a question of who
 * could write it, asked on every open. */
static const struct verdict *judge_archive(struct sup_code *c, int fd, const char *real,
					   const struct stat *st)
{
	struct verdict *v = lookup(c, st);
	struct arch_info info;
	char why[256];

	if (v)
		return v;
	if (!(v = cache_slot(c, st)))
		return NULL;
	if (st->st_size > (off_t)ARCH_MAX_SIZE) {
		snprintf(why, sizeof why, "larger than %u MiB", ARCH_MAX_SIZE >> 20);
		flag(v, "code.size", why);
		return cache_commit(c) ? v : NULL;
	}
	_cleanup_free_ char *buf = malloc((size_t)st->st_size + 1);
	ssize_t n = buf ? pread(fd, buf, (size_t)st->st_size, 0) : -1;
	if (n < 0)
		return NULL;
	struct member_judge j = { c, v, false };
	int rc = arch_members(real, buf, (size_t)n, judge_member, &j, &info, why, sizeof why);
	if (j.failed || rc == -ENOMEM)
		return NULL; /* could not judge: fail closed, nothing kept */
	if (rc == -EINVAL || rc == -EFBIG)
		flag(v, rc == -EFBIG ? "code.size" : "code.archive", why);
	else if (v->clean && info.sourceless[0])
		flag(v, "code.bytecode", info.sourceless);
	v->has_pyc = info.n_pyc > 0;
	return cache_commit(c) ? v : NULL;
}

/* A refused file; in an archive, the member named as zipimport's
 * tracebacks name it (ARCHIVE/MEMBER), or what made the archive
 * unjudgeable said in the reason. */
static void log_code(struct sup *s, pid_t tid, const char *action, const char *path,
		     const struct verdict *v)
{
	char where[PATH_MAX + sizeof v->member + 1], reason[512];
	/* code.archive, and code.size for an archive: member says why. */
	bool why =
		v->member[0] && (!strcmp(v->rule, "code.archive") || !strcmp(v->rule, "code.size"));

	snprintf(where, sizeof where, "%s%s%s", path, v->member[0] && !why ? "/" : "",
		 v->member[0] && !why ? v->member : "");
	if (why)
		snprintf(reason, sizeof reason,
			 "an archive Python imports from that cannot be judged whole (%s): "
			 "refused before it is read",
			 v->member);
	else if (!strcmp(v->rule, "code.bytecode"))
		snprintf(reason, sizeof reason,
			 "bytecode in an archive with no source beside it: zipimport would run "
			 "it unjudged, so the archive is refused");
	else if (!strcmp(v->rule, "code.archive-bytecode"))
		snprintf(reason, sizeof reason,
			 "an archive holding bytecode the workload could have written (zipimport "
			 "prefers it to the scanned source): refused; ship it read-only or "
			 "owned by another user, or without .pyc members");
	else
		snprintf(reason, sizeof reason,
			 "code file breaks a rule: refused before it is read");
	cJSON *ev = sup_event(s, "code", action, tid);
	if (!ev)
		return;
	cJSON_AddStringToObject(ev, "path", where);
	cJSON_AddNumberToObject(ev, "line", (double)v->line);
	cJSON_AddNumberToObject(ev, "col", (double)v->col);
	cJSON_AddStringToObject(ev, "rule", v->rule);
	cJSON_AddStringToObject(ev, "reason", reason);
	log_emit(s->log, ev);
}

/* Whether an absolute path names itself: no "//", "." or ".." in it. */
static bool lexically_clean(const char *path)
{
	if (path[0] != '/' || strncmp(path, "/proc/", 6) == 0)
		return false;
	for (const char *p = path; (p = strchr(p, '/')) != NULL;) {
		p++;
		size_t n = strcspn(p, "/");
		if ((n == 0 && *p) || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
	}
	return true;
}

/* Opens path as the task's open would: the directory it is relative to
 * (the task's cwd, its dirfd, its /proc/self, which would otherwise name
 * the supervisor) is taken as ourselves, as an O_PATH handle: a task may
 * always use its own, which we, wearing its fsuid, might not (a
 * non-dumpable task's /proc files are root's). With as_task, the rest of
 * the walk and the open itself are done with the task's identity
 * (become.h): a root supervisor must not hand over what the task could
 * not open (a `x.py` symlink to /etc/shadow). Without it the file is
 * only judged. O_NONBLOCK: a FIFO named x.py must not stall us (its read
 * then fails, and so does the open: fail closed). *named is set when
 * path is known to be the file's resolved name (absolute, clean, and
 * opened without following a symlink), which spares a readlink. Returns
 * the fd or -errno. */
static int open_for(pid_t tid, int dirfd, const char *path, int flags, bool as_task, bool *named)
{
	/* openat2 (5.6) may be refused by a container's profile: then the
	 * name is read back instead. */
	static bool no_openat2;
	char base[96];
	const char *rel = path;

	*named = false;
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
	/* openat2 refuses O_PATH with any other open flag (EINVAL). */
	flags = (flags & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_CLOEXEC |
		(flags & O_PATH ? 0 : O_NONBLOCK);
	struct as_task st;
	int rc = as_task ? become(tid, false, &st) : 0, fd = -1;
	if (rc == 0 && !no_openat2 && lexically_clean(path)) {
		struct open_how how = { .flags = (uint64_t)flags, .resolve = RESOLVE_NO_SYMLINKS };
		fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
		*named = fd >= 0;
		if (fd < 0 && (errno == ENOSYS || errno == EPERM))
			no_openat2 = true;
		if (fd < 0 && errno != ELOOP && !no_openat2)
			rc = -errno; /* as the open itself would fail */
	}
	if (rc == 0 && fd < 0) {
		fd = openat(at, rel, flags);
		if (fd < 0)
			rc = -errno;
	}
	if (as_task)
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

/* Read-only mounts first: they need no task euid, which a root
 * supervisor reads from /proc (*uid -2: not read yet). */
static bool out_of_reach(const struct sup_code *c, pid_t tid, const struct stat *st,
			 const char *real, long *uid)
{
	if (trust_read_only(st->st_dev, real))
		return true;
	if (*uid == -2)
		*uid = task_euid(c, tid);
	return trust_not_writable_by(st, *uid);
}

/* trust_name_fixed() for the file just opened, asked once per open
 * (*fixed: -1 until then): a .pyc's trust and the choice to let the
 * task's own open go on both need it. */
static bool name_fixed(const struct sup_code *c, const char *real, const struct stat *st,
		       int *fixed)
{
	if (*fixed < 0)
		*fixed = trust_name_fixed(real, st, c->task_uid);
	return *fixed;
}

/* Whether the workload could neither have written the file real names
 * nor replaced it in its directory: both are out of its reach (see
 * out_of_reach()). Known directories first (trust.h keeps their
 * answers). */
static bool unwritable_by_task(struct sup *s, pid_t tid, const struct stat *st, const char *real,
			       int *fixed)
{
	struct stat dst;
	char dir[PATH_MAX];
	long uid = -2;

	if (name_fixed(s->code, real, st, fixed))
		return true;
	snprintf(dir, sizeof dir, "%s", real);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return false;
	slash[slash == dir] = 0; /* "/x" -> "/" */
	return out_of_reach(s->code, tid, st, real, &uid) && stat(dir, &dst) == 0 &&
	       out_of_reach(s->code, tid, &dst, dir, &uid);
}

/* A .pyc may be read when nothing the workload could have written is in
 * it: neither the .pyc nor its directory is writable by it (it is not
 * root and owns neither, or they are on a read-only mount), and the
 * source it stands for (dir/__pycache__/m.TAG.pyc for dir/m.py) scans
 * clean. A header check cannot do this: a forged .pyc carries whatever
 * source size, mtime or hash it likes. Otherwise refusing it makes
 * CPython compile the scanned source (measured: ~6x slower for an
 * import-heavy start). */
static bool pyc_usable(struct sup *s, pid_t tid, const struct stat *st, const char *real,
		       int *fixed)
{
	struct stat sst;
	char dir[PATH_MAX], src[PATH_MAX];

	if (!unwritable_by_task(s, tid, st, real, fixed))
		return false;
	snprintf(dir, sizeof dir, "%s", real);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return false;
	*slash = 0;
	/* dir must be .../__pycache__; the module name ends at the first dot. */
	char *cache = strrchr(dir, '/');
	if (!cache || strcmp(cache, "/__pycache__") != 0)
		return false;
	*cache = 0;
	const char *base = slash + 1;
	size_t mod = strcspn(base, ".");
	if ((size_t)snprintf(src, sizeof src, "%s/%.*s.py", dir, (int)mod, base) >= sizeof src)
		return false;
	/* A source judged before (the pre-launch scan) or named by the
	 * verdict cache needs no open. */
	bool is_file = lstat(src, &sst) == 0 && S_ISREG(sst.st_mode);
	const struct verdict *v = is_file ? lookup(s->code, &sst) : NULL;
	if (!v && is_file && vcache_has_file(s->code->vc, &sst))
		return true;
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

/* The extension whose rules read the open file fd, when it is a script
 * (a #! line naming an interpreter the packs know); NULL otherwise. */
static const char *script_ext_fd(int fd)
{
	char head[RULES_SCRIPT_HEAD];
	ssize_t n = pread(fd, head, sizeof head, 0);

	return n > 0 ? rules_script_ext(head, (size_t)n) : NULL;
}

/* Whether an open of a name with no extension is one to judge: a regular
 * file under the code paths that is a script. Resolved as an O_PATH
 * handle first, so that a name for a device (/dev/watchdog, a symlink to
 * one) is never opened by us; an absolute, clean name outside the code
 * paths is passed over before any system call. */
static bool script_to_judge(struct sup *s, pid_t tid, int dirfd, const char *path, int flags)
{
	char real[PATH_MAX], self[64];
	struct stat st;
	bool named;

	if (path[0] == '/' && lexically_clean(path) && !under(s->code, path))
		return false;
	_cleanup_fd_ int fd =
		open_for(tid, dirfd, path, O_PATH | (flags & O_NOFOLLOW), false, &named);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return false; /* the task's own open meets the same error, or no script */
	snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
	if (named)
		snprintf(real, sizeof real, "%s", path);
	else if (sys_readlink(self, real, sizeof real) < 0)
		return false;
	if (!under(s->code, real))
		return false;
	_cleanup_fd_ int rd = open(self, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	return rd >= 0 && script_ext_fd(rd) != NULL;
}

/* Opens (open_for) and judges the file a task's open names: its
 * resolved path in real, its identity in *st, its open file in *fd;
 * *fixed (-1 on entry) keeps name_fixed()'s answer once asked.
 * Returns 1 (a code file that scans clean), 0 (let it be read: not
 * judged, or flagged where violations only log), 2 (flagged, found by a
 * root supervisor as itself: judge it again as the task) or -errno
 * (refused; a flagged file is logged, and a kill verdict sets the
 * violation). */
static int open_judge(struct sup *s, pid_t tid, int dirfd, const char *path, int flags,
		      bool as_task, int *fd, char real[PATH_MAX], struct stat *st, int *fixed)
{
	char self[64];
	bool named;

	*fd = open_for(tid, dirfd, path, flags, as_task, &named);
	if (*fd < 0)
		return *fd;
	snprintf(self, sizeof self, "/proc/self/fd/%d", *fd);
	if (named || sys_readlink(self, real, PATH_MAX) < 0)
		snprintf(real, PATH_MAX, "%s", path);
	if (fstat(*fd, st) < 0)
		return -errno;
	if (!under(s->code, real))
		return 0;
	/* Nothing under the code paths is judged before the pre-launch
	 * scan's findings are all in the log: the workload waits here for
	 * them, on its first code file there (the runtime's own files
	 * elsewhere are not judged, and need not wait). */
	if (!s->code->taken)
		sup_code_prescan(s);
	/* CPython falls back to the (scanned) source when its cache cannot
	 * be read: a swapped source cannot hide behind a stale-looking .pyc. */
	if (ends_with(real, ".pyc"))
		return pyc_usable(s, tid, st, real, fixed) ? 0 : -EACCES;
	const struct verdict *v;
	struct verdict pyc_in_reach;
	if (arch_is_archive(real)) {
		v = judge_archive(s->code, *fd, real, st);
		if (v && v->clean && v->has_pyc && !unwritable_by_task(s, tid, st, real, fixed)) {
			/* zipimport prefers mod.pyc to the scanned mod.py once a
			 * timestamp matches: bytecode the workload could have
			 * written is refused with its archive. Per open: who could
			 * write it is not the archive's contents. */
			pyc_in_reach = *v;
			flag(&pyc_in_reach, "code.archive-bytecode", "");
			v = &pyc_in_reach;
		}
	} else if (rules_is_code_file(real)) {
		v = judge_st(s->code, *fd, real, st);
	} else if ((rules_may_be_script(path) || rules_may_be_script(real)) && script_ext_fd(*fd)) {
		/* A script with no extension (in the name opened, or the one it
		 * resolves to): the name with none selects its interpreter's
		 * rules (rules_scan). */
		v = judge_st(s->code, *fd, rules_may_be_script(real) ? real : path, st);
	} else {
		return 0;
	}
	if (!v)
		return -EACCES; /* could not scan: fail closed */
	if (v->clean)
		return 1;
	/* Acted on only once the task is known to reach it: a kill must not
	 * tell it what a file it cannot read holds. */
	if (!as_task && s->code->supervisor_root)
		return 2;
	enum pol_action eff;
	const char *action = sup_violation_action(s, s->pol->code.action, &eff);
	log_code(s, tid, action, real, v);
	if (eff == POL_ACT_LOG)
		return 0;
	if (eff == POL_ACT_KILL)
		s->violation = true;
	return -EACCES;
}

int sup_code_check(struct sup *s, pid_t tid, int dirfd, const char *path, int flags, int *out)
{
	char real[PATH_MAX];
	struct stat st;
	_cleanup_fd_ int fd = -1;

	*out = -1;
	if ((flags & O_PATH) || (flags & O_ACCMODE) != O_RDONLY ||
	    (!judged_name(path) &&
	     (!rules_may_be_script(path) || !script_to_judge(s, tid, dirfd, path, flags))))
		return SUP_CODE_CONTINUE;
	/* Judged as ourselves first: most files need no more (below). */
	int fixed = -1;
	int rc = open_judge(s, tid, dirfd, path, flags, false, &fd, real, &st, &fixed);
	bool as_task = rc == 2;
	if (as_task) {
		close(fd);
		fixed = -1;
		rc = open_judge(s, tid, dirfd, path, flags, true, &fd, real, &st, &fixed);
	}
	if (rc < 0)
		return rc;
	bool judged = rc == 1;
	if (judged && log_writes(s->log, "allow")) {
		/* With log.allowed, the code files a run loads are what
		 * `fnguard learn` makes the code paths from. */
		cJSON *ev = sup_event(s, "code", "allow", tid);
		if (ev) {
			cJSON_AddStringToObject(ev, "path", real);
			log_emit(s->log, ev);
		}
	} else if (judged) {
		log_count(s->log, "code", "allow");
	}
	/* A file out of the workload's reach, named by a path that is
	 * already resolved (absolute, no symlink, no dot): the task's own
	 * open resolves that name again to the same unchanged file, which is
	 * cheaper than handing ours over (ADDFD's wake-up of the task is not
	 * kept on this CPU as SEND's is: 100-250 us against ~20 on a VM).
	 * Only code that already runs could race the name in its memory, and
	 * code validation does not hold against that (DESIGN). */
	if (s->pol->code.handover == POL_HANDOVER_WRITABLE && path[0] == '/' &&
	    strcmp(path, real) == 0 && name_fixed(s->code, real, &st, &fixed))
		return SUP_CODE_CONTINUE;
	if (s->code->supervisor_root && !as_task) {
		/* Handed over: opened (and judged, a cache hit unless it
		 * changed meanwhile) with the task's identity. */
		close(fd);
		fixed = -1;
		rc = open_judge(s, tid, dirfd, path, flags, true, &fd, real, &st, &fixed);
		if (rc < 0)
			return rc;
	}
	/* Our O_NONBLOCK would show in the workload's F_GETFL. */
	if (!(flags & O_NONBLOCK))
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	*out = fd;
	fd = -1;
	return 1;
}

/* An open whose path (or open_how) cannot be read is never continued:
 * the kernel would open what was never judged. A bad pointer gets the
 * kernel's own answer; a task we may not read (one that made itself
 * non-dumpable, under a supervisor without CAP_SYS_PTRACE) gets EACCES,
 * said once in the log. */
static void unreadable(struct sup *s, const struct seccomp_notif *req, ssize_t rc,
		       struct seccomp_notif_resp *resp)
{
	resp->flags = 0;
	if (rc == -EFAULT || rc == -EIO || rc == -ENAMETOOLONG) {
		resp->error = rc == -ENAMETOOLONG ? -ENAMETOOLONG : -EFAULT;
		return;
	}
	resp->error = -EACCES;
	if (s->code->unreadable_said)
		return;
	s->code->unreadable_said = true;
	cJSON *ev = sup_event(s, "syscall", "deny", (pid_t)req->pid);
	if (!ev)
		return;
	cJSON_AddStringToObject(ev, "syscall", sup_syscall_name(req->data.nr));
	cJSON_AddStringToObject(ev, "rule", "code");
	cJSON_AddStringToObject(
		ev, "reason",
		"the task's memory cannot be read (made non-dumpable, and fnguard is "
		"not root): its opens cannot be judged and are refused");
	log_emit(s->log, ev);
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
	ssize_t rc = sys_peek_cstr(tid, path_addr, path, sizeof path);
	if (rc < 0) {
		unreadable(s, req, rc, resp);
		return;
	}
	if (req->data.nr == SYS_openat2) {
		struct open_how_v0 how;
		if (req->data.args[3] < sizeof how)
			return; /* the kernel refuses it itself (EINVAL) */
		int hr = sys_peek(tid, req->data.args[2], &how, sizeof how);
		if (hr < 0) {
			unreadable(s, req, hr, resp);
			return;
		}
		flags = (int)how.flags;
	}
	/* Fast path: only code files, bytecode caches, archives and names with
	 * no extension (scripts, maybe) under the code paths are judged. */
	if ((flags & O_PATH) || (flags & O_ACCMODE) != O_RDONLY ||
	    (!judged_name(path) &&
	     (!rules_may_be_script(path) ||
	      (path[0] == '/' && lexically_clean(path) && !under(s->code, path)))))
		return;
	if (!sys_notif_valid(s->notify_fd, req->id))
		return;
	_cleanup_fd_ int fd = -1;
	int cr = sup_code_check(s, tid, dirfd, path, flags, &fd);
	if (cr == SUP_CODE_CONTINUE)
		return;
	resp->flags = 0;
	if (cr < 0) {
		resp->error = cr;
		return;
	}
	if (hand_over(s, req->id, fd, flags))
		*answered = true;
	else
		resp->error = -errno;
}

/* One file of the pre-launch scan, on the supervisor's thread: its
 * verdict is kept (the interpreter's open of this very file, same
 * identity and times, needs no second scan) and each finding logged. A
 * scan cut short by a lack of memory is not one. */
static void prescan_merge(void *arg, const struct prescan_file *f)
{
	struct sup *s = arg;
	struct sup_code *c = s->code;

	/* Named by the verdict cache: an open asks it again (copying the
	 * whole tree's entries here was most of the workload's wait at its
	 * first code file). */
	if (f->known)
		return;
	struct verdict *v = cache_slot(c, f->st);
	for (size_t i = 0; i < f->n_hits; i++) {
		const struct prescan_hit *h = &f->hits[i];
		char where[PATH_MAX + ARCH_NAME_MAX + 2];

		snprintf(where, sizeof where, "%s%s%s", f->path, h->member ? "/" : "",
			 h->member ? h->member : "");
		c->findings++;
		if (v && v->clean) {
			flag(v, h->rule_id, h->member ? h->member : "");
			v->line = h->line;
			v->col = h->col;
		}
		cJSON *ev = sup_event(s, "code", "audit", s->child);
		if (!ev)
			continue;
		cJSON_AddStringToObject(ev, "path", where);
		cJSON_AddNumberToObject(ev, "line", (double)h->line);
		cJSON_AddNumberToObject(ev, "col", (double)h->col);
		cJSON_AddStringToObject(ev, "rule", h->rule_id);
		cJSON_AddStringToObject(ev, "phase", "prelaunch");
		cJSON_AddStringToObject(ev, "reason",
					"found by the scan at start, before the workload "
					"read any code file; refused when it is opened");
		log_emit(s->log, ev);
	}
	/* As judge_archive() would have it, so the open reads it no more. */
	if (v && f->archive) {
		v->has_pyc = f->has_pyc;
		if (v->clean && f->sourceless)
			flag(v, "code.bytecode", f->sourceless);
	}
	if (v && !f->oom)
		cache_commit(c);
}

int sup_code_prescan_fd(const struct sup_code *c)
{
	return c && !c->taken ? prescan_fd(c->pre) : -1;
}

size_t sup_code_prescan(struct sup *s)
{
	struct sup_code *c = s->code;

	if (!c->taken) {
		c->taken = true; /* before a kill verdict's end could come back here */
		prescan_results(c->pre, prescan_merge, s);
	}
	return c->findings;
}
