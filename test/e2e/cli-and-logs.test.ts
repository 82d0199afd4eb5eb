import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config.js';
import { VALID_CUSTOMER } from '../helpers.js';
import { CLI_ENTRY, freePort, startServer, waitUntilHealthy } from './server-process.js';

const run = promisify(execFile);
const cli = (args: string[]) => run(process.execPath, [CLI_ENTRY, ...args], { env: { PATH: process.env.PATH } });
const predict = (baseUrl: string) => fetch(`${baseUrl}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(VALID_CUSTOMER) });
const jsonLines = (output: string) => output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);

describe('churn-serve', () => {
  it('--help lists every flag and every environment variable with its default', async () => {
    const { stdout } = await cli(['--help']);
    for (const flag of ['--port', '--host', '--model', '--workers', '--log-level', '--log-format', '--version', '--help']) expect(stdout).toContain(flag);
    for (const name of Object.keys(ConfigSchema.properties)) expect(stdout).toMatch(new RegExp(`^  ${name} +default `, 'm'));
    expect(stdout).toMatch(/--port <number> +TCP port to listen on \(PORT, default 8000\)/);
  });

  it('--version prints the service and model versions', async () => {
    const { stdout } = await cli(['--version']);
    expect(stdout).toMatch(/^churn-service \d+\.\d+\.\d+\nmodel 1\.1\.0 \(.*models\/churn_model\.onnx\)\n$/);
    expect((await cli(['--version', '--model', '/nonexistent/m.onnx'])).stdout).toContain('model not found at /nonexistent/m.onnx');
  });

  it('refuses an unknown flag with exit code 2', async () => {
    await expect(cli(['--prot', '80'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--prot'") });
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
    expect(lines.find((line) => line.msg === 'model details')).toMatchObject({ modelVersion: '1.1.0', fileBytes: expect.any(Number), inputs: ["'features' float32 [N, 5]"] });
    expect(lines.find((line) => line.msg === 'model run')).toMatchObject({ rows: 1, ms: expect.any(Number), modelVersion: '1.1.0' });
  });

  it('runs WORKERS from --workers', async () => {
    const port = await freePort();
    const server = startServer({}, port, [CLI_ENTRY, '--workers', '2', '--port', String(port), '--host', '127.0.0.1']);
    try {
      await waitUntilHealthy(server);
      expect((await predict(server.baseUrl)).status).toBe(200);
      for (let waited = 0; (server.output().match(/"msg":"model loaded"/g) ?? []).length < 2 && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(server.output().match(/"msg":"model loaded"/g)).toHaveLength(2);
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
    expect(server.output()).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: model loaded$/m);
    expect(server.output()).not.toMatch(/^\{"level"/m);
  });
});
