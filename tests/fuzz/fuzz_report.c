/* libFuzzer target for the report's log-line parser (report/line.c) and
 * everything fed from it: the input is a log (lines split at '\n'); the
 * parser, the aggregate, learn and every writer must take any bytes. A
 * line the parser calls fnguard's must also be one cJSON accepts (the
 * parser may be stricter, never looser). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "learn.h"
#include "line.h"
#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rep_opts o = { .max_records = 8 };
	struct rep *r = NULL;
	struct learn *l = NULL;
	const char *p = (const char *)data, *end = p + size;

	if (rep_new(&o, &r) < 0 || learn_new(&l) < 0)
		abort();
	while (p <= end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct rep_line ln;
		char buf[64];

		if (rep_line_parse(p, n, &ln) == 1) {
			char *copy = strndup(ln.json, ln.json_len);
			cJSON *j =
				copy && !memchr(ln.json, 0, ln.json_len) ? cJSON_Parse(copy) : NULL;
			if (copy && !memchr(ln.json, 0, ln.json_len) && !j)
				abort();
			cJSON_Delete(j);
			free(copy);
			for (int k = 0; k < RK_N; k++) {
				size_t got = rep_val_text(&ln.v[k], buf, sizeof buf);
				if (got >= sizeof buf || strlen(buf) != got)
					abort();
			}
		}
		rep_feed_line(r, p, n);
		learn_feed_line(l, p, n);
		if (!nl)
			break;
		p = nl + 1;
	}
	FILE *null = fopen("/dev/null", "w");
	if (null) {
		rep_write_text(r, null, true);
		rep_write_json(r, null);
		rep_write_html(r, null);
		learn_write(l, null, null);
		fclose(null);
	}
	rep_free(r);
	learn_free(l);
	return 0;
}
