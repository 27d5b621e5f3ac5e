/* Trust in files the workload might have written (trust.h). */
#include <errno.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "trust.h"

#define MOUNTS_MAX 512

/* The mount table, read once: mount(2) is refused to the workload, so it
 * changes only from outside. */
struct mnt {
	dev_t dev;
	bool rw;     /* writable: its own options and its superblock's say rw */
	char *root;  /* the part of the filesystem it shows */
	char *point; /* where */
};

static struct {
	bool read, complete;
	size_t n;
	struct mnt v[MOUNTS_MAX];
} mounts;

static bool has_opt(const char *opts, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = opts; p; p = strchr(p, ',')) {
		p += *p == ',';
		if (strncmp(p, opt, n) == 0 &&
		    (p[n] == ',' || p[n] == 0 || p[n] == ' ' || p[n] == '\n'))
			return true;
	}
	return false;
}

/* mountinfo(5): "ID PARENT MAJ:MIN ROOT POINT MOUNT-OPTS [TAGS] - TYPE SRC
 * SUPER-OPTS"; paths escape space, tab, newline and backslash as \ooo,
 * which a real path never matches: such mounts are compared escaped. */
static void read_mounts(void)
{
	char line[8192];
	_cleanup_file_ FILE *f = fopen("/proc/self/mountinfo", "re");

	mounts.read = true;
	mounts.complete = f != NULL;
	while (f && fgets(line, sizeof line, f)) {
		unsigned maj, min;
		char root[4096], point[4096], opts[1024];
		const char *dash = strstr(line, " - ");

		if (sscanf(line, "%*d %*d %u:%u %4095s %4095s %1023s", &maj, &min, root, point,
			   opts) != 5 ||
		    !dash)
			continue;
		if (mounts.n == MOUNTS_MAX) {
			mounts.complete = false;
			break;
		}
		const char *super = strchr(dash + 3, ' ');
		super = super ? strchr(super + 1, ' ') : NULL;
		struct mnt *m = &mounts.v[mounts.n];
		m->dev = makedev(maj, min);
		m->rw = has_opt(opts, "rw") && (!super || has_opt(super + 1, "rw"));
		m->root = strdup(root);
		m->point = strdup(point);
		if (!m->root || !m->point) {
			free(m->root);
			free(m->point);
			mounts.complete = false;
			break;
		}
		mounts.n++;
	}
}

/* Whether prefix is path or a directory above it. */
static bool path_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n == 1 && prefix[0] == '/')
		return true;
	return strncmp(path, prefix, n) == 0 && (path[n] == '/' || path[n] == 0);
}

bool trust_read_only(dev_t dev, const char *real)
{
	const struct mnt *at = NULL;
	char fs_path[PATH_MAX];

	if (!mounts.read)
		read_mounts();
	if (!mounts.complete || real[0] != '/')
		return false;
	/* The mount real is reached through: the deepest one of dev above it. */
	for (size_t i = 0; i < mounts.n; i++) {
		const struct mnt *m = &mounts.v[i];
		if (m->dev == dev && path_under(real, m->point) &&
		    (!at || strlen(m->point) >= strlen(at->point)))
			at = m;
	}
	if (!at || at->rw)
		return false; /* no mount of it seen (btrfs subvolumes, overlay layers) */
	const char *rest = real + (strcmp(at->point, "/") ? strlen(at->point) : 0);
	if ((size_t)snprintf(fs_path, sizeof fs_path, "%s%s", strcmp(at->root, "/") ? at->root : "",
			     rest) >= sizeof fs_path)
		return false;
	/* Any writable mount showing that part of the filesystem (a bind
	 * mount elsewhere, the whole disk) could be used to rewrite it,
	 * even one hidden under another mount: counted all the same. */
	for (size_t i = 0; i < mounts.n; i++) {
		const struct mnt *m = &mounts.v[i];
		if (m->dev == dev && m->rw && path_under(fs_path, m->root))
			return false;
	}
	return true;
}

