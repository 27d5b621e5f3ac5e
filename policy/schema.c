/* The v1 policy schema (DESIGN.md, "v1 contract"): walks the YAML tree,
 * fills struct policy and reports every mismatch where it was written:
 * the key for unknown and duplicate keys, the value for bad values. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cleanup.h"
#include "internal.h"

#define QBUF     96 /* a quoted value in a message */
#define MAX_KEYS 16 /* keys of the largest section */

static const char *const action_names[] = { "kill", "deny", "log", NULL };
static const char *const mode_names[] = { "enforce", "audit", NULL };
static const char *const tier_names[] = { "any", "preload", "kernel", NULL };
static const char *const engine_names[] = { "auto", "notify", "bpf", NULL };
static const char *const secrets_names[] = { "env", "none", NULL };
static const char *const handover_names[] = { "writable", "always", NULL };
static const char *const severity_names[] = { "low", "medium", "high", "critical", NULL };
/* Index i is bit 1 << i of enum pol_detector. */
static const char *const detect_names[] = { "sqli", "cmdi", "xss", "path_traversal", NULL };

/* ---- scalars ---------------------------------------------------------- */

static bool node_is(const struct ynode *n, const char *lit)
{
	return n->kind == Y_SCALAR && n->len == strlen(lit) && memcmp(n->str, lit, n->len) == 0;
}

static bool node_is_icase(const struct ynode *n, const char *lit)
{
	return n->kind == Y_SCALAR && n->len == strlen(lit) && strcasecmp(n->str, lit) == 0;
}

/* YAML's null: an empty plain value (`exec:`), `~` or `null`. */
static bool is_null(const struct ynode *n)
{
	if (n->kind != Y_SCALAR || !n->plain)
		return false;
	return n->len == 0 || node_is(n, "~") || node_is(n, "null") || node_is(n, "Null") ||
	       node_is(n, "NULL");
}

static const char *kind_name(const struct ynode *n)
{
	if (is_null(n))
		return "nothing";
	switch (n->kind) {
	case Y_SEQ:
		return "a list";
	case Y_MAP:
		return "a mapping";
	default:
		return "a string";
	}
}

static const char *q(char *buf, const struct ynode *n)
{
	return pol_quote(buf, QBUF, n->str, n->len);
}

static bool want_scalar(struct pol_ld *ld, const struct ynode *n, const char *name,
			const char *expected)
{
	if (n->bad)
		return false;
	if (n->kind == Y_SCALAR && !is_null(n))
		return true;
	pol_ld_err(ld, n->loc, "%s must be %s (got %s)", name, expected, kind_name(n));
	return false;
}

/* A copy of a non-empty string value, or NULL after reporting why not. */
static char *get_str(struct pol_ld *ld, const struct ynode *n, const char *name)
{
	char *s;

	if (!want_scalar(ld, n, name, "a string"))
		return NULL;
	if (memchr(n->str, '\0', n->len)) {
		pol_ld_err(ld, n->loc, "%s contains a NUL byte", name);
		return NULL;
	}
	if (n->len > POL_MAX_STR) {
		pol_ld_err(ld, n->loc, "%s is too long (%zu bytes; at most %d)", name, n->len,
			   POL_MAX_STR);
		return NULL;
	}
	if (n->len == 0) {
		pol_ld_err(ld, n->loc, "%s must not be empty", name);
		return NULL;
	}
	s = strdup(n->str);
	if (!s)
		ld->oom = true;
	return s;
}

static void join(char *buf, size_t size, const char *const *names)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; names[i] && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "", names[i]);
}

