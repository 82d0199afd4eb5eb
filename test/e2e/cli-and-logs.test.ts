import { execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { ConfigSchema } from '../../src/config.js';
import { writeModelVersion } from '../data-plane/model-fixtures.js';
import { VALID_CUSTOMER } from '../helpers.js';
import { CLI_ENTRY, SERVER_ENTRY, freePort, startServer, waitUntilHealthy } from './server-process.js';

const run = promisify(execFile);
const cli = (args: string[]) => run(process.execPath, [CLI_ENTRY, ...args], { env: { PATH: process.env.PATH } });
const predict = (baseUrl: string) => fetch(`${baseUrl}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(VALID_CUSTOMER) });
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const plainText = (output: string) => output.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, '');

/** Starts a command as its own process group, collecting everything it prints. */
function startGroup(command: string, args: string[], port: number) {
  const child = spawn(command, args, { cwd: ROOT, env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), PREDICTION_LOG: 'false' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'close');
  return { child, baseUrl: `http://127.0.0.1:${port}`, output: () => output, exited, stderr: () => '', stop: async () => null } as Parameters<typeof waitUntilHealthy>[0] & { exited: Promise<unknown[]> };
}

const API_KEY = 'api-key-e2e-0123456789abcdef';
const jsonLines = (output: string) => output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);

