import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SQLITE_FILE_NAME } from '../../src/prediction-log/sqlite-store.js';
import { VALID_CUSTOMER } from '../helpers.js';
import { PrivatePostgres, privatePostgresAvailable } from './private-postgres.js';
import { freePort, startServer, waitUntilHealthy, type ServerProcess } from './server-process.js';

/**
 * The prediction log's failure modes, end to end: the compiled server as its own process, over real
 * HTTP, against a real SQLite file and a PostgreSQL server of the test's own that the test stops
 * and starts. Every prediction must answer 200 whatever the store does, and every prediction served
 * is either in the store or counted as dropped: never silently lost, never written twice.
 */

const REQUIRE_TOOLS = process.env.REQUIRE_TEST_TOOLS === '1';
const HAS_POSTGRES = privatePostgresAvailable();
if (!HAS_POSTGRES && !REQUIRE_TOOLS) console.warn('prediction-log-failures: no PostgreSQL server programs (postgresql-15); the PostgreSQL cases are skipped');

interface LogStatus {
  state: string;
  store: string | null;
  buffered: number;
}

async function logStatus(server: ServerProcess): Promise<LogStatus> {
  const response = await fetch(`${server.baseUrl}/health/ready`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { prediction_log: LogStatus }).prediction_log;
}

/** Waits until the log is up and has written everything it buffered. */
async function caughtUp(server: ServerProcess, timeout = 30_000): Promise<void> {
  await vi.waitFor(async () => expect(await logStatus(server)).toMatchObject({ state: 'up', buffered: 0 }), { timeout, interval: 100 });
}

async function droppedTotal(server: ServerProcess): Promise<number> {
  const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('churn_prediction_log_dropped_total'))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

async function predict(server: ServerProcess, count: number): Promise<void> {
  for (let index = 0; index < count; index += 1) {
    const response = await fetch(`${server.baseUrl}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(VALID_CUSTOMER) });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
  }
}

/** Clients posting /predict in a loop until stopped, counting the answers by status. */
function startLoad(server: ServerProcess, clients: number) {
  const statuses = new Map<number | 'error', number>();
  let running = true;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      let status: number | 'error';
      try {
        const response = await fetch(`${server.baseUrl}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(VALID_CUSTOMER) });
        await response.arrayBuffer();
        status = response.status;
      } catch {
        status = 'error';
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  });
  return {
    get served() {
      return statuses.get(200) ?? 0;
    },
    statuses,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function stopped(server: ServerProcess): Promise<void> {
  expect(await server.stop()).toBe(0);
}

describe('prediction log on SQLite, the default', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'churn-log-restart-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps every prediction across a restart of the service', async () => {
    const first = startServer({ DATA_DIR: dataDir }, await freePort());
    await waitUntilHealthy(first);
    await predict(first, 7);
    await stopped(first);

    const second = startServer({ DATA_DIR: dataDir }, await freePort());
    await waitUntilHealthy(second);
    await predict(second, 5);
    await stopped(second);

    const database = new DatabaseSync(join(dataDir, SQLITE_FILE_NAME), { readOnly: true });
    try {
      expect(database.prepare('SELECT count(*) AS count FROM predictions').get()).toEqual({ count: 12 });
    } finally {
      database.close();
    }
  });
});