/* Index of the value in names, or -1 after reporting it. */
static int get_enum(struct pol_ld *ld, const struct ynode *n, const char *name,
		    const char *const *names)
{
	char list[128], qb[QBUF];
	bool icase = false;

	if (n->bad)
		return -1;
	join(list, sizeof(list), names);
	if (n->kind != Y_SCALAR || is_null(n)) {
		pol_ld_err(ld, n->loc, "%s must be one of %s (got %s)", name, list, kind_name(n));
		return -1;
	}
	for (int i = 0; names[i]; i++) {
		if (node_is(n, names[i]))
			return i;
		icase |= node_is_icase(n, names[i]);
	}
	pol_ld_err(ld, n->loc, "%s must be one of %s (got '%s')%s", name, list, q(qb, n),
		   icase ? "; values are lower case" : "");
	return -1;
}

static void get_action(struct pol_ld *ld, const struct ynode *n, const char *name,
		       enum pol_action *out)
{
	int i = get_enum(ld, n, name, action_names);

	if (i >= 0)
		*out = (enum pol_action)(POL_ACT_KILL + i);
}

static void get_bool(struct pol_ld *ld, const struct ynode *n, const char *name, bool *out)
{
	char qb[QBUF];
	bool t = node_is_icase(n, "true"), f = node_is_icase(n, "false");

	if (n->bad)
		return;
	if (n->plain && (t || f)) {
		*out = t;
		return;
	}
	if (t || f)
		pol_ld_err(ld, n->loc,
			   "%s must be true or false without quotes (got the string '%s')", name,
			   q(qb, n));
	else if (n->kind == Y_SCALAR && !is_null(n))
		pol_ld_err(ld, n->loc,
			   "%s must be true or false (got '%s'); words like yes, no, on, off "
			   "are not booleans here",
			   name, q(qb, n));
	else
		pol_ld_err(ld, n->loc, "%s must be true or false (got %s)", name, kind_name(n));
}

/* ---- lists ------------------------------------------------------------ */

/* The sequence to walk, or NULL when there is nothing to walk: null (an
 * empty list) or a reported error. */
static const struct ynode *want_list(struct pol_ld *ld, const struct ynode *n, const char *name)
{
	char qb[QBUF];

	if (n->bad || is_null(n))
		return NULL;
	if (n->kind == Y_SCALAR) {
		pol_ld_err(ld, n->loc, "%s must be a list (got a string); write [%s]", name,
			   q(qb, n));
		return NULL;
	}
	if (n->kind != Y_SEQ) {
		pol_ld_err(ld, n->loc, "%s must be a list (got %s)", name, kind_name(n));
		return NULL;
	}
	if (n->n > POL_MAX_LIST) {
		pol_ld_err(ld, n->loc, "%s has %zu entries (at most %d)", name, n->n, POL_MAX_LIST);
		return NULL;
	}
	return n->n ? n : NULL;
}

typedef bool (*item_check)(struct pol_ld *ld, const struct ynode *item, const char *s,
			   const char *name);

static void get_strv(struct pol_ld *ld, const struct ynode *n, const char *name,
		     struct pol_strv *out, item_check check)
{
	char iname[64];

	n = want_list(ld, n, name);
	if (!n)
		return;
	out->v = calloc(n->n, sizeof(*out->v));
	out->loc = calloc(n->n, sizeof(*out->loc));
	if (!out->v || !out->loc) {
		ld->oom = true;
		return;
	}
	snprintf(iname, sizeof(iname), "each %s entry", name);
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *it = n->kid[i];
		char *s = get_str(ld, it, iname);

		if (!s)
			continue;
		if (check && !check(ld, it, s, name)) {
			free(s);
			continue;
		}
		out->v[out->n] = s;
		out->loc[out->n++] = it->loc;
	}
}

static bool check_glob(struct pol_ld *ld, const struct ynode *it, const char *s, const char *name)
{
	char qb[QBUF];
	const char *err;

	if (s[0] != '/') {
		pol_ld_err(ld, it->loc,
			   "%s: '%s' is not an absolute path; globs start with '/', e.g. "
			   "/usr/bin/python3*",
			   name, q(qb, it));
		return false;
	}
	err = pol_glob_check(s);
	if (err) {
		pol_ld_err(ld, it->loc, "%s: bad glob '%s': %s", name, q(qb, it), err);
		return false;
	}
	return true;
}

