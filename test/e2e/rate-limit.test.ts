import { Agent, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { VALID_CUSTOMER } from '../helpers.js';
import { freePort, startServer, waitUntilHealthy, type ServerProcess } from './server-process.js';

const KEY = 'key-e2e-0123456789abcdef';
const BODY = JSON.stringify(VALID_CUSTOMER);

interface Answer {
  status: number;
  /** Whether the request went out on the connection its agent already had. */
  reusedSocket: boolean;
}

/** One request on `agent`'s single keep-alive connection. */
function send(agent: Agent, port: number, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: body === undefined ? 'GET' : 'POST', path, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, reusedSocket: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The worker that logged the request with this id. */
function workerOf(server: ServerProcess, requestId: string): string | undefined {
  const line = server.output().split('\n').find((text) => text.includes(`"reqId":"${requestId}"`) && text.includes('"msg":"request completed"'));
  return line === undefined ? undefined : String((JSON.parse(line) as { pid: number }).pid);
}

/**
 * Keep-alive connections, `perWorker` on each of the two workers: each new connection carries one
 * probe (never rate limited), and the log line of that probe says which worker took it.
 */
async function connectionsOnBothWorkers(server: ServerProcess, port: number, perWorker: number): Promise<Agent[]> {
  const byWorker = new Map<string, Agent[]>();
  const spare: Agent[] = [];
  for (let attempt = 0; attempt < 40 && !(byWorker.size === 2 && [...byWorker.values()].every((agents) => agents.length >= perWorker)); attempt += 1) {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const requestId = `probe-${attempt}`;
    expect((await send(agent, port, '/health/live', { 'x-request-id': requestId })).status).toBe(200);
    let pid: string | undefined;
    // Log lines reach the output within a second (buffered writes).
    for (let waited = 0; pid === undefined && waited < 5_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      pid = workerOf(server, requestId);
    }
    expect(pid, server.output()).toBeDefined();
    const agents = byWorker.get(pid!) ?? [];
    if (agents.length < perWorker) byWorker.set(pid!, [...agents, agent]);
    else spare.push(agent);
  }
  for (const agent of spare) agent.destroy();
  expect(byWorker.size).toBe(2);
  return [...byWorker.values()].flatMap((agents) => agents.slice(0, perWorker));
}

describe('rate limit with WORKERS=2', () => {
  it('is one limit for the whole server: exactly 60 of 200 keyed requests over both workers succeed, the rest get 429', async () => {
    const port = await freePort();
    const server = startServer({ WORKERS: '2', RATE_LIMIT_PER_MINUTE: '60', API_KEYS: KEY, LOG_LEVEL: 'info' }, port);
    let agents: Agent[] = [];
    try {
      await waitUntilHealthy(server);
      agents = await connectionsOnBothWorkers(server, port, 2);
      const perConnection = 200 / agents.length;
      const answers = (
        await Promise.all(
          agents.map(async (agent) => {
            const mine: Answer[] = [];
            for (let call = 0; call < perConnection; call += 1) {
              mine.push(await send(agent, port, '/predict', { 'content-type': 'application/json', 'x-api-key': KEY }, BODY));
            }
            return mine;
          }),
        )
      ).flat();
      expect(answers).toHaveLength(200);
      // Every request went over a connection whose worker is known: half to each worker.
      expect(answers.every((answer) => answer.reusedSocket)).toBe(true);
      expect(answers.filter((answer) => answer.status === 200)).toHaveLength(60);
      expect(answers.filter((answer) => answer.status === 429)).toHaveLength(140);
    } finally {
      for (const agent of agents) agent.destroy();
      expect(await server.stop(), server.output()).toBe(0);
    }
  });
});
