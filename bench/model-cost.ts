/**
 * Cost of one onnxruntime call by rows (the fastest of several slices), with the bundled model: the numbers behind
 * MICRO_BATCH_MAX_ROWS (a call must not block the event loop for much more than 1 ms); and the
 * cost per row of an exact TreeSHAP explanation beside it.
 */
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config.js';
import { loadChurnModel } from '../src/data-plane/churn-model.js';
import { packRows } from '../src/data-plane/feature-rows.js';
import { FEATURE_COUNT } from '../src/schemas/customer-features.js';
import { EXAMPLE_CUSTOMER } from '../src/schemas/examples.js';
import { MODEL_COST_JSON_PREFIX, type ModelCostRow } from './twin-floor.js';

const config = loadConfig();
const model = await loadChurnModel(config.MODEL_PATH, { intraOpThreads: 1 });
const sizes = [1, 16, 64, 100, 256, 512, 1024];
const timeBudgetMs = 300;

const SLICES = 10;

/**
 * Runs `work` for about the time budget, in slices, and returns the µs per run of the fastest slice:
 * a busy neighbour on the core only ever makes a slice slower, so the fastest is the model's own cost.
 */
async function timed(work: () => unknown): Promise<number> {
  for (let warm = 0; warm < 50; warm += 1) await work();
  let fastest = Number.POSITIVE_INFINITY;
  for (let slice = 0; slice < SLICES; slice += 1) {
    let calls = 0;
    const started = performance.now();
    while (performance.now() - started < timeBudgetMs / SLICES) {
      await work();
      calls += 1;
    }
    fastest = Math.min(fastest, ((performance.now() - started) * 1000) / calls);
  }
  return fastest;
}

const rows: ModelCostRow[] = [];
for (const size of sizes) {
  const customers = Array.from({ length: size }, (_, index) => ({ ...EXAMPLE_CUSTOMER, tenure_months: index % 121, monthly_charges: (index * 7.3) % 500 }));
  const features = packRows(customers);
  const usPerCall = await timed(() => model.predict(features, size));
  const explainer = model.explainer!;
  const explainUs = await timed(() => {
    for (let row = 0; row < size; row += 1) explainer.explain(features.subarray(row * FEATURE_COUNT, (row + 1) * FEATURE_COUNT));
  });
  rows.push({ rows: size, usPerCall, usPerRow: usPerCall / size, explainUsPerRow: explainUs / size });
}
await model.close();

const single = rows[0]!.usPerCall;
console.log('| rows per call | µs per call | µs per row | call ÷ 1-row call | TreeSHAP µs per row | TreeSHAP ÷ model, per row |');
console.log('|---|---|---|---|---|---|');
for (const row of rows) {
  console.log(
    `| ${row.rows} | ${row.usPerCall.toFixed(0)} | ${row.usPerRow.toFixed(2)} | ${(row.usPerCall / single).toFixed(1)}x | ${row.explainUsPerRow.toFixed(2)} | ${(row.explainUsPerRow / row.usPerRow).toFixed(2)}x |`,
  );
}
// One line for bench/run.ts: the twin floor's busy waits come from this run's own measurement.
console.log(`${MODEL_COST_JSON_PREFIX}${JSON.stringify(rows)}`);
console.log(`\nMICRO_BATCH_MAX_ROWS is ${config.MICRO_BATCH_MAX_ROWS}: a full coalesced run blocks the event loop about ${(
  (rows.find((row) => row.rows === 256)?.usPerCall ?? Number.NaN) / 1000
).toFixed(2)} ms (256 rows).`);
