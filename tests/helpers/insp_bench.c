/* insp_bench FILE N: runs the event inspection (every detector, no rule
 * files) N times over the event in FILE and prints "bytes ns verdict",
 * for tests/bench/bench_lambda.py's throughput table. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "inspect.h"
#include "policy.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: insp_bench FILE N\n");
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
	struct insp_opts o = { .detect = POL_DETECT_SQLI | POL_DETECT_CMDI | POL_DETECT_XSS |
					 POL_DETECT_PATH_TRAVERSAL };
	struct insp_finding fi;
	int n = atoi(argv[2]), verdict = 0;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++)
		verdict = insp_event(&o, buf, (size_t)size, &fi);
	clock_gettime(CLOCK_MONOTONIC, &b);
	long long ns = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
	printf("%lld %lld %d\n", (long long)size * n, ns, verdict);
	free(buf);
	return 0;
}
