/* The pre-launch scan (prescan.c): every code file under the code paths
 * is walked, named by the verdict cache or read and scanned, on threads
 * of its own, while the supervisor compiles its rules, launches the
 * workload and answers it. The supervisor's thread takes the results in
 * walk order when it needs them (codeopen.c: before it judges the first
 * code file a task opens, or once the scan says it is over), so the
 * verdicts it keeps and the lines it logs stay on that one thread.
 *
 * Its threads are all made by prescan_start() and live until
 * prescan_free(): the supervisor's filter, built after it, names their
 * ids (run.c).
 *
 * Ownership: roots, rules and vc are borrowed and must outlive
 * prescan_free(); results handed to the callback live until it returns. */
#ifndef FNG_PRESCAN_H
#define FNG_PRESCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Larger code files are refused when opened, not skimmed. */
#define CODE_MAX_FILE (64u << 20)

struct prescan;
struct rules;
struct vcache;

struct prescan_hit {
	const char *rule_id; /* borrowed from the rule set */
	char *member; /* in an archive (archive.h): the member (the scan owns it); NULL for a file
		       */
	size_t line, col;
};

struct prescan_file {
	const char *path;
	/* Its identity: the lstat of a file the verdict cache names, the
	 * fstat of one that was read. */
	const struct stat *st;
	bool known;   /* the verdict cache names it by identity: clean, never read */
	bool scanned; /* read and judged (clean unless hits); false: left to its open */
	bool oom;     /* judged, but a finding may be missing: keep no verdict */
	/* An archive Python imports from (archive.h): hits name members.
	 * has_pyc: it holds bytecode, whose use is its open's to decide
	 * (who could write it); sourceless: a .pyc with no .py beside it. */
	bool archive, has_pyc;
	const char *sourceless;
	const struct prescan_hit *hits;
	size_t n_hits;
};

/* Starts walking roots (n of them, each as sup_walk would, roots not
 * followed) on a thread, with a pool of workers waiting for files to
 * read. NULL when out of memory. Without a thread the whole scan runs
 * inside prescan_go(). */
struct prescan *prescan_start(char *const *roots, size_t n);

/* What to judge with, once the rules are compiled: the walked files are
 * then named by vc (may be NULL), read and scanned with rules. packs:
 * the shipped packs, of which only high and critical findings count
 * (rules_finding_enforces); a policy's own rules count whatever their
 * severity. */
void prescan_go(struct prescan *p, const struct rules *rules, bool packs, const struct vcache *vc);

/* An fd that becomes readable once every result is ready
 * (prescan_results will not wait); -1 when there is nothing to wait for
 * (the scan ran in prescan_go). Borrowed from p. */
int prescan_fd(const struct prescan *p);

/* Waits for the scan and hands file() every judged code file in walk
 * order, on the caller's thread, then drops the results: once. Nothing
 * before prescan_go(). Accepts NULL. */
void prescan_results(struct prescan *p, void (*file)(void *arg, const struct prescan_file *f),
		     void *arg);

/* Stops the scan where it is (results not taken are dropped), ends its
 * threads, frees p. Accepts NULL. */
void prescan_free(struct prescan *p);

#endif
