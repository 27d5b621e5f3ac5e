/* The persistent verdict cache (vcache.h). On disk, host byte order:
 * a header, then entries sorted by (device, inode). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "trust.h"
#include "vcache.h"

#define VC_MAGIC       "FNGVC1\n"
#define VC_ENDIAN      0x01020304u
#define VC_ENTRIES_MAX (4u << 20) /* 320 MB of cache: well past any code tree */

struct vc_header {
	char magic[8];
	uint32_t endian;
	uint32_t entry_size;
	uint64_t n;
	unsigned char digest[RULES_DIGEST_LEN];
};

struct vc_entry {
	uint64_t dev, ino;
	int64_t size, mtime_s, ctime_s;
	uint32_t mtime_ns, ctime_ns;
	unsigned char sha[VCACHE_SHA_LEN];
};

struct vcache {
	struct vc_entry *v;                   /* by (dev, ino) */
	unsigned char (*sha)[VCACHE_SHA_LEN]; /* sorted */
	size_t n;
};

struct vcache_writer {
	struct vc_entry *v;
	size_t n, cap;
};

static int by_id(const void *a, const void *b)
{
	const struct vc_entry *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int by_sha(const void *a, const void *b)
{
	return memcmp(a, b, VCACHE_SHA_LEN);
}

static void fill_id(struct vc_entry *e, const struct stat *st)
{
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->size = st->st_size;
	e->mtime_s = st->st_mtim.tv_sec;
	e->mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
	e->ctime_s = st->st_ctim.tv_sec;
	e->ctime_ns = (uint32_t)st->st_ctim.tv_nsec;
}

void vcache_sha(const void *buf, size_t len, unsigned char out[VCACHE_SHA_LEN])
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, len, buf);
	sha256_digest(&ctx, VCACHE_SHA_LEN, out);
}

static int read_all(int fd, void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EINVAL;
		got += (size_t)n;
	}
	return 0;
}

int vcache_load(const char *path, const unsigned char digest[RULES_DIGEST_LEN], struct vcache **out,
		char *why, size_t whylen)
{
	struct vc_header h;
	struct stat st;
	char real[PATH_MAX], self[64];

	*out = NULL;
	_cleanup_fd_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		snprintf(why, whylen, "%s", strerror(e));
		return -e;
	}
	snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
	ssize_t rl = readlink(self, real, sizeof real - 1);
	if (rl <= 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		return -EINVAL;
	}
	real[rl] = 0;
	if (!trust_out_of_reach(fd, real, why, whylen))
		return -EPERM;
	if (read_all(fd, &h, sizeof h) < 0 || memcmp(h.magic, VC_MAGIC, sizeof h.magic) != 0 ||
	    h.endian != VC_ENDIAN || h.entry_size != sizeof(struct vc_entry) ||
	    h.n > VC_ENTRIES_MAX ||
	    (uint64_t)st.st_size != sizeof h + h.n * sizeof(struct vc_entry)) {
		snprintf(why, whylen,
			 "not a verdict cache of this fnguard (write it again with "
			 "fnguard scan --write-cache)");
		return -EINVAL;
	}
	if (memcmp(h.digest, digest, RULES_DIGEST_LEN) != 0) {
		snprintf(why, whylen,
			 "written for other rules or another fnguard version (write it again "
			 "with fnguard scan -p POLICY --write-cache)");
		return -ESTALE;
	}
	struct vcache *c = calloc(1, sizeof *c);
	if (!c || (h.n && (!(c->v = calloc(h.n, sizeof *c->v)) ||
			   !(c->sha = calloc(h.n, sizeof *c->sha))))) {
		vcache_free(c);
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	c->n = h.n;
	if (read_all(fd, c->v, c->n * sizeof *c->v) < 0) {
		vcache_free(c);
		snprintf(why, whylen, "cannot read it");
		return -EINVAL;
	}
	/* Sorted here rather than trusted to be: the file is believed for
	 * what it says, not for how it is laid out. */
	qsort(c->v, c->n, sizeof *c->v, by_id);
	for (size_t i = 0; i < c->n; i++)
		memcpy(c->sha[i], c->v[i].sha, VCACHE_SHA_LEN);
	qsort(c->sha, c->n, sizeof *c->sha, by_sha);
	*out = c;
	return 0;
}

void vcache_free(struct vcache *c)
{
	if (!c)
		return;
	free(c->v);
	free(c->sha);
	free(c);
}

size_t vcache_count(const struct vcache *c)
{
	return c ? c->n : 0;
}

bool vcache_has_file(const struct vcache *c, const struct stat *st)
{
	struct vc_entry key;

	if (!c || !c->n)
		return false;
	fill_id(&key, st);
	const struct vc_entry *e = bsearch(&key, c->v, c->n, sizeof key, by_id);
	return e && e->size == key.size && e->mtime_s == key.mtime_s &&
	       e->mtime_ns == key.mtime_ns && e->ctime_s == key.ctime_s &&
	       e->ctime_ns == key.ctime_ns;
}

bool vcache_has_content(const struct vcache *c, const unsigned char sha[VCACHE_SHA_LEN])
{
	return c && c->n && bsearch(sha, c->sha, c->n, VCACHE_SHA_LEN, by_sha);
}

struct vcache_writer *vcache_writer_new(void)
{
	return calloc(1, sizeof(struct vcache_writer));
}

void vcache_writer_free(struct vcache_writer *w)
{
	if (!w)
		return;
	free(w->v);
	free(w);
}

size_t vcache_writer_count(const struct vcache_writer *w)
{
	return w ? w->n : 0;
}

int vcache_writer_add(struct vcache_writer *w, const struct stat *st,
		      const unsigned char sha[VCACHE_SHA_LEN])
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		struct vc_entry *v = realloc(w->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		w->v = v;
		w->cap = cap;
	}
	struct vc_entry *e = &w->v[w->n++];
	memset(e, 0, sizeof *e);
	fill_id(e, st);
	memcpy(e->sha, sha, VCACHE_SHA_LEN);
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	for (size_t put = 0; put < len;) {
		ssize_t n = write(fd, (const char *)buf + put, len - put);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		put += (size_t)n;
	}
	return 0;
}

int vcache_writer_save(struct vcache_writer *w, const char *path,
		       const unsigned char digest[RULES_DIGEST_LEN], char *err, size_t errlen)
{
	struct vc_header h = { .endian = VC_ENDIAN, .entry_size = sizeof(struct vc_entry) };
	char tmp[PATH_MAX];

	memcpy(h.magic, VC_MAGIC, sizeof h.magic);
	memcpy(h.digest, digest, RULES_DIGEST_LEN);
	h.n = w->n;
	if (w->n)
		qsort(w->v, w->n, sizeof *w->v, by_id);
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= sizeof tmp) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	_cleanup_fd_ int fd = mkstemp(tmp);
	int rc = fd < 0 ? -errno : 0;
	if (rc == 0 && fchmod(fd, 0644) < 0)
		rc = -errno;
	if (rc == 0)
		rc = write_all(fd, &h, sizeof h);
	if (rc == 0 && w->n)
		rc = write_all(fd, w->v, w->n * sizeof *w->v);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		if (fd >= 0)
			unlink(tmp);
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
	}
	return rc;
}
