import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildLinearModel } from "../services/registry/src/testing/onnx-models.js";
import { runSeam } from "./support/seam-process.js";
import { type Layout, type Suite, startSuite } from "./support/suite.js";

// The whole suite as a user starts it (`seam up`), reached only through the gateway:
// Connect JSON with plain fetch, gRPC with a connect-node client, and the `seam` CLI.
// Run on the embedded stores (the default), with REDIS_URL set, and with every service
// its own process on Redis.
describe.each<Layout>(["embedded", "redis", "distributed"])(
  "the suite (%s), end to end through the gateway",
  (layout) => {
    let dir: string;
    let suite: Suite;
    let gatewayUrl: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "seam-e2e-"));
      suite = await startSuite(layout);
      gatewayUrl = suite.gatewayUrl;
      // `seam up` names its storage; the distributed layout is on Redis by construction.
      if (layout !== "distributed") {
        const storage = layout === "redis" ? "storage: redis" : "storage: embedded";
        expect(suite.processes.get("up")?.stdout()).toContain(storage);
      }
    });

    afterAll(async () => {
      const codes = await suite?.stop();
      await rm(dir, { recursive: true, force: true });
      for (const [role, code] of codes ?? []) expect(code, role).toBe(0);
    });

    // biome-ignore lint/suspicious/noExplicitAny: Connect JSON bodies are asserted field by field
    async function connectJson(method: string, body: unknown): Promise<{ status: number; json: any }> {
      const res = await fetch(`${gatewayUrl}/seam.registry.v1.ModelRegistryService/${method}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: await res.json() };
    }

    it("answers the README's curl call with an empty list", async () => {
      const { status, json } = await connectJson("ListModels", {});
      expect(status).toBe(200);
      expect(json).toEqual({});
    });

    it("upload → alias → resolve → download → delete", async () => {
      const artifact = buildLinearModel({ weights: [0.5, -1, 2, 3], bias: 0.25 });
      const sha256 = createHash("sha256").update(artifact).digest("hex");
      const file = join(dir, "churn.onnx");
      await writeFile(file, artifact);
      const env = { SEAM_GATEWAY_URL: gatewayUrl };

      // Upload with the CLI (gRPC client stream through the gateway).
      const upload = await runSeam(
        ["models", "upload", file, "--name", "churn", "--metric", "auc=0.91", "--tag", "team=growth"],
        env,
      );
      expect(upload.stderr).toBe("");
      expect(upload.code).toBe(0);
      expect(upload.stdout).toContain("as churn version 1");
      expect(upload.stdout).toMatch(/input\s+x: float32\[-1, 4\]/);

      // Alias with Connect JSON (int64 travels as a string in JSON), and with the CLI.
      const alias = await connectJson("SetAlias", { modelName: "churn", alias: "champion", version: "1" });
      expect(alias.status).toBe(200);
      const cliAlias = await runSeam(["models", "set-alias", "churn", "challenger", "1"], env);
      expect(cliAlias.stdout).toContain("churn@challenger -> version 1");
      const show = await runSeam(["models", "show", "churn"], env);
      expect(show.code).toBe(0);
      expect(show.stdout).toMatch(/aliases:\s+(champion->1, challenger->1|challenger->1, champion->1)/);
      expect((await runSeam(["models", "delete-alias", "churn", "challenger"], env)).code).toBe(0);
      const resolved = await connectJson("ResolveModel", { model: "churn@champion" });
      expect(resolved.status).toBe(200);
      expect(resolved.json.version).toMatchObject({
        modelName: "churn",
        version: "1",
        sha256,
        sizeBytes: String(artifact.length),
        aliases: ["champion"],
        metrics: { auc: 0.91 },
        tags: { team: "growth" },
        status: "MODEL_VERSION_STATUS_READY",
      });
      expect(resolved.json.version.signature.inputs).toEqual([
        { name: "x", elementType: "float32", shape: ["-1", "4"] },
      ]);

      // Download with gRPC through the gateway: the exact bytes come back.
      const registry = createClient(ModelRegistryService, createGrpcTransport({ baseUrl: gatewayUrl }));
      const chunks: Uint8Array[] = [];
      for await (const message of registry.downloadModelVersion({
        model: "churn@champion",
        chunkSize: 100,
      })) {
        chunks.push(message.chunk);
      }
      expect(createHash("sha256").update(Buffer.concat(chunks)).digest("hex")).toBe(sha256);
      expect(chunks.length).toBeGreaterThan(1);

      // And with the CLI.
      const saved = join(dir, "downloaded.onnx");
      const download = await runSeam(["models", "download", "churn:1", "-o", saved], env);
      expect(download.code).toBe(0);
      expect(Buffer.compare(await readFile(saved), Buffer.from(artifact))).toBe(0);

      // Deleting an aliased model is refused, and leaves it intact.
      const refused = await connectJson("DeleteModel", { name: "churn" });
      expect(refused.json.code).toBe("failed_precondition");
      expect(refused.json.message).toContain("champion");
      await expect(registry.getModel({ name: "churn" })).resolves.toMatchObject({ model: { name: "churn" } });

      expect((await connectJson("DeleteAlias", { modelName: "churn", alias: "champion" })).status).toBe(200);
      expect((await connectJson("DeleteModel", { name: "churn" })).status).toBe(200);
      const gone = await registry.getModel({ name: "churn" }).catch((e: unknown) => ConnectError.from(e));
      expect(gone).toBeInstanceOf(ConnectError);
      expect((gone as ConnectError).code).toBe(Code.NotFound);

      const list = await runSeam(["models", "list"], env);
      expect(list.stdout.trim()).toBe("no models");
    });

    it("reports a bad artifact with INVALID_ARGUMENT through the CLI and stores nothing", async () => {
      const file = join(dir, "broken.onnx");
      await writeFile(file, "this is not an onnx model");
      const upload = await runSeam(["models", "upload", file, "--name", "broken"], {
        SEAM_GATEWAY_URL: gatewayUrl,
      });
      expect(upload.code).toBe(1);
      expect(upload.stderr).toMatch(/InvalidArgument: .*ONNX/i);
      // Not even the model that create_model would have made is left behind.
      const { json } = await connectJson("GetModel", { name: "broken" });
      expect(json.code).toBe("not_found");
    });
  },
);
