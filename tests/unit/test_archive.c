/* Archives Python imports from (archive.c): which members are handed
 * over and with what bytes, which bytecode has no source, and what is
 * refused as unreadable. Archives are written with minizip's own writer
 * (zip.h), as a table of members per case. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zip.h>
#include <zlib.h>

#include "archive.h"
#include "cleanup.h"
#include "prescan.h"
#include "unit.h"
#include "util.h"

struct entry {
	const char *name;
	const char *text; /* NULL: big, zeros of size bytes */
	size_t size;
	bool stored;
};

/* The archive of entries, read back into *out (the caller frees). */
static size_t make_zip(const struct entry *e, size_t n, char **out)
{
	char path[] = "/tmp/fng-unit-zip-XXXXXX";
	int fd = mkstemp(path);
	size_t len = 0;

	*out = NULL;
	CHECK(fd >= 0);
	if (fd < 0)
		return 0;
	close(fd);
	zipFile z = zipOpen64(path, APPEND_STATUS_CREATE);
	CHECK(z != NULL);
	for (size_t i = 0; z && i < n; i++) {
		zip_fileinfo zi = { 0 };
		_cleanup_free_ char *big = e[i].text ? NULL : calloc(1, e[i].size);
		const char *data = e[i].text ? e[i].text : big;
		size_t size = e[i].text ? strlen(e[i].text) : e[i].size;

		CHECK(zipOpenNewFileInZip64(z, e[i].name, &zi, NULL, 0, NULL, 0, NULL,
					    e[i].stored ? 0 : Z_DEFLATED, Z_BEST_SPEED,
					    size > 0xffffffffu) == ZIP_OK);
		CHECK(zipWriteInFileInZip(z, data, (unsigned)size) == ZIP_OK);
		CHECK(zipCloseFileInZip(z) == ZIP_OK);
	}
	if (z)
		CHECK(zipClose(z, NULL) == ZIP_OK);
	FILE *f = fopen(path, "rb");
	if (f) {
		fseek(f, 0, SEEK_END);
		len = (size_t)ftell(f);
		rewind(f);
		*out = malloc(len + 1);
		if (*out && fread(*out, 1, len, f) != len)
			len = 0;
		fclose(f);
	}
	unlink(path);
	return len;
}

/* "name=text;" per member handed over, in archive order. */
static bool collect(void *arg, const struct arch_member *m)
{
	struct util_sb *sb = arg;

	size_t n = strlen(m->path), k = strlen(m->name);

	CHECK(m->data[m->len] == 0);
	/* ARCHIVE/NAME, for the archive arch_members() was given. */
	CHECK(n > k + 5 && m->path[n - k - 1] == '/' && !strcmp(m->path + n - k, m->name) &&
	      (!strncmp(m->path, "a.zip/", 6) || !strncmp(m->path, "a.pyz/", 6)));
	util_sb_puts(sb, m->name);
	util_sb_putc(sb, '=');
	util_sb_put(sb, m->data, m->len);
	util_sb_putc(sb, ';');
	return true;
}

static bool stop_at_first(void *arg, const struct arch_member *m)
{
	(void)m;
	(*(int *)arg)++;
	return false;
}

