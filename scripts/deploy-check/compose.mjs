// deploy/compose.yaml: its structure, by the Compose Specification (known keys, services
// that exist, host ports published once, volumes declared, a Dockerfile to build), and its
// Seam services by the same rules as in Kubernetes: the one Seam image, least privilege, a
// health check, and an environment its service's config schema accepts. `docker compose
// config` would need Docker; this runs anywhere.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { checkCollectorConfig } from "./collector.mjs";
import { didYouMean } from "./did-you-mean.mjs";
import { checkSeamEnv } from "./environment.mjs";
import { displayPath } from "./paths.mjs";
import { isSeamImage, listenPort, parseImage, seamProcess } from "./seam.mjs";
import { asArray, fieldPath, isObject, parseYaml } from "./yaml-values.mjs";

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

/** Checks deploy/compose.yaml under `deployDir`; `schemas` are the config schemas, or undefined. */
export function checkCompose(report, deployDir, schemas) {
  const file = path.join(deployDir, "compose.yaml");
  const where = displayPath(file);
  if (!existsSync(file)) {
    report(where, "missing");
    return;
  }
  const parsed = parseYaml(report, where, readFileSync(file, "utf8"), { merge: true, maxAliasCount: 1000 });
  if (parsed === undefined) return;
  const compose = interpolate(parsed, {});
  for (const key of Object.keys(compose)) {
    if (key === "version") report(where, "version: obsolete in the Compose Specification, remove it");
    else if (!COMPOSE_TOP.has(key) && !key.startsWith("x-")) report(where, `${key}: unknown top-level key`);
  }
  const services = compose.services;
  if (!isObject(services) || Object.keys(services).length === 0) {
    report(where, "services: none");
    return;
  }
  const endpointsByHost = composeEndpoints(services);
  const context = {
    deployDir,
    services,
    volumes: new Set(Object.keys(compose.volumes ?? {})),
    endpoints: (host) => endpointsByHost.get(host),
    schemas,
    /** Host port → the service that publishes it. */
    published: new Map(),
    /** The image of the first Seam service: the others run the same. */
    seamImage: undefined,
  };
  for (const [name, svc] of Object.entries(services)) {
    const at = (field) => `${where}: ${fieldPath(`services.${name}`, field)}`;
    if (!isObject(svc)) {
      report(at(), "not a mapping");
      continue;
    }
    checkServiceKeys(report, svc, at, context);
    checkPorts(report, name, svc, at, context);
    checkVolumes(report, name, svc, at, context);
    checkDependencies(report, svc, at, context);
    checkSeamService(report, name, svc, at, context);
  }
}

/** What listens where: a Seam service on its port variable, others on the ports their image uses or exposes. */
function composeEndpoints(services) {
  const endpointsByHost = new Map();
  for (const [name, svc] of Object.entries(services)) {
    const proc = composeProcess(svc);
    const env = composeEnv(svc?.environment);
    if (proc?.kind === "serve") {
      endpointsByHost.set(name, { service: proc.service, ports: [listenPort(proc.service, env)] });
    } else {
      const image = typeof svc?.image === "string" ? parseImage(svc.image).name : "";
      const ports = [...(KNOWN_IMAGE_PORTS[image] ?? []), ...asArray(svc?.expose).map(Number)];
      endpointsByHost.set(name, { service: name, ports });
    }
  }
  return endpointsByHost;
}

/** Known keys (service, healthcheck, deploy), an image or a Dockerfile to build it from. */
function checkServiceKeys(report, svc, at, { deployDir }) {
  for (const key of Object.keys(svc)) {
    if (!COMPOSE_SERVICE_KEYS.has(key) && !key.startsWith("x-"))
      report(at(key), `unknown service key${didYouMean(key, COMPOSE_SERVICE_KEYS)}`);
  }
  if (svc.image === undefined && svc.build === undefined) report(at(), "needs image or build");
  if (svc.build !== undefined) {
    const build = typeof svc.build === "string" ? { context: svc.build } : svc.build;
    const context = path.resolve(deployDir, build.context ?? ".");
    const dockerfile = path.resolve(context, build.dockerfile ?? "Dockerfile");
    if (!existsSync(dockerfile)) report(at("build"), `${displayPath(dockerfile)} does not exist`);
  }
  if (isObject(svc.healthcheck)) {
    for (const key of Object.keys(svc.healthcheck))
      if (!COMPOSE_HEALTHCHECK_KEYS.has(key)) report(at(`healthcheck.${key}`), "unknown key");
    const test = svc.healthcheck.test;
    if (Array.isArray(test) && !["CMD", "CMD-SHELL", "NONE"].includes(test[0]))
      report(at("healthcheck.test"), 'must start with "CMD", "CMD-SHELL" or "NONE"');
  }
  if (isObject(svc.deploy)) {
    for (const key of Object.keys(svc.deploy))
      if (!COMPOSE_DEPLOY_KEYS.has(key)) report(at(`deploy.${key}`), "unknown key");
  }
}

