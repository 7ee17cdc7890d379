// Issue 10 / SPEC §4 "Connections": under a 256-descriptor limit, hostile connections (silent
// pre-handshake sockets opened and closed, slow headers, half-open sockets) neither exhaust the
// descriptors nor hold the drain. Bounded: a few hundred loopback sockets, each closed by the test.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import t from 'tap';
import { serverBlock, testPki } from '../helpers/gateway.js';
import { startProcessGateway } from '../helpers/process-gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { send } from '../helpers/client.js';

const hasPrlimit = (() => {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

function openTcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.on('error', reject);
  });
}

function openDescriptors(pid: number): number {
  try {
    return Number(execFileSync('sh', ['-c', `ls /proc/${pid}/fd | wc -l`]).toString().trim());
  } catch {
    return -1;
  }
}

/** TCP states of the gateway's side of its connections (diagnostics for a failure). */
function socketStates(port: number): string {
  try {
    return execFileSync('sh', ['-c', `ss -tan state all '( sport = :${port} )' | awk 'NR>1 {print $1}' | sort | uniq -c`]).toString();
  } catch {
    return 'ss unavailable';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('hostile connection mix under prlimit --nofile=256: valid requests keep succeeding, SIGTERM exits within the drain bound', { skip: hasPrlimit ? false : 'prlimit is not installed' }, async (tt) => {
  const { dir, pki } = await testPki();
  const upstream = await startUpstream(tt);
  const gw = await startProcessGateway(
    tt,
    `${serverBlock(dir, '  handshakeTimeoutMs: 2000\n  headersTimeoutMs: 2000\n')}routes:\n  - path: /open\n    upstream: ${upstream.url}\n    mtls: none\n    auth: none\n`,
    { wrapper: ['prlimit', '--nofile=256:256', '--'] },
  );
  const valid = () => send(gw.port, { path: '/open/x', headers: { 'x-fapi-interaction-id': randomUUID() }, ca: pki.ca.cert });
  tt.equal((await valid()).status, 200, 'serves before the attack');
  const baseline = openDescriptors(gw.pid);

  // 1. 200 silent pre-handshake connections, opened together, then closed by the client.
  const silent = await Promise.all(Array.from({ length: 200 }, () => openTcp(gw.port)));
  for (const s of silent) s.destroy();
  // 2. 60 slow-header TLS connections and 60 half-open ones (client sent FIN), left to the gateway's bounds.
  const slow = await Promise.all(
    Array.from({ length: 60 }, () =>
      new Promise<Socket>((resolve) => {
        const s = connectTls({ host: '127.0.0.1', port: gw.port, servername: 'localhost', ca: pki.ca.cert }, () => {
          s.write('GET /open/x HTTP/1.1\r\nHost: localhost\r\n');
          resolve(s);
        });
        s.on('error', () => undefined);
      }),
    ),
  );
  const halfOpen = await Promise.all(Array.from({ length: 60 }, () => openTcp(gw.port)));
  for (const s of halfOpen) {
    s.on('error', () => undefined);
    s.end();
  }
  // 3. Wait past the bounds (handshake or headers 2 s, checked every second, then the 2 s linger
  // after a 408): every hostile socket must have been released.
  await sleep(6500);
  const after = openDescriptors(gw.pid);
  tt.ok(after <= baseline + 5, `descriptors back to baseline (${baseline} before, ${after} after)`, { states: socketStates(gw.port), fds: execFileSync('sh', ['-c', `ls -l /proc/${gw.pid}/fd | awk '{print $NF}' | sed 's/[0-9]*//g' | sort | uniq -c`]).toString() });
  for (let i = 0; i < 20; i++) tt.equal((await valid()).status, 200, `valid request ${i + 1} after the attack`);
  for (const s of [...slow, ...halfOpen]) s.destroy();

  // 4. SIGTERM while hostile connections are open in every state: the drain ends within its bound.
  const held = await Promise.all(Array.from({ length: 50 }, () => openTcp(gw.port)));
  for (const s of held) s.on('error', () => undefined);
  const midHeaders = connectTls({ host: '127.0.0.1', port: gw.port, servername: 'localhost', ca: pki.ca.cert }, () => midHeaders.write('GET /open/x HTTP/1.1\r\n'));
  midHeaders.on('error', () => undefined);
  await sleep(200);
  const started = Date.now();
  gw.kill('SIGTERM');
  const code = await gw.exited;
  const took = Date.now() - started;
  tt.equal(code, 0, 'exit 0');
  tt.ok(took < 25_000, `SIGTERM → exit in ${took} ms (bound 25 s)`);
  for (const s of held) s.destroy();
  midHeaders.destroy();
  tt.equal(upstream.requests.length, 21, 'the upstream received only the valid requests');
});
