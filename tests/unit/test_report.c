/* The report's log-line parser and aggregate, table-driven: what a line
 * is (fnguard's, foreign, broken), how its strings decode, and what the
 * counts say for small logs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "rep_int.h"
#include "learn.h"
#include "line.h"
#include "report.h"
#include "unit.h"

UNIT_SUITE(report_line_kinds)
{
	static const struct {
		const char *line;
		int want;
	} cases[] = {
		{ "{\"ts\":\"2026-01-01T00:00:00.000Z\",\"event\":\"exec\",\"action\":\"kill\"}",
		  1 },
		/* CloudWatch export: timestamp and request id before the JSON */
		{ "2026-01-01T00:00:00.000Z\tc0ffee-1\t{\"ts\":\"t\",\"event\":\"dns\",\"action\":"
		  "\"deny\"}",
		  1 },
		{ "{\"ts\":\"t\",\"event\":\"dns\",\"action\":\"deny\"}\r", 1 },
		/* filter-log-events --output text: the timestamp after the message */
		{ "EVENTS\t1\t17\ts\t{\"ts\":\"t\",\"event\":\"dns\",\"action\":\"deny\"}"
		  "\t1795455449",
		  1 },
		{ "", 0 },
		{ "garbage", 0 },
		{ "{", 0 },
		{ "}", 0 },
		{ "{}", 0 },
		{ "{\"ts\":\"t\",\"event\":\"dns\"}", 0 },                 /* no action */
		{ "{\"ts\":1,\"event\":\"dns\",\"action\":\"deny\"}", 0 }, /* ts not a string */
		{ "{\"ts\":\"t\",\"event\":\"\",\"action\":\"deny\"}", 0 },
		{ "{\"ts\":\"t\",\"event\":\"dns\",\"action\":\"deny\"", 0 },
		{ "{\"ts\":\"t\",\"event\":\"dns\",\"action\":\"deny\"}}", 0 },
		{ "{\"ts\":\"t\",\"event\":\"dns\",\"action\":\"deny\",}", 0 },
		{ "{\"ts\":\"t\",\"event\":\"d\\\"ns\",\"action\":\"deny\"}", 1 },
		{ "{\"ts\":\"t\",\"event\":\"dns\",\"action\":\"deny\",\"x\":[1,{\"a\":[]}],\"y\":"
		  "null}",
		  1 },
		{ "{\"ts\":\"t\",\"event\":\"dns\",\"action\":\"deny\",\"x\":[1,}", 0 },
		{ "{\"ts\":\"t\",\"event\":\"dns\",\"action\":\"deny\",\"x\":nul}", 0 },
		{ "{\"ts\":\"t\",\"event\":\"dns\",\"action\":\"deny\",\"x\":\"a\nb\"}", 0 },
		{ "{\"ts\":\"t\\\\\",\"event\":\"dns\",\"action\":\"deny\"}", 1 },
		{ "{\"ts\":\"t\\\\\\\",\"event\":\"dns\",\"action\":\"deny\"}", 0 },
	};
	struct rep_line l;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int got = rep_line_parse(cases[i].line, strlen(cases[i].line), &l);
		char msg[160];
		snprintf(msg, sizeof msg, "case %zu: got %d", i, got);
		CHECK_MSG(got == cases[i].want, msg);
	}
	/* A backslash before a raw NUL is no escape (strlen cannot hold it:
	 * the length is given). The fuzzer found the parser taking it. */
	static const char nul[] = "{\"ts\":\"t\",\"event\":\"dns\",\"action\":\"deny\","
				  "\"x\":\"a\\\0b\"}";
	CHECK(rep_line_parse(nul, sizeof nul - 1, &l) == 0);
}

UNIT_SUITE(report_line_values)
{
	const char *s =
		"{\"ts\":\"2026-01-01T00:00:00.000Z\",\"event\":\"invoke\",\"action\":\"deny\","
		"\"payload\":\"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\\u0000<x>\",\"port\":443,"
		"\"domain\":null,\"event\":\"second\",\"counts\":{\"invoke\":{\"allow\":3,"
		"\"deny\":2},\"exec\":{\"kill\":1}}}";
	struct rep_line l;
	char buf[64];

	CHECK(rep_line_parse(s, strlen(s), &l) == 1);
	rep_val_text(&l.v[RK_EVENT], buf, sizeof buf);
	CHECK_STR(buf, "invoke"); /* the first of a repeated key */
	rep_val_text(&l.v[RK_PAYLOAD], buf, sizeof buf);
	CHECK_STR(buf, "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbd<x>");
	CHECK(rep_val_int(&l.v[RK_PORT], -1) == 443);
	CHECK(l.v[RK_DOMAIN].type == RV_LITERAL);
	CHECK(l.v[RK_NAME].type == RV_NONE);
	CHECK(rep_counts_get(&l.v[RK_COUNTS], "invoke", NULL) == 5);
	CHECK(rep_counts_get(&l.v[RK_COUNTS], "invoke", "deny") == 2);
	CHECK(rep_counts_get(&l.v[RK_COUNTS], "dns", NULL) == 0);
	/* a cut never splits a UTF-8 sequence */
	char small[8];
	char nine[9];
	CHECK(rep_val_text(&l.v[RK_PAYLOAD], small, sizeof small) == 6);
	CHECK_STR(small, "a\"b\\c\n");
	CHECK(rep_val_text(&l.v[RK_PAYLOAD], nine, sizeof nine) == 8);
	CHECK_STR(nine, "a\"b\\c\n\xc3\xa9");
	CHECK(rep_val_is(&l.v[RK_ACTION], "deny") && !rep_val_is(&l.v[RK_ACTION], "den"));
}

