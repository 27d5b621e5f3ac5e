/* Scripts without a code extension (rules/script.c): which names may be
 * one, and which rules a #! line selects. */
#include <string.h>

#include "cleanup.h"
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