describe('prediction log start failures an operator must fix', () => {
  it('a DATA_DIR that cannot be created stops the start: exit code 1 and one line that names it and the way out', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'churn-log-unusable-'));
    try {
      const aFile = join(directory, 'a-file');
      writeFileSync(aFile, '');
      const server = startServer({ DATA_DIR: join(aFile, 'data'), LOG_LEVEL: 'error' }, await freePort());
      expect(await server.exited).toBe(1);
      const lines = server.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ level: 60, msg: expect.stringMatching(/^prediction log: DATA_DIR .*a-file\/data cannot be used \(ENOTDIR.*set PREDICTION_LOG=false$/) });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!HAS_POSTGRES && !REQUIRE_TOOLS)('prediction log on a PostgreSQL that goes away', () => {
  let postgres: PrivatePostgres;
  const servers: ServerProcess[] = [];
  const serve = async (env: Record<string, string>) => {
    const server = startServer({ LOG_LEVEL: 'info', ...env }, await freePort());
    servers.push(server);
    await waitUntilHealthy(server);
    return server;
  };

  beforeAll(async () => {
    postgres = await PrivatePostgres.create();
    await postgres.start();
    for (const database of ['down_at_start', 'restart', 'killed', 'newer']) await postgres.createDatabase(database);
    await postgres.stop('fast');
  }, 60_000);
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop('SIGKILL')));
    await postgres?.destroy();
  });

  it('down at start: the service starts and predicts at once, and the log catches up when PostgreSQL comes', async () => {
    if (postgres.running) await postgres.stop('fast');
    const server = await serve({ DATABASE_URL: postgres.urlOf('down_at_start') });
    await predict(server, 20);
    expect(await logStatus(server)).toEqual({ state: 'connecting', store: 'postgres', buffered: 20 });
    // One line for the whole episode, however many attempts it takes.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(server.output().split('\n').filter((line) => line.includes('the store cannot be reached or migrated'))).toHaveLength(1);

    await postgres.start();
    await caughtUp(server);
    expect(await postgres.count('down_at_start', 'predictions')).toBe(20);
    expect(await droppedTotal(server)).toBe(0);
    await stopped(server);
  }, 90_000);

  it('keeps every prediction across a restart of the service and of PostgreSQL', async () => {
    if (!postgres.running) await postgres.start();
    const url = postgres.urlOf('restart');
    const first = await serve({ DATABASE_URL: url });
    await caughtUp(first);
    await predict(first, 9);
    await stopped(first);
    await postgres.stop('fast');
    await postgres.start();

    const second = await serve({ DATABASE_URL: url });
    await predict(second, 4);
    await stopped(second);
    expect(await postgres.count('restart', 'predictions')).toBe(13);
  }, 90_000);

  it('a schema newer than the service knows stops the start when PostgreSQL answers then, with one line naming both versions', async () => {
    if (!postgres.running) await postgres.start();
    await postgres.run('newer', 'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)');
    await postgres.run('newer', "INSERT INTO schema_migrations VALUES (999, 'from-the-future', 0)");
    const server = startServer({ DATABASE_URL: postgres.urlOf('newer'), LOG_LEVEL: 'error' }, await freePort());
    servers.push(server);
    expect(await server.exited).toBe(1);
    const lines = server.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!).msg).toMatch(/^prediction log: PostgreSQL has schema version 999, newer than this service knows \(\d+\); run a release that knows it/);
  }, 60_000);

  it('killed under load: every prediction answers 200, the buffer is written when PostgreSQL returns, and written + dropped = served', async () => {
    const MAX_BUFFERED = 200;
    if (!postgres.running) await postgres.start();
    const server = await serve({ DATABASE_URL: postgres.urlOf('killed'), PREDICTION_LOG_MAX_BUFFERED: String(MAX_BUFFERED) });
    await caughtUp(server);
    const load = startLoad(server, 4);
    let servedAtKill = 0;
    let servedAtReturn = 0;
    try {
      await vi.waitFor(() => expect(load.served).toBeGreaterThanOrEqual(300), { timeout: 30_000, interval: 20 });
      await postgres.stop('immediate');
      servedAtKill = load.served;
      // Well past the buffer: some records must be dropped while the database is away.
      await vi.waitFor(() => expect(load.served).toBeGreaterThanOrEqual(servedAtKill + 3 * MAX_BUFFERED), { timeout: 60_000, interval: 20 });
      const whileDown = await logStatus(server);
      expect(whileDown).toMatchObject({ state: 'down', buffered: MAX_BUFFERED });
      await postgres.start();
      // The writer retries within a flush interval of the return; from then on the buffer has room.
      await vi.waitFor(async () => expect(await logStatus(server)).toMatchObject({ state: 'up' }), { timeout: 30_000, interval: 50 });
      servedAtReturn = load.served;
      await vi.waitFor(() => expect(load.served).toBeGreaterThanOrEqual(servedAtReturn + 300), { timeout: 30_000, interval: 20 });
    } finally {
      await load.stop();
    }
    await caughtUp(server);
    const dropped = await droppedTotal(server);
    const written = await postgres.count('killed', 'predictions');
    console.info(
      `prediction log kill test: served ${load.served} (${servedAtKill} before the kill, ${servedAtReturn - servedAtKill} until the log was up again, ` +
        `${load.served - servedAtReturn} after), written ${written}, dropped ${dropped} (buffer ${MAX_BUFFERED})`,
    );
    expect(Object.fromEntries(load.statuses)).toEqual({ 200: load.served });
    expect(dropped).toBeGreaterThan(0);
    expect(written + dropped).toBe(load.served);
    // Nothing served once the log was up again was dropped: the buffer had room, and the records held through the outage were written.
    expect(written).toBeGreaterThanOrEqual(load.served - servedAtReturn + MAX_BUFFERED);
    // One line when the writes start failing, one when they work again: not one per retry.
    const lines = (text: string) => server.output().split('\n').filter((line) => line.includes(text));
    expect(lines('writing to the store failed')).toHaveLength(1);
    expect(lines('the store takes records again')).toHaveLength(1);
    expect(lines('the buffer is full')).toHaveLength(1);
    await stopped(server);
    // The shutdown drain had nothing left to drop.
    expect(await postgres.count('killed', 'predictions')).toBe(written);
  }, 180_000);
});
