import { PostgresPredictionLogStore } from './postgres-store.js';
import type { PredictionLogStore } from './prediction-log-store.js';
import { SqlitePredictionLogStore } from './sqlite-store.js';

/**
 * PostgreSQL when a postgres:// URL is given (several replicas, one log); the embedded SQLite file
 * otherwise. Nothing is migrated here (see PredictionLogStoreConnection): PostgreSQL is not even
 * contacted, while SQLite opens its file now, so an unwritable DATA_DIR throws at once.
 */
export function createPredictionLogStore(options: { dataDir: string; databaseUrl?: string | undefined }): PredictionLogStore {
  return options.databaseUrl === undefined || options.databaseUrl === ''
    ? new SqlitePredictionLogStore(options.dataDir)
    : new PostgresPredictionLogStore({ connectionString: options.databaseUrl });
}
