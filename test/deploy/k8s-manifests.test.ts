import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { buildApp } from '../../src/app.js';
import { ConfigSchema, loadConfig } from '../../src/config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const K8S_DIR = join(ROOT, 'deploy/k8s');
/** The overlay for several replicas sharing one prediction log in PostgreSQL. */
const REPLICAS_DIR = join(ROOT, 'deploy/k8s-replicas');

/** A parsed YAML document; the tests below check its shape. */
type Doc = Record<string, any>;

/** The kinds kustomization.yaml may list: the model that validates each, and its interface for the field check. */
const KINDS: Record<string, { model: new (data: never) => { validate(): void }; module: string; type: string }> = {
  'v1/ConfigMap': { model: ConfigMap, module: 'kubernetes-models/v1/ConfigMap', type: 'IConfigMap' },
  'apps/v1/Deployment': { model: Deployment, module: 'kubernetes-models/apps/v1/Deployment', type: 'IDeployment' },
  'v1/Service': { model: Service, module: 'kubernetes-models/v1/Service', type: 'IService' },
  'v1/PersistentVolumeClaim': { model: PersistentVolumeClaim, module: 'kubernetes-models/v1/PersistentVolumeClaim', type: 'IPersistentVolumeClaim' },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    model: HorizontalPodAutoscaler,
    module: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
    type: 'IHorizontalPodAutoscaler',
  },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget, module: 'kubernetes-models/policy/v1/PodDisruptionBudget', type: 'IPodDisruptionBudget' },
};
const kindOf = (doc: Doc) => `${doc.apiVersion}/${doc.kind}`;

interface Manifest {
  /** file#index, for messages */
  name: string;
  doc: Doc;
}

function parseYamlDocuments(file: string, directory = K8S_DIR): Doc[] {
  return parseYamlText(readFileSync(join(directory, file), 'utf8'), file);
}

function parseYamlText(text: string, file: string): Doc[] {
  return parseAllDocuments(text).flatMap((document) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map(String).join('; ')}`);
    const doc = document.toJS() as Doc | null;
    return doc === null ? [] : [doc];
  });
}

/** Every document of every file that kustomization.yaml lists, in order. */
function loadManifests(): Manifest[] {
  const kustomization = parse(readFileSync(join(K8S_DIR, 'kustomization.yaml'), 'utf8')) as Doc;
  return (kustomization.resources as string[]).flatMap((file) => parseYamlDocuments(file).map((doc, index) => ({ name: `${file}#${index}`, doc })));
}

/**
 * The overlay as kustomize builds it, for the two kinds of patch it uses: `$patch: delete` of a whole
 * object, and JSON 6902 operations (add, replace, remove) on a target. Compared with
 * `kubectl kustomize` below wherever kubectl is installed.
 */
function loadOverlay(): Manifest[] {
  const kustomization = parse(readFileSync(join(REPLICAS_DIR, 'kustomization.yaml'), 'utf8')) as Doc;
  let result: Manifest[] = (kustomization.resources as string[]).flatMap((resource) =>
    resource === '../k8s' ? withImages(structuredClone(manifests)) : parseYamlDocuments(resource, REPLICAS_DIR).map((doc, index) => ({ name: `k8s-replicas/${resource}#${index}`, doc })),
  );
  const matches = (doc: Doc, target: Doc) => doc.kind === target.kind && doc.metadata.name === (target.name ?? target.metadata?.name);
  for (const { patch, target } of kustomization.patches as { patch: string; target?: Doc }[]) {
    const parsed = parse(patch) as Doc | Doc[];
    if (!Array.isArray(parsed) && parsed.$patch === 'delete') {
      result = result.filter((manifest) => !matches(manifest.doc, parsed));
      continue;
    }
    for (const manifest of result.filter((candidate) => target && matches(candidate.doc, target))) {
      for (const operation of parsed as Doc[]) applyJsonPatch(manifest.doc, operation as { op: string; path: string; value?: unknown });
    }
  }
  return result;
}

/** The default kustomization's `images` (newName, newTag), applied to its containers as kustomize does. */
function withImages(documents: Manifest[]): Manifest[] {
  const { images = [] } = parse(readFileSync(join(K8S_DIR, 'kustomization.yaml'), 'utf8')) as { images?: { name: string; newName?: string; newTag?: string }[] };
  for (const { doc } of documents) {
    for (const container of (doc.spec?.template?.spec?.containers ?? []) as Doc[]) {
      const [name, tag] = String(container.image).split(':');
      const rule = images.find((image) => image.name === name);
      if (rule) container.image = `${rule.newName ?? name}:${rule.newTag ?? tag}`;
    }
  }
  return documents;
}

