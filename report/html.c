/* The HTML dashboard: one self-contained file. No script at all (the
 * violations open with <details>), no external font, image or style, and
 * a Content-Security-Policy that forbids fetching anything and running
 * any script: the log carries attacker payloads, and every piece of log
 * text is escaped here, the CSP being the second wall if an escape were
 * ever missed. Charts are inline SVG; the layout is a CSS grid that folds
 * to one column on a phone. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cleanup.h"
#include "rep_int.h"

#define TOP_BARS 8
#define TOP_ROWS 15
/* Up to a day of minutes is drawn as a time axis, quiet minutes as gaps. */
#define TIMELINE_MAX 1440

/* Escapes text for HTML element content and quoted attributes; control
 * characters other than tab and newline become U+FFFD. */
static void esc(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
				fputs("\xef\xbf\xbd", f);
			else
				fputc(*p, f);
		}
	}
}

static const char css[] =
	":root{--bg:#f6f7f9;--fg:#1b1f24;--mute:#5b6470;--card:#fff;--line:#dde1e6;"
	"--inv:#4c78a8;--kill:#c0392b;--deny:#d68910;--audit:#2e86c1;--allow:#7f8c8d}"
	"*{box-sizing:border-box}"
	"body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;"
	"background:var(--bg);color:var(--fg)}"
	"main{max-width:1280px;margin:0 auto;padding:16px}"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 8px}"
	".mute{color:var(--mute)}"
	".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(100px,1fr));gap:10px;"
	"margin:14px 0}"
	".card,.panel{background:var(--card);border:1px solid var(--line);border-radius:8px;"
	"padding:12px}"
	".card b{display:block;font-size:24px}.card.kill b{color:var(--kill)}"
	".card.deny b{color:var(--deny)}.card.audit b{color:var(--audit)}"
	".grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:12px;"
	"margin:12px 0}"
	"svg{display:block;width:100%;height:auto}#chart-timeline{min-width:560px}"
	"svg text{font:11px system-ui,sans-serif;fill:var(--fg)}"
	".scroll{overflow-x:auto}"
	"table{border-collapse:collapse;width:100%}"
	"th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);"
	"vertical-align:top}"
	"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
	"td{overflow-wrap:anywhere}"
	".a-kill{color:var(--kill);font-weight:600}.a-deny{color:var(--deny);font-weight:600}"
	".a-audit{color:var(--audit);font-weight:600}"
	"details summary{cursor:pointer}"
	"pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f0f2f5;padding:8px;"
	"border-radius:6px;margin:6px 0 0;font-size:12px}"
	".legend span{display:inline-block;margin-right:12px}"
	".sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}"
	"@media (max-width:600px){main{padding:8px}.grid{grid-template-columns:1fr}"
	".hide-s{display:none}h1{font-size:18px}}";

static void card(FILE *f, const char *cls, const char *label, unsigned long long n)
{
	fprintf(f, "<div class=\"card %s\"><b>%llu</b><span class=mute>%s</span></div>", cls, n,
		label);
}

/* Minutes since the epoch of a "YYYY-MM-DDTHH:MM" key, or -1. */
static long long minute_of(const char *key)
{
	struct tm tm = { 0 };
	const char *e = strptime(key, "%Y-%m-%dT%H:%M", &tm);

	return e && !*e ? (long long)timegm(&tm) / 60 : -1;
}

struct slot {
	char key[32];
	const struct rep_cnt *c; /* NULL: a quiet minute */
};

/* The minutes to draw: every minute from the first to the last when that
 * is not too many (a time axis), else only those with lines. */
static struct slot *timeline_slots(const struct rep *r, size_t *n)
{
	_cleanup_free_ const struct rep_cnt **v = rep_tally_sorted(&r->minutes, true);
	size_t m = r->minutes.n;
	long long a = m ? minute_of(v[0]->key) : -1, b = m ? minute_of(v[m - 1]->key) : -1;
	bool linear = a >= 0 && b >= a && b - a < TIMELINE_MAX;
	size_t count = linear ? (size_t)(b - a + 1) : m;
	struct slot *s = v ? calloc(count + 1, sizeof *s) : NULL;

	if (!s)
		return NULL;
	for (size_t i = 0; !linear && i < m; i++) {
		snprintf(s[i].key, sizeof s[i].key, "%s", v[i]->key);
		s[i].c = v[i];
	}
	for (size_t i = 0; linear && i < count; i++) {
		time_t t = (time_t)((a + (long long)i) * 60);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(s[i].key, sizeof s[i].key, "%Y-%m-%dT%H:%M", &tm);
		s[i].c = rep_tally_find(&r->minutes, s[i].key);
	}
	*n = count;
	return s;
}

