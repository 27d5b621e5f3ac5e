/* Rule files: YAML packs and protectLambda text files, the policy's own
 * rules, and the directory of shipped packs.
 *
 * A file is checked whole before any of its rules is added, so a file
 * with one bad line adds nothing and every problem is reported at once,
 * each as FILE:LINE:COL like the policy loader's diagnostics.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <yaml.h>

#include "cleanup.h"
#include "rules.h"

/* Rule files are written by people; anything bigger is a mistake (a
 * pattern list pasted from a corpus) and would make every start slow. */
#define RULE_FILE_MAX (4u << 20)
#define MAX_DIAGS     50

struct entry {
	char *id;
	const char *pattern; /* borrowed from the file's buffer or document */
	const char *message;
	const char *severity;
	const char **exts; /* NULL-terminated, borrowed; NULL for every file */
	char *owned_msg;   /* message built by the loader, if any */
	pcre2_code *re;    /* the pattern as checked, for rules_add_compiled */
};

struct loader {
	const char *file;
	struct pol_diags *diags;
	int n_err;
	bool oom;
	struct entry *v;
	size_t n, cap;
};

static void load_err(struct loader *ld, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void load_err(struct loader *ld, int line, int col, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	struct pol_diags *d = ld->diags;
	va_list ap;
	int r;

	ld->n_err++;
	if (!d || ld->oom || ld->n_err > MAX_DIAGS)
		return;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		msg = NULL; /* undefined after a failed vasprintf */
		ld->oom = true;
		return;
	}
	/* Messages quote rule text: keep terminals safe from control bytes. */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	struct pol_diag *v = realloc(d->v, (d->n + 1) * sizeof(*v));
	if (!v) {
		ld->oom = true;
		return;
	}
	d->v = v;
	v[d->n] = (struct pol_diag){ strdup(ld->file), line, col, msg };
	if (!v[d->n].file) {
		ld->oom = true;
		return;
	}
	msg = NULL; /* the list owns it now */
	d->n++;
}

/* Compiles a pattern the way rules_add() does (the rule set takes it
 * over); on error the column is that of the PCRE2 error offset counted
 * from col0, and NULL. */
static pcre2_code *check_regex(struct loader *ld, const char *pat, int line, int col0, bool off_col)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off = 0;
	int code = 0;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_MULTILINE,
				       &code, &off, NULL);

	if (re)
		return re;
	if (code == PCRE2_ERROR_NOMEMORY) {
		ld->oom = true;
		return NULL;
	}
	if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
		snprintf((char *)msg, sizeof(msg), "error %d", code);
	load_err(ld, line, off_col ? col0 + (int)off : col0,
		 "invalid regex: %s at offset %zu; PCRE2 syntax, e.g. '\\bos\\.system\\s*\\('",
		 (char *)msg, (size_t)off);
	return NULL;
}

static int entry_push(struct loader *ld, struct entry e)
{
	if (ld->n == ld->cap) {
		size_t cap = ld->cap ? ld->cap * 2 : 16;
		struct entry *v = realloc(ld->v, cap * sizeof(*v));

		if (!v) {
			free(e.id);
			free(e.exts);
			free(e.owned_msg);
			pcre2_code_free(e.re);
			ld->oom = true;
			return -ENOMEM;
		}
		ld->v = v;
		ld->cap = cap;
	}
	ld->v[ld->n++] = e;
	return 0;
}

static void loader_fini(struct loader *ld)
{
	for (size_t i = 0; i < ld->n; i++) {
		free(ld->v[i].id);
		free(ld->v[i].exts);
		free(ld->v[i].owned_msg);
		pcre2_code_free(ld->v[i].re);
	}
	free(ld->v);
}

/* Adds the checked entries; only called when the file had no error. */
static int loader_commit(struct loader *ld, struct rules *r)
{
	char err[512];

	for (size_t i = 0; i < ld->n; i++) {
		struct entry *e = &ld->v[i];
		int rc = e->re ? rules_add_compiled(r, e->id, e->pattern, e->re, e->message,
						    e->severity, e->exts, ld->file)
			       : rules_add(r, e->id, e->pattern, e->message, e->severity, e->exts,
					   ld->file, err, sizeof(err));
		e->re = NULL; /* taken over */
		if (rc < 0)
			return rc; /* -ENOMEM: the patterns were checked already */
	}
	return 0;
}

