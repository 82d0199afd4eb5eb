import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PairedScore } from '../../src/monitoring/comparison.js';
import { numberedPlaceholders, type SqlQuery } from '../../src/prediction-log/outcomes.js';
import { pairedScoresQuery } from '../../src/prediction-log/paired-scores.js';
import { PostgresPredictionLogStore } from '../../src/prediction-log/postgres-store.js';
import { PREDICTION_COLUMNS, type PredictionLogStore } from '../../src/prediction-log/prediction-log-store.js';
import { SqlitePredictionLogStore } from '../../src/prediction-log/sqlite-store.js';

/**
 * pairedScores on both stores: the same SQL, the same answers. The records are written with plain
 * INSERTs naming the columns of migration 004 (role, served, row_key), so the test reads the
 * schema the comparison reads whatever the recorder writes.
 */
const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
const HORIZON = { horizonDays: 90 };
const T0 = Date.parse('2026-11-10T10:00:00.000Z');
const MINUTE = 60_000;
const DAY = 86_400_000;

interface Row {
  id?: string;
  at: number;
  customer?: string | null;
  version: string;
  probability: number;
  role: 'champion' | 'challenger';
  served: boolean;
  rowKey: string | null;
}

/** The log's columns and those of migration 004, once each (whether or not the recorder writes the latter yet). */
const COLUMNS = [...new Set<string>([...PREDICTION_COLUMNS, 'role', 'served', 'row_key'])];
function values(row: Row): (string | number | null)[] {
  const byColumn: Record<string, string | number | null> = {
    prediction_id: row.id ?? randomUUID(),
    recorded_at_ms: row.at,
    request_id: null,
    customer_id: row.customer === undefined ? 'C-1' : row.customer,
    protocol: 'rest',
    model_name: 'churn',
    model_version: row.version,
    model_sha256: 'ab'.repeat(32),
    tenure_months: 2,
    monthly_charges: 70.7,
    total_charges: 151.65,
    num_products: 2,
    has_support_calls: 0,
    probability: row.probability,
    prediction: row.probability >= 0.5 ? 1 : 0,
    tier: 'LOW',
    implausible: null,
    role: row.role,
    served: row.served ? 1 : 0,
    row_key: row.rowKey,
  };
  return COLUMNS.map((column) => {
    if (!(column in byColumn)) throw new Error(`paired-scores test: no value for column ${column}`);
    return byColumn[column] ?? null;
  });
}

/** A served record and its unserved partner: one input row scored by both models. */
function scoredTwice({ at, customer = 'C-1', champion, challenger, servedBy = 'champion', shadowDelayMs = 5 }: { at: number; customer?: string; champion: number; challenger: number; servedBy?: 'champion' | 'challenger'; shadowDelayMs?: number }): Row[] {
  const servedId = randomUUID();
  const other = servedBy === 'champion' ? 'challenger' : 'champion';
  const score = { champion, challenger };
  const version = { champion: '1.0.0', challenger: '2.0.0' };
  return [
    { id: servedId, at, customer, version: version[servedBy], probability: score[servedBy], role: servedBy, served: true, rowKey: servedId },
    { at: at + shadowDelayMs, customer, version: version[other], probability: score[other], role: other, served: false, rowKey: servedId },
  ];
}

interface Site {
  store: PredictionLogStore;
  write(rows: readonly Row[]): Promise<void>;
  /** The plan the database chooses for a query, as text; PostgreSQL's with sequential scans made a last resort, as on a large log. */
  plan(query: SqlQuery): Promise<string>;
  dispose(): Promise<void>;
}

let admin: pg.Client;

