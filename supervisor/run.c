/* `fnguard run` and `fnguard check`: from the command line to a loaded
 * policy, a built filter, a launched workload and the exit status. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "filter.h"
#include "codeopen.h"
#include "launch.h"
#include "bpfnet.h"
#include "netbpf.h"
#include "netdns.h"
#include "pool.h"
#include "preload.h"
#include "rtapi.h"
#include "rules.h"
#include "sup.h"
#include "sys.h"
#include "util.h"

#define POLICY_MAX (1u << 20)

struct run_opts {
	const char *policy;
	const char *log;
	const char *mode; /* NULL: the policy's */
	const char *tier; /* auto | kernel | preload */
	char **cmd;
	int cmd_argc;
};

static void die_hint(const char *msg, const char *hint)
{
	fprintf(stderr, "fnguard: %s\n", msg);
	if (hint)
		fprintf(stderr, "Hint: %s\n", hint);
}

/* Reads a policy file whole; returns 0 or -errno with a message. */
static int read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	_cleanup_fd_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot read policy %s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > POLICY_MAX) {
		snprintf(err, errlen, "policy %s: not a regular file of at most %u bytes", path,
			 POLICY_MAX);
		return -EINVAL;
	}
	char *b = malloc((size_t)st.st_size + 1);
	if (!b)
		return -ENOMEM;
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	b[got] = 0;
	*buf = b;
	*len = got;
	return 0;
}

static void print_diags(const struct pol_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "%s:%d:%d: %s\n", d->v[i].file, d->v[i].line, d->v[i].col,
			d->v[i].msg);
}

/* Loads and validates; on success *sha holds the file's sha256. */
static int load_policy(const char *path, struct policy **out, char sha[65])
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	char err[PATH_MAX + 128];
	struct pol_diags d = { 0 };

	if (read_file(path, &buf, &len, err, sizeof err) < 0) {
		fprintf(stderr, "fnguard: %s\n", err);
		return -1;
	}
	util_sha256_hex(buf, len, sha);
	int rc = policy_parse(buf, len, path, out, &d);
	print_diags(&d);
	pol_diags_clear(&d);
	free(d.v);
	return rc < 0 ? -1 : 0;
}

/* Compiles code.rules and code.rule_files the way run and scan will, so
 * a missing rule file or a bad regex in one is a FILE:LINE:COL error now. */
static int check_rules(const struct policy *p)
{
	struct rules *r = rules_new();
	struct pol_diags d = { 0 };
	int rc = r ? rules_from_policy(r, p, &d) : -ENOMEM;
	/* Each section's files on their own, as run compiles them. */
	const struct pol_strv *more[] = { &p->events.rule_files, &p->responses.rule_files };
	for (size_t i = 0; i < ARRAY_SIZE(more) && rc != -ENOMEM; i++) {
		struct rules *x = more[i]->n ? rules_new() : NULL;
		int e = !more[i]->n ? 0 : x ? rules_from_files(x, p, more[i], &d) : -ENOMEM;
		rules_free(x);
		if (e < 0 && rc == 0)
			rc = e;
	}

	if (rc == -ENOMEM)
		fprintf(stderr, "fnguard: out of memory compiling the rules of %s\n", p->file);
	print_diags(&d);
	pol_diags_clear(&d);
	rules_free(r);
	return rc;
}

int cli_check(int argc, char **argv)
{
	int bad = 0;

	if (argc < 2) {
		die_hint("check needs at least one policy file", "fnguard check fnguard.yaml");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct policy *p = NULL;
		char sha[65];
		if (load_policy(argv[i], &p, sha) < 0) {
			bad = 1;
			continue;
		}
		if (check_rules(p) < 0) {
			bad = 1;
			policy_free(p);
			continue;
		}
		printf("%s: valid\n", argv[i]);
		policy_free(p);
	}
	return bad;
}

/* The policy named by -p, $FNGUARD_POLICY or $LAMBDA_TASK_ROOT. */
static const char *find_policy(const char *opt, char *buf, size_t size)
{
	const char *env = getenv("FNGUARD_POLICY");
	const char *root = getenv("LAMBDA_TASK_ROOT");

	if (opt)
		return opt;
	if (env && *env)
		return env;
	if (root && *root) {
		snprintf(buf, size, "%s/fnguard.yaml", root);
		if (access(buf, F_OK) == 0)
			return buf;
	}
	return NULL;
}

