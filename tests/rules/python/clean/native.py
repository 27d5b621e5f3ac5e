# Near misses for the native-code rules: nothing here may be flagged.
import ctypes
from ctypes import c_int, sizeof
size = sizeof(c_int)                # ctypes types only, no library loading
buf = ctypes.create_string_buffer(16)
x = ctypes.c_uint32(5)
syscall_name = "mprotect"
libcurl_version = info.version
ffi_dlopen_allowed = False
fd = os.open("/proc/self/fd", os.O_RDONLY)   # listing descriptors
