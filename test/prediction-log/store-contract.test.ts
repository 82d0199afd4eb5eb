import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../src/prediction-log/migrations.js';
import { PostgresPredictionLogStore } from '../../src/prediction-log/postgres-store.js';
import type { PredictionLogStore, PredictionRecord } from '../../src/prediction-log/prediction-log-store.js';
import { SqlitePredictionLogStore } from '../../src/prediction-log/sqlite-store.js';

/** This machine's PostgreSQL (trust auth); each run works in a schema of its own and drops it. */
const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

function record(overrides: Partial<PredictionRecord> = {}): PredictionRecord {
  return {
    predictionId: randomUUID(),
    recordedAt: new Date('2026-11-30T10:00:00.000Z'),
    requestId: 'req-1',
    customerId: '9237-HQITU',
    protocol: 'rest',
    modelName: 'churn',
    modelVersion: '1.2.0',
    modelSha256: 'ab'.repeat(32),
    features: { tenure_months: 2, monthly_charges: 70.7, total_charges: 151.65, num_products: 2, has_support_calls: 0 },
    probability: 0.8125,
    prediction: 1,
    tier: 'high',
    implausible: [],
    ...overrides,
  };
}

/** A place for one test's stores: every store opened on it sees the same log. */
interface StoreSite {
  open(): PredictionLogStore;
  /** Writes a schema version into the site's migrations table, as a newer release would. */
  markSchemaVersion(version: number): Promise<void>;
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
      open() {
        const store = new SqlitePredictionLogStore(dataDir);
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
      open() {
        const store = new PostgresPredictionLogStore({ connectionString: POSTGRES_URL, schema });
        opened.push(store);
        return store;
      },
      async markSchemaVersion(version) {
        const store = new PostgresPredictionLogStore({ connectionString: POSTGRES_URL, schema });
        await store.migrate();
        await store.close();
        await admin.query(`INSERT INTO ${schema}.schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)`, [version, 'from-the-future', 0]);
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

  it('a batch inserted again (a retry after a lost acknowledgement) is logged once', async () => {
    site = await kind.createSite();
    const store = await openMigrated();
    const first = record({ recordedAt: new Date('2026-11-30T10:00:00.000Z') });
    const second = record({ recordedAt: new Date('2026-11-30T10:00:01.000Z') });
    await store.insert([first]);
    await store.insert([first, second]);
    expect(await store.recent(10)).toEqual([second, first]);
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
