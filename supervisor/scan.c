/* `fnguard scan`: the code-validation rules run over files and trees
 * before deployment, reported as text, JSON or SARIF 2.1.0. Files are
 * read and scanned on every CPU (pool.c) and reported in walk order.
 *
 * Exit status: 0 nothing found, 1 findings, 2 an error (bad rule file,
 * unreadable path, a file the engine could not finish); an error wins
 * over findings because the scan was incomplete.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "archive.h"
#include "cleanup.h"
#include "codeopen.h"
#include "policy.h"
#include "pool.h"
#include "rules.h"
#include "util.h"
#include "vcache.h"
#include "walk.h"

/* Bigger files are generated or vendored blobs, not code anyone reviews;
 * reading them would dominate the scan. */
#define SCAN_FILE_MAX (16u << 20)
#define POLICY_MAX    (1u << 20)
#define EXCERPT_MAX   160
/* Where SARIF consumers link the tool name; the project has no public
 * page yet. */
/* A progress line only for trees that take noticeably long. */
#define PROGRESS_AFTER_MS 1000
#define PROGRESS_EVERY_MS 200
/* Files read and scanned ahead of the one being reported. */
#define SCAN_WINDOW      256
#define SCAN_THREADS_MAX 8

enum scan_format { FMT_TEXT, FMT_JSON, FMT_SARIF };

struct scan_opts {
	const char *policy;
	const char **rule_files;
	size_t n_rule_files;
	enum scan_format format;
	const char *write_cache; /* --write-cache FILE */
	char **paths;            /* NULL-terminated, from argv */
};

struct found {
	char *path; /* an archive member's ARCHIVE/MEMBER, else set when reported */
	char *excerpt;
	const char *rule_id; /* borrowed from the rule set */
	const char *message;
	const char *severity;
	size_t line, col, end_col;
};

/* One file (or one walk error) on its way through the pool: read and
 * scanned by a worker, reported by the main thread in walk order. */
struct scan_item {
	char *path;
	char *msg; /* a walk error, printed in turn; no work */
	bool named;
	int read_rc, scan_rc;
	size_t len;
	struct found *v; /* path not set: the item's path is */
	size_t n, cap;
	struct util_sb json; /* for JSON, the findings already formatted */
	size_t n_json;
	bool oom;
	bool enforcing; /* a finding that would refuse the file in `run` */
	struct stat st; /* of the file read, taken before reading it */
	unsigned char sha[VCACHE_SHA_LEN];
	bool archive; /* archive.h: its .py members were scanned */
	char *why;    /* an archive that could not be judged whole: why */
};

/* A worker's own matching state and read buffer. */
struct scan_worker {
	struct rules_scanner *sc;
	char *buf;
	size_t buf_cap;
};

struct scan_state {
	const struct scan_opts *o;
	struct rules *rules;
	bool packs;               /* the shipped packs, as `run` uses them */
	struct vcache_writer *vc; /* --write-cache */
	struct scan_worker *w;
	size_t n_w;
	struct found *v;
	size_t n, cap;
	struct util_sb json; /* for JSON, the findings array's items */
	size_t files, bytes, findings, files_with;
	bool error, oom;
	bool tty, progress_shown;
	int64_t t0, last_progress;
};

static void scan_usage(FILE *f)
{
	fputs("usage: fnguard scan [-p POLICY] [--rules FILE]... [--format text|json|sarif]\n"
	      "                    [--write-cache FILE] PATH...\n"
	      "Rules: the policy's code.rules and code.rule_files, each --rules file (YAML pack\n"
	      "or one regex per line), else the packs shipped with fnguard.\n"
	      "--write-cache: the files `run` would let through, for the policy's code.cache.\n"
	      "Exit status: 0 clean, 1 findings, 2 error.\n",
	      f);
}

/* Reads a regular file of at most max bytes into *buf (grown as needed,
 * NUL-terminated). Returns 0, -EFBIG, or -errno. */
static int read_capped(const char *path, bool nofollow, size_t max, char **buf, size_t *cap,
		       size_t *len, struct stat *out)
{
	_cleanup_fd_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
						 (nofollow ? O_NOFOLLOW : 0));
	struct stat tmp, *stp = out ? out : &tmp;
	size_t got = 0, want;

	if (fd < 0 || fstat(fd, stp) < 0)
		return -errno;
	/* Checked on the open file: the tree walk's stat may be stale. */
	if (!S_ISREG(stp->st_mode))
		return -EINVAL;
	if ((size_t)stp->st_size > max)
		return -EFBIG;
	want = (size_t)stp->st_size;
	if (want + 1 > *cap) {
		char *b = realloc(*buf, want + 1);
		if (!b)
			return -ENOMEM;
		*buf = b;
		*cap = want + 1;
	}
	while (got < want) {
		ssize_t n = read(fd, *buf + got, want - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break; /* shrank while we read: scan what is there */
		got += (size_t)n;
	}
	(*buf)[got] = '\0';
	*len = got;
	return 0;
}

