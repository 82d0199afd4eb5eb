/**
 * The twin floor's model cost: the bare floor plus a synchronous busy wait per request as long as
 * the model's work for that request, measured by bench/model-cost.ts in the same benchmark run. It
 * prices what a service that did nothing but parse, validate, run the model and serialise could
 * reach, so the service's ratio to it shows its own overhead, not the model's.
 *
 * TWIN_FLOOR_COST (JSON) turns it on:
 *   callUs:        µs of one model call by rows, e.g. {"1": 4.1, "100": 170} (for a single-row
 *                  request, the bench gives the amortised per-row cost of a micro-batched call);
 *                  another row count costs the nearest entry's µs per row times its rows
 *   explainRowUs:  µs per row added when the request asks for explanations (TreeSHAP)
 */
/** bench/model-cost.ts prints its table once more as JSON on a line with this prefix, for bench/run.ts. */
export const MODEL_COST_JSON_PREFIX = 'model cost json: ';

/** One row of bench/model-cost.ts's table. */
export interface ModelCostRow {
  rows: number;
  usPerCall: number;
  usPerRow: number;
  explainUsPerRow: number;
}

export interface TwinFloorCost {
  callUs: Record<string, number>;
  explainRowUs: number;
}

/** Response headers for the floor tests: the µs the busy wait was asked for, and the µs it held the thread. */
export const TWIN_FLOOR_HEADER = 'x-twin-floor-model-us';
export const TWIN_FLOOR_ELAPSED_HEADER = 'x-twin-floor-busy-us';

export function parseTwinFloorCost(text: string | undefined): TwinFloorCost | undefined {
  if (text === undefined || text === '') return undefined;
  const cost = JSON.parse(text) as TwinFloorCost;
  const entries = Object.entries(cost.callUs ?? {});
  if (entries.length === 0 || entries.some(([rows, us]) => !(Number(rows) >= 1) || !(us >= 0)) || !(cost.explainRowUs >= 0)) {
    throw new Error(`TWIN_FLOOR_COST needs callUs {rows: µs} with rows >= 1 and explainRowUs >= 0, got ${text}`);
  }
  return cost;
}

/** µs of model work for a request of `rows` rows, with or without explanations. */
export function modelCostUs(cost: TwinFloorCost, rows: number, explain: boolean): number {
  const exact = cost.callUs[String(rows)];
  const call =
    exact ??
    (() => {
      const [nearest, us] = Object.entries(cost.callUs).reduce((best, entry) => (Math.abs(Number(entry[0]) - rows) < Math.abs(Number(best[0]) - rows) ? entry : best));
      return (us / Number(nearest)) * rows;
    })();
  return call + (explain ? cost.explainRowUs * rows : 0);
}

/**
 * Holds the thread for `us` µs of the clock (at least), as a synchronous onnxruntime call does;
 * answers the µs it took. The clock, not CPU time: Linux reports a thread's CPU time in scheduler
 * ticks (milliseconds), far coarser than a single row's few µs.
 */
export function busyWait(us: number): number {
  const started = performance.now();
  const until = started + us / 1000;
  let now = started;
  while (now < until) now = performance.now();
  return (now - started) * 1000;
}
