# expect: py-ctypes py-native-syscall py-cffi-dlopen py-memfd-exec py-os-exec
import ctypes, os
from cffi import FFI
libc = ctypes.CDLL(None)
libc.syscall(319, b"x", 1)
libc.mprotect(addr, size, 7)
ctypes.memmove(addr, shellcode, len(shellcode))
ffi = FFI()
lib = ffi.dlopen("libc.so.6")
fd = os.memfd_create("x", 0)
os.execv("/proc/self/fd/" + str(fd), ["x"])
