/**
 * What the SQLite prediction log's insert costs per row on the main thread (the background
 * thread's checkpoints are not counted: process.threadCpuUsage), with the writer's largest batch (500 records) built as
 * the recorder builds them: one model, protocol and role per batch, one customer (what the HTTP
 * bench sends) or, with PREDICTION_LOG_RANDOM_CUSTOMERS=1, one of a million per row. With
 * PREDICTION_LOG_SHADOW=1 every other record is a challenger's shadow score of the row before.
 *
 *   npx tsx bench/prediction-log-insert.ts
 *   PREDICTION_LOG_BASELINE=/tmp/log-base npx tsx bench/prediction-log-insert.ts
 *
 * PREDICTION_LOG_BASELINE names other checkouts of the service, comma-separated (its src/ is
 * enough: `git archive <commit> src | tar -x -C /tmp/log-base`). Each checkout writes a database of its
 * own, batch by batch in turns (the order alternating), so before and after share the machine's
 * moment; the rows are cut into rounds and min / median / max are over the rounds.
 * PREDICTION_LOG_PREFILL rows are written first (untimed), to see whether a large table costs more.
 *
 * Beside the checkouts, "SQLite's floor": the same records, bound by the same recordToColumns, into a
 * table of the same columns with no primary key and no index, one transaction per batch. No log that
 * keeps one row per prediction in node:sqlite writes a row for less; the benchmark's targets are
 * weighed against it (bench/README.md).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BATCH = 500;
const ROUNDS = Number(process.env.PREDICTION_LOG_ROUNDS ?? 5);
const ROWS_PER_ROUND = Number(process.env.PREDICTION_LOG_ROWS_PER_ROUND ?? 20_000);
const PREFILL = Number(process.env.PREDICTION_LOG_PREFILL ?? 0);
const RANDOM_CUSTOMERS = process.env.PREDICTION_LOG_RANDOM_CUSTOMERS === '1';
const SHADOW = process.env.PREDICTION_LOG_SHADOW === '1';

/** What the bench needs of a checkout's store: loosely typed, since a baseline may predate today's API. */
interface Store {
  migrate(): Promise<void>;
  insert(records: readonly unknown[]): Promise<void>;
  close(): Promise<void>;
}
interface Checkout {
  name: string;
  dir: string;
  store: Store;
  samples: number[];
}

async function checkout(name: string, root: string): Promise<Checkout> {
  const { SqlitePredictionLogStore } = await import(pathToFileURL(join(root, 'src/prediction-log/sqlite-store.ts')).href);
  const dir = mkdtempSync(join(tmpdir(), 'prediction-log-insert-'));
  const store = new SqlitePredictionLogStore(dir) as Store;
  await store.migrate();
  return { name, dir, store, samples: [] };
}

