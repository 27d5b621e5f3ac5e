/* The supervisor's side of the preload tier (see preload.h and
 * preload/proto.h): launching the workload with the interposer, serving
 * its questions in the event loop, and ending the whole tree on a kill. */
#include "preload.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "cleanup.h"
#include "codeopen.h"
#include "netdns.h"
#include "proto.h"
#include "rules.h"
#include "sup.h"
#include "sys.h"
#include "util.h"

#define MAX_CHANNELS  256
#define MAX_ARGS      128
#define KILL_BOUND_MS 3000

const char *const sup_preload_tier_limits[] = {
	"preload tier: raw system calls (ctypes/cffi calling syscall(), inline assembly, "
	"syscall(SYS_open...)) go around the interposer: exec, connect, send and open made "
	"that way are not judged",
	"preload tier: statically linked programs (Go, static musl) do not load the interposer",
	"preload tier: io_uring operations are not seen",
	"preload tier: code in the process can unhook the interposer (rewrite its GOT, call "
	"past it with dlsym, exec through a raw syscall without LD_PRELOAD), or swap a file "
	"between its check and the exec (the kernel tier verifies the executed image)",
	"preload tier: glibc's internal calls are not interposed: name lookups are judged "
	"by name before glibc runs and its resolver is pointed at fnguard's DNS stub, but "
	"nscd or a resolv.conf reloaded mid-lookup can answer around the stub (addresses "
	"learned that way are not allowed)",
	"preload tier: opens are judged only for names with a code or archive extension, or none "
	"(a script)",
	"preload tier: if fnguard dies, every later check fails closed (EACCES/EPERM) and "
	"the first process is killed (PDEATHSIG); its descendants are not",
	"the Runtime API proxy (events, responses) and the pre-launch code scan work as in "
	"the kernel tier",
	NULL,
};

struct channel {
	int fd;
	pid_t pid; /* SO_PEERCRED: the process that created the socketpair */
};

struct sup_preload {
	int reg;        /* our end of the inherited socket */
	bool subreaper; /* PR_SET_CHILD_SUBREAPER took */
	struct channel ch[MAX_CHANNELS];
	size_t n;
	struct fngp_req *req; /* one buffer: questions are served one at a time */
};

int sup_preload_find(char *out, size_t size, char *err, size_t errlen)
{
	static const char *const rel[] = { "/../lib/libfnguard-preload.so",
					   "/libfnguard-preload.so" };
	const char *env = getenv("FNGUARD_PRELOAD");
	char self[PATH_MAX];

	if (env && *env) {
		if (access(env, R_OK) == 0 && realpath(env, out))
			return 0;
		snprintf(err, errlen, "$FNGUARD_PRELOAD=%s: %s", env, strerror(errno));
		return -ENOENT;
	}
	ssize_t n = sys_readlink("/proc/self/exe", self, sizeof self);
	char *slash = n > 0 ? strrchr(self, '/') : NULL;
	if (slash) {
		*slash = 0;
		for (size_t i = 0; i < ARRAY_SIZE(rel); i++) {
			char p[PATH_MAX + 64];
			snprintf(p, sizeof p, "%s%s", self, rel[i]);
			if (access(p, R_OK) == 0 && realpath(p, out) && strlen(out) < size)
				return 0;
		}
	}
	snprintf(err, errlen,
		 "the preload tier needs libfnguard-preload.so next to fnguard (../lib/ or the "
		 "same directory) or in $FNGUARD_PRELOAD");
	return -ENOENT;
}

/* ".py:.js:...:.pyc:.zip:...": which opens the interposer asks about
 * (the code extensions, the bytecode caches and the archives Python
 * imports from, as sup_code_check judges them; in any case). */
