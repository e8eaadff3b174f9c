#!/usr/bin/env node
// Offline validation of deploy/ (npm run deploy:check): no cluster, no Docker, no network.
//
//   node scripts/validate-deploy.mjs [--deploy-dir <dir>]
//
// 1. Kubernetes: renders deploy/k8s/base and every deploy/k8s/overlays/* with `kubectl
//    kustomize`, validates every object against the Kubernetes JSON schemas of the
//    kubernetes-models package, refuses fields the Kubernetes types do not have (read from
//    kubernetes-models' TypeScript declarations), then checks the project's rules: least
//    privilege, requests and limits, probes, service accounts, consistent images, GPU
//    scheduling, Services/HPAs/PDBs that point at real workloads, and every Seam
//    container's environment against the service's own config schema (the built
//    services/*/dist/config.js), addresses included.
// 2. deploy/compose.yaml: structure (known keys, dependencies, ports, volumes) and the
//    same environment checks.
// 3. The OpenTelemetry Collector configs, the Dockerfiles and their ignore files.
//
// Prints one line per problem, naming the file or object and the field, and exits 1 when
// there is any. Needs kubectl (it bundles kustomize) and `npm run build` (for the config schemas).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseAllDocuments, parseDocument } from "yaml";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Every Seam service: the variables of its bind address, its default port, the address others use. */
const SEAM_SERVICES = {
  registry: {
    host: "REGISTRY_HOST",
    port: "REGISTRY_PORT",
    defaultPort: 50051,
    address: "SEAM_REGISTRY_ADDRESS",
  },
  datasets: {
    host: "DATASETS_HOST",
    port: "DATASETS_PORT",
    defaultPort: 50052,
    address: "SEAM_DATASETS_ADDRESS",
  },
  features: {
    host: "FEATURES_HOST",
    port: "FEATURES_PORT",
    defaultPort: 50053,
    address: "SEAM_FEATURES_ADDRESS",
  },
  training: {
    host: "TRAINING_HOST",
    port: "TRAINING_PORT",
    defaultPort: 50054,
    address: "SEAM_TRAINING_ADDRESS",
  },
  inference: {
    host: "INFERENCE_HOST",
    port: "INFERENCE_PORT",
    defaultPort: 50055,
    address: "SEAM_INFERENCE_ADDRESS",
  },
  gateway: { host: "SEAM_GATEWAY_HOST", port: "SEAM_GATEWAY_PORT", defaultPort: 8080, address: undefined },
};
/** The address variables and the service each names. */
const ADDRESS_VARIABLES = Object.fromEntries(
  Object.entries(SEAM_SERVICES)
    .filter(([, s]) => s.address !== undefined)
    .map(([name, s]) => [s.address, name]),
);
/** Image names (last path segment, no tag) of the images deploy/Dockerfile and Dockerfile.gpu build. */
const SEAM_IMAGES = new Set(["seam", "seam-training-gpu", "seam-inference-gpu"]);
const WILDCARD_HOSTS = new Set(["0.0.0.0", "::"]);
const GPU_RESOURCE = "nvidia.com/gpu";

// ---------------------------------------------------------------------------------------
// Problems

/** Problems by "where: message", with the renderings (base, overlays) they were found in. */
const problems = new Map();
function problem(where, message, source) {
  const key = `${where}: ${message}`;
  const sources = problems.get(key) ?? [];
  if (source !== undefined) sources.push(source);
  problems.set(key, sources);
}

function parseArguments(argv) {
  const options = { deployDir: path.join(repoRoot, "deploy") };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--deploy-dir" && argv[i + 1] !== undefined) {
      options.deployDir = path.resolve(argv[++i]);
    } else {
      process.stderr.write(`usage: node scripts/validate-deploy.mjs [--deploy-dir <dir>]\n`);
      process.exit(2);
    }
  }
  return options;
}

const rel = (file) => path.relative(process.cwd(), file) || ".";
const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
const asArray = (value) => (Array.isArray(value) ? value : []);

// ---------------------------------------------------------------------------------------
// Kubernetes: schemas and fields

/** Schema validation by kubernetes-models, the class found from apiVersion and kind. */
async function schemaErrors(object) {
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== "string" || typeof kind !== "string") return ["apiVersion and kind are required"];
  let module;
  try {
    module = await import(`kubernetes-models/${apiVersion}/${kind}`);
  } catch {
    return [`unknown kind ${kind} in ${apiVersion} (no such Kubernetes API in kubernetes-models)`];
  }
  const Model = module[kind];
  if (typeof Model !== "function" || Model.apiVersion !== apiVersion || Model.kind !== kind) {
    return [`unknown kind ${kind} in ${apiVersion}`];
  }
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    const details = Array.isArray(error?.errors) ? error.errors : undefined;
    if (details === undefined) return [String(error?.message ?? error)];
    return details.map((e) => {
      const at = pointerToPath(e.instancePath ?? "");
      const extra =
        e.keyword === "enum"
          ? ` (one of: ${asArray(e.params?.allowedValues).join(", ")})`
          : e.keyword === "required"
            ? ` (${e.params?.missingProperty})`
            : "";
      return `${at === "" ? "(object)" : at}: ${e.message}${extra}`;
    });
  }
}

/** "/spec/template/spec/containers/0/image" → "spec.template.spec.containers[0].image". */
function pointerToPath(pointer) {
  return pointer
    .split("/")
    .slice(1)
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce(
      (out, part) => (/^\d+$/.test(part) ? `${out}[${part}]` : out === "" ? part : `${out}.${part}`),
      "",
    );
}

/**
 * Finds fields the Kubernetes types do not have (the JSON schemas accept any extra field,
 * the API server in strict mode does not): walks each object along the TypeScript type of
 * its kind in kubernetes-models' declarations, compiled once with TypeScript's checker.
 */
