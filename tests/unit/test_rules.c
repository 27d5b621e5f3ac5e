#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "rules.h"
#include "unit.h"

#define PROTECT_LAMBDA ".*(call|check_output|system|popen|run|local|spawn).*\\(.*"

struct got {
	size_t n;
	size_t line[16], col[16];
	const char *id[16];
	const char *msg[16];
	size_t stop_after; /* 0: never stop */
};

static bool collect(void *arg, const struct rules_finding *f)
{
	struct got *g = arg;

	if (g->n < 16) {
		g->line[g->n] = f->line;
		g->col[g->n] = f->col;
		g->id[g->n] = f->rule_id;
		g->msg[g->n] = f->message;
	}
	g->n++;
	return !g->stop_after || g->n < g->stop_after;
}

static char tmpdir[64];

static const char *write_tmp(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof tmpdir, "/tmp/fng-rules-XXXXXX");
		if (!mkdtemp(tmpdir))
			return NULL;
	}
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	return path;
}

static void rm_tmp(void)
{
	char cmd[128];

	if (!tmpdir[0])
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	tmpdir[0] = '\0';
}

UNIT_SUITE(rules_match_positions)
{
	static const struct {
		const char *pattern;
		const char *input;
		int n;
		size_t line, col; /* of the first finding */
	} cases[] = {
		/* The acceptance example; the outer .* is not run, so the
		 * column is that of the call. */
		{ PROTECT_LAMBDA,
		  "import subprocess\n"
		  "filetype = subprocess.check_output(command,shell=True).decode(\"utf-8\")\n",
		  1, 2, 23 },
		{ "\\bos\\.system\\s*\\(", "x = 1\n  os.system('ls')\n", 1, 2, 3 },
		{ "^eval", "x = eval(a)\neval(b)\n", 1, 2, 1 },   /* ^ per line */
		{ "\\)$", "f(a)\ng(b) \nh(c)", 2, 1, 4 },         /* $ per line, at EOF */
		{ "a.b", "a\nb\naxb\n", 1, 3, 1 },                /* . stops at \n */
		{ "exec", "exec exec exec\nexec\n", 2, 1, 1 },    /* one per line */
		{ "zzz", "", 0, 0, 0 },                           /* empty buffer */
		{ "import", "\n\n\r\nimport os\r\n", 1, 4, 1 },   /* CRLF lines */
		{ "\\xff", "ok\n\xff\xfe bad utf-8\n", 1, 2, 1 }, /* byte mode */
		{ "^.*spawn.*$", "a\n  child_process.spawn(x)\n", 1, 2, 17 },
		{ "\\.*x", "..x\n", 1, 1, 1 },     /* escaped dot kept */
		{ ".*", "a\nb\n", 3, 1, 1 },       /* every line, even "" */
		{ "(?s)a.*b", "a\nb\n", 1, 1, 1 }, /* options kept */
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct rules *r = rules_new();
		struct got g = { 0 };
		char err[256], what[512];

		CHECK(r != NULL);
		if (!r)
			return;
		CHECK(rules_add(r, "t", cases[i].pattern, NULL, NULL, NULL, "test", err,
				sizeof err) == 0);
		int rc = rules_scan(r, "f.py", cases[i].input, strlen(cases[i].input), collect, &g);
		snprintf(what, sizeof what, "case %zu /%s/: rc %d n %zu line %zu col %zu", i,
			 cases[i].pattern, rc, g.n, g.line[0], g.col[0]);
		CHECK_MSG(rc == cases[i].n && g.n == (size_t)cases[i].n, what);
		if (cases[i].n)
			CHECK_MSG(g.line[0] == cases[i].line && g.col[0] == cases[i].col, what);
		rules_free(r);
	}
}