static bool check_abs(struct pol_ld *ld, const struct ynode *it, const char *s, const char *name)
{
	char qb[QBUF];

	if (s[0] == '/')
		return true;
	pol_ld_err(ld, it->loc, "%s: '%s' is not an absolute path (e.g. /var/task)", name,
		   q(qb, it));
	return false;
}

/* ---- mappings --------------------------------------------------------- */

struct section;
typedef void (*key_fn)(struct pol_ld *ld, int k, const struct ynode *key, const struct ynode *val,
		       void *obj);

struct section {
	const char *name;        /* "exec" */
	const char *where;       /* "in exec" */
	const char *const *keys; /* NULL-terminated, at most MAX_KEYS */
	key_fn fn;
	const char *hint; /* for a list given where the mapping belongs */
};

static size_t edit_distance(const char *a, size_t na, const char *b)
{
	size_t nb = strlen(b), row[65], prev, tmp;

	if (na > 64 || nb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= nb; j++)
		row[j] = j;
	for (size_t i = 1; i <= na; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= nb; j++) {
			size_t sub = prev + ((a[i - 1] | 0x20) != (b[j - 1] | 0x20));

			tmp = row[j];
			row[j] = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
			if (sub < row[j])
				row[j] = sub;
			prev = tmp;
		}
	}
	return row[nb];
}

static void unknown_key(struct pol_ld *ld, const struct ynode *key, const struct section *sec)
{
	char list[256], qb[QBUF], hint[64] = "";
	size_t best = SIZE_MAX, d;
	const char *cand = NULL;

	/* Past the cap the message is dropped: skip the distance work a
	 * document of 100000 unknown keys would otherwise cost. */
	if (ld->n_err >= POL_MAX_DIAGS) {
		pol_ld_err(ld, key->loc, "unknown key");
		return;
	}
	join(list, sizeof(list), sec->keys);
	for (size_t i = 0; sec->keys[i]; i++) {
		d = edit_distance(key->str, key->len, sec->keys[i]);
		if (d < best) {
			best = d;
			cand = sec->keys[i];
		}
	}
	if (cand && best <= 2 && best < strlen(cand))
		snprintf(hint, sizeof(hint), "; did you mean '%s'?", cand);
	pol_ld_err(ld, key->loc, "unknown key '%s' %s (expected one of: %s)%s", q(qb, key),
		   sec->where, list, hint);
}

/* Checks every key of map and hands each known one to sec->fn once.
 * seen[k] gets the place of key k (line 0: absent). */
static void walk_map(struct pol_ld *ld, const struct ynode *map, const struct section *sec,
		     void *obj, struct pol_loc *seen)
{
	char qb[QBUF];

	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct ynode *key = map->kid[i], *val = map->kid[i + 1];
		int k = -1;

		if (key->bad)
			continue;
		if (key->kind != Y_SCALAR) {
			pol_ld_err(ld, key->loc, "keys %s must be strings (got %s)", sec->where,
				   kind_name(key));
			continue;
		}
		if (key->plain && node_is(key, "<<")) {
			pol_ld_err(
				ld, key->loc,
				"merge keys (<<) are not allowed in a policy; write the keys out");
			continue;
		}
		for (int j = 0; sec->keys[j] && k < 0; j++)
			if (node_is(key, sec->keys[j]))
				k = j;
		if (k < 0) {
			unknown_key(ld, key, sec);
			continue;
		}
		if (seen[k].line) {
			pol_ld_err(ld, key->loc,
				   "duplicate key '%s' %s (first given at line %d, "
				   "column %d)",
				   q(qb, key), sec->where, seen[k].line, seen[k].col);
			continue;
		}
		seen[k] = key->loc;
		sec->fn(ld, k, key, val, obj);
	}
}

/* A section given as null is present with its defaults. Returns true
 * when there is a mapping to walk. */
