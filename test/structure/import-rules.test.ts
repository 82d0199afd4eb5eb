import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The layering rules of src/, checked on its import statements (type-only imports included: a
 * type import is still knowledge of the other module). A module is named by its path from the
 * repository root ('src/ops/health-routes.ts'), a package by its specifier ('fastify', 'node:http').
 * Patterns: `*` matches within one path segment, `**` across segments.
 */

const ROUTE_FILES = ['src/ops/*-routes.ts', 'src/churn-api/routes.ts', 'src/open-inference/routes.ts'];

interface ImportRule {
  rule: string;
  /** The modules the rule applies to. */
  modules: string[];
  /** Modules among those that the rule does not apply to. */
  exceptModules?: string[];
  /** What those modules must not import. */
  forbidden: string[];
  /** Imports the forbidden patterns match that are allowed all the same. */
  allowed?: string[];
}

const RULES: ImportRule[] = [
  {
    rule: 'only src/app.ts registers routes: no plugin, entry point or other module imports a route file',
    modules: ['src/**'],
    exceptModules: ['src/app.ts'],
    forbidden: ROUTE_FILES,
  },
  {
    rule: 'the data plane knows nothing of HTTP, the protocols or their shapes',
    modules: ['src/data-plane/**'],
    forbidden: ['fastify', 'fastify-*', '@fastify/*', 'node:http', 'node:http2', 'node:https', 'src/plugins/**', 'src/ops/**', 'src/churn-api/**', 'src/open-inference/**', 'src/schemas/**'],
    allowed: ['src/schemas/customer-features.ts', 'src/schemas/model-card.ts', 'src/schemas/reference-calibration.ts'],
  },
  {
    rule: 'metrics and monitoring are libraries: they import no plugin and no route file',
    modules: ['src/metrics/**', 'src/monitoring/**'],
    forbidden: ['src/plugins/**', ...ROUTE_FILES],
  },
];

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped.replace(/\*\*/g, '\0').replace(/\*/g, '[^/]*').replace(/\0/g, '.*')}$`);
}
const matchesAny = (name: string, patterns: readonly string[] = []) => patterns.some((pattern) => globToRegExp(pattern).test(name));

function sourceFiles(directory: string): string[] {
  return readdirSync(join(ROOT, directory), { withFileTypes: true }).flatMap((entry) => {
    const path = posix.join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** What `module` imports: other modules by their path from the root, packages by their specifier. */
function importsOf(module: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, module), 'utf8'), true, true);
  return importedFiles.map(({ fileName: specifier }) => {
    if (!specifier.startsWith('.')) return specifier;
    const target = relative(ROOT, join(ROOT, dirname(module), specifier)).split('\\').join('/');
    const source = target.replace(/\.js$/, '.ts');
    return existsSync(join(ROOT, source)) ? source : target;
  });
}

const MODULES = sourceFiles('src');
const IMPORTS = new Map(MODULES.map((module) => [module, importsOf(module)]));

function violationsOf({ modules, exceptModules, forbidden, allowed }: ImportRule): string[] {
  return MODULES.filter((module) => matchesAny(module, modules) && !matchesAny(module, exceptModules)).flatMap((module) =>
    IMPORTS.get(module)!.filter((target) => matchesAny(target, forbidden) && !matchesAny(target, allowed)).map((target) => `${module} imports ${target}`),
  );
}

/** Cycles of imports between modules of src/, each as "a -> b -> a": at least one through every tangle. */
function importCycles(): string[] {
  const cycles: string[] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (module: string) => {
    const onPath = path.indexOf(module);
    if (onPath !== -1) {
      cycles.push([...path.slice(onPath), module].join(' -> '));
      return;
    }
    if (done.has(module)) return;
    path.push(module);
    for (const target of IMPORTS.get(module) ?? []) if (IMPORTS.has(target)) visit(target);
    path.pop();
    done.add(module);
  };
  MODULES.forEach(visit);
  return cycles;
}

describe('import rules of src/', () => {
  it('reads every module\'s imports, type-only ones included', () => {
    expect(MODULES).toContain('src/app.ts');
    expect(IMPORTS.get('src/app.ts')).toEqual(expect.arrayContaining(['src/churn-api/routes.ts', 'src/open-inference/routes.ts', 'src/ops/health-routes.ts', 'fastify']));
    expect(IMPORTS.get('src/schemas/examples.ts')).toContain('src/schemas/errors.ts');
  });

  it.each(RULES.map((rule) => [rule.rule, rule] as const))('%s', (_rule, rule) => {
    expect(violationsOf(rule)).toEqual([]);
  });

  it('has no import cycle', () => {
    expect(importCycles()).toEqual([]);
  });
});
