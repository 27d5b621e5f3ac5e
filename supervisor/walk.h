/* The tree walk of the scans (walk.c). */
#ifndef FNG_WALK_H
#define FNG_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

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

/* A walk on a thread of its own, so that its system calls overlap other
 * start-up work: the pre-launch scan walks while the rules compile.
 * Each root is walked in turn as by sup_walk (roots not followed,
 * errors passed over); the regular files keep() accepts are kept with
 * their lstat. roots (n of them) must outlive sup_walk_bg_finish(). NULL
 * when out of memory or without a thread: walk in the caller instead. */
struct sup_walk_bg;
struct sup_walk_bg *sup_walk_bg_start(char *const *roots, size_t n, bool (*keep)(const char *path));

/* Waits for the walk, then hands each kept file to file() in walk order
 * (st NULL when its lstat failed) until it returns false. Frees bg;
 * accepts NULL. */
void sup_walk_bg_finish(struct sup_walk_bg *bg,
			bool (*file)(void *arg, const char *path, const struct stat *st),
			void *arg);

#endif
