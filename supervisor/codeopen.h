/* Code validation when the workload opens a code file (codeopen.c). */
#ifndef FNG_CODEOPEN_H
#define FNG_CODEOPEN_H

#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct sup;
struct sup_code;

/* Compiles the policy's rules (the shipped packs when it names none) and
 * resolves code.paths into s->code. Starts the pre-launch scan's threads,
 * which live until sup_code_free(): call it before the filter is built,
 * which must name every thread of ours (filter.h). 0 or -errno with err
 * set. */
int sup_code_open(struct sup *s, char *err, size_t errlen);
void sup_code_free(struct sup_code *c); /* accepts NULL */

/* Whether a file a walk of the code paths finds is one the rules read
 * (the pre-launch scan, `fnguard scan`): a code file, an archive Python
 * imports from (archive.h), or a script with no extension, whose #! line
 * is read (rules/script.h). */
bool sup_code_walked(const char *path);

/* "PATH: N clean files" or "PATH: not used: why" when the policy names
 * a verdict cache (code.cache), else NULL. Borrowed from c. */
const char *sup_code_cache_state(const struct sup_code *c);

/* The pre-launch scan (started by sup_code_open on threads of its own,
 * prescan.h): waits for it, keeps its verdicts and logs each finding as
 * a `code` line with phase "prelaunch" (action audit: enforcement
 * happens when the file is opened). Runs once; later calls only return
 * the count. sup_code_check() runs it before it judges anything, so
 * every finding is in the log before the workload reads a code file;
 * the event loop runs it as soon as sup_code_prescan_fd() is readable.
 * Returns the number of findings. */
size_t sup_code_prescan(struct sup *s);

/* Readable once the pre-launch scan is over; -1 when there is nothing to
 * wait for (it ran, or runs in the caller: call sup_code_prescan() then).
 * Accepts NULL. */
int sup_code_prescan_fd(const struct sup_code *c);

/* An open/openat/openat2 notification. *answered is set when the
 * notification was answered here (the file handed over with ADDFD+SEND):
 * the caller must not send resp then. */
void sup_code_notify(struct sup *s, const struct seccomp_notif *req,
		     struct seccomp_notif_resp *resp, bool *answered);

/* The decision on one open, for every tier: tid opens path (relative to
 * its cwd or its dirfd) with flags. Returns SUP_CODE_CONTINUE when the
 * file is not judged (let the open go on), 1 with *fd the supervisor's
 * own open, scanned file to hand over (owned by the caller), or -errno
 * to refuse (a flagged file is logged; a kill verdict sets the
 * violation). */
#define SUP_CODE_CONTINUE 0
int sup_code_check(struct sup *s, pid_t tid, int dirfd, const char *path, int flags, int *fd);

#endif