async function createFieldChecker(kinds) {
  const { default: ts } = await import("typescript");
  const entries = [...kinds].map((key, i) => {
    const [apiVersion, kind] = key.split(" ");
    return {
      key,
      alias: `K${i}`,
      line: `export type K${i} = import("kubernetes-models/${apiVersion}/${kind}").I${kind};`,
    };
  });
  const fileName = path.join(repoRoot, "__deploy_check_kinds__.ts");
  const source = entries.map((e) => e.line).join("\n");
  const options = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    path.resolve(name) === fileName
      ? ts.createSourceFile(name, source, language)
      : getSourceFile(name, language, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  const checker = program.getTypeChecker();
  const sourceFile = program.getSourceFile(fileName);
  const types = new Map();
  for (const statement of sourceFile.statements) {
    if (!ts.isTypeAliasDeclaration(statement)) continue;
    const entry = entries.find((e) => e.alias === statement.name.text);
    const type = checker.getTypeAtLocation(statement.name);
    // An unresolved import is `any`: then this kind gets no field check (schema validation still runs).
    if (entry !== undefined && (type.flags & ts.TypeFlags.Any) === 0) types.set(entry.key, type);
  }

  const isObjectType = (type) => (type.flags & ts.TypeFlags.Object) !== 0;
  const typeOf = (symbol) =>
    checker.getTypeOfSymbol
      ? checker.getTypeOfSymbol(symbol)
      : checker.getTypeOfSymbolAtLocation(symbol, symbol.valueDeclaration ?? sourceFile);

  function walk(value, type, at, out) {
    if (value === null || typeof value !== "object") return;
    let t = checker.getNonNullableType(type);
    if ((t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0) return;
    if (t.isUnion()) {
      const objects = t.types.filter(isObjectType);
      if (objects.length !== 1) return; // int-or-string and the like: the schema decides
      t = objects[0];
    }
    if (!isObjectType(t)) return;
    if (Array.isArray(value)) {
      if (!checker.isArrayType(t)) return;
      const [element] = checker.getTypeArguments(t);
      value.forEach((item, i) => {
        walk(item, element, `${at}[${i}]`, out);
      });
      return;
    }
    const index = checker.getIndexInfoOfType(t, ts.IndexKind.String);
    const known = checker.getPropertiesOfType(t).map((p) => p.getName());
    for (const [key, item] of Object.entries(value)) {
      const where = at === "" ? key : `${at}.${key}`;
      const property = checker.getPropertyOfType(t, key);
      if (property !== undefined) walk(item, typeOf(property), where, out);
      else if (index !== undefined) walk(item, index.type, where, out);
      else out.push(`${where}: unknown field${suggestion(key, known)}`);
    }
  }

  return (object) => {
    const type = types.get(`${object.apiVersion} ${object.kind}`);
    const out = [];
    if (type !== undefined) walk(object, type, "", out);
    return out;
  };
}

function suggestion(word, candidates) {
  let best;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 4))
    ? ` (did you mean ${best}?)`
    : "";
}

function editDistance(a, b) {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

// ---------------------------------------------------------------------------------------
// Seam environments, checked with the services' own schemas

/** Loads the config schemas from the built packages; undefined (with a problem) when not built. */
async function loadEnvSchemas() {
  const modules = {
    registry: ["services/registry/dist/config.js", "registryConfigSchema"],
    datasets: ["services/datasets/dist/config.js", "datasetsConfigSchema"],
    features: ["services/features/dist/config.js", "featuresConfigSchema"],
    training: ["services/training/dist/config.js", "trainingConfigSchema"],
    inference: ["services/inference/dist/config.js", "inferenceConfigSchema"],
    gateway: ["gateway/dist/config.js", "gatewayEnvSchema"],
    backends: ["gateway/dist/backends.js", "backendsEnvSchema"],
    telemetry: ["services/kit/dist/telemetry/config.js", "telemetryEnvSchema"],
  };
  const missing = Object.values(modules)
    .map(([file]) => file)
    .filter((file) => !existsSync(path.join(repoRoot, file)));
  if (missing.length > 0) {
    problem(
      "config schemas",
      `not built (${missing.join(", ")}): run \`npm run build\` first, the environments are checked with them`,
    );
    return undefined;
  }
  const schemas = {};
  for (const [name, [file, exported]] of Object.entries(modules)) {
    const module = await import(pathToFileURL(path.join(repoRoot, file)).href);
    if (module[exported] === undefined) {
      problem("config schemas", `${file} no longer exports ${exported}`);
      return undefined;
    }
    schemas[name] = module[exported];
  }
  // Metrics variables (SEAM_METRICS_PORT, _HOST, OTEL_METRICS_*) where the kit has them.
  const telemetry = await import(
    pathToFileURL(path.join(repoRoot, "services/kit/dist/telemetry/config.js")).href
  );
  if (telemetry.metricsEnvSchema !== undefined) schemas.metrics = telemetry.metricsEnvSchema;
  return schemas;
}

/** The Seam process a command line starts: { kind: "serve", service } or { kind: "worker" }. */
function seamProcess(args) {
  if (args[0] === "serve" && args.length === 2 && args[1] in SEAM_SERVICES)
    return { kind: "serve", service: args[1] };
  if (args[0] === "worker" && args.length === 2 && args[1] === "training")
    return { kind: "worker", service: "training" };
  return undefined;
}

function schemaIssues(schema, env) {
  const result = schema.safeParse(env);
  if (result.success) return [];
  return result.error.issues.map((issue) => {
    const name = issue.path.join(".");
    const value = env[name];
    return `${name}: ${issue.message} (${value === undefined ? "not set" : `got ${JSON.stringify(value)}`})`;
  });
}

/**
 * Checks one Seam process's environment: its service's schema, telemetry, a bind address
 * reachable from outside the container, and every address naming a known endpoint.
 * `endpoints(host)` answers { service, ports } for a host, or undefined.
 */
function checkSeamEnv(report, where, proc, env, schemas, endpoints, { expectedServiceName }) {
  if (schemas === undefined) return;
  const problem = report;
  const { service } = proc;
  const own =
    service === "gateway"
      ? [...schemaIssues(schemas.gateway, env), ...schemaIssues(schemas.backends, env)]
      : schemaIssues(schemas[service], env);
  for (const issue of own) problem(where, `env ${issue}`);
  for (const issue of schemaIssues(schemas.telemetry, env)) problem(where, `env ${issue}`);
  if (schemas.metrics !== undefined)
    for (const issue of schemaIssues(schemas.metrics, env)) problem(where, `env ${issue}`);

  if (env.OTEL_EXPORTER_OTLP_ENDPOINT === undefined)
    problem(where, "env OTEL_EXPORTER_OTLP_ENDPOINT: not set (no traces)");
  if (expectedServiceName !== undefined && env.OTEL_SERVICE_NAME !== expectedServiceName) {
    problem(
      where,
      `env OTEL_SERVICE_NAME: expected "${expectedServiceName}", one name for a service everywhere (got ${JSON.stringify(env.OTEL_SERVICE_NAME)})`,
    );
  }
  if (proc.kind === "worker") {
    if (env.REDIS_URL === undefined)
      problem(where, "env REDIS_URL: a training worker takes jobs from Redis (not set)");
    if (env.TRAINING_WORKERS === "0")
      problem(where, 'env TRAINING_WORKERS: a worker needs at least 1 (got "0")');
  } else if (service !== "gateway" && env.REDIS_URL === undefined) {
    problem(where, "env REDIS_URL: not set: every replica would keep its own embedded state");
  }
  if (proc.kind === "serve") {
    const spec = SEAM_SERVICES[service];
    if (!WILDCARD_HOSTS.has(env[spec.host] ?? "127.0.0.1")) {
      problem(
        where,
        `env ${spec.host}: must be 0.0.0.0 (or ::) in a container, else nothing outside it reaches the port (got ${JSON.stringify(env[spec.host] ?? "127.0.0.1 by default")})`,
      );
    }
  }
  if (env.SEAM_METRICS_PORT !== undefined && !WILDCARD_HOSTS.has(env.SEAM_METRICS_HOST ?? "127.0.0.1")) {
    problem(
      where,
      `env SEAM_METRICS_HOST: must be 0.0.0.0 (or ::) for /metrics to be scraped and probed (got ${JSON.stringify(env.SEAM_METRICS_HOST ?? "127.0.0.1 by default")})`,
    );
  }
  for (const [variable, target] of Object.entries(ADDRESS_VARIABLES)) {
    const value = env[variable];
    if (value === undefined) continue;
    for (const { host, port } of parseTargets(value)) {
      const endpoint = endpoints(host);
      if (endpoint === undefined) {
        problem(where, `env ${variable}: "${host}" is no service here (${value})`);
      } else if (endpoint.service !== target) {
        problem(where, `env ${variable}: "${host}" reaches ${endpoint.service}, not ${target}`);
      } else if (!endpoint.ports.includes(port)) {
        problem(where, `env ${variable}: ${target} listens on ${endpoint.ports.join(", ")}, not ${port}`);
      }
    }
  }
  const otlp = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (otlp !== undefined && URL.canParse(otlp)) {
    const url = new URL(otlp);
    const endpoint = endpoints(url.hostname);
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    if (endpoint === undefined && !url.hostname.includes(".")) {
      problem(where, `env OTEL_EXPORTER_OTLP_ENDPOINT: "${url.hostname}" is no service here`);
    } else if (endpoint !== undefined && !endpoint.ports.includes(port)) {
      problem(
        where,
        `env OTEL_EXPORTER_OTLP_ENDPOINT: ${url.hostname} listens on ${endpoint.ports.join(", ")}, not ${port}`,
      );
    }
  }
  const redis = env.REDIS_URL;
  if (redis !== undefined && URL.canParse(redis)) {
    const url = new URL(redis);
    if (!url.hostname.includes(".") && endpoints(url.hostname) === undefined) {
      problem(where, `env REDIS_URL: "${url.hostname}" is no service here`);
    }
  }
}

/** host:port targets of an address value: host:port, ip:port,ip:port, dns:///host:port. */
function parseTargets(value) {
  const stripped = value.replace(/^dns:(\/\/[^/]*)?\/+/, "").replace(/^ipv[46]:/, "");
  return stripped
    .split(",")
    .map((part) => part.trim())
    .map((part) => {
      const at = part.lastIndexOf(":");
      return { host: part.slice(0, at), port: Number(part.slice(at + 1)) };
    })
    .filter((t) => t.host !== "" && Number.isInteger(t.port));
}

/** Expands $(VAR) references the way the kubelet does, from variables defined before. */
function expandKubeRefs(value, env) {
  return value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name) => env[name] ?? whole);
}

