import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * What a client project does with packages/service-types: `npm pack` it, install the tarball into
 * a fresh project, and typecheck a client against it with this repository's tsc (by path: the
 * package itself must bring no dependency, so the install runs offline).
 */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PACKAGE_DIRECTORY = join(ROOT, 'packages/service-types');
const PACKAGE_NAME = 'churn-service-types';
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
// Under `npm test`, npm passes its settings to children as npm_* variables (the prefix among
// them); the npm commands here must act on the temporary project alone.
const ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));

let workspace: string;
let project: string;
let packedFiles: string[];

async function typecheck(): Promise<{ exitCode: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [TSC, '-p', project], { cwd: project });
    return { exitCode: 0, output: stdout };
  } catch (error) {
    const { code, stdout } = error as { code: number; stdout: string };
    return { exitCode: code, output: stdout };
  }
}

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'churn-service-types-'));
  const { stdout } = await run('npm', ['pack', PACKAGE_DIRECTORY, '--pack-destination', workspace, '--json', '--cache', join(workspace, 'npm-cache')], { env: ENV });
  const [packed] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
  packedFiles = packed.files.map(({ path }) => path).sort();

  project = join(workspace, 'client');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'churn-client', version: '0.0.0', private: true, type: 'module' }));
  await run('npm', ['install', join(workspace, packed.filename), '--offline', '--no-audit', '--no-fund', '--cache', join(workspace, 'npm-cache')], { cwd: project, env: ENV });
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2023',
        lib: ['ES2023'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        verbatimModuleSyntax: true,
        // The installed declarations are checked too, not only their use.
        skipLibCheck: false,
        noEmit: true,
        // fetch, AbortSignal and process for the example client: this repository's @types/node.
        typeRoots: [join(ROOT, 'node_modules/@types')],
        types: ['node'],
      },
      include: ['*.ts'],
    }),
  );
}, 120_000);

afterAll(() => {
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

describe('the churn-service-types tarball, installed into a fresh project', () => {
  it('holds the declarations, the manifest and the README, and installs nothing else', () => {
    expect(packedFiles).toEqual(['README.md', 'index.d.ts', 'package.json']);
    expect(readdirSync(join(project, 'node_modules')).filter((entry) => !entry.startsWith('.'))).toEqual([PACKAGE_NAME]);
    const installed = JSON.parse(readFileSync(join(project, 'node_modules', PACKAGE_NAME, 'package.json'), 'utf8')) as Record<string, unknown>;
    const service = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(installed).toMatchObject({ name: PACKAGE_NAME, version: service.version });
  });

  it('typechecks the example TypeScript client, its import unchanged, under strict settings', async () => {
    rmSync(join(project, 'wrong-client.ts'), { force: true });
    copyFileSync(join(ROOT, 'examples/typescript-client.ts'), join(project, 'client.ts'));
    expect(readFileSync(join(project, 'client.ts'), 'utf8')).toContain(`from '${PACKAGE_NAME}';`);
    expect(await typecheck()).toEqual({ exitCode: 0, output: '' });
  }, 120_000);

  it('fails a client that leaves out a required feature or names a risk tier that does not exist', async () => {
    rmSync(join(project, 'client.ts'), { force: true });
    const lines = [
      `import type { CustomerFeatures, PredictionResponse } from '${PACKAGE_NAME}';`,
      `export const customer: CustomerFeatures = { tenure_months: 2, monthly_charges: 70.7, total_charges: 151.65, has_support_calls: 0 };`,
      `export const prediction: PredictionResponse = { churn_probability: 0.9, churn_prediction: true, risk_tier: 'VERY_HIGH', model_version: '1.1.0' };`,
    ];
    writeFileSync(join(project, 'wrong-client.ts'), `${lines.join('\n')}\n`);
    const { exitCode, output } = await typecheck();
    expect(exitCode).not.toBe(0);
    // tsc names each mistake by line and column: the object without num_products, the bad tier's property.
    expect(output).toContain(`wrong-client.ts(2,${lines[1]!.indexOf('customer') + 1}): error TS2741: Property 'num_products' is missing`);
    expect(output).toContain(`wrong-client.ts(3,${lines[2]!.indexOf('risk_tier') + 1}): error TS2322: Type '"VERY_HIGH"' is not assignable to type 'RiskTier'.`);
    expect(output.match(/error TS/g)).toHaveLength(2);
  }, 120_000);
});
