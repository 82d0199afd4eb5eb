import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, vi } from 'vitest';

export const SERVER_ENTRY = fileURLToPath(new URL('../../dist/server.js', import.meta.url));
export const CLI_ENTRY = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface ServerProcess {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/**
 * Starts the compiled server as its own process, as production does. The prediction log is on (the
 * default) in a data directory of this process's own, removed when it exits, unless `env` names
 * one: these servers run from the repository root and must not write ./data there.
 */
export function startServer(env: Record<string, string>, port: number, command: string[] = [SERVER_ENTRY]): ServerProcess {
  const dataDir = env.DATA_DIR === undefined ? mkdtempSync(join(tmpdir(), 'churn-e2e-data-')) : undefined;
  const child = spawn(process.execPath, command, {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), ...(dataDir ? { DATA_DIR: dataDir } : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stderr += chunk.toString();
  });
  // 'close' waits for the output pipes to end too, so nothing the process wrote is missed.
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      resolve(code);
    }),
  );
  return {
    child,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => output,
    stderr: () => stderr,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Polls /health until it answers 200; fails with the server's output as soon as it exits, or when it times out. */
export async function waitUntilHealthy(server: ServerProcess, timeoutMs = 15_000): Promise<void> {
  const outcome = await vi
    .waitFor(
      async () => {
        if (server.child.exitCode !== null) return 'exited';
        // Rejects while the server is not listening yet: waitFor asks again.
        expect((await fetch(`${server.baseUrl}/health`)).status).toBe(200);
        return 'healthy';
      },
      { timeout: timeoutMs, interval: 50 },
    )
    .catch((error: Error) => {
      throw new Error(`server not healthy after ${timeoutMs} ms (${error.message}):\n${server.output()}`);
    });
  if (outcome === 'exited') throw new Error(`server exited with ${server.child.exitCode}:\n${server.output()}`);
}

interface Readiness {
  status: string;
  degraded: boolean;
  workers?: { expected: number; serving: number; starting: number; failed: number };
}

/**
 * Polls /health/ready until every worker serves, as the cluster primary counts them (a lone
 * process: until it is ready). waitUntilHealthy returns as soon as any one worker answers, while
 * the others may still be loading their model; a test that needs all of them waits for this.
 * Fails with the server's output as soon as it exits, or when it times out.
 */
export async function waitUntilEveryWorkerServes(server: ServerProcess, timeoutMs = 30_000): Promise<Readiness> {
  let exited = false;
  const readiness = await vi
    .waitFor(
      async () => {
        if (server.child.exitCode !== null) {
          exited = true;
          return undefined;
        }
        const response = await fetch(`${server.baseUrl}/health/ready`);
        const body = (await response.json()) as Readiness;
        expect(response.status).toBe(200);
        if (body.workers) expect(body.workers.serving).toBe(body.workers.expected);
        return body;
      },
      { timeout: timeoutMs, interval: 50 },
    )
    .catch((error: Error) => {
      throw new Error(`not every worker serves after ${timeoutMs} ms (${error.message}):\n${server.output()}`);
    });
  if (exited || !readiness) throw new Error(`server exited with ${server.child.exitCode}:\n${server.output()}`);
  return readiness;
}
