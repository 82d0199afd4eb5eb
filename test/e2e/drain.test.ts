import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { runKeepAliveClients } from './keep-alive-clients.js';
import { freePort, startServer, waitUntilEveryWorkerServes, waitUntilHealthy } from './server-process.js';

interface LogLine {
  msg: string;
  time: number;
  reqId?: string;
  statusCode?: number;
}

const logLines = (output: string) =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);

/** A connection the kernel queued but the server never took is reset when the listener closes, within this. */
const BACKLOG_RESET_WINDOW_MS = 150;

/**
 * A client that asks for forty copies of the 1 MB ReDoc bundle on one connection and then stops
 * reading: once the socket buffers are full, the answer in progress can never finish.
 */
async function clientThatStopsReading(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.pause();
  socket.on('error', () => {}); // the server may reset it; that is the point
  socket.write('GET /redoc/redoc.standalone.js HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(40));
  await new Promise((resolve) => setTimeout(resolve, 300));
  return socket;
}

describe.each([1, 2])('drain with WORKERS=%i', (workers) => {
  it('answers every accepted request and resets no open connection, over 5 SIGTERMs under load', async () => {
    for (let run = 1; run <= 5; run += 1) {
      const port = await freePort();
      const server = startServer({ WORKERS: String(workers), DRAIN_DELAY_MS: '1000', LOG_LEVEL: 'info' }, port);
      // Every worker takes part in the drain (and logs its listener closing), so all must listen first.
      await waitUntilEveryWorkerServes(server);
      let signalledAt = 0;
      const load = runKeepAliveClients(port, 32);
      await new Promise((resolve) => setTimeout(resolve, 300));
      signalledAt = Date.now();
      server.child.kill('SIGTERM');
      const outcomes = await load;
      expect(await server.exited, server.output()).toBe(0);

      const lines = logLines(server.output());
      const answeredByServer = new Map(lines.filter((line) => line.msg === 'request completed' && line.reqId?.startsWith('ka-')).map((line) => [line.reqId!, line]));
      // Each worker logs when its listener closes; the kernel's queue of the shared socket goes with the last one.
      const listenerClosings = lines.filter((line) => line.msg.startsWith('listener closed')).map((line) => line.time);
      expect(listenerClosings).toHaveLength(workers);
      const failed = outcomes.filter((outcome) => outcome.error !== undefined && outcome.error !== 'ECONNREFUSED');
      const context = `run ${run}: ${JSON.stringify(failed.slice(0, 5))}`;

      // Load went on through the drain delay, and the clients were told to leave.
      expect(outcomes.filter((outcome) => outcome.status === 200 && outcome.at > signalledAt + 500).length, context).toBeGreaterThan(32);
      // Every request that reached the server got its answer, and every answer was a normal one.
      for (const outcome of outcomes.filter((candidate) => answeredByServer.has(candidate.id))) {
        expect(outcome.status, `${context} ${outcome.id}`).toBe(200);
      }
      expect(outcomes.filter((outcome) => outcome.status !== undefined && outcome.status !== 200), context).toEqual([]);
      // No request sent on an open keep-alive connection was reset.
      expect(failed.filter((outcome) => outcome.reusedSocket), context).toEqual([]);
      // A new connection may only be reset as the listener closes (the kernel's queue), never later.
      for (const outcome of failed) {
        expect(outcome.error, context).toBe('ECONNRESET');
        expect(Math.min(...listenerClosings.map((closedAt) => Math.abs(outcome.at - closedAt))), context).toBeLessThan(BACKLOG_RESET_WINDOW_MS);
      }
    }
  }, 120_000);

  it('exits 0 when stopped right as it becomes ready, workers still starting or not', async () => {
    for (let run = 1; run <= 5; run += 1) {
      const server = startServer({ WORKERS: String(workers) }, await freePort());
      await waitUntilHealthy(server);
      server.child.kill('SIGTERM');
      expect(await server.exited, `run ${run}:\n${server.output()}`).toBe(0);
    }
  }, 60_000);

  it('answers a slow body with 408 and still exits 0', async () => {
    const port = await freePort();
    const server = startServer({ WORKERS: String(workers), HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '1000', SHUTDOWN_TIMEOUT_MS: '5000' }, port);
    await waitUntilHealthy(server);
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    const closed = once(socket, 'close');
    socket.write('POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    server.child.kill('SIGTERM');
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    expect(JSON.parse(answer.split('\r\n\r\n')[1]!)).toEqual({
      statusCode: 408,
      error: 'Request Timeout',
      message: 'The request headers or body did not arrive in time.',
      detail: 'The request headers or body did not arrive in time.',
    });
    expect(await server.exited, server.output()).toBe(0);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('exits 1 when a client that stopped reading holds the drain past SHUTDOWN_TIMEOUT_MS', async () => {
    const port = await freePort();
    const server = startServer({ WORKERS: String(workers), HEADERS_TIMEOUT_MS: '500', REQUEST_TIMEOUT_MS: '500', SHUTDOWN_TIMEOUT_MS: '1000' }, port);
    await waitUntilHealthy(server);
    const socket = await clientThatStopsReading(port);
    try {
      server.child.kill('SIGTERM');
      expect(await server.exited, server.output()).toBe(1);
      expect(server.output()).toContain('drain not finished 1000 ms after the listener closed; exiting');
      // With workers, the primary's own exit code says that one of them did not drain.
      if (workers > 1) expect(server.output()).toContain('shutdown finished with workers that did not drain');
    } finally {
      socket.destroy();
    }
  }, 30_000);
});

describe('a client that stopped reading', () => {
  it('is cut off after IDLE_TIMEOUT_MS, so a drain still finishes cleanly', async () => {
    const port = await freePort();
    const server = startServer(
      { IDLE_TIMEOUT_MS: '1000', KEEP_ALIVE_TIMEOUT_MS: '500', HEADERS_TIMEOUT_MS: '500', REQUEST_TIMEOUT_MS: '500', SHUTDOWN_TIMEOUT_MS: '20000' },
      port,
    );
    await waitUntilHealthy(server);
    const socket = await clientThatStopsReading(port);
    try {
      server.child.kill('SIGTERM');
      // Without the idle timeout the stuck answer would hold the drain until SHUTDOWN_TIMEOUT_MS and exit 1.
      expect(await server.exited, server.output()).toBe(0);
      expect(server.output()).not.toContain('drain not finished');
    } finally {
      socket.destroy();
    }
  }, 30_000);
});