/* Copies s[0..n) with ill-formed UTF-8 replaced by U+FFFD and control
 * bytes by '?' (when ctl is set): JSON must be UTF-8, a terminal must
 * not receive escape sequences from scanned files. */
static char *clean_text(const char *s, size_t n, bool ctl)
{
	struct util_sb sb;

	util_sb_init(&sb, 0);
	for (size_t i = 0; i < n;) {
		const unsigned char *u = (const unsigned char *)s + i;
		unsigned char c = u[0];
		size_t run = 0;

		/* Plain ASCII, the common case, goes over in one piece. */
		while (i + run < n && u[run] < 0x80 &&
		       (!ctl || (u[run] >= 0x20 && u[run] != 0x7f) || u[run] == '\t'))
			run++;
		if (run) {
			util_sb_put(&sb, u, run);
			i += run;
			continue;
		}
		size_t k = c < 0x80                 ? 1
			   : c >= 0xc2 && c <= 0xdf ? 2
			   : c >= 0xe0 && c <= 0xef ? 3
			   : c >= 0xf0 && c <= 0xf4 ? 4
						    : 0;
		bool ok = k > 0 && k <= n - i;

		for (size_t j = 1; ok && j < k; j++)
			ok = (u[j] & 0xc0) == 0x80;
		/* Overlong 3/4-byte forms, surrogates, and past U+10FFFF. */
		if (ok && k == 3)
			ok = !(c == 0xe0 && u[1] < 0xa0) && !(c == 0xed && u[1] > 0x9f);
		if (ok && k == 4)
			ok = !(c == 0xf0 && u[1] < 0x90) && !(c == 0xf4 && u[1] > 0x8f);
		if (!ok) {
			util_sb_puts(&sb, "\xef\xbf\xbd");
			i++;
		} else if (k == 1 && ctl && (c < 0x20 || c == 0x7f) && c != '\t') {
			util_sb_putc(&sb, '?');
			i++;
		} else {
			util_sb_put(&sb, u, k);
			i += k;
		}
	}
	util_sb_putc(&sb, '\0');
	return util_sb_take(&sb);
}

/* The finding's line, trimmed and cut at EXCERPT_MAX bytes (not inside
 * a UTF-8 sequence); also the end column on the first line. */
static char *excerpt_of(const char *buf, size_t len, const struct rules_finding *f, size_t *end_col)
{
	size_t ls = f->offset - (f->col - 1), le;
	const char *nl = memchr(buf + f->offset, '\n', len - f->offset);
	size_t match_end = f->offset + f->len;

	le = nl ? (size_t)(nl - buf) : len;
	*end_col = (match_end < le ? match_end : le) - ls + 1;
	while (ls < le && (buf[ls] == ' ' || buf[ls] == '\t'))
		ls++;
	while (le > ls && (buf[le - 1] == ' ' || buf[le - 1] == '\t' || buf[le - 1] == '\r'))
		le--;
	if (le - ls > EXCERPT_MAX) {
		le = ls + EXCERPT_MAX;
		while (le > ls && ((unsigned char)buf[le] & 0xc0) == 0x80)
			le--;
	}
	return clean_text(buf + ls, le - ls, true);
}

static void progress_clear(struct scan_state *st)
{
	if (st->progress_shown) {
		fputs("\r\033[K", stderr);
		st->progress_shown = false;
	}
}

static void progress(struct scan_state *st)
{
	int64_t now;

	if (!st->tty || st->files % 32)
		return;
	now = util_mono_ms();
	if (now - st->t0 < PROGRESS_AFTER_MS || now - st->last_progress < PROGRESS_EVERY_MS)
		return;
	st->last_progress = now;
	st->progress_shown = true;
	fprintf(stderr, "\r\033[Kfnguard scan: %zu files, %.1f MB, %zu findings", st->files,
		(double)st->bytes / 1e6, st->findings);
}

/* The JSON report is written the way cJSON_Print() lays out the same
 * document (tabs, ", " between array items, its string escapes), so
 * the output is the same bytes; each file's findings are formatted by
 * the worker that scanned it and the report is assembled in walk order. */
static void json_str(struct util_sb *sb, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	util_sb_putc(sb, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		const unsigned char *run = p;

		while (*p > 31 && *p != '"' && *p != '\\')
			p++;
		util_sb_put(sb, run, (size_t)(p - run));
		if (!*p)
			break;
		char esc[6] = { '\\', 0 };
		size_t n = 2;
		switch (*p) {
		case '"':
		case '\\':
			esc[1] = (char)*p;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			n = 6;
		}
		util_sb_put(sb, esc, n);
		p++;
	}
	util_sb_putc(sb, '"');
}