function applyJsonPatch(doc: Doc, { op, path, value }: { op: string; path: string; value?: unknown }): void {
  const keys = path.split('/').slice(1).map((key) => key.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = keys.pop()!;
  const parent = keys.reduce((node: Doc, key) => node[key], doc);
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (op === 'add') parent.splice(index, 0, structuredClone(value));
    else if (op === 'replace') parent[index] = structuredClone(value);
    else if (op === 'remove') parent.splice(index, 1);
    else throw new Error(`unsupported JSON patch op ${op}`);
    return;
  }
  if (op === 'add' || op === 'replace') parent[last] = structuredClone(value);
  else if (op === 'remove') delete parent[last];
  else throw new Error(`unsupported JSON patch op ${op}`);
}

/**
 * Fields the Kubernetes API does not have, as the API server's strict field validation would reject
 * them. kubernetes-models' validate() checks types and required fields but lets unknown fields through
 * (a misspelled `readinesProbe` would silently never run), so each document is also type-checked as an
 * object literal of its kubernetes-models interface: TypeScript's excess-property check names every
 * field that is not in the API, at any depth.
 */
function unknownFieldErrors(manifests: Manifest[]): string[] {
  const files = new Map(
    manifests.map((manifest, index) => {
      const kind = KINDS[kindOf(manifest.doc)]!;
      const source = `import type { ${kind.type} } from '${kind.module}';\nexport const manifest: ${kind.type} = ${JSON.stringify(manifest.doc, null, 2)};\n`;
      return [join(ROOT, `test/deploy/__manifest_${index}__.ts`), { manifest, source }] as const;
    }),
  );
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (fileName, language, ...rest) => {
    const virtual = files.get(fileName);
    return virtual ? ts.createSourceFile(fileName, virtual.source, language) : getSourceFile.call(host, fileName, language, ...rest);
  };
  host.fileExists = (fileName) => files.has(fileName) || fileExists.call(host, fileName);
  host.readFile = (fileName) => files.get(fileName)?.source ?? readFile.call(host, fileName);
  const program = ts.createProgram([...files.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const where = diagnostic.file ? (files.get(diagnostic.file.fileName)?.manifest.name ?? diagnostic.file.fileName) : '';
    return `${where}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`;
  });
}

/** Instructions of a Dockerfile's last stage, with continuation lines joined and comments dropped. */
function finalStageInstructions(dockerfile: string): { keyword: string; args: string }[] {
  const instructions = dockerfile
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
      return { keyword: keyword.toUpperCase(), args };
    });
  const lastFrom = instructions.map((instruction) => instruction.keyword).lastIndexOf('FROM');
  return instructions.slice(lastFrom);
}

/** The variables that hold credentials: they come from a Secret, never from a manifest. */
const CREDENTIALS = ['API_KEYS', 'ADMIN_TOKEN', 'DATABASE_URL'] as const;

/**
 * Every place in `manifests` where a credential is written out: an env entry with a `value`, a
 * ConfigMap or Secret key (data, stringData), or `NAME=` in any string (a generator's literals, a
 * command line). A secretKeyRef names the variable only as a value (`key: API_KEYS`), so it passes.
 */
function literalCredentials(manifests: Manifest[]): string[] {
  const found: string[] = [];
  const visit = (node: unknown, where: string): void => {
    if (typeof node === 'string') {
      for (const name of CREDENTIALS) if (node.includes(`${name}=`)) found.push(`${where}: "${name}=" in a string`);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const record = node as Doc;
    if (CREDENTIALS.includes(record.name) && 'value' in record) found.push(`${where}: ${record.name} has a literal value`);
    for (const [key, child] of Object.entries(record)) {
      if ((CREDENTIALS as readonly string[]).includes(key)) found.push(`${where}.${key}: a literal value`);
      visit(child, `${where}.${key}`);
    }
  };
  for (const { name, doc } of manifests) visit(doc, name);
  return found;
}

/** Kubernetes quantities as numbers: CPU in cores, memory in bytes. */
function quantity(value: string | number): number {
  const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|k|M|G)?$/.exec(String(value));
  if (!match) throw new Error(`unsupported quantity ${value}`);
  const factors: Record<string, number> = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 };
  return Number(match[1]) * (match[2] ? factors[match[2]]! : 1);
}

