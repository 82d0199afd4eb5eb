import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_BATCH_REQUEST, EXAMPLE_CUSTOMER, EXAMPLE_INFER_REQUEST } from '../../src/schemas/examples.js';
import { freePort, startServer, waitUntilHealthy, type ServerProcess } from '../e2e/server-process.js';

/**
 * The benchmark's floors must keep starting and answering every body the benchmark sends them:
 * a floor that breaks (a schema it no longer registers, say) would only show up in a benchmark run.
 */
const floors = { 'bare floor': 'bench/bare-floor-server.ts', 'service floor': 'bench/floor-server.ts' };
const servers: Record<string, ServerProcess> = {};

beforeAll(async () => {
  for (const [name, file] of Object.entries(floors)) {
    servers[name] = startServer({ LOG_LEVEL: 'warn' }, await freePort(), ['--import', 'tsx', fileURLToPath(new URL(`../../${file}`, import.meta.url))]);
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

  it('the bare floor answers an Open Inference Protocol infer with outputs of the request\'s shape', async () => {
    const response = await post(servers['bare floor']!, '/v2/models/churn/infer', EXAMPLE_INFER_REQUEST);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { outputs: { shape: number[]; data: number[] }[] };
    expect(body.outputs.map((output) => output.shape)).toEqual([[2], [2, 2]]);
    expect(body.outputs[1]!.data).toHaveLength(4);
  });
});
