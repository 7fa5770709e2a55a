/**
 * deploy/kubernetes: every kustomization renders with `kubectl kustomize` (Debian's kubectl, or
 * $KUBECTL), every document is valid against the Kubernetes and KEDA schemas (kubernetes-models,
 * @kubernetes-models/keda), and the manifests hold what docs/operations.md promises: probes that
 * call routes and commands that exist and answer for real processes, limits ≥ requests, a
 * disruption budget per role, a grace period that covers the drain, non-root read-only pods.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { CHANGES_WAITING_GAUGE } from '../../src/metrics/catalogue.ts';
import { loadConfigText } from '../../src/config/index.ts';
import { ROOT, startCli, type RunningCli } from '../helpers/cli.ts';
import { VALID_ADMIN_TOKEN, VALID_KEY } from '../helpers/config-text.ts';
import { freePort } from '../helpers/ports.ts';
import { eventually, testRedis } from '../helpers/redis.ts';

const KUBECTL = process.env.KUBECTL ?? 'kubectl';
const DEPLOY = join(ROOT, 'deploy/kubernetes');
/** Shutdown's hard deadline after SIGTERM is 4.5 s (src/shutdown.ts): a role stops within 5 s. */
const ROLE_STOP_SECONDS = 5;

type Manifest = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Container = Manifest;

/** Every folder under deploy/kubernetes that holds a kustomization. */
function kustomizations(dir = DEPLOY): string[] {
  const here = readdirSync(dir).includes('kustomization.yaml') ? [dir] : [];
  const below = readdirSync(dir)
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isDirectory())
    .flatMap((path) => kustomizations(path));
  return [...here, ...below];
}

function render(dir: string): Manifest[] {
  const text = execFileSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(text).map((doc) => doc.toJS() as Manifest);
}

/** The schema of each kind the manifests may hold: validate() throws with every violation. */
const SCHEMAS: Record<string, (doc: Manifest) => { validate(): void }> = {
  'v1/ConfigMap': (doc) => new ConfigMap(doc),
  'v1/Service': (doc) => new Service(doc),
  'apps/v1/Deployment': (doc) => new Deployment(doc),
  'policy/v1/PodDisruptionBudget': (doc) => new PodDisruptionBudget(doc),
  'keda.sh/v1alpha1/ScaledObject': (doc) => new ScaledObject(doc as ConstructorParameters<typeof ScaledObject>[0]),
};

function validate(doc: Manifest): void {
  const schema = SCHEMAS[`${String(doc.apiVersion)}/${String(doc.kind)}`];
  if (!schema) throw new Error(`no schema for ${String(doc.apiVersion)} ${String(doc.kind)}: add one to the test`);
  schema(doc).validate();
}

/** A Kubernetes quantity in base units (cores, bytes). */
function quantity(value: string | number): number {
  const match = /^([0-9.]+)(m|Ki|Mi|Gi|k|M|G)?$/.exec(String(value));
  if (!match) throw new Error(`unreadable quantity ${String(value)}`);
  const units: Record<string, number> = { m: 1e-3, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1e3, M: 1e6, G: 1e9 };
  return Number(match[1]) * (match[2] ? (units[match[2]] ?? NaN) : 1);
}

const deployments = (docs: Manifest[]) => docs.filter((doc) => doc.kind === 'Deployment');
const containersOf = (deployment: Manifest): Container[] => deployment.spec.template.spec.containers as Container[];
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

const dirs = kustomizations();

