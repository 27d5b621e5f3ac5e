/* libFuzzer target for the policy loader. Every input goes through
 * policy_parse(); a policy that loads is also run through the exec
 * verdict, and the input split in two is matched as (glob, path) so the
 * matcher sees patterns the loader would refuse as well. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_glob(const uint8_t *data, size_t size)
{
	size_t half = size / 2;
	char *pat = strndup((const char *)data, half);
	char *path = strndup((const char *)data + half, size - half);

	if (pat && path) {
		(void)pol_glob_check(pat);
		(void)pol_glob_match(pat, path);
	}
	free(pat);
	free(path);
}

static void fuzz_verdict(const struct policy *p)
{
	static const char *const paths[] = { "/usr/bin/python3", "/bin/sh", "/var/task/x.py", "/" };
	struct pol_verdict v;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		pol_exec_verdict(p, paths[i], paths[i], NULL, &v);
	for (size_t i = 0; i < p->exec.allow.n; i++) {
		pol_exec_verdict(p, p->exec.allow.v[i], NULL, &p->exec.allow, &v);
		(void)pol_glob_match(p->exec.allow.v[i], p->exec.allow.v[i]);
	}
	(void)policy_effective(p, p->network.action);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_diags diags = { NULL, 0 };
	struct policy *p = NULL;

	if (policy_parse((const char *)data, size, "fuzz.yaml", &p, &diags) == 0) {
		if (diags.n != 0)
			abort(); /* success must come with no diagnostics */
		fuzz_verdict(p);
	} else if (p != NULL || diags.n == 0) {
		abort(); /* failure must say why and hand back nothing */
	}
	policy_free(p);
	pol_diags_clear(&diags);
	fuzz_glob(data, size);
	return 0;
}
