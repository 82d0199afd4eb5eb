/**
 * What an explained batch answer costs per row, in process (no HTTP), with the bundled model and
 * 100-row batches of the parity customers:
 *
 * - TreeSHAP alone (the explainer's batch call, or one call per row where there is none);
 * - the answer: predictions plus their explanations, built as the churn API builds them;
 * - serialising that answer with the route's own serializer: fast-json-stringify over the
 *   BatchPredictionResponse schema and the shared schemas, as Fastify compiles it;
 * - the same answer unexplained, built and serialised, for the ratio.
 *
 *   npx tsx bench/explain-cost.ts
 *   EXPLAIN_BASELINE=/tmp/explain-base npx tsx bench/explain-cost.ts
 *
 * EXPLAIN_BASELINE names another checkout of the service (its src/ is enough, plus a node_modules
 * link: `git archive <commit> src | tar -x -C /tmp/explain-base`), measured in turns with this one
 * in the same process, so before and after share the machine's moment. Medians over the rounds.
 */
import fastJson from 'fast-json-stringify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROWS = 100;
const ROUNDS = Number(process.env.EXPLAIN_ROUNDS ?? 5);
const BUDGET_MS = 250;

/** What the bench needs of a checkout: loosely typed, since a baseline may predate today's API. */
interface Checkout {
  name: string;
  explainRows: (features: Float32Array) => unknown;
  explainAnswers: (predictions: Record<string, unknown>[]) => void;
  predictions: () => Record<string, unknown>[];
  serialize: (body: unknown) => string;
}

async function checkout(name: string, root: string): Promise<Checkout> {
  const load = (path: string) => import(pathToFileURL(join(root, path)).href);
  const { loadChurnModel } = await load('src/data-plane/churn-model.ts');
  const { packRows } = await load('src/data-plane/feature-rows.ts');
  const explanations = await load('src/churn-api/explanations.ts');
  const { toPrediction } = await load('src/churn-api/prediction-mapping.ts');
  const { SHARED_SCHEMAS } = await load('src/schemas/shared-schemas.ts');
  const model = await loadChurnModel(join(ROOT, 'models/churn_model.onnx'), { intraOpThreads: 1 });
  const explainer = model.explainer;
  const features: Float32Array = packRows(CUSTOMERS);
  const { churn } = await model.predict(features, ROWS);
  const scores = CUSTOMERS.map((_, row) => ({ probability: churn[row], model, row }));
  const thresholds = { prediction: 0.5, highRisk: 0.7, mediumRisk: 0.4 };
  const externals = Object.fromEntries((SHARED_SCHEMAS as { $id: string }[]).map((schema) => [schema.$id, schema])) as Parameters<typeof fastJson>[1] & object;
  return {
    name,
    explainRows: explainer.explainRows
      ? (rows) => explainer.explainRows(rows, ROWS)
      : (rows) => {
          for (let row = 0; row < ROWS; row += 1) explainer.explain(rows.subarray(row * 5, row * 5 + 5));
        },
    predictions: () => scores.map((score, row) => toPrediction(score, CUSTOMERS[row]!, thresholds)),
    explainAnswers: explanations.explainScores
      ? (predictions) => {
          const explained = explanations.explainScores(scores, CUSTOMERS);
          for (let row = 0; row < ROWS; row += 1) predictions[row]!.explanation = explained[row];
        }
      : (predictions) => {
          for (let row = 0; row < ROWS; row += 1) predictions[row]!.explanation = explanations.explain(scores[row], CUSTOMERS[row]);
        },
    serialize: fastJson({ $ref: 'BatchPredictionResponse' }, { schema: externals as Record<string, never> }) as (body: unknown) => string,
  };
}

const parity = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/parity.json'), 'utf8')) as { feature_names: string[]; rows: { features: number[] }[] };
const CUSTOMERS = parity.rows.slice(0, ROWS).map((row, index) => ({
  customer_id: `bench-${index}`,
  ...Object.fromEntries(parity.feature_names.map((name, column) => [name, row.features[column]!])),
})) as unknown as (Record<string, number> & { customer_id: string })[];

/** The customers as the model reads them (the bundled model's column order). */
const FEATURES = Float32Array.from(CUSTOMERS.flatMap((customer) => parity.feature_names.map((name) => customer[name]!)));

/** µs per row of `work` (one 100-row batch per call), run for about BUDGET_MS after a warm-up. */
function perRow(work: () => unknown): number {
  for (let warm = 0; warm < 100; warm += 1) work();
  let calls = 0;
  const started = performance.now();
  while (performance.now() - started < BUDGET_MS) {
    work();
    calls += 1;
  }
  return ((performance.now() - started) * 1000) / calls / ROWS;
}

const answer = (built: Checkout, explain: boolean) => () => {
  const predictions = built.predictions();
  if (explain) built.explainAnswers(predictions);
  return built.serialize({ predictions, batch_size: ROWS, latency_ms: 0.17 });
};

const checkouts = [await checkout('this checkout', ROOT)];
if (process.env.EXPLAIN_BASELINE) checkouts.unshift(await checkout(`baseline (${process.env.EXPLAIN_BASELINE})`, process.env.EXPLAIN_BASELINE));

const measures = {
  'TreeSHAP': (built: Checkout) => () => built.explainRows(FEATURES),
  'build the explained predictions (incl. TreeSHAP)': (built: Checkout) => () => built.explainAnswers(built.predictions()),
  'serialise a built explained answer': (built: Checkout) => {
    const predictions = built.predictions();
    built.explainAnswers(predictions);
    const body = { predictions, batch_size: ROWS, latency_ms: 0.17 };
    return () => built.serialize(body);
  },
  'build + serialise, explained': (built: Checkout) => answer(built, true),
  'build + serialise, unexplained': (built: Checkout) => answer(built, false),
};
const samples = new Map<string, number[]>();
for (let round = 0; round < ROUNDS; round += 1) {
  for (const built of checkouts) {
    for (const [measure, work] of Object.entries(measures)) {
      const key = `${built.name}\u0000${measure}`;
      samples.set(key, [...(samples.get(key) ?? []), perRow(work(built))]);
    }
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const bytes = answer(checkouts.at(-1)!, true)().length;
console.log(`Node ${process.version}, ${ROWS}-row batches, ${ROUNDS} rounds of ${BUDGET_MS} ms per measure; the explained answer is ${bytes} bytes (${(bytes / ROWS).toFixed(0)} per row).\n`);
console.log(`| µs per row (median of ${ROUNDS}) | ${checkouts.map((built) => built.name).join(' | ')} |`);
console.log(`|---|${checkouts.map(() => '---').join('|')}|`);
for (const measure of Object.keys(measures)) {
  console.log(`| ${measure} | ${checkouts.map((built) => median(samples.get(`${built.name}\u0000${measure}`)!).toFixed(2)).join(' | ')} |`);
}
const ratio = (built: Checkout) =>
  median(samples.get(`${built.name}\u0000build + serialise, explained`)!) / median(samples.get(`${built.name}\u0000build + serialise, unexplained`)!);
console.log(`| explained ÷ unexplained answer | ${checkouts.map((built) => `${ratio(built).toFixed(1)}x`).join(' | ')} |`);
