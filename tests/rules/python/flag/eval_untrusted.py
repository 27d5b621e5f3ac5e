# expect: py-eval-untrusted
import os, sys
from flask import request
result = eval(request.args["expr"])
exec(sys.argv[1])
eval(os.environ["HOOK"])
eval(input("> "))
