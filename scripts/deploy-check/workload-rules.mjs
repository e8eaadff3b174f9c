// The project's rules for each rendered workload (Deployment, StatefulSet, DaemonSet):
// least privilege (no Seam pod needs root, a writable root filesystem, capabilities or the
// Kubernetes API), requests and limits (the scheduler and the autoscalers rely on them),
// probes on the ports the containers declare, references to objects that exist, pinned
// images with GPU images exactly where a GPU is asked for, and for a Seam container a
// known command, the ports it listens on and an environment its service accepts.
import { checkSeamEnv } from "./environment.mjs";
import { isSeamImage, listenPort, parseImage, SEAM_SERVICES } from "./seam.mjs";
import {
  containerEnv,
  namesPort,
  objectField,
  PROBES,
  probeKind,
  probePort,
  quantity,
  seamContainer,
  selectsPods,
} from "./workloads.mjs";
import { asArray, fieldPath, isObject } from "./yaml-values.mjs";

const GPU_RESOURCE = "nvidia.com/gpu";

/**
 * Checks one workload of a rendering. `rendering` holds what the rules look up across it:
 * objects, configMaps, secrets (sets of names), serviceAccounts (by name), isSelected(workload)
 * (a Service sends it traffic), endpoints(host), schemas (the config schemas) and seamImages
 * (where each Seam image in use is recorded).
 */
export function checkWorkload(report, workload, rendering) {
  const pod = workload.spec?.template?.spec ?? {};
  const podWhere = (field) => objectField(workload, fieldPath("spec.template.spec", field));
  checkPod(report, workload, pod, podWhere, rendering);
  for (const [i, container] of asArray(pod.containers).entries()) {
    const at = (field) => podWhere(fieldPath(`containers[${i}]`, field));
    checkContainerSecurity(report, container, pod.securityContext ?? {}, at);
    checkResources(report, container, at);
    checkProbes(report, container, rendering.isSelected(workload), at);
    checkReferences(report, workload, container, pod, rendering, at);
    checkImage(report, workload, container, pod, rendering, at, podWhere);
  }
  checkSeamContainer(report, workload, podWhere, rendering);
}

function checkPod(report, workload, pod, podWhere, { configMaps, serviceAccounts }) {
  if (workload.kind === "Deployment" || workload.kind === "StatefulSet") {
    if (!selectsPods(workload.spec?.selector?.matchLabels, workload)) {
      report(objectField(workload, "spec.selector.matchLabels"), "does not match the pod template's labels");
    }
  }
  if (pod.serviceAccountName === undefined)
    report(podWhere("serviceAccountName"), "not set: every workload runs as its own ServiceAccount");
  else if (!serviceAccounts.has(pod.serviceAccountName))
    report(
      podWhere("serviceAccountName"),
      `ServiceAccount ${pod.serviceAccountName} is not in these manifests`,
    );
  const automount =
    pod.automountServiceAccountToken ??
    serviceAccounts.get(pod.serviceAccountName)?.automountServiceAccountToken;
  if (automount !== false)
    report(
      podWhere("automountServiceAccountToken"),
      "must be false: no Seam pod talks to the Kubernetes API",
    );
  if (pod.enableServiceLinks !== false) {
    report(
      podWhere("enableServiceLinks"),
      "must be false: Service links set REGISTRY_PORT=tcp://… and the like, variables Seam reads",
    );
  }
  if (pod.hostNetwork === true || pod.hostPID === true || pod.hostIPC === true)
    report(podWhere(), "uses the host's namespaces");
  for (const [i, v] of asArray(pod.volumes).entries()) {
    if (v.hostPath !== undefined) report(podWhere(`volumes[${i}]`), "hostPath volumes are not allowed");
    if (v.configMap !== undefined && !configMaps.has(v.configMap.name))
      report(
        podWhere(`volumes[${i}].configMap.name`),
        `ConfigMap ${v.configMap.name} is not in these manifests`,
      );
  }
}

