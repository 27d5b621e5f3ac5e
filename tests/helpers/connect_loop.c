/* connect_loop: network loops for tests/bench/bench_net.py.
 *
 *   connect_loop tcp ADDR N    listen on ADDR (IPv4, ephemeral port), then N
 *                              times: connect, accept, close both
 *   connect_loop dns NAME N    N times getaddrinfo(NAME, "80", SOCK_STREAM),
 *                              AF_UNSPEC (glibc asks A and AAAA)
 *   connect_loop dns4 NAME N   the same with AF_INET (A only)
 *   connect_loop refused ADDR N  N UDP connects to ADDR (IPv4) port 9 on one
 *                              socket, as fast as they come; prints how
 *                              many failed with EPERM instead of the time
 *
 * Prints the loop's own wall time in nanoseconds on stdout (process start
 * and exit are left out), exits non-zero on the first failure. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int tcp_loop(const char *addr, long n)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (l < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
	    bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 64) < 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &len) < 0) {
		perror("connect_loop: listen");
		return 1;
	}
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof sa) < 0) {
			perror("connect_loop: connect");
			return 1;
		}
		int a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (a < 0) {
			perror("connect_loop: accept");
			return 1;
		}
		/* The accepted side closes first: TIME_WAIT stays on the
		 * listener's port, not on the client's ephemeral ports. */
		close(a);
		close(c);
	}
	printf("%lld\n", now_ns() - t0);
	return 0;
}

static int dns_loop(const char *name, long n, int family)
{
	struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM };

	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		struct addrinfo *res = NULL;
		int rc = getaddrinfo(name, "80", &hints, &res);
		if (rc != 0) {
			fprintf(stderr, "connect_loop: getaddrinfo %s: %s\n", name,
				gai_strerror(rc));
			return 1;
		}
		freeaddrinfo(res);
	}
	printf("%lld\n", now_ns() - t0);
	return 0;
}

static int refused_loop(const char *addr, long n)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	long eperm = 0;

	if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return 1;
	for (long i = 0; i < n; i++)
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno == EPERM)
			eperm++;
	printf("%ld\n", eperm);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: connect_loop tcp ADDR N | dns NAME N | dns4 NAME N | "
				"refused ADDR N\n");
		return 2;
	}
	long n = strtol(argv[3], NULL, 10);
	if (strcmp(argv[1], "tcp") == 0)
		return tcp_loop(argv[2], n);
	if (strcmp(argv[1], "dns") == 0)
		return dns_loop(argv[2], n, AF_UNSPEC);
	if (strcmp(argv[1], "dns4") == 0)
		return dns_loop(argv[2], n, AF_INET);
	if (strcmp(argv[1], "refused") == 0)
		return refused_loop(argv[2], n);
	fprintf(stderr, "connect_loop: unknown mode %s\n", argv[1]);
	return 2;
}
