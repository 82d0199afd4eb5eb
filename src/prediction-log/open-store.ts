import { PostgresPredictionLogStore } from './postgres-store.js';
import type { PredictionLogStore } from './prediction-log-store.js';
import { SqlitePredictionLogStore } from './sqlite-store.js';

/** PostgreSQL when a postgres:// URL is given (several replicas, one log); the embedded SQLite file otherwise. */
export async function openPredictionLogStore(options: { dataDir: string; databaseUrl?: string | undefined }): Promise<PredictionLogStore> {
  const store: PredictionLogStore =
    options.databaseUrl === undefined || options.databaseUrl === ''
      ? new SqlitePredictionLogStore(options.dataDir)
      : new PostgresPredictionLogStore({ connectionString: options.databaseUrl });
  try {
    await store.migrate();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  return store;
}
