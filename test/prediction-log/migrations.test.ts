import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMigrations, pendingMigrations } from '../../src/prediction-log/migrations.js';

let directory: string | undefined;
afterEach(() => {
  if (directory) rmSync(directory, { recursive: true, force: true });
  directory = undefined;
});

function migrationsIn(files: Record<string, string>): URL {
  directory = mkdtempSync(join(tmpdir(), 'migrations-'));
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(directory, name), sql);
  return pathToFileURL(`${directory}/`);
}

describe('prediction log migrations', () => {
  it('the repository ships 001-predictions first, numbered from 1', () => {
    const migrations = loadMigrations();
    expect(migrations[0]).toMatchObject({ version: 1, name: 'predictions' });
    expect(migrations.map((migration) => migration.version)).toEqual(migrations.map((_, index) => index + 1));
  });

  it('loads in version order, whatever order the directory lists them', () => {
    const loaded = loadMigrations(migrationsIn({ '002-second.sql': 'B', '001-first.sql': 'A' }));
    expect(loaded).toEqual([
      { version: 1, name: 'first', sql: 'A' },
      { version: 2, name: 'second', sql: 'B' },
    ]);
  });

  it('refuses a gap in the numbering', () => {
    expect(() => loadMigrations(migrationsIn({ '001-first.sql': 'A', '003-third.sql': 'C' }))).toThrow('without gaps');
  });

  it('refuses a file not named NNN-name.sql', () => {
    expect(() => loadMigrations(migrationsIn({ '1-first.sql': 'A' }))).toThrow('1-first.sql is not named NNN-name.sql');
  });

  it('applies only the versions after the one the database has', () => {
    const known = [
      { version: 1, name: 'a', sql: '' },
      { version: 2, name: 'b', sql: '' },
    ];
    expect(pendingMigrations(known, 0, 'db').map((migration) => migration.version)).toEqual([1, 2]);
    expect(pendingMigrations(known, 1, 'db').map((migration) => migration.version)).toEqual([2]);
    expect(pendingMigrations(known, 2, 'db')).toEqual([]);
    expect(() => pendingMigrations(known, 3, 'db')).toThrow('db has schema version 3, newer than this service knows (2)');
  });
});
