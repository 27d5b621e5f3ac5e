// expect: node-escaped-identifier node-child-process
const p = process.argv[2];
\u0065val(Buffer.from(p, "base64").toString());
globalThis.ev\u{61}l(p);
const cp = require("child_process"); cp.\u0065xecSync(p);