describe('churn-serve', () => {
  it('--help lists every flag and every environment variable with its default', async () => {
    const { stdout } = await cli(['--help']);
    for (const flag of ['--port', '--host', '--model', '--workers', '--log-level', '--log-format', '--version', '--help']) expect(stdout).toContain(flag);
    for (const name of Object.keys(ConfigSchema.properties)) expect(stdout).toMatch(new RegExp(`^  ${name} +default `, 'm'));
    expect(stdout).toMatch(/--port <number> +TCP port to listen on \(PORT, default 8000\)/);
    // The descriptions are Markdown for docs/configuration.md; a terminal shows them without code marks.
    expect(stdout).toContain('Address to bind: 0.0.0.0 listens on every IPv4 interface');
    expect(stdout).not.toContain('`');
  });

  it('--version prints the service and model versions, the model\'s from its own file', async () => {
    const { stdout } = await cli(['--version']);
    expect(stdout).toMatch(/^churn-serve \d+\.\d+\.\d+\nmodel 1\.2\.0 \(.*models\/churn_model\.onnx\)\n$/);
    // The help's title names the command the same way.
    expect((await cli(['--help'])).stdout.split(' ')[0]).toBe('churn-serve');
    expect((await cli(['--version', '--model', '/nonexistent/m.onnx'])).stdout).toContain('model not found at /nonexistent/m.onnx');
    const dir = mkdtempSync(join(tmpdir(), 'churn-cli-'));
    try {
      writeModelVersion(join(dir, 'churn_model.onnx'), '2.3.4');
      writeFileSync(join(dir, 'model_version.txt'), '9.9.9\n');
      expect((await cli(['--version', '--model', join(dir, 'churn_model.onnx')])).stdout).toContain(`model 2.3.4 (${join(dir, 'churn_model.onnx')})`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown flag with exit code 2', async () => {
    await expect(cli(['--prot', '80'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--prot'") });
  });

  it('refuses a flag with a bad value with exit code 2, naming the flag, before starting anything', async () => {
    await expect(cli(['--port', 'abc'])).rejects.toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(/^churn-serve: --port "abc" is not valid: PORT must be an integer/) });
    await expect(cli(['--workers', '0'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('churn-serve: --workers "0" is not valid: WORKERS') });
    await expect(cli(['--log-level', 'loud'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--log-level "loud" is not valid: LOG_LEVEL') });
  });

  it('serves with its flags winning over the environment, and logs what debug promises', async () => {
    const port = await freePort();
    const ignored = await freePort();
    const server = startServer({ PORT: String(ignored), LOG_LEVEL: 'warn', ADMIN_TOKEN: 'admin-token-0123456789', API_KEYS: 'api-key-0123456789abcd' }, port, [
      CLI_ENTRY,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--log-level',
      'debug',
      '--log-format',
      'json',
    ]);
    try {
      await waitUntilHealthy(server);
      expect((await fetch(`${server.baseUrl}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'api-key-0123456789abcd' }, body: JSON.stringify(VALID_CUSTOMER) })).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    const lines = jsonLines(server.output());
    const configuration = lines.find((line) => line.msg === 'configuration')?.config as Record<string, unknown>;
    expect(configuration).toMatchObject({ PORT: port, LOG_LEVEL: 'debug', ADMIN_TOKEN: '[redacted]', API_KEYS: '[redacted]' });
    expect(server.output()).not.toContain('admin-token-0123456789');
    expect(server.output()).not.toContain('api-key-0123456789abcd');
    expect(lines.find((line) => line.msg === 'model details')).toMatchObject({ modelVersion: '1.2.0', fileBytes: expect.any(Number), inputs: ["'features' float32 [N, 5]"] });
    expect(lines.find((line) => line.msg === 'model run')).toMatchObject({ rows: 1, ms: expect.any(Number), modelVersion: '1.2.0' });
  });

  it('runs WORKERS from --workers', async () => {
    const port = await freePort();
    const server = startServer({}, port, [CLI_ENTRY, '--workers', '2', '--port', String(port), '--host', '127.0.0.1']);
    try {
      await waitUntilHealthy(server);
      expect((await predict(server.baseUrl)).status).toBe(200);
      await vi.waitFor(() => expect(server.output().match(/"msg":"model loaded"/g)).toHaveLength(2), { timeout: 5000, interval: 50 });
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe('log formats and levels', () => {
  it('info logs no debug lines, and JSON is the default off a terminal', async () => {
    const server = startServer({ LOG_LEVEL: 'info' }, await freePort());
    await waitUntilHealthy(server);
    expect((await predict(server.baseUrl)).status).toBe(200);
    expect(await server.stop()).toBe(0);
    const lines = server.output().split('\n').filter(Boolean);
    expect(lines.every((line) => line.startsWith('{'))).toBe(true);
    const messages = jsonLines(server.output()).map((line) => line.msg);
    expect(messages).not.toContain('model run');
    expect(messages).not.toContain('configuration');
  });

  it('LOG_FORMAT=pretty writes readable lines', async () => {
    const server = startServer({ LOG_FORMAT: 'pretty' }, await freePort());
    await waitUntilHealthy(server);
    expect(await server.stop()).toBe(0);
    expect(server.output()).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(\d+\): model loaded /m);
    expect(server.output()).not.toMatch(/^\{"level"/m);
  });

  it('writes one JSON line per request with route, client (through a trusted proxy), status, latency, pid, request id, and a reason for each 4xx', async () => {
    const server = startServer({ API_KEYS: API_KEY, TRUST_PROXY: 'loopback', PREDICTION_LOG: 'false' }, await freePort());
    await waitUntilHealthy(server);
    const send = (id: string, headers: Record<string, string>, body: unknown = VALID_CUSTOMER) =>
      fetch(`${server.baseUrl}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': id, 'x-forwarded-for': '203.0.113.7', ...headers }, body: JSON.stringify(body) });
    expect((await send('e2e-ok', { 'x-api-key': API_KEY })).status).toBe(200);
    expect((await send('e2e-401', {})).status).toBe(401);
    expect((await send('e2e-401-wrong', { authorization: 'Bearer wrong-key-0123456789' })).status).toBe(401);
    expect((await send('e2e-422', { 'x-api-key': API_KEY }, { ...VALID_CUSTOMER, tenure_months: 999 })).status).toBe(422);
    expect(await server.stop()).toBe(0);
    const line = (id: string) => jsonLines(server.output()).filter((entry) => entry.reqId === id && entry.msg === 'request completed');
    expect(line('e2e-ok')).toEqual([
      expect.objectContaining({ level: 30, method: 'POST', route: '/predict', path: '/predict', clientIp: '203.0.113.7', statusCode: 200, latencyMs: expect.any(Number), pid: server.child.pid, modelVersion: '1.2.0', runIds: [expect.any(Number)] }),
    ]);
    expect(line('e2e-401')).toEqual([expect.objectContaining({ level: 30, statusCode: 401, reason: 'no API key' })]);
    expect(line('e2e-401-wrong')).toEqual([expect.objectContaining({ level: 30, statusCode: 401, reason: 'wrong API key' })]);
    expect(line('e2e-422')).toEqual([expect.objectContaining({ level: 30, statusCode: 422, reason: 'body.tenure_months: Input should be less than or equal to 120' })]);
    expect(server.output()).not.toContain(API_KEY);
    expect(server.output()).not.toContain('wrong-key-0123456789');
  });

  it('LOG_FORMAT=pretty with WORKERS=2 writes each request on one line naming the worker that served it', async () => {
    const server = startServer({ LOG_FORMAT: 'pretty', WORKERS: '2', PREDICTION_LOG: 'false' }, await freePort());
    await waitUntilHealthy(server);
    for (let index = 0; index < 4; index += 1) expect((await predict(server.baseUrl)).status).toBe(200);
    expect((await fetch(`${server.baseUrl}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(422);
    expect(await server.stop()).toBe(0);
    const output = plainText(server.output());
    const served = [...output.matchAll(/^\[[\d:.]+\] INFO \((\d+)\): 127\.0\.0\.1 "POST \/predict" 200 [\d.]+ ms req=[\w-]+ run=\d+ \(queue [\d.]+, model [\d.]+ ms\)$/gm)];
    expect(served, output).toHaveLength(4);
    // Every request line names a worker, never the primary, and nothing of the request spills onto further lines.
    const workerPids = new Set(served.map((match) => Number(match[1])));
    expect(workerPids.has(server.child.pid!)).toBe(false);
    expect(output).toMatch(/INFO \(\d+\): 127\.0\.0\.1 "POST \/predict" 422 [\d.]+ ms req=[\w-]+ - body\.\w+: Field required/);
    expect(output).not.toMatch(/^\s+(method|statusCode|reqId):/m);
  });

  it('reports a failed start in a sentence on a terminal, and as JSON otherwise', async () => {
    const env = { MODEL_PATH: '/nonexistent/model.onnx' };
    const piped = startServer(env, await freePort());
    expect(await piped.exited).toBe(1);
    expect(JSON.parse(piped.stderr().trim())).toMatchObject({ level: 60, msg: 'Model not found at /nonexistent/model.onnx' });
    const terminal = startGroup('script', ['-qefc', `exec env MODEL_PATH=/nonexistent/model.onnx ${process.execPath} ${SERVER_ENTRY}`, '/dev/null'], await freePort());
    await terminal.exited;
    expect(plainText(terminal.output())).toMatch(/^churn-service could not start: Model not found at \/nonexistent\/model\.onnx$/m);
    expect(terminal.output()).not.toContain('"level"');
  });

  it('is readable, in colour, by default on a terminal', async () => {
    // script(1) gives the server a pseudo-terminal as its standard output, as a developer's shell does.
    const server = startGroup('script', ['-qefc', `exec ${process.execPath} ${SERVER_ENTRY}`, '/dev/null'], await freePort());
    // script runs the server in a session of its own on the terminal: stop the server itself, not script.
    const serverPid = () => Number(execFileSync('pgrep', ['-P', String(server.child.pid)], { encoding: 'utf8' }).trim().split('\n')[0]);
    try {
      await waitUntilHealthy(server);
    } finally {
      process.kill(serverPid(), 'SIGTERM');
      await server.exited;
    }
    expect(server.output()).toContain('\x1b[32mINFO\x1b[39m');
    expect(plainText(server.output())).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(\d+\): model loaded /m);
    expect(server.output()).not.toContain('{"level"');
  });
});

describe('npm run dev', () => {
  it('serves from the TypeScript sources with readable logs, and restarts when a source changes', async () => {
    const dev = startGroup('npm', ['run', 'dev', '--silent'], await freePort());
    try {
      await waitUntilHealthy(dev, 30_000);
      const loads = () => (plainText(dev.output()).match(/^\[[\d:.]+\] INFO \(\d+\): model loaded /gm) ?? []).length;
      expect(loads()).toBe(1);
      const source = fileURLToPath(new URL('../../src/errors.ts', import.meta.url));
      const now = new Date();
      utimesSync(source, now, now);
      await vi.waitFor(() => expect(loads(), dev.output()).toBe(2), { timeout: 30_000, interval: 100 });
      // The old server drained before the new one started.
      expect(plainText(dev.output())).toMatch(/INFO \(\d+\): shutdown complete\n(?:.*\n)*?\[[\d:.]+\] INFO \(\d+\): model loaded /m);
      await waitUntilHealthy(dev, 30_000);
      expect((await predict(dev.baseUrl)).status).toBe(200);
    } finally {
      process.kill(-dev.child.pid!, 'SIGTERM');
      await dev.exited;
    }
  }, 90_000);
});
