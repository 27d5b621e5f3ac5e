/* trust_name_fixed(): whether a name the workload's own open resolves
 * again still reaches the same unchanged file. A table of trees, each in
 * a directory of its own (directory answers are kept for the run). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trust.h"
#include "unit.h"

#define NOBODY 65534

struct trust_case {
	const char *what;
	mode_t dir_mode, file_mode;
	uid_t dir_owner, file_owner; /* chown'ed: needs root */
	long uid;                    /* the task's euid */
	bool fixed;
};

static const struct trust_case cases[] = {
	{ "root's 0644 file in root's 0755 directory", 0755, 0644, 0, 0, NOBODY, true },
	{ "the same, asked for a root task", 0755, 0644, 0, 0, 0, false },
	{ "the same, task unknown", 0755, 0644, 0, 0, -1, false },
	{ "a world-writable file", 0755, 0666, 0, 0, NOBODY, false },
	{ "a group-writable file", 0755, 0664, 0, 0, NOBODY, false },
	{ "the task owns the file", 0755, 0644, 0, NOBODY, NOBODY, false },
	{ "the task owns the directory", 0755, 0644, NOBODY, 0, NOBODY, false },
	{ "a world-writable directory", 0777, 0644, 0, 0, NOBODY, false },
	{ "a sticky world-writable directory", 01777, 0644, 0, 0, NOBODY, true },
};

UNIT_SUITE(trust_name_fixed_table)
{
	char top[] = "/tmp/fng-trust-XXXXXX", dir[128], file[160];
	struct stat st;

	if (geteuid() != 0 || !mkdtemp(top)) {
		CHECK_MSG(true, "skipped: needs root to give files away");
		return;
	}
	/* mkdtemp's 0700 would do; what is above /tmp is root's. */
	CHECK(chmod(top, 0755) == 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct trust_case *t = &cases[i];
		snprintf(dir, sizeof dir, "%s/d%zu", top, i);
		snprintf(file, sizeof file, "%s/m.py", dir);
		int fd = -1;
		bool ok = mkdir(dir, 0700) == 0 && chmod(dir, t->dir_mode) == 0 &&
			  chown(dir, t->dir_owner, t->dir_owner) == 0 &&
			  (fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)) >= 0 &&
			  fchmod(fd, t->file_mode) == 0 &&
			  fchown(fd, t->file_owner, t->file_owner) == 0 && fstat(fd, &st) == 0;
		if (fd >= 0)
			close(fd);
		CHECK_MSG(ok, t->what);
		if (ok)
			CHECK_MSG(trust_name_fixed(file, &st, t->uid) == t->fixed, t->what);
	}
	/* A relative name is never fixed: the task's cwd may move. */
	CHECK(!trust_name_fixed("m.py", &st, NOBODY));
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(file, sizeof file, "%s/d%zu/m.py", top, i);
		unlink(file);
		snprintf(dir, sizeof dir, "%s/d%zu", top, i);
		rmdir(dir);
	}
	CHECK(rmdir(top) == 0);
}
