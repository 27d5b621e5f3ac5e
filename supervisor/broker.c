/* The socket broker: network decisions where pidfd_getfd is refused
 * (docker's default seccomp profile without CAP_SYS_PTRACE).
 *
 * Every network decision is carried out on the supervisor's own copy of
 * the workload's socket, never by letting the kernel re-read workload
 * memory (CONTINUE). Without pidfd_getfd there is no way to take that
 * copy when it is needed, so the broker makes sure it already has one:
 * socket(), socketpair() and accept() are performed by the supervisor,
 * which keeps the socket and hands the workload a duplicate with
 * SECCOMP_IOCTL_NOTIF_ADDFD. bind, setsockopt, listen, read and write act
 * on the same open file, so the workload sees no difference, save that
 * a socket it closes stays open until the next sweep (BRK_GC_MS) finds
 * no workload fd referring to it. A socket that reached the workload
 * some other way (SCM_RIGHTS from outside the tree) has no copy: calls
 * that need one are refused and logged, as the decision cannot be made
 * on private data. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "become.h"
#include "cleanup.h"
#include "filter.h"
#include "socktab.h"
#include "sup.h"
#include "sys.h"
#include "util.h"

#define BRK_GC_MS     100 /* how long a closed socket may linger */
#define BRK_SIGNAL_MS 100 /* how often a waiting accept looks for signals */
#define BRK_MAX_WAITS 256

/* A blocking accept of the workload's, finished by us when a connection
 * arrives: its thread stays in the notification until then. */
struct brk_wait {
	uint64_t id; /* the notification to answer */
	pid_t tid;
	int copy; /* our copy of the listening socket, owned */
	int flags;
	uint64_t addr, addrlen; /* the caller's pointers */
	socklen_t ulen;         /* *addrlen as read at the call */
	int64_t deadline;       /* monotonic ms, or -1 (SO_RCVTIMEO) */
	int signal_seen;        /* checks that found a signal pending */
};

struct brk {
	struct socktab *tab;
	struct brk_wait waits[BRK_MAX_WAITS];
	size_t n_waits;
	int64_t next_gc, next_signal_check;
};

/* ---- the socket behind a workload fd ---- */

/* The inode of the socket at tid's fd, -EBADF, or -ENOTSOCK. */
static int64_t fd_inode(pid_t tid, int fd)
{
	char path[64];
	struct stat st;

	if (fd < 0)
		return -EBADF;
	snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)tid, fd);
	if (stat(path, &st) < 0)
		return errno == ENOENT ? -EBADF : -errno;
	return S_ISSOCK(st.st_mode) ? (int64_t)st.st_ino : -ENOTSOCK;
}

int sup_broker_grab(struct sup *s, pid_t tid, int fd)
{
	/* The socket at fd now: if a racing dup2() changes fd afterwards,
	 * the call is still performed on a workload socket we hold, with
	 * our private copy of its arguments. */
	int64_t ino = fd_inode(tid, fd);
	if (ino < 0)
		return (int)ino;
	int copy = socktab_dup(s->brk->tab, (ino_t)ino);
	return copy == -ENOENT ? -ESTALE : copy;
}

/* Files our copies of the sockets the workload inherits from us (fds
 * without close-on-exec): they exist before the filter does. */
static void seed(struct brk *b)
{
	_cleanup_free_ int *fds = NULL;
	size_t n = 0, cap = 0;
	DIR *d = opendir("/proc/self/fd");

	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (*end || end == e->d_name || fd == dirfd(d))
			continue;
		if (n == cap) {
			int *v = realloc(fds, (cap = cap ? cap * 2 : 16) * sizeof *v);
			if (!v)
				break;
			fds = v;
		}
		fds[n++] = (int)fd;
	}
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		int fl = fcntl(fds[i], F_GETFD);
		if (fl < 0 || (fl & FD_CLOEXEC) || fstat(fds[i], &st) < 0 || !S_ISSOCK(st.st_mode))
			continue;
		int copy = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
		if (copy >= 0)
			socktab_add(b->tab, copy);
	}
}

int sup_broker_open(struct sup *s)
{
	struct brk *b = calloc(1, sizeof *b);

	if (!b || !(b->tab = socktab_new())) {
		free(b);
		return -ENOMEM;
	}
	seed(b);
	s->brk = b;
	return 0;
}

