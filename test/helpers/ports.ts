import { createServer } from 'node:net';

/** A port nothing listens on right now (bind to 0, read, close). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port N such that N … N + count - 1 are all free right now (the sandbox uses two in a row, the demo three). */
export async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port + count - 1 > 65535) continue;
    let free = true;
    for (let next = port + 1; free && next < port + count; next++) free = await isFree(next);
    if (free) return port;
  }
  throw new Error(`no ${count} consecutive free ports`);
}

/** A port N such that N and N + 1 are both free right now (the sandbox uses two in a row). */
export function freePortPair(): Promise<number> {
  return freePortRun(2);
}
