// The Kubernetes examples in deploy/ must start as written (SPEC §7). No cluster here, so:
// every object is validated against the Kubernetes OpenAPI schema of its apiVersion/kind (the
// `kubernetes-models` dev dependency ships those schemas as compiled validators, offline), and the
// rules a schema cannot express — the ones a cluster enforces at run time or that tie the manifests
// to the image, the gateway's configuration and the benchmark — are checked here.
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Ajv } from 'ajv';

const root = resolve(import.meta.dirname, '../../..');
const deployDir = join(root, 'deploy/kubernetes');

type Obj = Record<string, unknown>;
interface Manifest {
  readonly file: string;
  readonly index: number;
  readonly object: Obj;
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const kindOf = (m: Manifest): string => `${String(m.object.apiVersion)}/${String(m.object.kind)}`;
const nameOf = (m: Manifest): string => `${m.file}#${m.index} ${String(m.object.kind)} ${String(obj(m.object.metadata).name)}`;

/** Every document of every YAML file under deploy/kubernetes, parsed as Kubernetes parses it (YAML 1.1). */
function manifests(): Manifest[] {
  const out: Manifest[] = [];
  for (const file of readdirSync(deployDir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const docs = parseAllDocuments(readFileSync(join(deployDir, file), 'utf8'), { version: '1.1' });
    for (const [index, doc] of (Array.isArray(docs) ? docs : [docs]).entries()) {
      if (doc.errors.length > 0) throw new Error(`${file}#${index}: ${doc.errors[0]?.message}`);
      const object = doc.toJS() as unknown;
      if (object !== null && object !== undefined) out.push({ file, index, object: obj(object) });
    }
  }
  return out;
}

/** Kubernetes quantity → bytes (memory) or cores (cpu). */
function quantity(value: unknown): number {
  const m = /^([0-9.]+)(Ki|Mi|Gi|Ti|k|M|G|T|m)?$/.exec(String(value));
  if (m === null) throw new Error(`not a quantity: ${String(value)}`);
  const units: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12, m: 1e-3 };
  return Number(m[1]) * (m[2] === undefined ? 1 : (units[m[2]] ?? NaN));
}
const MiB = 2 ** 20;

interface KubernetesModel {
  validate(): void;
}
type ModelClass = new (data: Obj) => KubernetesModel;

/** The kubernetes-models class for an apiVersion/kind (`kubernetes-models/apps/v1/Deployment`). */
async function modelFor(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  const specifier = `kubernetes-models/${apiVersion}/${kind}`;
  try {
    const module = (await import(specifier)) as Record<string, unknown>;
    return module[kind] as ModelClass | undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && /kubernetes-models['"]/.test((err as Error).message)) {
      throw new Error('the dev dependency kubernetes-models is not installed: run `npm ci`', { cause: err });
    }
    return undefined; // the package is there but knows no such apiVersion/kind
  }
}

const all = manifests();
const byKind = (kind: string): Manifest[] => all.filter((m) => m.object.kind === kind);
const podSpec = (m: Manifest): Obj => obj(obj(obj(m.object.spec).template).spec);
const podLabels = (m: Manifest): Obj => obj(obj(obj(obj(m.object.spec).template).metadata).labels);
const containers = (m: Manifest): Obj[] => arr(podSpec(m).containers).map(obj);
const selects = (selector: Obj, labels: Obj): boolean =>
  Object.entries(obj(selector.matchLabels)).every(([k, v]) => labels[k] === v) && Object.keys(obj(selector.matchLabels)).length > 0;

const deployment = all.find((m) => m.object.kind === 'Deployment' && containers(m).some((c) => c.name === 'guarita'));
const guarita = deployment === undefined ? undefined : containers(deployment).find((c) => c.name === 'guarita');

t.test('deploy/kubernetes: every object is valid against the Kubernetes schema of its kind', async (tt) => {
  tt.ok(all.length > 0, 'manifests found');
  const kinds = new Set(all.map(kindOf));
  for (const expected of ['v1/ConfigMap', 'apps/v1/Deployment', 'v1/Service', 'networking.k8s.io/v1/NetworkPolicy', 'policy/v1/PodDisruptionBudget']) {
    tt.ok(kinds.has(expected), `has a ${expected}`);
  }
  for (const m of all) {
    const apiVersion = String(m.object.apiVersion);
    const kind = String(m.object.kind);
    tt.ok(obj(m.object.metadata).name, `${nameOf(m)}: metadata.name`);
    const Model = await modelFor(apiVersion, kind);
    if (Model === undefined) {
      tt.fail(`${nameOf(m)}: no schema for ${apiVersion} ${kind}`);
      continue;
    }
    let error: unknown;
    try {
      new Model(m.object).validate();
    } catch (err) {
      error = err;
    }
    tt.equal(error, undefined, `${nameOf(m)} is a valid ${apiVersion} ${kind}${error ? `: ${(error as Error).message}` : ''}`);
  }
});

t.test('the schema check catches the mistakes it is there for', async (tt) => {
  const Model = await modelFor('apps/v1', 'Deployment');
  if (Model === undefined) return tt.fail('no Deployment schema');
  const bad = (spec: Obj) => () => new Model({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec }).validate();
  const template = (container: Obj) => ({ selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i', ...container }] } } });
  tt.throws(bad(template({ securityContext: { runAsUser: 'node' } })), 'a user name where a uid belongs');
  tt.throws(bad(template({ ports: [{ containerPort: '8443' }] })), 'a port as a string');
  tt.throws(bad({ template: template({}).template }), 'no selector');
});

t.test('pods start: runAsNonRoot comes with a numeric uid, the same as the image', async (tt) => {
  const dockerUser = /^USER ([0-9]+):([0-9]+)$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  tt.ok(dockerUser, 'the Dockerfile names a numeric uid:gid');
  for (const m of all.filter((w) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(String(w.object.kind)))) {
    const pod = obj(podSpec(m).securityContext);
    for (const c of containers(m)) {
      const sc = obj(c.securityContext);
      const nonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
      const uid = sc.runAsUser ?? pod.runAsUser;
      tt.equal(nonRoot, true, `${nameOf(m)} ${String(c.name)}: runAsNonRoot`);
      // The kubelet refuses runAsNonRoot for an image whose USER is a name unless runAsUser is set.
      tt.ok(Number.isInteger(uid) && (uid as number) > 0, `${nameOf(m)} ${String(c.name)}: runAsUser is a non-zero uid`);
      tt.equal(sc.allowPrivilegeEscalation, false, `${nameOf(m)} ${String(c.name)}: no privilege escalation`);
      tt.same(obj(sc.capabilities).drop, ['ALL'], `${nameOf(m)} ${String(c.name)}: capabilities dropped`);
      if (c.name === 'guarita' && dockerUser) {
        tt.equal(uid, Number(dockerUser[1]), 'the guarita container runs as the image user');
        tt.equal(sc.runAsGroup ?? pod.runAsGroup, Number(dockerUser[2]), 'and group');
        tt.equal(sc.readOnlyRootFilesystem, true, 'read-only root file system');
      }
    }
  }
});

t.test('the guarita container: config, secrets, probes, drain', async (tt) => {
  if (deployment === undefined || guarita === undefined) return tt.fail('a Deployment with a guarita container');
  const args = arr(guarita.args).map(String);
  const configPath = args[args.indexOf('--config') + 1];
  const mounts = arr(guarita.volumeMounts).map(obj);
  const volumes = new Map(arr(podSpec(deployment).volumes).map(obj).map((v) => [String(v.name), v]));
  for (const mount of mounts) tt.ok(volumes.has(String(mount.name)), `volume ${String(mount.name)} exists`);
  const configMount = mounts.find((mount) => mount.mountPath === configPath);
  tt.ok(configMount, `--config ${configPath} is mounted`);
  const ports = new Map(arr(guarita.ports).map(obj).map((p) => [String(p.name), Number(p.containerPort)]));
  const probe = (name: string) => obj(obj(guarita[name]).httpGet);
  tt.equal(probe('readinessProbe').path, '/readyz');
  tt.equal(probe('livenessProbe').path, '/healthz');
  tt.equal(ports.get(String(probe('readinessProbe').port)), 9090, 'probes on the admin port');
  // SIGTERM drain is bounded at 25 s, after the preStop pause.
  const preStop = arr(obj(obj(obj(guarita.lifecycle).preStop).exec).command).map(String).join(' ');
  const pause = Number(/setTimeout\(\(\) => \{\}, ([0-9]+)\)/.exec(preStop)?.[1] ?? 0) / 1000;
  tt.ok(Number(podSpec(deployment).terminationGracePeriodSeconds) > 25 + pause, 'grace period covers preStop + drain');
  tt.equal(arr(guarita.command).length, 0, 'the image ENTRYPOINT (node with its V8 flags) is kept');

  // The configuration in the ConfigMap is a valid routes.yaml (published JSON Schema) whose
  // ${VARS} the container provides.
  const configMapName = String(obj(volumes.get(String(configMount?.name)) ?? {}).configMap ? obj(obj(volumes.get(String(configMount?.name))).configMap).name : '');
  const configMap = byKind('ConfigMap').find((m) => obj(m.object.metadata).name === configMapName);
  const text = String(obj(configMap?.object.data)[String(configMount?.subPath)] ?? '');
  tt.ok(text.length > 0, `ConfigMap ${configMapName} holds ${String(configMount?.subPath)}`);
  const config = obj(parseAllDocuments(text)[0]?.toJS() as unknown);
  const validate = new Ajv({ strict: false, useDefaults: true }).compile(JSON.parse(readFileSync(join(root, 'schema/routes.schema.json'), 'utf8')) as object);
  tt.ok(validate(config), `routes.yaml is valid: ${JSON.stringify(validate.errors)}`);
  const env = new Set(arr(guarita.env).map(obj).map((e) => String(e.name)));
  for (const [, name] of text.matchAll(/\$\{([A-Z0-9_]+)(?::-[^}]*)?\}/g)) tt.ok(env.has(String(name)), `${String(name)} is set`);
  tt.equal(obj(config.admin).host, '0.0.0.0', 'the admin port is reachable by the kubelet');
  // TLS material is mounted as directories (a subPath mount is never updated, so it would not reload).
  for (const file of [...arr(obj(obj(config.server).tls).certificates).flatMap((c) => [obj(c).cert, obj(c).key]), ...arr(obj(obj(config.server).tls).clientCa)]) {
    const mount = mounts.find((mnt) => String(file).startsWith(`${String(mnt.mountPath)}/`));
    tt.ok(mount && mount.subPath === undefined, `${String(file)} is in a directory mount`);
  }
  // A subPath mount of routes.yaml is not updated by the kubelet: the manifest says a restart is needed.
  if (configMount?.subPath !== undefined) {
    tt.match(readFileSync(join(deployDir, deployment.file), 'utf8'), /subPath[^\n]*\n(#[^\n]*\n)*#[^\n]*restart/, 'the subPath restart is documented');
  }

  // More than one replica shares its replay state through Redis.
  const replay = obj(config.replay);
  if (Number(obj(deployment.object.spec).replicas ?? 1) > 1) tt.equal(replay.store, 'redis', 'replicas > 1 use the redis replay store');

  // Resources from the benchmark: the request covers the measured RSS, the limit covers it plus a
  // full in-memory replay store (replay.maxBytes, at the RSS growth per heap byte measured).
  const results = readFileSync(join(root, 'bench/RESULTS.md'), 'utf8');
  const rss = Number(/gateway RSS[^\n]*at most ([0-9.]+) MiB/.exec(results)?.[1]);
  const store = /([0-9.]+) MiB of heap \(([0-9.]+) MiB RSS growth\)/.exec(results);
  const rssPerHeapByte = store ? Number(store[2]) / Number(store[1]) : NaN;
  tt.ok(rss > 0 && rssPerHeapByte > 0, `bench/RESULTS.md: RSS ${rss} MiB, ${rssPerHeapByte.toFixed(2)} RSS bytes per store byte`);
  const resources = obj(guarita.resources);
  const request = quantity(obj(resources.requests).memory);
  const limit = quantity(obj(resources.limits).memory);
  tt.ok(request >= 160 * MiB && request >= rss * MiB, `memory request ${request / MiB} Mi ≥ 160 Mi and ≥ the measured ${rss} MiB`);
  tt.ok(quantity(obj(resources.requests).cpu) > 0, 'a cpu request');
  const maxBytes = Number(replay.maxBytes);
  tt.ok(Number.isInteger(maxBytes), 'replay.maxBytes is set (the default, 512 MiB, fits no sidecar limit)');
  tt.ok(rss * MiB + maxBytes * rssPerHeapByte <= limit, `RSS ${rss} MiB + replay.maxBytes ${maxBytes / MiB} MiB × ${rssPerHeapByte.toFixed(2)} ≤ memory limit ${limit / MiB} Mi`);
});

t.test('a shared deployment: Redis, NetworkPolicy, PodDisruptionBudget', async (tt) => {
  if (deployment === undefined || guarita === undefined) return tt.fail('a Deployment with a guarita container');
  const labels = podLabels(deployment);
  const policies = byKind('NetworkPolicy');
  const apiPolicy = policies.find((p) => selects(obj(obj(p.object.spec).podSelector), labels));
  tt.ok(apiPolicy, 'a NetworkPolicy selects the gateway pods');
  if (apiPolicy) {
    const spec = obj(apiPolicy.object.spec);
    tt.ok(arr(spec.policyTypes).includes('Ingress'), 'it restricts ingress');
    const open = arr(spec.ingress).map(obj).flatMap((rule) => arr(rule.ports).map((p) => obj(p).port));
    const ports = new Map(arr(guarita.ports).map(obj).map((p) => [String(p.name), Number(p.containerPort)]));
    tt.ok(arr(spec.ingress).map(obj).every((rule) => arr(rule.ports).length > 0), 'every rule names its ports');
    tt.ok(open.includes(ports.get('https')), 'the gateway port is open');
    const apiPorts = containers(deployment).filter((c) => c.name !== 'guarita').flatMap((c) => arr(c.ports).map((p) => Number(obj(p).containerPort)));
    for (const port of apiPorts) tt.notOk(open.includes(port), `the API port ${port} is not reachable from other pods`);
    const adminRule = arr(spec.ingress).map(obj).find((rule) => arr(rule.ports).some((p) => obj(p).port === ports.get('admin')));
    tt.ok(adminRule === undefined || arr(adminRule.from).length > 0, 'the admin port is open to chosen peers only');
  }

  const pdb = byKind('PodDisruptionBudget').find((p) => selects(obj(obj(p.object.spec).selector), labels));
  tt.ok(pdb, 'a PodDisruptionBudget selects the gateway pods');
  const replicas = Number(obj(deployment.object.spec).replicas ?? 1);
  if (pdb) {
    const spec = obj(pdb.object.spec);
    tt.ok(
      (spec.minAvailable !== undefined && Number(spec.minAvailable) < replicas && Number(spec.minAvailable) >= 1) || spec.maxUnavailable !== undefined,
      'the budget lets a drain proceed and keeps a replica serving',
    );
  }

  // Redis: TLS, a password, reachable from the gateway pods only.
  const config = (() => {
    const cm = byKind('ConfigMap').find((m) => Object.keys(obj(m.object.data)).includes('routes.yaml'));
    return obj(parseAllDocuments(String(obj(cm?.object.data)['routes.yaml']))[0]?.toJS() as unknown);
  })();
  const url = String(obj(config.replay).url);
  tt.match(url, /^rediss:\/\/[^:@/]*:\$\{[A-Z_]+\}@/, 'replay.url uses TLS (rediss://) and a password from the environment');
  const host = /@([^:/]+)/.exec(url)?.[1];
  const service = byKind('Service').find((s) => obj(s.object.metadata).name === host);
  tt.ok(service, `a Service ${String(host)}`);
  const redis = all.find((m) => ['StatefulSet', 'Deployment'].includes(String(m.object.kind)) && service !== undefined && selects({ matchLabels: obj(obj(service.object.spec).selector) }, podLabels(m)));
  tt.ok(redis, 'the Redis workload behind it');
  if (redis) {
    const args = arr(containers(redis)[0]?.args).map(String);
    const flag = (name: string) => args[args.indexOf(name) + 1];
    tt.equal(flag('--port'), '0', 'no plain-text port');
    tt.ok(flag('--tls-port'), 'a TLS port');
    tt.equal(flag('--maxmemory-policy'), 'noeviction', 'jtis are never evicted (a replay would pass)');
    tt.ok(args.some((a) => a.startsWith('>$(')), 'a password from the environment');
    tt.equal(args[args.indexOf('default') + 1], 'off', 'the password-less default user is off');
    const limit = quantity(obj(obj(containers(redis)[0]?.resources).limits).memory);
    tt.ok(quantity(flag('--maxmemory')?.replace(/mb$/, 'M').replace(/gb$/, 'G')) < limit, 'maxmemory below the memory limit');
    const redisPolicy = policies.find((p) => selects(obj(obj(p.object.spec).podSelector), podLabels(redis)));
    tt.ok(redisPolicy, 'a NetworkPolicy selects the Redis pods');
    const peers = arr(obj(redisPolicy?.object.spec).ingress).map(obj).flatMap((rule) => arr(rule.from).map(obj));
    tt.ok(peers.length > 0 && peers.every((peer) => peer.podSelector !== undefined && selects(obj(peer.podSelector), labels)), 'only the gateway pods reach Redis');
  }
  const env = arr(guarita.env).map(obj);
  tt.ok(env.some((e) => e.name === 'NODE_EXTRA_CA_CERTS'), 'the gateway trusts the Redis CA');
});
