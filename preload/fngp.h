/* Internals of the preload interposer (libfnguard-preload.so). Every
 * function here is hidden: only the interposed libc names are exported. */
#ifndef FNG_PRELOAD_FNGP_H
#define FNG_PRELOAD_FNGP_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

#define FNGP_EXPORT __attribute__((visibility("default")))

/* The next definition of a libc function (dlsym RTLD_NEXT), looked up
 * once; NULL when no later object defines it. */
void *fngp_next(const char *name);
#define FNGP_REAL(var, name)          \
	static __typeof__(name) *var; \
	if (!var)                     \
	var = (__typeof__(name) *)fngp_next(#name)

/* Asks the supervisor; fills *resp and, when it carries one, *fd (else
 * -1). Returns 0, or -errno when there is no supervisor to ask (gone,
 * never there): the caller refuses, which is how the tier fails closed. */
int fngp_ask(struct fngp_req *req, struct fngp_resp *resp, int *fd, bool cloexec);

/* A request of op with nothing filled in but the header. */
void fngp_req_init(struct fngp_req *req, unsigned op);

/* fngp_req_init() with s (a path, a name) as its data, NUL included.
 * 0, or -ENAMETOOLONG when s does not fit. */
int fngp_req_str(struct fngp_req *req, unsigned op, const char *s);

/* True for the inherited socket and this process's private channel,
 * which the workload's close/close_range/dup2 must not take away. */
bool fngp_protected(int fd);
int fngp_reg_fd(void);
int fngp_chan_fd(void); /* -1 when this process has none */
/* Moves our socket off fd, which the workload dup2s onto. */
void fngp_move_reg(int fd);

/* What the supervisor put in the environment, saved at load. */
const char *fngp_lib(void);       /* library path, "" when unknown */
const char *fngp_code_exts(void); /* NULL: opens are not judged */
const char *fngp_dns(void);       /* NULL: no DNS stub */

/* envp with LD_PRELOAD and the FNGUARD_PRELOAD_* variables put back
 * (the workload may have dropped them). Memory from mmap (usable in a
 * vfork child); release with fngp_env_free. NULL when out of memory. */
char **fngp_env(char *const *envp, size_t *size);
void fngp_env_free(char **env, size_t size);
/* Puts them back into this process's own environ (system, popen). */
void fngp_env_self(void);

/* A fork child: locks held by threads that did not come along are free. */
void fngp_net_after_fork(void);

/* The workload closed fd: forget what was remembered about it. */
void fngp_forget_fd(int fd);

/* Judging exec: 0 or -errno. path as given (made absolute here). */
int fngp_check_exec(const char *path, char *const argv[]);

/* DNS: 0 when name may be looked up (or is numeric), -errno if not. */
int fngp_check_name(const char *name, int qtype);
/* Points the calling thread's resolver state at the stub. */
void fngp_point_resolver(void *res_state);

#endif
