# expect: py-nfkc-identifier
import base64
ｅxec(base64.b64decode(payload))
ºs.system("id")
from ºs import system
import ｓｕｂprocess
𝐞𝐯𝐚𝐥(code)
os.syﬆem("id")
