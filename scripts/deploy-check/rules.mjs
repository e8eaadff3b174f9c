// The project's rules across one rendering (the base or an overlay): every object in a
// namespace the manifests create, and none twice; Services that select pods and name their
// ports; headless Services for the gRPC backends (so clients spread calls over every pod);
// one version and repository per Seam image; autoscalers and disruption budgets that point
// at real workloads. Each workload's own rules are in workload-rules.mjs.
import { SEAM_SERVICES } from "./seam.mjs";
import { checkWorkload } from "./workload-rules.mjs";
import {
  containersOf,
  namesPort,
  objectField,
  objectName,
  seamContainer,
  selectsPods,
  WORKLOAD_KINDS,
} from "./workloads.mjs";
import { asArray } from "./yaml-values.mjs";

/** Checks the objects one kustomization renders to; `schemas` are the config schemas (or undefined). */
export function checkRendering(report, objects, schemas) {
  const byKind = (kind) => objects.filter((o) => o.kind === kind);
  const workloads = objects.filter((o) => WORKLOAD_KINDS.has(o.kind));
  const services = byKind("Service");
  checkNamespaces(report, objects);
  const { selected, endpointsByHost } = checkServices(report, services, workloads);
  const seamImages = createSeamImageLog();
  const rendering = {
    objects,
    configMaps: new Set(byKind("ConfigMap").map((o) => o.metadata?.name)),
    secrets: new Set(byKind("Secret").map((o) => o.metadata?.name)),
    serviceAccounts: new Map(byKind("ServiceAccount").map((o) => [o.metadata?.name, o])),
    isSelected: (workload) => selected.has(workload),
    // "registry.seam.svc.cluster.local" reaches the Service registry as well as "registry" does.
    endpoints: (host) => endpointsByHost.get(host) ?? endpointsByHost.get(host.split(".")[0]),
    schemas,
    seamImages,
  };
  for (const workload of workloads) checkWorkload(report, workload, rendering);
  seamImages.check(report);
  checkHeadless(report, services, endpointsByHost);
  checkAutoscalers(report, byKind("HorizontalPodAutoscaler"), workloads);
  checkDisruptionBudgets(report, byKind("PodDisruptionBudget"), workloads);
}

/** Every object in a namespace these manifests create, and no object twice. */
function checkNamespaces(report, objects) {
  const seen = new Set();
  const namespaces = new Set(objects.filter((o) => o.kind === "Namespace").map((o) => o.metadata?.name));
  for (const o of objects) {
    const id = objectName(o);
    if (seen.has(id)) report(id, "defined twice");
    seen.add(id);
    if (o.kind === "Namespace") continue;
    const ns = o.metadata?.namespace;
    if (ns === undefined) report(objectName(o), "no namespace (set `namespace:` in the kustomization)");
    else if (!namespaces.has(ns)) report(objectName(o), `namespace ${ns} is not created by these manifests`);
  }
}

/**
 * Each Service selects pods of these manifests on ports they declare. Answers the workloads
 * some Service selects, and what each Service's name reaches: { service, ports, headless }.
 */
function checkServices(report, services, workloads) {
  const selected = new Set();
  const endpointsByHost = new Map();
  for (const svc of services) {
    const targets = workloads.filter((w) => selectsPods(svc.spec?.selector, w));
    if (targets.length === 0) {
      report(objectField(svc, "spec.selector"), "selects no pods of these manifests");
      continue;
    }
    for (const w of targets) selected.add(w);
    const containerPorts = targets.flatMap((w) => containersOf(w).flatMap((c) => asArray(c.ports)));
    for (const [i, port] of asArray(svc.spec?.ports).entries()) {
      const target = port.targetPort ?? port.port;
      if (!containerPorts.some((cp) => namesPort(target, cp)))
        report(
          objectField(svc, `spec.ports[${i}].targetPort`),
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
  return { selected, endpointsByHost };
}

/** Where each Seam image is used: all of them should come from one repository, at one version. */
function createSeamImageLog() {
  const usersByVersion = new Map();
  const repositoriesByName = new Map();
  return {
    record(workload, reference, image) {
      const version = image.tag ?? image.digest ?? "(no tag)";
      usersByVersion.set(version, [
        ...(usersByVersion.get(version) ?? []),
        `${objectName(workload)} (${reference})`,
      ]);
      repositoriesByName.set(
        image.name,
        new Set([...(repositoriesByName.get(image.name) ?? []), image.repository]),
      );
    },
    check(report) {
      for (const [name, repositories] of repositoriesByName) {
        if (repositories.size > 1)
          report(
            "images",
            `the ${name} image comes from several repositories: ${[...repositories].join(", ")}`,
          );
      }
      if (usersByVersion.size > 1) {
        report(
          "images",
          `Seam images with different versions: ${[...usersByVersion.entries()].map(([tag, users]) => `${tag}: ${users.join(", ")}`).join("; ")}`,
        );
      }
    },
  };
}

/** Every gRPC backend another Seam service calls is headless, so clients see every pod. */
function checkHeadless(report, services, endpointsByHost) {
  for (const [host, endpoint] of endpointsByHost) {
    if (endpoint.service in SEAM_SERVICES && endpoint.service !== "gateway" && !endpoint.headless) {
      report(
        objectName(services.find((svc) => svc.metadata?.name === host)),
        "must be headless (clusterIP: None): with a cluster IP a gRPC client keeps one connection to one pod",
      );
    }
  }
}

/** Autoscalers scale a real workload, which leaves its replicas to them and requests what they measure. */
function checkAutoscalers(report, hpas, workloads) {
  for (const hpa of hpas) {
    const ref = hpa.spec?.scaleTargetRef ?? {};
    const target = workloads.find((w) => w.kind === ref.kind && w.metadata?.name === ref.name);
    if (target === undefined) {
      report(objectField(hpa, "spec.scaleTargetRef"), `${ref.kind}/${ref.name} is not in these manifests`);
      continue;
    }
    if ((hpa.spec?.minReplicas ?? 1) > hpa.spec?.maxReplicas)
      report(
        objectField(hpa, "spec.minReplicas"),
        `${hpa.spec.minReplicas} is above maxReplicas ${hpa.spec.maxReplicas}`,
      );
    if (target.spec?.replicas !== undefined) {
      report(
        objectField(target, "spec.replicas"),
        `set, but ${objectName(hpa)} scales it: every apply would reset the replica count`,
      );
    }
    const usesCpu = asArray(hpa.spec?.metrics).some((m) => m.resource?.name === "cpu");
    if (!usesCpu) continue;
    for (const [i, c] of containersOf(target).entries()) {
      if (c.resources?.requests?.cpu === undefined)
        report(
          objectField(target, `spec.template.spec.containers[${i}].resources.requests.cpu`),
          `needed by ${objectName(hpa)}'s CPU utilization target`,
        );
    }
  }
}

/** Disruption budgets select real pods, and every Seam Deployment has one. */
function checkDisruptionBudgets(report, pdbs, workloads) {
  const covers = (pdb, w) => selectsPods(pdb.spec?.selector?.matchLabels, w);
  for (const pdb of pdbs) {
    if (workloads.every((w) => !covers(pdb, w))) {
      report(objectField(pdb, "spec.selector"), "selects no pods of these manifests");
    }
  }
  for (const w of workloads) {
    if (seamContainer(w) === undefined || w.kind !== "Deployment") continue;
    if (!pdbs.some((pdb) => covers(pdb, w))) report(objectName(w), "no PodDisruptionBudget covers it");
  }
}
