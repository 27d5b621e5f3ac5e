/* Zip archives Python imports from. zipimport loads modules from any zip
 * file on sys.path: a .zip, .egg, .pyz, .pex or .whl that a .pth line
 * or PYTHONPATH put there, or one run as `python3 app.pyz`. The code in one
 * is its .py members, and its .pyc members, which zipimport prefers to
 * the source beside them once a timestamp in their header matches.
 *
 * arch_members() parses an archive from the caller's copy in memory
 * (minizip over memory I/O: what is judged is what was read), hands each
 * .py member to the caller decompressed, and says which bytecode it
 * holds. The caller judges. */
#ifndef FNG_ARCHIVE_H
#define FNG_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>

/* An archive is read whole: a larger one is refused. */
#define ARCH_MAX_SIZE (128u << 20)
/* Its .py members together, decompressed: a zip bomb stops here. */
#define ARCH_MAX_UNPACKED (256u << 20)
/* Member names longer than this are refused, never cut. */
#define ARCH_NAME_MAX 1024

/* By name (.zip .egg .pyz .pex .whl, any case). */
bool arch_is_archive(const char *path);

struct arch_member {
	const char *name; /* as stored, NUL-terminated */
	/* ARCHIVE/NAME: the file zipimport makes of it, as its tracebacks
	 * name it, and what the rules select by (its extension). */
	const char *path;
	const char *data; /* decompressed, NUL-terminated; valid during the call */
	size_t len;
};

struct arch_info {
	size_t n_py;  /* .py members handed over */
	size_t n_pyc; /* bytecode members */
	/* The first .pyc with no .py of the same name beside it (zipimport
	 * runs it as it is, sourceless); "" when there is none. */
	char sourceless[ARCH_NAME_MAX];
};

/* false: stop (arch_members() returns -ECANCELED). */
typedef bool (*arch_member_fn)(void *arg, const struct arch_member *m);

/* Every .py member of the zip archive in buf[0..len), read from path, in
 * archive order.
 * Returns 0, -ECANCELED, -EINVAL (not a zip archive minizip reads whole,
 * or a member it cannot unpack: encrypted, an unknown method, a bad
 * checksum, a name too long or with a NUL in it; zipimport fails on
 * most and may read the rest otherwise), -EFBIG (a member over
 * CODE_MAX_FILE, or all of them over ARCH_MAX_UNPACKED) or -ENOMEM; why
 * (whylen bytes) names the member or the problem. info is filled as far
 * as the archive was read. */
int arch_members(const char *path, const char *buf, size_t len, arch_member_fn fn, void *arg,
		 struct arch_info *info, char *why, size_t whylen);

#endif