/* Resolves COMMAND like execvp would, before anything starts, so that
 * "not found" (127) and "not executable" (126) are answered as a shell
 * does. Returns 0, 126 or 127. */
static int resolve_command(const char *cmd, char *out, size_t size)
{
	bool found = false;

	if (strchr(cmd, '/')) {
		if (cmd[0] == '/') {
			snprintf(out, size, "%s", cmd);
		} else {
			char cwd[PATH_MAX];
			if (!getcwd(cwd, sizeof cwd))
				return 127;
			snprintf(out, size, "%s/%s", cwd, cmd);
		}
		struct stat st;
		if (stat(out, &st) < 0)
			return 127;
		return S_ISREG(st.st_mode) && access(out, X_OK) == 0 ? 0 : 126;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	char first[PATH_MAX] = "";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(out, size, "%.*s/%s", (int)(n ? n : 1), n ? path : ".", cmd);
		path += n + (path[n] == ':');
		struct stat st;
		if (stat(out, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (access(out, X_OK) == 0)
			return out[0] == '/' ? 0 : resolve_command(out, out, size);
		if (!found)
			snprintf(first, sizeof first, "%s", out);
		found = true;
	}
	if (found)
		snprintf(out, size, "%s", first);
	return found ? 126 : 127;
}

static int parse_run(int argc, char **argv, struct run_opts *o)
{
	static const struct option lo[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "log", required_argument, NULL, 'l' },
		{ "tier", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	memset(o, 0, sizeof *o);
	o->tier = "auto";
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:m:l:t:h", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->policy = optarg;
			break;
		case 'm':
			o->mode = optarg;
			break;
		case 'l':
			o->log = optarg;
			break;
		case 't':
			o->tier = optarg;
			break;
		case 'h':
			cli_usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	if (o->mode && strcmp(o->mode, "enforce") && strcmp(o->mode, "audit")) {
		die_hint("--mode must be enforce or audit", NULL);
		return -1;
	}
	if (strcmp(o->tier, "auto") && strcmp(o->tier, "kernel") && strcmp(o->tier, "preload")) {
		die_hint("--tier must be auto, kernel or preload", NULL);
		return -1;
	}
	o->cmd = argv + optind;
	o->cmd_argc = argc - optind;
	if (o->cmd_argc < 1) {
		die_hint("run needs a COMMAND",
			 "fnguard run -p fnguard.yaml -- python3 handler.py");
		return -1;
	}
	return 0;
}

/* Picks the tier or explains why none fits; 0 or -1 (exit 125). The
 * kernel tier may still step down to preload at launch (ptrace refused). */
static int choose_tier(const struct run_opts *o, const struct policy *p,
		       const struct sup_caps *caps, const char **tier)
{
	const char *why;
	char msg[512];

	*tier = sup_caps_tier(caps, &why);
	if (strcmp(o->tier, "preload") == 0) {
		if (p->require == POL_TIER_KERNEL) {
			die_hint("--tier preload contradicts the policy's `require: kernel`",
				 "drop --tier, or lower `require:` in the policy");
			return -1;
		}
		*tier = "preload";
		return 0;
	}
	if (*tier)
		return 0;
	snprintf(msg, sizeof msg, "the kernel tier is not usable here: %s", why);
	if (strcmp(o->tier, "kernel") == 0 || p->require == POL_TIER_KERNEL) {
		die_hint(msg, p->require == POL_TIER_KERNEL
				      ? "the policy says `require: kernel`, so fnguard does not "
					"run weaker; lower it to `preload` to run here with the "
					"LD_PRELOAD tier (see `fnguard probe` for its limits)"
				      : "run `fnguard probe` for details; in docker add "
					"--cap-add SYS_PTRACE, or use --tier preload");
		return -1;
	}
	*tier = "preload";
	return 0;
}

static const char *function_name(const struct policy *p, const char *cmd)
{
	const char *env = getenv("AWS_LAMBDA_FUNCTION_NAME");
	const char *slash = strrchr(cmd, '/');

	if (p->name)
		return p->name;
	if (env && *env)
		return env;
	return slash ? slash + 1 : cmd;
}

static int open_log(const struct run_opts *o, const struct policy *p, const char *cmd,
		    struct log_ctx **log)
{
	char err[PATH_MAX + 128];
	struct log_opts lo = {
		.fd = 2,
		.function = function_name(p, cmd),
		.allowed = p->log.allowed,
		.envp = environ,
	};

	if (o->log)
		lo.path = o->log;
	else if (p->log.sink && strcmp(p->log.sink, "stdout") == 0)
		lo.fd = 1;
	else if (p->log.sink && strcmp(p->log.sink, "stderr") != 0)
		lo.path = p->log.sink;
	if (log_open(&lo, log, err, sizeof err) < 0) {
		die_hint(err, "check --log / log.sink; the directory must exist and be writable");
		return -1;
	}
	return 0;
}

static void log_start(struct sup *s, const char *tier, const char *policy_path, const char *sha,
		      const struct run_opts *o)
{
	cJSON *ev = log_begin(s->log, "start", "allow", s->child);
	if (!ev)
		return;
	cJSON_AddStringToObject(ev, "tier", tier);
	cJSON_AddStringToObject(ev, "policy", policy_path);
	cJSON_AddStringToObject(ev, "policy_sha256", sha);
	log_add_strv(ev, "argv", o->cmd, (size_t)o->cmd_argc, 64, 512);
	cJSON_AddStringToObject(ev, "version", FNG_VERSION);
	cJSON_AddStringToObject(ev, "mode", s->audit ? "audit" : "enforce");
	cJSON_AddNumberToObject(ev, "supervisor_pid", s->self);
	cJSON *f = cJSON_AddObjectToObject(ev, "features");
	cJSON_AddBoolToObject(f, "wait_killable_recv", s->caps->wait_killable_recv);
	cJSON_AddBoolToObject(f, "sync_wake_up", s->caps->sync_wake_up);
	cJSON_AddBoolToObject(f, "pidfd_getfd", s->caps->pidfd_getfd);
	cJSON_AddBoolToObject(f, "socket_broker", s->brk != NULL);
	if (s->pre) {
		const char *why;
		const char *k = sup_caps_tier(s->caps, &why);
		cJSON_AddStringToObject(ev, "tier_reason",
					!k && why          ? why
					: !s->caps->ptrace ? "ptrace of a child is refused"
							   : "forced with --tier preload");
	}
	cJSON_AddBoolToObject(f, "runtime_api_proxy", s->rt != NULL);
	const char *vc = sup_code_cache_state(s->code);
	if (vc)
		cJSON_AddStringToObject(f, "code_cache", vc);
	if (s->engine) {
		cJSON_AddStringToObject(ev, "network_engine", s->engine);
		if (s->engine_reason)
			cJSON_AddStringToObject(ev, "network_engine_reason", s->engine_reason);
		if (s->bpf)
			cJSON_AddStringToObject(ev, "cgroup", bpfnet_cgroup_path(s->bpf));
	}
	cJSON *lim = cJSON_AddArrayToObject(ev, "limits");
	for (size_t i = 0; sup_kernel_tier_limits[i]; i++)
		cJSON_AddItemToArray(lim, cJSON_CreateString(sup_kernel_tier_limits[i]));
	if (s->pre)
		sup_preload_limits(s, lim);
	if (s->pol->network.present) {
		cJSON_AddItemToArray(lim, cJSON_CreateString("data sent over an allowed connection "
							     "is not inspected"));
		cJSON_AddItemToArray(lim, cJSON_CreateString("covert channels through allowed "
							     "names are not stopped"));
	}
	if ((s->pol->events.present || s->pol->responses.present) && !s->rt)
		cJSON_AddItemToArray(lim,
				     cJSON_CreateString("events and responses are inspected only "
							"through the Runtime API proxy: "
							"AWS_LAMBDA_RUNTIME_API is not set "
							"here"));
	if (s->engine_limit)
		cJSON_AddItemToArray(lim, cJSON_CreateString(s->engine_limit));
	for (size_t i = 0; s->brk && sup_broker_limits[i]; i++)
		cJSON_AddItemToArray(lim, cJSON_CreateString(sup_broker_limits[i]));
	log_emit(s->log, ev);
}

static void log_exit(struct sup *s, int code)
{
	/* The exit line is written whatever log.allowed says. */
	cJSON *ev = log_begin(s->log, "exit", s->violation ? "kill" : "allow", s->child);
	if (!ev)
		return;
	cJSON_AddNumberToObject(ev, "status", code);
	if (WIFSIGNALED(s->child_status))
		cJSON_AddNumberToObject(ev, "signal", WTERMSIG(s->child_status));
	else
		cJSON_AddNullToObject(ev, "signal");
	cJSON_AddNumberToObject(ev, "duration_ms", (double)(util_mono_ms() - s->t0_mono));
	log_add_counts(s->log, ev);
	log_emit(s->log, ev);
}

/* Blocks every signal we handle or must not die of, and returns a
 * signalfd for them. The workload gets the original mask back. */
static int setup_signals(sigset_t *orig)
{
	static const int handled[] = {
		SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2
	};
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(handled); i++)
		sigaddset(&set, handled[i]);
	/* A vanished log reader must give EPIPE, not kill the supervisor;
	 * SIGIO/SIGURG could be aimed at us through F_SETOWN. */
	sigaddset(&set, SIGPIPE);
	sigaddset(&set, SIGIO);
	sigaddset(&set, SIGURG);
	sigaddset(&set, SIGALRM);
	sigaddset(&set, SIGVTALRM);
	sigaddset(&set, SIGPROF);
	sigaddset(&set, SIGXCPU);
	sigaddset(&set, SIGXFSZ);
	if (sigprocmask(SIG_BLOCK, &set, orig) < 0)
		return -errno;
	sigdelset(&set, SIGPIPE);
	sigdelset(&set, SIGIO);
	sigdelset(&set, SIGURG);
	sigdelset(&set, SIGALRM);
	sigdelset(&set, SIGVTALRM);
	sigdelset(&set, SIGPROF);
	sigdelset(&set, SIGXCPU);
	sigdelset(&set, SIGXFSZ);
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Everything before the workload exists; returns 0 or an exit code. */
static int prepare(const struct run_opts *o, struct policy **pol, char sha[65],
		   const char **policy_path, char *cmd_path, size_t cmd_size)
{
	static char found[PATH_MAX];

	*policy_path = find_policy(o->policy, found, sizeof found);
	if (!*policy_path) {
		die_hint("no policy: none given with -p, $FNGUARD_POLICY is unset and "
			 "$LAMBDA_TASK_ROOT/fnguard.yaml does not exist",
			 "write a policy (see policy/examples/) and pass it with -p");
		return SUP_EXIT_FAILURE;
	}
	if (load_policy(*policy_path, pol, sha) < 0) {
		fprintf(stderr, "fnguard: invalid policy %s: the workload was not started\n",
			*policy_path);
		return SUP_EXIT_FAILURE;
	}
	if (sup_exec_resolve_allow(*pol) < 0) {
		fprintf(stderr, "fnguard: out of memory\n");
		return SUP_EXIT_FAILURE;
	}
	int rc = resolve_command(o->cmd[0], cmd_path, cmd_size);
	if (rc == 127)
		fprintf(stderr, "fnguard: %s: command not found\n", o->cmd[0]);
	else if (rc == 126)
		fprintf(stderr, "fnguard: %s: not an executable file (%s)\n", o->cmd[0], cmd_path);
	return rc;
}

/* The preload tier's launch (preload.h); 0 or an exit code. */
static int launch_preload(struct sup *s, const struct sup_launch *l)
{
	char err[PATH_MAX + 128], lib[PATH_MAX];

	if (sup_preload_find(lib, sizeof lib, err, sizeof err) < 0 ||
	    sup_preload_launch(s, lib, l->path, l->argv, &l->child_mask, err, sizeof err) < 0) {
		die_hint(err, "make install puts it in PREFIX/lib; the Lambda layer in /opt/lib");
		return SUP_EXIT_FAILURE;
	}
	return 0;
}

/* Only the kernel tier's launch finds out that ptrace is refused (the
 * child never ran): under --tier auto, and unless the policy requires the
 * kernel tier, that is a step down to preload, named in the start event. */
static bool step_down(const struct sup *s, const struct run_opts *o)
{
	return !s->caps->ptrace && strcmp(o->tier, "auto") == 0 &&
	       s->pol->require != POL_TIER_KERNEL;
}

static int supervise(struct sup *s, const struct run_opts *o, const char *cmd_path,
		     const char *tier, const char *policy_path, const char *sha)
{
	char err[1024];
	struct sup_launch l = { .path = cmd_path, .argv = o->cmd, .envp = environ };
	bool preload = strcmp(tier, "preload") == 0;

	/* The network engine decides what the filter traps. The preload tier
	 * has neither a filter nor a cgroup launch: its interposer judges. */
	if (preload && s->pol->network.present && s->pol->network.engine == POL_ENGINE_BPF) {
		die_hint("network.engine is bpf, which the preload tier does not use",
			 "use network.engine: auto or notify where seccomp or ptrace is refused");
		return SUP_EXIT_FAILURE;
	}
	if (preload) {
		s->engine = s->pol->network.present ? "preload" : NULL;
	} else if (sup_netbpf_open(s, err, sizeof err) < 0) {
		die_hint(err, "use network.engine: auto (falls back to notify) or notify; "
			      "the bpf engine needs CAP_BPF and a cgroup v2 mount");
		return SUP_EXIT_FAILURE;
	}
	if (s->bpf) {
		l.into_cgroup = true;
		l.cgroup_dir = bpfnet_dir_fd(s->bpf);
		l.cgroup_procs = bpfnet_procs_fd(s->bpf);
	}
	/* Before the filter: the threads of the pre-launch scan start here
	 * (and live as long as we do), and the filter names every thread. */
	if (s->pol->code.present && sup_code_open(s, err, sizeof err) < 0) {
		die_hint(err, "fnguard check POLICY shows every problem with the code rules");
		return SUP_EXIT_FAILURE;
	}
	pid_t thread_ids[1 + SUP_POOL_MAX_THREADS];
	ssize_t n_thread_ids = preload ? 0 : sys_other_threads(thread_ids, ARRAY_SIZE(thread_ids));
	if (n_thread_ids < 0 || (size_t)n_thread_ids > ARRAY_SIZE(thread_ids)) {
		/* A thread the filter cannot name could be signalled. The
		 * preload tier has no filter to name them in. */
		die_hint("cannot list fnguard's own threads in /proc/self/task",
			 "fnguard needs /proc mounted");
		return SUP_EXIT_FAILURE;
	}
	struct sup_filter_opts fo = {
		.thread_ids = thread_ids,
		.n_thread_ids = (size_t)n_thread_ids,
		.supervisor_pid = s->self,
		.supervisor_pgid = getpgrp(),
		.net = s->pol->network.present,
		.code = s->pol->code.present,
		/* The in-process probe's answer: launch confirms it below. */
		.broker = !preload && s->pol->network.present && !s->caps->pidfd_getfd && !s->bpf,
		.net_bpf = s->bpf != NULL,
	};
	struct sock_fprog prog = { 0 };

	if (!preload && sup_filter_build(&fo, &prog, err, sizeof err) < 0) {
		die_hint(err, NULL);
		return SUP_EXIT_FAILURE;
	}
	l.prog = &prog;
	int sfd = setup_signals(&l.child_mask);
	if (sfd < 0) {
		sup_filter_free(&prog);
		die_hint("cannot set up signal handling", NULL);
		return SUP_EXIT_FAILURE;
	}
	s->sig_fd = sfd;
	if (!preload && sys_seccomp(SECCOMP_GET_NOTIF_SIZES, 0, &s->sizes) < 0) {
		sup_filter_free(&prog);
		die_hint("seccomp(SECCOMP_GET_NOTIF_SIZES) failed", NULL);
		return SUP_EXIT_FAILURE;
	}
	if (s->pol->network.present && netdns_open(s, &s->dns, err, sizeof err) < 0) {
		sup_filter_free(&prog);
		die_hint(err, NULL);
		return SUP_EXIT_FAILURE;
	}
	struct rtapi_hooks hooks;
	int rc = sup_invoke_open(s, &s->inv, &hooks, err, sizeof err);
	if (rc < 0) {
		sup_filter_free(&prog);
		die_hint(err, "fnguard check POLICY shows every problem with the rule files");
		return SUP_EXIT_FAILURE;
	}
	rc = rtapi_open(s, &hooks, &s->rt, err, sizeof err);
	if (rc < 0) {
		sup_filter_free(&prog);
		die_hint(err, "AWS_LAMBDA_RUNTIME_API must be HOST:PORT, as Lambda sets it");
		return SUP_EXIT_FAILURE;
	}
	sup_netbpf_start(s, s->dns ? netdns_stub(s->dns) : NULL, rtapi_proxy_addr(s->rt),
			 rtapi_upstream_addr(s->rt));
	if (fo.broker && sup_broker_open(s) < 0) {
		sup_filter_free(&prog);
		die_hint("out of memory", NULL);
		return SUP_EXIT_FAILURE;
	}
	rc = preload ? 0 : sup_launch(&l, s->caps, &s->child, &s->notify_fd, err, sizeof err);
	sup_filter_free(&prog);
	if (rc < 0 && step_down(s, o)) {
		sup_broker_free(s);
		sup_netbpf_free(s); /* its cgroup is for the kernel tier's launch */
		s->engine = s->pol->network.present ? "preload" : NULL;
		preload = true;
		tier = "preload";
	}
	if (preload && (rc = launch_preload(s, &l)) != 0)
		return rc;
	if (rc < 0) {
		die_hint(err,
			 !s->caps->ptrace
				 ? "the kernel tier needs ptrace of its own child: in docker add "
				   "--cap-add SYS_PTRACE, and check "
				   "/proc/sys/kernel/yama/ptrace_scope (3 forbids it)"
				 : "run `fnguard probe` to see what this kernel allows");
		return SUP_EXIT_FAILURE;
	}
	if (!preload && s->pol->network.present && !s->caps->pidfd_getfd && !fo.broker && !s->bpf) {
		/* pidfd_getfd works on ourselves but not on the child (an LSM
		 * rule): the filter was built without the broker, and every
		 * network decision needs a copy of the workload's socket.
		 * Nothing has run yet: the child waits at its first execve. */
		kill(s->child, SIGKILL);
		waitpid(s->child, NULL, __WALL);
		die_hint("network rules need pidfd_getfd(2) on the workload, which is refused "
			 "here although it works on fnguard itself",
			 "check the LSM (Yama ptrace_scope, AppArmor ptrace rules) that "
			 "refuses it");
		return SUP_EXIT_FAILURE;
	}
	if (!preload)
		tracee_get(s->tt, s->child, true);
	log_start(s, tier, policy_path, sha, o);
	/* The pre-launch scan goes on while the workload starts: it waits for
	 * the findings at its first code file (sup_code_check), or here when
	 * there is no thread to wait for. */
	if (s->code && sup_code_prescan_fd(s->code) < 0)
		sup_code_prescan(s);
	int code = sup_loop(s);
	/* A workload that opened no code file: the findings still count. */
	if (s->code)
		sup_code_prescan(s);
	sup_netbpf_finish(s, &code);
	if (s->violation)
		rtapi_fail_current(s->rt, "the function was stopped by fnguard");
	log_exit(s, code);
	return code;
}

int cli_run(int argc, char **argv)
{
	struct run_opts o;
	struct policy *pol = NULL;
	char sha[65] = "", cmd_path[PATH_MAX], real[PATH_MAX];
	const char *policy_path, *tier;
	struct sup_caps caps;

	if (parse_run(argc, argv, &o) < 0)
		return SUP_EXIT_FAILURE;
	int rc = prepare(&o, &pol, sha, &policy_path, cmd_path, sizeof cmd_path);
	if (rc != 0) {
		policy_free(pol);
		return rc;
	}
	sup_probe(&caps, false);
	if (choose_tier(&o, pol, &caps, &tier) < 0) {
		policy_free(pol);
		return SUP_EXIT_FAILURE;
	}
	struct sup s = {
		.pol = pol,
		.caps = &caps,
		.audit = o.mode ? strcmp(o.mode, "audit") == 0 : pol->mode == POL_MODE_AUDIT,
		.notify_fd = -1,
		.sig_fd = -1,
		.self = getpid(),
		.t0_mono = util_mono_ms(),
	};
	char *initial[2] = { cmd_path, realpath(cmd_path, real) ? real : cmd_path };
	s.initial.v = initial;
	s.initial.n = 2;
	s.tt = tracee_tab_new();
	if (pol->network.present)
		s.addrs = addrtab_new();
	if (!s.tt || (pol->network.present && !s.addrs) ||
	    open_log(&o, pol, o.cmd[0], &s.log) < 0) {
		tracee_tab_free(s.tt);
		addrtab_free(s.addrs);
		policy_free(pol);
		return SUP_EXIT_FAILURE;
	}
	rc = supervise(&s, &o, cmd_path, tier, policy_path, sha);
	if (s.notify_fd >= 0)
		close(s.notify_fd);
	if (s.sig_fd >= 0)
		close(s.sig_fd);
	log_free(s.log);
	tracee_tab_free(s.tt);
	addrtab_free(s.addrs);
	netdns_free(s.dns);
	sup_net_free(&s);
	sup_broker_free(&s);
	sup_preload_free(s.pre);
	sup_netbpf_free(&s);
	rtapi_free(s.rt);
	sup_invoke_free(s.inv);
	sup_code_free(s.code);
	policy_free(pol);
	return rc;
}