// ---------------------------------------------------------------------------------------
// Kubernetes: project rules

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet"]);

function objectName(o) {
  const ns = o.metadata?.namespace;
  return `${o.kind}/${ns === undefined ? "" : `${ns}/`}${o.metadata?.name ?? "(no name)"}`;
}

function parseImage(image) {
  const at = image.indexOf("@");
  const withoutDigest = at >= 0 ? image.slice(0, at) : image;
  const digest = at >= 0 ? image.slice(at + 1) : undefined;
  const slash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.lastIndexOf(":");
  const tag = colon > slash ? withoutDigest.slice(colon + 1) : undefined;
  const repository = colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
  return { repository, name: repository.slice(repository.lastIndexOf("/") + 1), tag, digest };
}

/** CPU in millicores, memory and storage in bytes; undefined when malformed. */
function quantity(value) {
  const text = String(value);
  const match = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(text);
  if (match === null) return undefined;
  const scale = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(match[1]) * (match[2] === undefined ? 1 : scale[match[2]]);
}

const matches = (selector, labels) =>
  isObject(selector) && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

function checkOverlay(source, objects, schemas, report) {
  const byKind = (kind) => objects.filter((o) => o.kind === kind);
  const workloads = objects.filter((o) => WORKLOAD_KINDS.has(o.kind));
  const services = byKind("Service");
  const configMaps = new Set(byKind("ConfigMap").map((o) => o.metadata?.name));
  const secrets = new Set(byKind("Secret").map((o) => o.metadata?.name));
  const serviceAccounts = new Map(byKind("ServiceAccount").map((o) => [o.metadata?.name, o]));
  const hpas = byKind("HorizontalPodAutoscaler");
  const pdbs = byKind("PodDisruptionBudget");
  const where = (o, at) => `${objectName(o)}${at === undefined ? "" : `: ${at}`}`;
  const problem = (at, message) => report(at, message, source);

  // One namespace, declared, and no object twice.
  const seen = new Set();
  const namespaces = new Set(byKind("Namespace").map((o) => o.metadata?.name));
  for (const o of objects) {
    const id = objectName(o);
    if (seen.has(id)) problem(id, "defined twice");
    seen.add(id);
    if (o.kind === "Namespace") continue;
    const ns = o.metadata?.namespace;
    if (ns === undefined) problem(where(o), "no namespace (set `namespace:` in the kustomization)");
    else if (!namespaces.has(ns)) problem(where(o), `namespace ${ns} is not created by these manifests`);
  }

  // The pods each Service selects, and which Service names what.
  const podsOf = (selector) => workloads.filter((w) => matches(selector, w.spec?.template?.metadata?.labels));
  const selected = new Set();
  const endpointsByHost = new Map();
  for (const svc of services) {
    const selector = svc.spec?.selector;
    const targets = podsOf(selector);
    if (targets.length === 0) {
      problem(where(svc, "spec.selector"), "selects no pods of these manifests");
      continue;
    }
    for (const w of targets) selected.add(w);
    const containerPorts = targets.flatMap((w) =>
      asArray(w.spec?.template?.spec?.containers).flatMap((c) => asArray(c.ports)),
    );
    for (const [i, port] of asArray(svc.spec?.ports).entries()) {
      const target = port.targetPort ?? port.port;
      const found = containerPorts.some((cp) =>
        typeof target === "number" ? cp.containerPort === target : cp.name === target,
      );
      if (!found)
        problem(
          where(svc, `spec.ports[${i}].targetPort`),
          `no container port ${JSON.stringify(target)} in the pods it selects`,
        );
    }
    const seamService = targets.map((w) => seamContainer(w)?.proc).find((p) => p?.kind === "serve")?.service;
    endpointsByHost.set(svc.metadata?.name, {
      service: seamService ?? svc.metadata?.name,
      ports: asArray(svc.spec?.ports).map((p) => p.port),
      headless: svc.spec?.clusterIP === "None",
    });
  }
  const endpoints = (host) => {
    const short = host.split(".")[0];
    return endpointsByHost.get(host) ?? endpointsByHost.get(short);
  };

  // Seam images: one tag, one repository per image kind.
  const seamTags = new Map();
  const seamRepositories = new Map();
  for (const w of workloads) {
    const pod = w.spec?.template?.spec ?? {};
    const podSc = pod.securityContext ?? {};
    const podWhere = (at) => where(w, `spec.template.spec${at === undefined ? "" : `.${at}`}`);

    if (w.kind === "Deployment" || w.kind === "StatefulSet") {
      if (!matches(w.spec?.selector?.matchLabels, w.spec?.template?.metadata?.labels)) {
        problem(where(w, "spec.selector.matchLabels"), "does not match the pod template's labels");
      }
    }
    if (pod.serviceAccountName === undefined)
      problem(podWhere("serviceAccountName"), "not set: every workload runs as its own ServiceAccount");
    else if (!serviceAccounts.has(pod.serviceAccountName))
      problem(
        podWhere("serviceAccountName"),
        `ServiceAccount ${pod.serviceAccountName} is not in these manifests`,
      );
    const automount =
      pod.automountServiceAccountToken ??
      serviceAccounts.get(pod.serviceAccountName)?.automountServiceAccountToken;
    if (automount !== false)
      problem(
        podWhere("automountServiceAccountToken"),
        "must be false: no Seam pod talks to the Kubernetes API",
      );
    if (pod.enableServiceLinks !== false) {
      problem(
        podWhere("enableServiceLinks"),
        "must be false: Service links set REGISTRY_PORT=tcp://… and the like, variables Seam reads",
      );
    }
    if (pod.hostNetwork === true || pod.hostPID === true || pod.hostIPC === true)
      problem(podWhere(), "uses the host's namespaces");

    const volumes = new Map(asArray(pod.volumes).map((v) => [v.name, v]));
    for (const [i, v] of asArray(pod.volumes).entries()) {
      if (v.hostPath !== undefined) problem(podWhere(`volumes[${i}]`), "hostPath volumes are not allowed");
      if (v.configMap !== undefined && !configMaps.has(v.configMap.name))
        problem(
          podWhere(`volumes[${i}].configMap.name`),
          `ConfigMap ${v.configMap.name} is not in these manifests`,
        );
    }

    const isSelected = selected.has(w);
    for (const [i, c] of asArray(pod.containers).entries()) {
      const at = (field) => `containers[${i}]${field === undefined ? "" : `.${field}`}`;
      const sc = c.securityContext ?? {};
      if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true)
        problem(
          podWhere(at("securityContext.runAsNonRoot")),
          "must be true (here or in the pod's securityContext)",
        );
      if ((sc.runAsUser ?? podSc.runAsUser) === 0)
        problem(podWhere(at("securityContext.runAsUser")), "runs as root");
      if (sc.readOnlyRootFilesystem !== true)
        problem(podWhere(at("securityContext.readOnlyRootFilesystem")), "must be true");
      if (sc.allowPrivilegeEscalation !== false)
        problem(podWhere(at("securityContext.allowPrivilegeEscalation")), "must be false");
      if (sc.privileged === true) problem(podWhere(at("securityContext.privileged")), "must not be true");
      if (!asArray(sc.capabilities?.drop).includes("ALL"))
        problem(podWhere(at("securityContext.capabilities.drop")), "must include ALL");
      if (asArray(sc.capabilities?.add).length > 0)
        problem(podWhere(at("securityContext.capabilities.add")), "no capability may be added");
      const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
      if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost")
        problem(
          podWhere(at("securityContext.seccompProfile")),
          "must be RuntimeDefault (here or in the pod's securityContext)",
        );

      // Requests and limits: cpu and memory, requests within limits.
      for (const kind of ["requests", "limits"]) {
        for (const resource of ["cpu", "memory"]) {
          const value = c.resources?.[kind]?.[resource];
          if (value === undefined) problem(podWhere(at(`resources.${kind}.${resource}`)), "not set");
          else if (quantity(value) === undefined)
            problem(
              podWhere(at(`resources.${kind}.${resource}`)),
              `not a quantity (${JSON.stringify(value)})`,
            );
        }
      }
      for (const [resource, request] of Object.entries(c.resources?.requests ?? {})) {
        const limit = c.resources?.limits?.[resource];
        if (
          limit !== undefined &&
          quantity(request) !== undefined &&
          quantity(limit) !== undefined &&
          quantity(request) > quantity(limit)
        ) {
          problem(podWhere(at(`resources.requests.${resource}`)), `${request} is above the limit ${limit}`);
        }
      }

      // Probes: liveness everywhere; readiness where a Service sends traffic.
      if (c.livenessProbe === undefined) problem(podWhere(at("livenessProbe")), "not set");
      if (isSelected && c.readinessProbe === undefined)
        problem(podWhere(at("readinessProbe")), "not set, and a Service sends this pod traffic");
      for (const probeName of ["startupProbe", "readinessProbe", "livenessProbe"]) {
        const probe = c[probeName];
        if (probe === undefined) continue;
        const port = probe.grpc?.port ?? probe.httpGet?.port ?? probe.tcpSocket?.port;
        if (port === undefined) continue;
        const known = asArray(c.ports).some((p) =>
          typeof port === "number" ? p.containerPort === port : p.name === port,
        );
        if (!known)
          problem(
            podWhere(at(`${probeName}`)),
            `probes port ${JSON.stringify(port)}, which the container does not declare`,
          );
      }

      // Volumes and configuration sources exist.
      for (const [j, m] of asArray(c.volumeMounts).entries()) {
        if (!volumes.has(m.name)) {
          const claim = asArray(w.spec?.volumeClaimTemplates).some((t) => t.metadata?.name === m.name);
          if (!claim) problem(podWhere(at(`volumeMounts[${j}].name`)), `no volume named ${m.name}`);
        }
      }
      for (const [j, from] of asArray(c.envFrom).entries()) {
        if (from.configMapRef !== undefined && !configMaps.has(from.configMapRef.name))
          problem(
            podWhere(at(`envFrom[${j}]`)),
            `ConfigMap ${from.configMapRef.name} is not in these manifests`,
          );
        if (
          from.secretRef !== undefined &&
          from.secretRef.optional !== true &&
          !secrets.has(from.secretRef.name)
        )
          problem(podWhere(at(`envFrom[${j}]`)), `Secret ${from.secretRef.name} is not in these manifests`);
      }

      // Images: pinned; Seam's consistent; GPU images exactly where a GPU is asked for.
      if (typeof c.image !== "string") continue;
      const image = parseImage(c.image);
      if (image.digest === undefined && (image.tag === undefined || image.tag === "latest")) {
        problem(podWhere(at("image")), `${c.image}: pin a version tag or digest`);
      }
      const gpu =
        c.resources?.limits?.[GPU_RESOURCE] !== undefined ||
        c.resources?.requests?.[GPU_RESOURCE] !== undefined;
      if (SEAM_IMAGES.has(image.name)) {
        const version = image.tag ?? image.digest ?? "(no tag)";
        seamTags.set(version, [...(seamTags.get(version) ?? []), `${objectName(w)} (${c.image})`]);
        seamRepositories.set(
          image.name,
          new Set([...(seamRepositories.get(image.name) ?? []), image.repository]),
        );
        const gpuImage = image.name.endsWith("-gpu");
        if (gpu && !gpuImage)
          problem(
            podWhere(at("image")),
            `asks for ${GPU_RESOURCE} but runs ${c.image}, not a GPU image (deploy/Dockerfile.gpu)`,
          );
        if (!gpu && gpuImage)
          problem(podWhere(at("image")), `runs the GPU image ${c.image} without asking for ${GPU_RESOURCE}`);
      }
      if (gpu) {
        const tolerated = asArray(pod.tolerations).some(
          (t) => t.key === GPU_RESOURCE || (t.operator === "Exists" && t.key === undefined),
        );
        if (!tolerated)
          problem(podWhere("tolerations"), `asks for ${GPU_RESOURCE} but tolerates no ${GPU_RESOURCE} taint`);
        if (!isObject(pod.nodeSelector) && pod.affinity?.nodeAffinity === undefined)
          problem(podWhere("nodeSelector"), `asks for ${GPU_RESOURCE} but selects no GPU nodes`);
        if (
          c.resources?.requests?.[GPU_RESOURCE] !== undefined &&
          c.resources?.limits?.[GPU_RESOURCE] !== c.resources?.requests?.[GPU_RESOURCE]
        ) {
          problem(
            podWhere(at(`resources.limits.${GPU_RESOURCE}`)),
            "must equal the request (extended resources are not overcommitted)",
          );
        }
      }
    }

    // Seam containers: a known command, and an environment their service accepts.
    const seam = seamContainer(w);
    if (seam !== undefined) {
      const { container, index, proc } = seam;
      const at = (field) => podWhere(`containers[${index}].${field}`);
      if (proc === undefined) {
        problem(
          at("args"),
          `not a Seam process: ${JSON.stringify(container.args)} (expected serve <${Object.keys(SEAM_SERVICES).join("|")}> or worker training)`,
        );
      } else {
        const env = containerEnv(container, objects);
        checkSeamEnv(problem, at("env"), proc, env, schemas, endpoints, {
          expectedServiceName: w.metadata?.name,
        });
        if (proc.kind === "serve") {
          const spec = SEAM_SERVICES[proc.service];
          const port = Number(env[spec.port] ?? spec.defaultPort);
          const declared = asArray(container.ports).map((p) => p.containerPort);
          if (!declared.includes(port))
            problem(at("ports"), `${proc.service} listens on ${port} (${spec.port}), which is not declared`);
          for (const probeName of ["startupProbe", "readinessProbe", "livenessProbe"]) {
            const probe = container[probeName];
            if (probe?.grpc !== undefined && probe.grpc.port !== port)
              problem(
                at(`${probeName}.grpc.port`),
                `${probe.grpc.port}, but ${proc.service} listens on ${port}`,
              );
          }
          if (proc.service !== "gateway" && probeKind(container.readinessProbe) !== "grpc") {
            problem(at("readinessProbe"), "use a gRPC probe (grpc.health.v1, which the service answers)");
          }
          if (env.SEAM_METRICS_PORT !== undefined && !declared.includes(Number(env.SEAM_METRICS_PORT))) {
            problem(at("ports"), `SEAM_METRICS_PORT ${env.SEAM_METRICS_PORT} is not declared`);
          }
        }
      }
    }
  }
  for (const [name, repositories] of seamRepositories) {
    if (repositories.size > 1)
      problem("images", `the ${name} image comes from several repositories: ${[...repositories].join(", ")}`);
  }
  if (seamTags.size > 1) {
    problem(
      "images",
      `Seam images with different versions: ${[...seamTags.entries()].map(([tag, users]) => `${tag}: ${users.join(", ")}`).join("; ")}`,
    );
  }

  // Every gRPC backend another Seam service calls is headless, so clients see every pod.
  for (const [host, endpoint] of endpointsByHost) {
    if (endpoint.service in SEAM_SERVICES && endpoint.service !== "gateway" && !endpoint.headless) {
      problem(
        where(services.find((svc) => svc.metadata?.name === host)),
        "must be headless (clusterIP: None): with a cluster IP a gRPC client keeps one connection to one pod",
      );
    }
  }

  // Autoscalers and disruption budgets point at real workloads.
  for (const hpa of hpas) {
    const ref = hpa.spec?.scaleTargetRef ?? {};
    const target = workloads.find((w) => w.kind === ref.kind && w.metadata?.name === ref.name);
    if (target === undefined) {
      problem(where(hpa, "spec.scaleTargetRef"), `${ref.kind}/${ref.name} is not in these manifests`);
      continue;
    }
    if ((hpa.spec?.minReplicas ?? 1) > hpa.spec?.maxReplicas)
      problem(
        where(hpa, "spec.minReplicas"),
        `${hpa.spec.minReplicas} is above maxReplicas ${hpa.spec.maxReplicas}`,
      );
    if (target.spec?.replicas !== undefined) {
      problem(
        where(target, "spec.replicas"),
        `set, but ${objectName(hpa)} scales it: every apply would reset the replica count`,
      );
    }
    const usesCpu = asArray(hpa.spec?.metrics).some((m) => m.resource?.name === "cpu");
    if (usesCpu) {
      for (const [i, c] of asArray(target.spec?.template?.spec?.containers).entries()) {
        if (c.resources?.requests?.cpu === undefined)
          problem(
            where(target, `spec.template.spec.containers[${i}].resources.requests.cpu`),
            `needed by ${objectName(hpa)}'s CPU utilization target`,
          );
      }
    }
  }
  for (const pdb of pdbs) {
    if (
      workloads.every((w) => !matches(pdb.spec?.selector?.matchLabels, w.spec?.template?.metadata?.labels))
    ) {
      problem(where(pdb, "spec.selector"), "selects no pods of these manifests");
    }
  }
  for (const w of workloads) {
    if (seamContainer(w) === undefined || w.kind !== "Deployment") continue;
    if (!pdbs.some((pdb) => matches(pdb.spec?.selector?.matchLabels, w.spec?.template?.metadata?.labels))) {
      problem(where(w), "no PodDisruptionBudget covers it");
    }
  }
}

