/** A TCP port that was free a moment ago on 127.0.0.1. */
import { createServer } from 'node:net';

export function freePortForTest(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
