// Near misses for the process rules: nothing here may be flagged.
const re = /ab+c/;
const m = re.exec('abbc');            // RegExp.prototype.exec
db.exec('CREATE TABLE t (x)');        // sqlite's exec
const childProcessCount = 0;
const opts = { spawn: false, fork: true };
worker.spawn('job-name');             // not child_process
const shell = 'sh';                   // naming a shell is fine
const pkg = require('child_process_helpers');
