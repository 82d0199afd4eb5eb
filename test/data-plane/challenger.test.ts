import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inChallengerShare } from '../../src/data-plane/challenger-routing.js';
import { DataPlane, type DataPlaneObserver, type ScoredRun, type ServedPredictions, type ShadowPredictions } from '../../src/data-plane/data-plane.js';
import { ModelLoadError, NoChallengerError, NotTheChallengerError } from '../../src/errors.js';
import { spiedChurnModels, VALID_CUSTOMER } from '../helpers.js';
import { LINEAR_MODEL, versionedModels, type VersionedModels } from './model-fixtures.js';

let trees: VersionedModels;
let linear: VersionedModels;
let CHAMPION: string, TWIN: string, CHALLENGER: string;
beforeAll(() => {
  trees = versionedModels(['3.0.0']);
  linear = versionedModels(['3.1.0', '3.0.0'], LINEAR_MODEL);
  CHAMPION = trees.paths[0]!;
  [CHALLENGER, TWIN] = linear.paths as [string, string];
});
afterAll(() => {
  trees?.remove();
  linear?.remove();
});

/** Every event of a plane, as its observers hear them. */
function recorder() {
  const served: ServedPredictions[] = [];
  const shadows: ShadowPredictions[] = [];
  const runs: ScoredRun[] = [];
  const dropped: number[] = [];
  const observer: DataPlaneObserver = {
    predictionsServed: (event) => served.push(event),
    shadowScored: (event) => shadows.push(event),
    rowsScored: (run) => runs.push(run),
    shadowDropped: (rows) => dropped.push(rows),
  };
  return { observer, served, shadows, runs, dropped };
}

function plane(observer?: DataPlaneObserver, shadowQueueRows = 10_000) {
  return new DataPlane({
    modelName: 'churn',
    loader: spiedChurnModels({ intraOpThreads: 1, allowMissingCard: true }).loader,
    microBatching: { enabled: true, maxRows: 64, maxDelayMs: 0, multiRow: false },
    shadowQueueRows,
    ...(observer ? { observers: [observer] } : {}),
  });
}

const customers = (count: number) => Array.from({ length: count }, (_, index) => ({ ...VALID_CUSTOMER, tenure_months: index % 72, customer_id: `C-${index}` }));
const request = (rows: ReturnType<typeof customers>, canarySplit?: 'row' | 'request') => ({
  rows,
  protocol: 'churn',
  requestId: 'req-1',
  customerIds: rows.map((row) => row.customer_id),
  ...(canarySplit ? { canarySplit } : {}),
});
/** Resolves once the shadow queue has been scored. */
const settled = async (dataPlane: DataPlane) => {
  for (let turn = 0; turn < 1000 && dataPlane.shadowQueueDepth > 0; turn += 1) await new Promise((resolve) => setTimeout(resolve, 5));
  await new Promise((resolve) => setTimeout(resolve, 20));
};

describe('inChallengerShare', () => {
  it('is sticky by customer id, takes about the share, and draws without an id', () => {
    const ids = Array.from({ length: 10_000 }, (_, index) => `customer-${index}`);
    const taken = ids.filter((id) => inChallengerShare(id, 0.1)).length;
    expect(taken).toBeGreaterThan(900);
    expect(taken).toBeLessThan(1100);
    for (const id of ids.slice(0, 100)) expect(inChallengerShare(id, 0.1)).toBe(inChallengerShare(id, 0.1));
    // A larger share only adds customers.
    for (const id of ids) if (inChallengerShare(id, 0.1)) expect(inChallengerShare(id, 0.2)).toBe(true);
    expect(inChallengerShare(undefined, 0.5, () => 0.49)).toBe(true);
    expect(inChallengerShare(undefined, 0.5, () => 0.5)).toBe(false);
    expect(inChallengerShare('x', 0)).toBe(false);
    expect(inChallengerShare('x', 1)).toBe(true);
  });
});

