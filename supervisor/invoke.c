/* The policy's events and responses sections, applied to what the Runtime
 * API proxy carries: an `invoke` line for an attack found in an event, a
 * `response` line for a response that leaks, and the verdict the proxy
 * carries out (the error posted upstream instead). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "inspect.h"
#include "rtapi.h"
#include "sup.h"

struct sup_invoke {
	struct sup *s;
	struct rules *ev_rules, *resp_rules; /* owned; NULL without rule files */
	struct insp_opts opts;
};

static int load_rules(const struct policy *p, const struct pol_strv *files, struct rules **out,
		      char *err, size_t errlen)
{
	struct pol_diags d = { 0 };

	*out = NULL;
	if (!files->n)
		return 0;
	struct rules *r = rules_new();
	int rc = r ? rules_from_files(r, p, files, &d) : -ENOMEM;
	if (rc < 0) {
		snprintf(err, errlen, "%s",
			 d.n ? d.v[0].msg : "out of memory compiling the rule files");
		if (d.n)
			snprintf(err, errlen, "%s:%d:%d: %s", d.v[0].file, d.v[0].line, d.v[0].col,
				 d.v[0].msg);
		pol_diags_clear(&d);
		free(d.v);
		rules_free(r);
		return rc;
	}
	pol_diags_clear(&d);
	free(d.v);
	*out = r;
	return 0;
}

/* An event or response that could not be judged whole is refused as if
 * it broke a rule (fail closed): padding an attack behind a million
 * harmless values, or a value that makes a rule backtrack to PCRE2's
 * match limit, must not carry it through unjudged. */
static const char *uninspectable_why(int rc)
{
	switch (rc) {
	case -E2BIG:
		return "not judged whole: over a million string values, nested deeper than 64 "
		       "levels or 16 decodings, or a rule gave up at PCRE2's match limit; refused";
	case -EILSEQ:
		return "not judged whole: a JSON string holds an escaped NUL (\\u0000), past "
		       "which the parser cannot see; refused";
	default:
		return "not judged whole: out of memory; refused";
	}
}

/* The rule an `invoke` or `response` line names for it. */
static const char *uninspectable_rule(int rc)
{
	return rc == -E2BIG ? "inspect.limits" : rc == -EILSEQ ? "inspect.nul" : "inspect.error";
}

static void uninspectable(struct insp_finding *f, int rc, const char *source)
{
	memset(f, 0, sizeof *f);
	f->attack = "uninspectable";
	snprintf(f->rule, sizeof f->rule, "%s", uninspectable_rule(rc));
	f->source = source;
}

static void on_event(void *arg, const char *rid, const char *body, size_t len,
		     struct rtapi_verdict *v)
{
	struct sup_invoke *iv = arg;
	struct sup *s = iv->s;
	struct insp_finding f;
	enum pol_action eff;

	(void)rid; /* every line carries it already */
	int rc = insp_event(&iv->opts, body, len, &f);
	if (rc < 0)
		uninspectable(&f, rc, insp_source(body, len));
	if (rc == 0) {
		/* Clean invocations are counted (the exit event's counts) and,
		 * with log.allowed, written: the report's invocations. */
		if (log_writes(s->log, "allow")) {
			cJSON *ev = log_begin(s->log, "invoke", "allow", s->child);
			if (ev) {
				cJSON_AddStringToObject(ev, "source", insp_source(body, len));
				log_emit(s->log, ev);
			}
		} else {
			log_count(s->log, "invoke", "allow");
		}
		return;
	}
	const char *action = sup_violation_action(s, s->pol->events.action, &eff);
	cJSON *ev = log_begin(s->log, "invoke", action, s->child);
	if (ev) {
		cJSON_AddStringToObject(ev, "attack", f.attack);
		cJSON_AddStringToObject(ev, "json_path", f.path);
		cJSON_AddStringToObject(ev, "payload", f.payload);
		cJSON_AddStringToObject(ev, "source", f.source);
		cJSON_AddStringToObject(ev, "rule", f.rule);
		if (rc < 0)
			cJSON_AddStringToObject(ev, "reason", uninspectable_why(rc));
		log_emit(s->log, ev);
	}
	if (eff == POL_ACT_LOG)
		return;
	v->reject = true;
	snprintf(v->reason, sizeof v->reason, "%s in %s", f.attack,
		 f.path[0] ? f.path : "the event");
	if (eff == POL_ACT_KILL)
		s->violation = true;
}

/* "…[REDACTED:NAME]…" around the first secret the log's redaction found.
 * The redaction reads C strings: a body is checked piece by piece between
 * its NUL bytes, or a secret behind a NUL would go out unseen. */
