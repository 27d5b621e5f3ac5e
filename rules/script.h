/* Scripts without a code extension (a Lambda custom runtime's
 * `bootstrap`, a `bin/tool`): the #! line names the interpreter, and the
 * interpreter says which rules the file is read with. */
#ifndef FNG_SCRIPT_H
#define FNG_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes of a file's start that are looked at for its #! line. */
#define RULES_SCRIPT_HEAD 256

/* Whether path's last component has no extension (a leading dot names
 * a hidden file, not an extension): such a file may be a script. */
bool rules_may_be_script(const char *path);

/* The code extension whose rules apply to a file that starts with
 * head[0..n): ".py" for a #! line naming python, python3, python3.11,
 * pypy3 ... (directly, or through env with its options and VAR=value
 * settings), ".js" node/nodejs, ".sh" sh/bash/dash/ash/ksh/mksh/zsh, ".pl"
 * perl, ".rb" ruby, ".php" php; NULL when it is no #! line or names
 * another program. */
const char *rules_script_ext(const char *head, size_t n);

/* rules_script_ext() of the regular file at path, not following a final
 * symlink; NULL when it cannot be read or is no script. */
const char *rules_script_ext_of(const char *path);

#endif
