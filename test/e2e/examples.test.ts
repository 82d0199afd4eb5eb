import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startServer, waitUntilHealthy, type ServerProcess } from './server-process.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const API_KEY = 'examples-key-0123456789';
const ADMIN_TOKEN = 'examples-admin-0123456789';
/** CI sets this: there a missing tool is a failure, not a skip. */
const REQUIRE_TOOLS = process.env.REQUIRE_TEST_TOOLS === '1';

/** The first Python with `requests`: the one on PATH, or Debian's (python3-requests). */
const python = ['python3', '/usr/bin/python3'].find((command) => {
  try {
    execFileSync(command, ['-c', 'import requests'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});

let server: ServerProcess;
beforeAll(async () => {
  server = startServer({ API_KEYS: API_KEY, ADMIN_TOKEN }, await freePort());
  await waitUntilHealthy(server);
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

describe('the examples, against the real server', () => {
  it('curl.sh calls every route and gets the answers it expects', async () => {
    const { stdout } = await run('bash', ['examples/curl.sh'], { cwd: ROOT, env: { PATH: process.env.PATH, BASE_URL: server.baseUrl, API_KEY, ADMIN_TOKEN } });
    for (const route of ['GET /health/live -> 200', 'GET /health/ready -> 200', 'POST /predict -> 200', 'POST /predict/batch -> 200', 'POST /predict -> 422', 'GET /model -> 200', 'GET /monitoring/drift -> 200', 'GET /v2 -> 200', 'GET /v2/health/ready -> 200', 'GET /v2/models/churn -> 200', 'GET /v2/models/churn/ready -> 200', 'POST /v2/models/churn/infer -> 200', 'POST /v2/models/churn/versions/1.2.0/infer -> 200', 'POST /v2/models/churn/infer -> 400', 'GET /metrics -> 200', 'GET /openapi.json -> 200', 'POST /admin/reload -> 200']) {
      expect(stdout).toContain(route);
    }
    expect(stdout).toContain('All calls answered as expected.');
  });

  it('curl.sh stops with an error when a call is refused', async () => {
    await expect(run('bash', ['examples/curl.sh'], { cwd: ROOT, env: { PATH: process.env.PATH, BASE_URL: server.baseUrl } })).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('expected 200') });
  });

  it('the TypeScript client predicts with the types this package exports', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/typescript-client.ts', server.baseUrl, API_KEY], { cwd: ROOT });
    expect(stdout).toBe('9237-HQITU: 63.4 % churn risk, MEDIUM (model 1.2.0)\n9237-HQITU: MEDIUM\n7795-CFOCW: LOW\nrejected as expected: tenure_months must be less than or equal to 120.\n');
  });

  it.skipIf(!REQUIRE_TOOLS && python === undefined)('the Python client predicts with requests', async () => {
    const { stdout } = await run(python ?? 'python3', ['examples/python_client.py', server.baseUrl, API_KEY], { cwd: ROOT });
    expect(stdout).toBe('9237-HQITU: 63.4 % churn risk, MEDIUM (model 1.2.0)\n9237-HQITU: MEDIUM\n7795-CFOCW: LOW\nrejected as expected: tenure_months must be less than or equal to 120.\n');
  });

  it.skipIf(!REQUIRE_TOOLS && python === undefined)('the Python Open Inference Protocol client reads the metadata and infers', async () => {
    const { stdout } = await run(python ?? 'python3', ['examples/open_inference_client.py', server.baseUrl, API_KEY], { cwd: ROOT });
    expect(stdout).toBe(
      'churn 1.2.0 on onnx_onnxv1\nP(churn) = 0.6338\nP(churn) = 0.0705\n' +
        "rejected as expected: 400: Input values are outside the model's feature ranges: row 0, column 0 (tenure_months) must be at most 120, got 999.\n",
    );
  });
});
