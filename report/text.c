/* The terminal summary: fits 80 columns, colour only when asked (a TTY).
 * Every string from the log is attacker-controlled (payloads, names):
 * control characters are replaced before they reach the terminal, so a
 * payload cannot move the cursor or retitle the window. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "rep_int.h"

#define TOP      10
#define TIMELINE 30 /* minutes shown, the latest ones */
#define BAR      28

struct out {
	FILE *f;
	bool color;
};

static const char *col(const struct out *o, const char *code)
{
	return o->color ? code : "";
}

#define BOLD  "\033[1m"
#define RED   "\033[31m"
#define YEL   "\033[33m"
#define CYAN  "\033[36m"
#define RESET "\033[0m"

/* Length of the UTF-8 sequence at s (1 for a stray byte). */
static size_t seq_len(const unsigned char *s)
{
	if (s[0] < 0xc0)
		return 1;
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

/* Bidirectional overrides and isolates (U+202A..U+202E, U+2066..U+2069)
 * would reorder what the terminal shows after them. */
static bool bidi(const unsigned char *p, size_t n)
{
	return n == 3 && p[0] == 0xe2 &&
	       ((p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) ||
		(p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9));
}

/* Prints s in exactly width columns (cut with "…", padded with spaces;
 * right-aligned when right), with control characters shown as '?'. */
static void cell(FILE *f, const char *s, int width, bool right)
{
	const unsigned char *p = (const unsigned char *)s;
	int cols = 0, total = 0;

	for (const unsigned char *q = p; *q; q += seq_len(q))
		total++;
	if (right)
		for (int i = total; i < width; i++)
			fputc(' ', f);
	while (*p && cols < width) {
		size_t n = seq_len(p);
		if (total > width && cols == width - 1) {
			fputs("\xe2\x80\xa6", f);
			cols++;
			break;
		}
		/* C0, DEL and C1 (U+0080..U+009F) controls: CSI is one of them. */
		if (*p < 0x20 || *p == 0x7f || (n == 1 && *p >= 0x80) ||
		    (n == 2 && p[0] == 0xc2 && p[1] < 0xa0) || bidi(p, n))
			fputc('?', f);
		else
			fwrite(p, 1, n, f);
		p += n;
		cols++;
	}
	if (!right)
		for (; cols < width; cols++)
			fputc(' ', f);
}

static void num(FILE *f, unsigned long long n, int width)
{
	fprintf(f, "%*llu", width, n);
}

static void heading(const struct out *o, const char *title, const char *cols)
{
	fprintf(o->f, "\n%s%-*s%s%s\n", col(o, BOLD), cols[0] ? 32 : 0, title, cols, col(o, RESET));
}

static const char *act_color(const struct out *o, enum rep_act a)
{
	return a == RA_KILL ? col(o, RED) : a == RA_DENY ? col(o, YEL) : col(o, CYAN);
}

static void by_event(const struct out *o, const struct rep *r)
{
	_cleanup_free_ const struct rep_cnt **v = rep_tally_sorted(&r->events, false);

	if (!v || !r->events.n)
		return;
	heading(o, "By event", "   allow    deny    kill   audit");
	for (size_t i = 0; i < r->events.n; i++) {
		fputs("  ", o->f);
		cell(o->f, v[i]->key, 30, false);
		for (int a = RA_ALLOW; a <= RA_AUDIT; a++) {
			const char *c = a != RA_ALLOW && v[i]->n[a] ? act_color(o, a) : "";
			fputs(c, o->f);
			num(o->f, v[i]->n[a], 8);
			fputs(c[0] ? col(o, RESET) : "", o->f);
		}
		fputc('\n', o->f);
	}
}

/* A table of one tally's violations: key and counts by action. */
static void top_table(const struct out *o, const char *title, const struct rep_tally *t, size_t max)
{
	_cleanup_free_ const struct rep_cnt **v = rep_tally_sorted(t, false);
	size_t shown = 0;

	if (!v || !t->n)
		return;
	heading(o, title, "   total    deny    kill   audit");
	for (size_t i = 0; i < t->n && shown < max; i++, shown++) {
		fputs("  ", o->f);
		cell(o->f, v[i]->key, 30, false);
		num(o->f, rep_cnt_viol(v[i]), 8);
		for (int a = RA_DENY; a <= RA_AUDIT; a++)
			num(o->f, v[i]->n[a], 8);
		fputc('\n', o->f);
	}
	if (t->n > shown)
		fprintf(o->f, "  … and %zu more\n", t->n - shown);
}

static void by_function(const struct out *o, const struct rep *r)
{
	_cleanup_free_ const struct rep_cnt **v = rep_tally_sorted(&r->functions, false);

	if (!v || !r->functions.n)
		return;
	heading(o, "By function", "   invocations  violations  kills");
	for (size_t i = 0; i < r->functions.n && i < TOP; i++) {
		fputs("  ", o->f);
		cell(o->f, v[i]->key, 30, false);
		num(o->f, rep_function_invocations(v[i]), 14);
		num(o->f, rep_cnt_viol(v[i]), 12);
		num(o->f, v[i]->n[RA_KILL], 7);
		fputc('\n', o->f);
	}
	if (r->functions.n > TOP)
		fprintf(o->f, "  … and %zu more\n", r->functions.n - TOP);
}

static void payloads(const struct out *o, const struct rep *r)
{
	_cleanup_free_ const struct rep_cnt **v = rep_tally_sorted(&r->payloads, false);

	if (!v || !r->payloads.n)
		return;
	heading(o, "Top payloads", "");
	fprintf(o->f, "  %-14s %6s  %s\n", "attack", "count", "payload (as logged, cut)");
	for (size_t i = 0; i < r->payloads.n && i < TOP; i++) {
		const char *sep = strchr(v[i]->key, '\x1f');
		char type[64];
		snprintf(type, sizeof type, "%.*s", sep ? (int)(sep - v[i]->key) : 0, v[i]->key);
		fputs("  ", o->f);
		cell(o->f, type, 14, false);
		num(o->f, rep_cnt_viol(v[i]), 7);
		fputs("  ", o->f);
		cell(o->f, sep ? sep + 1 : v[i]->key, 53, false);
		fputc('\n', o->f);
	}
}

static void timeline(const struct out *o, const struct rep *r)
{
	_cleanup_free_ const struct rep_cnt **v = rep_tally_sorted(&r->minutes, true);
	uint64_t max = 1;
	size_t from;

	if (!v || !r->minutes.n)
		return;
	from = r->minutes.n > TIMELINE ? r->minutes.n - TIMELINE : 0;
	for (size_t i = from; i < r->minutes.n; i++) {
		if (v[i]->aux + rep_cnt_viol(v[i]) > max)
			max = v[i]->aux + rep_cnt_viol(v[i]);
	}
	heading(o, "Timeline (UTC, per minute)", "");
	fprintf(o->f, "  %-16s %11s %10s  %s\n", "minute", "invocations", "violations",
		"# invocations  ! violations");
	if (from)
		fprintf(o->f, "  (%zu earlier minutes not shown)\n", from);
	for (size_t i = from; i < r->minutes.n; i++) {
		uint64_t inv = v[i]->aux, vio = rep_cnt_viol(v[i]);
		int bi = (int)((inv * BAR + max - 1) / max),
		    bv = (int)((vio * BAR + max - 1) / max);
		fprintf(o->f, "  %-16s %11llu %10llu  ", v[i]->key, (unsigned long long)inv,
			(unsigned long long)vio);
		for (int k = 0; k < bi; k++)
			fputc('#', o->f);
		if (bv)
			fputs(col(o, RED), o->f);
		for (int k = 0; k < bv && k + bi < BAR + 1; k++)
			fputc('!', o->f);
		if (bv)
			fputs(col(o, RESET), o->f);
		fputc('\n', o->f);
	}
}

int rep_write_text(const struct rep *r, FILE *f, bool color)
{
	struct out o = { f, color };
	uint64_t viol = rep_total_violations(r);

	fprintf(f, "%sfnguard report%s: %llu lines read, %llu from fnguard\n", col(&o, BOLD),
		col(&o, RESET), (unsigned long long)r->lines, (unsigned long long)r->fng);
	if (r->skipped || r->filtered)
		fprintf(f, "  %llu other lines skipped, %llu filtered out by --since/--function\n",
			(unsigned long long)r->skipped, (unsigned long long)r->filtered);
	if (r->first_ts[0])
		fprintf(f, "from %s to %s\n", r->first_ts, r->last_ts);
	fprintf(f, "runs %llu, invocations %llu\n", (unsigned long long)r->runs,
		(unsigned long long)rep_total_invocations(r));
	fprintf(f, "violations %s%llu%s: kill %llu, deny %llu, audit %llu\n",
		viol ? col(&o, RED) : "", (unsigned long long)viol, viol ? col(&o, RESET) : "",
		(unsigned long long)r->by_act[RA_KILL], (unsigned long long)r->by_act[RA_DENY],
		(unsigned long long)r->by_act[RA_AUDIT]);
	if (!r->fng) {
		fputs("no fnguard log lines in the input\n", f);
		return ferror(f) ? -EIO : 0;
	}
	by_event(&o, r);
	top_table(&o, "Attack types", &r->types, TOP);
	by_function(&o, r);
	top_table(&o, "By event source", &r->sources, TOP);
	top_table(&o, "Top blocked domains", &r->domains, TOP);
	top_table(&o, "Top blocked addresses", &r->addrs, TOP);
	top_table(&o, "Top blocked programs", &r->programs, TOP);
	top_table(&o, "Top rules", &r->rules, TOP);
	payloads(&o, r);
	timeline(&o, r);
	return ferror(f) ? -EIO : 0;
}