/* Invocations and violations per minute, as bars side by side. */
static void svg_timeline(FILE *f, const struct rep *r)
{
	const double W = 1000, H = 220, L = 48, B = 28, T = 10;
	size_t n = 0;
	_cleanup_free_ struct slot *v = timeline_slots(r, &n);
	uint64_t max = 1;

	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		if (v[i].c && v[i].c->aux > max)
			max = v[i].c->aux;
		if (v[i].c && rep_cnt_viol(v[i].c) > max)
			max = rep_cnt_viol(v[i].c);
	}
	fprintf(f,
		"<div class=scroll><svg id=chart-timeline viewBox=\"0 0 %.0f %.0f\" role=img "
		"aria-label=\"invocations and violations per minute\">",
		W, H);
	fprintf(f,
		"<line x1=%.0f y1=%.0f x2=%.0f y2=%.0f stroke=\"#999\"/>"
		"<text x=%.0f y=%.0f text-anchor=end>%llu</text>"
		"<text x=%.0f y=%.0f text-anchor=end>0</text>",
		L, H - B, W, H - B, L - 6, T + 10, (unsigned long long)max, L - 6, H - B);
	double slot = n ? (W - L) / (double)n : 0;
	if (slot > 60)
		slot = 60; /* a few minutes are not a wall of colour */
	double bw = slot * 0.4;
	for (size_t i = 0; i < n; i++) {
		uint64_t inv = v[i].c ? v[i].c->aux : 0, vio = v[i].c ? rep_cnt_viol(v[i].c) : 0;
		double x = L + slot * (double)i + slot * 0.1;
		double hi = (H - B - T) * (double)inv / (double)max;
		double hv = (H - B - T) * (double)vio / (double)max;
		if (!inv && !vio)
			continue;
		fputs("<g><title>", f);
		esc(f, v[i].key);
		fprintf(f,
			": %llu invocations, %llu violations</title>"
			"<rect class=inv x=%.1f y=%.1f width=%.1f height=%.1f fill=\"#4c78a8\"/>"
			"<rect class=viol x=%.1f y=%.1f width=%.1f height=%.1f "
			"fill=\"#c0392b\"/></g>",
			(unsigned long long)inv, (unsigned long long)vio, x, H - B - hi, bw, hi,
			x + bw, H - B - hv, bw, hv);
	}
	if (n) {
		fprintf(f, "<text x=%.0f y=%.0f>", L, H - 8);
		esc(f, v[0].key);
		fprintf(f, "</text><text x=%.0f y=%.0f text-anchor=end>", W, H - 8);
		if (n > 1)
			esc(f, v[n - 1].key + 11);
		fputs("</text>", f);
	}
	fputs("</svg></div>", f);
	fputs("<div class=legend><span><i class=sw style=\"background:#4c78a8\"></i>invocations"
	      "</span><span><i class=sw style=\"background:#c0392b\"></i>violations</span>"
	      "<span class=mute>UTC minutes</span></div>",
	      f);
}

/* Horizontal bars of one tally's violations, stacked by action. */
static void svg_bars(FILE *f, const char *id, const char *title, const struct rep_tally *t)
{
	_cleanup_free_ const struct rep_cnt **v = rep_tally_sorted(t, false);
	static const char *const fill[RA_N] = { "#7f8c8d", "#d68910", "#c0392b", "#2e86c1",
						"#999" };
	const double W = 500, row = 26, label = 170;
	size_t n = 0;
	uint64_t max = 1;

	if (!v)
		return;
	/* Sorted by violations: the bars stop at the first clean entry. */
	for (size_t i = 0; i < t->n && n < TOP_BARS && rep_cnt_viol(v[i]); i++, n++)
		if (rep_cnt_viol(v[i]) > max)
			max = rep_cnt_viol(v[i]);
	fprintf(f, "<div class=panel><h2>%s</h2>", title);
	if (!n) {
		fputs("<p class=mute>no violations</p></div>", f);
		return;
	}
	fprintf(f, "<svg id=\"%s\" viewBox=\"0 0 %.0f %.0f\" role=img aria-label=\"%s\">", id, W,
		row * (double)n + 4, title);
	for (size_t i = 0; i < n; i++) {
		double y = row * (double)i + 2, x = label;
		char key[64];
		snprintf(key, sizeof key, "%.*s", 26, v[i]->key);
		fputs("<g><title>", f);
		esc(f, v[i]->key);
		fprintf(f, ": %llu</title><text x=0 y=%.1f>",
			(unsigned long long)rep_cnt_viol(v[i]), y + 16);
		esc(f, key);
		if (strlen(v[i]->key) > 26)
			fputs("\xe2\x80\xa6", f);
		fputs("</text>", f);
		for (int a = RA_DENY; a <= RA_AUDIT; a++) {
			double w = (W - label - 50) * (double)v[i]->n[a] / (double)max;
			if (w <= 0)
				continue;
			fprintf(f,
				"<rect class=\"bar %s\" x=%.1f y=%.1f width=%.1f height=%.1f "
				"fill=\"%s\"/>",
				rep_act_names[a], x, y + 3, w, row - 8, fill[a]);
			x += w;
		}
		fprintf(f, "<text x=%.1f y=%.1f>%llu</text></g>", x + 4, y + 16,
			(unsigned long long)rep_cnt_viol(v[i]));
	}
	fputs("</svg></div>", f);
}

