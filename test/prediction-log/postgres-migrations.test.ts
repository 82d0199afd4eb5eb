import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../src/prediction-log/migrations.js';
import { PostgresPredictionLogStore } from '../../src/prediction-log/postgres-store.js';
import { predictionRecord } from './prediction-records.js';

/** This machine's PostgreSQL (trust auth); the test works in a schema of its own and drops it. */
const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

let admin: pg.Client;

const schema = `prediction_log_migrations_${randomUUID().replaceAll('-', '')}`;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
});
afterAll(async () => {
  await admin.query(`DROP SCHEMA ${schema} CASCADE`);
  await admin.end();
});

describe('PostgreSQL migrations', () => {
  it('run past the statement timeout of every other query (an index over a large log takes long), which still applies', async () => {
    const shipped = loadMigrations();
    // A step as slow as an index build over millions of rows, against a 200 ms statement timeout.
    const slowStep = { version: shipped.length + 1, name: 'slow-index-build', sql: 'SELECT pg_sleep(0.6)' };
    const store = new PostgresPredictionLogStore({ connectionString: POSTGRES_URL, schema, statementTimeoutMs: 200, migrations: [...shipped, slowStep] });
    try {
      await store.migrate();
      const { rows } = await admin.query<{ version: number }>(`SELECT MAX(version) AS version FROM ${schema}.schema_migrations`);
      expect(Number(rows[0]!.version)).toBe(slowStep.version);
      // Outside the migration the timeout still stops a write that waits (here on a table lock),
      // on the very connection that migrated: the migration lifted it for its own transaction only.
      await admin.query('BEGIN');
      try {
        await admin.query(`LOCK TABLE ${schema}.predictions IN ACCESS EXCLUSIVE MODE`);
        const started = Date.now();
        // Two writes at once take both of the store's connections, whichever one migrated.
        const writes = await Promise.allSettled([store.insert([predictionRecord()]), store.insert([predictionRecord()])]);
        for (const write of writes) expect(write).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: expect.stringMatching(/statement timeout/) }) });
        expect(Date.now() - started).toBeLessThan(5_000);
      } finally {
        await admin.query('ROLLBACK');
      }
    } finally {
      await store.close();
    }
  }, 10_000);
});