/** The floor: what writing the row costs when SQLite maintains nothing but the table itself. */
async function sqliteFloor(): Promise<Checkout> {
  const { PREDICTION_COLUMNS, recordToColumns } = await import(pathToFileURL(join(ROOT, 'src/prediction-log/prediction-log-store.ts')).href);
  const dir = mkdtempSync(join(tmpdir(), 'prediction-log-insert-'));
  const database = new DatabaseSync(join(dir, 'prediction-log.sqlite'));
  database.exec('PRAGMA journal_mode = WAL');
  database.exec('PRAGMA synchronous = NORMAL');
  const columns = PREDICTION_COLUMNS as readonly string[];
  database.exec(`CREATE TABLE predictions (${columns.join(', ')})`);
  const insert = database.prepare(`INSERT INTO predictions (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
  const values = new Array(columns.length);
  const store: Store = {
    migrate: async () => {},
    insert: async (records) => {
      database.exec('BEGIN IMMEDIATE');
      for (const record of records) insert.run(...recordToColumns(record, values));
      database.exec('COMMIT');
    },
    close: async () => database.close(),
  };
  return { name: "SQLite's floor: the same columns, no key, no index", dir, store, samples: [] };
}

const { timeOrderedUuid } = await import(pathToFileURL(join(ROOT, 'src/data-plane/time-ordered-id.ts')).href);
const SHA = 'ab'.repeat(32);
function batch(): unknown[] {
  const recordedAt = new Date();
  const requestId = `req-${Math.floor(Math.random() * 1e9)}`;
  let servedRecord: { predictionId: string; customerId: string } | undefined;
  return Array.from({ length: BATCH }, (_, index) => {
    const predictionId: string = timeOrderedUuid(recordedAt.getTime());
    const probability = Math.random();
    const shadowOf = SHADOW && index % 2 === 1 ? servedRecord : undefined;
    const customerId = shadowOf?.customerId ?? (RANDOM_CUSTOMERS ? `C-${Math.floor(Math.random() * 1e6)}` : '9237-HQITU');
    servedRecord = { predictionId, customerId };
    return {
      predictionId,
      rowKey: shadowOf?.predictionId ?? predictionId,
      role: shadowOf ? 'challenger' : 'champion',
      served: shadowOf === undefined,
      recordedAt,
      requestId,
      customerId,
      protocol: 'rest',
      modelName: 'churn',
      modelVersion: shadowOf ? '2.0.0' : '1.2.0',
      modelSha256: SHA,
      features: { tenure_months: index % 72, monthly_charges: 70.7, total_charges: 151.65, num_products: 2, has_support_calls: 0 },
      probability,
      prediction: probability >= 0.5 ? 1 : 0,
      tier: probability >= 0.7 ? 'HIGH' : 'LOW',
      implausible: [],
    };
  });
}

const checkouts = [await checkout('this checkout', ROOT)];
for (const root of (process.env.PREDICTION_LOG_BASELINE ?? '').split(',').filter(Boolean).reverse()) checkouts.unshift(await checkout(`baseline (${root})`, root));
checkouts.push(await sqliteFloor());

for (let rows = 0; rows < PREFILL; rows += BATCH) {
  const records = batch();
  for (const built of checkouts) await built.store.insert(records);
}
let turn = 0;
for (let round = 0; round < ROUNDS; round += 1) {
  const cpu = new Map<Checkout, number>(checkouts.map((built) => [built, 0]));
  for (let rows = 0; rows < ROWS_PER_ROUND; rows += BATCH) {
    const records = batch();
    turn += 1;
    for (const built of turn % 2 === 0 ? checkouts : [...checkouts].reverse()) {
      const before = process.threadCpuUsage();
      await built.store.insert(records);
      const used = process.threadCpuUsage(before);
      cpu.set(built, cpu.get(built)! + used.user + used.system);
    }
  }
  for (const built of checkouts) built.samples.push(cpu.get(built)! / ROWS_PER_ROUND);
}

const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
console.log(
  `Node ${process.version}, ${BATCH}-record batches, ${ROUNDS} rounds of ${ROWS_PER_ROUND} rows after ${PREFILL} prefilled, ${RANDOM_CUSTOMERS ? 'random customers' : 'one customer'}${SHADOW ? ', every other record a shadow score' : ''}.\n`,
);
console.log('| main-thread CPU µs per row | min | median | max |');
console.log('|---|---|---|---|');
for (const built of checkouts) {
  const values = sorted(built.samples);
  console.log(`| ${built.name} | ${values[0]!.toFixed(2)} | ${values[Math.floor(values.length / 2)]!.toFixed(2)} | ${values.at(-1)!.toFixed(2)} |`);
  await built.store.close();
  // Every record written, none lost: the count is read after the store closed.
  const database = new DatabaseSync(join(built.dir, 'prediction-log.sqlite'));
  const { rows } = database.prepare('SELECT COUNT(*) AS rows FROM predictions').get() as { rows: number };
  database.close();
  if (rows !== PREFILL + ROUNDS * ROWS_PER_ROUND) throw new Error(`${built.name}: ${rows} rows stored`);
  rmSync(built.dir, { recursive: true, force: true });
}
