/* The report module's shared state: the aggregate the parser fills
 * (report.c) and the writers (text.c, html.c, json.c) read. Not for
 * other modules. */
#ifndef FNG_REPORT_REP_INT_H
#define FNG_REPORT_REP_INT_H

#include <stdint.h>

#include "line.h"
#include "report.h"

enum rep_act { RA_ALLOW, RA_DENY, RA_KILL, RA_AUDIT, RA_OTHER, RA_N };

extern const char *const rep_act_names[RA_N];

/* One counted key. n[] counts lines by action; aux and aux2 are for the
 * table's own use (invocations of a function or a minute). */
struct rep_cnt {
	char *key;
	size_t len; /* of key */
	uint64_t n[RA_N];
	uint64_t aux, aux2;
	uint32_t hash;
};

/* A string-keyed counter with insertion order kept. */
struct rep_tally {
	struct rep_cnt *v;
	size_t n, cap;
	uint64_t *slot; /* hash << 32 | index + 1, 0 = empty; open addressing */
	size_t n_slot;
	struct rep_cnt *last; /* the entry last returned (moves with v: reset on growth) */
};

/* The entry for key (created with zero counts). NULL on -ENOMEM. */
struct rep_cnt *rep_tally_get(struct rep_tally *t, const char *key, size_t len);
/* The entry for key if present. */
const struct rep_cnt *rep_tally_find(const struct rep_tally *t, const char *key);
void rep_tally_free(struct rep_tally *t);
uint64_t rep_cnt_viol(const struct rep_cnt *c); /* deny + kill + audit */
/* Entries sorted by violations (then all lines, then key), most first;
 * by key when by_key. Caller frees the array (entries borrowed). */
const struct rep_cnt **rep_tally_sorted(const struct rep_tally *t, bool by_key);

/* A violation kept whole: the dashboard's table opens each to its line. */
struct rep_rec {
	char *ts, *event, *action, *function, *type, *what, *json;
};

struct rep {
	struct rep_opts o;
	uint64_t lines, fng, skipped, filtered, bytes, runs;
	uint64_t by_act[RA_N];
	char first_ts[32], last_ts[32];
	struct rep_tally events;    /* event kind */
	struct rep_tally types;     /* attack type of violations */
	struct rep_tally functions; /* aux: invocations seen, aux2: exit counts */
	struct rep_tally sources;   /* event sources of invoke violations */
	struct rep_tally domains, addrs, programs, rules, payloads;
	struct rep_tally minutes; /* "YYYY-MM-DDTHH:MM"; aux: invocations */
	struct rep_tally rids;    /* function \x1f request id */
	struct rep_rec *recs;
	size_t n_recs, cap_recs;
	uint64_t recs_dropped;
};

/* Calls fn for every line read from fd until EOF (without its newline;
 * the last line may lack one). A line over 1 MiB, which fnguard never
 * writes, is passed as (NULL, 0) and its bytes are dropped. Returns 0,
 * the first negative value fn returned, or -errno. */
int rep_read_lines(int fd, int (*fn)(void *arg, const char *line, size_t len), void *arg);

/* Invocations: per function, the larger of the request ids seen and the
 * exit events' counts (lines of clean invocations are only written with
 * log.allowed). */
uint64_t rep_function_invocations(const struct rep_cnt *fn);
uint64_t rep_total_invocations(const struct rep *r);
uint64_t rep_total_violations(const struct rep *r);

#endif