describe('deploy/kubernetes', () => {
  it('holds the base and the example overlay', () => {
    expect(dirs.map((dir) => dir.slice(DEPLOY.length + 1)).sort()).toEqual(['base', 'overlays/example']);
  });

  it('the schema check refuses a broken manifest', () => {
    const broken = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'two' } };
    expect(() => validate(broken)).toThrow(/replicas must be integer/);
    expect(() => validate({ apiVersion: 'v1', kind: 'Pod' })).toThrow(/no schema/);
  });

  describe.each(dirs.map((dir) => [dir.slice(DEPLOY.length + 1), dir]))('%s', (_name, dir) => {
    const docs = render(dir);

    it('every rendered document is valid against its schema', () => {
      expect(docs.length).toBeGreaterThan(0);
      for (const doc of docs) expect(() => validate(doc), `${doc.kind} ${doc.metadata?.name}`).not.toThrow();
    });

    it('runs api, subscriber and worker, each with probes, limits ≥ requests and a disruption budget', () => {
      const roles = deployments(docs).map((d) => containersOf(d)[0]?.args?.[0] as string);
      expect(roles.sort()).toEqual(['api', 'subscriber', 'worker']);
      for (const deployment of deployments(docs)) {
        const pod = deployment.spec.template.spec;
        const labels = deployment.spec.template.metadata.labels as Record<string, string>;
        expect(selects(deployment.spec.selector.matchLabels, labels)).toBe(true);
        const budgets = docs.filter(
          (doc) => doc.kind === 'PodDisruptionBudget' && selects(doc.spec.selector.matchLabels, labels),
        );
        expect(budgets, deployment.metadata.name).toHaveLength(1);
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: expect.any(Number) });
        expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
        for (const container of containersOf(deployment)) {
          expect(container.livenessProbe, container.name).toBeDefined();
          expect(container.readinessProbe, container.name).toBeDefined();
          expect(container.securityContext).toMatchObject({
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
          });
          for (const resource of ['cpu', 'memory']) {
            const request = container.resources.requests[resource] as string;
            const limit = container.resources.limits[resource] as string;
            expect(quantity(limit), `${container.name} ${resource}`).toBeGreaterThanOrEqual(quantity(request));
          }
          // The grace period covers the preStop wait and the role's own bounded stop.
          const preStop = (container.lifecycle?.preStop?.exec?.command as string[] | undefined) ?? [];
          const waits = preStop[0] === 'sleep' ? Number(preStop[1]) : 0;
          expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(waits + ROLE_STOP_SECONDS);
        }
      }
      const service = docs.find((doc) => doc.kind === 'Service');
      const api = deployments(docs).find((d) => containersOf(d)[0]?.args?.[0] === 'api');
      expect(selects(service?.spec.selector, api?.spec.template.metadata.labels)).toBe(true);
    });

    it('mounts a config file the bridge accepts, with every variable it needs in secrets.env.example', () => {
      const text = configFileOf(docs);
      const needed = [...text.matchAll(/\$\{([A-Z_]+)\}/g)].map((match) => match[1] ?? '');
      const offered = readFileSync(join(DEPLOY, 'overlays/example/secrets.env.example'), 'utf8')
        .split('\n')
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => line.slice(0, line.indexOf('=')));
      expect(needed.filter((name) => !offered.includes(name))).toEqual([]);
      expect(() => loadConfigText(text, 'bridge.yaml', secretEnv())).not.toThrow();
    });

    if (docs.some((doc) => doc.kind === 'ScaledObject')) {
      it('scales the workers on the changes waiting, and never to zero', () => {
        const scaled = docs.find((doc) => doc.kind === 'ScaledObject');
        const worker = deployments(docs).find((d) => containersOf(d)[0]?.args?.[0] === 'worker');
        expect(scaled?.spec.scaleTargetRef.name).toBe(worker?.metadata.name);
        expect(worker?.spec.replicas, 'KEDA owns the replica count').toBeUndefined();
        expect(scaled?.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
        const [trigger] = scaled?.spec.triggers as Manifest[];
        expect(trigger?.type).toBe('prometheus');
        expect(trigger?.metadata.query).toContain(CHANGES_WAITING_GAUGE.name);
      });
    }
  });
});

