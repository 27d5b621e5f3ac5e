#include "become.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

struct ids {
	uid_t ruid, euid, fsuid;
	gid_t rgid, egid, fsgid;
	int ngroups;
	gid_t groups[256];
	unsigned long long cap_eff;
};

static int read_ids(pid_t tid, struct ids *id)
{
	char path[64], line[4096];
	unsigned long u[4], g[4];
	int have = 0;

	id->ngroups = 0;
	snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
	_cleanup_file_ FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof line, f)) {
		if (sscanf(line, "Uid: %lu %lu %lu %lu", &u[0], &u[1], &u[2], &u[3]) == 4) {
			id->ruid = (uid_t)u[0];
			id->euid = (uid_t)u[1];
			id->fsuid = (uid_t)u[3];
			have |= 1;
		} else if (sscanf(line, "Gid: %lu %lu %lu %lu", &g[0], &g[1], &g[2], &g[3]) == 4) {
			id->rgid = (gid_t)g[0];
			id->egid = (gid_t)g[1];
			id->fsgid = (gid_t)g[3];
			have |= 2;
		} else if (strncmp(line, "Groups:", 7) == 0) {
			char *p = line + 7, *end;
			unsigned long v;
			while (id->ngroups < 256 && (v = strtoul(p, &end, 10), end != p)) {
				id->groups[id->ngroups++] = (gid_t)v;
				p = end;
			}
			have |= 4;
		} else if (sscanf(line, "CapEff: %llx", &id->cap_eff) == 1) {
			have |= 8;
			break; /* after Uid, Gid and Groups */
		}
	}
	return have == 15 ? 0 : -ESRCH;
}

int become(pid_t tid, bool paths, struct as_task *st)
{
	char cwd[64];
	struct ids id;

	memset(st, 0, sizeof *st);
	st->cwd = -1;
	if (paths) {
		st->cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		snprintf(cwd, sizeof cwd, "/proc/%d/cwd", (int)tid);
		if (st->cwd < 0 || chdir(cwd) < 0)
			return -errno;
	}
	if (geteuid() != 0)
		return 0; /* same uid as the workload: nothing to take on */
	if (read_ids(tid, &id) < 0)
		return -ESRCH;
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	if (syscall(SYS_capget, &h, st->caps) < 0)
		return -errno;
	st->ngroups = getgroups((int)(sizeof st->groups / sizeof st->groups[0]), st->groups);
	st->egid = getegid();
	st->rgid = getgid();
	st->creds = true;
	/* Groups and gids while we still may; the euid last (it drops our
	 * effective capabilities until unbecome restores it). */
	/* Real ids too: the kernel stamps them on messages a receiver with
	 * SO_PASSCRED gets. The saved ids stay ours (0), to come back. */
	if (syscall(SYS_setgroups, (size_t)id.ngroups, id.groups) < 0 ||
	    syscall(SYS_setresgid, id.rgid, id.egid, -1) < 0)
		return -errno;
	(void)syscall(SYS_setfsgid, id.fsgid);
	if (syscall(SYS_setresuid, id.ruid, id.euid, -1) < 0)
		return -errno;
	if (id.fsuid != id.euid)
		(void)syscall(SYS_setfsuid, id.fsuid);
	/* No more than the task may use: a root euid kept all of ours. */
	struct __user_cap_data_struct d[2];
	memcpy(d, st->caps, sizeof d);
	d[0].effective &= (uint32_t)id.cap_eff;
	d[1].effective &= (uint32_t)(id.cap_eff >> 32);
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

void unbecome(struct as_task *st)
{
	if (st->creds) {
		/* The saved uid is still 0: the euid comes back, and with it
		 * the effective capabilities; then the gids. */
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		(void)!syscall(SYS_setresuid, 0, 0, -1);
		(void)!syscall(SYS_capset, &h, st->caps);
		(void)!syscall(SYS_setresgid, st->rgid, st->egid, -1);
		if (st->ngroups >= 0)
			(void)!syscall(SYS_setgroups, (size_t)st->ngroups, st->groups);
	}
	if (st->cwd >= 0) {
		(void)!fchdir(st->cwd);
		close(st->cwd);
	}
}
