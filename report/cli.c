/* `fnguard report [--html FILE] [--json] [--since T] [--function NAME] [LOG...]`
 *
 * Exit status: 0 the report was written, 2 a usage error, an unreadable
 * input or an unwritable output. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "report.h"
#include "util.h"

/* The dashboard keeps this many violations whole (each opens to its
 * line); beyond it they are counted, and the page says so. */
#define REP_MAX_RECORDS 2000

static void report_usage(FILE *f)
{
	fputs("usage: fnguard report [--html FILE] [--json] [--since T] [--function NAME] "
	      "[LOG...]\n"
	      "  reads fnguard's JSON log lines from LOG files (or stdin, or '-');\n"
	      "  other lines are skipped and counted. T: RFC 3339 UTC time or prefix\n"
	      "  (2026-11-22T10:00) or an age (30m, 6h, 7d).\n",
	      f);
}

static void rep_freep(struct rep **r)
{
	rep_free(*r);
}

static int feed_path(struct rep *r, const char *path)
{
	_cleanup_fd_ int fd = -1;
	int rc;

	if (strcmp(path, "-") == 0)
		return rep_feed_fd(r, STDIN_FILENO);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "fnguard report: cannot open %s: %s\n", path, strerror(errno));
		return -errno;
	}
	rc = rep_feed_fd(r, fd);
	if (rc < 0)
		fprintf(stderr, "fnguard report: reading %s: %s\n", path, strerror(-rc));
	return rc;
}

static int write_html(const struct rep *r, const char *path)
{
	_cleanup_file_ FILE *f = strcmp(path, "-") == 0 ? NULL : fopen(path, "we");
	int rc;

	if (strcmp(path, "-") == 0)
		return rep_write_html(r, stdout);
	if (!f) {
		fprintf(stderr, "fnguard report: cannot write %s: %s\n", path, strerror(errno));
		return -errno;
	}
	rc = rep_write_html(r, f);
	if (rc == 0 && fflush(f) != 0)
		rc = -errno;
	if (rc < 0)
		fprintf(stderr, "fnguard report: writing %s: %s\n", path, strerror(-rc));
	return rc;
}

int cli_report(int argc, char **argv)
{
	static const struct option longopts[] = { { "html", required_argument, NULL, 'H' },
						  { "json", no_argument, NULL, 'j' },
						  { "since", required_argument, NULL, 's' },
						  { "function", required_argument, NULL, 'f' },
						  { "help", no_argument, NULL, 'h' },
						  { NULL, 0, NULL, 0 } };
	struct rep_opts o = { .max_records = REP_MAX_RECORDS };
	__attribute__((cleanup(rep_freep))) struct rep *r = NULL;
	const char *html = NULL;
	bool json = false;
	char since[40];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'H':
			html = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 's':
			if (rep_since_parse(optarg, util_now_ms(), since, sizeof since) < 0) {
				fprintf(stderr,
					"fnguard report: --since %s: not a time. Hint: "
					"2026-11-22T10:00:00Z, 2026-11-22 or an age like 30m, 6h, "
					"7d\n",
					optarg);
				return 2;
			}
			o.since = since;
			break;
		case 'f':
			o.function = optarg;
			break;
		case 'h':
			report_usage(stdout);
			return 0;
		default:
			report_usage(stderr);
			return 2;
		}
	}
	if (rep_new(&o, &r) < 0) {
		fputs("fnguard report: out of memory\n", stderr);
		return 2;
	}
	if (optind == argc && feed_path(r, "-") < 0)
		return 2;
	for (int i = optind; i < argc; i++)
		if (feed_path(r, argv[i]) < 0)
			return 2;
	if (html && write_html(r, html) < 0)
		return 2;
	if (html && strcmp(html, "-") == 0)
		return 0;
	int rc = json ? rep_write_json(r, stdout)
		      : rep_write_text(r, stdout, isatty(STDOUT_FILENO) && !getenv("NO_COLOR"));
	if (rc == 0 && fflush(stdout) != 0)
		rc = -errno;
	if (rc < 0) {
		fprintf(stderr, "fnguard report: writing the report: %s\n", strerror(-rc));
		return 2;
	}
	return 0;
}
