/* The rule engine: PCRE2 patterns compiled once with JIT, run over code
 * files. Rules come from the policy (code.rules), from rule packs (YAML)
 * and from protectLambda-style text files (one regex per line, '#'
 * comments). Used by `fnguard scan`, the pre-launch scan and the open
 * handler alike. No system calls except reading rule files. */
#ifndef FNG_RULES_H
#define FNG_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

struct rules; /* a compiled rule set */

struct rules_finding {
	const char *rule_id;  /* borrowed from the set */
	const char *message;  /* may be NULL */
	const char *severity; /* may be NULL: low | medium | high | critical */
	const char *source;   /* where the rule came from: "policy", a file path */
	size_t line, col;     /* 1-based; col counts bytes */
	size_t offset, len;   /* the match in the scanned buffer */
};

struct rules *rules_new(void);
void rules_free(struct rules *r); /* accepts NULL */

/* Adds one rule, compiled (with JIT) now. exts: NULL for every code file,
 * else a NULL-terminated list of extensions with the dot (".py").
 * Returns 0, or -EINVAL with the PCRE2 message and offset in err. */
int rules_add(struct rules *r, const char *id, const char *pattern, const char *message,
	      const char *severity, const char *const *exts, const char *source, char *err,
	      size_t errlen);

/* rules_add() for a pattern its caller compiled already, as rules_add()
 * would (pcre2_compile with PCRE2_MULTILINE, to check it): re is taken
 * over whatever this returns. 0 or -ENOMEM. */
struct pcre2_real_code_8;
int rules_add_compiled(struct rules *r, const char *id, const char *pattern,
		       struct pcre2_real_code_8 *re, const char *message, const char *severity,
		       const char *const *exts, const char *source);

/* Loads a rule file: a YAML pack (.yaml/.yml) or a protectLambda text
 * file (anything else; rule ids are "BASENAME:LINE"). Every problem goes
 * to diags as FILE:LINE:COL; returns 0 or -EINVAL (nothing added from a
 * file with errors) or -errno when the file cannot be read. */
int rules_load_file(struct rules *r, const char *path, struct pol_diags *diags);

/* code.rules and code.rule_files of a policy (rule files relative to the
 * directory of p->file). */
int rules_from_policy(struct rules *r, const struct policy *p, struct pol_diags *diags);

/* Loads rule files listed in a policy (events.rule_files,
 * responses.rule_files), relative to the directory of p->file. 0,
 * -EINVAL (diagnostics in diags), or -ENOMEM. */
int rules_from_files(struct rules *r, const struct policy *p, const struct pol_strv *files,
		     struct pol_diags *diags);

/* Loads every *.yaml pack in dir (the packs shipped with fnguard). */
int rules_load_dir(struct rules *r, const char *dir, struct pol_diags *diags);

/* Where the shipped packs are: $FNGUARD_RULES_DIR, else next to the
 * binary (../share/fnguard/rules installed, ../rules/packs in the build
 * tree). Returns a static path or NULL. */
const char *rules_default_dir(void);

/* Calls cb for each finding in buf (the contents of a file named path,
 * whose extension selects the rules; a path with no extension whose
 * contents start with a #! line is read with its interpreter's,
 * script.h; NULL: no file, only the rules for every file): at most one
 * finding per rule per line, in file order. cb returns false to stop. Returns the number of
 * findings reported, or -errno (-ENOMEM, -E2BIG past the match limits). */
typedef bool (*rules_cb)(void *arg, const struct rules_finding *f);
int rules_scan(const struct rules *r, const char *path, const char *buf, size_t len, rules_cb cb,
	       void *arg);

/* The matching state of one thread: rules_scan() uses the set's own, so
 * a set is not for concurrent rules_scan() calls; threads that share a set
 * each scan with a scanner of their own. The set is borrowed: add no rule
 * while a scan runs, and free the scanners before the set. */
struct rules_scanner;
struct rules_scanner *rules_scanner_new(const struct rules *r);
void rules_scanner_free(struct rules_scanner *sc); /* accepts NULL */

/* rules_scan() with sc's state; the findings are the same. */
int rules_scan_with(struct rules_scanner *sc, const char *path, const char *buf, size_t len,
		    rules_cb cb, void *arg);

size_t rules_count(const struct rules *r);

/* SHA-256 over what decides a verdict: fnguard's version, every rule's id,
 * pattern, severity and extensions in order, and whether only the high
 * and critical rules enforce (packs). Verdict caches are keyed by it. */
#define RULES_DIGEST_LEN 32
void rules_digest(const struct rules *r, bool packs, unsigned char out[RULES_DIGEST_LEN]);

/* Whether a finding refuses the file: with the shipped packs (packs),
 * only high and critical rules do (low and medium ones flag ordinary
 * library code); a policy's own rules always do. */
bool rules_finding_enforces(const struct rules_finding *f, bool packs);

/* Size of rule i's JIT code (PCRE2_INFO_JITSIZE); 0 when the rule runs
 * in the interpreter (JIT unavailable) or i is out of range. For tests
 * and diagnostics. */
size_t rules_jit_size(const struct rules *r, size_t i);

/* True when path has one of the code extensions (default list:
 * .py .js .mjs .cjs .rb .php .pl .sh). */
bool rules_is_code_file(const char *path);

/* That list, NULL-terminated (static). */
const char *const *rules_code_exts(void);

#endif
