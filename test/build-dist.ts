import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function buildDist(): void {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
}

/**
 * Global setup of the tests that run the compiled server: builds dist/ from the sources once per
 * run, so they never run a stale build. Vitest calls it only when one of those tests is selected;
 * in watch mode, again before each rerun that includes one of them.
 */
export default function setup(project: TestProject): void {
  buildDist();
  project.vitest.onTestsRerun((specifications) => {
    if (specifications.some((specification) => specification.project.name === project.name)) buildDist();
  });
}
