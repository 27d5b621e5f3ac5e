// expect: node-process-binding node-process-binding-any node-process-dlopen node-ffi
const spawnSync = process.binding('spawn_sync');
const fsb = process['binding']("fs");
spawnSync.spawn({ file: '/bin/sh', args: ['sh', '-c', 'id'], stdio: [] });
const m = { exports: {} };
process.dlopen(m, '/tmp/evil.node');
const ffi = require('ffi-napi');
