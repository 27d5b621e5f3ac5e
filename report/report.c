/* Reading log lines into the aggregate the writers print. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "rep_int.h"
#include "util.h"

/* Decoded text kept of one field. */
#define REP_FIELD 512

int rep_new(const struct rep_opts *o, struct rep **out)
{
	struct rep *r = calloc(1, sizeof *r);

	if (!r)
		return -ENOMEM;
	r->o = *o;
	*out = r;
	return 0;
}

static void rec_free(struct rep_rec *x)
{
	free(x->ts);
	free(x->event);
	free(x->action);
	free(x->function);
	free(x->type);
	free(x->what);
	free(x->json);
}

void rep_free(struct rep *r)
{
	if (!r)
		return;
	struct rep_tally *t[] = { &r->events,   &r->types,   &r->functions, &r->sources,
				  &r->domains,  &r->addrs,   &r->programs,  &r->rules,
				  &r->payloads, &r->minutes, &r->rids };
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		rep_tally_free(t[i]);
	for (size_t i = 0; i < r->n_recs; i++)
		rec_free(&r->recs[i]);
	free(r->recs);
	free(r);
}

static enum rep_act act_of(const struct rep_val *v)
{
	for (int i = 0; i < RA_OTHER; i++)
		if (rep_val_is(v, rep_act_names[i]))
			return (enum rep_act)i;
	return RA_OTHER;
}

static int bump(struct rep_tally *t, const char *key, enum rep_act a)
{
	struct rep_cnt *c;

	if (!key[0])
		return 0;
	c = rep_tally_get(t, key, strlen(key));
	if (!c)
		return -ENOMEM;
	c->n[a]++;
	return 0;
}

/* What a violation was about, in a few words. */
static void describe(const struct rep_line *l, const char *event, char *out, size_t size)
{
	char a[REP_FIELD], b[REP_FIELD], c[REP_FIELD];
	const struct rep_val *v = l->v;

	a[0] = b[0] = c[0] = 0;
	if (!strcmp(event, "exec") || !strcmp(event, "code")) {
		rep_val_text(&v[RK_PATH], a, sizeof a);
		rep_val_text(&v[RK_RULE], b, sizeof b);
		snprintf(out, size, "%s (%s)", a, b);
	} else if (!strcmp(event, "dns")) {
		rep_val_text(&v[RK_NAME], a, sizeof a);
		rep_val_text(&v[RK_QTYPE], b, sizeof b);
		snprintf(out, size, "%s %s", a, b);
	} else if (!strcmp(event, "connect") || !strcmp(event, "send")) {
		rep_val_text(&v[RK_ADDR], a, sizeof a);
		rep_val_text(&v[RK_PORT], b, sizeof b);
		if (v[RK_DOMAIN].type == RV_STRING)
			rep_val_text(&v[RK_DOMAIN], c, sizeof c);
		snprintf(out, size, "%s%s%s%s port %s", a, c[0] ? " (" : "", c, c[0] ? ")" : "", b);
	} else if (!strcmp(event, "invoke")) {
		rep_val_text(&v[RK_JSON_PATH], a, sizeof a);
		rep_val_text(&v[RK_PAYLOAD], b, sizeof b);
		snprintf(out, size, "%s: %s", a, b);
	} else if (!strcmp(event, "response")) {
		rep_val_text(&v[RK_RULE], a, sizeof a);
		rep_val_text(&v[RK_MATCH], b, sizeof b);
		snprintf(out, size, "%s: %s", a, b);
	} else if (!strcmp(event, "syscall")) {
		rep_val_text(&v[RK_SYSCALL], a, sizeof a);
		rep_val_text(&v[RK_REASON], b, sizeof b);
		snprintf(out, size, "%s %s", a, b);
	} else {
		rep_val_text(&v[RK_REASON], out, size);
	}
}

static int keep_record(struct rep *r, const struct rep_line *l, const char *ts, const char *event,
		       const char *action, const char *fn, const char *type)
{
	char what[REP_FIELD];

	if (r->n_recs >= r->o.max_records) {
		r->recs_dropped++;
		return 0;
	}
	if (r->n_recs == r->cap_recs) {
		size_t nc = r->cap_recs ? r->cap_recs * 2 : 64;
		struct rep_rec *v = realloc(r->recs, nc * sizeof *v);
		if (!v)
			return -ENOMEM;
		r->recs = v;
		r->cap_recs = nc;
	}
	describe(l, event, what, sizeof what);
	struct rep_rec *x = &r->recs[r->n_recs];
	*x = (struct rep_rec){ strdup(ts),
			       strdup(event),
			       strdup(action),
			       strdup(fn),
			       strdup(type),
			       strdup(what),
			       strndup(l->json, l->json_len) };
	if (!x->ts || !x->event || !x->action || !x->function || !x->type || !x->what || !x->json) {
		rec_free(x);
		return -ENOMEM;
	}
	r->n_recs++;
	return 0;
}