static int read_all(const char *path, char **out, size_t *len)
{
	_cleanup_fd_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t got = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode) || st.st_size > RULE_FILE_MAX)
		return -EFBIG;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = take_ptr(&buf);
	*len = got;
	return 0;
}

static const char *path_base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* protectLambda: one regex per line, used unchanged. buf is modified
 * (lines are cut in place). */
static void parse_text(struct loader *ld, char *buf, size_t len)
{
	const char *base = path_base(ld->file);
	int lineno = 0;
	size_t pos = 0;

	while (pos < len) {
		char *line = buf + pos;
		char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		const char *p = line;

		pos += n + 1;
		lineno++;
		if (n && line[n - 1] == '\r') /* files edited on Windows */
			n--;
		line[n] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if (strlen(line) != n) {
			load_err(ld, lineno, (int)strlen(line) + 1, "NUL byte in a rule line");
			continue;
		}
		struct entry e = { .re = check_regex(ld, line, lineno, 1, true) };
		if (!e.re)
			continue;
		if (asprintf(&e.id, "%s:%d", base, lineno) < 0) {
			pcre2_code_free(e.re);
			ld->oom = true;
			return;
		}
		/* protectLambda's own words, so its users recognise the finding. */
		if (asprintf(&e.owned_msg, "Code Rule violation for %s", line) < 0) {
			free(e.id);
			pcre2_code_free(e.re);
			ld->oom = true;
			return;
		}
		e.pattern = line;
		e.message = e.owned_msg;
		if (entry_push(ld, e) < 0)
			return;
	}
}

/* ---- YAML packs ---- */

static int yline(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

static int ycol(const yaml_node_t *n)
{
	return (int)n->start_mark.column + 1;
}

static const char *yscalar(struct loader *ld, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SCALAR_NODE) {
		load_err(ld, yline(n), ycol(n), "%s must be a string", what);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

static const char **pack_exts(struct loader *ld, yaml_document_t *doc, yaml_node_t *n)
{
	size_t count, i = 0;
	const char **v;

	if (n->type != YAML_SEQUENCE_NODE) {
		load_err(ld, yline(n), ycol(n), "extensions must be a list, e.g. [.py, .pyw]");
		return NULL;
	}
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count == 0) {
		load_err(ld, yline(n), ycol(n),
			 "extensions is empty; leave it out to apply the rule to every code file");
		return NULL;
	}
	v = calloc(count + 1, sizeof(*v));
	if (!v) {
		ld->oom = true;
		return NULL;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *x = yaml_document_get_node(doc, *it);
		const char *s = yscalar(ld, x, "an extension");

		if (s && (s[0] != '.' || !s[1] || strchr(s, '/'))) {
			load_err(ld, yline(x), ycol(x), "extension '%s' must start with a dot: .py",
				 s);
			s = NULL;
		}
		if (!s) {
			free(v);
			return NULL;
		}
		v[i++] = s;
	}
	return v;
}

static bool severity_ok(const char *s)
{
	static const char *const ok[] = { "low", "medium", "high", "critical" };

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		if (!strcmp(s, ok[i]))
			return true;
	return false;
}

/* One rule of a pack: a mapping with id and pattern, and optionally
 * message, severity and extensions; any other key is an error. */
static void pack_rule(struct loader *ld, yaml_document_t *doc, yaml_node_t *n)
{
	struct entry e = { 0 };
	const char *id = NULL;
	yaml_node_t *id_node = NULL;
	int bad = ld->n_err;
	unsigned seen = 0;

	if (n->type != YAML_MAPPING_NODE) {
		load_err(ld, yline(n), ycol(n),
			 "a rule must be a mapping with id, pattern, message, severity");
		return;
	}
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		static const char *const keys[] = { "id", "pattern", "message", "severity",
						    "extensions" };
		yaml_node_t *k = yaml_document_get_node(doc, pr->key);
		yaml_node_t *val = yaml_document_get_node(doc, pr->value);
		const char *key = yscalar(ld, k, "a key");
		size_t ki = ARRAY_SIZE(keys);

		if (!key)
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			if (!strcmp(key, keys[i]))
				ki = i;
		if (ki == ARRAY_SIZE(keys)) {
			load_err(ld, yline(k), ycol(k),
				 "unknown key '%s' in a rule; known: id, pattern, message, "
				 "severity, extensions",
				 key);
			continue;
		}
		if (seen & (1u << ki)) {
			load_err(ld, yline(k), ycol(k), "duplicate key '%s'", key);
			continue;
		}
		seen |= 1u << ki;
		switch (ki) {
		case 0:
			id = yscalar(ld, val, "id");
			id_node = val;
			break;
		case 1:
			e.pattern = yscalar(ld, val, "pattern");
			if (e.pattern)
				e.re = check_regex(ld, e.pattern, yline(val), ycol(val), false);
			break;
		case 2:
			e.message = yscalar(ld, val, "message");
			break;
		case 3:
			e.severity = yscalar(ld, val, "severity");
			if (e.severity && !severity_ok(e.severity))
				load_err(ld, yline(val), ycol(val),
					 "severity '%s' must be low, medium, high or critical",
					 e.severity);
			break;
		case 4:
			free(e.exts);
			e.exts = pack_exts(ld, doc, val);
			break;
		}
	}
	if (!(seen & 1u))
		load_err(ld, yline(n), ycol(n), "rule has no id");
	else if (id && !*id)
		load_err(ld, yline(id_node), ycol(id_node), "id is empty");
	if (!(seen & 2u))
		load_err(ld, yline(n), ycol(n), "rule %s has no pattern", id ? id : "");
	for (size_t i = 0; id && i < ld->n; i++)
		if (!strcmp(ld->v[i].id, id))
			load_err(ld, yline(id_node), ycol(id_node), "duplicate rule id '%s'", id);
	if (ld->n_err != bad || ld->oom) {
		free(e.exts);
		pcre2_code_free(e.re);
		return;
	}
	e.id = strdup(id);
	if (!e.id) {
		free(e.exts);
		pcre2_code_free(e.re);
		ld->oom = true;
		return;
	}
	entry_push(ld, e);
}

