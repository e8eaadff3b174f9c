import { spawnSync } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "./support/seam-process.js";

const script = join(repoRoot, "scripts", "validate-deploy.mjs");
const hasKubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;

function validate(deployDir?: string): { status: number | null; output: string } {
  const args = deployDir === undefined ? [script] : [script, "--deploy-dir", deployDir];
  const result = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: "utf8", timeout: 120_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

// scripts/validate-deploy.mjs (npm run deploy:check) renders every kustomization with
// kubectl and checks deploy/ offline. Without kubectl there is nothing to render: the
// CI step `npm run deploy:check` fails then, with a message saying so.
describe.skipIf(!hasKubectl)("deploy check", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "seam-deploy-"));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A copy of deploy/ with `from` replaced by `to` in one file. */
  async function brokenCopy(name: string, file: string, from: string, to: string): Promise<string> {
    const copy = join(dir, name, "deploy");
    await cp(join(repoRoot, "deploy"), copy, { recursive: true });
    const path = join(copy, file);
    const text = await readFile(path, "utf8");
    expect(text).toContain(from);
    await writeFile(path, text.replace(from, to));
    return copy;
  }

  it("passes on deploy/ as committed", () => {
    const { status, output } = validate();
    expect(output).toContain("deploy check passed");
    expect(status).toBe(0);
    for (const rendering of ["base", "dev", "production", "gpu"])
      expect(output).toContain(`✓ k8s ${rendering}:`);
  }, 120_000);

  it("names a field the Kubernetes types do not have", async () => {
    const copy = await brokenCopy(
      "typo",
      "k8s/base/registry.yaml",
      "          readinessProbe:",
      "          readinesProbe:",
    );
    const { status, output } = validate(copy);
    expect(status).toBe(1);
    expect(output).toContain(
      "Deployment/seam/registry: spec.template.spec.containers[0].readinesProbe: unknown field (did you mean readinessProbe?)",
    );
  }, 120_000);

  it("names a field of the wrong type", async () => {
    const copy = await brokenCopy("type", "k8s/base/features.yaml", "  replicas: 2", "  replicas: two");
    const { status, output } = validate(copy);
    expect(status).toBe(1);
    expect(output).toContain("Deployment/seam/features: spec.replicas: must be integer");
  }, 120_000);

  it("refuses a writable root filesystem", async () => {
    const copy = await brokenCopy(
      "privilege",
      "k8s/base/gateway.yaml",
      "            readOnlyRootFilesystem: true",
      "            readOnlyRootFilesystem: false",
    );
    const { status, output } = validate(copy);
    expect(status).toBe(1);
    expect(output).toContain(
      "Deployment/seam/gateway: spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem: must be true",
    );
  }, 120_000);

  it("checks environments with the services' own config schemas, addresses included", async () => {
    const copy = await brokenCopy(
      "env",
      "k8s/base/seam.env",
      "SEAM_REGISTRY_ADDRESS=dns:///registry:50051",
      "SEAM_REGISTRY_ADDRESS=registry",
    );
    const { status, output } = validate(copy);
    expect(status).toBe(1);
    expect(output).toMatch(/Deployment\/seam\/datasets: .*env SEAM_REGISTRY_ADDRESS: expected host:port/);
  }, 120_000);

  it("checks compose.yaml: a dependency on a missing service", async () => {
    const copy = await brokenCopy(
      "compose",
      "compose.yaml",
      "      features: { condition: service_healthy }\n      otel-collector: { condition: service_started }\n\n  training-worker:",
      "      feature: { condition: service_healthy }\n      otel-collector: { condition: service_started }\n\n  training-worker:",
    );
    const { status, output } = validate(copy);
    expect(status).toBe(1);
    expect(output).toContain("compose.yaml: services.training.depends_on.feature: no such service");
  }, 120_000);
});
