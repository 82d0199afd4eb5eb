import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { renderServiceTypes, SERVICE_TYPES, SERVICE_TYPES_DIRECTORY, SERVICE_TYPES_PACKAGE_NAME } from '../../scripts/service-types.js';
import { CustomerFeatures } from '../../src/schemas/customer-features.js';
import { SHARED_SCHEMAS } from '../../src/schemas/shared-schemas.js';

const ROOT_PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const generated = await renderServiceTypes();
const declarations = generated['index.d.ts'];

describe('packages/service-types, generated from the schemas', () => {
  it.each(Object.keys(generated) as (keyof typeof generated)[])('the committed %s is what the schemas generate now (else run `npm run build:types`)', (file) => {
    expect(readFileSync(join(SERVICE_TYPES_DIRECTORY, file), 'utf8')).toBe(generated[file]);
  });

  it('exports every shared schema under its $id, and the parts clients name on their own', () => {
    const exported = [...declarations.matchAll(/^export (?:interface|type) (\w+)/gm)].map((match) => match[1]);
    expect(exported).toEqual(SERVICE_TYPES.map(({ name }) => name));
    expect(exported).toEqual(expect.arrayContaining(SHARED_SCHEMAS.map((schema) => schema.$id)));
    expect(exported).toEqual(expect.arrayContaining(['BatchPredictionRequest', 'RiskTier', 'ValidationIssue', 'OipDatatype']));
  });

  it('declares a type once and refers to it by name wherever another type contains it', () => {
    expect(declarations).toContain('  risk_tier: RiskTier;\n');
    expect(declarations).toContain('  explanation?: Explanation;\n');
    expect(declarations).toContain('  customers: CustomerFeatures[];\n');
    expect(declarations).toContain('  detail: ValidationIssue[];\n');
    expect(declarations).toContain('  card: ModelCard | null;\n');
    expect(declarations).toContain('  datatype: OipDatatype;\n');
    // json-schema-to-typescript names a second copy of a type Name1, Name2...
    expect(declarations).not.toMatch(new RegExp(`\\b(${SERVICE_TYPES.map(({ name }) => name).join('|')})\\d+\\b`));
  });

  it('keeps the schemas\' descriptions as doc comments and their required and optional fields', () => {
    const customer = /export interface CustomerFeatures \{\n([\s\S]*?)\n\}/.exec(declarations)![1]!;
    expect(customer).toContain(`   * ${CustomerFeatures.properties.tenure_months.description}\n   */\n  tenure_months: number;`);
    expect(customer).toContain('  customer_id?: string;');
    expect(declarations).toContain("export type RiskTier = 'HIGH' | 'MEDIUM' | 'LOW';");
    expect(declarations).toContain('  model_version: string | null;');
    // A record's index signature, and none on objects that do not declare one.
    expect(declarations).toContain('  ctx?: {\n    [k: string]: string | number;\n  };');
    expect(customer).not.toContain('[k: string]');
  });

  it('writes a package.json with the service\'s version and no dependencies', () => {
    const manifest = JSON.parse(generated['package.json']) as Record<string, unknown>;
    expect(manifest).toMatchObject({ name: SERVICE_TYPES_PACKAGE_NAME, version: ROOT_PACKAGE.version, types: './index.d.ts', files: ['index.d.ts'] });
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'scripts']) expect(manifest).not.toHaveProperty(field);
  });

  it('refuses to leave out a shared schema', async () => {
    const withoutDrift = SERVICE_TYPES.filter(({ name }) => name !== 'DriftReport');
    await expect(renderServiceTypes(withoutDrift)).rejects.toThrow('shared schemas missing from SERVICE_TYPES: DriftReport');
  });

  it('refuses a $ref to a schema it does not export', async () => {
    const orphanRef = { name: 'Orphan', schema: Type.Object({ other: Type.Ref('NotExported') }) };
    await expect(renderServiceTypes([...SERVICE_TYPES, orphanRef])).rejects.toThrow('a schema refers to NotExported, which is not in SERVICE_TYPES');
  });
});