function probeKind(probe) {
  if (probe === undefined) return undefined;
  return ["grpc", "httpGet", "tcpSocket", "exec"].find((k) => probe[k] !== undefined);
}

/** The Seam container of a workload (the one running a Seam image) and the process it runs. */
function seamContainer(workload) {
  const containers = asArray(workload.spec?.template?.spec?.containers);
  const index = containers.findIndex(
    (c) => typeof c.image === "string" && SEAM_IMAGES.has(parseImage(c.image).name),
  );
  if (index < 0) return undefined;
  const container = containers[index];
  const args = [...asArray(container.command), ...asArray(container.args)].map(String);
  return { container, index, proc: seamProcess(args) };
}

/** A container's environment: envFrom ConfigMaps, then env (later wins), $(VAR) expanded. */
function containerEnv(container, objects) {
  const env = {};
  for (const from of asArray(container.envFrom)) {
    const name = from.configMapRef?.name;
    const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata?.name === name);
    for (const [k, v] of Object.entries(cm?.data ?? {})) env[`${from.prefix ?? ""}${k}`] = String(v);
  }
  for (const e of asArray(container.env)) {
    if (e.value !== undefined) env[e.name] = expandKubeRefs(String(e.value), env);
    else if (e.valueFrom?.configMapKeyRef !== undefined) {
      const cm = objects.find(
        (o) => o.kind === "ConfigMap" && o.metadata?.name === e.valueFrom.configMapKeyRef.name,
      );
      const value = cm?.data?.[e.valueFrom.configMapKeyRef.key];
      if (value !== undefined) env[e.name] = String(value);
    } else env[e.name] = `(${e.name} from the cluster)`;
  }
  return env;
}

