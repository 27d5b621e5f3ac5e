/* The preload tier's wire format, shared by the interposer library
 * (preload/) and the supervisor (supervisor/preload.c).
 *
 * The workload inherits one end of a SOCK_SEQPACKET socketpair; its
 * number is in FNGP_ENV_FD. Nothing is ever answered on that socket: each
 * process sends it one FNGP_HELLO carrying (SCM_RIGHTS) one end of a new
 * private socketpair, and asks its questions over that one, one at a
 * time, so processes sharing the inherited socket after fork never read
 * each other's answers. The supervisor takes the asking process's pid
 * from SO_PEERCRED of the private socket, never from the message. */
#ifndef FNG_PRELOAD_PROTO_H
#define FNG_PRELOAD_PROTO_H

#include <stdint.h>
#include <sys/socket.h>

#define FNGP_ENV_FD   "FNGUARD_PRELOAD_FD"   /* the inherited socket's number */
#define FNGP_ENV_LIB  "FNGUARD_PRELOAD_LIB"  /* the library's path, re-added to LD_PRELOAD */
#define FNGP_ENV_CODE "FNGUARD_PRELOAD_CODE" /* set when opens of code files are judged */
#define FNGP_ENV_DNS  "FNGUARD_PRELOAD_DNS"  /* the DNS stub, "127.0.0.1:PORT" */

#define FNGP_MAX_DATA 16384

enum fngp_op {
	FNGP_HELLO = 1,
	FNGP_EXEC,    /* data: path (absolute) \0 argv[0] \0 ...; arg: argc */
	FNGP_CONNECT, /* addr; arg: the socket's SO_TYPE */
	FNGP_SEND,    /* addr; arg: SO_TYPE */
	FNGP_DNS,     /* data: name \0; arg: qtype */
	FNGP_OPEN,    /* data: path \0; arg: open flags; dirfd */
};

struct fngp_req {
	uint32_t op;
	int32_t arg;
	int32_t dirfd;
	uint32_t addrlen;
	struct sockaddr_storage addr;
	uint32_t len; /* bytes of data in use */
	char data[FNGP_MAX_DATA];
};

#define FNGP_REQ_HEAD offsetof(struct fngp_req, data)

enum fngp_flags {
	FNGP_R_FD = 1,       /* the answer carries an fd: the opened, scanned file */
	FNGP_R_REDIRECT = 2, /* send to addr instead (DNS to the stub) */
	FNGP_R_CONTINUE = 4, /* not judged: let the call go on unchanged */
};

struct fngp_resp {
	int32_t err; /* 0: allowed; -errno: refused with that error */
	uint32_t flags;
	uint32_t addrlen;
	struct sockaddr_storage addr;
};

#endif