describe('a challenger in shadow', () => {
  it('answers exactly what the champion alone answers, and scores every row again after the answer with the same row keys', async () => {
    const alone = plane();
    await alone.loadModel(CHAMPION);
    const events = recorder();
    const shadowed = plane(events.observer);
    await shadowed.loadModel(CHAMPION);
    await shadowed.loadChallenger(CHALLENGER, { mode: 'shadow', share: 1 });
    const rows = customers(30);
    const expected = await alone.predict(request(rows));
    const answered = await shadowed.predict(request(rows));
    // Nothing was scored in shadow before the answer.
    expect(events.shadows).toHaveLength(0);
    expect(answered.scores.map((score) => [score.probability, score.model.version, score.role])).toEqual(expected.scores.map((score) => [score.probability, score.model.version, 'champion']));
    await settled(shadowed);
    const shadowRows = events.shadows.flatMap((shadow) => shadow.rowKeys);
    expect(shadowRows).toEqual(events.served[0]!.rowKeys);
    expect(new Set(events.served[0]!.rowKeys).size).toBe(30);
    expect(events.shadows.every((shadow) => shadow.role === 'challenger' && shadow.model.version === '3.1.0')).toBe(true);
    expect(events.shadows[0]!.customerIds).toEqual(rows.map((row) => row.customer_id));
    // The queue keeps the five features of a row, not the caller's whole object (customer_id and all).
    expect(events.shadows[0]!.rows.map((row) => Object.keys(row).sort())).toEqual(rows.map(() => ['has_support_calls', 'monthly_charges', 'num_products', 'tenure_months', 'total_charges']));
    // The challenger's scores are its own (a different model), in its own run, never served.
    expect(events.shadows[0]!.scores[0]!.probability).not.toBe(answered.scores[0]!.probability);
    expect(events.runs.filter((run) => !run.served).map((run) => run.role)).toEqual(['challenger']);
    await Promise.all([alone.close(), shadowed.close()]);
  });

  it('bounds the shadow queue: overflow is dropped and counted, the answers are the same', async () => {
    const events = recorder();
    const dataPlane = plane(events.observer, 10);
    await dataPlane.loadModel(CHAMPION);
    await dataPlane.loadChallenger(CHALLENGER, { mode: 'shadow', share: 1 });
    const answered = await dataPlane.predict(request(customers(25)));
    expect(answered.scores.every((score) => score.model.version === '3.0.0')).toBe(true);
    expect(events.dropped).toEqual([15]);
    await settled(dataPlane);
    expect(events.shadows.flatMap((shadow) => shadow.rowKeys)).toEqual(events.served[0]!.rowKeys.slice(0, 10));
    await dataPlane.close();
  });

  it('scores what is queued on drainShadow at once, and queues no more rows after it (dropped as closing)', async () => {
    const dropped: [number, string][] = [];
    const events = recorder();
    const dataPlane = plane({ ...events.observer, shadowDropped: (rows, reason) => dropped.push([rows, reason]) });
    await dataPlane.loadModel(CHAMPION);
    await dataPlane.loadChallenger(CHALLENGER, { mode: 'shadow', share: 1 });
    await dataPlane.predict(request(customers(4)));
    await dataPlane.drainShadow();
    expect(events.shadows.flatMap((shadow) => shadow.rowKeys)).toEqual(events.served[0]!.rowKeys);
    // A prediction still finishing while the log drains is answered, its shadow rows are not queued.
    await dataPlane.predict(request(customers(3)));
    expect(dataPlane.shadowQueueDepth).toBe(0);
    await dataPlane.close();
    expect(dropped).toEqual([[3, 'closing']]);
    expect(events.shadows).toHaveLength(1);
  });

  it('scores only its share, by customer', async () => {
    const events = recorder();
    const dataPlane = plane(events.observer);
    await dataPlane.loadModel(CHAMPION);
    await dataPlane.loadChallenger(CHALLENGER, { mode: 'shadow', share: 0.3 });
    const rows = customers(200);
    await dataPlane.predict(request(rows));
    await settled(dataPlane);
    const shadowIds = events.shadows.flatMap((shadow) => shadow.customerIds);
    expect(shadowIds).toEqual(rows.map((row) => row.customer_id).filter((id) => inChallengerShare(id, 0.3)));
    await dataPlane.close();
  });
});

