/* `fnguard scan`: the code-validation rules run over files and trees
 * before deployment, reported as text, JSON or SARIF 2.1.0.
 *
 * Exit status: 0 nothing found, 1 findings, 2 an error (bad rule file,
 * unreadable path, a file the engine could not finish); an error wins
 * over findings because the scan was incomplete.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cleanup.h"
#include "policy.h"
#include "rules.h"
#include "util.h"

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

enum scan_format { FMT_TEXT, FMT_JSON, FMT_SARIF };

struct scan_opts {
	const char *policy;
	const char **rule_files;
	size_t n_rule_files;
	enum scan_format format;
	char **paths; /* NULL-terminated, from argv */
};

struct found {
	char *path;
	char *excerpt;
	const char *rule_id; /* borrowed from the rule set */
	const char *message;
	const char *severity;
	size_t line, col, end_col;
};

struct scan_state {
	const struct scan_opts *o;
	struct rules *rules;
	char *buf;
	size_t buf_cap;
	struct found *v;
	size_t n, cap;
	size_t files, bytes, findings, files_with;
	const char *cur_path;
	const char *cur;
	size_t cur_len;
	bool error, oom;
	bool tty, progress_shown;
	int64_t t0, last_progress;
};

static void scan_usage(FILE *f)
{
	fputs("usage: fnguard scan [-p POLICY] [--rules FILE]... [--format text|json|sarif] "
	      "PATH...\n"
	      "Rules: the policy's code.rules and code.rule_files, each --rules file (YAML pack\n"
	      "or one regex per line), else the packs shipped with fnguard.\n"
	      "Exit status: 0 clean, 1 findings, 2 error.\n",
	      f);
}

/* Reads a regular file of at most max bytes into *buf (grown as needed,
 * NUL-terminated). Returns 0, -EFBIG, or -errno. */
static int read_capped(const char *path, bool nofollow, size_t max, char **buf, size_t *cap,
		       size_t *len)
{
	_cleanup_fd_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
						 (nofollow ? O_NOFOLLOW : 0));
	struct stat st;
	size_t got = 0, want;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	/* Checked on the open file: the tree walk's stat may be stale. */
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((size_t)st.st_size > max)
		return -EFBIG;
	want = (size_t)st.st_size;
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

static bool on_finding(void *arg, const struct rules_finding *f)
{
	struct scan_state *st = arg;
	struct found x = { .rule_id = f->rule_id,
			   .message = f->message,
			   .severity = f->severity,
			   .line = f->line,
			   .col = f->col };

	x.excerpt = excerpt_of(st->cur, st->cur_len, f, &x.end_col);
	if (!x.excerpt) {
		st->oom = true;
		return false;
	}
	st->findings++;
	if (st->o->format == FMT_TEXT) {
		_cleanup_free_ char *p = clean_text(st->cur_path, strlen(st->cur_path), true);

		progress_clear(st);
		printf("%s:%zu:%zu: %s: %s\n", p ? p : st->cur_path, x.line, x.col, x.rule_id,
		       x.excerpt);
		free(x.excerpt);
		return true;
	}
	x.path = strdup(st->cur_path);
	if (x.path && st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		struct found *v = realloc(st->v, cap * sizeof(*v));

		if (v) {
			st->v = v;
			st->cap = cap;
		}
	}
	if (!x.path || st->n == st->cap) {
		free(x.path);
		free(x.excerpt);
		st->oom = true;
		return false;
	}
	st->v[st->n++] = x;
	return true;
}

static void scan_one(struct scan_state *st, const char *path, bool named)
{
	size_t len = 0, before = st->findings;
	int rc = read_capped(path, !named, SCAN_FILE_MAX, &st->buf, &st->buf_cap, &len);

	if (rc == -EFBIG) {
		progress_clear(st);
		fprintf(stderr, "fnguard: %s: skipped, larger than %u MiB\n", path,
			SCAN_FILE_MAX >> 20);
		return;
	}
	if (rc == -EINVAL && !named)
		return; /* replaced by a non-file since the walk saw it */
	if (rc < 0) {
		progress_clear(st);
		fprintf(stderr, "fnguard: %s: %s\n", path,
			rc == -EINVAL ? "not a regular file" : strerror(-rc));
		st->error = true;
		if (rc == -ENOMEM)
			st->oom = true;
		return;
	}
	st->files++;
	st->bytes += len;
	st->cur_path = path;
	st->cur = st->buf;
	st->cur_len = len;
	rc = rules_scan(st->rules, path, st->buf, len, on_finding, st);
	if (rc < 0) {
		progress_clear(st);
		fprintf(stderr, "fnguard: %s: %s\n", path,
			rc == -E2BIG ? "a rule hit the PCRE2 match limit; the file was not fully "
				       "scanned (simplify the rule's backtracking)"
				     : strerror(-rc));
		st->error = true;
		if (rc == -ENOMEM)
			st->oom = true;
	}
	if (st->findings > before)
		st->files_with++;
	progress(st);
}

