/* The socket broker's table: a copy of every socket the workload holds,
 * keyed by the socket's inode, for kernels or containers where
 * pidfd_getfd is refused. The copies are the supervisor's own fds; a
 * copy keeps its socket open, so copies the workload no longer refers to
 * are swept (socktab_mark + socktab_sweep). */
#ifndef FNG_SOCKTAB_H
#define FNG_SOCKTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct socktab;

struct socktab *socktab_new(void);
void socktab_free(struct socktab *t); /* closes every copy; accepts NULL */

/* Takes ownership of fd (a socket) and files it under its inode; a copy
 * already filed under that inode is kept and fd closed. 0, -ENOTSOCK
 * (fd closed), or -ENOMEM (fd closed). */
int socktab_add(struct socktab *t, int fd);

/* A new fd (dup, close-on-exec) for the socket with inode ino, or
 * -ENOENT when it is not filed. */
int socktab_dup(const struct socktab *t, ino_t ino);

/* Garbage collection: socktab_mark() every inode the workload still
 * holds since socktab_begin_gc(), then socktab_sweep() closes every copy
 * not marked and returns how many it closed. */
void socktab_begin_gc(struct socktab *t);
void socktab_mark(struct socktab *t, ino_t ino);
size_t socktab_sweep(struct socktab *t);

size_t socktab_count(const struct socktab *t);

#endif