bool trust_not_writable_by(const struct stat *st, long uid)
{
	if (uid <= 0 || (long)st->st_uid == uid)
		return false;
	if (S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX))
		return true;
	return !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* fnguard's (so the workload's) uids all differ from owner, none is root
 * and no capability is permitted: it cannot take over another's file. */
static bool ids_exclude(uid_t owner, const uid_t ids[3])
{
	for (int i = 0; i < 3; i++)
		if (ids[i] == 0 || ids[i] == owner)
			return false;
	return true;
}

static bool no_caps(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	return !(d[0].permitted | d[1].permitted | d[0].effective | d[1].effective);
}

static bool path_unwritable(const struct stat *st, const uid_t ids[3])
{
	if (!ids_exclude(st->st_uid, ids))
		return false;
	if (S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX))
		return true;
	return !(st->st_mode & (S_IWGRP | S_IWOTH));
}

bool trust_out_of_reach(int fd, const char *real, char *why, size_t whylen)
{
	struct stat st;
	uid_t ids[3];

	if (fstat(fd, &st) < 0) {
		snprintf(why, whylen, "cannot stat it: %s", strerror(errno));
		return false;
	}
	if (trust_read_only(st.st_dev, real))
		return true;
	if (getresuid(&ids[0], &ids[1], &ids[2]) < 0 || !ids_exclude((uid_t)-1, ids) ||
	    !no_caps()) {
		snprintf(why, whylen,
			 "fnguard runs as root or with capabilities, so the workload could "
			 "rewrite it; keep it on a read-only mount");
		return false;
	}
	if (!path_unwritable(&st, ids)) {
		snprintf(why, whylen,
			 "the workload's user owns it or may write it; write it as another "
			 "user (root) with mode 0644");
		return false;
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", real);
	for (char *slash = strrchr(dir, '/'); slash; slash = strrchr(dir, '/')) {
		slash[slash == dir] = 0; /* "/x" -> "/" */
		if (stat(dir, &st) < 0 || !path_unwritable(&st, ids)) {
			snprintf(
				why, whylen,
				"the workload may rename or replace it: %s is writable by its user",
				dir);
			return false;
		}
		if (slash == dir)
			break;
	}
	return true;
}

/* Directories asked about, by path: open addressing, never resized (a
 * full table only means asking stat again). */
#define DIRS_MAX 1024

static struct {
	char *path;
	long uid;
	bool fixed;
} dirs[DIRS_MAX];

static size_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return (size_t)h;
}

static bool file_fixed(const char *real, const struct stat *st, long uid)
{
	return trust_not_writable_by(st, uid) || trust_read_only(st->st_dev, real);
}

static bool dir_fixed(const char *dir, long uid)
{
	size_t k = str_hash(dir) % DIRS_MAX;
	struct stat st;

	for (size_t n = 0; n < DIRS_MAX && dirs[k].path; n++, k = (k + 1) % DIRS_MAX)
		if (dirs[k].uid == uid && strcmp(dirs[k].path, dir) == 0)
			return dirs[k].fixed;
	bool fixed = stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && file_fixed(dir, &st, uid);
	if (!dirs[k].path && (dirs[k].path = strdup(dir)) != NULL) {
		dirs[k].uid = uid;
		dirs[k].fixed = fixed;
	}
	return fixed;
}

bool trust_name_fixed(const char *real, const struct stat *st, long uid)
{
	char dir[PATH_MAX];

	if (real[0] != '/' || !file_fixed(real, st, uid) ||
	    (size_t)snprintf(dir, sizeof dir, "%s", real) >= sizeof dir)
		return false;
	for (char *slash = strrchr(dir, '/'); slash; slash = strrchr(dir, '/')) {
		bool root = slash == dir;
		slash[root] = 0; /* "/x" -> "/" */
		if (!dir_fixed(dir, uid))
			return false;
		if (root)
			return true;
	}
	return false;
}
