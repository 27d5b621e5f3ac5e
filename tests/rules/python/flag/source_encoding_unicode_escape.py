# expect: py-source-encoding
# vim: set fileencoding=unicode_escape :
\x69\x6d\x70\x6f\x72\x74\x20\x6f\x73