/** A host port is published once: by one service, and not by a service with replicas. */
function checkPorts(report, name, svc, at, { published }) {
  const replicas = svc.deploy?.replicas ?? svc.scale ?? 1;
  if (replicas > 1 && svc.container_name !== undefined)
    report(at("container_name"), "cannot be set on a service with replicas");
  for (const port of publishedPorts(svc.ports)) {
    if (replicas > 1) report(at("ports"), `host port ${port} published by ${replicas} replicas`);
    if (published.has(port))
      report(at("ports"), `host port ${port} is also published by ${published.get(port)}`);
    published.set(port, name);
  }
}

/** Bind mounts exist (a collector's config is checked too); named volumes are declared. */
function checkVolumes(report, name, svc, at, { deployDir, volumes }) {
  for (const volume of asArray(svc.volumes)) {
    const source = isObject(volume) ? volume.source : String(volume).split(":")[0];
    if (source === undefined) continue;
    if (source.startsWith(".") || source.startsWith("/")) {
      const resolved = path.resolve(deployDir, source);
      if (!existsSync(resolved)) report(at("volumes"), `${source} does not exist`);
      else if (/collector/.test(name) && /\.ya?ml$/.test(source))
        checkCollectorConfig(report, displayPath(resolved), readFileSync(resolved, "utf8"));
    } else if (!volumes.has(source)) {
      report(at("volumes"), `named volume ${source} is not declared under the top-level volumes`);
    }
  }
}

/** Dependencies are services, and a service waited on until healthy has a health check. */
function checkDependencies(report, svc, at, { services }) {
  const dependsOn = Array.isArray(svc.depends_on)
    ? Object.fromEntries(svc.depends_on.map((d) => [d, { condition: "service_started" }]))
    : (svc.depends_on ?? {});
  for (const [dependency, spec] of Object.entries(dependsOn)) {
    const target = services[dependency];
    if (target === undefined) {
      report(at(`depends_on.${dependency}`), "no such service");
      continue;
    }
    if (spec?.condition === "service_healthy" && target.healthcheck === undefined) {
      report(at(`depends_on.${dependency}`), `service_healthy, but ${dependency} has no healthcheck`);
    }
  }
}

/** Seam services: the one image, least privilege, a health check, a valid environment. */
function checkSeamService(report, name, svc, at, context) {
  const proc = composeProcess(svc);
  const runsSeam = isSeamImage(svc.image);
  if (!runsSeam && proc === undefined) return;
  if (proc === undefined) {
    report(at("command"), `not a Seam process: ${JSON.stringify(svc.command)}`);
    return;
  }
  if (!runsSeam) report(at("image"), `runs ${JSON.stringify(svc.image)}, not the Seam image`);
  context.seamImage ??= svc.image;
  if (svc.image !== context.seamImage)
    report(at("image"), `${svc.image}, but other Seam services run ${context.seamImage}`);
  if (svc.read_only !== true) report(at("read_only"), "must be true");
  if (!asArray(svc.cap_drop).includes("ALL")) report(at("cap_drop"), "must include ALL");
  const user = String(svc.user ?? "");
  if (user === "" || user === "0" || user.startsWith("0:") || user === "root")
    report(at("user"), "must be a non-root user");
  if (svc.healthcheck === undefined) report(at("healthcheck"), "not set");
  checkSeamEnv(
    report,
    at("environment"),
    proc,
    composeEnv(svc.environment),
    context.schemas,
    context.endpoints,
    {
      expectedServiceName: name,
    },
  );
}

/** The Seam process a service's command starts, or undefined. */
const composeProcess = (svc) => seamProcess(asArray(svc?.command).map(String));

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

/** A service's `environment` (a list of NAME=value or a mapping) as a mapping; no value is undefined. */
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
