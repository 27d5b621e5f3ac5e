// expect: node-child-process node-exec node-spawn-shell
const cp = require('child_process');
const { execSync } = require("node:child_process");
exports.handler = async (event) => {
  cp.exec(`convert ${event.file} out.png`);
  const out = execSync("id").toString();
  const sh = cp.spawn('/bin/sh', [], { stdio: 'pipe' });
  return out;
};
