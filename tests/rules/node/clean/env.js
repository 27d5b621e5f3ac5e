// Near misses for the credential rules: nothing here may be flagged.
const { spawn } = require('node:child_process_shim');
const childEnv = { ...process.env, NODE_ENV: 'production' };
const region = process.env.AWS_REGION || 'us-east-1';
const port = Number(process.env.PORT);
console.log(JSON.stringify({ level: process.env.LOG_LEVEL }));
const keys = Object.keys(process.env).length;
const secretName = 'AWS_SECRET_ACCESS_KEY';
const status = fs.readFileSync('/proc/self/status', 'utf8');