const manifests = loadManifests();
const byKind = (kind: string): Doc => {
  const found = manifests.filter((manifest) => manifest.doc.kind === kind);
  if (found.length !== 1) throw new Error(`expected exactly one ${kind} in kustomization.yaml's resources, found ${found.length}`);
  return found[0]!.doc;
};
const deployment = byKind('Deployment');
const configMap = byKind('ConfigMap');
const service = byKind('Service');
const pdb = byKind('PodDisruptionBudget');
const pvc = byKind('PersistentVolumeClaim');
const podSpec: Doc = deployment.spec.template.spec;
const container: Doc = podSpec.containers[0];
const overlay = loadOverlay();
const inOverlay = (kind: string): Doc => {
  const found = overlay.filter((manifest) => manifest.doc.kind === kind);
  if (found.length !== 1) throw new Error(`expected exactly one ${kind} in deploy/k8s-replicas, found ${found.length}`);
  return found[0]!.doc;
};
const hpa = inOverlay('HorizontalPodAutoscaler');
const replicatedDeployment = inOverlay('Deployment');

/**
 * Where several pods would each keep a prediction log of their own, or share one SQLite file: more
 * than one replica (or an autoscaler) without DATABASE_URL. Answers the problems found.
 */
function severalSqliteLogs(documents: Manifest[]): string[] {
  const problems: string[] = [];
  for (const { name, doc } of documents.filter((manifest) => manifest.doc.kind === 'Deployment')) {
    const env = (doc.spec.template.spec.containers[0].env ?? []) as Doc[];
    const sharedLog = env.some((entry) => entry.name === 'DATABASE_URL');
    const scaled = doc.spec.replicas > 1 || documents.some((manifest) => manifest.doc.kind === 'HorizontalPodAutoscaler' && manifest.doc.spec.scaleTargetRef.name === doc.metadata.name);
    if (scaled && !sharedLog) problems.push(`${name}: several replicas without DATABASE_URL`);
  }
  return problems;
}
const probes = ['startupProbe', 'readinessProbe', 'livenessProbe'] as const;
const finalStage = finalStageInstructions(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const instruction = (keyword: string) => finalStage.filter((entry) => entry.keyword === keyword).at(-1)?.args;
const serviceMonitor = parseYamlDocuments('servicemonitor.yaml')[0]!;

describe('deploy/k8s: the manifests are valid Kubernetes objects', () => {
  it('lists a ConfigMap, Deployment, PersistentVolumeClaim, Service and PodDisruptionBudget, all of known kinds', () => {
    expect(manifests.map((manifest) => manifest.doc.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PersistentVolumeClaim', 'PodDisruptionBudget', 'Service']);
    for (const { name, doc } of manifests) expect(KINDS, name).toHaveProperty([kindOf(doc)]);
  });

  it('the overlay for several replicas (deploy/k8s-replicas) has the same kinds, the autoscaler instead of the claim', () => {
    expect(overlay.map((manifest) => manifest.doc.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service']);
  });

  it.each([...manifests, ...overlay.map((manifest) => ({ ...manifest, name: `k8s-replicas: ${manifest.name}` }))].map((manifest) => [manifest.name, manifest] as const))(
    '%s passes its Kubernetes schema',
    (_name, { doc }) => {
      const Model = KINDS[kindOf(doc)]!.model;
      expect(() => new Model(doc as never).validate()).not.toThrow();
    },
  );

  it('has no field that the Kubernetes API does not know, in the default or the overlay', () => {
    expect(unknownFieldErrors(manifests)).toEqual([]);
    expect(unknownFieldErrors(overlay)).toEqual([]);
  });

  it.runIf(hasKubectl())('builds the overlay as kustomize does (kubectl kustomize)', () => {
    const built = parseYamlText(execFileSync('kubectl', ['kustomize', REPLICAS_DIR], { encoding: 'utf8' }), 'kubectl kustomize');
    const byName = (docs: Doc[]) => Object.fromEntries(docs.map((doc) => [`${doc.kind}/${doc.metadata.name}`, doc]));
    expect(byName(overlay.map((manifest) => manifest.doc))).toEqual(byName(built));
  });

  it('catches a field of the wrong type (negative case)', () => {
    const broken = structuredClone(deployment);
    broken.spec.template.spec.containers[0].ports[0].containerPort = '8000';
    expect(() => new Deployment(broken as never).validate()).toThrowError(/containerPort must be integer/);
  });

  it('catches a misspelled field, which schema validation alone lets through (negative case)', () => {
    const broken = structuredClone(deployment);
    const brokenContainer = broken.spec.template.spec.containers[0];
    brokenContainer.readinesProbe = brokenContainer.readinessProbe;
    delete brokenContainer.readinessProbe;
    expect(() => new Deployment(broken as never).validate()).not.toThrow();
    const errors = unknownFieldErrors([{ name: 'misspelled', doc: broken }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^misspelled: .*'"?readinesProbe"?' does not exist in type 'IContainer'/);
  });
});

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('deploy/k8s: the prediction log, one replica by default, several on PostgreSQL', () => {
  it('the default runs one replica whose prediction log lives on a ReadWriteOnce claim mounted at DATA_DIR, writable by the service user', () => {
    expect(deployment.spec.replicas).toBe(1);
    // A surge pod on another node could never mount the claim: the old pod goes first.
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
    expect(pvc.spec.accessModes).toEqual(['ReadWriteOnce']);
    const volume = podSpec.volumes.find((entry: Doc) => entry.persistentVolumeClaim);
    expect(volume.persistentVolumeClaim.claimName).toBe(pvc.metadata.name);
    // The image's DATA_DIR, declared a VOLUME there too.
    const dataDir = finalStage.filter((entry) => entry.keyword === 'ENV').map((entry) => /^DATA_DIR=(\S+)$/.exec(entry.args)?.[1]).find(Boolean);
    expect(dataDir).toBeDefined();
    expect(container.volumeMounts).toContainEqual({ name: volume.name, mountPath: dataDir });
    expect(instruction('VOLUME')).toBe(dataDir);
    expect(podSpec.securityContext.fsGroup).toBe(podSpec.securityContext.runAsGroup);
    expect(loadConfig(configMap.data).PREDICTION_LOG).toBe(true);
  });

  it('several replicas share one log: DATABASE_URL from a Secret (required), no claim, an autoscaler from 2, rolling updates', () => {
    const env = Object.fromEntries((replicatedDeployment.spec.template.spec.containers[0].env as Doc[]).map((entry) => [entry.name, entry]));
    expect(env.DATABASE_URL).toEqual({ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'churn-service-database', key: 'DATABASE_URL', optional: false } } });
    expect(replicatedDeployment.spec.template.spec.volumes.some((entry: Doc) => entry.persistentVolumeClaim)).toBe(false);
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(replicatedDeployment.spec.strategy).toMatchObject({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0 } });
    expect(severalSqliteLogs(overlay)).toEqual([]);
    expect(severalSqliteLogs(manifests)).toEqual([]);
  });

  it('catches several replicas without DATABASE_URL (negative case)', () => {
    const scaled = structuredClone(deployment);
    scaled.spec.replicas = 3;
    expect(severalSqliteLogs([{ name: 'scaled', doc: scaled }])).toEqual(['scaled: several replicas without DATABASE_URL']);
    const withoutDatabase = structuredClone(overlay).map((manifest) => {
      if (manifest.doc.kind === 'Deployment') manifest.doc.spec.replicas = 1;
      if (manifest.doc.kind === 'Deployment') manifest.doc.spec.template.spec.containers[0].env = manifest.doc.spec.template.spec.containers[0].env.filter((entry: Doc) => entry.name !== 'DATABASE_URL');
      return manifest;
    });
    expect(severalSqliteLogs(withoutDatabase)).toHaveLength(1);
  });

  it('documents how to create the database Secret in docs/deployment.md', () => {
    const guide = readFileSync(join(ROOT, 'docs', 'deployment.md'), 'utf8').replace(/\\\n\s*/g, ' ');
    expect(guide).toMatch(/kubectl create secret generic churn-service-database .*--from-literal=DATABASE_URL=/);
  });
});

describe('deploy/k8s: the manifests agree with each other, the Dockerfile and the config', () => {
  it('wires the Service, autoscaler and disruption budget to the Deployment’s pods', () => {
    const podLabels = deployment.spec.template.metadata.labels;
    expect(podLabels).toMatchObject(deployment.spec.selector.matchLabels);
    expect(podLabels).toMatchObject(service.spec.selector);
    expect(podLabels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: deployment.apiVersion, kind: 'Deployment', name: deployment.metadata.name });
    expect(container.envFrom).toContainEqual({ configMapRef: { name: configMap.metadata.name } });
  });

  it('serves on one port: the ConfigMap’s PORT, the config default, the container port and the Dockerfile’s EXPOSE', () => {
    const port = container.ports.find((entry: Doc) => entry.name === 'http');
    expect(port.containerPort).toBe(Number(configMap.data.PORT));
    expect(port.containerPort).toBe(loadConfig({}).PORT);
    expect(instruction('EXPOSE')).toBe(String(port.containerPort));
    expect(service.spec.ports).toEqual([expect.objectContaining({ port: 80, targetPort: 'http' })]);
    for (const probe of probes) expect(container[probe].httpGet.port, probe).toBe('http');
  });

  it('probes /health/live and /health/ready, and the image’s HEALTHCHECK asks the readiness route too', () => {
    expect(container.livenessProbe.httpGet.path).toBe('/health/live');
    expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
    expect(container.startupProbe.httpGet.path).toBe('/health/ready');
    expect(instruction('HEALTHCHECK')).toMatch(new RegExp(`${container.readinessProbe.httpGet.path}(?![\\w/-])`));
  });

  it('runs as the Dockerfile’s numeric USER, non-root, read-only, without privileges', () => {
    const [, uid, gid] = /^(\d+):(\d+)$/.exec(instruction('USER') ?? '') ?? [];
    expect(uid, 'the final stage of the Dockerfile has USER <uid>:<gid>').toBeDefined();
    const effective = { ...podSpec.securityContext, ...container.securityContext };
    expect(effective.runAsUser).toBe(Number(uid));
    expect(effective.runAsGroup).toBe(Number(gid));
    expect(effective.runAsUser).not.toBe(0);
    expect(effective).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('gives the drain time to finish: terminationGracePeriodSeconds > DRAIN_DELAY_MS + SHUTDOWN_TIMEOUT_MS', () => {
    const drainMs = Number(configMap.data.DRAIN_DELAY_MS) + Number(configMap.data.SHUTDOWN_TIMEOUT_MS);
    expect(drainMs).toBeGreaterThan(0);
    expect(podSpec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(drainMs);
  });

  it('runs one worker per pod with CPU and memory requests within their limits', () => {
    expect(configMap.data.WORKERS).toBe('1');
    for (const resource of ['cpu', 'memory']) {
      const request = quantity(container.resources.requests[resource]);
      const limit = quantity(container.resources.limits[resource]);
      expect(request, resource).toBeGreaterThan(0);
      expect(request, resource).toBeLessThanOrEqual(limit);
    }
    expect(hpa.spec.metrics).toContainEqual({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: expect.any(Number) } } });
  });

  it('takes API_KEYS and ADMIN_TOKEN from a Secret, and the pod does not start without API_KEYS', () => {
    const env = Object.fromEntries((container.env as Doc[]).map((entry) => [entry.name, entry]));
    const secretName = env.API_KEYS?.valueFrom?.secretKeyRef?.name;
    expect(secretName).toEqual(expect.any(String));
    // optional: false, so a missing Secret stops the rollout instead of leaving the routes open.
    expect(env.API_KEYS).toEqual({ name: 'API_KEYS', valueFrom: { secretKeyRef: { name: secretName, key: 'API_KEYS', optional: false } } });
    // Without ADMIN_TOKEN the /admin routes do not exist: optional fails closed.
    expect(env.ADMIN_TOKEN).toEqual({ name: 'ADMIN_TOKEN', valueFrom: { secretKeyRef: { name: secretName, key: 'ADMIN_TOKEN', optional: true } } });
    expect(container.envFrom.every((source: Doc) => source.secretRef === undefined || source.secretRef.name !== secretName)).toBe(true);
  });

  it('documents how to create that Secret, with both keys, in docs/deployment.md', () => {
    const secretName = container.env.find((entry: Doc) => entry.name === 'API_KEYS').valueFrom.secretKeyRef.name;
    const guide = readFileSync(join(ROOT, 'docs', 'deployment.md'), 'utf8').replace(/\\\n\s*/g, ' ');
    const command = new RegExp(`kubectl create secret generic ${secretName} .*`).exec(guide)?.[0];
    expect(command, `docs/deployment.md: kubectl create secret generic ${secretName} ...`).toBeDefined();
    for (const name of ['API_KEYS', 'ADMIN_TOKEN']) expect(command).toContain(`--from-literal=${name}=`);
  });

  it('holds no literal API_KEYS or ADMIN_TOKEN in any manifest of deploy/k8s', () => {
    const everyFile = (directory: string) => readdirSync(directory).filter((file) => /\.ya?ml$/.test(file));
    const everyDocument = [K8S_DIR, REPLICAS_DIR].flatMap((directory) =>
      everyFile(directory).flatMap((file) => parseYamlDocuments(file, directory).map((doc, index) => ({ name: `${file}#${index}`, doc }))),
    );
    expect(everyDocument.length).toBeGreaterThan(manifests.length);
    expect(literalCredentials(everyDocument)).toEqual([]);
  });

  it('catches a credential written into a manifest (negative case)', () => {
    const inEnv = structuredClone(deployment);
    inEnv.spec.template.spec.containers[0].env = [{ name: 'API_KEYS', value: 'key-0123456789abcdef' }];
    const inConfigMap = structuredClone(configMap);
    inConfigMap.data.ADMIN_TOKEN = 'token-0123456789abcdef';
    const inGenerator = { secretGenerator: [{ name: 'churn-service-secrets', literals: ['API_KEYS=key-0123456789abcdef'] }] };
    expect(literalCredentials([{ name: 'env', doc: inEnv }, { name: 'configmap', doc: inConfigMap }, { name: 'kustomization', doc: inGenerator }])).toEqual([
      'env.spec.template.spec.containers.0.env.0: API_KEYS has a literal value',
      'configmap.data.ADMIN_TOKEN: a literal value',
      'kustomization.secretGenerator.0.literals.0: "API_KEYS=" in a string',
    ]);
  });

  it('has ConfigMap values that the service’s config accepts', () => {
    const config = loadConfig(configMap.data);
    expect(config).toMatchObject({ PORT: 8000, LOG_LEVEL: configMap.data.LOG_LEVEL, WORKERS: 1 });
  });

  it('points Prometheus at the container port and the metrics path, in the annotations and the optional ServiceMonitor', () => {
    const annotations = deployment.spec.template.metadata.annotations;
    expect(annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/path': '/metrics' });
    expect(Number(annotations['prometheus.io/port'])).toBe(container.ports[0].containerPort);
    expect(serviceMonitor.kind).toBe('ServiceMonitor');
    expect(service.spec.selector).toMatchObject(serviceMonitor.spec.selector.matchLabels);
    expect(serviceMonitor.spec.endpoints).toEqual([expect.objectContaining({ port: service.spec.ports[0].name, path: annotations['prometheus.io/path'] })]);
  });
});

// These need the routes and config variables that are being added to src/ alongside the manifests:
// GET /health/live, GET /health/ready and GET /metrics, and DRAIN_DELAY_MS and SHUTDOWN_TIMEOUT_MS
// in ConfigSchema. They fail until those land.
describe('deploy/k8s: probe and metrics paths are routes of the app, ConfigMap keys are config variables (needs /health/live, /health/ready, /metrics, DRAIN_DELAY_MS, SHUTDOWN_TIMEOUT_MS in src/)', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    // Only the routes matter here: no prediction log, so no ./data in the repository.
    app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', PREDICTION_LOG: 'false' }) });
  });
  afterAll(async () => app?.close());

  it.each(probes.map((probe) => [probe, String(container[probe]?.httpGet?.path)]))('the %s path %s is a GET route', (_probe, url) => {
    expect(app.hasRoute({ method: 'GET', url })).toBe(true);
  });

  it('the prometheus.io/path /metrics is a GET route', () => {
    expect(app.hasRoute({ method: 'GET', url: deployment.spec.template.metadata.annotations['prometheus.io/path'] })).toBe(true);
  });

  it('every ConfigMap key is a variable of ConfigSchema', () => {
    expect(Object.keys(configMap.data).filter((key) => !(key in ConfigSchema.properties))).toEqual([]);
  });
});