static int name_order(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

/* Walks every PATH: symlinks inside trees are not followed (a link out of
 * the tree must not pull other files in), PATHs themselves are. */
static void scan_paths(struct scan_state *st)
{
	FTS *fts = fts_open(st->o->paths, FTS_PHYSICAL | FTS_COMFOLLOW | FTS_NOCHDIR, name_order);
	FTSENT *e;

	if (!fts) {
		fprintf(stderr, "fnguard: cannot walk the paths: %s\n", strerror(errno));
		st->error = true;
		return;
	}
	for (;;) {
		errno = 0;
		e = st->oom ? NULL : fts_read(fts);
		if (!e)
			break;
		switch (e->fts_info) {
		case FTS_F:
			if (e->fts_level == FTS_ROOTLEVEL || rules_is_code_file(e->fts_path))
				scan_one(st, e->fts_path, e->fts_level == FTS_ROOTLEVEL);
			break;
		case FTS_DNR:
		case FTS_ERR:
		case FTS_NS:
			progress_clear(st);
			fprintf(stderr, "fnguard: %s: %s\n", e->fts_path, strerror(e->fts_errno));
			st->error = true;
			break;
		default: /* directories, symlinks not followed, cycles, specials */
			break;
		}
	}
	/* fts_read() returns NULL with errno set when the walk itself fails. */
	if (errno && !st->oom) {
		fprintf(stderr, "fnguard: walking the paths: %s\n", strerror(errno));
		st->error = true;
	}
	fts_close(fts);
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

static cJSON *json_report(const struct scan_state *st)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(root, "findings");
	bool ok = arr != NULL;

	for (size_t i = 0; ok && i < st->n; i++) {
		const struct found *f = &st->v[i];
		cJSON *o = cJSON_CreateObject();

		ok = o && cJSON_AddItemToArray(arr, o) && add_clean(o, "file", f->path) &&
		     cJSON_AddNumberToObject(o, "line", (double)f->line) &&
		     cJSON_AddNumberToObject(o, "col", (double)f->col) &&
		     cJSON_AddNumberToObject(o, "end_col", (double)f->end_col) &&
		     add_clean(o, "rule", f->rule_id) &&
		     (f->message ? add_clean(o, "message", f->message)
				 : cJSON_AddNullToObject(o, "message") != NULL) &&
		     (f->severity ? add_clean(o, "severity", f->severity)
				  : cJSON_AddNullToObject(o, "severity") != NULL) &&
		     cJSON_AddStringToObject(o, "excerpt", f->excerpt);
	}
	ok = ok && cJSON_AddNumberToObject(root, "files", (double)st->files) &&
	     cJSON_AddNumberToObject(root, "bytes", (double)st->bytes) &&
	     cJSON_AddNumberToObject(root, "rules", (double)rules_count(st->rules));
	if (!ok) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
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

static int print_report(const struct scan_state *st)
{
	cJSON *doc = st->o->format == FMT_JSON ? json_report(st) : sarif_report(st);
	char *s = doc ? cJSON_Print(doc) : NULL;

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
	int rc = read_capped(path, false, POLICY_MAX, &buf, &cap, &len);

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
static int build_rules(struct rules *r, const struct scan_opts *o)
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
	if (!o->policy && !o->n_rule_files) {
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
	free(st->buf);
	rules_free(st->rules);
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
	if (build_rules(st.rules, &o) < 0) {
		state_fini(&st);
		return 2;
	}
	st.tty = isatty(STDERR_FILENO);
	st.t0 = st.last_progress = util_mono_ms();
	scan_paths(&st);
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
	rc = st.error ? 2 : st.findings ? 1 : 0;
	state_fini(&st);
	fflush(stdout);
	return rc;
}
