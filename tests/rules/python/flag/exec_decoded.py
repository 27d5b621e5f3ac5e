# expect: py-exec-decoded py-marshal-code py-import-dunder-exec py-compile-exec
import base64, zlib, marshal, codecs, types
exec(base64.b64decode("aW1wb3J0IG9zOyBvcy5zeXN0ZW0oJ2lkJyk="))
exec(zlib.decompress(base64.b64decode(PAYLOAD)))
eval(compile(base64.b64decode(blob), "<x>", "exec"))
exec(marshal.loads(data))
exec(codecs.decode("vzcbeg bf", "rot13"))
exec(bytes.fromhex("7072696e74282268692229").decode())
exec(__import__('base64').b64decode(__import__('zlib').decompress(x)))
fn = types.FunctionType(marshal.loads(code), globals())
code = marshal.loads(zlib.decompress(base64.b64decode(B)))
__import__('os').system('id')
