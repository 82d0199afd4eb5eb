/**
 * Runs a benchmark server inside a memory cgroup with the Kubernetes deployment's own memory limit,
 * as a pod runs it. Node.js sizes V8's heap from the limit it finds (process.constrainedMemory()):
 * 512 MiB gives a heap limit of about 259 MB where this 24 GB machine gives 4 GB, and V8 then lets
 * the old generation grow by a factor of about 1.3 between full collections instead of 4. Peak RSS
 * and CPU per request both differ from an unlimited run, so the benchmark measures both.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

const BINARY_UNITS: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL_UNITS: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** Bytes in a Kubernetes memory quantity: "512Mi", "1G", "268435456". */
export function memoryQuantityBytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity.trim());
  if (!match) throw new Error(`not a Kubernetes memory quantity: ${JSON.stringify(quantity)}`);
  const unit = match[2];
  const scale = unit === undefined ? 1 : (BINARY_UNITS[unit] ?? DECIMAL_UNITS[unit]!);
  return Math.round(Number(match[1]) * scale);
}

/** The memory limit of the Deployment's first container, as written ("512Mi"). */
export function deploymentMemoryLimit(manifestYaml: string): string {
  for (const document of parseAllDocuments(manifestYaml)) {
    const manifest = document.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: { resources?: { limits?: { memory?: unknown } } }[] } } } };
    if (manifest?.kind !== 'Deployment') continue;
    const limit = manifest.spec?.template?.spec?.containers?.[0]?.resources?.limits?.memory;
    if (typeof limit === 'string' || typeof limit === 'number') return String(limit);
  }
  throw new Error('the manifest has no Deployment with a memory limit on its first container');
}

/** Where a new memory cgroup goes and which file takes its limit, or why there is none. */
export type CgroupPlan = { directory: string; limitFile: string } | { unavailable: string };

/**
 * A child cgroup named `name` for this process's memory hierarchy, from /proc/self/cgroup and the
 * mount under `root`. cgroup v2 (one line "0::/path", memory in the root's subtree_control): a
 * child of the root, since v2 keeps processes out of inner nodes and ours may hold some. cgroup v1
 * (a line "N:memory:/path"): a child of this process's own memory cgroup.
 */
export function planMemoryCgroup(
  procSelfCgroup: string,
  name: string,
  root = '/sys/fs/cgroup',
  exists: (path: string) => boolean = existsSync,
  read: (file: string) => string = (file) => readFileSync(file, 'utf8'),
): CgroupPlan {
  const lines = procSelfCgroup.split('\n').filter((line) => line.trim() !== '');
  const v1 = lines.map((line) => line.split(':')).find(([, controllers]) => controllers?.split(',').includes('memory'));
  if (v1 && exists(join(root, 'memory'))) {
    const directory = join(root, 'memory', v1.slice(2).join(':'), name);
    return { directory, limitFile: 'memory.limit_in_bytes' };
  }
  if (exists(join(root, 'cgroup.controllers'))) {
    const enabled = exists(join(root, 'cgroup.subtree_control')) ? read(join(root, 'cgroup.subtree_control')).split(/\s+/) : [];
    if (!enabled.includes('memory')) return { unavailable: `cgroup v2 without the memory controller in ${join(root, 'cgroup.subtree_control')}` };
    return { directory: join(root, name), limitFile: 'memory.max' };
  }
  return { unavailable: `no memory cgroup hierarchy under ${root}` };
}

/** A memory cgroup made for one benchmark run: `wrap` puts a command into it, `remove` deletes it once its processes are gone. */
export interface MemoryCgroup {
  bytes: number;
  wrap(command: string[]): string[];
  remove(): void;
}

/** Makes the cgroup `name` limited to `bytes`, or answers why it cannot (not root, no memory controller). */
export function memoryCgroup(name: string, bytes: number): MemoryCgroup | { unavailable: string } {
  const plan = planMemoryCgroup(readFileSync('/proc/self/cgroup', 'utf8'), name);
  if ('unavailable' in plan) return plan;
  try {
    mkdirSync(plan.directory, { recursive: true });
    writeFileSync(join(plan.directory, plan.limitFile), String(bytes));
  } catch (error) {
    return { unavailable: `cannot make ${plan.directory}: ${(error as Error).message}` };
  }
  const procs = join(plan.directory, 'cgroup.procs');
  return {
    bytes,
    // The shell enters the cgroup, then becomes the command (exec): the server keeps the shell's pid.
    wrap: (command) => ['sh', '-c', `echo $$ > '${procs}' && exec "$@"`, 'sh', ...command],
    remove: () => {
      try {
        rmdirSync(plan.directory);
      } catch {
        // A process still inside keeps it; the next run reuses the directory.
      }
    },
  };
}
