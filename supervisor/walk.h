/* The tree walk of the scans (walk.c). */
#ifndef FNG_WALK_H
#define FNG_WALK_H

#include <stdbool.h>

struct sup_walk_ops {
	/* A regular file; named: it is one of the roots. false stops the walk. */
	bool (*file)(void *arg, const char *path, bool named);
	/* A root that cannot be stat'ed or a directory that cannot be read
	 * (fts's FTS_NS, FTS_DNR). false stops the walk. */
	bool (*error)(void *arg, const char *path, int err);
};

/* Walks roots (NULL-terminated) the way fts(3) does with FTS_PHYSICAL,
 * FTS_NOCHDIR and a strcmp() comparator on names: roots in name order,
 * then depth first with each directory's entries in name order; paths
 * are built the same way ("a/" + "b" is "a/b"); symlinks inside trees,
 * special files and directory cycles are passed over. follow_roots: a
 * root that is a symlink is followed (FTS_COMFOLLOW), else passed over.
 * Unlike fts, entries are classified by their d_type, so only
 * directories (and entries of file systems without d_type) cost a system
 * call. Returns 0, -ENOENT for an empty root (which fts_open() refuses
 * too), -ENOMEM, or -ECANCELED when a callback stopped the walk. */
int sup_walk(char *const *roots, bool follow_roots, const struct sup_walk_ops *ops, void *arg);

#endif
