/**
 * Cost of one onnxruntime call by rows, with the bundled model: the numbers behind
 * MICRO_BATCH_MAX_ROWS (a call must not block the event loop for much more than 1 ms).
 */
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config.js';
import { ChurnModel } from '../src/data-plane/churn-model.js';
import { packRows } from '../src/data-plane/feature-rows.js';
import { EXAMPLE_CUSTOMER } from '../src/schemas/customer-features.js';

const config = loadConfig();
const model = await ChurnModel.load(config.MODEL_PATH, { intraOpThreads: 1 });
const sizes = [1, 16, 64, 100, 256, 512, 1024];
const timeBudgetMs = 300;

const rows: { rows: number; usPerCall: number; usPerRow: number }[] = [];
for (const size of sizes) {
  const features = packRows(Array.from({ length: size }, (_, index) => ({ ...EXAMPLE_CUSTOMER, tenure_months: index % 121 })));
  for (let warm = 0; warm < 50; warm += 1) await model.predictProbabilities(features, size);
  let calls = 0;
  const started = performance.now();
  while (performance.now() - started < timeBudgetMs) {
    await model.predictProbabilities(features, size);
    calls += 1;
  }
  const usPerCall = ((performance.now() - started) * 1000) / calls;
  rows.push({ rows: size, usPerCall, usPerRow: usPerCall / size });
}
await model.close();

const single = rows[0]!.usPerCall;
console.log('| rows per call | us per call | us per row | call ÷ 1-row call |');
console.log('|---|---|---|---|');
for (const row of rows) {
  console.log(`| ${row.rows} | ${row.usPerCall.toFixed(0)} | ${row.usPerRow.toFixed(2)} | ${(row.usPerCall / single).toFixed(1)}x |`);
}
console.log(`\nMICRO_BATCH_MAX_ROWS is ${config.MICRO_BATCH_MAX_ROWS}: a full coalesced run blocks the event loop about ${(
  (rows.find((row) => row.rows === 256)?.usPerCall ?? Number.NaN) / 1000
).toFixed(2)} ms (256 rows).`);