/* A cleaned string, or null. */
static void json_clean(struct util_sb *sb, const char *s)
{
	_cleanup_free_ char *c = s ? clean_text(s, strlen(s), false) : NULL;

	if (!s)
		util_sb_puts(sb, "null");
	else if (!c)
		sb->err = -ENOMEM;
	else
		json_str(sb, c);
}

/* cJSON's print_number: %1.15g unless that does not read back; below
 * 10^15 that is the integer's digits, written without printf (which took
 * half of a worker's time per finding). */
static void json_count(struct util_sb *sb, size_t v)
{
	char num[32];
	double d = (double)v, back = 0;

	if (v < 1000000000000000u) {
		char *p = num + sizeof num;

		do
			*--p = (char)('0' + v % 10);
		while (v /= 10);
		util_sb_put(sb, p, (size_t)(num + sizeof num - p));
		return;
	}
	snprintf(num, sizeof num, "%1.15g", d);
	if (sscanf(num, "%lg", &back) != 1 || back != d)
		snprintf(num, sizeof num, "%1.17g", d);
	util_sb_puts(sb, num);
}

static void json_finding(struct util_sb *sb, const char *clean_path, const struct found *x)
{
	util_sb_puts(sb, "{\n\t\t\t\"file\":\t");
	json_str(sb, clean_path);
	util_sb_puts(sb, ",\n\t\t\t\"line\":\t");
	json_count(sb, x->line);
	util_sb_puts(sb, ",\n\t\t\t\"col\":\t");
	json_count(sb, x->col);
	util_sb_puts(sb, ",\n\t\t\t\"end_col\":\t");
	json_count(sb, x->end_col);
	util_sb_puts(sb, ",\n\t\t\t\"rule\":\t");
	json_clean(sb, x->rule_id);
	util_sb_puts(sb, ",\n\t\t\t\"message\":\t");
	json_clean(sb, x->message);
	util_sb_puts(sb, ",\n\t\t\t\"severity\":\t");
	json_clean(sb, x->severity);
	util_sb_puts(sb, ",\n\t\t\t\"excerpt\":\t");
	json_str(sb, x->excerpt);
	util_sb_puts(sb, "\n\t\t}");
}

/* Worker side: a finding of the file being scanned. */
struct collect {
	struct scan_item *it;
	const char *buf;
	size_t len;
	bool json;
	bool packs;
	char *clean_path;   /* for JSON: the item's path, cleaned once */
	const char *member; /* an archive member's ARCHIVE/MEMBER, being scanned */
};

static bool on_finding(void *arg, const struct rules_finding *f)
{
	struct collect *c = arg;
	struct scan_item *it = c->it;
	struct found x = { .rule_id = f->rule_id,
			   .message = f->message,
			   .severity = f->severity,
			   .line = f->line,
			   .col = f->col };

	if (rules_finding_enforces(f, c->packs))
		it->enforcing = true;
	x.excerpt = excerpt_of(c->buf, c->len, f, &x.end_col);
	if (x.excerpt && c->json) {
		const char *path = c->member ? c->member : it->path;
		if (!c->clean_path)
			c->clean_path = clean_text(path, strlen(path), false);
		if (it->n_json)
			util_sb_puts(&it->json, ", ");
		if (c->clean_path)
			json_finding(&it->json, c->clean_path, &x);
		free(x.excerpt);
		it->n_json++;
		it->oom = !c->clean_path || it->json.err;
		return !it->oom;
	}
	if (x.excerpt && it->n == it->cap) {
		size_t cap = it->cap ? it->cap * 2 : 16;
		struct found *v = realloc(it->v, cap * sizeof(*v));

		if (v) {
			it->v = v;
			it->cap = cap;
		}
	}
	if (x.excerpt && c->member && !(x.path = strdup(c->member))) {
		free(x.excerpt);
		x.excerpt = NULL;
	}
	if (!x.excerpt || it->n == it->cap) {
		free(x.excerpt);
		free(x.path);
		it->oom = true;
		return false;
	}
	it->v[it->n++] = x;
	return true;
}

struct member_scan {
	struct collect *c;
	struct rules_scanner *sc;
};

/* One .py member of an archive, scanned as the file zipimport would make
 * of it: findings name ARCHIVE/MEMBER, as its tracebacks do. */
