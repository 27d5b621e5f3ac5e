/* abi MODE: make one system call through a non-native ABI.
 *   i386: getpid through `int $0x80` (eax = 20, the i386 number)
 *   x32:  getpid with the x32 bit set (39 | 0x40000000)
 * Prints "MODE ret=R pid=P" when the call returns; a seccomp filter that
 * only admits the native ABI kills the process with SIGSYS first. */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long ret;
	if (argc != 2) {
		fprintf(stderr, "usage: abi i386|x32\n");
		return 2;
	}
	if (!strcmp(argv[1], "i386")) {
		/* In 64-bit mode int 0x80 may clobber r8-r11 (older kernels). */
		__asm__ volatile("int $0x80"
				 : "=a"(ret)
				 : "a"(20L)
				 : "memory", "r8", "r9", "r10", "r11");
	} else if (!strcmp(argv[1], "x32")) {
		ret = syscall(39 | 0x40000000L);
	} else {
		fprintf(stderr, "abi: unknown mode %s\n", argv[1]);
		return 2;
	}
	printf("%s ret=%ld pid=%d\n", argv[1], ret, (int)getpid());
	return 0;
}