UNIT_SUITE(rules_order_ext_stop_jit)
{
	struct rules *r = rules_new();
	static const char *const py[] = { ".py", NULL };
	static const char *const js[] = { ".js", ".mjs", NULL };
	const char *buf = "b a\na b\n";
	struct got g = { 0 };
	char err[256];

	CHECK(rules_add(r, "rule-b", "b", "B", "high", py, "test", err, sizeof err) == 0);
	CHECK(rules_add(r, "rule-a", "a", NULL, NULL, NULL, "test", err, sizeof err) == 0);
	CHECK(rules_add(r, "rule-js", "a", NULL, NULL, js, "test", err, sizeof err) == 0);
	CHECK(rules_count(r) == 3);
	/* JIT is what makes the engine fast enough: it must be in use. */
	for (size_t i = 0; i < rules_count(r); i++)
		CHECK(rules_jit_size(r, i) > 0);
	CHECK(rules_jit_size(r, 99) == 0);

	/* File order across rules; the .js rule does not apply to .py. */
	CHECK(rules_scan(r, "/x/m.py", buf, strlen(buf), collect, &g) == 4);
	CHECK_STR(g.id[0], "rule-b");
	CHECK(g.line[0] == 1 && g.col[0] == 1);
	CHECK_STR(g.msg[0], "B");
	CHECK_STR(g.id[1], "rule-a");
	CHECK(g.line[1] == 1 && g.col[1] == 3);
	CHECK_STR(g.id[2], "rule-a");
	CHECK(g.line[2] == 2 && g.col[2] == 1);
	CHECK(g.line[3] == 2 && g.col[3] == 3);

	memset(&g, 0, sizeof g);
	CHECK(rules_scan(r, "m.mjs", buf, strlen(buf), collect, &g) == 4); /* a + js */
	memset(&g, 0, sizeof g);
	CHECK(rules_scan(r, "README", buf, strlen(buf), collect, &g) == 2); /* only a */
	memset(&g, 0, sizeof g);
	CHECK(rules_scan(r, ".py", buf, strlen(buf), collect, &g) == 2); /* hidden, no ext */

	/* The callback stops the scan. */
	memset(&g, 0, sizeof g);
	g.stop_after = 1;
	CHECK(rules_scan(r, "m.py", buf, strlen(buf), collect, &g) == 1);

	/* Bad patterns: -EINVAL with PCRE2's message and offset. */
	CHECK(rules_add(r, "bad", "a(b", NULL, NULL, NULL, "test", err, sizeof err) == -EINVAL);
	CHECK(strstr(err, "offset 3") != NULL);
	CHECK(rules_add(r, "", "a", NULL, NULL, NULL, "test", err, sizeof err) == -EINVAL);
	CHECK(rules_count(r) == 3);

	CHECK(rules_is_code_file("/var/task/h.py"));
	CHECK(rules_is_code_file("/usr/lib/python3/dist-packages/x.pth"));
	CHECK(rules_is_code_file("h.ts") && rules_is_code_file("h.mts") &&
	      rules_is_code_file("h.cts"));
	CHECK(rules_is_code_file("/usr/share/perl5/File/Temp.pm"));
	CHECK(!rules_is_code_file("node_modules/x/index.d.ts") && !rules_is_code_file("a.d.mts"));
	CHECK(!rules_is_code_file("a.d.cts") && rules_is_code_file("/a/.d.ts"));
	CHECK(rules_is_code_file("x.cjs") && rules_is_code_file("a.b/run.sh"));
	CHECK(!rules_is_code_file("x.pyc") && !rules_is_code_file("/a.py/README"));
	CHECK(!rules_is_code_file(".sh") && !rules_is_code_file(NULL));
	rules_free(r);
	rules_free(NULL);
}

UNIT_SUITE(rules_protect_lambda_file)
{
	struct rules *r = rules_new();
	struct pol_diags d = { 0 };
	struct got g = { 0 };
	const char *src =
		"filetype = subprocess.check_output(command,shell=True).decode(\"utf-8\")\n";
	const char *path = write_tmp("code_protect.txt", "# protectLambda rules\r\n"
							 "\r\n"
							 "   \n" PROTECT_LAMBDA "\r\n"
							 "  # indented comment\n"
							 "eval\\(");

	CHECK(path != NULL);
	CHECK(rules_load_file(r, path, &d) == 0);
	CHECK(d.n == 0);
	CHECK(rules_count(r) == 2);
	CHECK(rules_scan(r, "handler.py", src, strlen(src), collect, &g) == 1);
	CHECK_STR(g.id[0], "code_protect.txt:4"); /* BASENAME:LINE */
	CHECK(g.msg[0] && strstr(g.msg[0], "Code Rule violation for .*(call|"));
	/* The '\r' was stripped: the pattern does not demand one. */
	memset(&g, 0, sizeof g);
	CHECK(rules_scan(r, "h.py", "x = eval(y)", 11, collect, &g) == 1);
	CHECK_STR(g.id[0], "code_protect.txt:6");

	/* Bad regexes: every one reported with its line and column, and
	 * nothing from the file is added. */
	path = write_tmp("bad.txt", "ok\n# c\n(unclosed\n\nfine\n[z-a]\n");
	CHECK(rules_load_file(r, path, &d) == -EINVAL);
	CHECK(rules_count(r) == 2);
	CHECK(d.n == 2);
	if (d.n == 2) {
		CHECK(d.v[0].line == 3 && d.v[0].col == 10);
		CHECK(strstr(d.v[0].msg, "invalid regex") != NULL);
		CHECK(d.v[1].line == 6 && d.v[1].col == 4);
		CHECK(strstr(d.v[0].file, "bad.txt") != NULL);
	}
	pol_diags_clear(&d);
	CHECK(rules_load_file(r, "/nonexistent/rules.txt", &d) == -ENOENT);
	CHECK(d.n == 0);
	rules_free(r);
	rm_tmp();
}

