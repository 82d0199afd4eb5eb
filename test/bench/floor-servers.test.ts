import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_BATCH_REQUEST, EXAMPLE_CUSTOMER, EXAMPLE_INFER_REQUEST } from '../../src/schemas/examples.js';
import { TWIN_FLOOR_ELAPSED_HEADER, TWIN_FLOOR_HEADER } from '../../bench/twin-floor.js';
import { freePort, startServer, waitUntilHealthy, type ServerProcess } from '../e2e/server-process.js';

/**
 * The benchmark's floors must keep starting and answering every body the benchmark sends them:
 * a floor that breaks (a schema it no longer registers, say) would only show up in a benchmark run.
 */
/** Large enough that a request without its busy wait could never take as long. */
const TWIN_COST = { callUs: { '1': 3000, '100': 20_000 }, explainRowUs: 2000 };
const floors: Record<string, { file: string; env?: Record<string, string> }> = {
  'bare floor': { file: 'bench/bare-floor-server.ts' },
  'twin floor': { file: 'bench/bare-floor-server.ts', env: { TWIN_FLOOR_COST: JSON.stringify(TWIN_COST) } },
  'service floor': { file: 'bench/floor-server.ts' },
};
const servers: Record<string, ServerProcess> = {};

beforeAll(async () => {
  for (const [name, { file, env }] of Object.entries(floors)) {
    servers[name] = startServer({ LOG_LEVEL: 'warn', ...env }, await freePort(), ['--import', 'tsx', fileURLToPath(new URL(`../../${file}`, import.meta.url))]);
  }
  await Promise.all(Object.values(servers).map((server) => waitUntilHealthy(server, 30_000)));
}, 40_000);
afterAll(async () => {
  await Promise.all(Object.values(servers).map((server) => server.stop()));
});

const post = (server: ServerProcess, path: string, body: unknown) =>
  fetch(`${server.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('the benchmark floors', () => {
  it.each(Object.keys(floors))('%s answers the churn API\'s bodies with a constant', async (name) => {
    const server = servers[name]!;
    const single = await post(server, '/predict?explain=true', EXAMPLE_CUSTOMER);
    expect(single.status).toBe(200);
    expect(await single.json()).toMatchObject({ churn_probability: 0.5, model_version: 'floor' });
    const batch = await post(server, '/predict/batch', EXAMPLE_BATCH_REQUEST);
    expect(batch.status).toBe(200);
    expect(await batch.json()).toMatchObject({ batch_size: 2 });
  });

  it.each(['bare floor', 'twin floor'])('the %s answers an Open Inference Protocol infer with outputs of the request\'s shape', async (name) => {
    const response = await post(servers[name]!, '/v2/models/churn/infer', EXAMPLE_INFER_REQUEST);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { outputs: { shape: number[]; data: number[] }[] };
    expect(body.outputs.map((output) => output.shape)).toEqual([[2], [2, 2]]);
    expect(body.outputs[1]!.data).toHaveLength(4);
  });

  // One header says the µs the wait was asked for (the cost of the request's rows, explanations
  // included), the other the µs it really held the thread, measured around it: a spin always lasts
  // at least its target, so a floor that skipped the wait shows, however slow the machine.
  it.each([
    ['/predict', EXAMPLE_CUSTOMER, 3000],
    ['/predict?explain=true', EXAMPLE_CUSTOMER, 3000 + 2000],
    // 2 rows: the nearest measured call (1 row) per row, times 2.
    ['/predict/batch', EXAMPLE_BATCH_REQUEST, 6000],
    ['/predict/batch?explain=true', EXAMPLE_BATCH_REQUEST, 6000 + 2 * 2000],
    ['/v2/models/churn/infer', EXAMPLE_INFER_REQUEST, 6000],
  ] as const)('the twin floor holds the thread on %s for the model cost of its rows', async (path, body, expectedUs) => {
    const response = await post(servers['twin floor']!, path, body);
    expect(response.status).toBe(200);
    expect(Number(response.headers.get(TWIN_FLOOR_HEADER))).toBe(expectedUs);
    expect(Number(response.headers.get(TWIN_FLOOR_ELAPSED_HEADER))).toBeGreaterThanOrEqual(expectedUs);
  });

  it('the bare floor does not busy-wait', async () => {
    const response = await post(servers['bare floor']!, '/predict/batch', EXAMPLE_BATCH_REQUEST);
    expect(response.headers.get(TWIN_FLOOR_HEADER)).toBeNull();
    expect(response.headers.get(TWIN_FLOOR_ELAPSED_HEADER)).toBeNull();
  });
});
