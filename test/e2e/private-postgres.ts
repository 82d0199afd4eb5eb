import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './server-process.js';

const run = promisify(execFile);

/** Debian's PostgreSQL server programs (package postgresql-NN; the newest installed), or POSTGRES_BIN. */
export const POSTGRES_BIN = process.env.POSTGRES_BIN ?? newestDebianPostgres();

function newestDebianPostgres(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a)) : [];
  return join(root, versions[0] ?? '15', 'bin');
}

export function privatePostgresAvailable(): boolean {
  return existsSync(join(POSTGRES_BIN, 'initdb')) && existsSync(join(POSTGRES_BIN, 'pg_ctl'));
}

/**
 * A PostgreSQL server of the test's own, in a temporary directory on a free port, that the test may
 * stop and start (`pg_ctl stop -m immediate` is the closest to a crash that leaves the machine
 * alone). The machine's shared server on 5432 is never touched. PostgreSQL refuses to run as root:
 * as root, its programs run as the `postgres` user.
 */
export class PrivatePostgres {
  readonly url: string;
  readonly #directory: string;
  readonly #port: number;
  #running = false;

  private constructor(directory: string, port: number) {
    this.#directory = directory;
    this.#port = port;
    this.url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  }

  /** A new cluster, initialised but not started. */
  static async create(): Promise<PrivatePostgres> {
    const directory = mkdtempSync(join(tmpdir(), 'churn-private-pg-'));
    if (process.getuid?.() === 0) chownSync(directory, ...postgresIds());
    const server = new PrivatePostgres(directory, await freePort());
    await server.#pg('initdb', ['-D', server.#dataDirectory, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
    return server;
  }

  get #dataDirectory(): string {
    return join(this.#directory, 'data');
  }

  async start(): Promise<void> {
    const options = `-p ${this.#port} -k ${this.#directory} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=20`;
    await this.#pg('pg_ctl', ['-D', this.#dataDirectory, '-l', join(this.#directory, 'server.log'), '-o', options, '-w', '-t', '30', 'start']);
    this.#running = true;
  }

  get running(): boolean {
    return this.#running;
  }

  /** `immediate` aborts every connection at once, without a checkpoint, as a crash would. */
  async stop(mode: 'immediate' | 'fast' = 'immediate'): Promise<void> {
    await this.#pg('pg_ctl', ['-D', this.#dataDirectory, '-m', mode, '-w', '-t', '30', 'stop']);
    this.#running = false;
  }

  /** The URL of one database of this server. */
  urlOf(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.#port}/${database}`;
  }

  /** Creates a database (the server must run), so each test has a log of its own. */
  async createDatabase(database: string): Promise<string> {
    await this.#query(this.url, `CREATE DATABASE ${database}`);
    return this.urlOf(database);
  }

  /** Runs SQL in one database of this server. */
  async run(database: string, sql: string): Promise<void> {
    await this.#query(this.urlOf(database), sql);
  }

  /** Rows in a table of one database. */
  async count(database: string, table: string): Promise<number> {
    const rows = await this.#query<{ count: string }>(this.urlOf(database), `SELECT count(*) AS count FROM ${table}`);
    return Number(rows[0]!.count);
  }

  async #query<Row extends pg.QueryResultRow>(url: string, sql: string): Promise<Row[]> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<Row>(sql)).rows;
    } finally {
      await client.end();
    }
  }

  /** Stops the server if it runs, and removes its directory. */
  async destroy(): Promise<void> {
    if (this.#running) await this.stop('immediate').catch(() => undefined);
    rmSync(this.#directory, { recursive: true, force: true });
  }

  async #pg(program: string, args: string[]): Promise<void> {
    const path = join(POSTGRES_BIN, program);
    const [command, commandArgs] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
    await run(command, commandArgs, { cwd: this.#directory });
  }
}

/** The uid and gid of the `postgres` user (`id` is in every base system; a missing user fails here with its own message). */
function postgresIds(): [number, number] {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return [id('-u'), id('-g')];
}