/** The ConfigMap's bridge.yaml, as the pods read it. */
function configFileOf(docs: Manifest[]): string {
  const configMap = docs.find((doc) => doc.kind === 'ConfigMap' && doc.data?.['bridge.yaml']);
  if (!configMap) throw new Error('no ConfigMap holds bridge.yaml');
  return configMap.data['bridge.yaml'] as string;
}

/** What the Secret would hold, with values the config's checks accept. */
function secretEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: 'redis://127.0.0.1:6379',
    PUBLIC_URL: 'http://127.0.0.1:8080',
    BRIDGE_ADMIN_TOKEN: VALID_ADMIN_TOKEN,
    BRIDGE_ENCRYPTION_KEY: VALID_KEY,
    BRIDGE_METRICS_TOKEN: '',
    SF_CLIENT_ID: 'client-id',
    SF_CLIENT_SECRET: 'client-secret',
    CM_TOKEN: 'cm-token',
    ...extra,
  };
}

describe('the probes of the example overlay, against real role processes', () => {
  const redis = testRedis();
  const dir = mkdtempSync(join(tmpdir(), 'sfcm-k8s-'));
  const running: RunningCli[] = [];
  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    await Promise.all(running.map((child) => child.exited));
    await redis.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The overlay's config file, on the test Redis under the test's own prefix. */
  const docs = render(join(DEPLOY, 'overlays/example'));
  const configFile = join(dir, 'bridge.yaml');
  writeFileSync(configFile, configFileOf(docs).replace(/^ {2}prefix: .*$/m, `  prefix: "${redis.prefix}"`));
  const container = (role: string) => {
    const found = deployments(docs)
      .map((d) => containersOf(d)[0])
      .find((c) => c?.args?.[0] === role);
    if (!found) throw new Error(`no ${role} container`);
    return found;
  };
  const envOf = async (c: Container): Promise<Record<string, string>> => ({
    ...secretEnv({ REDIS_URL: redis.url, PORT: String(await freePort()) }),
    ...Object.fromEntries((c.env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value])),
    BRIDGE_CONFIG: configFile,
    LOG_LEVEL: 'warn',
  });

  it('api: the liveness and readiness paths answer 200', async () => {
    const api = container('api');
    const env = await envOf(api);
    const apiProcess = startCli(api.args as string[], env);
    running.push(apiProcess);
    const probes = [api.livenessProbe, api.readinessProbe] as Manifest[];
    for (const probe of probes) {
      expect(probe.httpGet.port).toBe(api.ports[0].name);
      expect(api.ports[0].containerPort).toBe(8080);
      const url = `http://127.0.0.1:${env.PORT}${String(probe.httpGet.path)}`;
      await eventually(async () => (await fetch(url).catch(() => undefined))?.status === 200, 30_000, 200).catch(
        (error: unknown) => {
          throw new Error(`${url}: ${String(error)}\n${apiProcess.output()}`);
        },
      );
    }
  });

  it.each(['worker', 'subscriber'])(
    '%s: the exec probe passes while the role runs, and fails once it stopped',
    async (role) => {
      const c = container(role);
      const env = await envOf(c);
      const probes = [c.livenessProbe, c.readinessProbe] as Manifest[];
      // The image runs `node` from its WORKDIR, where bin/ is, as the repository root has it.
      const probe = () => {
        const [command, ...args] = probes[0]?.exec.command as string[];
        expect(command).toBe('node');
        return spawnSync(process.execPath, args, {
          cwd: ROOT,
          env: { PATH: process.env.PATH, ...env },
          encoding: 'utf8',
        });
      };
      expect(probes[1]?.exec.command).toEqual(probes[0]?.exec.command);
      const roleProcess = startCli(c.args as string[], env);
      running.push(roleProcess);
      await eventually(() => probe().status === 0, 30_000, 500).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${probe().stdout}\n${roleProcess.output()}`);
      });
      roleProcess.kill('SIGTERM');
      expect(await roleProcess.exited).toBe(0);
      const after = probe();
      expect(after.status, after.stdout).toBe(1);
    },
  );
});