static bool scan_member(void *arg, const struct arch_member *m)
{
	struct member_scan *ms = arg;
	struct collect *c = ms->c;

	c->buf = m->data;
	c->len = m->len;
	c->member = m->path;
	free(c->clean_path);
	c->clean_path = NULL;
	c->it->scan_rc = rules_scan_with(ms->sc, m->path, m->data, m->len, on_finding, c);
	c->member = NULL;
	return c->it->scan_rc >= 0 && !c->it->oom;
}

/* An archive Python imports from (archive.h): what `run` would refuse
 * whole (unreadable, or bytecode with no source) is an error here, as
 * the scan could not judge it. */
static void scan_archive(struct scan_item *it, struct collect *c, struct rules_scanner *sc,
			 const char *buf, size_t len)
{
	struct member_scan ms = { c, sc };
	struct arch_info info;
	char why[256];

	int rc = arch_members(it->path, buf, len, scan_member, &ms, &info, why, sizeof why);
	if (rc == -ECANCELED)
		return; /* scan_rc or oom says why */
	if (rc == -ENOMEM)
		it->oom = true;
	else if (rc < 0 &&
		 asprintf(&it->why, "an archive that cannot be judged whole: %s", why) < 0)
		it->oom = true;
	else if (rc == 0 && info.sourceless[0] &&
		 asprintf(&it->why,
			  "holds %s, bytecode with no source beside it: `run` refuses the archive",
			  info.sourceless) < 0)
		it->oom = true;
}

static void scan_work(void *ctx, unsigned worker, void *item)
{
	struct scan_state *st = ctx;
	struct scan_worker *w = &st->w[worker];
	struct scan_item *it = item;
	struct collect c = { .it = it, .json = st->o->format == FMT_JSON, .packs = st->packs };

	bool archive = arch_is_archive(it->path);

	it->archive = archive;
	it->read_rc = read_capped(it->path, !it->named, archive ? ARCH_MAX_SIZE : SCAN_FILE_MAX,
				  &w->buf, &w->buf_cap, &it->len, &it->st);
	if (it->read_rc < 0)
		return;
	if (archive) {
		scan_archive(it, &c, w->sc, w->buf, it->len);
		free(c.clean_path);
		return;
	}
	if (st->vc)
		vcache_sha(w->buf, it->len, it->sha);
	c.buf = w->buf;
	c.len = it->len;
	it->scan_rc = rules_scan_with(w->sc, it->path, w->buf, it->len, on_finding, &c);
	free(c.clean_path);
}

/* Main thread: reports one finding; takes its excerpt. */
static void report_found(struct scan_state *st, const char *path, struct found *x)
{
	st->findings++;
	if (x->path)
		path = x->path; /* an archive member */
	if (st->o->format == FMT_TEXT) {
		_cleanup_free_ char *p = clean_text(path, strlen(path), true);

		progress_clear(st);
		printf("%s:%zu:%zu: %s: %s\n", p ? p : path, x->line, x->col, x->rule_id,
		       x->excerpt);
		free(x->excerpt);
		free(x->path);
		x->path = NULL;
		return;
	}
	if (!x->path)
		x->path = strdup(path);
	if (x->path && st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		struct found *v = realloc(st->v, cap * sizeof(*v));

		if (v) {
			st->v = v;
			st->cap = cap;
		}
	}
	if (!x->path || st->n == st->cap) {
		free(x->path);
		free(x->excerpt);
		st->oom = true;
		return;
	}
	st->v[st->n++] = *x;
}

static void report_item(struct scan_state *st, struct scan_item *it)
{
	size_t before = st->findings, i = 0;
	int rc = it->read_rc;

	if (it->msg) {
		progress_clear(st);
		fputs(it->msg, stderr);
		st->error = true;
		return;
	}
	if (rc == -EFBIG) {
		progress_clear(st);
		fprintf(stderr, "fnguard: %s: skipped, larger than %u MiB\n", it->path,
			(it->archive ? ARCH_MAX_SIZE : SCAN_FILE_MAX) >> 20);
		return;
	}
	if (rc == -EINVAL && !it->named)
		return; /* replaced by a non-file since the walk saw it */
	if (rc < 0) {
		progress_clear(st);
		fprintf(stderr, "fnguard: %s: %s\n", it->path,
			rc == -EINVAL ? "not a regular file" : strerror(-rc));
		st->error = true;
		if (rc == -ENOMEM)
			st->oom = true;
		return;
	}
	st->files++;
	st->bytes += it->len;
	if (it->n_json) {
		if (st->findings)
			util_sb_puts(&st->json, ", ");
		util_sb_put(&st->json, it->json.buf, it->json.len);
		st->findings += it->n_json;
		st->oom |= st->json.err != 0;
	}
	for (; i < it->n && !st->oom; i++)
		report_found(st, it->path, &it->v[i]);
	/* Excerpts not handed over stay with the item, to be freed. */
	it->n -= i;
	if (i && it->n)
		memmove(it->v, it->v + i, it->n * sizeof(*it->v));
	st->oom |= it->oom;
	rc = it->scan_rc;
	if (rc < 0) {
		progress_clear(st);
		fprintf(stderr, "fnguard: %s: %s\n", it->path,
			rc == -E2BIG ? "a rule hit the PCRE2 match limit; the file was not fully "
				       "scanned (simplify the rule's backtracking)"
				     : strerror(-rc));
		st->error = true;
		if (rc == -ENOMEM)
			st->oom = true;
	}
	if (it->why) {
		progress_clear(st);
		fprintf(stderr, "fnguard: %s: %s\n", it->path, it->why);
		st->error = true;
	}
	if (st->findings > before)
		st->files_with++;
	progress(st);
}