async function checkKubernetes(deployDir, schemas) {
  const k8sDir = path.join(deployDir, "k8s");
  const overlaysDir = path.join(k8sDir, "overlays");
  const targets = [path.join(k8sDir, "base")];
  if (existsSync(overlaysDir)) {
    for (const entry of readdirSync(overlaysDir, { withFileTypes: true })) {
      if (entry.isDirectory() && existsSync(path.join(overlaysDir, entry.name, "kustomization.yaml"))) {
        targets.push(path.join(overlaysDir, entry.name));
      }
    }
  }
  const rendered = [];
  for (const dir of targets) {
    if (!existsSync(path.join(dir, "kustomization.yaml"))) {
      problem(rel(dir), "no kustomization.yaml");
      continue;
    }
    const result = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8", maxBuffer: 64 << 20 });
    if (result.status !== 0) {
      problem(rel(dir), `kubectl kustomize failed: ${(result.stderr || result.stdout).trim()}`);
      continue;
    }
    const objects = [];
    for (const doc of parseAllDocuments(result.stdout)) {
      if (doc.errors.length > 0) {
        problem(rel(dir), `rendered YAML does not parse: ${doc.errors[0].message}`);
        continue;
      }
      const value = doc.toJS();
      if (value !== null) objects.push(value);
    }
    rendered.push({ source: path.relative(k8sDir, dir).replace(/^overlays[\\/]/, ""), objects });
  }

  const kinds = new Set(rendered.flatMap(({ objects }) => objects.map((o) => `${o.apiVersion} ${o.kind}`)));
  const fieldErrors = await createFieldChecker(kinds);
  for (const { source, objects } of rendered) {
    for (const object of objects) {
      for (const message of await schemaErrors(object)) problem(objectName(object), message, source);
      for (const message of fieldErrors(object)) problem(objectName(object), message, source);
      if (
        object.kind === "ConfigMap" &&
        typeof object.data?.["config.yaml"] === "string" &&
        /collector/.test(object.metadata?.name ?? "")
      ) {
        const name = `${object.kind}/${object.metadata.namespace}/${object.metadata.name.replace(/-[a-z0-9]{10}$/, "")}`;
        checkCollectorConfig(
          (at, message) => problem(at, message, source),
          `${name}: data.config.yaml`,
          object.data["config.yaml"],
        );
      }
    }
    checkOverlay(source, objects, schemas, problem);
  }
  return rendered;
}

