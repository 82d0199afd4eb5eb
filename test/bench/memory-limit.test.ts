import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deploymentMemoryLimit, memoryQuantityBytes, planMemoryCgroup } from '../../bench/memory-limit.js';

describe("the benchmark's memory limit", () => {
  it('reads Kubernetes memory quantities in binary and decimal units', () => {
    expect(memoryQuantityBytes('512Mi')).toBe(512 * 2 ** 20);
    expect(memoryQuantityBytes('1Gi')).toBe(2 ** 30);
    expect(memoryQuantityBytes('1.5Gi')).toBe(1.5 * 2 ** 30);
    expect(memoryQuantityBytes('500M')).toBe(500e6);
    expect(memoryQuantityBytes('268435456')).toBe(268435456);
    expect(() => memoryQuantityBytes('512MB')).toThrow(/not a Kubernetes memory quantity/);
  });

  it("takes the limit from the manifest's Deployment, so the benchmark follows the manifest", () => {
    const manifest = readFileSync(new URL('../../deploy/k8s/deployment.yaml', import.meta.url), 'utf8');
    expect(deploymentMemoryLimit(manifest)).toBe('512Mi');
    const edited = manifest.replace(/(limits:\s*\n\s*cpu: "1"\s*\n\s*memory: )512Mi/, '$1768Mi');
    expect(edited).not.toBe(manifest);
    expect(deploymentMemoryLimit(edited)).toBe('768Mi');
    expect(() => deploymentMemoryLimit('kind: Service\n')).toThrow(/no Deployment/);
  });

  it("puts a cgroup v1 server under this process's own memory cgroup", () => {
    const exists = (path: string) => ['/cg/memory'].includes(path);
    const plan = planMemoryCgroup('4:memory:/process_api/abc\n3:cpuset:/\n0::/\n', 'bench-1', '/cg', exists);
    expect(plan).toEqual({ directory: '/cg/memory/process_api/abc/bench-1', limitFile: 'memory.limit_in_bytes' });
  });

  it('puts a cgroup v2 server under the root, and only where the memory controller is enabled', () => {
    const exists = (path: string) => ['/cg/cgroup.controllers', '/cg/cgroup.subtree_control'].includes(path);
    expect(planMemoryCgroup('0::/user.slice/session-1.scope\n', 'bench-1', '/cg', exists, () => 'cpu io memory pids\n')).toEqual({
      directory: '/cg/bench-1',
      limitFile: 'memory.max',
    });
    expect(planMemoryCgroup('0::/\n', 'bench-1', '/cg', exists, () => 'cpu pids\n')).toEqual({ unavailable: expect.stringMatching(/without the memory controller/) });
    expect(planMemoryCgroup('0::/\n', 'bench-1', '/cg', () => false)).toEqual({ unavailable: expect.stringMatching(/no memory cgroup/) });
  });
});
