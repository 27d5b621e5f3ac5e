// expect: node-eval-decoded node-new-function node-vm-run node-eval-untrusted
const vm = require('vm');
eval(Buffer.from('cmVxdWlyZSgiY2hpbGRfcHJvY2VzcyIpLmV4ZWNTeW5jKCJpZCIp', 'base64').toString());
eval(atob(payload));
const f = new Function(Buffer.from(s, "base64").toString());
vm.runInThisContext(zlib.inflateSync(Buffer.from(b, 'base64')).toString());
eval(String.fromCharCode(97, 108, 101, 114, 116));
app.get('/calc', (req, res) => res.send(String(eval(req.query.expr))));