static void code_exts(char *out, size_t size)
{
	static const char *const archives[] = { ".zip", ".egg", ".pyz", ".pex", ".whl" };
	const char *const *ext = rules_code_exts();
	size_t used = 0;

	out[0] = 0;
	/* The list is about 90 bytes; size is ample. */
	for (size_t i = 0; ext[i] && used < size; i++)
		used += (size_t)snprintf(out + used, size - used, "%s:", ext[i]);
	for (size_t i = 0; i < ARRAY_SIZE(archives) && used < size; i++)
		used += (size_t)snprintf(out + used, size - used, "%s:", archives[i]);
	if (used < size)
		snprintf(out + used, size - used, ".pyc");
}

static bool is_ours(const char *e)
{
	static const char *const names[] = { "LD_PRELOAD=", FNGP_ENV_FD "=", FNGP_ENV_LIB "=",
					     FNGP_ENV_CODE "=", FNGP_ENV_DNS "=" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strncmp(e, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

/* The workload's environment: ours with the tier's variables; built
 * before fork (the child only execs). Strings in one allocation. */
static char **build_env(struct sup *s, const char *lib, int fd)
{
	char exts[256], dns[64] = "", fdv[16];
	const char *old = getenv("LD_PRELOAD");
	size_t n = 0;

	while (environ[n])
		n++;
	code_exts(exts, sizeof exts);
	if (s->dns) {
		const struct sockaddr_in *st = netdns_stub(s->dns);
		char ip[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &st->sin_addr, ip, sizeof ip);
		snprintf(dns, sizeof dns, "%s:%u", ip, ntohs(st->sin_port));
	}
	snprintf(fdv, sizeof fdv, "%d", fd);
	char **env = calloc(n + 6, sizeof *env);
	if (!env)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!is_ours(environ[i]))
			env[k++] = environ[i];
	bool fail = asprintf(&env[k++], "LD_PRELOAD=%s%s%s", lib, old && *old ? ":" : "",
			     old ? old : "") < 0;
	fail |= asprintf(&env[k++], FNGP_ENV_FD "=%s", fdv) < 0;
	fail |= asprintf(&env[k++], FNGP_ENV_LIB "=%s", lib) < 0;
	if (s->code)
		fail |= asprintf(&env[k++], FNGP_ENV_CODE "=%s", exts) < 0;
	if (dns[0])
		fail |= asprintf(&env[k++], FNGP_ENV_DNS "=%s", dns) < 0;
	env[k] = NULL;
	if (fail) {
		free(env);
		return NULL;
	}
	return env;
}

int sup_preload_launch(struct sup *s, const char *lib, const char *path, char *const *argv,
		       const sigset_t *child_mask, char *err, size_t errlen)
{
	int sv[2];
	pid_t parent = getpid();

	struct sup_preload *p = calloc(1, sizeof *p);
	if (!p || !(p->req = malloc(sizeof *p->req))) {
		free(p);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->reg = -1;
	s->pre = p;
	/* Orphans of the workload become ours, not init's: a kill verdict
	 * must reach every descendant. Where it is refused, the start event
	 * says what is lost (sup_preload_limits). */
	p->subreaper = prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -errno;
	}
	p->reg = sv[0];
	char **env = build_env(s, lib, sv[1]);
	if (!env) {
		close(sv[1]);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pid_t pid = fork();
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, child_mask, NULL);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
			_exit(SUP_EXIT_FAILURE);
		/* As in the kernel tier: no setuid gain (and the loader
		 * ignores LD_PRELOAD for setuid programs anyway). */
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		if (fcntl(sv[1], F_SETFD, 0) < 0)
			_exit(SUP_EXIT_FAILURE);
		execve(path, argv, env);
		_exit(errno == ENOENT ? 127 : 126);
	}
	int e = errno;
	close(sv[1]);
	for (size_t i = 0; env[i]; i++)
		if (is_ours(env[i])) /* ours were left out: these are the copies */
			free(env[i]);
	free(env);
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(e));
		return -e;
	}
	/* A same-uid workload must not read our memory or fds in /proc. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	s->child = pid;
	return 0;
}

void sup_preload_limits(const struct sup *s, cJSON *arr)
{
	for (size_t i = 0; sup_preload_tier_limits[i]; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(sup_preload_tier_limits[i]));
	if (s->pre && !s->pre->subreaper)
		cJSON_AddItemToArray(
			arr, cJSON_CreateString("preload tier: prctl(PR_SET_CHILD_SUBREAPER) is "
						"refused here: a process whose parent exited is "
						"not fnguard's and escapes a kill"));
}

void sup_preload_free(struct sup_preload *p)
{
	if (!p)
		return;
	if (p->reg >= 0)
		close(p->reg);
	for (size_t i = 0; i < p->n; i++)
		close(p->ch[i].fd);
	free(p->req);
	free(p);
}

size_t sup_preload_pollfds(struct sup *s, struct pollfd *fds, size_t max)
{
	struct sup_preload *p = s->pre;
	size_t k = 0;

	if (!p || max == 0)
		return 0;
	fds[k++] = (struct pollfd){ .fd = p->reg, .events = POLLIN };
	for (size_t i = 0; i < p->n && k < max; i++)
		fds[k++] = (struct pollfd){ .fd = p->ch[i].fd, .events = POLLIN };
	return k;
}

/* A HELLO on the inherited socket: a process's new private channel. */
static void accept_channel(struct sup_preload *p)
{
	char buf[FNGP_REQ_HEAD], cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf
	};

	if (recvmsg(p->reg, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
			struct ucred cr;
			socklen_t cl = sizeof cr;
			int type = 0;
			socklen_t tl = sizeof type;
			/* Only one of the workload's own seqpacket pairs can be
			 * a channel; anything else is dropped. */
			if (i > 0 || p->n == MAX_CHANNELS ||
			    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
			    type != SOCK_SEQPACKET ||
			    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0) {
				close(fd);
				continue;
			}
			p->ch[p->n++] = (struct channel){ .fd = fd, .pid = cr.pid };
		}
	}
}