static void parse_pack(struct loader *ld, yaml_document_t *doc)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	bool have_rules = false;

	if (!root) {
		load_err(ld, 1, 1, "empty rule pack; expected 'rules:' with a list of rules");
		return;
	}
	if (root->type != YAML_MAPPING_NODE) {
		load_err(ld, yline(root), ycol(root), "a rule pack is a mapping with 'rules:'");
		return;
	}
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
	     pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(doc, pr->key);
		yaml_node_t *val = yaml_document_get_node(doc, pr->value);
		const char *key = yscalar(ld, k, "a key");

		if (!key)
			continue;
		if (strcmp(key, "rules")) {
			load_err(ld, yline(k), ycol(k),
				 "unknown key '%s'; a rule pack has only 'rules:'", key);
			continue;
		}
		if (have_rules) {
			load_err(ld, yline(k), ycol(k), "duplicate key 'rules'");
			continue;
		}
		have_rules = true;
		if (val->type != YAML_SEQUENCE_NODE) {
			load_err(ld, yline(val), ycol(val), "rules must be a list");
			continue;
		}
		for (yaml_node_item_t *it = val->data.sequence.items.start;
		     it < val->data.sequence.items.top && !ld->oom; it++)
			pack_rule(ld, doc, yaml_document_get_node(doc, *it));
	}
	if (!have_rules)
		load_err(ld, yline(root), ycol(root), "rule pack has no 'rules:' list");
}

/* Parses, checks and (when clean) adds a YAML pack. The document must
 * stay alive until the entries, which borrow its strings, are added. */
static int load_pack(struct loader *ld, struct rules *r, const char *buf, size_t len)
{
	yaml_parser_t yp;
	yaml_document_t doc;
	int rc = 0;

	if (!yaml_parser_initialize(&yp))
		return -ENOMEM;
	yaml_parser_set_input_string(&yp, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&yp, &doc)) {
		if (yp.error == YAML_MEMORY_ERROR) {
			rc = -ENOMEM;
		} else {
			load_err(ld, (int)yp.problem_mark.line + 1, (int)yp.problem_mark.column + 1,
				 "invalid YAML: %s", yp.problem ? yp.problem : "unknown error");
		}
		yaml_parser_delete(&yp);
		return rc;
	}
	parse_pack(ld, &doc);
	if (!ld->oom && !ld->n_err)
		rc = loader_commit(ld, r);
	yaml_document_delete(&doc);
	yaml_parser_delete(&yp);
	return rc;
}

static bool is_yaml(const char *path)
{
	const char *dot = strrchr(path_base(path), '.');

	return dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml"));
}

