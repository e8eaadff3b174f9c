// Rendering: every kustomization under deploy/k8s (the base and each overlay) through
// `kubectl kustomize`, offline, so the checks see the objects a cluster would be sent,
// not the patches they are made from.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { displayPath } from "./paths.mjs";

/** Why kubectl cannot render these manifests (not installed, kustomize too old), or undefined. */
export function kubectlProblem() {
  const version = spawnSync("kubectl", ["version", "--client", "-o", "json"], { encoding: "utf8" });
  if (version.error !== undefined || version.status !== 0) {
    return (
      "deploy check: kubectl is needed to render the kustomizations offline and was not found\n" +
      "(https://kubernetes.io/docs/tasks/tools/; `kubectl kustomize` needs no cluster).\n"
    );
  }
  // `labels:` with includeTemplates and regex patch targets need kustomize 5.
  const kustomize = /"kustomizeVersion":\s*"v?(\d+)[^"]*"/.exec(version.stdout);
  if (kustomize !== null && Number(kustomize[1]) < 5) {
    return `deploy check: kubectl bundles kustomize v${kustomize[1]}; these manifests need v5 (kubectl 1.27+)\n`;
  }
  return undefined;
}

/**
 * Renders deploy/k8s/base and every deploy/k8s/overlays/* with a kustomization.yaml:
 * [{ source: "base" | overlay name, objects }], the ones that render.
 */
export function renderKustomizations(report, deployDir) {
  const k8sDir = path.join(deployDir, "k8s");
  const rendered = [];
  for (const dir of kustomizationDirs(k8sDir)) {
    const objects = render(report, dir);
    if (objects !== undefined)
      rendered.push({ source: path.relative(k8sDir, dir).replace(/^overlays[\\/]/, ""), objects });
  }
  return rendered;
}

function kustomizationDirs(k8sDir) {
  const overlaysDir = path.join(k8sDir, "overlays");
  const dirs = [path.join(k8sDir, "base")];
  if (existsSync(overlaysDir)) {
    for (const entry of readdirSync(overlaysDir, { withFileTypes: true })) {
      if (entry.isDirectory() && existsSync(path.join(overlaysDir, entry.name, "kustomization.yaml"))) {
        dirs.push(path.join(overlaysDir, entry.name));
      }
    }
  }
  return dirs;
}

/** The objects one kustomization renders to, or undefined (reported) when it does not render. */
function render(report, dir) {
  const where = displayPath(dir);
  if (!existsSync(path.join(dir, "kustomization.yaml"))) {
    report(where, "no kustomization.yaml");
    return undefined;
  }
  const result = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (result.status !== 0) {
    report(where, `kubectl kustomize failed: ${(result.stderr || result.stdout).trim()}`);
    return undefined;
  }
  const objects = [];
  for (const doc of parseAllDocuments(result.stdout)) {
    if (doc.errors.length > 0) {
      report(where, `rendered YAML does not parse: ${doc.errors[0].message}`);
      continue;
    }
    const value = doc.toJS();
    if (value !== null) objects.push(value);
  }
  return objects;
}
