// Reading rendered Kubernetes objects the way the cluster would: how objects are named,
// which pods a selector selects, which port a probe or Service means, and the environment
// a container ends up with. The rules in rules.mjs and workload-rules.mjs are built on these.
import { isSeamImage, seamProcess } from "./seam.mjs";
import { asArray, isObject } from "./yaml-values.mjs";

export const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet"]);
export const PROBES = ["startupProbe", "readinessProbe", "livenessProbe"];

/** "Kind/namespace/name", as problems name an object. */
export function objectName(o) {
  const ns = o.metadata?.namespace;
  return `${o.kind}/${ns === undefined ? "" : `${ns}/`}${o.metadata?.name ?? "(no name)"}`;
}

/** Where a problem is: "Kind/namespace/name: field", or the object alone. */
export const objectField = (o, field) => `${objectName(o)}${field === undefined ? "" : `: ${field}`}`;

/** Whether a label selector (matchLabels, or a Service's selector) selects a workload's pods. */
export const selectsPods = (selector, workload) =>
  isObject(selector) &&
  Object.entries(selector).every(([k, v]) => workload.spec?.template?.metadata?.labels?.[k] === v);

export const containersOf = (workload) => asArray(workload.spec?.template?.spec?.containers);

/** Whether a port reference (a number, or a port's name) names this container port. */
export const namesPort = (reference, port) =>
  typeof reference === "number" ? port.containerPort === reference : port.name === reference;

/** The port a probe checks, whichever kind of probe it is. */
export const probePort = (probe) => probe.grpc?.port ?? probe.httpGet?.port ?? probe.tcpSocket?.port;

export function probeKind(probe) {
  if (probe === undefined) return undefined;
  return ["grpc", "httpGet", "tcpSocket", "exec"].find((k) => probe[k] !== undefined);
}

/** CPU in millicores, memory and storage in bytes; undefined when malformed. */
export function quantity(value) {
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

/** The Seam container of a workload (the one running a Seam image) and the process it runs. */
export function seamContainer(workload) {
  const containers = containersOf(workload);
  const index = containers.findIndex((c) => isSeamImage(c.image));
  if (index < 0) return undefined;
  const container = containers[index];
  const args = [...asArray(container.command), ...asArray(container.args)].map(String);
  return { container, index, proc: seamProcess(args) };
}

/** A container's environment: envFrom ConfigMaps, then env (later wins), $(VAR) expanded. */
export function containerEnv(container, objects) {
  const configMap = (name) => objects.find((o) => o.kind === "ConfigMap" && o.metadata?.name === name);
  const env = {};
  for (const from of asArray(container.envFrom)) {
    const cm = configMap(from.configMapRef?.name);
    for (const [k, v] of Object.entries(cm?.data ?? {})) env[`${from.prefix ?? ""}${k}`] = String(v);
  }
  for (const e of asArray(container.env)) {
    if (e.value !== undefined) env[e.name] = expandKubeRefs(String(e.value), env);
    else if (e.valueFrom?.configMapKeyRef !== undefined) {
      const value = configMap(e.valueFrom.configMapKeyRef.name)?.data?.[e.valueFrom.configMapKeyRef.key];
      if (value !== undefined) env[e.name] = String(value);
    } else env[e.name] = `(${e.name} from the cluster)`;
  }
  return env;
}

/** Expands $(VAR) references the way the kubelet does, from variables defined before. */
function expandKubeRefs(value, env) {
  return value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name) => env[name] ?? whole);
}