static void scan_done(void *ctx, void *item)
{
	struct scan_state *st = ctx;
	struct scan_item *it = item;

	/* After running out of memory nothing more is reported: the walk
	 * stops there. */
	if (!st->oom)
		report_item(st, it);
	/* What `run` would let through is remembered by --write-cache; not
	 * an archive, whose bytecode `run` judges by who could write it. */
	if (st->vc && !st->oom && !it->msg && it->read_rc == 0 && it->scan_rc >= 0 &&
	    !it->enforcing && !it->oom && !it->archive &&
	    vcache_writer_add(st->vc, &it->st, it->sha) < 0)
		st->oom = true;
	for (size_t i = 0; i < it->n; i++) {
		free(it->v[i].excerpt);
		free(it->v[i].path);
	}
	free(it->v);
	util_sb_free(&it->json);
	free(it->path);
	free(it->msg);
	free(it->why);
}

struct walk_ctx {
	struct scan_state *st;
	struct sup_pool *pool;
};

/* Queues one walk entry: a file to scan, or (is_err) an error to print
 * in turn. */
static bool queue(struct walk_ctx *wc, const char *path, bool named, bool is_err, int err)
{
	struct scan_item *it = sup_pool_slot(wc->pool);

	it->named = named;
	if (is_err && asprintf(&it->msg, "fnguard: %s: %s\n", path, strerror(err)) < 0)
		it->msg = NULL;
	it->path = is_err ? NULL : strdup(path);
	if (is_err ? !it->msg : !it->path) {
		wc->st->oom = true;
		return false;
	}
	sup_pool_push(wc->pool, is_err);
	return !wc->st->oom;
}

static bool walk_file(void *arg, const char *path, bool named)
{
	struct walk_ctx *wc = arg;

	if (!named && !sup_code_walked(path))
		return true;
	return queue(wc, path, named, false, 0);
}

static bool walk_error(void *arg, const char *path, int err)
{
	return queue(arg, path, false, true, err);
}

/* Walks every PATH: symlinks inside trees are not followed (a link out of
 * the tree must not pull other files in), PATHs themselves are. Files
 * are read and scanned by the pool's workers while the walk goes on. */
static void scan_paths(struct scan_state *st, struct sup_pool *pool)
{
	static const struct sup_walk_ops ops = { .file = walk_file, .error = walk_error };
	struct walk_ctx wc = { st, pool };
	int rc = sup_walk(st->o->paths, true, &ops, &wc);

	/* Everything queued is reported before the walk's own failure. */
	sup_pool_finish(pool);
	if (rc == -ENOENT) {
		fprintf(stderr, "fnguard: cannot walk the paths: %s\n", strerror(-rc));
		st->error = true;
	} else if (rc == -ENOMEM) {
		st->oom = true;
	}
}

static const char *sarif_level(const char *severity)
{
	if (!severity)
		return "warning";
	if (!strcmp(severity, "critical") || !strcmp(severity, "high"))
		return "error";
	if (!strcmp(severity, "low"))
		return "note";
	return "warning";
}

/* artifactLocation.uri: a relative reference when the file is under the
 * current directory (what code-scanning services resolve against the
 * checkout), else a file:// URI; bytes outside RFC 3986's unreserved set
 * and '/' are percent-encoded. */
static char *path_uri(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	char cwd[PATH_MAX];
	struct util_sb sb;
	size_t cl;

	util_sb_init(&sb, 0);
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	if (path[0] == '/' && getcwd(cwd, sizeof(cwd)) && (cl = strlen(cwd)) > 1 &&
	    !strncmp(path, cwd, cl) && path[cl] == '/')
		path += cl + 1;
	else if (path[0] == '/')
		util_sb_puts(&sb, "file://");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p)) {
			util_sb_putc(&sb, (char)*p);
		} else {
			char esc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			util_sb_put(&sb, esc, 3);
		}
	}
	util_sb_putc(&sb, '\0');
	return util_sb_take(&sb);
}

