/* Exec control: decide execve/execveat on a private copy of the path,
 * then verify at the ptrace exec stop that the image the kernel loaded is
 * the one that was decided on (the kernel re-reads the path after
 * CONTINUE, so a racing thread or a mount trick could swap it). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "cleanup.h"
#include "sup.h"
#include "sys.h"

#define MAX_ARGS          128
#define ARGBUF            16384
#define MAX_SHEBANG_DEPTH 4 /* the kernel's BINPRM_MAX_RECURSION */

struct exec_req {
	pid_t tid;
	int dirfd;
	int flags;
	char path[PATH_MAX];
	char *argv[MAX_ARGS + 1];
	size_t argc;
	bool argv_more; /* argv had more items than we copied */
	char argbuf[ARGBUF];
	char given[PATH_MAX]; /* absolute, lexically normalised, unresolved */
	char real[PATH_MAX];  /* canonical, as the kernel resolved it for us */
	bool fileless;        /* memfd or deleted file */
	dev_t dev;
	ino_t ino;
};

void sup_path_normalize(char *p)
{
	char *out = p;
	const char *in = p;

	while (*in) {
		while (*in == '/')
			in++;
		const char *seg = in;
		while (*in && *in != '/')
			in++;
		size_t len = (size_t)(in - seg);
		if (len == 0 || (len == 1 && seg[0] == '.'))
			continue;
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			while (out > p && *--out != '/')
				;
			continue;
		}
		*out++ = '/';
		memmove(out, seg, len);
		out += len;
	}
	if (out == p)
		*out++ = '/';
	*out = 0;
}

static int read_args(struct exec_req *r, int memfd, uint64_t path_addr, uint64_t argv_addr)
{
	ssize_t n = sys_read_cstr(memfd, path_addr, r->path, sizeof r->path);
	if (n < 0)
		return n == -ENAMETOOLONG ? -ENAMETOOLONG : -EFAULT;
	size_t used = 0;
	for (r->argc = 0; argv_addr && r->argc < MAX_ARGS; r->argc++) {
		uint64_t p;
		if (sys_read_mem(memfd, argv_addr + 8 * r->argc, &p, sizeof p) < 0)
			return -EFAULT;
		if (!p)
			break;
		if (used + 2 >= ARGBUF) {
			r->argv_more = true;
			break;
		}
		char *dst = r->argbuf + used;
		n = sys_read_cstr(memfd, p, dst, ARGBUF - used);
		if (n == -ENAMETOOLONG)
			n = (ssize_t)strlen(dst); /* keep the prefix for the log */
		else if (n < 0)
			return -EFAULT;
		r->argv[r->argc] = dst;
		used += (size_t)n + 1;
	}
	if (r->argc == MAX_ARGS)
		r->argv_more = true;
	r->argv[r->argc] = NULL;
	return 0;
}

/* Resolves what the kernel will open, from the task's own cwd or dirfd,
 * into r->given / r->real / identity. Returns 0 or the -errno the kernel
 * would give (the exec is answered with it and nothing runs). */
static int resolve(struct exec_req *r)
{
	char lookup[PATH_MAX + 64], base[PATH_MAX];
	bool empty = r->path[0] == 0;

	if (empty && !(r->flags & AT_EMPTY_PATH))
		return -ENOENT;
	if (empty) {
		snprintf(lookup, sizeof lookup, "/proc/%d/fd/%d", r->tid, r->dirfd);
	} else if (r->path[0] == '/') {
		snprintf(lookup, sizeof lookup, "%s", r->path);
		snprintf(r->given, sizeof r->given, "%s", r->path);
	} else {
		char dir[64];
		if (r->dirfd == AT_FDCWD)
			snprintf(dir, sizeof dir, "/proc/%d/cwd", r->tid);
		else
			snprintf(dir, sizeof dir, "/proc/%d/fd/%d", r->tid, r->dirfd);
		if (sys_readlink(dir, base, sizeof base) < 0 || base[0] != '/')
			snprintf(base, sizeof base, "/");
		snprintf(lookup, sizeof lookup, "%s/%s", dir, r->path);
		if ((size_t)snprintf(r->given, sizeof r->given, "%s/%s", base, r->path) >=
		    sizeof r->given)
			return -ENAMETOOLONG;
	}
	int oflags = O_PATH | O_CLOEXEC;
	if (r->flags & AT_SYMLINK_NOFOLLOW)
		oflags |= O_NOFOLLOW;
	_cleanup_fd_ int fd = open(lookup, oflags);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EACCES;
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	char self[64];
	snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
	if (sys_readlink(self, r->real, sizeof r->real) < 0)
		snprintf(r->real, sizeof r->real, "?");
	size_t rl = strlen(r->real);
	r->fileless = r->real[0] != '/' || strncmp(r->real, "/memfd:", 7) == 0 ||
		      (rl > 10 && strcmp(r->real + rl - 10, " (deleted)") == 0);
	if (empty)
		snprintf(r->given, sizeof r->given, "%s", r->real);
	else
		sup_path_normalize(r->given);
	return 0;
}

