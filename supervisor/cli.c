/* Usage text and `fnguard probe`. */
#include "cli.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"

void cli_usage(FILE *f)
{
	fputs("usage:\n"
	      "  fnguard run [-p POLICY] [--mode enforce|audit] [--log FILE]\n"
	      "              [--tier auto|kernel|preload] -- COMMAND [ARG...]\n"
	      "  fnguard check POLICY...\n"
	      "  fnguard scan [-p POLICY] [--rules FILE]... [--format text|json|sarif] PATH...\n"
	      "  fnguard probe [--json]\n"
	      "  fnguard report [--html FILE] [--json] [--since T] [--function NAME] [LOG...]\n"
	      "  fnguard learn [LOG...]\n"
	      "  fnguard --version | --help\n"
	      "\n"
	      "Policy lookup for run: -p, else $FNGUARD_POLICY, else "
	      "$LAMBDA_TASK_ROOT/fnguard.yaml.\n"
	      "Exit status of run: the workload's own (128+N for signal N); 159 when fnguard\n"
	      "killed it for a violation; 125 when fnguard failed; 126/127 as a shell.\n",
	      f);
}

int cli_probe(int argc, char **argv)
{
	struct sup_caps c;
	bool json = argc > 1 && strcmp(argv[1], "--json") == 0;

	sup_probe(&c, true);
	if (!json) {
		sup_caps_print(&c);
		return 0;
	}
	cJSON *o = sup_caps_json(&c);
	char *s = o ? cJSON_Print(o) : NULL;
	cJSON_Delete(o);
	if (!s)
		return 1;
	puts(s);
	free(s);
	return 0;
}
