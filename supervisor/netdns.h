/* Workload side of the DNS stub (see stub.h and netdns.c). */
#ifndef FNG_NETDNS_H
#define FNG_NETDNS_H

#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/types.h>

struct sup;
struct netdns;

int netdns_open(struct sup *s, struct netdns **out, char *err, size_t errlen);
void netdns_free(struct netdns *d); /* accepts NULL */
size_t netdns_pollfds(struct netdns *d, struct pollfd *fds, size_t max);
void netdns_handle(struct netdns *d, const struct pollfd *fds, size_t n);
int netdns_timeout(struct netdns *d);

/* Rewrites *ss (a datagram destination on port 53) to the stub and
 * records the socket behind copy. 0 or -errno. */
int netdns_redirect(struct netdns *d, int copy, pid_t tid, struct sockaddr_storage *ss,
		    socklen_t *len);

/* True, with *src replaced by the nameserver's address, when a datagram
 * from src on the socket with inode ino is the stub's reply. */
bool netdns_rewrite_source(struct netdns *d, ino_t ino, struct sockaddr_storage *src,
			   socklen_t *len);

struct redirect *netdns_find(struct netdns *d, ino_t ino);

/* The stub's verdict on a name asked by pid, logged as a `dns` line
 * (an allowed name only when quiet_allow is false): true when it may be
 * looked up. A refusal under action kill sets the violation. */
bool netdns_judge(struct netdns *d, const char *name, uint16_t qtype, pid_t pid, bool quiet_allow);

/* Rewrites *ss to the stub: its address, or v4-mapped for an IPv6 one. */
void netdns_to_stub(const struct netdns *d, struct sockaddr_storage *ss, socklen_t *len);

/* Where the stub listens (127.0.0.1, an ephemeral port): the preload
 * tier and the bpf engine point DNS there. */
const struct sockaddr_in *netdns_stub(const struct netdns *d);

#endif