static bool open_section(struct pol_ld *ld, const struct ynode *key, const struct ynode *v,
			 const struct section *sec, bool *present, struct pol_loc *loc)
{
	*present = true;
	*loc = key->loc;
	if (v->bad || is_null(v))
		return false;
	if (v->kind == Y_MAP)
		return true;
	pol_ld_err(ld, v->loc, "%s must be a mapping (got %s)%s", sec->name, kind_name(v),
		   v->kind == Y_SEQ && sec->hint ? sec->hint : "");
	return false;
}

/* ---- exec, network ---------------------------------------------------- */

enum { EX_ALLOW, EX_ACTION };
static const char *const exec_keys[] = { "allow", "action", NULL };

static void exec_key(struct pol_ld *ld, int k, const struct ynode *key, const struct ynode *v,
		     void *obj)
{
	struct pol_exec *e = obj;

	(void)key;
	if (k == EX_ALLOW)
		get_strv(ld, v, "exec.allow", &e->allow, check_glob);
	else
		get_action(ld, v, "exec.action", &e->action);
}

static const struct section exec_sec = { "exec", "in exec", exec_keys, exec_key,
					 "; write exec: {allow: [/usr/bin/python3*]}" };

static void get_net_allow(struct pol_ld *ld, const struct ynode *n, struct pol_network *net)
{
	char err[512];
	int r;

	n = want_list(ld, n, "network.allow");
	if (!n)
		return;
	net->allow = calloc(n->n, sizeof(*net->allow));
	if (!net->allow) {
		ld->oom = true;
		return;
	}
	for (size_t i = 0; i < n->n && !ld->oom; i++) {
		const struct ynode *it = n->kid[i];
		struct pol_net_entry *e = &net->allow[net->n_allow];
		_cleanup_free_ char *s = NULL;

		if (it->kind == Y_MAP) {
			/* `- api.example.com: 443` is a mapping in YAML. */
			pol_ld_err(ld, it->loc,
				   "each network.allow entry must be a string (got a mapping); "
				   "write host:port with no space after ':', e.g. "
				   "api.example.com:443");
			continue;
		}
		s = get_str(ld, it, "each network.allow entry");
		if (!s)
			continue;
		r = pol_net_parse(s, e, err, sizeof(err));
		if (r == -ENOMEM)
			ld->oom = true;
		else if (r < 0)
			pol_ld_err(ld, it->loc, "network.allow: %s", err);
		else
			net->allow[net->n_allow++].loc = it->loc;
	}
}

enum { NET_ALLOW, NET_LOOPBACK, NET_ENGINE, NET_ACTION };
static const char *const net_keys[] = { "allow", "loopback", "engine", "action", NULL };

static void net_key(struct pol_ld *ld, int k, const struct ynode *key, const struct ynode *v,
		    void *obj)
{
	struct pol_network *net = obj;
	int i;

	(void)key;
	switch (k) {
	case NET_ALLOW:
		get_net_allow(ld, v, net);
		break;
	case NET_LOOPBACK:
		get_bool(ld, v, "network.loopback", &net->loopback);
		break;
	case NET_ENGINE:
		i = get_enum(ld, v, "network.engine", engine_names);
		if (i >= 0)
			net->engine = (enum pol_engine)i;
		break;
	default:
		get_action(ld, v, "network.action", &net->action);
	}
}

static const struct section net_sec = { "network", "in network", net_keys, net_key,
					"; write network: {allow: [api.example.com:443]}" };

/* ---- code ------------------------------------------------------------- */

enum { R_ID, R_PATTERN, R_MESSAGE, R_SEVERITY };
static const char *const rule_keys[] = { "id", "pattern", "message", "severity", NULL };