/* The invocation a line belongs to, counted once per function and once
 * in the minute it was first seen. */
static int see_request(struct rep *r, const struct rep_line *l, const char *fn, struct rep_cnt *fc,
		       struct rep_cnt *mc)
{
	char key[REP_FIELD * 2];
	char rid[REP_FIELD];

	if (l->v[RK_REQUEST_ID].type != RV_STRING)
		return 0;
	rep_val_text(&l->v[RK_REQUEST_ID], rid, sizeof rid);
	if (!rid[0])
		return 0;
	size_t fl = strlen(fn), rl = strlen(rid);
	memcpy(key, fn, fl);
	key[fl] = '\x1f';
	memcpy(key + fl + 1, rid, rl);
	size_t before = r->rids.n;
	if (!rep_tally_get(&r->rids, key, fl + 1 + rl))
		return -ENOMEM;
	if (r->rids.n != before) {
		fc->aux++;
		if (mc)
			mc->aux++;
	}
	return 0;
}

static int violation(struct rep *r, const struct rep_line *l, const char *ts, const char *event,
		     const char *action, enum rep_act a, const char *fn)
{
	char type[REP_FIELD], buf[REP_FIELD], key[REP_FIELD * 2];
	const struct rep_val *v = l->v;
	int rc = 0;

	snprintf(type, sizeof type, "%s", event);
	if (!strcmp(event, "invoke") && v[RK_ATTACK].type == RV_STRING)
		rep_val_text(&v[RK_ATTACK], type, sizeof type);
	rc |= bump(&r->types, type, a);
	rep_val_text(&v[RK_RULE], buf, sizeof buf);
	rc |= bump(&r->rules, buf, a);
	if (!strcmp(event, "invoke")) {
		rep_val_text(&v[RK_SOURCE], buf, sizeof buf);
		rc |= bump(&r->sources, buf[0] ? buf : "unknown", a);
		rep_val_text(&v[RK_PAYLOAD], buf, sizeof buf);
		snprintf(key, sizeof key, "%s\x1f%s", type, buf);
		rc |= bump(&r->payloads, key, a);
	} else if (!strcmp(event, "response")) {
		rep_val_text(&v[RK_MATCH], buf, sizeof buf);
		snprintf(key, sizeof key, "response\x1f%s", buf);
		rc |= bump(&r->payloads, key, a);
	} else if (!strcmp(event, "exec")) {
		rep_val_text(&v[RK_PATH], buf, sizeof buf);
		rc |= bump(&r->programs, buf, a);
	} else if (!strcmp(event, "dns")) {
		rep_val_text(&v[RK_NAME], buf, sizeof buf);
		rc |= bump(&r->domains, buf, a);
	} else if (!strcmp(event, "connect") || !strcmp(event, "send")) {
		char addr[REP_FIELD];
		rep_val_text(&v[RK_ADDR], addr, sizeof addr);
		rep_val_text(&v[RK_PORT], buf, sizeof buf);
		snprintf(key, sizeof key, strchr(addr, ':') ? "[%s]:%s" : "%s:%s", addr, buf);
		rc |= bump(&r->addrs, key, a);
		if (v[RK_DOMAIN].type == RV_STRING) {
			rep_val_text(&v[RK_DOMAIN], buf, sizeof buf);
			rc |= bump(&r->domains, buf, a);
		}
	}
	if (rc)
		return -ENOMEM;
	return keep_record(r, l, ts, event, action, fn, type);
}

