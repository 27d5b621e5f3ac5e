/* pol_exec_verdict: (exec section, given, real, initial) -> verdict. */
#include <stdlib.h>

#include "policy.h"
#include "unit.h"

/* pol_strv holds char *: writable arrays, never written through. */
static char glob0[] = "/usr/bin/python3*", glob1[] = "/opt/**/bin/node";
static char init0[] = "/var/task/bootstrap";
static char *allow_globs[] = { glob0, glob1 };
static char *initial_paths[] = { init0 };

static const struct {
	bool present; /* exec section given */
	bool globs;   /* exec.allow holds allow_globs (else an empty list) */
	const char *given, *real;
	bool allowed;
	const char *rule;
} cases[] = {
	{ false, false, "/bin/sh", "/usr/bin/dash", true, "exec:absent" },
	{ true, true, "/usr/bin/python3.11", "/usr/bin/python3.11", true, "/usr/bin/python3*" },
	/* the real file is judged: a link to an allowed file is allowed, an
	 * allowed-looking link to another file is not */
	{ true, true, "/usr/local/bin/py", "/usr/bin/python3.11", true, "/usr/bin/python3*" },
	{ true, true, "/usr/bin/python3", "/usr/lib/x/py", false, "exec.allow" },
	{ true, true, "/usr/bin/python3-evil", "/tmp/sh", false, "exec.allow" },
	{ true, true, "/opt/n/v20/bin/node", NULL, true, "/opt/**/bin/node" },
	{ true, true, "/opt/bin/node", NULL, true, "/opt/**/bin/node" },
	{ true, true, "/bin/sh", "/usr/bin/dash", false, "exec.allow" },
	{ true, true, "/bin/sh", NULL, false, "exec.allow" },
	{ true, true, "/var/task/bootstrap", "/var/task/bootstrap", true, "command" },
	{ true, true, "/tmp/bootstrap-link", "/var/task/bootstrap", true, "command" },
	{ true, false, "/var/task/bootstrap", NULL, true, "command" },
	{ true, false, "/usr/bin/python3", NULL, false, "exec.allow" },
	{ true, false, NULL, NULL, false, "exec.allow" },
};

UNIT_SUITE(verdict_exec)
{
	struct pol_strv initial = { initial_paths, NULL, 1 };
	struct policy *p = policy_new_default();
	struct pol_verdict v;

	CHECK(p != NULL);
	if (!p)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p->exec.present = cases[i].present;
		p->exec.allow.v = cases[i].globs ? allow_globs : NULL;
		p->exec.allow.n = cases[i].globs ? 2 : 0;
		pol_exec_verdict(p, cases[i].given, cases[i].real, &initial, &v);
		CHECK_MSG(v.allowed == cases[i].allowed, cases[i].given);
		CHECK_STR(v.rule, cases[i].rule);
		CHECK_STR(v.reason, cases[i].allowed ? NULL : "program not in exec.allow");
	}
	/* No initial list: only the globs count. */
	p->exec.present = true;
	p->exec.allow.v = NULL;
	p->exec.allow.n = 0;
	pol_exec_verdict(p, "/var/task/bootstrap", NULL, NULL, &v);
	CHECK(!v.allowed);
	p->exec.allow.v = NULL; /* borrowed arrays: not ours to free */
	policy_free(p);
}

/* Entries resolved by the enforcing tier (allow_real) are reported as the
 * entry the user wrote. */
UNIT_SUITE(verdict_allow_real)
{
	static char a0[] = "/bin/sh", a1[] = "/bin/py*";
	static char r0[] = "/usr/bin/dash", r1[] = "/usr/bin/py*";
	static char *allow[] = { a0, a1 }, *real[] = { r0, r1 };
	static size_t of[] = { 0, 1 };
	struct policy *p = policy_new_default();
	struct pol_verdict v;

	CHECK(p != NULL);
	if (!p)
		return;
	p->exec.present = true;
	p->exec.allow = (struct pol_strv){ allow, NULL, 2 };
	p->exec.allow_real = (struct pol_strv){ real, NULL, 2 };
	p->exec.real_of = of;
	pol_exec_verdict(p, "/bin/sh", "/usr/bin/dash", NULL, &v);
	CHECK(v.allowed);
	CHECK_STR(v.rule, "/bin/sh");
	pol_exec_verdict(p, "/bin/python3", "/usr/bin/python3.11", NULL, &v);
	CHECK(v.allowed);
	CHECK_STR(v.rule, "/bin/py*");
	pol_exec_verdict(p, "/bin/sh", "/usr/bin/bash", NULL, &v);
	CHECK(!v.allowed);
	/* no real path known (another tier): the given path is judged */
	pol_exec_verdict(p, "/bin/sh", NULL, NULL, &v);
	CHECK(v.allowed);
	p->exec.allow = (struct pol_strv){ 0 };
	p->exec.allow_real = (struct pol_strv){ 0 };
	p->exec.real_of = NULL;
	policy_free(p);
}

UNIT_SUITE(verdict_effective)
{
	struct policy *p = policy_new_default();

	if (!p)
		return;
	CHECK(policy_effective(p, POL_ACT_UNSET) == POL_ACT_KILL);
	CHECK(policy_effective(p, POL_ACT_LOG) == POL_ACT_LOG);
	p->action = POL_ACT_DENY;
	CHECK(policy_effective(p, POL_ACT_UNSET) == POL_ACT_DENY);
	CHECK(policy_effective(p, POL_ACT_KILL) == POL_ACT_KILL);
	CHECK(policy_effective(NULL, POL_ACT_UNSET) == POL_ACT_KILL);
	CHECK_STR(pol_action_name(POL_ACT_KILL), "kill");
	CHECK_STR(pol_action_name(POL_ACT_DENY), "deny");
	CHECK_STR(pol_action_name(POL_ACT_LOG), "log");
	CHECK_STR(pol_tier_name(POL_TIER_ANY), "any");
	CHECK_STR(pol_tier_name(POL_TIER_PRELOAD), "preload");
	CHECK_STR(pol_tier_name(POL_TIER_KERNEL), "kernel");
	policy_free(p);
}
