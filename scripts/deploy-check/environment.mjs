// Seam environments, in Kubernetes and Compose alike: each process's variables are checked
// with its service's own config schema (the built services/*/dist/config.js, the code that
// reads them at start), so a deployment is refused here rather than at its first start.
// Beyond the schemas: telemetry is on, state is shared through Redis, the process listens
// where others can reach it, and every address names a service that is there.
import { existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "./paths.mjs";
import { ADDRESS_VARIABLES, SEAM_SERVICES } from "./seam.mjs";

/** The built modules and exported zod schemas, by the part of the environment each checks. */
const CONFIG_SCHEMAS = {
  registry: ["services/registry/dist/config.js", "registryConfigSchema"],
  datasets: ["services/datasets/dist/config.js", "datasetsConfigSchema"],
  features: ["services/features/dist/config.js", "featuresConfigSchema"],
  training: ["services/training/dist/config.js", "trainingConfigSchema"],
  inference: ["services/inference/dist/config.js", "inferenceConfigSchema"],
  gateway: ["gateway/dist/config.js", "gatewayEnvSchema"],
  backends: ["gateway/dist/backends.js", "backendsEnvSchema"],
  telemetry: ["services/kit/dist/telemetry/config.js", "telemetryEnvSchema"],
};
const WILDCARD_HOSTS = new Set(["0.0.0.0", "::"]);
/** What Seam binds to when its host variable is not set. */
const DEFAULT_HOST = "127.0.0.1";

/** Loads the config schemas from the built packages; undefined (with a problem) when not built. */
export async function loadConfigSchemas(report) {
  const missing = Object.values(CONFIG_SCHEMAS)
    .map(([file]) => file)
    .filter((file) => !existsSync(path.join(repoRoot, file)));
  if (missing.length > 0) {
    report(
      "config schemas",
      `not built (${missing.join(", ")}): run \`npm run build\` first, the environments are checked with them`,
    );
    return undefined;
  }
  const schemas = {};
  const modules = {};
  for (const [name, [file, exported]] of Object.entries(CONFIG_SCHEMAS)) {
    modules[name] = await import(pathToFileURL(path.join(repoRoot, file)).href);
    if (modules[name][exported] === undefined) {
      report("config schemas", `${file} no longer exports ${exported}`);
      return undefined;
    }
    schemas[name] = modules[name][exported];
  }
  // Metrics variables (SEAM_METRICS_PORT, _HOST, OTEL_METRICS_*) where the kit has them.
  if (modules.telemetry.metricsEnvSchema !== undefined) schemas.metrics = modules.telemetry.metricsEnvSchema;
  return schemas;
}

/**
 * Checks one Seam process's environment, reporting at `where`. `proc` is what seamProcess
 * answers for its command line; `schemas` what loadConfigSchemas loaded (nothing is checked
 * without them); `endpoints(host)` answers { service, ports } for a host, or undefined.
 */
export function checkSeamEnv(report, where, proc, env, schemas, endpoints, { expectedServiceName }) {
  if (schemas === undefined) return;
  const problem = (message) => report(where, message);
  for (const schema of schemasOf(proc.service, schemas))
    for (const issue of schemaIssues(schema, env)) problem(`env ${issue}`);
  checkProcessNeeds(problem, proc, env, expectedServiceName);
  checkBindHosts(problem, proc, env);
  checkAddresses(problem, env, endpoints);
}

/** The schemas a service's environment must satisfy: its own, telemetry and metrics. */
function schemasOf(service, schemas) {
  const own = service === "gateway" ? [schemas.gateway, schemas.backends] : [schemas[service]];
  return [...own, schemas.telemetry, ...(schemas.metrics === undefined ? [] : [schemas.metrics])];
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

/** What the schemas allow but a deployment needs: traces, one service name, Redis, workers. */
function checkProcessNeeds(problem, proc, env, expectedServiceName) {
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT === undefined)
    problem("env OTEL_EXPORTER_OTLP_ENDPOINT: not set (no traces)");
  if (expectedServiceName !== undefined && env.OTEL_SERVICE_NAME !== expectedServiceName) {
    problem(
      `env OTEL_SERVICE_NAME: expected "${expectedServiceName}", one name for a service everywhere (got ${JSON.stringify(env.OTEL_SERVICE_NAME)})`,
    );
  }
  if (proc.kind === "worker") {
    if (env.REDIS_URL === undefined)
      problem("env REDIS_URL: a training worker takes jobs from Redis (not set)");
    if (env.TRAINING_WORKERS === "0") problem('env TRAINING_WORKERS: a worker needs at least 1 (got "0")');
  } else if (proc.service !== "gateway" && env.REDIS_URL === undefined) {
    problem("env REDIS_URL: not set: every replica would keep its own embedded state");
  }
}

/** A process in a container must bind all interfaces: loopback is unreachable from outside it. */
function checkBindHosts(problem, proc, env) {
  const requireWildcard = (variable, why) => {
    if (!WILDCARD_HOSTS.has(env[variable] ?? DEFAULT_HOST)) {
      problem(
        `env ${variable}: must be 0.0.0.0 (or ::) ${why} (got ${JSON.stringify(env[variable] ?? `${DEFAULT_HOST} by default`)})`,
      );
    }
  };
  if (proc.kind === "serve")
    requireWildcard(
      SEAM_SERVICES[proc.service].host,
      "in a container, else nothing outside it reaches the port",
    );
  if (env.SEAM_METRICS_PORT !== undefined)
    requireWildcard("SEAM_METRICS_HOST", "for /metrics to be scraped and probed");
}

/** Every address (Seam services, the OTLP endpoint, Redis) names a host that is there, on a port it listens on. */
function checkAddresses(problem, env, endpoints) {
  for (const [variable, target] of Object.entries(ADDRESS_VARIABLES)) {
    const value = env[variable];
    if (value === undefined) continue;
    for (const { host, port } of parseTargets(value)) {
      const endpoint = endpoints(host);
      if (endpoint === undefined) {
        problem(`env ${variable}: "${host}" is no service here (${value})`);
      } else if (endpoint.service !== target) {
        problem(`env ${variable}: "${host}" reaches ${endpoint.service}, not ${target}`);
      } else if (!endpoint.ports.includes(port)) {
        problem(`env ${variable}: ${target} listens on ${endpoint.ports.join(", ")}, not ${port}`);
      }
    }
  }
  // A host with a dot is outside the deployment (a managed collector or Redis): not checked.
  const otlp = parseUrl(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  if (otlp !== undefined) {
    const endpoint = endpoints(otlp.hostname);
    const port = Number(otlp.port || (otlp.protocol === "https:" ? 443 : 80));
    if (endpoint === undefined && !otlp.hostname.includes(".")) {
      problem(`env OTEL_EXPORTER_OTLP_ENDPOINT: "${otlp.hostname}" is no service here`);
    } else if (endpoint !== undefined && !endpoint.ports.includes(port)) {
      problem(
        `env OTEL_EXPORTER_OTLP_ENDPOINT: ${otlp.hostname} listens on ${endpoint.ports.join(", ")}, not ${port}`,
      );
    }
  }
  const redis = parseUrl(env.REDIS_URL);
  if (redis !== undefined && !redis.hostname.includes(".") && endpoints(redis.hostname) === undefined) {
    problem(`env REDIS_URL: "${redis.hostname}" is no service here`);
  }
}

const parseUrl = (value) => (value !== undefined && URL.canParse(value) ? new URL(value) : undefined);

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
