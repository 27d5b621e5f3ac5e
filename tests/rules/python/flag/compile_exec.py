# expect: py-compile-exec
source = fetch_plugin()
code = compile(source, "<plugin>", "exec")
exec(code, {})