UNIT_SUITE(rules_yaml_packs)
{
	static const struct {
		const char *text;
		int rc;
		int line, col; /* of the first diagnostic */
		const char *msg;
	} cases[] = {
		{ "rules:\n"
		  "  - id: py-exec\n"
		  "    pattern: '\\bexec\\('\n"
		  "    message: exec of a string\n"
		  "    severity: high\n"
		  "    extensions: [.py]\n"
		  "  - {id: any, pattern: 'x'}\n",
		  0, 0, 0, NULL },
		{ "rules:\n  - id: a\n    patern: x\n", -EINVAL, 3, 5, "unknown key 'patern'" },
		{ "rules:\n  - id: a\n", -EINVAL, 2, 5, "no pattern" },
		{ "rules:\n  - id: a\n    pattern: 'a(b'\n", -EINVAL, 3, 14, "invalid regex" },
		{ "rules:\n  - id: a\n    pattern: x\n    severity: huge\n", -EINVAL, 4, 15,
		  "severity" },
		{ "rules:\n  - id: a\n    pattern: x\n    extensions: [py]\n", -EINVAL, 4, 18,
		  "dot" },
		{ "rules:\n  - {id: a, pattern: x}\n  - {id: a, pattern: y}\n", -EINVAL, 3, 10,
		  "duplicate rule id" },
		{ "rules:\n  - {id: a, pattern: x, id: b}\n", -EINVAL, 2, 25, "duplicate key" },
		{ "rule:\n  - {id: a, pattern: x}\n", -EINVAL, 1, 1, "unknown key 'rule'" },
		{ "rules: {id: a}\n", -EINVAL, 1, 8, "must be a list" },
		{ "rules:\n  - id: a\n   pattern: [\n", -EINVAL, 3, 4, "invalid YAML" },
		{ "", -EINVAL, 1, 1, "empty rule pack" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct rules *r = rules_new();
		struct pol_diags d = { 0 };
		const char *path = write_tmp("pack.yaml", cases[i].text);
		char what[512];
		int rc = rules_load_file(r, path, &d);

		snprintf(what, sizeof what, "case %zu: rc %d, %zu diags, first %d:%d %s", i, rc,
			 d.n, d.n ? d.v[0].line : 0, d.n ? d.v[0].col : 0, d.n ? d.v[0].msg : "");
		CHECK_MSG(rc == cases[i].rc, what);
		if (cases[i].msg) {
			CHECK_MSG(d.n >= 1 && d.v[0].line == cases[i].line &&
					  d.v[0].col == cases[i].col &&
					  strstr(d.v[0].msg, cases[i].msg) != NULL,
				  what);
			CHECK_MSG(rules_count(r) == 0, what);
		} else {
			CHECK_MSG(d.n == 0 && rules_count(r) == 2, what);
		}
		pol_diags_clear(&d);
		rules_free(r);
	}
	rm_tmp();
}

UNIT_SUITE(rules_dir_and_policy)
{
	struct rules *r = rules_new();
	struct pol_diags d = { 0 };
	struct got g = { 0 };
	char dir[128];

	write_tmp("b.yaml", "rules:\n  - {id: second, pattern: 'zz'}\n");
	write_tmp("a.yaml", "rules:\n  - {id: first, pattern: 'zz'}\n");
	write_tmp("c.txt", "not a pack(\n"); /* not *.yaml: ignored */
	snprintf(dir, sizeof dir, "%s", tmpdir);
	CHECK(rules_load_dir(r, dir, &d) == 0);
	CHECK(d.n == 0 && rules_count(r) == 2);
	CHECK(rules_scan(r, "x.py", "zz", 2, collect, &g) == 2);
	CHECK_STR(g.id[0], "first"); /* packs load in name order */
	CHECK(rules_load_dir(r, "/nonexistent-dir", &d) == -ENOENT);

	/* A policy's rules and rule files (relative to the policy). */
	char pfile[256];
	snprintf(pfile, sizeof pfile, "%s/fnguard.yaml", dir);
	write_tmp("code_protect.txt", PROTECT_LAMBDA "\n");
	const char *ptext = "version: 1\n"
			    "code:\n"
			    "  paths: [/var/task]\n"
			    "  rules:\n"
			    "    - {id: py-os-system, pattern: 'os\\.system'}\n"
			    "  rule_files: [code_protect.txt, missing.txt]\n";
	struct policy *p = NULL;
	CHECK(policy_parse(ptext, strlen(ptext), pfile, &p, &d) == 0);
	rules_free(r);
	r = rules_new();
	CHECK(rules_from_policy(r, p, &d) == -EINVAL);
	CHECK(rules_count(r) == 2);
	CHECK(d.n == 1);
	if (d.n == 1) {
		CHECK_STR(d.v[0].file, pfile);
		CHECK(d.v[0].line == 6 && d.v[0].col == 34);
		CHECK(strstr(d.v[0].msg, "missing.txt") && strstr(d.v[0].msg, "No such file"));
	}
	policy_free(p);
	pol_diags_clear(&d);
	rules_free(r);

	/* $FNGUARD_RULES_DIR wins. */
	setenv("FNGUARD_RULES_DIR", dir, 1);
	CHECK_STR(rules_default_dir(), dir);
	unsetenv("FNGUARD_RULES_DIR");
	rm_tmp();
}