describe('a canary', () => {
  it('answers about half of 1,000 customers at 0.5, each always by the same model, and the champion scores the canary rows after the answer', async () => {
    const events = recorder();
    const dataPlane = plane(events.observer);
    await dataPlane.loadModel(CHAMPION);
    await dataPlane.loadChallenger(CHALLENGER, { mode: 'canary', share: 0.5 });
    const rows = customers(1000);
    const first = new Map<string, string>();
    for (let start = 0; start < 1000; start += 100) {
      const { scores } = await dataPlane.predict(request(rows.slice(start, start + 100)));
      scores.forEach((score, index) => first.set(rows[start + index]!.customer_id, score.model.version));
    }
    const canary = [...first.values()].filter((version) => version === '3.1.0').length;
    expect(canary).toBeGreaterThan(430);
    expect(canary).toBeLessThan(570);
    // The same customers again, one at a time: each gets the model it got before.
    for (const row of rows.slice(0, 50)) {
      const { scores } = await dataPlane.predict(request([row]));
      expect(scores[0]!.model.version).toBe(first.get(row.customer_id));
      expect(scores[0]!.role).toBe(scores[0]!.model.version === '3.1.0' ? 'challenger' : 'champion');
    }
    await settled(dataPlane);
    // Exactly the canary's rows were scored again, by the champion, under the served rows' keys.
    const canaryKeys = events.served.flatMap((served) => served.rowKeys.filter((_, index) => served.scores[index]!.role === 'challenger'));
    expect(events.shadows.flatMap((shadow) => shadow.rowKeys).sort()).toEqual(canaryKeys.sort());
    expect(events.shadows.every((shadow) => shadow.role === 'champion')).toBe(true);
    await dataPlane.close();
  });

  it('keeps a request on one model when the protocol asks so (canarySplit: request)', async () => {
    const dataPlane = plane();
    await dataPlane.loadModel(CHAMPION);
    await dataPlane.loadChallenger(CHALLENGER, { mode: 'canary', share: 0.5 });
    const rows = customers(40);
    const split = await dataPlane.predict(request(rows));
    expect(new Set(split.scores.map((score) => score.model.version)).size).toBe(2);
    const whole = await dataPlane.predict(request(rows, 'request'));
    expect(new Set(whole.scores.map((score) => score.model.version))).toEqual(new Set([inChallengerShare(rows[0]!.customer_id, 0.5) ? '3.1.0' : '3.0.0']));
    expect(whole.model.version).toBe(whole.scores[0]!.model.version);
    await dataPlane.close();
  });

  it('routes the rows without a customer id by one draw per request', async () => {
    const dataPlane = plane();
    await dataPlane.loadModel(CHAMPION);
    await dataPlane.loadChallenger(CHALLENGER, { mode: 'canary', share: 0.5 });
    const anonymous = customers(20).map(({ customer_id: _, ...row }) => row);
    const seen = new Set<string>();
    for (let call = 0; call < 40; call += 1) {
      const { scores } = await dataPlane.predict({ rows: anonymous, protocol: 'churn' });
      expect(new Set(scores.map((score) => score.model.version)).size).toBe(1);
      seen.add(scores[0]!.model.version);
    }
    expect(seen).toEqual(new Set(['3.0.0', '3.1.0']));
    await dataPlane.close();
  });

  it('never answers a request that names a version with the canary', async () => {
    const dataPlane = plane();
    await dataPlane.loadModel(CHAMPION);
    await dataPlane.loadChallenger(CHALLENGER, { mode: 'canary', share: 1 });
    const { scores } = await dataPlane.predict({ ...request(customers(5)), model: { name: 'churn', version: '3.0.0' } });
    expect(scores.every((score) => score.model.version === '3.0.0')).toBe(true);
    await dataPlane.close();
  });
});

