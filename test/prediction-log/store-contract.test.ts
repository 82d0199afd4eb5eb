import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, type Migration } from '../../src/prediction-log/migrations.js';
import { PostgresPredictionLogStore } from '../../src/prediction-log/postgres-store.js';
import type { Outcome, PredictionLogStore, PredictionRecord } from '../../src/prediction-log/prediction-log-store.js';
import { matchedOutcomesQuery, numberedPlaceholders, scoredOutcomesQuery, type SqlQuery } from '../../src/prediction-log/outcomes.js';
import { SQLITE_FILE_NAME, SqlitePredictionLogStore } from '../../src/prediction-log/sqlite-store.js';
import { predictionRecord } from './prediction-records.js';

/** This machine's PostgreSQL (trust auth); each run works in a schema of its own and drops it. */
const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

const record = predictionRecord;

/** A place for one test's stores: every store opened on it sees the same log. */
interface StoreSite {
  /** A store on the site; `migrations` as an older release knew them, by default all. */
  open(migrations?: readonly Migration[]): PredictionLogStore;
  /** Writes a schema version into the site's migrations table, as a newer release would. */
  markSchemaVersion(version: number): Promise<void>;
  /** The plan the database chooses for a query, as text; PostgreSQL's with sequential scans made a last resort, as on a large log. */
  plan(query: SqlQuery): Promise<string>;
  dispose(): Promise<void>;
}

interface StoreKind {
  name: string;
  createSite(): Promise<StoreSite>;
}