static bool check_regex(struct pol_ld *ld, const struct ynode *v, const char *s)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	int code;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);

	if (re) {
		pcre2_code_free(re);
		return true;
	}
	if (code == PCRE2_ERROR_NOMEMORY) {
		ld->oom = true;
		return false;
	}
	if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
		snprintf((char *)msg, sizeof(msg), "error %d", code);
	pol_ld_err(ld, v->loc, "code.rules pattern is not a valid PCRE2 regex: %s at offset %zu",
		   (const char *)msg, (size_t)off);
	return false;
}

static void rule_key(struct pol_ld *ld, int k, const struct ynode *key, const struct ynode *v,
		     void *obj)
{
	struct pol_rule *r = obj;
	int i;

	(void)key;
	switch (k) {
	case R_ID:
		r->id = get_str(ld, v, "code.rules id");
		break;
	case R_PATTERN:
		r->pattern = get_str(ld, v, "code.rules pattern");
		if (r->pattern && !check_regex(ld, v, r->pattern)) {
			free(r->pattern);
			r->pattern = NULL;
		}
		break;
	case R_MESSAGE:
		r->message = get_str(ld, v, "code.rules message");
		break;
	default:
		i = get_enum(ld, v, "code.rules severity", severity_names);
		if (i >= 0) {
			r->severity = strdup(severity_names[i]);
			if (!r->severity)
				ld->oom = true;
		}
	}
}

static const struct section rule_sec = { "code.rules entry", "in a code.rules entry", rule_keys,
					 rule_key, NULL };

static bool rule_id_taken(const struct pol_code *c, const char *id)
{
	for (size_t i = 0; i < c->n_rules; i++)
		if (strcmp(c->rules[i].id, id) == 0)
			return true;
	return false;
}

static void get_rule(struct pol_ld *ld, const struct ynode *it, struct pol_code *c)
{
	struct pol_loc seen[MAX_KEYS] = { { 0, 0 } };
	struct pol_rule r = { NULL, NULL, NULL, NULL, it->loc };
	char qb[QBUF];

	if (it->bad)
		return;
	if (it->kind != Y_MAP) {
		pol_ld_err(ld, it->loc,
			   "each code.rules entry must be a mapping with id and "
			   "pattern (got %s)",
			   kind_name(it));
		return;
	}
	walk_map(ld, it, &rule_sec, &r, seen);
	if (!seen[R_ID].line)
		pol_ld_err(ld, it->loc, "code.rules entry has no 'id'");
	if (!seen[R_PATTERN].line)
		pol_ld_err(ld, it->loc, "code.rules entry has no 'pattern'");
	if (r.id && rule_id_taken(c, r.id)) {
		pol_ld_err(ld, seen[R_ID], "code.rules id '%s' is used twice; ids must be unique",
			   pol_quote(qb, sizeof(qb), r.id, strlen(r.id)));
		pol_rule_clear(&r);
	}
	if (!r.id || !r.pattern) {
		pol_rule_clear(&r);
		return;
	}
	c->rules[c->n_rules++] = r;
}

enum { C_PATHS, C_RULES, C_RULE_FILES, C_CACHE, C_HANDOVER, C_ACTION };
static const char *const code_keys[] = { "paths",    "rules",  "rule_files", "cache",
					 "handover", "action", NULL };

static void code_key(struct pol_ld *ld, int k, const struct ynode *key, const struct ynode *v,
		     void *obj)
{
	struct pol_code *c = obj;

	(void)key;
	switch (k) {
	case C_PATHS:
		get_strv(ld, v, "code.paths", &c->paths, check_abs);
		break;
	case C_RULES:
		v = want_list(ld, v, "code.rules");
		if (!v)
			break;
		c->rules = calloc(v->n, sizeof(*c->rules));
		if (!c->rules) {
			ld->oom = true;
			break;
		}
		for (size_t i = 0; i < v->n && !ld->oom; i++)
			get_rule(ld, v->kid[i], c);
		break;
	case C_RULE_FILES:
		get_strv(ld, v, "code.rule_files", &c->rule_files, NULL);
		break;
	case C_CACHE:
		free(c->cache);
		c->cache = get_str(ld, v, "code.cache");
		break;
	case C_HANDOVER: {
		int h = get_enum(ld, v, "code.handover", handover_names);
		if (h >= 0)
			c->handover = (enum pol_handover)h;
		break;
	}
	default:
		get_action(ld, v, "code.action", &c->action);
	}
}