static bool add_clean(cJSON *o, const char *key, const char *s)
{
	_cleanup_free_ char *c = clean_text(s, strlen(s), false);

	return c && cJSON_AddStringToObject(o, key, c);
}

/* The driver's rules: those with results (SARIF lets a run list only the
 * rules it references); returns the index of id, adding it if new. */
static int sarif_rule_index(cJSON *rules, const struct found *f)
{
	int n = cJSON_GetArraySize(rules);

	for (int i = 0; i < n; i++) {
		cJSON *id = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(rules, i), "id");
		if (cJSON_IsString(id) && !strcmp(id->valuestring, f->rule_id))
			return i;
	}
	cJSON *r = cJSON_CreateObject();
	cJSON *sd = cJSON_CreateObject();
	cJSON *dc = cJSON_CreateObject();
	bool ok = r && sd && dc && cJSON_AddItemToArray(rules, r);

	if (!ok) {
		cJSON_Delete(r);
		cJSON_Delete(sd);
		cJSON_Delete(dc);
		return -1;
	}
	ok = add_clean(r, "id", f->rule_id) && cJSON_AddItemToObject(r, "shortDescription", sd);
	if (!ok) {
		cJSON_Delete(sd);
		cJSON_Delete(dc);
		return -1;
	}
	ok = add_clean(sd, "text", f->message ? f->message : f->rule_id) &&
	     cJSON_AddItemToObject(r, "defaultConfiguration", dc);
	if (!ok) {
		cJSON_Delete(dc);
		return -1;
	}
	return cJSON_AddStringToObject(dc, "level", sarif_level(f->severity)) ? n : -1;
}

static bool sarif_result(cJSON *results, cJSON *rules, const struct found *f)
{
	int idx = sarif_rule_index(rules, f);
	_cleanup_free_ char *uri = path_uri(f->path);
	cJSON *r = cJSON_CreateObject();
	cJSON *msg, *locs, *loc, *phys, *art, *reg, *snip;

	if (idx < 0 || !uri || !r || !cJSON_AddItemToArray(results, r)) {
		cJSON_Delete(r);
		return false;
	}
	return add_clean(r, "ruleId", f->rule_id) && cJSON_AddNumberToObject(r, "ruleIndex", idx) &&
	       cJSON_AddStringToObject(r, "level", sarif_level(f->severity)) &&
	       (msg = cJSON_AddObjectToObject(r, "message")) &&
	       add_clean(msg, "text", f->message ? f->message : f->rule_id) &&
	       (locs = cJSON_AddArrayToObject(r, "locations")) && (loc = cJSON_CreateObject()) &&
	       cJSON_AddItemToArray(locs, loc) &&
	       (phys = cJSON_AddObjectToObject(loc, "physicalLocation")) &&
	       (art = cJSON_AddObjectToObject(phys, "artifactLocation")) &&
	       add_clean(art, "uri", uri) && (reg = cJSON_AddObjectToObject(phys, "region")) &&
	       cJSON_AddNumberToObject(reg, "startLine", (double)f->line) &&
	       cJSON_AddNumberToObject(reg, "startColumn", (double)f->col) &&
	       cJSON_AddNumberToObject(reg, "endColumn", (double)f->end_col) &&
	       (snip = cJSON_AddObjectToObject(reg, "snippet")) &&
	       cJSON_AddStringToObject(snip, "text", f->excerpt);
}

static cJSON *sarif_report(const struct scan_state *st)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *runs, *run, *tool, *driver, *rules, *results;
	bool ok = root &&
		  cJSON_AddStringToObject(root, "$schema",
					  "https://json.schemastore.org/sarif-2.1.0.json") &&
		  cJSON_AddStringToObject(root, "version", "2.1.0") &&
		  (runs = cJSON_AddArrayToObject(root, "runs")) && (run = cJSON_CreateObject()) &&
		  cJSON_AddItemToArray(runs, run) &&
		  (tool = cJSON_AddObjectToObject(run, "tool")) &&
		  (driver = cJSON_AddObjectToObject(tool, "driver")) &&
		  cJSON_AddStringToObject(driver, "name", "fnguard") &&
		  cJSON_AddStringToObject(driver, "version", FNG_VERSION) &&
		  (rules = cJSON_AddArrayToObject(driver, "rules")) &&
		  (results = cJSON_AddArrayToObject(run, "results"));

	for (size_t i = 0; ok && i < st->n; i++)
		ok = sarif_result(results, rules, &st->v[i]);
	if (!ok) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