UNIT_SUITE(report_since)
{
	char out[40];

	CHECK(rep_since_parse("2026-11-22T10:00:00Z", 0, out, sizeof out) == 0);
	CHECK_STR(out, "2026-11-22T10:00:00");
	CHECK(rep_since_parse("2026-11-22", 0, out, sizeof out) == 0);
	CHECK_STR(out, "2026-11-22");
	CHECK(rep_since_parse("2026-11-22 10:05", 0, out, sizeof out) == 0);
	CHECK_STR(out, "2026-11-22T10:05");
	CHECK(rep_since_parse("90m", 1795455449123LL, out, sizeof out) == 0);
	CHECK_STR(out, "2026-11-23T16:07:29.123");
	CHECK(rep_since_parse("yesterday", 0, out, sizeof out) == -EINVAL);
	CHECK(rep_since_parse("2026-1-22", 0, out, sizeof out) == -EINVAL);
	CHECK(rep_since_parse("m", 0, out, sizeof out) == -EINVAL);
	CHECK(rep_since_parse("", 0, out, sizeof out) == -EINVAL);
}

static struct rep *report_of(const char *text, const char *since, const char *fn)
{
	struct rep_opts o = { .since = since, .function = fn, .max_records = 2 };
	struct rep *r = NULL;
	const char *p = text;

	if (rep_new(&o, &r) < 0)
		return NULL;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		rep_feed_line(r, p, n);
		p += n + (nl != NULL);
	}
	return r;
}

#define L(ts, ev, act, fn, extra)                                                        \
	"{\"ts\":\"2026-01-01T00:" ts "Z\",\"event\":\"" ev "\",\"action\":\"" act "\"," \
	"\"function\":\"" fn "\",\"pid\":1" extra "}\n"

UNIT_SUITE(report_aggregate)
{
	const char *log = L("00:00.000", "start", "allow", "f1", "") "not a log line\n\n" L(
		"00:01.000", "invoke", "allow", "f1", ",\"request_id\":\"r1\"")
		L("00:02.000", "invoke", "deny", "f1",
		  ",\"request_id\":\"r2\",\"attack\":\"sqli\",\"source\":\"aws:sns\",\"payload\":"
		  "\"' OR 1=1\"") L("01:02.000", "dns", "kill", "f1",
				    ",\"request_id\":\"r2\",\"name\":\"evil.example\"")
			L("01:03.000", "exit", "kill", "f1",
			  ",\"counts\":{\"invoke\":{\"allow\":5,\"deny\":1}}")
				L("02:00.000", "connect", "audit", "f2",
				  ",\"addr\":\"2001:db8::1\",\"port\":443,\"domain\":null")
					L("03:00.000", "exec", "deny", "f2",
					  ",\"path\":\"/usr/bin/id\"");
	struct rep *r = report_of(log, NULL, NULL);

	CHECK(r != NULL);
	if (!r)
		return;
	CHECK(r->lines == 9 && r->fng == 7 && r->skipped == 1);
	CHECK(rep_total_violations(r) == 4); /* the exit line repeats the kill */
	CHECK(r->by_act[RA_KILL] == 1 && r->by_act[RA_DENY] == 2 && r->by_act[RA_AUDIT] == 1);
	/* f1: 2 request ids seen, 6 invocations counted by its exit line */
	CHECK(rep_function_invocations(rep_tally_find(&r->functions, "f1")) == 6);
	CHECK(rep_total_invocations(r) == 6);
	CHECK(rep_tally_find(&r->types, "sqli") && rep_tally_find(&r->sources, "aws:sns"));
	CHECK(rep_tally_find(&r->domains, "evil.example"));
	CHECK(rep_tally_find(&r->addrs, "[2001:db8::1]:443"));
	CHECK(rep_tally_find(&r->programs, "/usr/bin/id"));
	CHECK(rep_tally_find(&r->payloads, "sqli\x1f' OR 1=1"));
	CHECK(r->minutes.n == 4);
	CHECK(rep_tally_find(&r->minutes, "2026-01-01T00:00")->aux == 2);
	CHECK(r->n_recs == 2 && r->recs_dropped == 2);
	rep_free(r);

	r = report_of(log, "2026-01-01T00:01", NULL);
	CHECK(r && rep_total_violations(r) == 3 && r->filtered == 3);
	rep_free(r);
	r = report_of(log, NULL, "f2");
	CHECK(r && rep_total_violations(r) == 2 && rep_total_invocations(r) == 0);
	rep_free(r);
}

UNIT_SUITE(report_read_lines)
{
	/* lines split across reads, a last line without its newline, a
	 * line too long to be ours */
	int p[2];
	struct rep_opts o = { .max_records = 10 };
	struct rep *r = NULL;
	const char *a = L("00:00.000", "dns", "deny", "f", "");
	const size_t big = (2u << 20);
	char *junk = malloc(big);

	CHECK(junk && pipe(p) == 0 && rep_new(&o, &r) == 0);
	if (!junk || !r)
		return;
	memset(junk, 'x', big);
	junk[big - 1] = '\n';
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		for (size_t i = 0; a[i]; i++)
			if (write(p[1], a + i, 1) != 1)
				_exit(1);
		if (write(p[1], junk, big) != (ssize_t)big)
			_exit(1);
		if (write(p[1], a, strlen(a) - 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	CHECK(rep_feed_fd(r, p[0]) == 0);
	close(p[0]);
	CHECK(r->fng == 2 && r->skipped == 1 && r->by_act[RA_DENY] == 2);
	rep_free(r);
	free(junk);
}