// ---------------------------------------------------------------------------------------
// OpenTelemetry Collector configuration

function checkCollectorConfig(report, where, text) {
  const problem = report;
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    problem(where, `does not parse: ${doc.errors[0].message}`);
    return;
  }
  const config = doc.toJS() ?? {};
  const sections = ["receivers", "processors", "exporters", "extensions", "connectors"];
  for (const key of Object.keys(config)) {
    if (!sections.includes(key) && key !== "service") problem(where, `${key}: unknown top-level section`);
  }
  const defined = (section, id) => isObject(config[section]) && id in config[section];
  for (const id of asArray(config.service?.extensions)) {
    if (!defined("extensions", id))
      problem(where, `service.extensions: ${id} is not defined under extensions`);
  }
  const pipelines = config.service?.pipelines;
  if (!isObject(pipelines) || Object.keys(pipelines).length === 0) {
    problem(where, "service.pipelines: none");
    return;
  }
  const used = new Set();
  for (const [name, pipeline] of Object.entries(pipelines)) {
    if (!/^(traces|metrics|logs)(\/.+)?$/.test(name))
      problem(where, `service.pipelines.${name}: not a traces, metrics or logs pipeline`);
    for (const part of ["receivers", "processors", "exporters"]) {
      for (const id of asArray(pipeline?.[part])) {
        used.add(`${part} ${id}`);
        if (!defined(part, id) && !defined("connectors", id))
          problem(where, `service.pipelines.${name}.${part}: ${id} is not defined under ${part}`);
      }
    }
    if (asArray(pipeline?.receivers).length === 0)
      problem(where, `service.pipelines.${name}.receivers: none`);
    if (asArray(pipeline?.exporters).length === 0)
      problem(where, `service.pipelines.${name}.exporters: none`);
  }
  for (const id of Object.keys(config.receivers ?? {})) {
    if (!used.has(`receivers ${id}`)) problem(where, `receivers.${id}: defined but in no pipeline`);
  }
  const otlp = config.receivers?.otlp?.protocols;
  for (const protocol of ["grpc", "http"]) {
    const endpoint = otlp?.[protocol]?.endpoint;
    if (
      otlp?.[protocol] !== undefined &&
      (typeof endpoint !== "string" || !endpoint.startsWith("0.0.0.0:"))
    ) {
      problem(
        where,
        `receivers.otlp.protocols.${protocol}.endpoint: must listen on 0.0.0.0 (the default is localhost), got ${JSON.stringify(endpoint)}`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------
// Compose

const COMPOSE_TOP = new Set([
  "name",
  "services",
  "networks",
  "volumes",
  "configs",
  "secrets",
  "include",
  "models",
]);
const COMPOSE_SERVICE_KEYS = new Set(
  (
    "annotations attach blkio_config build cap_add cap_drop cgroup cgroup_parent command configs container_name " +
    "cpu_count cpu_percent cpu_period cpu_quota cpu_rt_period cpu_rt_runtime cpu_shares cpus cpuset credential_spec " +
    "depends_on deploy develop device_cgroup_rules devices dns dns_opt dns_search domainname entrypoint env_file " +
    "environment expose extends external_links extra_hosts gpus group_add healthcheck hostname image init ipc " +
    "isolation label_file labels links logging mac_address mem_limit mem_reservation mem_swappiness memswap_limit " +
    "models network_mode networks oom_kill_disable oom_score_adj pid pids_limit platform ports post_start pre_stop " +
    "privileged profiles provider pull_policy read_only restart runtime scale secrets security_opt shm_size " +
    "stdin_open stop_grace_period stop_signal storage_opt sysctls tmpfs tty ulimits use_api_socket user " +
    "userns_mode uts volumes volumes_from working_dir"
  ).split(" "),
);
/** Ports the third-party images of compose.yaml listen on. */
const KNOWN_IMAGE_PORTS = {
  redis: [6379],
  "opentelemetry-collector-contrib": [4317, 4318, 8889, 13133],
  "opentelemetry-collector": [4317, 4318, 8889, 13133],
  "all-in-one": [4317, 4318, 16686],
};
const COMPOSE_HEALTHCHECK_KEYS = new Set([
  "test",
  "interval",
  "timeout",
  "retries",
  "start_period",
  "start_interval",
  "disable",
]);
const COMPOSE_DEPLOY_KEYS = new Set([
  "mode",
  "replicas",
  "endpoint_mode",
  "labels",
  "placement",
  "resources",
  "restart_policy",
  "rollback_config",
  "update_config",
]);

/** Compose's variable interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, $$. */
function interpolate(value, env) {
  if (typeof value === "string") {
    return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (whole, name, fallback) =>
      whole === "$$" ? "$" : (env[name] ?? fallback ?? ""),
    );
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env));
  if (isObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)]));
  return value;
}