void sup_broker_free(struct sup *s)
{
	struct brk *b = s->brk;

	if (!b)
		return;
	for (size_t i = 0; i < b->n_waits; i++)
		close(b->waits[i].copy);
	socktab_free(b->tab);
	free(b);
	s->brk = NULL;
}

/* ---- handing sockets to the workload ---- */

/* Installs our socket in the task's fd table; with send the notification
 * is answered with the new fd number. Returns that number or -errno. */
static int hand_over(struct sup *s, uint64_t id, int fd, bool cloexec, bool send)
{
	struct seccomp_notif_addfd a = {
		.id = id,
		.flags = send ? SECCOMP_ADDFD_FLAG_SEND : 0,
		.srcfd = (uint32_t)fd,
		.newfd_flags = cloexec ? O_CLOEXEC : 0,
	};
	int n = ioctl(s->notify_fd, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
	return n < 0 ? -errno : n;
}

/* Files fd (owned) once the workload holds it too. */
static void keep(struct sup *s, int fd)
{
	if (socktab_add(s->brk->tab, fd) == -ENOMEM) {
		/* Without a copy the socket's later calls are refused; say so. */
		fprintf(stderr, "fnguard: out of memory filing a workload socket\n");
	}
}

static void brk_socket(struct sup *s, const struct seccomp_notif *req,
		       struct seccomp_notif_resp *resp)
{
	uint64_t dom = req->data.args[0], type = req->data.args[1], proto = req->data.args[2];
	struct as_task st;
	/* As the task: the socket's owner and its file's credentials (which
	 * netlink checks) must be the task's, and so must the rights asked
	 * for creating it (ping sockets check the caller's group). The
	 * kernel takes ints: the upper halves are ignored, as there. */
	int rc = become((pid_t)req->pid, false, &st);
	int fd = rc == 0 ? socket((int)dom, ((int)type & ~SOCK_CLOEXEC) | SOCK_CLOEXEC, (int)proto)
			 : -1;
	if (rc == 0 && fd < 0)
		rc = -errno;
	unbecome(&st);
	if (fd < 0) {
		resp->error = rc;
		return;
	}
	int n = hand_over(s, req->id, fd, (int)type & SOCK_CLOEXEC, true);
	if (n < 0) {
		close(fd);
		if (n != -ENOENT) /* ENOENT: the thread is gone */
			resp->error = n;
		else
			s->deferred = true;
		return;
	}
	s->deferred = true; /* ADDFD_FLAG_SEND answered */
	keep(s, fd);
}

static void brk_socketpair(struct sup *s, const struct seccomp_notif *req,
			   struct seccomp_notif_resp *resp)
{
	pid_t tid = (pid_t)req->pid;
	int type = (int)req->data.args[1], sv[2], out[2] = { -1, -1 };
	uint64_t at = req->data.args[3];

	/* Nothing is installed unless the result can be written back. */
	if (sys_poke(tid, at, out, sizeof out) < 0) {
		resp->error = -EFAULT;
		return;
	}
	struct as_task st;
	int rc = become(tid, false, &st); /* see brk_socket */
	if (rc == 0 && socketpair((int)req->data.args[0], (type & ~SOCK_CLOEXEC) | SOCK_CLOEXEC,
				  (int)req->data.args[2], sv) < 0)
		rc = -errno;
	unbecome(&st);
	if (rc < 0) {
		resp->error = rc;
		return;
	}
	for (int i = 0; i < 2; i++) {
		out[i] = hand_over(s, req->id, sv[i], type & SOCK_CLOEXEC, false);
		if (out[i] < 0) {
			resp->error = out[i];
			close(sv[0]);
			close(sv[1]);
			return;
		}
	}
	keep(s, sv[0]);
	keep(s, sv[1]);
	resp->error = sys_poke(tid, at, out, sizeof out);
}

/* ---- accept ---- */

/* One accept on the copy that never blocks the supervisor. */
static int try_accept(int copy, int flags, struct sockaddr_storage *ss, socklen_t *len)
{
	int fl = fcntl(copy, F_GETFL);
	bool blocking = fl >= 0 && !(fl & O_NONBLOCK);

	*len = sizeof *ss;
	if (blocking)
		fcntl(copy, F_SETFL, fl | O_NONBLOCK);
	int fd = accept4(copy, (struct sockaddr *)ss, len, (flags & SOCK_NONBLOCK) | SOCK_CLOEXEC);
	int e = errno;
	if (blocking)
		fcntl(copy, F_SETFL, fl);
	return fd < 0 ? -e : fd;
}

/* Writes the peer address back as accept(2) would, hands the socket
 * over and answers. Returns the fd number, or -errno (not answered). */
static int deliver(struct sup *s, const struct brk_wait *w, int fd,
		   const struct sockaddr_storage *ss, socklen_t len)
{
	if (w->addr) {
		socklen_t put = w->ulen < len ? w->ulen : len;
		if (sys_poke(w->tid, w->addr, ss, put) < 0 ||
		    sys_poke(w->tid, w->addrlen, &len, sizeof len) < 0) {
			close(fd);
			return -EFAULT;
		}
	}
	int n = hand_over(s, w->id, fd, w->flags & SOCK_CLOEXEC, true);
	if (n < 0) {
		close(fd);
		return n;
	}
	keep(s, fd);
	return n;
}

static void brk_accept(struct sup *s, const struct seccomp_notif *req,
		       struct seccomp_notif_resp *resp)
{
	struct brk_wait w = {
		.id = req->id,
		.tid = (pid_t)req->pid,
		.addr = req->data.args[1],
		.addrlen = req->data.args[2],
		.flags = req->data.nr == SYS_accept4 ? (int)req->data.args[3] : 0,
		.deadline = -1,
	};

	if (w.flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
		resp->error = -EINVAL;
		return;
	}
	if (w.addr && (w.addrlen == 0 || sys_peek(w.tid, w.addrlen, &w.ulen, sizeof w.ulen) < 0)) {
		resp->error = -EFAULT;
		return;
	}
	if (w.addr && (int)w.ulen < 0) {
		resp->error = -EINVAL;
		return;
	}
	_cleanup_fd_ int copy = sup_broker_grab(s, w.tid, (int)req->data.args[0]);
	if (copy == -ESTALE) {
		/* A listener from outside the tree: its connections have no
		 * copy either, and their network calls are refused later. */
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		return;
	}
	if (copy < 0) {
		resp->error = copy;
		return;
	}
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = try_accept(copy, w.flags, &ss, &len);
	int fl = fcntl(copy, F_GETFL);
	if (fd == -EAGAIN && fl >= 0 && !(fl & O_NONBLOCK) && s->brk->n_waits < BRK_MAX_WAITS) {
		struct timeval tv = { 0 };
		socklen_t l = sizeof tv;
		if (getsockopt(copy, SOL_SOCKET, SO_RCVTIMEO, &tv, &l) == 0 &&
		    (tv.tv_sec || tv.tv_usec))
			w.deadline = util_mono_ms() + (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
		w.copy = take_fd(&copy);
		s->brk->waits[s->brk->n_waits++] = w;
		s->deferred = true;
		return;
	}
	if (fd < 0) {
		resp->error = fd;
		return;
	}
	int n = deliver(s, &w, fd, &ss, len);
	if (n >= 0 || n == -ENOENT)
		s->deferred = true; /* answered, or nobody waits */
	else
		resp->error = n;
}

void sup_broker_notify(struct sup *s, const struct seccomp_notif *req,
		       struct seccomp_notif_resp *resp, const struct sup_trap_info *ti)
{
	switch (req->data.nr) {
	case SYS_socket:
	case SYS_socketpair:
		if (sup_filter_socket_refused(req->data.args[0], req->data.args[1],
					      req->data.args[2])) {
			sup_refuse_syscall(s, req, resp, ti);
			return;
		}
		if (req->data.nr == SYS_socket)
			brk_socket(s, req, resp);
		else
			brk_socketpair(s, req, resp);
		return;
	case SYS_accept:
	case SYS_accept4:
		brk_accept(s, req, resp);
		return;
	default:
		resp->error = -ENOSYS;
	}
}

/* ---- the event loop's side: waiting accepts, signals, sweeps ---- */

size_t sup_broker_pollfds(struct sup *s, struct pollfd *fds, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; s->brk && i < s->brk->n_waits && n < max; i++)
		fds[n++] = (struct pollfd){ .fd = s->brk->waits[i].copy, .events = POLLIN };
	return n;
}

int sup_broker_timeout(const struct sup *s)
{
	const struct brk *b = s->brk;
	int64_t now = util_mono_ms(), best = -1;

	if (!b)
		return -1;
	if (socktab_count(b->tab))
		best = b->next_gc > now ? b->next_gc - now : 0;
	if (b->n_waits) {
		int64_t t = b->next_signal_check > now ? b->next_signal_check - now : 0;
		if (best < 0 || t < best)
			best = t;
	}
	for (size_t i = 0; i < b->n_waits; i++) {
		int64_t d = b->waits[i].deadline;
		if (d >= 0 && (best < 0 || (d > now ? d - now : 0) < best))
			best = d > now ? d - now : 0;
	}
	return (int)best;
}

/* Finishes wait w: true when it is done (answered or abandoned). */
static bool finish_wait(struct sup *s, struct brk_wait *w, bool readable, bool check_signals,
			int64_t now)
{
	struct seccomp_notif_resp resp = { .id = w->id };

	if (!sys_notif_valid(s->notify_fd, w->id))
		return true; /* the thread is gone */
	if (readable) {
		struct sockaddr_storage ss;
		socklen_t len;
		int fd = try_accept(w->copy, w->flags, &ss, &len);
		if (fd >= 0) {
			int n = deliver(s, w, fd, &ss, len);
			if (n >= 0 || n == -ENOENT)
				return true;
			resp.error = n;
		} else if (fd != -EAGAIN) {
			resp.error = fd;
		}
	}
	if (!resp.error && w->deadline >= 0 && w->deadline <= now)
		resp.error = -EAGAIN; /* what SO_RCVTIMEO gives */
	/* One check may catch a process-wide signal on its way to another
	 * thread; only one still pending at the next check is ours. SA_RESTART
	 * cannot be honoured from here: EINTR, which callers retry. */
	if (!resp.error && check_signals)
		w->signal_seen = sys_signal_pending(w->tid) ? w->signal_seen + 1 : 0;
	if (!resp.error && w->signal_seen >= 2)
		resp.error = -EINTR;
	if (!resp.error)
		return false;
	(void)ioctl(s->notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	return true;
}

struct marking {
	struct socktab *tab;
	bool incomplete; /* some fd table could not be read */
};

/* Every workload fd table: the leaders' /proc/PID/fd (threads share
 * their leader's table). */
static void mark_task(struct tracee *t, void *arg)
{
	struct marking *m = arg;
	char path[64];

	if (!t->tgid)
		t->tgid = sys_tgid_of(t->tid);
	if (t->tgid != t->tid)
		return;
	snprintf(path, sizeof path, "/proc/%d/fd", (int)t->tid);
	_cleanup_fd_ int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		/* A task that exited meanwhile holds nothing; one we may not
		 * read (made non-dumpable) may hold anything. */
		m->incomplete |= errno != ENOENT && errno != ESRCH;
		return;
	}
	dfd = -1; /* owned by d */
	for (struct dirent *e; (e = readdir(d));) {
		char link[64];
		unsigned long long ino;
		if (e->d_name[0] == '.')
			continue;
		/* readlink gives "socket:[INO]" without a stat of the inode. */
		if (readlinkat(dirfd(d), e->d_name, link, sizeof link - 1) > 0 &&
		    (link[sizeof link - 1] = 0, sscanf(link, "socket:[%llu]", &ino) == 1))
			socktab_mark(m->tab, (ino_t)ino);
	}
	closedir(d);
}

static void sweep(struct sup *s)
{
	struct brk *b = s->brk;

	struct marking m = { .tab = b->tab };

	socktab_begin_gc(b->tab);
	tracee_each(s->tt, mark_task, &m);
	/* Closing a socket the workload still uses would only make its
	 * next call fail; keeping one it closed only delays its FIN. */
	if (!m.incomplete)
		socktab_sweep(b->tab);
}

void sup_broker_handle(struct sup *s, const struct pollfd *fds, size_t n)
{
	struct brk *b = s->brk;
	int64_t now = util_mono_ms();
	bool check_signals = b && b->n_waits && now >= b->next_signal_check;
	size_t keep_n = 0;

	if (!b)
		return;
	for (size_t i = 0; i < b->n_waits; i++) {
		struct brk_wait *w = &b->waits[i];
		bool readable = false;
		for (size_t j = 0; j < n; j++)
			if (fds[j].fd == w->copy && fds[j].revents)
				readable = true;
		if (finish_wait(s, w, readable, check_signals, now))
			close(w->copy);
		else
			b->waits[keep_n++] = *w;
	}
	b->n_waits = keep_n;
	if (check_signals)
		b->next_signal_check = now + BRK_SIGNAL_MS;
	if (socktab_count(b->tab) && now >= b->next_gc) {
		sweep(s);
		b->next_gc = now + BRK_GC_MS;
	}
}