/** Least privilege; the pod's securityContext counts where Kubernetes lets it apply. */
function checkContainerSecurity(report, container, podSc, at) {
  const sc = container.securityContext ?? {};
  const field = (name) => at(`securityContext.${name}`);
  if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true)
    report(field("runAsNonRoot"), "must be true (here or in the pod's securityContext)");
  if ((sc.runAsUser ?? podSc.runAsUser) === 0) report(field("runAsUser"), "runs as root");
  if (sc.readOnlyRootFilesystem !== true) report(field("readOnlyRootFilesystem"), "must be true");
  if (sc.allowPrivilegeEscalation !== false) report(field("allowPrivilegeEscalation"), "must be false");
  if (sc.privileged === true) report(field("privileged"), "must not be true");
  if (!asArray(sc.capabilities?.drop).includes("ALL")) report(field("capabilities.drop"), "must include ALL");
  if (asArray(sc.capabilities?.add).length > 0)
    report(field("capabilities.add"), "no capability may be added");
  const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
  if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost")
    report(field("seccompProfile"), "must be RuntimeDefault (here or in the pod's securityContext)");
}

/** Requests and limits: cpu and memory, requests within limits. */
function checkResources(report, container, at) {
  const resources = container.resources;
  for (const kind of ["requests", "limits"]) {
    for (const resource of ["cpu", "memory"]) {
      const value = resources?.[kind]?.[resource];
      if (value === undefined) report(at(`resources.${kind}.${resource}`), "not set");
      else if (quantity(value) === undefined)
        report(at(`resources.${kind}.${resource}`), `not a quantity (${JSON.stringify(value)})`);
    }
  }
  for (const [resource, request] of Object.entries(resources?.requests ?? {})) {
    const limit = resources?.limits?.[resource];
    if (
      limit !== undefined &&
      quantity(request) !== undefined &&
      quantity(limit) !== undefined &&
      quantity(request) > quantity(limit)
    ) {
      report(at(`resources.requests.${resource}`), `${request} is above the limit ${limit}`);
    }
  }
}

/** Liveness everywhere; readiness where a Service sends traffic; probes on declared ports. */
function checkProbes(report, container, isSelected, at) {
  if (container.livenessProbe === undefined) report(at("livenessProbe"), "not set");
  if (isSelected && container.readinessProbe === undefined)
    report(at("readinessProbe"), "not set, and a Service sends this pod traffic");
  for (const probeName of PROBES) {
    const probe = container[probeName];
    if (probe === undefined) continue;
    const port = probePort(probe);
    if (port === undefined) continue;
    if (!asArray(container.ports).some((p) => namesPort(port, p)))
      report(at(probeName), `probes port ${JSON.stringify(port)}, which the container does not declare`);
  }
}

/** Volumes and configuration sources exist. */
function checkReferences(report, workload, container, pod, { configMaps, secrets }, at) {
  const volumes = new Set(asArray(pod.volumes).map((v) => v.name));
  for (const [j, m] of asArray(container.volumeMounts).entries()) {
    if (!volumes.has(m.name)) {
      const claim = asArray(workload.spec?.volumeClaimTemplates).some((t) => t.metadata?.name === m.name);
      if (!claim) report(at(`volumeMounts[${j}].name`), `no volume named ${m.name}`);
    }
  }
  for (const [j, from] of asArray(container.envFrom).entries()) {
    if (from.configMapRef !== undefined && !configMaps.has(from.configMapRef.name))
      report(at(`envFrom[${j}]`), `ConfigMap ${from.configMapRef.name} is not in these manifests`);
    if (from.secretRef !== undefined && from.secretRef.optional !== true && !secrets.has(from.secretRef.name))
      report(at(`envFrom[${j}]`), `Secret ${from.secretRef.name} is not in these manifests`);
  }
}

