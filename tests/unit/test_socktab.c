/* The broker's socket table: filing, lookup by inode, and the sweep's
 * removal (backward shift) under growth and heavy churn. */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "socktab.h"
#include "unit.h"

static ino_t ino_of(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

/* True when the dup'ed copy for ino is the same open file as fd. */
static bool same_file(const struct socktab *t, int fd)
{
	int copy = socktab_dup(t, ino_of(fd));
	if (copy < 0)
		return false;
	bool same = ino_of(copy) == ino_of(fd) && (fcntl(copy, F_GETFD) & FD_CLOEXEC);
	close(copy);
	return same;
}

UNIT_SUITE(socktab_basics)
{
	struct socktab *t = socktab_new();
	int sv[2], p[2];

	CHECK(t != NULL);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(pipe(p) == 0);
	int mine = dup(sv[0]);
	CHECK(socktab_add(t, mine) == 0);
	CHECK(socktab_count(t) == 1);
	CHECK(same_file(t, sv[0]));
	CHECK(socktab_dup(t, ino_of(sv[1])) == -ENOENT);
	CHECK(socktab_dup(t, 0) == -ENOENT);
	/* Filing the same socket twice keeps one copy. */
	CHECK(socktab_add(t, dup(sv[0])) == 0);
	CHECK(socktab_count(t) == 1);
	/* A pipe is not a socket: refused, and the fd is closed. */
	int pd = dup(p[0]);
	CHECK(socktab_add(t, pd) == -ENOTSOCK);
	CHECK(fcntl(pd, F_GETFD) < 0 && errno == EBADF);
	/* Unmarked copies go; marked ones stay. */
	CHECK(socktab_add(t, dup(sv[1])) == 0);
	socktab_begin_gc(t);
	socktab_mark(t, ino_of(sv[1]));
	socktab_mark(t, 12345678); /* unknown: ignored */
	CHECK(socktab_sweep(t) == 1);
	CHECK(socktab_count(t) == 1);
	CHECK(socktab_dup(t, ino_of(sv[0])) == -ENOENT);
	CHECK(same_file(t, sv[1]));
	socktab_free(t);
	socktab_free(NULL);
	close(sv[0]);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
}

/* 300 sockets (the table grows from 64 slots), then sweeps that keep
 * every third, then every ninth: each survivor must still be found (a
 * wrong backward shift loses entries behind a removed one). */
UNIT_SUITE(socktab_churn)
{
	enum { N = 300 };
	int fds[N];
	struct socktab *t = socktab_new();
	bool ok = true;

	for (int i = 0; i < N; i++) {
		fds[i] = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		ok &= fds[i] >= 0 && socktab_add(t, dup(fds[i])) == 0;
	}
	CHECK(ok);
	CHECK(socktab_count(t) == N);
	for (int keep_every = 3; keep_every <= 9; keep_every *= 3) {
		socktab_begin_gc(t);
		for (int i = 0; i < N; i += keep_every)
			socktab_mark(t, ino_of(fds[i]));
		socktab_sweep(t);
		size_t want = (N + keep_every - 1) / keep_every;
		CHECK(socktab_count(t) == want);
		ok = true;
		for (int i = 0; i < N; i++)
			ok &= (i % keep_every == 0) == same_file(t, fds[i]);
		CHECK_MSG(ok, keep_every == 3 ? "every third" : "every ninth");
	}
	/* A copy filed during a collection survives its sweep. */
	int late = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	socktab_begin_gc(t);
	CHECK(socktab_add(t, dup(late)) == 0);
	socktab_sweep(t);
	CHECK(same_file(t, late));
	CHECK(socktab_count(t) == 1);
	socktab_free(t);
	close(late);
	for (int i = 0; i < N; i++)
		close(fds[i]);
}
