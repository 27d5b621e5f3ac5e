/* Zip archives Python imports from: their .py members, decompressed, and
 * the bytecode they hold. minizip (zlib's contrib/minizip, packaged by
 * Debian) parses the archive through memory I/O callbacks over the
 * caller's buffer, so nothing is read from the file again. */
#include "archive.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unzip.h>
#include <zlib.h>

#include "cleanup.h"
#include "prescan.h"

static bool has_suffix_ci(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

bool arch_is_archive(const char *path)
{
	static const char *const exts[] = { ".zip", ".egg", ".pyz", ".pex", ".whl" };
	size_t n = strlen(path);

	for (size_t i = 0; i < ARRAY_SIZE(exts); i++)
		if (has_suffix_ci(path, n, exts[i]))
			return true;
	return false;
}

/* The memory "file" minizip reads: one per arch_members() call. */
struct mem {
	const char *buf;
	size_t len, pos;
};

static voidpf ZCALLBACK mem_open(voidpf opaque, const void *name, int mode)
{
	(void)name;
	(void)mode;
	return opaque;
}

static uLong ZCALLBACK mem_read(voidpf opaque, voidpf stream, void *buf, uLong size)
{
	struct mem *m = stream;
	size_t n = m->pos < m->len ? m->len - m->pos : 0;

	(void)opaque;
	if (n > size)
		n = size;
	memcpy(buf, m->buf + m->pos, n);
	m->pos += n;
	return (uLong)n;
}

static uLong ZCALLBACK mem_write(voidpf opaque, voidpf stream, const void *buf, uLong size)
{
	(void)opaque;
	(void)stream;
	(void)buf;
	(void)size;
	return 0;
}

static ZPOS64_T ZCALLBACK mem_tell(voidpf opaque, voidpf stream)
{
	(void)opaque;
	return ((struct mem *)stream)->pos;
}

static long ZCALLBACK mem_seek(voidpf opaque, voidpf stream, ZPOS64_T off, int origin)
{
	struct mem *m = stream;
	uint64_t base;

	(void)opaque;
	switch (origin) {
	case ZLIB_FILEFUNC_SEEK_SET:
		base = 0;
		break;
	case ZLIB_FILEFUNC_SEEK_CUR:
		base = m->pos;
		break;
	case ZLIB_FILEFUNC_SEEK_END:
		base = m->len;
		break;
	default:
		return -1;
	}
	if (off > m->len || base + off > m->len)
		return -1;
	m->pos = (size_t)(base + off);
	return 0;
}

static int ZCALLBACK mem_close(voidpf opaque, voidpf stream)
{
	(void)opaque;
	(void)stream;
	return 0;
}

static int ZCALLBACK mem_error(voidpf opaque, voidpf stream)
{
	(void)opaque;
	(void)stream;
	return 0;
}

/* Names of the .py members, to find the .pyc ones without a source. */
struct names {
	char **v;
	size_t n, cap;
};

static int names_add(struct names *ns, const char *name, size_t n)
{
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 64;
		char **v = realloc(ns->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		ns->v = v;
		ns->cap = cap;
	}
	if (!(ns->v[ns->n] = strndup(name, n)))
		return -ENOMEM;
	ns->n++;
	return 0;
}

static void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first .pyc whose "x.py" (zipimport's pairing: same directory,
 * same stem) is not a member. py is sorted first. */
static void find_sourceless(struct names *py, const struct names *pyc, struct arch_info *info)
{
	char src[ARCH_NAME_MAX + 1];

	if (py->n > 1)
		qsort(py->v, py->n, sizeof *py->v, name_cmp);
	for (size_t i = 0; i < pyc->n; i++) {
		size_t n = strlen(pyc->v[i]);
		const char *key = src;

		snprintf(src, sizeof src, "%.*s", (int)(n - 1), pyc->v[i]); /* "x.pyc" -> "x.py" */
		/* zipimport matches names as stored: case counts. */
		if (strcmp(pyc->v[i] + n - 4, ".pyc") != 0 || !py->n ||
		    !bsearch(&key, py->v, py->n, sizeof *py->v, name_cmp)) {
			snprintf(info->sourceless, sizeof info->sourceless, "%s", pyc->v[i]);
			return;
		}
	}
}

/* Grows *buf to hold at least need bytes. */
static int reserve(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t want = *cap ? *cap : 65536;
	while (want < need)
		want *= 2;
	char *b = realloc(*buf, want);
	if (!b)
		return -ENOMEM;
	*buf = b;
	*cap = want;
	return 0;
}

/* The current member's bytes as zipimport gets them: the compressed
 * size the central directory gives, read raw, then (deflate) inflated
 * to the end of the stream whatever size the headers claim, with no
 * checksum. minizip's own reading stops at the claimed size and checks
 * the CRC: a member claiming 16 bytes with their CRC would be judged on
 * those 16 while Python runs the whole stream. Into *buf, never past
 * CODE_MAX_FILE + 1 bytes nor ARCH_MAX_UNPACKED in all (*total). */
static int unpack(unzFile z, const unz_file_info64 *fi, char **buf, size_t *cap, size_t *len,
		  size_t *total)
{
	int method, level;

	*len = 0;
	/* Encrypted (bit 0) or a method zipimport does not read. */
	if ((fi->flag & 1) || (fi->compression_method != 0 && fi->compression_method != Z_DEFLATED))
		return -EINVAL;
	if (fi->compressed_size > ARCH_MAX_SIZE ||
	    unzOpenCurrentFile2(z, &method, &level, 1) != UNZ_OK)
		return -EINVAL;
	_cleanup_free_ char *raw = malloc(fi->compressed_size ? fi->compressed_size : 1);
	size_t got = 0;
	int rc = raw ? 1 : -ENOMEM;
	while (rc > 0 && got < fi->compressed_size) {
		rc = unzReadCurrentFile(z, raw + got,
					(unsigned)(fi->compressed_size - got > 65536
							   ? 65536
							   : fi->compressed_size - got));
		if (rc > 0)
			got += (size_t)rc;
	}
	unzCloseCurrentFile(z);
	if (rc == -ENOMEM)
		return -ENOMEM;
	if (got != fi->compressed_size)
		return -EINVAL; /* cut short */
	if (fi->compression_method == 0) {
		if (got > CODE_MAX_FILE || (*total += got) > ARCH_MAX_UNPACKED)
			return -EFBIG;
		if (reserve(buf, cap, got + 1) < 0)
			return -ENOMEM;
		memcpy(*buf, raw, got);
		*len = got;
		(*buf)[got] = 0;
		return 0;
	}
	z_stream zs = { .next_in = (Bytef *)raw, .avail_in = (uInt)got };
	if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
		return -ENOMEM;
	int zr = Z_OK;
	while (zr == Z_OK) {
		if (*len > CODE_MAX_FILE || *total + *len > ARCH_MAX_UNPACKED) {
			inflateEnd(&zs);
			return -EFBIG;
		}
		if (reserve(buf, cap, *len + 65536 + 1) < 0) {
			inflateEnd(&zs);
			return -ENOMEM;
		}
		zs.next_out = (Bytef *)*buf + *len;
		zs.avail_out = 65536;
		zr = inflate(&zs, Z_NO_FLUSH);
		*len += 65536 - zs.avail_out;
	}
	inflateEnd(&zs);
	if (zr != Z_STREAM_END)
		return zr == Z_MEM_ERROR ? -ENOMEM : -EINVAL; /* Python fails on it too */
	if (*len > CODE_MAX_FILE || (*total += *len) > ARCH_MAX_UNPACKED)
		return -EFBIG;
	(*buf)[*len] = 0;
	return 0;
}

static int walk_members(unzFile z, const char *path, arch_member_fn fn, void *arg, struct names *py,
			struct names *pyc, struct arch_info *info, char *why, size_t whylen)
{
	_cleanup_free_ char *full = NULL;
	unz_global_info64 gi;
	_cleanup_free_ char *data = NULL;
	size_t cap = 0, total = 0;
	char name[ARCH_NAME_MAX + 1];
	int rc;

	if (unzGetGlobalInfo64(z, &gi) != UNZ_OK) {
		snprintf(why, whylen, "its central directory cannot be read");
		return -EINVAL;
	}
	if (gi.number_entry == 0)
		return 0;
	for (rc = unzGoToFirstFile(z); rc == UNZ_OK; rc = unzGoToNextFile(z)) {
		unz_file_info64 fi;
		size_t len;

		if (unzGetCurrentFileInfo64(z, &fi, name, sizeof name, NULL, 0, NULL, 0) !=
		    UNZ_OK) {
			snprintf(why, whylen, "a member's header cannot be read");
			return -EINVAL;
		}
		if (fi.size_filename >= sizeof name || memchr(name, 0, fi.size_filename)) {
			snprintf(why, whylen, "a member's name is too long or holds a NUL byte");
			return -EINVAL;
		}
		name[fi.size_filename] = 0;
		size_t n = fi.size_filename;
		if (has_suffix_ci(name, n, ".pyc")) {
			info->n_pyc++;
			if (names_add(pyc, name, n) < 0)
				return -ENOMEM;
			continue;
		}
		if (!has_suffix_ci(name, n, ".py"))
			continue;
		if (fi.uncompressed_size > CODE_MAX_FILE) {
			snprintf(why, whylen, "%s: larger than %u MiB", name, CODE_MAX_FILE >> 20);
			return -EFBIG;
		}
		int ur = unpack(z, &fi, &data, &cap, &len, &total);
		if (ur < 0) {
			snprintf(why, whylen, "%s: %s", name,
				 ur == -EFBIG    ? "unpacks to more than the archive limits allow"
				 : ur == -EINVAL ? "cannot be unpacked (encrypted, an unknown "
						   "method, or damaged)"
						 : strerror(-ur));
			return ur;
		}
		info->n_py++;
		if (names_add(py, name, n) < 0)
			return -ENOMEM;
		free(full);
		if (asprintf(&full, "%s/%s", path, name) < 0) {
			full = NULL;
			return -ENOMEM;
		}
		struct arch_member m = { name, full, data, len };
		if (!fn(arg, &m))
			return -ECANCELED;
	}
	if (rc != UNZ_END_OF_LIST_OF_FILE) {
		snprintf(why, whylen, "its central directory is damaged");
		return -EINVAL;
	}
	return 0;
}

int arch_members(const char *path, const char *buf, size_t len, arch_member_fn fn, void *arg,
		 struct arch_info *info, char *why, size_t whylen)
{
	struct mem m = { buf, len, 0 };
	zlib_filefunc64_def io = {
		.zopen64_file = mem_open,
		.zread_file = mem_read,
		.zwrite_file = mem_write,
		.ztell64_file = mem_tell,
		.zseek64_file = mem_seek,
		.zclose_file = mem_close,
		.zerror_file = mem_error,
		.opaque = &m,
	};
	struct names py = { 0 }, pyc = { 0 };

	memset(info, 0, sizeof *info);
	/* An empty archive is its end record alone, at offset 0, which
	 * minizip's backward search never looks at. Only exactly that: with
	 * a comment after it, the comment could end in another archive's
	 * end record, which is the one zipimport would read. */
	if (len == 22 && !memcmp(buf, "PK\x05\x06", 4) && !buf[10] && !buf[11]) {
		if (whylen)
			why[0] = 0;
		return 0;
	}
	snprintf(why, whylen, "not a zip archive");
	unzFile z = unzOpen2_64("archive", &io);
	if (!z)
		return -EINVAL;
	int rc = walk_members(z, path, fn, arg, &py, &pyc, info, why, whylen);
	unzClose(z);
	if (rc == 0) {
		find_sourceless(&py, &pyc, info);
		if (whylen)
			why[0] = 0;
	}
	names_free(&py);
	names_free(&pyc);
	return rc;
}
