import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, type SeamProcess, startSeam } from "./support/seam-process.js";

const run = promisify(execFile);
const buf = join(repoRoot, "node_modules", ".bin", "buf");

// A real reflection client (`buf curl`) against a registry process: it must list every
// method and call them with nothing but what the server describes about itself.
describe("gRPC server reflection with buf curl", () => {
  let dir: string;
  let registry: SeamProcess;
  let url: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "seam-reflection-"));
    registry = startSeam(["serve", "registry"], { REGISTRY_PORT: "0", SEAM_DATA_DIR: dir });
    const address = (await registry.waitFor(/"address":"(127\.0\.0\.1:\d+)"/))[1] as string;
    url = `http://${address}`;
  });

  afterAll(async () => {
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const curl = (...args: string[]) =>
    run(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args]);

  it("lists the registry's and the health service's methods", async () => {
    const { stdout } = await curl("--list-methods", url);
    const methods = stdout.trim().split("\n");
    expect(methods).toContain("seam.registry.v1.ModelRegistryService/UploadModelVersion");
    expect(methods).toContain("seam.registry.v1.ModelRegistryService/WatchEvents");
    expect(methods).toContain("grpc.health.v1.Health/Check");
  });

  it("calls methods described only by reflection", async () => {
    const created = await curl(
      "-d",
      '{"name":"via-reflection"}',
      `${url}/seam.registry.v1.ModelRegistryService/CreateModel`,
    );
    expect(JSON.parse(created.stdout).model.name).toBe("via-reflection");
    const health = await curl("-d", "{}", `${url}/grpc.health.v1.Health/Check`);
    expect(JSON.parse(health.stdout)).toEqual({ status: "SERVING" });
    const missing = await curl(
      "-d",
      '{"name":"nope"}',
      `${url}/seam.registry.v1.ModelRegistryService/GetModel`,
    ).then(
      () => ({ stderr: "the call should have failed" }),
      (err: { stderr: string }) => err,
    );
    // buf curl reports a failed call's status as JSON on stderr.
    expect(JSON.parse(missing.stderr)).toMatchObject({
      code: "not_found",
      message: 'model "nope" not found',
    });
  });
});