const sqliteKind: StoreKind = {
  name: 'SQLite',
  async createSite() {
    const dataDir = mkdtempSync(join(tmpdir(), 'prediction-log-'));
    const opened: PredictionLogStore[] = [];
    return {
      open(migrations) {
        const store = new SqlitePredictionLogStore(dataDir, migrations);
        opened.push(store);
        return store;
      },
      async markSchemaVersion(version) {
        const store = new SqlitePredictionLogStore(dataDir);
        await store.migrate();
        await store.close();
        const { DatabaseSync } = await import('node:sqlite');
        const database = new DatabaseSync(store.path);
        database.prepare('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)').run(version, 'from-the-future', 0);
        database.close();
      },
      async plan({ sql, params }) {
        const { DatabaseSync } = await import('node:sqlite');
        const database = new DatabaseSync(join(dataDir, SQLITE_FILE_NAME));
        try {
          return (database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((step) => step.detail).join('\n');
        } finally {
          database.close();
        }
      },
      async dispose() {
        await Promise.all(opened.map((store) => store.close()));
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },
};

let admin: pg.Client;

const postgresKind: StoreKind = {
  name: 'PostgreSQL',
  async createSite() {
    const schema = `prediction_log_test_${randomUUID().replaceAll('-', '')}`;
    await admin.query(`CREATE SCHEMA ${schema}`);
    const opened: PredictionLogStore[] = [];
    return {
      open(migrations) {
        const store = new PostgresPredictionLogStore({ connectionString: POSTGRES_URL, schema, ...(migrations && { migrations }) });
        opened.push(store);
        return store;
      },
      async markSchemaVersion(version) {
        const store = new PostgresPredictionLogStore({ connectionString: POSTGRES_URL, schema });
        await store.migrate();
        await store.close();
        await admin.query(`INSERT INTO ${schema}.schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)`, [version, 'from-the-future', 0]);
      },
      async plan({ sql, params }) {
        await admin.query('BEGIN');
        try {
          await admin.query(`SET LOCAL search_path = ${schema}`);
          await admin.query('SET LOCAL enable_seqscan = off');
          const { rows } = await admin.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${numberedPlaceholders(sql)}`, params);
          return rows.map((row) => row['QUERY PLAN']).join('\n');
        } finally {
          await admin.query('ROLLBACK');
        }
      },
      async dispose() {
        await Promise.all(opened.map((store) => store.close()));
        await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      },
    };
  },
};

beforeAll(async () => {
  admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
});
afterAll(async () => {
  await admin.end();
});

describe.each([sqliteKind, postgresKind])('prediction log store contract: $name', (kind) => {
  let site: StoreSite;
  afterEach(async () => {
    await site.dispose();
  });

  /** Opens a store on this test's site, migrated. */
  async function openMigrated(): Promise<PredictionLogStore> {
    const store = site.open();
    await store.migrate();
    return store;
  }

  it('reads back a batch it inserted, every field as written', async () => {
    site = await kind.createSite();
    const store = await openMigrated();
    const first = record({ recordedAt: new Date('2026-11-30T10:00:00.000Z') });
    const second = record({
      recordedAt: new Date('2026-11-30T10:00:01.250Z'),
      requestId: undefined,
      customerId: undefined,
      protocol: 'open-inference',
      probability: 0.125,
      prediction: 0,
      tier: 'low',
      features: { tenure_months: 60, monthly_charges: 20.25, total_charges: 121_500, num_products: 3, has_support_calls: 1 },
      implausible: ['total_charges_above_billing'],
    });
    await store.insert([first, second]);
    expect(await store.recent(10)).toEqual([second, first]);
    expect(await store.recent(1)).toEqual([second]);
  });

  it('migrating twice changes nothing and keeps what was logged', async () => {
    site = await kind.createSite();
    const store = await openMigrated();
    const logged = record();
    await store.insert([logged]);
    await store.migrate();
    expect(await store.recent(10)).toEqual([logged]);
  });

  it('retention deletes only the records older than the cutoff', async () => {
    site = await kind.createSite();
    const store = await openMigrated();
    const old = record({ recordedAt: new Date('2025-01-01T00:00:00.000Z') });
    const atCutoff = record({ recordedAt: new Date('2026-01-01T00:00:00.000Z') });
    const recent = record({ recordedAt: new Date('2026-11-01T00:00:00.000Z') });
    await store.insert([old, atCutoff, recent]);
    expect(await store.deleteRecordedBefore(new Date('2026-01-01T00:00:00.000Z'))).toBe(1);
    expect(await store.recent(10)).toEqual([recent, atCutoff]);
  });

  it('a log written before the partial indexes (migrations 005, 006) reads the same after them: records, pairs, labels', async () => {
    site = await kind.createSite();
    const older = site.open(loadMigrations().filter((migration) => migration.version <= 4));
    await older.migrate();
    const served = record({ recordedAt: new Date('2026-11-30T10:00:00.000Z'), customerId: 'c-9' });
    const shadow = record({ recordedAt: new Date('2026-11-30T10:00:00.005Z'), customerId: 'c-9', role: 'challenger', served: false, rowKey: served.predictionId, modelVersion: '2.0.0', probability: 0.25 });
    const later = record({ recordedAt: new Date('2026-11-30T11:00:00.000Z'), customerId: 'c-9', probability: 0.5 });
    await older.insert([served, shadow, later]);
    await older.recordOutcomes([{ customerId: 'c-9', observedAt: new Date('2026-11-30T10:30:00.000Z'), churned: true }], { horizonDays: 90, receivedAt: new Date('2026-12-01T00:00:00.000Z') });
    const window = { since: new Date('2026-11-01T00:00:00.000Z'), until: new Date('2026-12-01T00:00:00.000Z'), horizonDays: 90 };
    const before = { recent: await older.recent(10), scored: await older.scoredOutcomes(window), pairs: await older.pairedScores(window) };
    const store = await openMigrated();
    expect(await store.recent(10)).toEqual([later, shadow, served]);
    expect({ recent: await store.recent(10), scored: await store.scoredOutcomes(window), pairs: await store.pairedScores(window) }).toEqual(before);
    expect(before.scored.map((row) => row.churned)).toEqual([true, null]);
    expect(before.pairs).toHaveLength(1);
  });

  it('refuses to start on a schema newer than the code knows, naming both versions', async () => {
    site = await kind.createSite();
    const newest = loadMigrations().at(-1)!.version;
    await site.markSchemaVersion(newest + 1);
    const store = site.open();
    await expect(store.migrate()).rejects.toThrow(`schema version ${newest + 1}, newer than this service knows (${newest})`);
  });

  it('two store instances on one site see one log', async () => {
    site = await kind.createSite();
    const [replicaA, replicaB] = await Promise.all([site.open(), site.open()].map(async (store) => (await store.migrate(), store)));
    const fromA = record({ recordedAt: new Date('2026-11-30T10:00:00.000Z'), requestId: 'a-1' });
    const fromB = record({ recordedAt: new Date('2026-11-30T10:00:02.000Z'), requestId: 'b-1' });
    await replicaA!.insert([fromA]);
    await replicaB!.insert([fromB]);
    expect(await replicaA!.recent(10)).toEqual([fromB, fromA]);
    expect(await replicaB!.recent(10)).toEqual([fromB, fromA]);
  });

  it('keeps both records of a row scored by champion and challenger: one served, one shadow, one row key', async () => {
    site = await kind.createSite();
    const store = await openMigrated();
    const served = record({ recordedAt: new Date('2026-11-30T10:00:00.000Z'), role: 'challenger', modelVersion: '1.3.0' });
    const shadow = record({ recordedAt: new Date('2026-11-30T10:00:00.005Z'), role: 'champion', served: false, rowKey: served.predictionId, probability: 0.5 });
    await store.insert([served, shadow]);
    expect(await store.recent(10)).toEqual([shadow, served]);
  });

  it('a batch inserted again (a retry after a lost acknowledgement) is logged once', async () => {
    site = await kind.createSite();
    const store = await openMigrated();
    const first = record({ recordedAt: new Date('2026-11-30T10:00:00.000Z') });
    const second = record({ recordedAt: new Date('2026-11-30T10:00:01.000Z') });
    await store.insert([first]);
    await store.insert([first, second]);
    expect(await store.recent(10)).toEqual([second, first]);
  });

  it('a large batch, some of it logged already, is logged whole and once: every record, every field', async () => {
    site = await kind.createSite();
    const store = await openMigrated();
    // 57 records: more than two of SQLite's multi-row statements plus single rows; distinct fields per record.
    const batch = Array.from({ length: 57 }, (_, index) =>
      record({
        recordedAt: new Date(Date.UTC(2026, 10, 30, 10, 0, 0, index)),
        requestId: `bulk-${index}`,
        probability: index / 100,
        features: { tenure_months: index, monthly_charges: 20 + index / 4, total_charges: 100 * index, num_products: 1 + (index % 4), has_support_calls: index % 2 },
      }),
    );
    await store.insert([batch[3]!, batch[40]!]);
    await store.insert(batch);
    expect(await store.recent(100)).toEqual([...batch].reverse());
  });

  it('adds minute drift counts to the stored ones and sums a window of them, per model', async () => {
    site = await kind.createSite();
    const [replicaA, replicaB] = await Promise.all([site.open(), site.open()].map(async (store) => (await store.migrate(), store)));
    const sha = 'ab'.repeat(32);
    const minute = Date.parse('2026-11-30T10:00:00.000Z');
    const count = (minuteMs: number, profile: string, bin: number, rows: number, modelSha256 = sha) => ({ minuteMs, modelSha256, profile, bin, rows });
    await replicaA!.addDriftMinutes([count(minute, 'tenure_months', 0, 3), count(minute, 'churn_probability', 1, 3), count(minute - 60_000, 'tenure_months', 0, 100)]);
    // Another replica, the same minute: its counts add up with the first one's.
    await replicaB!.addDriftMinutes([count(minute, 'tenure_months', 0, 2), count(minute, 'tenure_months', 4, 1), count(minute, 'tenure_months', 0, 50, 'cd'.repeat(32))]);
    const byBin = (totals: { profile: string; bin: number; rows: number }[]) => Object.fromEntries(totals.map((total) => [`${total.profile}/${total.bin}`, total.rows]));
    expect(byBin(await replicaA!.sumDriftMinutes(sha, minute))).toEqual({ 'tenure_months/0': 5, 'tenure_months/4': 1, 'churn_probability/1': 3 });
    expect(byBin(await replicaB!.sumDriftMinutes(sha, minute - 60_000))).toEqual({ 'tenure_months/0': 105, 'tenure_months/4': 1, 'churn_probability/1': 3 });
    expect(await replicaA!.deleteDriftMinutesBefore(new Date(minute))).toBe(1);
    expect(byBin(await replicaA!.sumDriftMinutes(sha, 0))).toEqual({ 'tenure_months/0': 5, 'tenure_months/4': 1, 'churn_probability/1': 3 });
    await replicaA!.addDriftMinutes([]);
  });
});

describe.each([sqliteKind, postgresKind])('prediction log store contract, outcomes: $name', (kind) => {
  let site: StoreSite;
  let store: PredictionLogStore;
  afterEach(async () => {
    await site.dispose();
  });

  const DAY_MS = 86_400_000;
  const HORIZON_DAYS = 90;
  const at = (iso: string) => new Date(iso);
  const outcome = (customerId: string, observedAt: string, churned: boolean): Outcome => ({ customerId, observedAt: at(observedAt), churned });
  const post = (outcomes: Outcome[], horizonDays = HORIZON_DAYS) => store.recordOutcomes(outcomes, { horizonDays, receivedAt: at('2026-12-01T00:00:00.000Z') });
  /** The prediction of one customer at one time, told apart by its probability. */
  const predicted = (customerId: string | undefined, recordedAt: string, probability: number, overrides: Partial<PredictionRecord> = {}) =>
    record({ customerId, recordedAt: at(recordedAt), probability, ...overrides });
  const scored = (since = '2000-01-01T00:00:00.000Z', until = '2100-01-01T00:00:00.000Z', horizonDays = HORIZON_DAYS) =>
    store.scoredOutcomes({ since: at(since), until: at(until), horizonDays });
  const labels = async (since?: string, until?: string, horizonDays?: number) => (await scored(since, until, horizonDays)).map(({ probability, churned }) => [probability, churned]);

  async function openStore() {
    site = await kind.createSite();
    store = site.open();
    await store.migrate();
  }

  it('keeps an outcome no prediction matches yet, and counts it unmatched', async () => {
    await openStore();
    expect(await post([outcome('c-1', '2026-11-30T00:00:00Z', true), outcome('c-2', '2026-11-30T00:00:00Z', false)])).toEqual({ accepted: 2, corrected: 0, duplicates: 0, matched: 0, unmatched: 2 });
    expect(await scored()).toEqual([]);
  });

  it('seeks a customer\'s predictions by the customer index, which holds served records only', async () => {
    await openStore();
    await store.insert([predicted('c-1', '2026-11-29T00:00:00Z', 0.5), predicted('c-1', '2026-11-29T00:00:00.005Z', 0.25, { role: 'challenger', served: false })]);
    const window = { since: at('2026-11-01T00:00:00Z'), until: at('2026-12-01T00:00:00Z'), horizonDays: HORIZON_DAYS };
    const scoredPlan = await site.plan(scoredOutcomesQuery(window));
    const matchedPlan = await site.plan(matchedOutcomesQuery([{ customerId: 'c-1', observedAtMs: Date.parse('2026-11-30T00:00:00Z') }], HORIZON_DAYS));
    // Both queries say served = 1 where they seek by customer: that is what lets the partial index serve them.
    if (kind.name === 'SQLite') {
      expect(scoredPlan).toMatch(/SEARCH later USING (COVERING )?INDEX predictions_customer_recorded \(customer_id=\? AND recorded_at_ms>\?/);
      expect(matchedPlan).toMatch(/SEARCH p USING (COVERING )?INDEX predictions_customer_recorded \(customer_id=\? AND recorded_at_ms<\?/);
    } else {
      expect(scoredPlan).toMatch(/Index (Only )?Scan using predictions_customer_recorded on predictions later/);
      expect(matchedPlan).toMatch(/Index (Only )?Scan( Backward)? using predictions_customer_recorded on predictions p/);
    }
  });

  it('labels the latest prediction of the customer before observed_at, and gives every other prediction null', async () => {
    await openStore();
    await store.insert([
      predicted('c-1', '2026-10-01T00:00:00Z', 0.1),
      predicted('c-1', '2026-11-01T00:00:00Z', 0.2),
      predicted('c-2', '2026-11-02T00:00:00Z', 0.3),
      predicted(undefined, '2026-11-03T00:00:00Z', 0.4),
    ]);
    expect(await post([outcome('c-1', '2026-11-30T00:00:00Z', true)])).toEqual({ accepted: 1, corrected: 0, duplicates: 0, matched: 1, unmatched: 0 });
    expect(await scored()).toEqual([
      { modelVersion: '1.2.0', probability: 0.1, churned: null },
      { modelVersion: '1.2.0', probability: 0.2, churned: true },
      { modelVersion: '1.2.0', probability: 0.3, churned: null },
      { modelVersion: '1.2.0', probability: 0.4, churned: null },
    ]);
  });

  it('a prediction recorded after the outcome was posted, before observed_at, is matched then', async () => {
    await openStore();
    expect(await post([outcome('c-1', '2026-11-30T00:00:00Z', false)])).toMatchObject({ matched: 0, unmatched: 1 });
    await store.insert([predicted('c-1', '2026-11-29T12:00:00Z', 0.7)]);
    expect(await labels()).toEqual([[0.7, false]]);
    // Posted again, the same outcome is a duplicate that now finds its prediction.
    expect(await post([outcome('c-1', '2026-11-30T00:00:00Z', false)])).toEqual({ accepted: 0, corrected: 0, duplicates: 1, matched: 1, unmatched: 0 });
  });

  it('matches only predictions made strictly before observed_at and no older than the horizon', async () => {
    await openStore();
    const observedAt = at('2026-11-30T00:00:00.000Z').getTime();
    await store.insert([
      predicted('at-horizon', new Date(observedAt - HORIZON_DAYS * DAY_MS).toISOString(), 0.1),
      predicted('past-horizon', new Date(observedAt - HORIZON_DAYS * DAY_MS - 1).toISOString(), 0.2),
      predicted('at-observation', new Date(observedAt).toISOString(), 0.3),
      predicted('just-before', new Date(observedAt - 1).toISOString(), 0.4),
    ]);
    const counts = await post(['at-horizon', 'past-horizon', 'at-observation', 'just-before'].map((customer) => outcome(customer, '2026-11-30T00:00:00.000Z', true)));
    expect(counts).toMatchObject({ matched: 2, unmatched: 2 });
    expect(await labels()).toEqual([
      [0.2, null],
      [0.1, true],
      [0.4, true],
      [0.3, null],
    ]);
    // A shorter horizon, read later, leaves the prediction at the old edge unlabeled.
    expect((await labels(undefined, undefined, HORIZON_DAYS - 1))[1]).toEqual([0.1, null]);
  });

  it('of two outcomes after one prediction, the earliest labels it and the later one labels nothing', async () => {
    await openStore();
    await store.insert([predicted('c-1', '2026-10-01T00:00:00Z', 0.6)]);
    expect(await post([outcome('c-1', '2026-12-01T00:00:00Z', false)])).toMatchObject({ matched: 1 });
    // An earlier observation arrives later: it takes the prediction over, and the first one is left unmatched.
    expect(await post([outcome('c-1', '2026-11-01T00:00:00Z', true)])).toMatchObject({ matched: 1, unmatched: 0 });
    expect(await labels()).toEqual([[0.6, true]]);
    expect(await post([outcome('c-1', '2026-12-01T00:00:00Z', false)])).toMatchObject({ duplicates: 1, matched: 0, unmatched: 1 });
  });

  it('each outcome labels one prediction: the next prediction of the customer takes the later outcome', async () => {
    await openStore();
    await store.insert([predicted('c-1', '2026-10-01T00:00:00Z', 0.1), predicted('c-1', '2026-11-01T00:00:00Z', 0.2)]);
    // Observed exactly when the second prediction was made: that one was not made before it, the first was.
    await post([outcome('c-1', '2026-11-01T00:00:00Z', false), outcome('c-1', '2026-11-15T00:00:00Z', true)]);
    expect(await labels()).toEqual([
      [0.1, false],
      [0.2, true],
    ]);
  });

  it('retention deletes only the outcomes observed before the cutoff, and the predictions left keep their labels', async () => {
    await openStore();
    await store.insert([predicted('old', '2025-12-01T00:00:00Z', 0.1), predicted('kept', '2026-01-15T00:00:00Z', 0.2)]);
    await post([outcome('old', '2025-12-31T23:59:59.999Z', true), outcome('edge', '2026-01-01T00:00:00Z', true), outcome('kept', '2026-02-01T00:00:00Z', false)]);
    const cutoff = at('2026-01-01T00:00:00.000Z');
    expect(await store.deleteRecordedBefore(cutoff)).toBe(1);
    expect(await store.deleteOutcomesObservedBefore(cutoff)).toBe(1);
    expect(await labels()).toEqual([[0.2, false]]);
    // The outcome at the cutoff was kept: posted again, it is a duplicate, not a new one.
    expect(await post([outcome('edge', '2026-01-01T00:00:00Z', true)])).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(await post([outcome('old', '2025-12-31T23:59:59.999Z', true)])).toMatchObject({ accepted: 1, duplicates: 0 });
  });

  it('only served predictions are labeled and read: a shadow score never steals the label of its served twin', async () => {
    await openStore();
    const served = predicted('c-1', '2026-11-01T00:00:00Z', 0.2);
    // The shadow score of the same row is logged after the answer: it is the latest record of c-1 before the outcome.
    const shadow = predicted('c-1', '2026-11-01T00:00:00.010Z', 0.9, { role: 'challenger', served: false, rowKey: served.predictionId, modelVersion: '1.3.0' });
    await store.insert([predicted('c-1', '2026-10-01T00:00:00Z', 0.1), served, shadow]);
    expect(await post([outcome('c-1', '2026-11-30T00:00:00Z', true)])).toMatchObject({ matched: 1 });
    expect(await scored()).toEqual([
      { modelVersion: '1.2.0', probability: 0.1, churned: null },
      { modelVersion: '1.2.0', probability: 0.2, churned: true },
    ]);
    // A shadow score alone before an outcome leaves it unmatched.
    await store.insert([predicted('c-2', '2026-11-01T00:00:00Z', 0.3, { served: false, role: 'challenger' })]);
    expect(await post([outcome('c-2', '2026-11-30T00:00:00Z', true)])).toMatchObject({ matched: 0, unmatched: 1 });
  });

  it('of predictions of one customer in the same millisecond, exactly one is labeled', async () => {
    await openStore();
    await store.insert([predicted('c-1', '2026-11-01T00:00:00Z', 0.1), predicted('c-1', '2026-11-01T00:00:00Z', 0.2)]);
    expect(await post([outcome('c-1', '2026-11-30T00:00:00Z', true)])).toMatchObject({ matched: 1 });
    expect((await labels()).filter(([, churned]) => churned === true)).toHaveLength(1);
  });

  it('reads the predictions of [since, until), and a prediction after until still takes its later outcomes', async () => {
    await openStore();
    await store.insert([
      predicted('c-1', '2026-11-01T00:00:00Z', 0.1),
      predicted('c-2', '2026-11-01T01:00:00Z', 0.2),
      predicted('c-1', '2026-11-10T00:00:00Z', 0.3),
      predicted('c-2', '2026-11-20T00:00:00Z', 0.4),
    ]);
    await post([outcome('c-1', '2026-11-05T00:00:00Z', true), outcome('c-2', '2026-11-25T00:00:00Z', true)]);
    // c-2's outcome belongs to its prediction of 11-20, outside the period: the one of 11-01 stays null.
    expect(await labels('2026-11-01T00:00:00Z', '2026-11-10T00:00:00Z')).toEqual([
      [0.1, true],
      [0.2, null],
    ]);
    expect(await labels('2026-11-10T00:00:00Z', '2026-11-20T00:00:01Z')).toEqual([
      [0.3, null],
      [0.4, true],
    ]);
  });

  it('the same outcome posted again, or twice in one post, is a duplicate and changes nothing', async () => {
    await openStore();
    await store.insert([predicted('c-1', '2026-11-01T00:00:00Z', 0.5)]);
    const first = [outcome('c-1', '2026-11-30T00:00:00Z', true), outcome('c-9', '2026-11-30T00:00:00Z', false), outcome('c-1', '2026-11-30T00:00:00Z', true)];
    expect(await post(first)).toEqual({ accepted: 2, corrected: 0, duplicates: 1, matched: 1, unmatched: 1 });
    expect(await post(first)).toEqual({ accepted: 0, corrected: 0, duplicates: 3, matched: 1, unmatched: 1 });
    expect(await labels()).toEqual([[0.5, true]]);
  });

  it('a different churned for a stored customer and time is a correction that replaces it', async () => {
    await openStore();
    await store.insert([predicted('c-1', '2026-11-01T00:00:00Z', 0.5)]);
    await post([outcome('c-1', '2026-11-30T00:00:00Z', true)]);
    expect(await post([outcome('c-1', '2026-11-30T00:00:00Z', false)])).toEqual({ accepted: 1, corrected: 1, duplicates: 0, matched: 1, unmatched: 0 });
    expect(await labels()).toEqual([[0.5, false]]);
    // In one post, items apply in order: the last value stays.
    expect(await post([outcome('c-1', '2026-11-30T00:00:00Z', true), outcome('c-1', '2026-11-30T00:00:00Z', false)])).toEqual({ accepted: 2, corrected: 2, duplicates: 0, matched: 1, unmatched: 0 });
    expect(await labels()).toEqual([[0.5, false]]);
  });

  it('agrees with the rule as written, on random logs (and the post-time counts agree with the join)', async () => {
    await openStore();
    const HOUR_MS = 3_600_000;
    const horizonDays = 2;
    let seed = 7;
    // A linear congruential generator's high bits (its low bits repeat with a short period).
    const next = (below: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648), Math.floor((seed / 2_147_483_648) * below));
    let contested = 0;
    for (let scenario = 0; scenario < 12; scenario += 1) {
      // Each scenario in a span of its own: 3 customers, distinct hours within a week.
      const base = Date.parse('2026-01-01T00:00:00Z') + scenario * 100 * DAY_MS;
      const customers = ['a', 'b', 'c'].map((name) => `s${scenario}-${name}`);
      const hours = (count: number) => [...new Set(Array.from({ length: count }, () => next(7 * 24)))];
      const predictions = customers.flatMap((customer) => hours(4).map((hour) => ({ customer, at: base + hour * HOUR_MS })));
      const outcomes = customers.flatMap((customer) => hours(3).map((hour) => ({ customer, at: base + hour * HOUR_MS + 30 * 60_000, churned: next(2) === 1 })));
      const records = predictions.map(({ customer, at: recordedAt }, index) => predicted(customer, new Date(recordedAt).toISOString(), scenario + index / 100));
      await store.insert(records);
      const counts = await post(outcomes.map(({ customer, at: observedAt, churned }) => ({ customerId: customer, observedAt: new Date(observedAt), churned })), horizonDays);

      // The rule in docs/api.md, by brute force: each outcome's latest prediction before it, within the horizon; the earliest outcome per prediction.
      const expected = new Map<number, boolean>();
      const byPrediction = new Map<number, { at: number; churned: boolean }>();
      for (const outcome of outcomes) {
        const before = records.filter((record) => record.customerId === outcome.customer && record.recordedAt.getTime() < outcome.at);
        const latest = before.sort((x, y) => y.recordedAt.getTime() - x.recordedAt.getTime())[0];
        if (!latest || latest.recordedAt.getTime() < outcome.at - horizonDays * DAY_MS) continue;
        const taken = byPrediction.get(latest.probability);
        if (!taken || taken.at > outcome.at) byPrediction.set(latest.probability, outcome);
      }
      for (const [probability, { churned }] of byPrediction) expected.set(probability, churned);

      const rows = await store.scoredOutcomes({ since: new Date(base), until: new Date(base + 8 * DAY_MS), horizonDays });
      expect(rows).toHaveLength(records.length);
      for (const row of rows) expect(row.churned, `scenario ${scenario}, prediction ${row.probability}`).toBe(expected.get(row.probability) ?? null);
      expect(counts.matched, `scenario ${scenario}`).toBe(expected.size);
      contested += outcomes.length - counts.matched;
    }
    // The scenarios hold outcomes that lose to an earlier one or find no prediction, not only easy ones.
    expect(contested).toBeGreaterThan(5);
  });

  it('takes a post of 1000 outcomes in one call', async () => {
    await openStore();
    await store.insert([predicted('c-0', '2026-11-01T00:00:00Z', 0.5)]);
    const many = Array.from({ length: 1000 }, (_, index) => outcome(`c-${index}`, '2026-11-30T00:00:00Z', index % 2 === 0));
    expect(await post(many)).toEqual({ accepted: 1000, corrected: 0, duplicates: 0, matched: 1, unmatched: 999 });
  });
});