UNIT_SUITE(archive_names)
{
	static const struct {
		const char *path;
		bool archive;
	} cases[] = {
		{ "/a/lib.zip", true }, { "/a/x.egg", true },         { "/a/app.pyz", true },
		{ "/a/app.pex", true }, { "/a/w-1.0-py3.whl", true }, { "/a/LIB.ZIP", true },
		{ "/a/zip", false },    { "/a/x.py", false },         { "/a/x.zipx", false },
		{ "/a/.zip/x", false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		CHECK_MSG(arch_is_archive(cases[i].path) == cases[i].archive, cases[i].path);
}

UNIT_SUITE(archive_members)
{
	static const struct entry tree[] = {
		{ "top.py", "import os\n", 0, false },   { "README.txt", "not code\n", 0, false },
		{ "pkg/__init__.py", "", 0, true },      { "pkg/mod.py", "X = 1\n", 0, true },
		{ "pkg/mod.pyc", "\x01\x02", 0, false }, { "pkg/data.json", "{}", 0, false },
	};
	static const struct entry sourceless[] = {
		{ "a.py", "A = 1\n", 0, false },
		{ "b.pyc", "\x01", 0, false },
	};
	static const struct {
		const char *name;
		const struct entry *e;
		size_t n;
		const char *members, *sourceless;
		size_t n_pyc;
	} cases[] = {
		{ "tree", tree, ARRAY_SIZE(tree),
		  "top.py=import os\n;pkg/__init__.py=;pkg/mod.py=X = 1\n;", "", 1 },
		{ "sourceless", sourceless, ARRAY_SIZE(sourceless), "a.py=A = 1\n;", "b.pyc", 1 },
		{ "empty", NULL, 0, "", "", 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *zip = NULL;
		size_t len = make_zip(cases[i].e, cases[i].n, &zip);
		struct util_sb sb;
		struct arch_info info;
		char why[256];

		util_sb_init(&sb, 0);
		CHECK_MSG(arch_members("a.zip", zip, len, collect, &sb, &info, why, sizeof why) ==
				  0,
			  cases[i].name);
		CHECK_STR(sb.buf ? sb.buf : "", cases[i].members);
		CHECK_STR(info.sourceless, cases[i].sourceless);
		CHECK_MSG(info.n_pyc == cases[i].n_pyc, cases[i].name);
		util_sb_free(&sb);
	}
}

/* A .pyz is a zip after a shebang line; zipimport finds it from its end. */
UNIT_SUITE(archive_with_data_before_it)
{
	static const struct entry e[] = { { "__main__.py", "print(1)\n", 0, false } };
	_cleanup_free_ char *zip = NULL;
	size_t len = make_zip(e, 1, &zip);
	const char shebang[] = "#!/usr/bin/env python3\n";
	_cleanup_free_ char *pyz = malloc(len + sizeof shebang);
	struct util_sb sb;
	struct arch_info info;
	char why[256];

	if (!zip || !pyz)
		return;
	memcpy(pyz, shebang, sizeof shebang - 1);
	memcpy(pyz + sizeof shebang - 1, zip, len);
	util_sb_init(&sb, 0);
	CHECK(arch_members("a.pyz", pyz, len + sizeof shebang - 1, collect, &sb, &info, why,
			   sizeof why) == 0);
	CHECK_STR(sb.buf ? sb.buf : "", "__main__.py=print(1)\n;");
	util_sb_free(&sb);
}

/* What cannot be read whole is refused, never half-judged. */
UNIT_SUITE(archive_refusals)
{
	static const struct entry one[] = { { "m.py", "import os\nos.system('id')\n", 0, false } };
	static const struct entry two[] = { { "a.py", "A = 1\n", 0, false },
					    { "b.py", "B = 2\n", 0, false } };
	_cleanup_free_ char *zip = NULL;
	size_t len = make_zip(one, 1, &zip);
	struct arch_info info;
	char why[256];
	int calls = 0;

	if (!zip)
		return;
	CHECK(arch_members("a.zip", "plain text, no archive", 22, stop_at_first, &calls, &info, why,
			   sizeof why) == -EINVAL);
	CHECK_STR(why, "not a zip archive");
	/* Cut short: no central directory. */
	CHECK(arch_members("a.zip", zip, len / 2, stop_at_first, &calls, &info, why, sizeof why) ==
	      -EINVAL);
	/* Deflate data that is no deflate stream (a reserved block type;
	 * the local header is 30 bytes plus the name). */
	zip[30 + 4] = (char)0xff;
	CHECK(arch_members("a.zip", zip, len, stop_at_first, &calls, &info, why, sizeof why) ==
	      -EINVAL);
	CHECK(strstr(why, "m.py") != NULL);
	CHECK(calls == 0);

	_cleanup_free_ char *zip2 = NULL;
	len = make_zip(two, 2, &zip2);
	CHECK(arch_members("a.zip", zip2, len, stop_at_first, &calls, &info, why, sizeof why) ==
	      -ECANCELED);
	CHECK(calls == 1);
}

/* A member that unpacks past CODE_MAX_FILE is refused whatever its
 * header claims (a zip bomb); the file next to it is never reached. */
UNIT_SUITE(archive_bomb)
{
	static const struct entry e[] = { { "bomb.py", NULL, CODE_MAX_FILE + 1, false },
					  { "after.py", "X = 1\n", 0, false } };
	_cleanup_free_ char *zip = NULL;
	size_t len = make_zip(e, 2, &zip);
	struct arch_info info;
	char why[256];
	int calls = 0;

	if (!zip)
		return;
	CHECK(len < (1u << 20));
	CHECK(arch_members("a.zip", zip, len, stop_at_first, &calls, &info, why, sizeof why) ==
	      -EFBIG);
	CHECK(strstr(why, "bomb.py") != NULL);
	CHECK(calls == 0);
}

static void put32(char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (char)(v >> (8 * i));
}

/* Headers that claim only the member's clean first line, with that
 * line's CRC: zipimport ignores both and runs the whole deflate stream,
 * so that is what is handed over (minizip's own reading would stop at
 * the claim and find the CRC right). */
UNIT_SUITE(archive_lying_sizes)
{
	static const char clean[] = "X = 1\n", all[] = "X = 1\nimport os\nos.system('id')\n";
	static const struct entry e[] = { { "m.py", all, 0, false } };
	_cleanup_free_ char *zip = NULL;
	size_t len = make_zip(e, 1, &zip);
	struct util_sb sb;
	struct arch_info info;
	char why[256];

	if (!zip)
		return;
	uint32_t crc = (uint32_t)crc32(0, (const Bytef *)clean, sizeof clean - 1);
	char *central = memmem(zip, len, "PK\x01\x02", 4);
	CHECK(central != NULL);
	if (!central)
		return;
	put32(zip + 14, crc); /* local header: CRC, then at 22 the size */
	put32(zip + 22, sizeof clean - 1);
	put32(central + 16, crc); /* central directory: at 16 and 24 */
	put32(central + 24, sizeof clean - 1);
	util_sb_init(&sb, 0);
	CHECK(arch_members("a.zip", zip, len, collect, &sb, &info, why, sizeof why) == 0);
	CHECK_STR(sb.buf ? sb.buf : "", "m.py=X = 1\nimport os\nos.system('id')\n;");
	util_sb_free(&sb);
}
