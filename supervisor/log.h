/* JSON Lines log: one object per decision, one write(2) per line.
 *
 * Every line has ts (RFC 3339 UTC, milliseconds), event, action, function,
 * pid, and request_id while one is set. Every string in a line (keys and
 * values, at any depth) passes through the redaction step before it is
 * printed, so the value of a secret environment variable never appears:
 * it is replaced by "[REDACTED:NAME]".
 */
#ifndef FNG_LOG_H
#define FNG_LOG_H

#include <stdbool.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

struct log_ctx;

struct log_opts {
	int fd;               /* used when path is NULL; borrowed, not closed */
	const char *path;     /* opened O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, 0600 */
	const char *function; /* copied */
	bool allowed;         /* also write lines whose action is "allow" */
	char *const *envp;    /* scanned once for secret values; NULL: none */
};

/* Returns 0 or -errno; on error writes a message into err. */
int log_open(const struct log_opts *o, struct log_ctx **out, char *err, size_t errlen);
void log_free(struct log_ctx *l); /* accepts NULL; closes a file it opened */

/* Attribute following lines to one invocation; NULL clears. Copied. */
void log_set_request_id(struct log_ctx *l, const char *request_id);

/* A new event object with ts, event, action, function, pid (and
 * request_id) already set. The caller adds fields and passes it to
 * log_emit(). Returns NULL only when out of memory. */
cJSON *log_begin(struct log_ctx *l, const char *event, const char *action, pid_t pid);

/* Counts the event, then, unless it is an "allow" line and allowed lines
 * are off (start and exit lines are always written), redacts and writes it as one line. Takes
 * ownership of ev. Returns 0 or -errno (a failed write is reported, never retried in pieces, so a
 * line is whole or absent). */
int log_emit(struct log_ctx *l, cJSON *ev);

/* True when an event with this action would be written (false only for
 * "allow" while allowed lines are off): callers on hot paths skip
 * building such an event and only log_count() it. */
bool log_writes(const struct log_ctx *l, const char *action);
int log_count(struct log_ctx *l, const char *event, const char *action);

/* Adds "counts": {"EVENT": {"ACTION": N, ...}, ...} for everything
 * emitted so far (written or not). */
void log_add_counts(struct log_ctx *l, cJSON *ev);

/* Redacts one string; returns a new string (caller frees) or NULL on
 * out-of-memory. Exposed for tests and for text outside the log. */
char *log_redact(const struct log_ctx *l, const char *s);

/* True when the environment variable NAME holds a secret: the AWS
 * credential variables and names containing SECRET, TOKEN, PASSWORD,
 * PASSWD, CREDENTIAL or KEY (any case). Values under 4 bytes are never
 * redacted. */
bool log_is_secret_name(const char *name);

/* Adds key: [argv...] with at most max_items items, each truncated to
 * max_len bytes ("…" marks a cut); extra items are counted in
 * "<key>_truncated". */
void log_add_strv(cJSON *ev, const char *key, char *const *argv, size_t n, size_t max_items,
		  size_t max_len);

#endif