/* Follows #! lines the way the kernel does (interpreter relative to the
 * task's cwd, no PATH search) to the image that will really be mapped. */
static bool final_image(pid_t tid, const char *real, dev_t *dev, ino_t *ino)
{
	char path[PATH_MAX];
	bool script = false;

	snprintf(path, sizeof path, "%s", real);
	for (int depth = 0; depth < MAX_SHEBANG_DEPTH; depth++) {
		char head[256];
		_cleanup_fd_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0)
			return script; /* exec-only file: the kernel maps it as is */
		ssize_t n = pread(fd, head, sizeof head - 1, 0);
		if (n < 2 || head[0] != '#' || head[1] != '!')
			return script;
		head[n] = 0;
		char *s = head + 2;
		s += strspn(s, " \t");
		size_t len = strcspn(s, " \t\n");
		if (len == 0)
			return script;
		s[len] = 0;
		char lookup[PATH_MAX + 64];
		if (s[0] == '/')
			snprintf(lookup, sizeof lookup, "%s", s);
		else
			snprintf(lookup, sizeof lookup, "/proc/%d/cwd/%s", tid, s);
		struct stat st;
		if (stat(lookup, &st) < 0)
			return script; /* the kernel will fail this exec with ENOENT */
		*dev = st.st_dev;
		*ino = st.st_ino;
		script = true;
		snprintf(path, sizeof path, "%s", lookup);
	}
	return script;
}

/* True when the file name the kernel handed to a #! interpreter (an
 * early argv item of the new image) is the one that was checked. */
static bool script_matches(pid_t pid, const char *want)
{
	char path[64], buf[4096];

	snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
	_cleanup_fd_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n <= 0)
		return false;
	buf[n] = 0;
	/* argv[0] is the interpreter, then an optional #! argument; nested
	 * interpreters (up to the kernel's four levels) push it further. */
	const char *p = buf;
	for (int i = 0; i < 9 && p < buf + n; i++, p += strlen(p) + 1)
		if (i > 0 && strcmp(p, want) == 0)
			return true;
	return false;
}

static void log_exec(struct sup *s, const struct exec_req *r, const char *action, const char *rule,
		     const char *reason)
{
	if (!log_writes(s->log, action)) {
		log_count(s->log, "exec", action);
		return;
	}
	cJSON *ev = sup_event(s, "exec", action, r->tid);
	if (!ev)
		return;
	cJSON_AddStringToObject(ev, "path", r->given[0] ? r->given : r->path);
	if (r->real[0] && strcmp(r->real, r->given) != 0)
		cJSON_AddStringToObject(ev, "real_path", r->real);
	log_add_strv(ev, "argv", r->argv, r->argc, 64, 512);
	if (r->argv_more)
		cJSON_AddBoolToObject(ev, "argv_incomplete", true);
	if (rule)
		cJSON_AddStringToObject(ev, "rule", rule);
	if (reason)
		cJSON_AddStringToObject(ev, "reason", reason);
	log_emit(s->log, ev);
}

static void expect(struct sup *s, const struct exec_req *r)
{
	struct tracee *t = tracee_get(s->tt, r->tid, true);
	if (!t)
		return; /* out of memory: the exec stop then finds no expectation */
	t->expect_exec = true;
	t->exp_dev = r->dev;
	t->exp_ino = r->ino;
	t->exp_enforce = s->pol->exec.present;
	snprintf(t->exp_path, sizeof t->exp_path, "%s", r->given);
	t->exp_script[0] = 0;
	if (!final_image(r->tid, r->real[0] == '/' ? r->real : r->given, &t->exp_dev, &t->exp_ino))
		return;
	/* The name the kernel gives the interpreter (fs/exec.c alloc_bprm). */
	if (r->path[0] == '/' || r->dirfd == AT_FDCWD)
		snprintf(t->exp_script, sizeof t->exp_script, "%s", r->path);
	else if (r->path[0] == 0)
		snprintf(t->exp_script, sizeof t->exp_script, "/dev/fd/%d", r->dirfd);
	else
		snprintf(t->exp_script, sizeof t->exp_script, "/dev/fd/%d/%s", r->dirfd, r->path);
}

static void decide(struct sup *s, struct exec_req *r, struct seccomp_notif_resp *resp)
{
	struct pol_verdict v;

	pol_exec_verdict(s->pol, r->given, r->fileless ? NULL : r->real, &s->initial, &v);
	if (v.allowed && r->fileless && s->pol->exec.present) {
		v.allowed = false;
		v.rule = "exec.fileless";
		v.reason = "fileless exec (memfd or deleted file) is never allowed";
	}
	if (v.allowed) {
		log_exec(s, r, "allow", v.rule, NULL);
		expect(s, r);
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		return;
	}
	enum pol_action eff;
	const char *action = sup_violation_action(s, s->pol->exec.action, &eff);
	log_exec(s, r, action, v.rule, v.reason);
	if (eff == POL_ACT_LOG) {
		expect(s, r);
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		return;
	}
	resp->error = -EACCES;
	if (eff == POL_ACT_KILL)
		s->violation = true; /* the loop kills after the answer is sent */
}

