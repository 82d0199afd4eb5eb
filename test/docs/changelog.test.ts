import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, userDocs } from './markdown-checks.js';

const SEMVER = /^(\d+)\.(\d+)\.(\d+)$/;
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

/** The versions of CHANGELOG.md's entries (`## 1.8.0 - 2026-12-02`), newest first. */
function changelogVersions(changelog: string): string[] {
  return [...changelog.matchAll(/^## (\S+) - \d{4}-\d{2}-\d{2}$/gm)].map((match) => match[1]!);
}

const newerThan = (a: string, b: string) => {
  const [x, y] = [SEMVER.exec(a)!.slice(1).map(Number), SEMVER.exec(b)!.slice(1).map(Number)];
  const first = x.findIndex((part, index) => part !== y[index]);
  return first !== -1 && x[first]! > y[first]!;
};

/** Image tags `churn-service:X.Y.Z` in a text that are not the package's version. */
function otherImageTags(text: string, current: string): string[] {
  return [...text.matchAll(/churn-service:(\d+\.\d+\.\d+)\b/g)].map((match) => match[1]!).filter((tag) => tag !== current);
}

describe('CHANGELOG.md', () => {
  const versions = changelogVersions(readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8'));

  it('lists semantic versions, newest first, each once', () => {
    expect(versions.length).toBeGreaterThan(1);
    for (const entry of versions) expect(entry).toMatch(SEMVER);
    for (let index = 1; index < versions.length; index += 1) expect(newerThan(versions[index - 1]!, versions[index]!), `${versions[index - 1]} before ${versions[index]}`).toBe(true);
  });

  it('has package.json\'s version as its newest entry', () => {
    expect(versions[0]).toBe(version);
  });

  it('orders versions by number, not by text, and finds entries only in their heading form', () => {
    expect(newerThan('1.10.0', '1.9.3')).toBe(true);
    expect(newerThan('1.9.3', '1.10.0')).toBe(false);
    expect(newerThan('1.8.0', '1.8.0')).toBe(false);
    expect(changelogVersions('# Changelog\n\n## 2.0.0 - 2027-01-01\n\n### Added\n\nSee 1.9.0.\n## 1.9.0 - 2026-12-31\n')).toEqual(['2.0.0', '1.9.0']);
  });
});

describe('image tags', () => {
  it.each([...userDocs(), join('deploy', 'k8s', 'deployment.yaml')])('%s tags the image with package.json\'s version', (file) => {
    expect(otherImageTags(readFileSync(join(ROOT, file), 'utf8'), version)).toEqual([]);
  });

  it('finds a tag of another version', () => {
    expect(otherImageTags('docker build -t churn-service:1.0.0 . && docker push registry/churn-service:1.8.0', '1.8.0')).toEqual(['1.0.0']);
  });
});
