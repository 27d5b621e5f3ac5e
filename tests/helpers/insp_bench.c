/* insp_bench FILE N [parse]: runs the event inspection (every detector,
 * no rule files) N times over the event in FILE and prints "bytes ns
 * verdict", for tests/bench/bench_lambda.py's throughput table.
 *
 * With "parse", only cJSON's own part of an inspection: the event and
 * every JSON document inside its strings (an SQS body, an SNS message, a
 * base64 API Gateway body once decoded) are parsed, nodes from a bump
 * arena as the inspection's are. The inner documents are found (and
 * decoded) once before the timed loop: no detector, no path, no
 * decoding is timed. It is the ceiling any inspection built on cJSON has
 * on this machine (verdict 0). */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <nettle/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inspect.h"
#include "policy.h"

static char *bump;
static size_t bump_used, bump_cap;

static void *bump_alloc(size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (bump_cap - bump_used < n)
		return NULL;
	void *p = bump + bump_used;
	bump_used += n;
	return p;
}

static void bump_free(void *p)
{
	(void)p;
}

/* The inner documents, copied out (with malloc, before the timed loop). */
static struct doc {
	char *s;
	size_t len;
} * docs;
static size_t n_docs, cap_docs;

static void collect(const cJSON *n);

static void maybe_doc(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && isspace((unsigned char)s[i]))
		i++;
	if (i == len || (s[i] != '{' && s[i] != '['))
		return;
	cJSON *in = cJSON_ParseWithLength(s, len);
	if (!in)
		return;
	if (n_docs == cap_docs) {
		cap_docs = cap_docs ? cap_docs * 2 : 64;
		docs = realloc(docs, cap_docs * sizeof *docs);
	}
	docs[n_docs].s = malloc(len + 1);
	memcpy(docs[n_docs].s, s, len);
	docs[n_docs].s[len] = 0;
	docs[n_docs++].len = len;
	collect(in);
	cJSON_Delete(in);
}

static void collect(const cJSON *n)
{
	bool b64 = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(n, "isBase64Encoded"));

	for (const cJSON *c = n->child; c; c = c->next) {
		if (cJSON_IsString(c) && c->valuestring) {
			size_t len = strlen(c->valuestring);
			if (b64 && c->string && strcmp(c->string, "body") == 0) {
				struct base64_decode_ctx ctx;
				size_t out = BASE64_DECODE_LENGTH(len);
				uint8_t *dec = malloc(out + 1);
				base64_decode_init(&ctx);
				if (dec &&
				    base64_decode_update(&ctx, &out, dec, len, c->valuestring) &&
				    base64_decode_final(&ctx))
					maybe_doc((const char *)dec, out);
				free(dec);
			} else {
				maybe_doc(c->valuestring, len);
			}
		} else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
			collect(c);
		}
	}
}

static int parse_only(const char *buf, size_t size)
{
	bump_used = 0;
	if (!cJSON_ParseWithLength(buf, size))
		return 2;
	for (size_t i = 0; i < n_docs; i++)
		if (!cJSON_ParseWithLength(docs[i].s, docs[i].len))
			return 2;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3 && !(argc == 4 && strcmp(argv[3], "parse") == 0)) {
		fprintf(stderr, "usage: insp_bench FILE N [parse]\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f)
		return 2;
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	rewind(f);
	char *buf = malloc((size_t)size + 1);
	if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size)
		return 2;
	fclose(f);
	buf[size] = 0;
	bool parse = argc == 4;
	if (parse) {
		cJSON *root = cJSON_ParseWithLength(buf, (size_t)size);
		if (!root)
			return 2;
		collect(root);
		cJSON_Delete(root);
		/* Strings and nodes of every document: generous. */
		bump_cap = 64 * (size_t)size + (1u << 20);
		if (!(bump = malloc(bump_cap)))
			return 2;
		memset(bump, 0, bump_cap); /* no page faults in the timed loop */
		cJSON_Hooks hooks = { bump_alloc, bump_free };
		cJSON_InitHooks(&hooks);
	}
	struct insp_opts o = { .detect = POL_DETECT_SQLI | POL_DETECT_CMDI | POL_DETECT_XSS |
					 POL_DETECT_PATH_TRAVERSAL };
	struct insp_finding fi;
	int n = atoi(argv[2]), verdict = 0;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++)
		verdict = parse ? parse_only(buf, (size_t)size)
				: insp_event(&o, buf, (size_t)size, &fi);
	clock_gettime(CLOCK_MONOTONIC, &b);
	long long ns = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
	printf("%lld %lld %d\n", (long long)size * n, ns, verdict);
	for (size_t i = 0; i < n_docs; i++)
		free(docs[i].s);
	free(docs);
	free(buf);
	free(bump);
	return 0;
}
