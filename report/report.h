/* `fnguard report`: reads fnguard's JSON lines (files or stdin) and sums
 * them up for people: a terminal summary, the aggregate as JSON, or a
 * self-contained HTML dashboard. `fnguard learn` (learn.h) reads the same
 * lines with the same parser (line.h). */
#ifndef FNG_REPORT_H
#define FNG_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct rep_opts {
	const char *since;    /* keep lines with ts >= this (rep_since_parse()); borrowed */
	const char *function; /* keep only this function's lines; borrowed */
	size_t max_records;   /* violations kept whole for the dashboard */
};

struct rep;

/* Returns 0 or -ENOMEM. */
int rep_new(const struct rep_opts *o, struct rep **out);
void rep_free(struct rep *r); /* accepts NULL */

/* Feeds every line read from fd (until EOF). Returns 0 or -errno (a read
 * error; -ENOMEM). */
int rep_feed_fd(struct rep *r, int fd);
/* One line without its newline. Returns 0 or -ENOMEM. */
int rep_feed_line(struct rep *r, const char *line, size_t len);

/* Writers: 0, or -errno when the output could not be written. */
int rep_write_text(const struct rep *r, FILE *f, bool color);
int rep_write_json(const struct rep *r, FILE *f);
int rep_write_html(const struct rep *r, FILE *f);

/* Turns --since T into the prefix rep_opts.since wants: an RFC 3339 UTC
 * time or a prefix of one ("2026-11-22", "2026-11-22T22:05"), or an age
 * ("90s", "15m", "2h", "7d") before now_ms. Returns 0 or -EINVAL. */
int rep_since_parse(const char *arg, long long now_ms, char *out, size_t size);

int cli_report(int argc, char **argv);

#endif