describe('loading, dropping and promoting', () => {
  it('refuses the champion\'s own file, its version, and a bad file, and keeps champion and challenger as they were', async () => {
    const dataPlane = plane();
    await dataPlane.loadModel(CHAMPION);
    await expect(dataPlane.loadChallenger(CHAMPION, { mode: 'shadow', share: 1 })).rejects.toThrow(/champion's own file/);
    // The twin has the champion's version on another model's bytes.
    await expect(dataPlane.loadChallenger(TWIN, { mode: 'shadow', share: 1 })).rejects.toThrow(/champion's version/);
    expect(dataPlane.challenger).toBeUndefined();
    await dataPlane.loadChallenger(CHALLENGER, { mode: 'canary', share: 0.2 });
    await expect(dataPlane.loadChallenger('/nonexistent/model.onnx', { mode: 'shadow', share: 1 })).rejects.toBeInstanceOf(ModelLoadError);
    expect(dataPlane.challenger?.version).toBe('3.1.0');
    expect(dataPlane.challengerRouting).toEqual({ mode: 'canary', share: 0.2 });
    expect(dataPlane.model?.version).toBe('3.0.0');
    expect((await dataPlane.predict(request(customers(1)))).scores[0]!.probability).toBeGreaterThan(0);
    await dataPlane.dropChallenger();
    expect(dataPlane.challenger).toBeUndefined();
    await dataPlane.close();
  });

  it('drops the challenger when a reload makes its model the champion', async () => {
    const dataPlane = plane();
    await dataPlane.loadModel(CHAMPION);
    await dataPlane.loadChallenger(CHALLENGER, { mode: 'canary', share: 0.5 });
    await dataPlane.loadModel(CHALLENGER);
    expect(dataPlane.challenger).toBeUndefined();
    expect(dataPlane.model?.version).toBe('3.1.0');
    await dataPlane.close();
  });

  it('promotes the challenger, leaves the old champion as a shadow challenger, and promoting again rolls back', async () => {
    const dataPlane = plane();
    await dataPlane.loadModel(CHAMPION);
    await dataPlane.loadChallenger(CHALLENGER, { mode: 'canary', share: 0.1 });
    const promoted = await dataPlane.promote();
    expect([promoted.champion.version, promoted.challenger.version]).toEqual(['3.1.0', '3.0.0']);
    expect(dataPlane.challengerRouting).toEqual({ mode: 'shadow', share: 0.1 });
    expect((await dataPlane.predict(request(customers(20)))).scores.every((score) => score.model.version === '3.1.0')).toBe(true);
    const rolledBack = await dataPlane.promote();
    expect([rolledBack.champion.version, rolledBack.challenger.version]).toEqual(['3.0.0', '3.1.0']);
    expect(dataPlane.model?.version).toBe('3.0.0');
    await dataPlane.close();
  });

  it('promotes the model a sha256 names once: repeated or concurrent calls never swap back, and a model it holds neither way changes nothing', async () => {
    const dataPlane = plane();
    await dataPlane.loadModel(CHAMPION);
    await dataPlane.loadChallenger(CHALLENGER, { mode: 'shadow', share: 1 });
    const target = dataPlane.challenger!.sha256;
    const [first, second] = await Promise.all([dataPlane.promote(target), dataPlane.promote(target)]);
    expect([first.changed, second.changed]).toEqual([true, false]);
    expect([dataPlane.model?.version, dataPlane.challenger?.version]).toEqual(['3.1.0', '3.0.0']);
    expect(await dataPlane.promote(target)).toMatchObject({ changed: false, champion: { version: '3.1.0' } });
    await expect(dataPlane.promote('0'.repeat(64))).rejects.toThrow(NotTheChallengerError);
    expect([dataPlane.model?.version, dataPlane.challenger?.version]).toEqual(['3.1.0', '3.0.0']);
    // Unnamed, the call swaps: promoting again rolls back.
    expect((await dataPlane.promote()).champion.version).toBe('3.0.0');
    await dataPlane.dropChallenger();
    await expect(dataPlane.promote()).rejects.toThrow(NoChallengerError);
    // The champion named with no challenger left: nothing to do, and nothing refused.
    expect(await dataPlane.promote(dataPlane.model!.sha256)).toMatchObject({ changed: false, champion: { version: '3.0.0' } });
    await dataPlane.close();
  });

  it('drops the rows queued for shadow at a promotion (counted as promoted): their models swapped roles, so no pair would have both', async () => {
    const dropped: [number, string][] = [];
    const events = recorder();
    const dataPlane = plane({ ...events.observer, shadowDropped: (rows, reason) => dropped.push([rows, reason]) });
    await dataPlane.loadModel(CHAMPION);
    await dataPlane.loadChallenger(CHALLENGER, { mode: 'shadow', share: 1 });
    await dataPlane.predict(request(customers(10)));
    // The ten shadow rows wait for a fuller run while the roles swap.
    await dataPlane.promote();
    await dataPlane.predict(request(customers(3)));
    await settled(dataPlane);
    expect(dropped).toEqual([[10, 'promoted']]);
    const servedRole = new Map(events.served.flatMap((served) => served.rowKeys.map((key, index) => [key, served.scores[index]!.role] as const)));
    const shadowRows = events.shadows.flatMap((shadow) => shadow.rowKeys.map((key) => [shadow.role, servedRole.get(key)]));
    expect(shadowRows).toEqual(Array(3).fill(['challenger', 'champion']));
    expect(events.shadows.every((shadow) => shadow.model.version === '3.0.0')).toBe(true);
    await dataPlane.close();
  });

  it('answers rows routed to the canary before a promotion with the same model after it, never the one it replaced', async () => {
    const dataPlane = plane();
    await dataPlane.loadModel(CHAMPION);
    await dataPlane.loadChallenger(CHALLENGER, { mode: 'canary', share: 1 });
    // Queued in the challenger's micro-batch, then promoted before the run starts.
    const pending = dataPlane.predict(request(customers(1)));
    const promotion = dataPlane.promote();
    const [{ scores }] = await Promise.all([pending, promotion]);
    expect(scores[0]!.model.version).toBe('3.1.0');
    await dataPlane.close();
  });
});