static void top_table(FILE *f, const char *id, const char *title, const struct rep_tally *t)
{
	_cleanup_free_ const struct rep_cnt **v = rep_tally_sorted(t, false);

	if (!v || !t->n)
		return;
	fprintf(f,
		"<div class=panel><h2>%s</h2><div class=scroll><table id=\"%s\"><thead><tr>"
		"<th>%s</th><th class=n>total</th><th class=\"n hide-s\">deny</th>"
		"<th class=\"n hide-s\">kill</th><th class=\"n hide-s\">audit</th></tr></thead>"
		"<tbody>",
		title, id, strcmp(id, "t-payloads") ? "what" : "attack: payload");
	for (size_t i = 0; i < t->n && i < TOP_ROWS; i++) {
		const char *sep = strchr(v[i]->key, '\x1f');
		fputs("<tr><td>", f);
		if (sep) {
			_cleanup_free_ char *type = strndup(v[i]->key, (size_t)(sep - v[i]->key));
			fputs("<b>", f);
			esc(f, type ? type : "");
			fputs("</b>: <code>", f);
			esc(f, sep + 1);
			fputs("</code>", f);
		} else {
			esc(f, v[i]->key);
		}
		fprintf(f,
			"</td><td class=n>%llu</td><td class=\"n hide-s\">%llu</td>"
			"<td class=\"n hide-s\">%llu</td><td class=\"n hide-s\">%llu</td></tr>",
			(unsigned long long)rep_cnt_viol(v[i]),
			(unsigned long long)v[i]->n[RA_DENY], (unsigned long long)v[i]->n[RA_KILL],
			(unsigned long long)v[i]->n[RA_AUDIT]);
	}
	fputs("</tbody></table></div>", f);
	if (t->n > TOP_ROWS)
		fprintf(f, "<p class=mute>and %zu more</p>", t->n - TOP_ROWS);
	fputs("</div>", f);
}

static void events_table(FILE *f, const struct rep *r)
{
	_cleanup_free_ const struct rep_cnt **v = rep_tally_sorted(&r->events, false);

	if (!v)
		return;
	fputs("<div class=panel><h2>By event</h2><div class=scroll><table id=t-events><thead><tr>"
	      "<th>event</th><th class=n>allow</th><th class=n>deny</th><th class=n>kill</th>"
	      "<th class=n>audit</th></tr></thead><tbody>",
	      f);
	for (size_t i = 0; i < r->events.n; i++) {
		fputs("<tr><td>", f);
		esc(f, v[i]->key);
		fputs("</td>", f);
		for (int a = RA_ALLOW; a <= RA_AUDIT; a++)
			fprintf(f, "<td class=n>%llu</td>", (unsigned long long)v[i]->n[a]);
		fputs("</tr>", f);
	}
	fputs("</tbody></table></div></div>", f);
}

static void functions_table(FILE *f, const struct rep *r)
{
	_cleanup_free_ const struct rep_cnt **v = rep_tally_sorted(&r->functions, false);

	if (!v)
		return;
	fputs("<div class=panel><h2>Functions</h2><div class=scroll><table id=t-functions>"
	      "<thead><tr><th>function</th><th class=n>invocations</th><th class=n>violations</th>"
	      "<th class=n>kills</th></tr></thead><tbody>",
	      f);
	for (size_t i = 0; i < r->functions.n; i++) {
		fputs("<tr><td>", f);
		esc(f, v[i]->key);
		fprintf(f,
			"</td><td class=n>%llu</td><td class=n>%llu</td><td class=n>%llu</td></tr>",
			(unsigned long long)rep_function_invocations(v[i]),
			(unsigned long long)rep_cnt_viol(v[i]),
			(unsigned long long)v[i]->n[RA_KILL]);
	}
	fputs("</tbody></table></div></div>", f);
}

/* The whole line, indented: cJSON re-prints it when it parses. */
static void record_json(FILE *f, const char *json)
{
	cJSON *j = cJSON_Parse(json);
	_cleanup_free_ char *pretty = j ? cJSON_Print(j) : NULL;

	cJSON_Delete(j);
	esc(f, pretty ? pretty : json);
}

