/* Scripts without a code extension (rules/script.c): which names may be
 * one, and which rules a #! line selects. */
#include <string.h>

#include "cleanup.h"
#include "rules.h"
#include "script.h"
#include "unit.h"

UNIT_SUITE(script_names)
{
	static const struct {
		const char *path;
		bool may;
	} cases[] = {
		{ "/var/task/bootstrap", true }, { "bin/tool", true },   { "tool", true },
		{ "/app/.hidden", true },        { "/app/x.py", false }, { "/app/x.tar.gz", false },
		{ "/a.d/tool", true },           { "/app/", false },     { "/app/v1.", false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		CHECK_MSG(rules_may_be_script(cases[i].path) == cases[i].may, cases[i].path);
}

UNIT_SUITE(script_interpreters)
{
	static const struct {
		const char *head;
		const char *ext;
	} cases[] = {
		{ "#!/usr/bin/python3\nimport os\n", ".py" },
		{ "#! /usr/bin/python3.11 -u\n", ".py" },
		{ "#!/usr/bin/env python3\n", ".py" },
		{ "#!/usr/bin/env -S python3 -u\n", ".py" },
		{ "#!/usr/bin/env -u HOME PYTHONPATH=x python\n", ".py" },
		{ "#!/opt/pypy3/bin/pypy3\n", ".py" },
		{ "#!/usr/bin/node\n", ".js" },
		{ "#!/usr/bin/env nodejs\n", ".js" },
		{ "#!/bin/sh\nset -eu\n", ".sh" },
		{ "#!/bin/bash -e\n", ".sh" },
		{ "#!/usr/bin/env zsh\r\n", ".sh" },
		{ "#!/usr/bin/perl -w\n", ".pl" },
		{ "#!/usr/bin/ruby\n", ".rb" },
		{ "#!/usr/bin/php8.2\n", ".php" },
		{ "#!/usr/bin/awk -f\n", NULL },
		{ "#!/usr/bin/python3-config\n", NULL },
		{ "#!/usr/bin/env\n", NULL },
		{ "#!\n", NULL },
		{ "# not a #! line\n", NULL },
		{ "\x7f"
		  "ELF",
		  NULL },
		{ "", NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		CHECK_STR(rules_script_ext(cases[i].head, strlen(cases[i].head)), cases[i].ext);
	/* A #! line cut at the head's end still names its program. */
	CHECK_STR(rules_script_ext("#!/bin/sh", 9), ".sh");
}

static bool count(void *arg, const struct rules_finding *f)
{
	(void)f;
	(*(int *)arg)++;
	return true;
}

/* The scan selects a script's rules by its #! line only when the name it
 * is given has no extension: a rule for .sh files fires on bin/tool, not
 * on notes.txt or on text with no file name (an event's value). */
UNIT_SUITE(script_rules_selected)
{
	static const char *const sh[] = { ".sh", NULL };
	static const char text[] = "#!/bin/sh\ncurl x | sh\n";
	static const struct {
		const char *path;
		int hits;
	} cases[] = {
		{ "bin/tool", 1 },
		{ "/app/run.sh", 1 },
		{ "/app/notes.txt", 0 },
		{ NULL, 0 },
	};
	struct rules *r = rules_new();
	char err[256];

	CHECK(r && rules_add(r, "curl-sh", "curl[^\n|]*\\|", NULL, NULL, sh, "test", err,
			     sizeof err) == 0);
	for (size_t i = 0; r && i < ARRAY_SIZE(cases); i++) {
		int n = 0;
		CHECK(rules_scan(r, cases[i].path, text, sizeof text - 1, count, &n) >= 0);
		CHECK_MSG(n == cases[i].hits, cases[i].path ? cases[i].path : "(null)");
	}
	rules_free(r);
}
