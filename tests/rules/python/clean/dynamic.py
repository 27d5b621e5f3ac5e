# Near misses for the dynamic-code rules: nothing here may be flagged.
import ast, base64, json, marshal

def evaluate(expr):                 # evaluate( is not eval(
    return ast.literal_eval(expr)   # literal_eval( is not eval(

data = base64.b64decode(blob)       # decoding without executing it
obj = json.loads(zlib_payload)
cursor.execute("SELECT 1")          # execute( is not exec(
model.eval()                        # a method called eval, no decoding
result = evaluate(b64decode_name)
code = compile(pattern, re.I)       # re-style compile, no 'exec'
exec_mode = "exec"
marshal.dumps(obj)
value = eval("1 + 2")               # eval of a literal string, not decoded data
__import__('importlib').import_module(name)  # __import__ of a harmless module