/** Images: pinned; Seam's recorded for consistency; GPU images exactly where a GPU is asked for. */
function checkImage(report, workload, container, pod, { seamImages }, at, podWhere) {
  if (typeof container.image !== "string") return;
  const image = parseImage(container.image);
  if (image.digest === undefined && (image.tag === undefined || image.tag === "latest")) {
    report(at("image"), `${container.image}: pin a version tag or digest`);
  }
  const requests = container.resources?.requests;
  const limits = container.resources?.limits;
  const gpu = limits?.[GPU_RESOURCE] !== undefined || requests?.[GPU_RESOURCE] !== undefined;
  if (isSeamImage(container.image)) {
    seamImages.record(workload, container.image, image);
    const gpuImage = image.name.endsWith("-gpu");
    if (gpu && !gpuImage)
      report(
        at("image"),
        `asks for ${GPU_RESOURCE} but runs ${container.image}, not a GPU image (deploy/Dockerfile.gpu)`,
      );
    if (!gpu && gpuImage)
      report(at("image"), `runs the GPU image ${container.image} without asking for ${GPU_RESOURCE}`);
  }
  if (!gpu) return;
  const tolerated = asArray(pod.tolerations).some(
    (t) => t.key === GPU_RESOURCE || (t.operator === "Exists" && t.key === undefined),
  );
  if (!tolerated)
    report(podWhere("tolerations"), `asks for ${GPU_RESOURCE} but tolerates no ${GPU_RESOURCE} taint`);
  if (!isObject(pod.nodeSelector) && pod.affinity?.nodeAffinity === undefined)
    report(podWhere("nodeSelector"), `asks for ${GPU_RESOURCE} but selects no GPU nodes`);
  if (requests?.[GPU_RESOURCE] !== undefined && limits?.[GPU_RESOURCE] !== requests?.[GPU_RESOURCE]) {
    report(
      at(`resources.limits.${GPU_RESOURCE}`),
      "must equal the request (extended resources are not overcommitted)",
    );
  }
}

/** A Seam container: a known command, an environment its service accepts, its ports declared and probed. */
function checkSeamContainer(report, workload, podWhere, { objects, schemas, endpoints }) {
  const seam = seamContainer(workload);
  if (seam === undefined) return;
  const { container, index, proc } = seam;
  const at = (field) => podWhere(`containers[${index}].${field}`);
  if (proc === undefined) {
    report(
      at("args"),
      `not a Seam process: ${JSON.stringify(container.args)} (expected serve <${Object.keys(SEAM_SERVICES).join("|")}> or worker training)`,
    );
    return;
  }
  const env = containerEnv(container, objects);
  checkSeamEnv(report, at("env"), proc, env, schemas, endpoints, {
    expectedServiceName: workload.metadata?.name,
  });
  if (proc.kind !== "serve") return;
  const port = listenPort(proc.service, env);
  const declared = asArray(container.ports).map((p) => p.containerPort);
  if (!declared.includes(port))
    report(
      at("ports"),
      `${proc.service} listens on ${port} (${SEAM_SERVICES[proc.service].port}), which is not declared`,
    );
  for (const probeName of PROBES) {
    const probe = container[probeName];
    if (probe?.grpc !== undefined && probe.grpc.port !== port)
      report(at(`${probeName}.grpc.port`), `${probe.grpc.port}, but ${proc.service} listens on ${port}`);
  }
  // The services answer grpc.health.v1; the gateway is probed over HTTP (/healthz).
  if (proc.service !== "gateway" && probeKind(container.readinessProbe) !== "grpc") {
    report(at("readinessProbe"), "use a gRPC probe (grpc.health.v1, which the service answers)");
  }
  if (env.SEAM_METRICS_PORT !== undefined && !declared.includes(Number(env.SEAM_METRICS_PORT))) {
    report(at("ports"), `SEAM_METRICS_PORT ${env.SEAM_METRICS_PORT} is not declared`);
  }
}
