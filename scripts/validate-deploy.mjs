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
// The checks themselves are in scripts/deploy-check/, a module for each kind.
import path from "node:path";
import { checkCompose } from "./deploy-check/compose.mjs";
import { checkDockerfiles } from "./deploy-check/dockerfiles.mjs";
import { loadConfigSchemas } from "./deploy-check/environment.mjs";
import { checkKubernetes } from "./deploy-check/kubernetes.mjs";
import { displayPath, repoRoot } from "./deploy-check/paths.mjs";
import { createProblems } from "./deploy-check/problems.mjs";
import { kubectlProblem } from "./deploy-check/render.mjs";

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

async function main() {
  const { deployDir } = parseArguments(process.argv.slice(2));
  const kubectl = kubectlProblem();
  if (kubectl !== undefined) {
    process.stderr.write(kubectl);
    process.exit(1);
  }
  const problems = createProblems();
  const schemas = await loadConfigSchemas(problems.report);
  const rendered = await checkKubernetes(problems, deployDir, schemas);
  checkCompose(problems.report, deployDir, schemas);
  checkDockerfiles(problems.report, deployDir);

  if (problems.size > 0) {
    process.stderr.write(`${problems.lines().join("\n")}\n`);
    process.stderr.write(
      `\ndeploy check: ${problems.size} problem${problems.size === 1 ? "" : "s"} in ${displayPath(deployDir)}\n`,
    );
    process.exit(1);
  }
  for (const { source, objects } of rendered)
    process.stdout.write(`✓ k8s ${source}: ${objects.length} objects\n`);
  process.stdout.write(
    `✓ ${displayPath(path.join(deployDir, "compose.yaml"))}\n✓ Dockerfiles\ndeploy check passed\n`,
  );
}

await main();