static void reply(int fd, const struct fngp_resp *r, int pass)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)(uintptr_t)r, .iov_len = sizeof *r };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (pass >= 0) {
		memset(cbuf, 0, sizeof cbuf);
		m.msg_control = cbuf;
		m.msg_controllen = sizeof cbuf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass, sizeof pass);
	}
	(void)sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* /proc/self/... in a path the workload sent names the workload. */
static void own_proc(pid_t pid, const char *in, char *out, size_t size)
{
	if (strncmp(in, "/proc/self/", 11) == 0)
		snprintf(out, size, "/proc/%d/%s", pid, in + 11);
	else
		snprintf(out, size, "%s", in);
}

static void log_exec(struct sup *s, pid_t pid, const char *action, const char *given,
		     const char *real, char **argv, size_t argc, const struct pol_verdict *v)
{
	if (!log_writes(s->log, action)) {
		log_count(s->log, "exec", action);
		return;
	}
	cJSON *ev = sup_event(s, "exec", action, pid);
	if (!ev)
		return;
	cJSON_AddStringToObject(ev, "path", given);
	if (real && strcmp(real, given) != 0)
		cJSON_AddStringToObject(ev, "real_path", real);
	log_add_strv(ev, "argv", argv, argc, 64, 512);
	if (v->rule)
		cJSON_AddStringToObject(ev, "rule", v->rule);
	if (v->reason)
		cJSON_AddStringToObject(ev, "reason", v->reason);
	log_emit(s->log, ev);
}