static int print_json(struct scan_state *st)
{
	struct util_sb *sb = &st->json;
	_cleanup_free_ char *doc = NULL;

	util_sb_puts(sb, "],\n\t\"files\":\t");
	json_count(sb, st->files);
	util_sb_puts(sb, ",\n\t\"bytes\":\t");
	json_count(sb, st->bytes);
	util_sb_puts(sb, ",\n\t\"rules\":\t");
	json_count(sb, rules_count(st->rules));
	util_sb_puts(sb, "\n}");
	doc = util_sb_take(sb);
	if (!doc) {
		fprintf(stderr, "fnguard: out of memory writing the report\n");
		return -ENOMEM;
	}
	fputs("{\n\t\"findings\":\t[", stdout);
	puts(doc);
	return 0;
}

static int print_report(struct scan_state *st)
{
	if (st->o->format == FMT_JSON)
		return print_json(st);
	cJSON *doc = sarif_report(st);
	/* Room for the whole report at once (~320 bytes a finding). */
	char *s = doc ? cJSON_PrintBuffered(
				doc, (int)(st->n < 1000000 ? st->n * 400 + 4096 : 1 << 28), 1)
		      : NULL;

	cJSON_Delete(doc);
	if (!s) {
		fprintf(stderr, "fnguard: out of memory writing the report\n");
		return -ENOMEM;
	}
	puts(s);
	free(s);
	return 0;
}

static void print_diags(struct pol_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "%s:%d:%d: %s\n", d->v[i].file, d->v[i].line, d->v[i].col,
			d->v[i].msg);
	pol_diags_clear(d);
}

static int load_policy_rules(struct rules *r, const char *path, struct pol_diags *d)
{
	_cleanup_free_ char *buf = NULL;
	struct policy *p = NULL;
	size_t cap = 0, len = 0;
	int rc = read_capped(path, false, POLICY_MAX, &buf, &cap, &len, NULL);

	if (rc < 0) {
		fprintf(stderr, "fnguard: cannot read policy %s: %s\n", path,
			rc == -EFBIG    ? "larger than 1 MiB"
			: rc == -EINVAL ? "not a regular file"
					: strerror(-rc));
		return rc;
	}
	rc = policy_parse(buf, len, path, &p, d);
	if (rc == 0)
		rc = rules_from_policy(r, p, d);
	policy_free(p);
	return rc;
}

/* Rules from -p and --rules, else the shipped packs. Returns 0 or -1
 * with every problem printed. */
static int build_rules(struct rules *r, const struct scan_opts *o, bool *packs)
{
	struct pol_diags d = { 0 };
	int bad = 0;

	if (o->policy && load_policy_rules(r, o->policy, &d) < 0)
		bad = 1;
	for (size_t i = 0; i < o->n_rule_files; i++) {
		int rc = rules_load_file(r, o->rule_files[i], &d);

		if (rc < 0 && rc != -EINVAL) {
			fprintf(stderr, "fnguard: cannot read rule file %s: %s\n", o->rule_files[i],
				rc == -EFBIG ? "not a regular file of at most 4 MiB"
					     : strerror(-rc));
		}
		bad |= rc < 0;
	}
	/* A policy whose code section names no rules gets the shipped packs
	 * in `run`: the same here. */
	*packs = !o->n_rule_files && !bad && (!o->policy || rules_count(r) == 0);
	if (*packs) {
		const char *dir = rules_default_dir();
		int rc = dir ? rules_load_dir(r, dir, &d) : -ENOENT;

		if (!dir)
			fprintf(stderr,
				"fnguard: no rules: the shipped rule packs were not found "
				"(../share/fnguard/rules or ../rules/packs next to the binary)\n"
				"Hint: pass --rules FILE or -p POLICY, or set "
				"$FNGUARD_RULES_DIR\n");
		else if (rc < 0 && rc != -EINVAL && !d.n)
			fprintf(stderr, "fnguard: cannot load the shipped rule packs from %s: %s\n",
				dir, strerror(-rc));
		bad |= rc < 0;
		if (!bad && rules_count(r) == 0) {
			fprintf(stderr,
				"fnguard: no rules: %s has no rule packs (*.yaml)\n"
				"Hint: pass --rules FILE or -p POLICY, or set $FNGUARD_RULES_DIR\n",
				dir);
			bad = 1;
		}
	} else if (!bad && rules_count(r) == 0) {
		fprintf(stderr, "fnguard: no rules to scan with\n"
				"Hint: the policy's code section needs rules or rule_files\n");
		bad = 1;
	}
	print_diags(&d);
	return bad ? -1 : 0;
}

