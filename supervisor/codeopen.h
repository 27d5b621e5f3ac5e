/* Code validation when the workload opens a code file (codeopen.c). */
#ifndef FNG_CODEOPEN_H
#define FNG_CODEOPEN_H

#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>

struct sup;
struct sup_code;

/* Compiles the policy's rules (the shipped packs when it names none) and
 * resolves code.paths into s->code. 0 or -errno with err set. */
int sup_code_open(struct sup *s, char *err, size_t errlen);
void sup_code_free(struct sup_code *c); /* accepts NULL */

/* "PATH: N clean files" or "PATH: not used: why" when the policy names
 * a verdict cache (code.cache), else NULL. Borrowed from c. */
const char *sup_code_cache_state(const struct sup_code *c);

/* Scans every code file under code.paths and logs each finding as a
 * `code` line with phase "prelaunch" (action audit: enforcement happens
 * when the file is opened). Call once the workload exists but before it
 * runs: files are read and scanned on worker threads (every signal
 * blocked), joined before it returns. Returns the number of findings. */
size_t sup_code_prescan(struct sup *s);

/* An open/openat/openat2 notification. *answered is set when the
 * notification was answered here (the file handed over with ADDFD+SEND):
 * the caller must not send resp then. */
void sup_code_notify(struct sup *s, const struct seccomp_notif *req,
		     struct seccomp_notif_resp *resp, bool *answered);

#endif