/* Time order; lines of one time stay in the order they were read. */
static int by_time(const void *a, const void *b)
{
	const struct rep_rec *x = *(const struct rep_rec *const *)a;
	const struct rep_rec *y = *(const struct rep_rec *const *)b;
	int c = strcmp(x->ts, y->ts);

	return c ? c : x < y ? -1 : x > y;
}

static void violations(FILE *f, const struct rep *r)
{
	fprintf(f,
		"<div class=panel><h2>Violations (%llu)</h2><div class=scroll>"
		"<table id=violations><thead><tr><th>time (UTC)</th><th>function</th>"
		"<th>action</th><th>type</th><th>what (open for the full record)</th></tr>"
		"</thead><tbody>",
		(unsigned long long)rep_total_violations(r));
	_cleanup_free_ const struct rep_rec **v = malloc((r->n_recs + 1) * sizeof *v);
	/* One day's log shows times only; a longer one needs the dates. */
	bool one_day = strncmp(r->first_ts, r->last_ts, 10) == 0;

	for (size_t i = 0; v && i < r->n_recs; i++)
		v[i] = &r->recs[i];
	if (v)
		qsort(v, r->n_recs, sizeof *v, by_time);
	for (size_t i = 0; v && i < r->n_recs; i++) {
		const struct rep_rec *x = v[i];
		fputs("<tr class=viol><td>", f);
		esc(f, one_day && strlen(x->ts) > 11 ? x->ts + 11 : x->ts);
		fputs("</td><td>", f);
		esc(f, x->function);
		fputs("</td><td class=\"a-", f);
		esc(f, x->action);
		fputs("\">", f);
		esc(f, x->action);
		fputs("</td><td>", f);
		esc(f, x->type);
		fputs("</td><td><details><summary>", f);
		esc(f, x->what);
		fputs("</summary><pre>", f);
		record_json(f, x->json);
		fputs("</pre></details></td></tr>", f);
	}
	fputs("</tbody></table></div>", f);
	if (r->recs_dropped)
		fprintf(f,
			"<p class=mute>%llu more violations are counted above but not listed: "
			"run <code>fnguard report --since</code> or <code>--function</code> for a "
			"narrower window.</p>",
			(unsigned long long)r->recs_dropped);
	fputs("</div>", f);
}

int rep_write_html(const struct rep *r, FILE *f)
{
	fputs("<!doctype html><html lang=en><head><meta charset=utf-8>"
	      "<meta name=viewport content=\"width=device-width,initial-scale=1\">"
	      "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'\">"
	      "<meta name=referrer content=no-referrer>"
	      "<title>fnguard report</title><style>",
	      f);
	fputs(css, f);
	fputs("</style></head><body><main><h1>fnguard report</h1><p class=mute>", f);
	if (r->first_ts[0]) {
		esc(f, r->first_ts);
		fputs(" to ", f);
		esc(f, r->last_ts);
		fputs(" · ", f);
	}
	fprintf(f, "%llu fnguard lines", (unsigned long long)r->fng);
	if (r->skipped)
		fprintf(f, ", %llu other lines skipped", (unsigned long long)r->skipped);
	if (r->filtered)
		fprintf(f, ", %llu filtered out", (unsigned long long)r->filtered);
	fputs("</p><div class=cards id=totals>", f);
	card(f, "inv", "invocations", rep_total_invocations(r));
	card(f, "viol", "violations", rep_total_violations(r));
	card(f, "kill", "kill", r->by_act[RA_KILL]);
	card(f, "deny", "deny", r->by_act[RA_DENY]);
	card(f, "audit", "audit", r->by_act[RA_AUDIT]);
	card(f, "runs", "runs", r->runs);
	card(f, "fns", "functions", r->functions.n);
	fputs("</div><div class=panel><h2>Invocations and violations over time</h2>", f);
	svg_timeline(f, r);
	fputs("</div><div class=grid>", f);
	svg_bars(f, "chart-types", "Attacks by type", &r->types);
	svg_bars(f, "chart-functions", "Violations by function", &r->functions);
	svg_bars(f, "chart-sources", "Attacks by event source", &r->sources);
	events_table(f, r);
	functions_table(f, r);
	top_table(f, "t-domains", "Blocked domains", &r->domains);
	top_table(f, "t-addrs", "Blocked addresses", &r->addrs);
	top_table(f, "t-programs", "Blocked programs", &r->programs);
	top_table(f, "t-rules", "Rules", &r->rules);
	fputs("</div><div class=grid>", f);
	top_table(f, "t-payloads", "Top payloads", &r->payloads);
	fputs("</div>", f);
	violations(f, r);
	fputs("<p class=mute>Written by fnguard " FNG_VERSION
	      " report. Everything from the log is shown as text.</p></main></body></html>\n",
	      f);
	return ferror(f) ? -EIO : 0;
}
