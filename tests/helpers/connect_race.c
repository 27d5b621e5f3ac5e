/* connect_race ITER ALLOWED_IP FORBIDDEN_IP PORT [family]: race a sockaddr
 * against the supervisor's connect check.
 *
 * With "family", the address stays FORBIDDEN_IP and the thread flips only
 * the family field between AF_INET and AF_UNIX: a supervisor that lets an
 * AF_UNIX connect go on unchecked lets the kernel read AF_INET instead.
 *
 * One thread flips the address in a shared sockaddr_in between ALLOWED_IP
 * and FORBIDDEN_IP while the main thread connects a fresh TCP socket with
 * that very buffer, ITER times. A supervisor that judges the address and
 * then lets the kernel read the buffer again connects to FORBIDDEN_IP
 * sometimes; the server there counts. Prints "ok=N refused=M"; exit 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in target;
static struct in_addr addrs[2];
static atomic_int stop;
static int flip_family;

static void *flipper(void *arg)
{
	(void)arg;
	for (unsigned i = 0; !atomic_load(&stop); i++) {
		if (flip_family)
			*(volatile sa_family_t *)&target.sin_family = (i & 1) ? AF_UNIX : AF_INET;
		else
			*(volatile uint32_t *)&target.sin_addr.s_addr = addrs[i & 1].s_addr;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	int ok = 0, refused = 0;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: connect_race ITER ALLOWED_IP FORBIDDEN_IP PORT [family]\n");
		return 2;
	}
	flip_family = argc == 6 && strcmp(argv[5], "family") == 0;
	int iter = atoi(argv[1]);
	if (inet_pton(AF_INET, argv[2], &addrs[0]) != 1 ||
	    inet_pton(AF_INET, argv[3], &addrs[1]) != 1) {
		fprintf(stderr, "connect_race: bad address\n");
		return 2;
	}
	target.sin_family = AF_INET;
	target.sin_port = htons((uint16_t)atoi(argv[4]));
	target.sin_addr = flip_family ? addrs[1] : addrs[0];
	pthread_create(&t, NULL, flipper, NULL);
	for (int i = 0; i < iter; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			break;
		if (connect(fd, (struct sockaddr *)&target, sizeof target) == 0)
			ok++;
		else
			refused++;
		close(fd);
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	printf("ok=%d refused=%d\n", ok, refused);
	return 0;
}
