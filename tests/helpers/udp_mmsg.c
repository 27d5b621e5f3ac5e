/* udp_mmsg PORT ADDR...: one sendmmsg(2) with a datagram "m<i>" to each
 * ADDR in turn; prints the return value, errno and each msg_len. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	enum { MAX = 16 };
	struct sockaddr_in to[MAX];
	struct mmsghdr mm[MAX];
	struct iovec iov[MAX];
	char text[MAX][8];
	int n = argc - 2;

	if (n < 1 || n > MAX) {
		fprintf(stderr, "usage: udp_mmsg PORT ADDR...\n");
		return 2;
	}
	memset(mm, 0, sizeof mm);
	for (int i = 0; i < n; i++) {
		to[i] = (struct sockaddr_in){ .sin_family = AF_INET,
					      .sin_port = htons((uint16_t)atoi(argv[1])) };
		if (inet_pton(AF_INET, argv[i + 2], &to[i].sin_addr) != 1)
			return 2;
		snprintf(text[i], sizeof text[i], "m%d", i);
		iov[i] = (struct iovec){ text[i], strlen(text[i]) };
		mm[i].msg_hdr.msg_name = &to[i];
		mm[i].msg_hdr.msg_namelen = sizeof to[i];
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_len = 12345;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int r = sendmmsg(fd, mm, (unsigned)n, 0);
	printf("ret=%d errno=%d", r, r < 0 ? errno : 0);
	for (int i = 0; i < n; i++)
		printf(" len%d=%u", i, mm[i].msg_len);
	printf("\n");
	return 0;
}