int rules_load_file(struct rules *r, const char *path, struct pol_diags *diags)
{
	_cleanup_free_ char *buf = NULL;
	struct loader ld = { .file = path, .diags = diags };
	size_t len = 0;
	int rc;

	if (!r || !path)
		return -EINVAL;
	rc = read_all(path, &buf, &len);
	if (rc < 0)
		return rc;
	if (is_yaml(path)) {
		rc = load_pack(&ld, r, buf, len);
	} else {
		parse_text(&ld, buf, len);
		if (!ld.oom && !ld.n_err)
			rc = loader_commit(&ld, r);
	}
	loader_fini(&ld);
	if (ld.oom || rc == -ENOMEM)
		return -ENOMEM;
	if (ld.n_err > MAX_DIAGS) {
		struct loader more = { .file = path, .diags = diags };
		load_err(&more, 1, 1, "%d more errors in this file are not shown",
			 ld.n_err - MAX_DIAGS);
	}
	return ld.n_err ? -EINVAL : rc;
}

static const char *errno_hint(int e)
{
	switch (e) {
	case ENOENT:
		return "; paths in rule_files are relative to the policy's directory";
	case EFBIG:
		return "; a rule file must be a regular file of at most 4 MiB";
	default:
		return "";
	}
}

/* Loads each of files (relative to the policy's directory), reporting a
 * file that cannot be read at its place in the policy. */
static void load_listed(struct loader *ld, struct rules *r, const struct policy *p,
			const struct pol_strv *files, struct pol_diags *diags)
{
	const char *slash = p->file ? strrchr(p->file, '/') : NULL;
	int dirlen = slash ? (int)(slash - p->file) : 0;
	char path[PATH_MAX];

	for (size_t i = 0; i < files->n && !ld->oom; i++) {
		const char *f = files->v[i];
		const struct pol_loc *loc = &files->loc[i];

		if (f[0] == '/' || !slash)
			snprintf(path, sizeof(path), "%s", f);
		else
			snprintf(path, sizeof(path), "%.*s/%s", dirlen, p->file, f);
		int e = rules_load_file(r, path, diags);
		if (e == -ENOMEM) {
			ld->oom = true;
		} else if (e == -EINVAL) {
			ld->n_err++; /* its own diagnostics are in diags already */
		} else if (e < 0) {
			load_err(ld, loc->line, loc->col, "rule file %s: %s%s", path, strerror(-e),
				 errno_hint(-e));
		}
	}
}

int rules_from_files(struct rules *r, const struct policy *p, const struct pol_strv *files,
		     struct pol_diags *diags)
{
	struct loader ld = { .file = p->file ? p->file : "policy", .diags = diags };

	load_listed(&ld, r, p, files, diags);
	if (ld.oom)
		return -ENOMEM;
	return ld.n_err ? -EINVAL : 0;
}

int rules_from_policy(struct rules *r, const struct policy *p, struct pol_diags *diags)
{
	const struct pol_code *c = &p->code;
	const char *pfile = p->file ? p->file : "policy";
	struct loader ld = { .file = pfile, .diags = diags };
	char err[512];
	int rc = 0;

	for (size_t i = 0; i < c->n_rules; i++) {
		const struct pol_rule *pr = &c->rules[i];
		int e = rules_add(r, pr->id, pr->pattern, pr->message, pr->severity, NULL, "policy",
				  err, sizeof(err));
		if (e == -ENOMEM)
			return e;
		if (e < 0)
			load_err(&ld, pr->loc.line, pr->loc.col, "rule %s: invalid regex: %s",
				 pr->id ? pr->id : "", err);
	}
	load_listed(&ld, r, p, &c->rule_files, diags);
	if (ld.oom)
		return -ENOMEM;
	if (ld.n_err)
		rc = -EINVAL;
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int rules_load_dir(struct rules *r, const char *dir, struct pol_diags *diags)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int rc = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".yaml"))
			continue;
		if (n == cap) {
			size_t c = cap ? cap * 2 : 16;
			char **v = realloc(names, c * sizeof(*v));
			if (!v) {
				rc = -ENOMEM;
				break;
			}
			names = v;
			cap = c;
		}
		if (!(names[n] = strdup(de->d_name))) {
			rc = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	/* Sorted, so rule order (and so output order) does not depend on
	 * the file system's directory order. */
	if (names)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n && rc != -ENOMEM; i++) {
		char path[PATH_MAX];
		int e;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		e = rules_load_file(r, path, diags);
		if (e < 0 && e != -EINVAL && e != -ENOMEM) {
			struct loader ld = { .file = path, .diags = diags };
			load_err(&ld, 1, 1, "cannot read rule pack: %s", strerror(-e));
		}
		if (e < 0 && (rc == 0 || e == -ENOMEM))
			rc = e;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
