/**
 * How well the paired DeLong interval of GET /monitoring/comparison keeps its word on few labeled
 * rows: two models with the same true ROC AUC (two equally noisy views of one latent risk), m
 * churners and m stayers; the share of runs whose 95 % interval excludes 0 should be 5 %. Also the
 * same for one model's interval (does it cover the true AUC?). The figures behind
 * MIN_LABELED_PER_CLASS (src/monitoring/comparison.ts); docs/monitoring.md quotes them.
 *
 *   npx tsx bench/comparison-coverage.ts
 *   COVERAGE_RUNS=4000
 */
import { pairedAucDifference } from '../src/monitoring/comparison.js';
import { rocAucDeLong } from '../src/monitoring/roc-auc.js';

const RUNS = Number(process.env.COVERAGE_RUNS ?? 4000);

function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const random = generator(20261202);
const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
/** A score from a latent value: the logistic of it plus noise, rounded to 1e-3 (ties occur, as in float32 trees). */
const score = (latent: number, noise = 0.7) => Math.round(1000 / (1 + Math.exp(-(latent + noise * normal())))) / 1000;
/** A better challenger: less noise on the same latent risk. */
const SHARPER = 0.4;

// The true AUC of one model: a large sample.
const SEPARATION = 1.2;
const big = 20_000;
const bigLatent = Array.from({ length: 2 * big }, (_, i) => (i < big ? SEPARATION : 0) + normal());
const bigChurned = bigLatent.map((_, i) => i < big);
const trueAuc = rocAucDeLong(bigLatent.map((x) => score(x)), bigChurned)!.value;
const sharperAuc = rocAucDeLong(bigLatent.map((x) => score(x, SHARPER)), bigChurned)!.value;

console.log(`true AUC of each model ≈ ${trueAuc.toFixed(3)}, of the sharper challenger ≈ ${sharperAuc.toFixed(3)}; ${RUNS} runs per size`);
console.log('per class | paired, equal models: interval excludes 0 (nominal 5 %) | single: interval misses the true AUC (nominal 5 %) | sharper challenger found better (power)');
for (const m of [5, 10, 20, 30, 50, 100, 300]) {
  let falseAlarms = 0;
  let misses = 0;
  let runs = 0;
  let found = 0;
  for (let run = 0; run < RUNS; run += 1) {
    const latent = Array.from({ length: 2 * m }, (_, i) => (i < m ? SEPARATION : 0) + normal());
    const churned = latent.map((_, i) => i < m);
    const a = latent.map((x) => score(x));
    const b = latent.map((x) => score(x));
    const sharper = pairedAucDifference(a, latent.map((x) => score(x, SHARPER)), churned);
    if (sharper?.ci_low !== null && sharper?.ci_low !== undefined && sharper.ci_low > 0) found += 1;
    const difference = pairedAucDifference(a, b, churned);
    const single = rocAucDeLong(a, churned);
    if (!difference || difference.ci_low === null || !single || single.ci_low === null) continue;
    runs += 1;
    if (difference.ci_low > 0 || difference.ci_high! < 0) falseAlarms += 1;
    if (trueAuc < single.ci_low || trueAuc > single.ci_high!) misses += 1;
  }
  console.log(`${String(m).padStart(9)} | ${((100 * falseAlarms) / runs).toFixed(1).padStart(5)} % | ${((100 * misses) / runs).toFixed(1).padStart(5)} % | ${((100 * found) / RUNS).toFixed(1).padStart(5)} %`);
}