const kinds = [
  {
    name: 'SQLite',
    async createSite(): Promise<Site> {
      const dataDir = mkdtempSync(join(tmpdir(), 'paired-scores-'));
      const store = new SqlitePredictionLogStore(dataDir);
      await store.migrate();
      const database = new DatabaseSync(store.path);
      const insert = database.prepare(`INSERT INTO predictions (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`);
      return {
        store,
        async write(rows) {
          for (const row of rows) insert.run(...values(row));
        },
        async plan({ sql, params }) {
          return (database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((step) => step.detail).join('\n');
        },
        async dispose() {
          database.close();
          await store.close();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    async createSite(): Promise<Site> {
      const schema = `paired_scores_test_${randomUUID().replaceAll('-', '')}`;
      await admin.query(`CREATE SCHEMA ${schema}`);
      const store = new PostgresPredictionLogStore({ connectionString: POSTGRES_URL, schema });
      await store.migrate();
      return {
        store,
        async write(rows) {
          for (const row of rows) await admin.query(`INSERT INTO ${schema}.predictions (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`, values(row));
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
          await store.close();
          await admin.query(`DROP SCHEMA ${schema} CASCADE`);
        },
      };
    },
  },
];

beforeAll(async () => {
  admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
});
afterAll(async () => {
  await admin.end();
});

const WINDOW = { since: new Date('2026-11-01T00:00:00.000Z'), until: new Date('2026-12-01T00:00:00.000Z'), ...HORIZON };

describe.each(kinds)('prediction log store contract, paired scores: $name', (kind) => {
  let site: Site;
  afterEach(async () => {
    await site.dispose();
  });

  it('pairs the served and the unserved record of a row, in shadow and in canary, oldest first', async () => {
    site = await kind.createSite();
    await site.write([
      ...scoredTwice({ at: T0 + MINUTE, customer: 'C-2', champion: 0.7, challenger: 0.4, servedBy: 'challenger' }),
      ...scoredTwice({ at: T0, champion: 0.25, challenger: 0.375 }),
    ]);
    expect(await site.store.pairedScores(WINDOW)).toEqual<PairedScore[]>([
      { championVersion: '1.0.0', challengerVersion: '2.0.0', champion: 0.25, challenger: 0.375, servedBy: 'champion', churned: null },
      { championVersion: '1.0.0', challengerVersion: '2.0.0', champion: 0.7, challenger: 0.4, servedBy: 'challenger', churned: null },
    ]);
  });

  it('finds the unserved partner by the row_key index, which holds unserved records only', async () => {
    site = await kind.createSite();
    await site.write(scoredTwice({ at: T0, champion: 0.25, challenger: 0.375 }));
    const plan = await site.plan(pairedScoresQuery(WINDOW));
    // SQLite names the index and the seek; PostgreSQL an index scan (or a bitmap one) on it.
    expect(plan).toMatch(kind.name === 'SQLite' ? /SEARCH shadow USING INDEX predictions_row_key \(row_key=\?\)/ : /Index Scan using predictions_row_key on predictions shadow|Bitmap Index Scan on predictions_row_key/);
  });

  it('leaves out a served record without a partner, and records logged before the roles (no row key)', async () => {
    site = await kind.createSite();
    const alone = randomUUID();
    await site.write([
      { id: alone, at: T0, version: '1.0.0', probability: 0.3, role: 'champion', served: true, rowKey: alone },
      { at: T0 + 1, version: '1.0.0', probability: 0.3, role: 'champion', served: true, rowKey: null },
      // Two records of one role under one key are no pair either.
      { at: T0 + 2, version: '1.0.0', probability: 0.3, role: 'champion', served: false, rowKey: alone },
    ]);
    expect(await site.store.pairedScores(WINDOW)).toEqual([]);
  });

  it('the window is the served record\'s time: a shadow score written after until still pairs, a row served before since does not', async () => {
    site = await kind.createSite();
    const until = WINDOW.until.getTime();
    await site.write([
      ...scoredTwice({ at: until - 1, champion: 0.1, challenger: 0.2, shadowDelayMs: 10 }),
      ...scoredTwice({ at: WINDOW.since.getTime() - 1, champion: 0.3, challenger: 0.4, shadowDelayMs: 10 }),
      ...scoredTwice({ at: until, champion: 0.5, challenger: 0.6 }),
    ]);
    expect((await site.store.pairedScores(WINDOW)).map((p) => p.champion)).toEqual([0.1]);
  });

  it('a pair takes the outcome that labels its served record; the shadow record never steals it', async () => {
    site = await kind.createSite();
    await site.write([
      // C-1: scored at T0 (champion served); its shadow is written a second later, before the outcome.
      ...scoredTwice({ at: T0, customer: 'C-1', champion: 0.8, challenger: 0.9, shadowDelayMs: 1000 }),
      // C-2: scored just after, then again (served) a day later: the outcome is the later prediction's.
      ...scoredTwice({ at: T0 + 1, customer: 'C-2', champion: 0.2, challenger: 0.1 }),
      ...scoredTwice({ at: T0 + DAY, customer: 'C-2', champion: 0.3, challenger: 0.2, servedBy: 'challenger' }),
    ]);
    await site.store.recordOutcomes(
      [
        { customerId: 'C-1', observedAt: new Date(T0 + 2 * DAY), churned: true },
        { customerId: 'C-2', observedAt: new Date(T0 + 2 * DAY), churned: false },
      ],
      { ...HORIZON, receivedAt: new Date(T0 + 3 * DAY) },
    );
    const pairs = await site.store.pairedScores(WINDOW);
    expect(pairs.map((p) => [p.champion, p.servedBy, p.churned])).toEqual([
      [0.8, 'champion', true],
      [0.2, 'champion', null],
      [0.3, 'challenger', false],
    ]);
    // The performance report's rule is the same one: the served record of C-1 keeps its label.
    const scored = await site.store.scoredOutcomes(WINDOW);
    expect(scored.find((row) => row.modelVersion === '1.0.0' && row.probability === 0.8)?.churned).toBe(true);
  });

  it('an outcome beyond the horizon labels no pair', async () => {
    site = await kind.createSite();
    await site.write(scoredTwice({ at: T0, champion: 0.8, challenger: 0.9 }));
    await site.store.recordOutcomes([{ customerId: 'C-1', observedAt: new Date(T0 + 91 * DAY), churned: true }], { ...HORIZON, receivedAt: new Date(T0 + 92 * DAY) });
    expect((await site.store.pairedScores({ ...WINDOW, until: new Date(T0 + 100 * DAY) }))[0]!.churned).toBeNull();
    expect((await site.store.pairedScores({ ...WINDOW, horizonDays: 91, until: new Date(T0 + 100 * DAY) }))[0]!.churned).toBe(true);
  });
});
