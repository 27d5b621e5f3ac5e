/* The aggregate as one JSON object, for scripts (`fnguard report --json`). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cleanup.h"
#include "rep_int.h"

static void cleanup_json(cJSON **j)
{
	cJSON_Delete(*j);
}

#define _cleanup_json_ __attribute__((cleanup(cleanup_json)))

static cJSON *acts(const struct rep_cnt *c)
{
	cJSON *o = cJSON_CreateObject();

	for (int a = RA_ALLOW; o && a <= RA_AUDIT; a++)
		cJSON_AddNumberToObject(o, rep_act_names[a], (double)c->n[a]);
	return o;
}

/* key -> {total, allow, deny, kill, audit} (+ invocations for functions
 * and minutes), in the order the text report uses. */
static cJSON *table(const struct rep_tally *t, bool key_order, const char *aux_name,
		    bool is_function)
{
	_cleanup_free_ const struct rep_cnt **v = rep_tally_sorted(t, key_order);
	cJSON *arr = cJSON_CreateArray();

	if (!v || !arr) {
		cJSON_Delete(arr);
		return NULL;
	}
	for (size_t i = 0; i < t->n; i++) {
		cJSON *e = acts(v[i]);
		const char *sep = strchr(v[i]->key, '\x1f');
		if (!e)
			break;
		if (sep) { /* payloads: attack \x1f payload */
			_cleanup_free_ char *type = strndup(v[i]->key, (size_t)(sep - v[i]->key));
			cJSON_AddStringToObject(e, "attack", type ? type : "");
			cJSON_AddStringToObject(e, "payload", sep + 1);
		} else {
			cJSON_AddStringToObject(e, "key", v[i]->key);
		}
		cJSON_AddNumberToObject(e, "violations", (double)rep_cnt_viol(v[i]));
		if (aux_name)
			cJSON_AddNumberToObject(
				e, aux_name,
				(double)(is_function ? rep_function_invocations(v[i]) : v[i]->aux));
		cJSON_AddItemToArray(arr, e);
	}
	return arr;
}

int rep_write_json(const struct rep *r, FILE *f)
{
	_cleanup_json_ cJSON *o = cJSON_CreateObject();
	cJSON *t;

	if (!o)
		return -ENOMEM;
	t = cJSON_AddObjectToObject(o, "input");
	cJSON_AddNumberToObject(t, "lines", (double)r->lines);
	cJSON_AddNumberToObject(t, "fnguard_lines", (double)r->fng);
	cJSON_AddNumberToObject(t, "skipped", (double)r->skipped);
	cJSON_AddNumberToObject(t, "filtered", (double)r->filtered);
	cJSON_AddNumberToObject(t, "bytes", (double)r->bytes);
	if (r->first_ts[0]) {
		cJSON_AddStringToObject(t, "first_ts", r->first_ts);
		cJSON_AddStringToObject(t, "last_ts", r->last_ts);
	}
	t = cJSON_AddObjectToObject(o, "totals");
	cJSON_AddNumberToObject(t, "runs", (double)r->runs);
	cJSON_AddNumberToObject(t, "invocations", (double)rep_total_invocations(r));
	cJSON_AddNumberToObject(t, "violations", (double)rep_total_violations(r));
	for (int a = RA_ALLOW; a <= RA_AUDIT; a++)
		cJSON_AddNumberToObject(t, rep_act_names[a], (double)r->by_act[a]);
	cJSON_AddItemToObject(o, "events", table(&r->events, false, NULL, false));
	cJSON_AddItemToObject(o, "attack_types", table(&r->types, false, NULL, false));
	cJSON_AddItemToObject(o, "functions", table(&r->functions, false, "invocations", true));
	cJSON_AddItemToObject(o, "sources", table(&r->sources, false, NULL, false));
	cJSON_AddItemToObject(o, "domains", table(&r->domains, false, NULL, false));
	cJSON_AddItemToObject(o, "addresses", table(&r->addrs, false, NULL, false));
	cJSON_AddItemToObject(o, "programs", table(&r->programs, false, NULL, false));
	cJSON_AddItemToObject(o, "rules", table(&r->rules, false, NULL, false));
	cJSON_AddItemToObject(o, "payloads", table(&r->payloads, false, NULL, false));
	cJSON_AddItemToObject(o, "timeline", table(&r->minutes, true, "invocations", false));
	_cleanup_free_ char *s = cJSON_Print(o);
	if (!s)
		return -ENOMEM;
	fputs(s, f);
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}
