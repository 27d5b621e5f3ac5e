/* fnguard: runtime protection for serverless functions. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "run"))
		return cli_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "check"))
		return cli_check(argc - 1, argv + 1);
	if (!strcmp(cmd, "probe"))
		return cli_probe(argc - 1, argv + 1);
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("fnguard %s\n", FNG_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		cli_usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "scan"))
		return cli_scan(argc - 1, argv + 1);
	if (!strcmp(cmd, "report") || !strcmp(cmd, "learn")) {
		fprintf(stderr, "fnguard: '%s' is not in this build yet\n", cmd);
		return 2;
	}
	cli_usage(stderr);
	return 2;
}