void sup_exec_notify(struct sup *s, const struct seccomp_notif *req,
		     struct seccomp_notif_resp *resp)
{
	struct exec_req *r = calloc(1, sizeof *r);
	if (!r) {
		resp->error = -ENOMEM;
		return;
	}
	r->tid = (pid_t)req->pid;
	uint64_t path_addr, argv_addr;
	if (req->data.nr == SYS_execveat) {
		r->dirfd = (int)req->data.args[0];
		path_addr = req->data.args[1];
		argv_addr = req->data.args[2];
		r->flags = (int)req->data.args[4];
	} else {
		r->dirfd = AT_FDCWD;
		path_addr = req->data.args[0];
		argv_addr = req->data.args[1];
	}
	_cleanup_fd_ int memfd = sys_open_mem(r->tid);
	int rc = memfd < 0 ? memfd : read_args(r, memfd, path_addr, argv_addr);
	/* The task may have died and its pid been reused while we read: only
	 * what is read before this check belongs to the notification. */
	if (!sys_notif_valid(s->notify_fd, req->id)) {
		free(r);
		resp->error = -ESRCH;
		return;
	}
	if (rc == 0)
		rc = resolve(r);
	if (rc < 0)
		resp->error = rc; /* nothing will run: answer as the kernel would */
	else
		decide(s, r, resp);
	free(r);
}

void sup_exec_stop(struct sup *s, pid_t pid)
{
	unsigned long former = (unsigned long)pid;
	char exe[64];
	struct stat st;

	ptrace(PTRACE_GETEVENTMSG, pid, 0, &former);
	struct tracee *t = tracee_get(s->tt, (pid_t)former, false);
	snprintf(exe, sizeof exe, "/proc/%d/exe", pid);
	bool have = stat(exe, &st) == 0;
	bool ok = t && t->expect_exec && have && st.st_dev == t->exp_dev &&
		  st.st_ino == t->exp_ino &&
		  (!t->exp_script[0] || script_matches(pid, t->exp_script));
	bool enforce = t && t->expect_exec ? t->exp_enforce : s->pol->exec.present;

	if (!ok && enforce) {
		enum pol_action eff;
		const char *action = sup_violation_action(s, POL_ACT_KILL, &eff);
		cJSON *ev = sup_event(s, "exec", action, pid);
		if (ev) {
			cJSON_AddStringToObject(ev, "path",
						t && t->expect_exec ? t->exp_path : "?");
			cJSON_AddStringToObject(ev, "rule", "exec.identity");
			cJSON_AddStringToObject(
				ev, "reason",
				t && t->expect_exec
					? "the image the kernel executed is not the file that was "
					  "checked (path swapped by a racing thread, or a mount)"
					: "exec that was never checked");
			log_emit(s->log, ev);
		}
		if (eff == POL_ACT_KILL) {
			sup_kill_workload(s);
			return;
		}
	}
	if (t) {
		t->expect_exec = false;
		if ((pid_t)former != pid)
			tracee_del(s->tt, (pid_t)former);
	}
	tracee_get(s->tt, pid, true);
	ptrace(PTRACE_CONT, pid, 0, 0);
}

/* Where the literal part of an exec.allow entry ends: the whole entry,
 * or up to the last '/' before the first glob character. */
static size_t literal_prefix(const char *g)
{
	size_t meta = strcspn(g, "*?[\\");
	if (!g[meta])
		return meta;
	while (meta > 0 && g[meta - 1] != '/')
		meta--;
	return meta > 1 ? meta - 1 : 0; /* keep "/dir", drop the slash */
}

static int add_real(struct pol_exec *e, size_t from, char *variant)
{
	size_t n = e->allow_real.n;
	char **v = realloc(e->allow_real.v, (n + 1) * sizeof *v);
	if (v)
		e->allow_real.v = v;
	size_t *of = realloc(e->real_of, (n + 1) * sizeof *of);
	if (of)
		e->real_of = of;
	if (!v || !of) {
		free(variant);
		return -ENOMEM;
	}
	v[n] = variant;
	of[n] = from;
	e->allow_real.n = n + 1;
	return 0;
}

int sup_exec_resolve_allow(struct policy *p)
{
	struct pol_exec *e = &p->exec;
	char dir[PATH_MAX], real[PATH_MAX];

	for (size_t i = 0; i < e->allow.n; i++) {
		const char *g = e->allow.v[i];
		size_t lit = literal_prefix(g);
		if (lit == 0 || lit >= sizeof dir)
			continue;
		memcpy(dir, g, lit);
		dir[lit] = 0;
		/* Entries that do not exist (yet) keep only their own text. */
		if (!realpath(dir, real) || strcmp(real, dir) == 0)
			continue;
		char *variant = NULL;
		if (asprintf(&variant, "%s%s", real, g + lit) < 0)
			return -ENOMEM;
		if (add_real(e, i, variant) < 0)
			return -ENOMEM;
	}
	return 0;
}
