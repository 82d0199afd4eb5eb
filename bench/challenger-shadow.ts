/**
 * What a shadow challenger costs the champion's callers, in process (no HTTP): 32 callers send
 * single-row predictions back to back through one data plane with the bundled model, with no
 * challenger, then with a challenger in shadow at share 1 (every row scored twice) and 0.1, then with a
 * 1-row shadow queue (almost every shadow row dropped: the floor of the bookkeeping). Reports each
 * caller-side latency's p50 and p99, the answers per second, and the shadow rows scored and dropped.
 *
 *   npx tsx bench/challenger-shadow.ts        CHALLENGER_BENCH_SECONDS=5
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { churnModelLoader } from '../src/data-plane/churn-model.js';
import { DataPlane } from '../src/data-plane/data-plane.js';
import { BUNDLED_MODEL, writeModelVersion } from '../test/data-plane/model-fixtures.js';

const SECONDS = Number(process.env.CHALLENGER_BENCH_SECONDS ?? 5);
const CALLERS = 32;
const ROW = { tenure_months: 2, monthly_charges: 70.7, total_charges: 151.65, num_products: 2, has_support_calls: 0 };

async function measure(label: string, challenger: string | undefined, shadowQueueRows: number, share = 1) {
  let shadowScored = 0;
  let shadowDropped = 0;
  const plane = new DataPlane({
    modelName: 'churn',
    loader: churnModelLoader({ intraOpThreads: 1 }),
    microBatching: { enabled: true, maxRows: 256, maxDelayMs: 0, multiRow: false },
    shadowQueueRows,
    observers: [{ shadowScored: ({ rows }) => void (shadowScored += rows.length), shadowDropped: (rows) => void (shadowDropped += rows) }],
  });
  await plane.loadModel(BUNDLED_MODEL);
  if (challenger) await plane.loadChallenger(challenger, { mode: 'shadow', share });
  const latencies: number[] = [];
  const until = performance.now() + SECONDS * 1000;
  let id = 0;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (performance.now() < until) {
        const started = performance.now();
        const customerId = `c-${(id += 1)}`;
        await plane.predict({ rows: [ROW], protocol: 'bench', customerIds: [customerId] });
        latencies.push(performance.now() - started);
        // A turn of the event loop between calls, as HTTP gives.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }),
  );
  await plane.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(3);
  console.log(`${label.padEnd(34)} answers/s ${(latencies.length / SECONDS).toFixed(0).padStart(7)}  p50 ${at(0.5)} ms  p99 ${at(0.99)} ms  shadow scored ${shadowScored}  dropped ${shadowDropped}`);
}

const directory = mkdtempSync(join(tmpdir(), 'challenger-bench-'));
try {
  const challenger = join(directory, 'challenger', 'churn_model.onnx');
  writeModelVersion(challenger, '9.9.9');
  await measure('champion alone', undefined, 10_000);
  await measure('shadow challenger, share 1', challenger, 10_000);
  await measure('shadow challenger, share 0.1', challenger, 10_000, 0.1);
  await measure('shadow challenger, queue of 1 row', challenger, 1);
  await measure('champion alone (again)', undefined, 10_000);
} finally {
  rmSync(directory, { recursive: true, force: true });
}
