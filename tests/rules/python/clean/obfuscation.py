# Near misses for the obfuscation rules: nothing here may be flagged.
sep = chr(10) + chr(13)                      # two chr() calls, not a chain
letters = "".join(chr(c) for c in range(ord("a"), ord("z") + 1))
table = "".join(map(chr, range(256)))
nul = "\x00\x00\x00\x00"                     # escapes, not executed
magic = b"\x89PNG\r\n\x1a\n"
digest = "3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