static const struct section code_sec = { "code", "in code", code_keys, code_key, NULL };

/* ---- events, responses, log ------------------------------------------- */

static void get_detect(struct pol_ld *ld, const struct ynode *v, unsigned *out)
{
	char qb[QBUF];
	unsigned bits = 0;
	int i;

	if (is_null(v))
		return; /* all of them, the default */
	if (v->kind == Y_SEQ && v->n == 0)
		*out = 0;
	v = want_list(ld, v, "events.detect");
	if (!v)
		return;
	for (size_t j = 0; j < v->n; j++) {
		i = get_enum(ld, v->kid[j], "each events.detect entry", detect_names);
		if (i < 0)
			continue;
		if (bits & (1u << i))
			pol_ld_err(ld, v->kid[j]->loc, "'%s' is listed twice in events.detect",
				   q(qb, v->kid[j]));
		bits |= 1u << i;
	}
	*out = bits;
}

enum { EV_DETECT, EV_RULE_FILES, EV_ACTION };
static const char *const events_keys[] = { "detect", "rule_files", "action", NULL };

static void events_key(struct pol_ld *ld, int k, const struct ynode *key, const struct ynode *v,
		       void *obj)
{
	struct pol_events *e = obj;

	(void)key;
	if (k == EV_DETECT)
		get_detect(ld, v, &e->detect);
	else if (k == EV_RULE_FILES)
		get_strv(ld, v, "events.rule_files", &e->rule_files, NULL);
	else
		get_action(ld, v, "events.action", &e->action);
}

static const struct section events_sec = { "events", "in events", events_keys, events_key, NULL };

enum { RS_SECRETS, RS_RULE_FILES, RS_ACTION };
static const char *const resp_keys[] = { "secrets", "rule_files", "action", NULL };

static void resp_key(struct pol_ld *ld, int k, const struct ynode *key, const struct ynode *v,
		     void *obj)
{
	struct pol_responses *r = obj;
	int i;

	(void)key;
	if (k == RS_SECRETS) {
		i = get_enum(ld, v, "responses.secrets", secrets_names);
		if (i >= 0)
			r->secrets = (enum pol_secrets)i;
	} else if (k == RS_RULE_FILES) {
		get_strv(ld, v, "responses.rule_files", &r->rule_files, NULL);
	} else {
		get_action(ld, v, "responses.action", &r->action);
	}
}

static const struct section resp_sec = { "responses", "in responses", resp_keys, resp_key, NULL };

enum { L_SINK, L_ALLOWED };
static const char *const log_keys[] = { "sink", "allowed", NULL };

static void log_key(struct pol_ld *ld, int k, const struct ynode *key, const struct ynode *v,
		    void *obj)
{
	struct pol_log *l = obj;
	char qb[QBUF];

	(void)key;
	if (k == L_ALLOWED) {
		get_bool(ld, v, "log.allowed", &l->allowed);
		return;
	}
	l->sink = get_str(ld, v, "log.sink");
	if (!l->sink || l->sink[0] == '/' || !strcmp(l->sink, "stderr") ||
	    !strcmp(l->sink, "stdout"))
		return;
	pol_ld_err(ld, v->loc,
		   "log.sink must be stderr, stdout or an absolute file path (got '%s')", q(qb, v));
}

static const struct section log_sec = { "log", "in log", log_keys, log_key, NULL };

/* ---- top level -------------------------------------------------------- */

