/* Policy model: defaults, destruction, inheritance and names. */
#include <stdlib.h>

#include "internal.h"
#include "policy.h"

#define POL_DETECT_ALL \
	(POL_DETECT_SQLI | POL_DETECT_CMDI | POL_DETECT_XSS | POL_DETECT_PATH_TRAVERSAL)

struct policy *policy_new_default(void)
{
	struct policy *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->version = 1;
	p->mode = POL_MODE_ENFORCE;
	p->action = POL_ACT_UNSET;
	p->require = POL_TIER_ANY;
	/* Defaults of absent sections are set too, so a section that
	 * appears later (as `network:` with nothing) needs no second pass. */
	p->network.loopback = true;
	p->network.engine = POL_ENGINE_AUTO;
	p->events.detect = POL_DETECT_ALL;
	p->responses.secrets = POL_SECRETS_ENV;
	return p;
}

void pol_strv_clear(struct pol_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	free(v->loc);
	v->v = NULL;
	v->loc = NULL;
	v->n = 0;
}

void pol_net_entry_clear(struct pol_net_entry *e)
{
	free(e->text);
	free(e->domain);
	e->text = NULL;
	e->domain = NULL;
}

void pol_rule_clear(struct pol_rule *r)
{
	free(r->id);
	free(r->pattern);
	free(r->message);
	free(r->severity);
	*r = (struct pol_rule){ NULL, NULL, NULL, NULL, { 0, 0 } };
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->file);
	pol_strv_clear(&p->exec.allow);
	pol_strv_clear(&p->exec.allow_real);
	free(p->exec.real_of);
	for (size_t i = 0; i < p->network.n_allow; i++)
		pol_net_entry_clear(&p->network.allow[i]);
	free(p->network.allow);
	pol_strv_clear(&p->code.paths);
	for (size_t i = 0; i < p->code.n_rules; i++)
		pol_rule_clear(&p->code.rules[i]);
	free(p->code.rules);
	pol_strv_clear(&p->code.rule_files);
	free(p->code.cache);
	pol_strv_clear(&p->events.rule_files);
	pol_strv_clear(&p->responses.rule_files);
	free(p->log.sink);
	free(p);
}

void pol_diags_clear(struct pol_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	d->v = NULL;
	d->n = 0;
}

enum pol_action policy_effective(const struct policy *p, enum pol_action section)
{
	if (section != POL_ACT_UNSET)
		return section;
	if (p && p->action != POL_ACT_UNSET)
		return p->action;
	return POL_ACT_KILL;
}

const char *pol_action_name(enum pol_action a)
{
	switch (a) {
	case POL_ACT_KILL:
		return "kill";
	case POL_ACT_DENY:
		return "deny";
	case POL_ACT_LOG:
		return "log";
	case POL_ACT_UNSET:
		return "inherit";
	}
	return "?";
}

const char *pol_tier_name(enum pol_tier t)
{
	switch (t) {
	case POL_TIER_ANY:
		return "any";
	case POL_TIER_PRELOAD:
		return "preload";
	case POL_TIER_KERNEL:
		return "kernel";
	}
	return "?";
}
