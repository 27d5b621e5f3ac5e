#include <stdlib.h>

#include "unit.h"

#define MAX_SUITES 128

static struct {
	const char *name;
	void (*fn)(void);
} suites[MAX_SUITES];
static size_t n_suites;
static unsigned passed, failed;

void unit_register(const char *name, void (*fn)(void))
{
	if (n_suites == MAX_SUITES) {
		fprintf(stderr, "unit: too many suites\n");
		exit(2);
	}
	suites[n_suites].name = name;
	suites[n_suites].fn = fn;
	n_suites++;
}

void unit_check(bool ok, const char *file, int line, const char *expr, const char *detail)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	fprintf(stderr, "FAIL %s:%d: %s%s%s\n", file, line, expr, detail ? ": " : "",
		detail ? detail : "");
}

int main(int argc, char **argv)
{
	for (size_t i = 0; i < n_suites; i++) {
		if (argc > 1 && strcmp(argv[1], suites[i].name) != 0)
			continue;
		unsigned f0 = failed;
		suites[i].fn();
		printf("%-28s %s\n", suites[i].name, failed == f0 ? "ok" : "FAILED");
	}
	printf("unit: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
