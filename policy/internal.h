/* Helpers shared by the files of policy/; not part of the module's
 * interface (other modules include policy.h only). */
#ifndef FNG_POLICY_INTERNAL_H
#define FNG_POLICY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

/* Limits that keep a hostile or mistaken policy from costing unbounded
 * memory or time; PATH_MAX-sized strings are the longest anything needs. */
#define POL_MAX_STR  4096
#define POL_MAX_LIST 10000
/* Diagnostics kept per load; later errors are only counted. */
#define POL_MAX_DIAGS 100

/* Parse one network.allow entry into *e (text and domain allocated).
 * Returns 0; -EINVAL with a message in err (e left clear); -ENOMEM. */
int pol_net_parse(const char *text, struct pol_net_entry *e, char *err, size_t errlen);

void pol_net_entry_clear(struct pol_net_entry *e);
void pol_strv_clear(struct pol_strv *v);
void pol_rule_clear(struct pol_rule *r);

/* The loader reads libyaml events into this small tree (load.c), then
 * schema.c walks it. Own tree instead of libyaml's document API: aliases
 * and anchors are refused where they appear, and depth is bounded. */
enum ynode_kind { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
	enum ynode_kind kind;
	bool plain; /* scalar written without quotes */
	bool bad;   /* already reported (an alias): skip without more noise */
	struct pol_loc loc;
	char *str; /* scalar bytes, NUL-terminated; may hold NULs inside */
	size_t len;
	struct ynode **kid; /* sequence items; mapping key, value, key, ... */
	size_t n, cap;
};

struct pol_ld {
	const char *file;
	struct pol_diags *diags;
	size_t n_err; /* errors found by this load */
	bool oom;
};

void pol_ld_err(struct pol_ld *ld, struct pol_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Writes s (len bytes) into buf for a message: control bytes escaped,
 * long values cut at a character boundary with "...". Returns buf. */
const char *pol_quote(char *buf, size_t size, const char *s, size_t len);

/* Validates the tree against the v1 schema and fills p. */
void pol_schema(struct pol_ld *ld, const struct ynode *root, struct policy *p);

#endif