enum {
	T_VERSION,
	T_NAME,
	T_MODE,
	T_ACTION,
	T_REQUIRE,
	T_EXEC,
	T_NETWORK,
	T_CODE,
	T_EVENTS,
	T_RESPONSES,
	T_LOG
};
static const char *const top_keys[] = { "version", "name", "mode",   "action",    "require", "exec",
					"network", "code", "events", "responses", "log",     NULL };

static void get_version(struct pol_ld *ld, const struct ynode *v, struct policy *p)
{
	char qb[QBUF];

	if (v->bad)
		return;
	if (node_is(v, "1"))
		p->version = 1;
	else if (v->kind == Y_SCALAR && !is_null(v))
		pol_ld_err(ld, v->loc,
			   "version must be 1 (got '%s'); this fnguard reads policy "
			   "version 1",
			   q(qb, v));
	else
		pol_ld_err(ld, v->loc, "version must be 1 (got %s)", kind_name(v));
}

static void get_enum_into(struct pol_ld *ld, const struct ynode *v, const char *name,
			  const char *const *names, int *out)
{
	int i = get_enum(ld, v, name, names);

	if (i >= 0)
		*out = i;
}

static void section(struct pol_ld *ld, const struct ynode *key, const struct ynode *v,
		    const struct section *sec, void *obj, bool *present, struct pol_loc *loc)
{
	struct pol_loc seen[MAX_KEYS] = { { 0, 0 } };

	if (open_section(ld, key, v, sec, present, loc))
		walk_map(ld, v, sec, obj, seen);
}

static void top_key(struct pol_ld *ld, int k, const struct ynode *key, const struct ynode *v,
		    void *obj)
{
	struct policy *p = obj;
	int i = -1;
	bool log_present;
	struct pol_loc log_loc;

	switch (k) {
	case T_VERSION:
		return get_version(ld, v, p);
	case T_NAME:
		p->name = get_str(ld, v, "name");
		return;
	case T_MODE:
		get_enum_into(ld, v, "mode", mode_names, &i);
		if (i >= 0)
			p->mode = (enum pol_mode)i;
		return;
	case T_ACTION:
		return get_action(ld, v, "action", &p->action);
	case T_REQUIRE:
		get_enum_into(ld, v, "require", tier_names, &i);
		if (i >= 0)
			p->require = (enum pol_tier)i;
		return;
	case T_EXEC:
		return section(ld, key, v, &exec_sec, &p->exec, &p->exec.present, &p->exec.loc);
	case T_NETWORK:
		return section(ld, key, v, &net_sec, &p->network, &p->network.present,
			       &p->network.loc);
	case T_CODE:
		return section(ld, key, v, &code_sec, &p->code, &p->code.present, &p->code.loc);
	case T_EVENTS:
		return section(ld, key, v, &events_sec, &p->events, &p->events.present,
			       &p->events.loc);
	case T_RESPONSES:
		return section(ld, key, v, &resp_sec, &p->responses, &p->responses.present,
			       &p->responses.loc);
	default:
		/* struct pol_log has no presence flag: log: alone is defaults. */
		return section(ld, key, v, &log_sec, &p->log, &log_present, &log_loc);
	}
}

static const struct section top_sec = { "policy", "at the top level", top_keys, top_key, NULL };

void pol_schema(struct pol_ld *ld, const struct ynode *root, struct policy *p)
{
	struct pol_loc seen[MAX_KEYS] = { { 0, 0 } }, start = { 1, 1 };

	if (!root || is_null(root)) {
		pol_ld_err(ld, root ? root->loc : start,
			   "empty policy; expected a mapping with 'version: 1'");
		return;
	}
	if (root->bad)
		return;
	if (root->kind != Y_MAP) {
		pol_ld_err(ld, root->loc,
			   "a policy must be a mapping that starts with 'version: 1' "
			   "(got %s)",
			   kind_name(root));
		return;
	}
	walk_map(ld, root, &top_sec, p, seen);
	if (!seen[T_VERSION].line)
		pol_ld_err(ld, root->loc, "missing 'version: 1' (every policy starts with it)");
}
