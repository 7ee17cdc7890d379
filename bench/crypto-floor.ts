/**
 * The physical floor of the JWS rows (issue 16): CPU of one RSA-2048 PS256 verification alone and of
 * one PS256 signature alone, with `crypto.verify` / `crypto.sign` in a loop, in a process of its own
 * started with the targets' Node binary (the OpenSSL the gateway links). `node crypto-floor.js [runs]`
 * prints one line `RESULT <CryptoFloor as JSON>`: CPU µs per operation, the median of `runs` loops.
 */
import { constants, generateKeyPairSync, sign, verify } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export interface CryptoFloor {
  /** CPU µs of one PS256 (RSA-2048, SHA-256, salt 32) verification: median over the runs. */
  readonly verifyUs: number;
  /** CPU µs of one PS256 signature. */
  readonly signUs: number;
  /** Per-run figures, to show the spread. */
  readonly verifyRuns: readonly number[];
  readonly signRuns: readonly number[];
  /** The runtime that measured them. */
  readonly node: string;
  readonly openssl: string;
}

const VERIFY_OPS = 1000;
const SIGN_OPS = 100;

/** CPU µs (user + system, this process) per call of `op`, over `count` calls. */
function cpuPerOp(count: number, op: () => void): number {
  const start = process.cpuUsage();
  for (let i = 0; i < count; i++) op();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / count;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Measure in this process (call it in a child: the loops burn a core for about a second). */
export function measureCryptoFloor(runs: number): CryptoFloor {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pss = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
  // A signing input the size of the bench's JWS requests (protected header + payload, base64url).
  const claims = { aud: 'https://localhost:8443/open-banking/payments/v4/pix/payments', iss: 'c0ffee00-0000-4000-8000-000000000000', iat: 1, jti: 'b3d0c0de-0000-4000-8000-00000000be4c', data: { amount: '1.00', currency: 'BRL' } };
  const input = Buffer.from(
    `${Buffer.from(JSON.stringify({ alg: 'PS256', kid: 'bench-signing-key', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`,
  );
  const signature = sign('sha256', input, { key: privateKey, ...pss });
  let ok = true;
  const verifyOnce = () => {
    ok = verify('sha256', input, { key: publicKey, ...pss }, signature) && ok;
  };
  const signOnce = () => void sign('sha256', input, { key: privateKey, ...pss });
  // Warm-up: lazy initialisation and JIT outside the measured loops.
  cpuPerOp(50, verifyOnce);
  cpuPerOp(10, signOnce);
  const verifyRuns: number[] = [];
  const signRuns: number[] = [];
  for (let run = 0; run < runs; run++) {
    verifyRuns.push(cpuPerOp(VERIFY_OPS, verifyOnce));
    signRuns.push(cpuPerOp(SIGN_OPS, signOnce));
  }
  if (!ok) throw new Error('a PS256 signature did not verify');
  return {
    verifyUs: median(verifyRuns),
    signUs: median(signRuns),
    verifyRuns,
    signRuns,
    node: process.version,
    openssl: process.versions.openssl,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const runs = Math.max(1, Math.min(20, Number(process.argv[2] ?? '5') || 5));
  process.stdout.write(`RESULT ${JSON.stringify(measureCryptoFloor(runs))}\n`);
}
