/* Sub-commands of the fnguard binary; each returns the process exit code. */
#ifndef FNG_CLI_H
#define FNG_CLI_H

#include <stdio.h>

int cli_run(int argc, char **argv);   /* run.c */
int cli_check(int argc, char **argv); /* run.c */
int cli_probe(int argc, char **argv); /* main.c */
int cli_scan(int argc, char **argv);  /* scan.c */
void cli_usage(FILE *f);              /* main.c */

#endif
