/* `fnguard learn`: an audit-mode log (mode: audit, log.allowed: true)
 * turned into the tightest policy that would have let that run pass:
 * the programs it executed, the names it resolved and the addresses it
 * reached (ports kept), the directories of the code files it loaded,
 * each entry with the evidence for it as a comment. */
#ifndef FNG_LEARN_H
#define FNG_LEARN_H

#include <stddef.h>
#include <stdio.h>

struct learn;

int learn_new(struct learn **out); /* 0 or -ENOMEM */
void learn_free(struct learn *l);  /* accepts NULL */
/* One log line (no newline); lines that are not fnguard's are counted
 * and ignored. Returns 0 or -ENOMEM. */
int learn_feed_line(struct learn *l, const char *line, size_t len);
int learn_feed_fd(struct learn *l, int fd); /* 0 or -errno */
/* Writes the policy YAML; notes for the user (not an audit log, nothing
 * seen) go to notes. Returns 0 or -errno. */
int learn_write(const struct learn *l, FILE *out, FILE *notes);

int cli_learn(int argc, char **argv);

#endif
