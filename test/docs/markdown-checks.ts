import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** The repository's root: the folder that holds package.json. */
export const ROOT = resolve(import.meta.dirname, '..', '..');

/** Folders that hold no documentation of this project (dependencies, builds, reports). */
const NOT_DOCS = new Set(['node_modules', 'dist', '.git', 'coverage', 'reports', '.stryker-tmp', 'test-artifacts', '__pycache__']);

/** Every Markdown file of the project, relative to the root, in a stable order. */
export function markdownFiles(folder = ROOT): string[] {
  return readdirSync(folder, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) return NOT_DOCS.has(entry.name) ? [] : markdownFiles(path);
      return entry.name.endsWith('.md') ? [relative(ROOT, path)] : [];
    })
    .sort();
}

/** The user documentation: the README, the changelog and every page under docs/. */
export function userDocs(): string[] {
  return markdownFiles().filter((file) => file === 'README.md' || file === 'CHANGELOG.md' || file.startsWith(`docs${sep}`));
}

/** The lines outside fenced code blocks, and the lines inside them. */
function splitFences(markdown: string): { prose: string; code: string } {
  const prose: string[] = [];
  const code: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    const closes = fence !== undefined && marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker;
    if (fence === undefined && marker !== undefined) fence = marker;
    else if (closes) fence = undefined;
    else if (fence === undefined) prose.push(line);
    else code.push(line);
  }
  return { prose: prose.join('\n'), code: code.join('\n') };
}

const CODE_SPAN = /(`+)([\s\S]*?[^`])\1(?!`)/g;

/** The contents of the inline code spans of some prose. */
function codeSpans(prose: string): string[] {
  return [...prose.matchAll(CODE_SPAN)].map((match) => match[2]!.replace(/\s+/g, ' ').trim());
}

/**
 * The anchor GitHub gives a heading (github-slugger): the rendered text lower-cased, every
 * character but letters, digits, marks, `_`, `-` and spaces dropped, each space a `-`.
 */
export function headingSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/`/g, '')
    .replace(/\*/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** The anchors a Markdown page offers: its headings' slugs (repeats numbered as GitHub does) and explicit ids. */
export function anchorsOf(markdown: string): Set<string> {
  const { prose } = splitFences(markdown);
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of prose.matchAll(/^ {0,3}#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = headingSlug(match[1]!);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  for (const match of prose.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(match[1]!);
  return anchors;
}

/** The link targets of a page, outside code: inline links, images and reference definitions. */
export function linkTargets(markdown: string): string[] {
  const prose = splitFences(markdown).prose.replace(CODE_SPAN, (span) => ' '.repeat(span.length));
  const inline = [...prose.matchAll(/!?\[(?:[^\][]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1]!);
  const references = [...prose.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((match) => match[1]!);
  return [...inline, ...references];
}

/** A file reader, so the checks run on made-up pages in tests of the checks themselves. */
export type ReadPage = (file: string) => string | undefined;

const readFromDisk: ReadPage = (file) => {
  const path = join(ROOT, file);
  return existsSync(path) && statSync(path).isFile() ? readFileSync(path, 'utf8') : undefined;
};

const pathExists = (file: string) => existsSync(join(ROOT, file));

/**
 * Every relative link of `file` that does not hold: a file or folder that does not exist, a
 * link out of the repository, or an #anchor its Markdown target does not have. Links with a
 * scheme (https:, mailto:) are not followed.
 */
export function brokenLinks(file: string, read: ReadPage = readFromDisk, exists: (file: string) => boolean = pathExists): string[] {
  const markdown = read(file) ?? '';
  const problems: string[] = [];
  for (const target of linkTargets(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    const [rawPath = '', anchor] = target.split('#', 2);
    const path = decodeURI(rawPath);
    const resolved = path === '' ? file : relative(ROOT, resolve(ROOT, dirname(file), path));
    if (resolved.startsWith('..')) {
      problems.push(`${file}: ${target} points out of the repository`);
      continue;
    }
    if (!exists(resolved)) {
      problems.push(`${file}: ${target}: ${resolved} does not exist`);
      continue;
    }
    if (anchor === undefined) continue;
    const page = resolved.endsWith('.md') ? read(resolved) : undefined;
    if (page === undefined) problems.push(`${file}: ${target}: #${anchor} points into ${resolved}, which is no Markdown page`);
    else if (!anchorsOf(page).has(decodeURIComponent(anchor))) problems.push(`${file}: ${target}: ${resolved} has no heading #${anchor}`);
  }
  return problems;
}

/** Repository paths written as code (`src/logger.ts`) that do not exist. */
export function missingCodePaths(file: string, read: ReadPage = readFromDisk, exists: (file: string) => boolean = pathExists): string[] {
  const { prose } = splitFences(read(file) ?? '');
  return codeSpans(prose)
    .filter((span) => /^(src|scripts|test|deploy|docs|examples|models|training|bench|packages)\/[\w./-]*$/.test(span))
    .filter((path) => !exists(path))
    .map((path) => `${file}: \`${path}\` does not exist`);
}

/**
 * The names a page writes as environment variables: in code spans and code blocks, an
 * UPPER_CASE name with an underscore (not a property, as in `cluster.SCHED_NONE`), any
 * upper-case name assigned (`PORT=8080`) or expanded (`$PORT`).
 */
export function variableNames(markdown: string): string[] {
  const { prose, code } = splitFences(markdown);
  const texts = [...codeSpans(prose), code];
  const names = texts.flatMap((text) => [
    ...[...text.matchAll(/(?<![\w.])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?![\w*])/g)].map((match) => match[1]!),
    ...[...text.matchAll(/(?<![\w.-])([A-Z][A-Z0-9]+)=/g)].map((match) => match[1]!),
    ...[...text.matchAll(/\$\{?([A-Z][A-Z0-9_]+)/g)].map((match) => match[1]!),
  ]);
  return [...new Set(names)];
}

/** Constants declared in src/ (`const NAME`, `export const NAME`), which design notes may name. */
export function sourceConstants(folder = join(ROOT, 'src')): Set<string> {
  const names = new Set<string>();
  for (const entry of readdirSync(folder, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    for (const match of text.matchAll(/\bconst\s+([A-Z][A-Z0-9_]+)\b/g)) names.add(match[1]!);
  }
  return names;
}
