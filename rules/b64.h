/* base64 as the code that receives a Lambda body decodes it. A body that
 * is not plain base64 (stray bytes, padding in the middle, none at the
 * end) means different bytes to different decoders: Node's Buffer.from
 * stops at the first '=', Python's b64decode skips a '=' that ends no
 * quad, both skip bytes outside the alphabet, and strict decoders (nettle,
 * Java, Go, .NET) refuse it. The inspection judges each reading that
 * differs, so an attack cannot hide in the disagreement. Pure. */
#ifndef FNG_B64_H
#define FNG_B64_H

#include <stddef.h>
#include <sys/types.h>

/* Room enough for any of the decodings of len bytes. */
#define B64_OUT_MAX(len) ((len) / 4 * 3 + 3)

/* Plain base64: the alphabet, a length that is a multiple of 4 and '='
 * padding at the end only; the decoded length, or -1 for anything else.
 * Every decoder reads plain base64 the same way. */
ssize_t b64_plain(const char *s, size_t len, unsigned char *out);

/* As Node's Buffer.from(s, 'base64'): the URL-safe alphabet's '-' and
 * '_' are read as '+' and '/', other bytes outside the alphabet are
 * skipped, the first '=' ends the data, a last group of 2 or 3
 * characters gives 1 or 2 bytes. Never fails. */
size_t b64_node(const char *s, size_t len, unsigned char *out);

/* As Python's base64.b64decode(s) (binascii.a2b_base64, not strict):
 * bytes outside the alphabet are skipped, a '=' ends the data only where
 * it completes a quad and is skipped elsewhere; -1 where Python raises
 * (data left in an incomplete quad). */
ssize_t b64_python(const char *s, size_t len, unsigned char *out);

#endif