int rep_feed_line(struct rep *r, const char *line, size_t len)
{
	char ts[40], event[64], action[16], fn[256], minute[17];
	struct rep_line l;

	r->lines++;
	r->bytes += len + 1;
	if (!rep_line_parse(line, len, &l)) {
		/* Blank lines are layout, not foreign lines. */
		if (len > 0)
			r->skipped++;
		return 0;
	}
	r->fng++;
	rep_val_text(&l.v[RK_TS], ts, sizeof ts);
	rep_val_text(&l.v[RK_FUNCTION], fn, sizeof fn);
	if ((r->o.since && strcmp(ts, r->o.since) < 0) ||
	    (r->o.function && strcmp(fn, r->o.function) != 0)) {
		r->filtered++;
		return 0;
	}
	rep_val_text(&l.v[RK_EVENT], event, sizeof event);
	rep_val_text(&l.v[RK_ACTION], action, sizeof action);
	enum rep_act a = act_of(&l.v[RK_ACTION]);
	if (!strcmp(event, "exit")) {
		/* A run's summary: its action repeats the violation that ended
		 * the run, already counted from that violation's own line. */
		struct rep_cnt *fc = rep_tally_get(&r->functions, fn[0] ? fn : "(none)",
						   strlen(fn[0] ? fn : "(none)"));
		if (!fc || bump(&r->events, event, a) < 0)
			return -ENOMEM;
		fc->aux2 += (uint64_t)rep_counts_get(&l.v[RK_COUNTS], "invoke", NULL);
		return 0;
	}
	r->by_act[a]++;
	if (!r->first_ts[0] || strcmp(ts, r->first_ts) < 0)
		snprintf(r->first_ts, sizeof r->first_ts, "%s", ts);
	if (strcmp(ts, r->last_ts) > 0)
		snprintf(r->last_ts, sizeof r->last_ts, "%s", ts);
	if (bump(&r->events, event, a) < 0)
		return -ENOMEM;
	struct rep_cnt *fc =
		rep_tally_get(&r->functions, fn[0] ? fn : "(none)", strlen(fn[0] ? fn : "(none)"));
	if (!fc)
		return -ENOMEM;
	fc->n[a]++;
	struct rep_cnt *mc = NULL;
	if (strlen(ts) >= 16) {
		memcpy(minute, ts, 16);
		minute[16] = 0;
		mc = rep_tally_get(&r->minutes, minute, 16);
		if (!mc)
			return -ENOMEM;
		mc->n[a]++;
	}
	if (see_request(r, &l, fn[0] ? fn : "(none)", fc, mc) < 0)
		return -ENOMEM;
	if (!strcmp(event, "start"))
		r->runs++;
	if (a == RA_ALLOW || a == RA_OTHER)
		return 0;
	return violation(r, &l, ts, event, action, a, fn[0] ? fn : "(none)");
}

static int feed_cb(void *arg, const char *line, size_t len)
{
	struct rep *r = arg;

	if (!line) { /* a line too long to be ours */
		r->lines++;
		r->skipped++;
		return 0;
	}
	return rep_feed_line(r, line, len);
}

int rep_feed_fd(struct rep *r, int fd)
{
	return rep_read_lines(fd, feed_cb, r);
}

uint64_t rep_function_invocations(const struct rep_cnt *fn)
{
	return fn->aux > fn->aux2 ? fn->aux : fn->aux2;
}

uint64_t rep_total_invocations(const struct rep *r)
{
	uint64_t s = 0;

	for (size_t i = 0; i < r->functions.n; i++)
		s += rep_function_invocations(&r->functions.v[i]);
	return s;
}

uint64_t rep_total_violations(const struct rep *r)
{
	return r->by_act[RA_DENY] + r->by_act[RA_KILL] + r->by_act[RA_AUDIT];
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int rep_since_parse(const char *arg, long long now_ms, char *out, size_t size)
{
	size_t n = strlen(arg);
	char *end;

	if (n >= 2 && digits(arg, n - 1) && strchr("smhd", arg[n - 1])) {
		long long k = strtoll(arg, &end, 10);
		long long mul = arg[n - 1] == 's'   ? 1
				: arg[n - 1] == 'm' ? 60
				: arg[n - 1] == 'h' ? 3600
						    : 86400;
		if (k < 0 || k > 100LL * 365 * 86400 / mul)
			return -EINVAL;
		long long t = now_ms - k * mul * 1000;
		struct timespec ts = { (time_t)(t / 1000), (long)(t % 1000) * 1000000 };
		char buf[32];
		util_rfc3339_ms(&ts, buf);
		buf[strlen(buf) - 1] = 0; /* the Z */
		snprintf(out, size, "%s", buf);
		return 0;
	}
	/* A prefix of YYYY-MM-DDTHH:MM:SS.mmm, with an optional Z; the log's
	 * own times are all of that one form, so text order is time order. */
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddd";
	if (n > 0 && (arg[n - 1] == 'Z' || arg[n - 1] == 'z'))
		n--;
	if (n < 4 || n > sizeof shape - 1 || n >= size)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = arg[i] == 't' || arg[i] == ' ' ? 'T' : arg[i];
		if (shape[i] == 'd' ? !(c >= '0' && c <= '9') : c != shape[i])
			return -EINVAL;
		out[i] = c;
	}
	out[n] = 0;
	return 0;
}