static bool secret_in(struct sup *s, const char *body, size_t len, char *match, size_t size)
{
	for (size_t off = 0; off < len;) {
		size_t n = strnlen(body + off, len - off);
		_cleanup_free_ char *copy = strndup(body + off, n);
		_cleanup_free_ char *red = copy ? log_redact(s->log, copy) : NULL;
		if (!red) {
			/* Not checked is not clean: refused (fail closed). */
			snprintf(match, size, "(not checked: out of memory)");
			return true;
		}
		const char *at = strstr(red, "[REDACTED:");
		if (at) {
			const char *from = at - red > 24 ? at - 24 : red;
			snprintf(match, size, "%.*s", (int)(size - 1), from);
			return true;
		}
		off += n + 1;
	}
	return false;
}

/* A text inside a response (insp_response_texts()): a secret or an AWS
 * key id in it, decoded as the reader of the response would have it. */
struct text_check {
	struct sup *s;
	const char *rule;
	char match[128];
};

static bool text_leaks(void *arg, const char *text, size_t len)
{
	struct text_check *tc = arg;
	size_t at;

	if (tc->s->pol->responses.secrets == POL_SECRETS_ENV &&
	    secret_in(tc->s, text, len, tc->match, sizeof tc->match)) {
		tc->rule = "secrets: env";
		return true;
	}
	if (insp_aws_key(text, len, &at)) {
		tc->rule = "aws-access-key-id";
		snprintf(tc->match, sizeof tc->match, "%.20s", text + at);
		return true;
	}
	return false;
}

static void on_response(void *arg, const char *rid, const char *body, size_t len,
			struct rtapi_verdict *v)
{
	struct sup_invoke *iv = arg;
	struct sup *s = iv->s;
	struct insp_finding f = { 0 };
	char match[128];
	enum pol_action eff;
	const char *rule;
	int rc = 0;

	(void)rid;
	if (s->pol->responses.secrets == POL_SECRETS_ENV &&
	    secret_in(s, body, len, match, sizeof match)) {
		rule = "secrets: env";
	} else if ((rc = insp_response(iv->resp_rules, body, len, &f)) == 1) {
		rule = f.rule;
		snprintf(match, sizeof match, "%s", f.payload);
	} else if (rc < 0) {
		rule = uninspectable_rule(rc);
		snprintf(match, sizeof match, "%s", uninspectable_why(rc));
	} else {
		/* The body as it is was clean: what its JSON carries decoded
		 * (escapes, a base64 API Gateway body) may not be. */
		struct text_check tc = { .s = s };
		rc = insp_response_texts(body, len, text_leaks, &tc);
		if (rc == 0)
			return;
		rule = rc > 0 ? tc.rule : uninspectable_rule(rc);
		snprintf(match, sizeof match, "%s", rc > 0 ? tc.match : uninspectable_why(rc));
	}
	const char *action = sup_violation_action(s, s->pol->responses.action, &eff);
	cJSON *ev = log_begin(s->log, "response", action, s->child);
	if (ev) {
		cJSON_AddStringToObject(ev, "rule", rule);
		cJSON_AddStringToObject(ev, "match", match); /* redacted when written */
		log_emit(s->log, ev);
	}
	if (eff == POL_ACT_LOG)
		return;
	v->reject = true;
	snprintf(v->reason, sizeof v->reason, "the response broke rule %s", rule);
	if (eff == POL_ACT_KILL)
		s->violation = true;
}

int sup_invoke_open(struct sup *s, struct sup_invoke **out, struct rtapi_hooks *hooks, char *err,
		    size_t errlen)
{
	const struct policy *p = s->pol;
	struct sup_invoke *iv;

	*out = NULL;
	memset(hooks, 0, sizeof *hooks);
	if (!p->events.present && !p->responses.present)
		return 0;
	if (!(iv = calloc(1, sizeof *iv)))
		return -ENOMEM;
	iv->s = s;
	int rc = load_rules(p, &p->events.rule_files, &iv->ev_rules, err, errlen);
	if (rc == 0)
		rc = load_rules(p, &p->responses.rule_files, &iv->resp_rules, err, errlen);
	if (rc < 0) {
		sup_invoke_free(iv);
		return rc;
	}
	iv->opts.detect = p->events.detect;
	iv->opts.rules = iv->ev_rules;
	hooks->event = p->events.present ? on_event : NULL;
	hooks->response = p->responses.present ? on_response : NULL;
	hooks->arg = iv;
	*out = iv;
	return 0;
}

void sup_invoke_free(struct sup_invoke *iv)
{
	if (!iv)
		return;
	rules_free(iv->ev_rules);
	rules_free(iv->resp_rules);
	free(iv);
}
