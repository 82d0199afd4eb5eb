import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { anchorsOf, brokenLinks, headingSlug, markdownFiles, missingCodePaths, ROOT, userDocs, type ReadPage } from './markdown-checks.js';

/** A reference to the project's issue tracker ("issue 13", "issues 8 and 9", "#14"): readers have no access to it. */
const ISSUE_REFERENCE = /\bissues? #?\d+\b|(?<![&\w])#\d+\b/i;

describe('links in the documentation', () => {
  it('covers the README, the changelog and every page under docs/', () => {
    expect(userDocs()).toEqual(expect.arrayContaining(['README.md', 'CHANGELOG.md', 'docs/api.md', 'docs/configuration.md', 'docs/design/README.md']));
  });

  it.each(markdownFiles())('every relative link of %s leads to a file that exists, and to a heading it has', (file) => {
    expect(brokenLinks(file)).toEqual([]);
  });

  it.each(userDocs())('every repository path %s writes as code exists', (file) => {
    expect(missingCodePaths(file)).toEqual([]);
  });

  it.each(markdownFiles())('%s cites no issue numbers', (file) => {
    const citing = readFileSync(join(ROOT, file), 'utf8').split('\n').filter((line) => ISSUE_REFERENCE.test(line));
    expect(citing).toEqual([]);
  });
});

describe('the link checks themselves', () => {
  const pages: Record<string, string> = {
    'README.md': '# Title\n\nSee [api](docs/api.md#errors), [gone](docs/gone.md), [bad anchor](docs/api.md#nope), [out](../x.md), [web](https://example.com/#x), [self](#title).\n\n```\n[in code](docs/nowhere.md)\n```\n',
    'docs/api.md': '# API\n\n## Errors\n\n`src/nowhere.ts` and `src/here.ts`\n',
    'src/here.ts': '',
  };
  const read: ReadPage = (file) => pages[file];
  const exists = (file: string) => file in pages || file === 'docs';

  it('reports a missing file, a missing anchor and a link out of the repository, and nothing in code or on the web', () => {
    expect(brokenLinks('README.md', read, exists)).toEqual([
      'README.md: docs/gone.md: docs/gone.md does not exist',
      'README.md: docs/api.md#nope: docs/api.md has no heading #nope',
      'README.md: ../x.md points out of the repository',
    ]);
  });

  it('recognises an issue reference, and not an HTML entity or a heading', () => {
    for (const cited of ['once issue 13 ships it', 'split (issue 19)', 'issues 8 and 9', 'the target (#8)', '#14']) expect(cited).toMatch(ISSUE_REFERENCE);
    for (const plain of ['&#8212;', '## Heading', 'the issues it asks', 'validation-issues.ts', 'page#anchor']) expect(plain).not.toMatch(ISSUE_REFERENCE);
  });

  it('reports a repository path written as code that does not exist', () => {
    expect(missingCodePaths('docs/api.md', read, exists)).toEqual(['docs/api.md: `src/nowhere.ts` does not exist']);
  });

  it('slugs headings as GitHub does', () => {
    expect(headingSlug('The model card: `GET /model`')).toBe('the-model-card-get-model');
    expect(headingSlug('`POST /predict/batch`')).toBe('post-predictbatch');
    expect(headingSlug('Lax types, as FastAPI converts them')).toBe('lax-types-as-fastapi-converts-them');
    expect(headingSlug('1.8.0 - 2026-12-02')).toBe('180---2026-12-02');
    expect(headingSlug('What is logged, and what never is')).toBe('what-is-logged-and-what-never-is');
    expect(headingSlug('`MODEL_PATH` and [links](x.md)')).toBe('model_path-and-links');
    expect([...anchorsOf('# A\n## Fixed\n## Fixed\n```\n# not a heading\n```\n<a id="custom"></a>')]).toEqual(['a', 'fixed', 'fixed-1', 'custom']);
  });
});