function composeEnv(environment) {
  if (Array.isArray(environment)) {
    return Object.fromEntries(
      environment.map((entry) => {
        const at = String(entry).indexOf("=");
        return at < 0 ? [entry, undefined] : [entry.slice(0, at), entry.slice(at + 1)];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(environment ?? {}).map(([k, v]) => [k, v === null ? undefined : String(v)]),
  );
}

/** Published host ports of a service's `ports`. */
function publishedPorts(ports) {
  const out = [];
  for (const port of asArray(ports)) {
    if (isObject(port)) {
      if (port.published !== undefined) out.push(String(port.published));
      continue;
    }
    const parts = String(port).split("/")[0].split(":");
    if (parts.length >= 2) out.push(parts[parts.length - 2]);
  }
  return out;
}

function checkCompose(deployDir, schemas) {
  const file = path.join(deployDir, "compose.yaml");
  const where = rel(file);
  if (!existsSync(file)) {
    problem(where, "missing");
    return;
  }
  const doc = parseDocument(readFileSync(file, "utf8"), { merge: true });
  if (doc.errors.length > 0) {
    problem(where, `does not parse: ${doc.errors[0].message}`);
    return;
  }
  const compose = interpolate(doc.toJS({ maxAliasCount: 1000 }) ?? {}, {});
  for (const key of Object.keys(compose)) {
    if (key === "version") problem(where, "version: obsolete in the Compose Specification, remove it");
    else if (!COMPOSE_TOP.has(key) && !key.startsWith("x-")) problem(where, `${key}: unknown top-level key`);
  }
  const services = compose.services;
  if (!isObject(services) || Object.keys(services).length === 0) {
    problem(where, "services: none");
    return;
  }
  const volumes = new Set(Object.keys(compose.volumes ?? {}));
  const published = new Map();

  // What listens where: a service's own port variable, or the ports it exposes/publishes.
  const endpointsByHost = new Map();
  for (const [name, svc] of Object.entries(services)) {
    const args = asArray(svc?.command).map(String);
    const proc = seamProcess(args);
    const env = composeEnv(svc?.environment);
    if (proc?.kind === "serve") {
      const spec = SEAM_SERVICES[proc.service];
      endpointsByHost.set(name, {
        service: proc.service,
        ports: [Number(env[spec.port] ?? spec.defaultPort)],
      });
    } else {
      const image = typeof svc?.image === "string" ? parseImage(svc.image).name : "";
      const ports = [...(KNOWN_IMAGE_PORTS[image] ?? []), ...asArray(svc?.expose).map(Number)];
      endpointsByHost.set(name, { service: name, ports });
    }
  }
  const endpoints = (host) => endpointsByHost.get(host);

  let seamImage;
  for (const [name, svc] of Object.entries(services)) {
    const at = (field) => `${where}: services.${name}${field === undefined ? "" : `.${field}`}`;
    if (!isObject(svc)) {
      problem(at(), "not a mapping");
      continue;
    }
    for (const key of Object.keys(svc)) {
      if (!COMPOSE_SERVICE_KEYS.has(key) && !key.startsWith("x-"))
        problem(at(key), `unknown service key${suggestion(key, COMPOSE_SERVICE_KEYS)}`);
    }
    if (svc.image === undefined && svc.build === undefined) problem(at(), "needs image or build");
    if (svc.build !== undefined) {
      const build = typeof svc.build === "string" ? { context: svc.build } : svc.build;
      const context = path.resolve(deployDir, build.context ?? ".");
      const dockerfile = path.resolve(context, build.dockerfile ?? "Dockerfile");
      if (!existsSync(dockerfile)) problem(at("build"), `${rel(dockerfile)} does not exist`);
    }
    if (isObject(svc.healthcheck)) {
      for (const key of Object.keys(svc.healthcheck))
        if (!COMPOSE_HEALTHCHECK_KEYS.has(key)) problem(at(`healthcheck.${key}`), "unknown key");
      const test = svc.healthcheck.test;
      if (Array.isArray(test) && !["CMD", "CMD-SHELL", "NONE"].includes(test[0]))
        problem(at("healthcheck.test"), 'must start with "CMD", "CMD-SHELL" or "NONE"');
    }
    if (isObject(svc.deploy)) {
      for (const key of Object.keys(svc.deploy))
        if (!COMPOSE_DEPLOY_KEYS.has(key)) problem(at(`deploy.${key}`), "unknown key");
    }
    const replicas = svc.deploy?.replicas ?? svc.scale ?? 1;
    if (replicas > 1 && svc.container_name !== undefined)
      problem(at("container_name"), "cannot be set on a service with replicas");
    for (const port of publishedPorts(svc.ports)) {
      if (replicas > 1) problem(at("ports"), `host port ${port} published by ${replicas} replicas`);
      if (published.has(port))
        problem(at("ports"), `host port ${port} is also published by ${published.get(port)}`);
      published.set(port, name);
    }
    for (const volume of asArray(svc.volumes)) {
      const source = isObject(volume) ? volume.source : String(volume).split(":")[0];
      if (source === undefined) continue;
      if (source.startsWith(".") || source.startsWith("/")) {
        const resolved = path.resolve(deployDir, source);
        if (!existsSync(resolved)) problem(at("volumes"), `${source} does not exist`);
        else if (/collector/.test(name) && /\.ya?ml$/.test(source))
          checkCollectorConfig(problem, rel(resolved), readFileSync(resolved, "utf8"));
      } else if (!volumes.has(source)) {
        problem(at("volumes"), `named volume ${source} is not declared under the top-level volumes`);
      }
    }
    const dependsOn = Array.isArray(svc.depends_on)
      ? Object.fromEntries(svc.depends_on.map((d) => [d, { condition: "service_started" }]))
      : (svc.depends_on ?? {});
    for (const [dependency, spec] of Object.entries(dependsOn)) {
      const target = services[dependency];
      if (target === undefined) {
        problem(at(`depends_on.${dependency}`), "no such service");
        continue;
      }
      if (spec?.condition === "service_healthy" && target.healthcheck === undefined) {
        problem(at(`depends_on.${dependency}`), `service_healthy, but ${dependency} has no healthcheck`);
      }
    }

    // Seam services: the one image, least privilege, a health check, a valid environment.
    const args = asArray(svc.command).map(String);
    const proc = seamProcess(args);
    const runsSeam = typeof svc.image === "string" && SEAM_IMAGES.has(parseImage(svc.image).name);
    if (!runsSeam && proc === undefined) continue;
    if (proc === undefined) {
      problem(at("command"), `not a Seam process: ${JSON.stringify(svc.command)}`);
      continue;
    }
    if (!runsSeam) problem(at("image"), `runs ${JSON.stringify(svc.image)}, not the Seam image`);
    seamImage ??= svc.image;
    if (svc.image !== seamImage)
      problem(at("image"), `${svc.image}, but other Seam services run ${seamImage}`);
    if (svc.read_only !== true) problem(at("read_only"), "must be true");
    if (!asArray(svc.cap_drop).includes("ALL")) problem(at("cap_drop"), "must include ALL");
    const user = String(svc.user ?? "");
    if (user === "" || user === "0" || user.startsWith("0:") || user === "root")
      problem(at("user"), "must be a non-root user");
    if (svc.healthcheck === undefined) problem(at("healthcheck"), "not set");
    checkSeamEnv(problem, at("environment"), proc, composeEnv(svc.environment), schemas, endpoints, {
      expectedServiceName: name,
    });
  }
}

// ---------------------------------------------------------------------------------------
// Dockerfiles

function checkDockerfiles(deployDir) {
  const workspaces = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")).workspaces ?? [];
  for (const name of ["Dockerfile", "Dockerfile.gpu"]) {
    const file = path.join(deployDir, name);
    const where = rel(file);
    if (!existsSync(file)) {
      problem(where, "missing");
      continue;
    }
    const text = readFileSync(file, "utf8").replace(/\\\r?\n/g, " ");
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
    // Every workspace's manifest is copied before `npm ci`, or the install misses it.
    for (const ws of workspaces) {
      if (!new RegExp(`COPY\\s+${ws.replaceAll("/", "\\/")}/package\\.json\\s`).test(text)) {
        problem(where, `workspace ${ws}: its package.json is not copied before npm ci`);
      }
    }
    // Each final stage runs as a non-root user and starts the seam CLI.
    const stages = [];
    for (const line of lines) {
      const [instruction, ...rest] = line.trim().split(/\s+/);
      const upper = instruction.toUpperCase();
      if (upper === "FROM") stages.push({ from: rest.join(" "), lines: [] });
      else stages.at(-1)?.lines.push({ instruction: upper, value: rest.join(" ") });
    }
    const finals = stages.filter((s) => s.lines.some((l) => l.instruction === "ENTRYPOINT"));
    if (finals.length === 0) problem(where, "no stage has an ENTRYPOINT");
    for (const stage of finals) {
      const label = `stage "${stage.from}"`;
      const user = stage.lines.filter((l) => l.instruction === "USER").at(-1)?.value;
      if (user === undefined || /^(0|root)(:|$)/.test(user))
        problem(where, `${label}: USER must be a non-root user (got ${user ?? "none"})`);
      else if (!/^\d+(:\d+)?$/.test(user))
        problem(where, `${label}: USER ${user}: use a numeric uid, which runAsNonRoot can verify`);
      const entrypoint = stage.lines.filter((l) => l.instruction === "ENTRYPOINT").at(-1)?.value;
      if (entrypoint?.replace(/\s+/g, "") !== '["node","cli/bin/seam.js"]')
        problem(where, `${label}: ENTRYPOINT must be ["node", "cli/bin/seam.js"] (got ${entrypoint})`);
      if (!stage.lines.some((l) => l.instruction === "HEALTHCHECK"))
        problem(where, `${label}: no HEALTHCHECK`);
      if (!stage.lines.some((l) => l.instruction === "EXPOSE")) problem(where, `${label}: no EXPOSE`);
    }
    const ignore = path.join(deployDir, `${name}.dockerignore`);
    if (!existsSync(ignore))
      problem(rel(ignore), "missing: the build context would include node_modules and dist");
    else {
      const patterns = readFileSync(ignore, "utf8")
        .split(/\r?\n/)
        .map((l) => l.trim());
      for (const required of ["**/node_modules", "**/dist"]) {
        if (!patterns.includes(required)) problem(rel(ignore), `${required} is not excluded`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------

async function main() {
  const { deployDir } = parseArguments(process.argv.slice(2));
  const version = spawnSync("kubectl", ["version", "--client", "-o", "json"], { encoding: "utf8" });
  if (version.error !== undefined || version.status !== 0) {
    process.stderr.write(
      "deploy check: kubectl is needed to render the kustomizations offline and was not found\n" +
        "(https://kubernetes.io/docs/tasks/tools/; `kubectl kustomize` needs no cluster).\n",
    );
    process.exit(1);
  }
  // `labels:` with includeTemplates and regex patch targets need kustomize 5.
  const kustomize = /"kustomizeVersion":\s*"v?(\d+)[^"]*"/.exec(version.stdout);
  if (kustomize !== null && Number(kustomize[1]) < 5) {
    process.stderr.write(
      `deploy check: kubectl bundles kustomize v${kustomize[1]}; these manifests need v5 (kubectl 1.27+)\n`,
    );
    process.exit(1);
  }
  const schemas = await loadEnvSchemas();
  const rendered = await checkKubernetes(deployDir, schemas);
  checkCompose(deployDir, schemas);
  checkDockerfiles(deployDir);

  if (problems.size > 0) {
    const lines = [...problems].map(
      ([p, sources]) => `✗ ${p}${sources.length === 0 ? "" : `  [k8s ${sources.join(", ")}]`}`,
    );
    process.stderr.write(`${lines.join("\n")}\n`);
    process.stderr.write(
      `\ndeploy check: ${problems.size} problem${problems.size === 1 ? "" : "s"} in ${rel(deployDir)}\n`,
    );
    process.exit(1);
  }
  for (const { source, objects } of rendered)
    process.stdout.write(`✓ k8s ${source}: ${objects.length} objects\n`);
  process.stdout.write(
    `✓ ${rel(path.join(deployDir, "compose.yaml"))}\n✓ Dockerfiles\ndeploy check passed\n`,
  );
}

await main();
