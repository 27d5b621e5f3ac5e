/* The exec verdict every tier asks. Pure: no allocation, no syscalls. */
#include <string.h>

#include "policy.h"

static const char *exec_match(const struct pol_exec *e, const char *path)
{
	if (!path)
		return NULL;
	for (size_t i = 0; i < e->allow.n; i++)
		if (pol_glob_match(e->allow.v[i], path))
			return e->allow.v[i];
	/* A resolved variant is reported as the entry the user wrote. */
	for (size_t i = 0; i < e->allow_real.n; i++)
		if (pol_glob_match(e->allow_real.v[i], path))
			return e->real_of && e->real_of[i] < e->allow.n ? e->allow.v[e->real_of[i]]
									: e->allow_real.v[i];
	return NULL;
}

static bool is_initial(const struct pol_strv *initial, const char *path)
{
	if (!initial || !path)
		return false;
	for (size_t i = 0; i < initial->n; i++)
		if (initial->v[i] && strcmp(initial->v[i], path) == 0)
			return true;
	return false;
}

void pol_exec_verdict(const struct policy *p, const char *given, const char *real,
		      const struct pol_strv *initial, struct pol_verdict *out)
{
	const char *rule;

	*out = (struct pol_verdict){ .allowed = true, .rule = NULL, .reason = NULL };
	if (!p || !p->exec.present) {
		out->rule = "exec:absent";
		return;
	}
	const char *path = real ? real : given;
	rule = exec_match(&p->exec, path);
	if (rule) {
		out->rule = rule;
		return;
	}
	if (is_initial(initial, path)) {
		out->rule = "command";
		return;
	}
	out->allowed = false;
	out->rule = "exec.allow";
	out->reason = "program not in exec.allow";
}