/* Returns 0, or 2 after printing the problem; --help returns 1. */
static int parse_opts(int argc, char **argv, struct scan_opts *o)
{
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "rules", required_argument, NULL, 'r' },
		{ "format", required_argument, NULL, 'f' },
		{ "write-cache", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->policy = optarg;
			break;
		case 'r':
			o->rule_files[o->n_rule_files++] = optarg;
			break;
		case 'f':
			if (!strcmp(optarg, "text")) {
				o->format = FMT_TEXT;
			} else if (!strcmp(optarg, "json")) {
				o->format = FMT_JSON;
			} else if (!strcmp(optarg, "sarif")) {
				o->format = FMT_SARIF;
			} else {
				fprintf(stderr,
					"fnguard: unknown format '%s'\n"
					"Hint: --format text, json or sarif\n",
					optarg);
				return 2;
			}
			break;
		case 'w':
			o->write_cache = optarg;
			break;
		case 'h':
			scan_usage(stdout);
			return 1;
		default:
			scan_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "fnguard: scan needs at least one PATH\n");
		scan_usage(stderr);
		return 2;
	}
	o->paths = argv + optind;
	return 0;
}

static void state_fini(struct scan_state *st)
{
	for (size_t i = 0; i < st->n; i++) {
		free(st->v[i].path);
		free(st->v[i].excerpt);
	}
	free(st->v);
	util_sb_free(&st->json);
	for (size_t i = 0; i < st->n_w; i++) {
		rules_scanner_free(st->w[i].sc);
		free(st->w[i].buf);
	}
	free(st->w);
	rules_free(st->rules);
	vcache_writer_free(st->vc);
}

/* --write-cache: every file `run` would let through, for these rules. */
static int save_cache(struct scan_state *st)
{
	unsigned char digest[RULES_DIGEST_LEN];
	char err[PATH_MAX + 128];

	rules_digest(st->rules, st->packs, digest);
	if (vcache_writer_save(st->vc, st->o->write_cache, digest, err, sizeof err) < 0) {
		fprintf(stderr,
			"fnguard: %s\nHint: the verdict cache is written next to its final "
			"name, then renamed: its directory must be writable\n",
			err);
		return -1;
	}
	fprintf(stderr, "fnguard: verdict cache %s: %zu clean files\n", st->o->write_cache,
		vcache_writer_count(st->vc));
	return 0;
}

/* One scanner and buffer per worker and one for the main thread, then
 * the pool; NULL when out of memory. */
static struct sup_pool *start_pool(struct scan_state *st)
{
	unsigned n = sup_pool_workers(SCAN_THREADS_MAX);

	st->n_w = n + 1; /* the main thread works too */
	st->w = calloc(st->n_w, sizeof(*st->w));
	if (!st->w) {
		st->n_w = 0;
		return NULL;
	}
	for (size_t i = 0; i < st->n_w; i++)
		if (!(st->w[i].sc = rules_scanner_new(st->rules)))
			return NULL;
	return sup_pool_new(n, sizeof(struct scan_item), SCAN_WINDOW, scan_work, scan_done, st);
}

int cli_scan(int argc, char **argv)
{
	/* --rules can appear at most argc times. */
	_cleanup_free_ const char **files = calloc((size_t)argc + 1, sizeof(*files));
	struct scan_opts o = { .rule_files = files };
	struct scan_state st = { .o = &o };
	int rc;

	if (!files) {
		fprintf(stderr, "fnguard: out of memory\n");
		return 2;
	}
	rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc == 1 ? 0 : rc;
	st.rules = rules_new();
	if (!st.rules) {
		fprintf(stderr, "fnguard: out of memory\n");
		return 2;
	}
	if (build_rules(st.rules, &o, &st.packs) < 0) {
		state_fini(&st);
		return 2;
	}
	if (o.write_cache && !(st.vc = vcache_writer_new())) {
		fprintf(stderr, "fnguard: out of memory\n");
		state_fini(&st);
		return 2;
	}
	st.tty = isatty(STDERR_FILENO);
	st.t0 = st.last_progress = util_mono_ms();
	struct sup_pool *pool = start_pool(&st);
	if (pool)
		scan_paths(&st, pool);
	else
		st.oom = true;
	progress_clear(&st);
	if (st.oom) {
		fprintf(stderr, "fnguard: out of memory\n");
		state_fini(&st);
		return 2;
	}
	if (o.format != FMT_TEXT && print_report(&st) < 0)
		st.error = true;
	if (o.format == FMT_TEXT)
		fprintf(stderr, "fnguard: %zu finding%s in %zu of %zu files (%.1f MB, %zu rules)\n",
			st.findings, st.findings == 1 ? "" : "s", st.files_with, st.files,
			(double)st.bytes / 1e6, rules_count(st.rules));
	if (o.write_cache && save_cache(&st) < 0)
		st.error = true;
	rc = st.error ? 2 : st.findings ? 1 : 0;
	state_fini(&st);
	fflush(stdout);
	return rc;
}
