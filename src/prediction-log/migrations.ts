import { readdirSync, readFileSync } from 'node:fs';

/** A versioned schema change: `NNN-name.sql` in src/prediction-log/migrations, shared by both stores. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const MIGRATION_FILE = /^(\d{3})-([a-z0-9-]+)\.sql$/;
const MIGRATIONS_DIRECTORY = new URL('./migrations/', import.meta.url);

/** Both stores keep the versions they applied here (created by the migrator, not by a migration). */
export const SCHEMA_MIGRATIONS_TABLE_SQL =
  'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)';

export function loadMigrations(directory: URL = MIGRATIONS_DIRECTORY): Migration[] {
  const migrations = readdirSync(directory)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => {
      const match = MIGRATION_FILE.exec(file);
      if (!match) throw new Error(`prediction log: migration file ${file} is not named NNN-name.sql`);
      return { version: Number(match[1]), name: match[2]!, sql: readFileSync(new URL(file, directory), 'utf8') };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new Error(`prediction log: migrations must be numbered 001, 002, … without gaps; found ${migration.version} at place ${index + 1}`);
  });
  return migrations;
}

/**
 * The database was migrated by a newer release. Never retried: no amount of waiting makes this code
 * know the schema, and writing into it could corrupt what the newer release relies on.
 */
export class SchemaNewerError extends Error {
  override name = 'SchemaNewerError';
  constructor(where: string, appliedVersion: number, newest: number) {
    super(
      `prediction log: ${where} has schema version ${appliedVersion}, newer than this service knows (${newest}); ` +
        'run a release that knows it, or point the service at another database',
    );
  }
}

/** The migrations still to apply, or a refusal when the database is ahead of this code. */
export function pendingMigrations(known: readonly Migration[], appliedVersion: number, where: string): Migration[] {
  const newest = known.at(-1)?.version ?? 0;
  if (appliedVersion > newest) throw new SchemaNewerError(where, appliedVersion, newest);
  return known.filter((migration) => migration.version > appliedVersion);
}