static int on_exec(struct sup *s, pid_t pid, struct fngp_req *q)
{
	char given[PATH_MAX], real[PATH_MAX];
	char *argv[MAX_ARGS + 1];
	size_t argc = 0;
	struct pol_verdict v;
	struct stat st;

	own_proc(pid, q->data, given, sizeof given);
	if (given[0] != '/')
		return -ENOENT;
	sup_path_normalize(given);
	for (size_t off = strlen(q->data) + 1; off < q->len && argc < MAX_ARGS; argc++) {
		argv[argc] = q->data + off;
		off += strlen(q->data + off) + 1;
	}
	argv[argc] = NULL;
	/* What runs is the real file: judged by its resolved path, as the
	 * kernel tier judges it. Nothing runs when it does not resolve. */
	if (!realpath(given, real))
		return -errno;
	if (stat(real, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EACCES;
	pol_exec_verdict(s->pol, given, real, &s->initial, &v);
	if (v.allowed) {
		log_exec(s, pid, "allow", given, real, argv, argc, &v);
		return 0;
	}
	enum pol_action eff;
	const char *action = sup_violation_action(s, s->pol->exec.action, &eff);
	log_exec(s, pid, action, given, real, argv, argc, &v);
	if (eff == POL_ACT_LOG)
		return 0;
	if (eff == POL_ACT_KILL)
		s->violation = true;
	return -EACCES;
}

/* A name in /etc/hosts is answered by glibc without DNS, as in the
 * kernel tier, where no query reaches the stub for it. */
static bool in_hosts(const char *name)
{
	_cleanup_file_ FILE *f = fopen("/etc/hosts", "re");
	char line[1024];

	while (f && fgets(line, sizeof line, f)) {
		char *save = NULL;
		line[strcspn(line, "#")] = 0;
		char *tok = strtok_r(line, " \t\r\n", &save); /* the address */
		while (tok && (tok = strtok_r(NULL, " \t\r\n", &save)))
			if (strcasecmp(tok, name) == 0)
				return true;
	}
	return false;
}

static int on_dns(struct sup *s, pid_t pid, struct fngp_req *q)
{
	const char *name = q->data;
	size_t len = strlen(name);

	if (!s->dns)
		return 0; /* no network rules */
	if (len && name[len - 1] == '.')
		q->data[len - 1] = 0;
	if (pol_net_name_match(s->pol, name, NULL) || in_hosts(name))
		return 0; /* an allowed name is logged by the stub when it is asked */
	return netdns_judge(s->dns, name, (uint16_t)q->arg, pid, true) ? 0 : -EPERM;
}

static void serve(struct sup *s, struct channel *c, struct fngp_req *q, ssize_t n)
{
	struct fngp_resp r = { 0 };
	int pass = -1;

	if (n < (ssize_t)FNGP_REQ_HEAD || q->len > (size_t)n - FNGP_REQ_HEAD ||
	    q->addrlen > sizeof q->addr) {
		r.err = -EINVAL;
		reply(c->fd, &r, -1);
		return;
	}
	q->data[q->len < FNGP_MAX_DATA ? q->len : FNGP_MAX_DATA - 1] = 0;
	switch (q->op) {
	case FNGP_EXEC:
		r.err = on_exec(s, c->pid, q);
		break;
	case FNGP_CONNECT:
	case FNGP_SEND: {
		bool redirect;
		socklen_t len = q->addrlen;
		r.err = sup_net_judge_copy(s, q->op == FNGP_CONNECT ? "connect" : "send", c->pid,
					   q->arg, &q->addr, &len, &redirect);
		if (redirect) {
			r.flags = FNGP_R_REDIRECT;
			r.addr = q->addr;
			r.addrlen = len;
		}
		break;
	}
	case FNGP_DNS:
		r.err = on_dns(s, c->pid, q);
		break;
	case FNGP_OPEN: {
		if (!s->code) {
			r.flags = FNGP_R_CONTINUE;
			break;
		}
		int rc = sup_code_check(s, c->pid, q->dirfd, q->data, q->arg, &pass);
		if (rc == SUP_CODE_CONTINUE)
			r.flags = FNGP_R_CONTINUE;
		else if (rc < 0)
			r.err = rc;
		else
			r.flags = FNGP_R_FD;
		break;
	}
	default:
		r.err = -ENOSYS; /* a question no handler knows: refused */
		break;
	}
	/* Under a kill verdict the loop ends the tree next: no answer, so
	 * nothing acts on a refusal first. */
	if (!s->violation)
		reply(c->fd, &r, pass);
	if (pass >= 0)
		close(pass);
}

void sup_preload_handle(struct sup *s, const struct pollfd *fds, size_t n)
{
	struct sup_preload *p = s->pre;

	if (!p || n == 0)
		return;
	/* Channels first, by index from the end: a closed one is replaced
	 * by the last, which was polled at a later index. */
	for (size_t i = n - 1; i >= 1 && !s->violation; i--) {
		if (!fds[i].revents || i - 1 >= p->n)
			continue;
		struct channel *c = &p->ch[i - 1];
		ssize_t got = recv(c->fd, p->req, sizeof *p->req, MSG_DONTWAIT);
		if (got > 0) {
			serve(s, c, p->req, got);
			continue;
		}
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		close(c->fd);
		*c = p->ch[--p->n];
	}
	if (!s->violation && (fds[0].revents & POLLIN))
		accept_channel(p);
}

/* The parent of every process, from /proc; 0 where it cannot be read. */
static size_t read_ppids(pid_t *pids, pid_t *ppids, char *zombie, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;

	while (d && n < max && (e = readdir(d))) {
		char path[64], buf[512];
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		_cleanup_fd_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t r = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
		if (r <= 0)
			continue;
		buf[r] = 0;
		/* pid (comm) state ppid: comm may hold spaces and parentheses */
		char *rp = strrchr(buf, ')');
		int ppid;
		char state;
		if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2)
			continue;
		pids[n] = (pid_t)pid;
		zombie[n] = state == 'Z';
		ppids[n++] = (pid_t)ppid;
	}
	if (d)
		closedir(d);
	return n;
}

/* SIGKILLs every process below self; returns how many were found. */
static size_t kill_descendants(pid_t self)
{
	enum { MAXP = 32768 };
	_cleanup_free_ pid_t *pids = malloc(MAXP * sizeof *pids);
	_cleanup_free_ pid_t *ppids = malloc(MAXP * sizeof *ppids);
	_cleanup_free_ char *mark = calloc(MAXP, 1);
	_cleanup_free_ char *zombie = calloc(MAXP, 1);
	size_t found = 0;

	if (!pids || !ppids || !mark || !zombie)
		return 0;
	size_t n = read_ppids(pids, ppids, zombie, MAXP);
	/* Marks spread down from self until nothing changes. */
	for (bool more = true; more;) {
		more = false;
		for (size_t i = 0; i < n; i++) {
			if (mark[i])
				continue;
			bool below = ppids[i] == self;
			for (size_t j = 0; !below && j < n; j++)
				below = mark[j] && pids[j] == ppids[i];
			if (below) {
				mark[i] = 1;
				more = true;
				if (zombie[i])
					continue; /* dead already: reaped below */
				found++;
				kill(pids[i], SIGKILL);
			}
		}
	}
	return found;
}

void sup_preload_kill_tree(struct sup *s)
{
	int64_t deadline = util_mono_ms() + KILL_BOUND_MS;
	int st;

	kill(s->child, SIGKILL);
	/* A process forked while we walked shows up in the next walk (its
	 * dead parent hands it to us, the subreaper). Every live descendant
	 * has a child of ours as ancestor: without children the walk of
	 * /proc (milliseconds on a busy host) is not needed. */
	while (waitid(P_ALL, 0, &(siginfo_t){ 0 }, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	       kill_descendants(s->self) > 0 && util_mono_ms() < deadline) {
		pid_t pid;
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			if (pid == s->child && !s->child_done) {
				s->child_done = true;
				s->child_status = st;
			}
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
}
