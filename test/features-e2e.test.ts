import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { DatasetService, SourceFormat } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { FeatureStoreService } from "@seam/proto/seam/features/v1/features_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSeam } from "./support/seam-process.js";
import { type Layout, type Suite, startSuite } from "./support/suite.js";

// The feature store as a user meets it: the suite, a CSV source uploaded through the
// gateway, definitions applied and a view materialized with the CLI, then online reads
// (Connect JSON, the CLI), a push over gRPC, and a point-in-time join read back as rows,
// all through the gateway. Run with `seam up` on the embedded stores and with REDIS_URL
// set, and with every service its own process on Redis.

const HOUR = 3_600_000;
// Whole seconds, so the ISO text in the CSV and the times read back compare exactly.
const NOW = Math.floor(Date.now() / 1000) * 1000;
const iso = (ms: number) => new Date(ms).toISOString();

/** driver_stats source: driver 1 twice (the later row has no trips), driver 2 once. */
const STATS_CSV = [
  "driver_id,event_timestamp,conv_rate,trips",
  `1,${iso(NOW - 2 * HOUR)},0.1,1`,
  `1,${iso(NOW - 1 * HOUR)},0.3,`,
  `2,${iso(NOW - 3 * HOUR)},0.9,9`,
  "",
].join("\n");

/** Entity rows to join onto: a label per driver and time. */
const LABELS_CSV = [
  "driver_id,event_timestamp,label",
  `1,${iso(NOW - 90 * 60_000)},0`,
  `1,${iso(NOW - 30 * 60_000)},1`,
  `2,${iso(NOW - 4 * HOUR)},0`,
  `2,${iso(NOW)},1`,
  "",
].join("\n");

const DEFINITIONS_YAML = `# The README's example, in the proto's JSON form.
entities:
  - name: driver
    join_keys: [{ name: driver_id, type: int64 }]
    description: A driver
feature_views:
  - name: driver_stats
    entities: [driver]
    features:
      - { name: conv_rate, type: float64 }
      - { name: trips }
    source: { dataset: driver_stats_src, timestamp_column: event_timestamp }
    ttl: 86400s
feature_services:
  - name: driver_ranking
    features:
      - feature_view: driver_stats
`;

describe.each<Layout>(["embedded", "redis", "distributed"])(
  "the feature store (%s), end to end through the gateway",
  (layout) => {
    let dir: string;
    let suite: Suite;
    let gatewayUrl: string;
    let env: Record<string, string>;
    let datasets: Client<typeof DatasetService>;
    let features: Client<typeof FeatureStoreService>;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "seam-features-e2e-"));
      suite = await startSuite(layout);
      gatewayUrl = suite.gatewayUrl;
      // `seam up` lists the feature store with the others (the lines may arrive in separate chunks).
      await suite.processes.get("up")?.waitFor(/features\s+127\.0\.0\.1:\d+\s+\(gRPC, reflection on\)/);
      env = { SEAM_GATEWAY_URL: gatewayUrl };
      // gRPC over HTTP/2 through the gateway: client streams (uploads, pushes) need it.
      const transport = createGrpcTransport({ baseUrl: gatewayUrl });
      datasets = createClient(DatasetService, transport);
      features = createClient(FeatureStoreService, transport);
    });

    afterAll(async () => {
      const codes = await suite?.stop();
      await rm(dir, { recursive: true, force: true });
      for (const [role, code] of codes ?? []) expect(code, role).toBe(0);
    });

    // biome-ignore lint/suspicious/noExplicitAny: Connect JSON bodies are asserted field by field
    async function connectJson(path: string, body: unknown): Promise<{ status: number; json: any }> {
      const res = await fetch(`${gatewayUrl}/${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: await res.json() };
    }

    async function uploadCsv(dataset: string, csv: string): Promise<string> {
      async function* requests() {
        yield {
          payload: {
            case: "metadata" as const,
            value: { dataset, createDataset: true, format: SourceFormat.CSV },
          },
        };
        yield { payload: { case: "chunk" as const, value: new TextEncoder().encode(csv) } };
      }
      const { version } = await datasets.uploadDatasetVersion(requests());
      return version?.ref ?? "";
    }

    const online = (entities: string[]) =>
      connectJson("seam.features.v1.FeatureStoreService/GetOnlineFeatures", {
        featureService: "driver_ranking",
        entities: entities.map((id) => ({ joinKeys: { driver_id: id } })),
      });

    it("applies definitions over an uploaded source, materializes it and serves the latest values", async () => {
      const source = await uploadCsv("driver_stats_src", STATS_CSV);
      expect(source).toMatch(/^driver_stats_src@[0-9a-f]{24}$/);

      const file = join(dir, "features.yaml");
      await writeFile(file, DEFINITIONS_YAML);
      const dry = await runSeam(["features", "apply", file, "--dry-run"], env);
      expect(dry.stderr).toBe("");
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain("dry run: nothing was stored");
      const applied = await runSeam(["features", "apply", file], env);
      expect(applied.code).toBe(0);
      expect(applied.stdout.trim().split("\n")).toEqual([
        expect.stringMatching(/^KIND\s+NAME\s+ACTION\s+VERSION$/),
        expect.stringMatching(/^entity\s+driver\s+created\s+1$/),
        expect.stringMatching(/^feature_view\s+driver_stats\s+created\s+1$/),
        expect.stringMatching(/^feature_service\s+driver_ranking\s+created\s+1$/),
      ]);
      const again = await runSeam(["features", "apply", file], env);
      expect(again.stdout).toMatch(/^feature_view\s+driver_stats\s+unchanged\s+1$/m);

      const materialized = await runSeam(["features", "materialize", "driver_stats"], env);
      expect(materialized.code).toBe(0);
      expect(materialized.stdout).toContain(`sources:       ${source}`);
      expect(materialized.stdout).toMatch(/rows read:\s+3\n\s+in range:\s+3\n\s+written:\s+2 /);
      expect(materialized.stderr).toMatch(/^materialize driver_stats: 3 of 3 rows read/);

      // Connect JSON with plain fetch: int64 as strings, enums by name, no value for a null.
      const { status, json } = await online(["1", "2", "3"]);
      expect(status).toBe(200);
      expect(json.featureNames).toEqual(["driver_stats:conv_rate", "driver_stats:trips"]);
      expect(json.rows).toEqual([
        {
          values: [
            {
              value: { doubleValue: 0.3 },
              status: "FEATURE_STATUS_PRESENT",
              eventTime: iso(NOW - HOUR).replace(".000Z", "Z"),
            },
            {
              status: "FEATURE_STATUS_NULL_VALUE",
              eventTime: iso(NOW - HOUR).replace(".000Z", "Z"),
            },
          ],
        },
        {
          values: [
            expect.objectContaining({ value: { doubleValue: 0.9 }, status: "FEATURE_STATUS_PRESENT" }),
            expect.objectContaining({ value: { int64Value: "9" }, status: "FEATURE_STATUS_PRESENT" }),
          ],
        },
        { values: [{ status: "FEATURE_STATUS_NOT_FOUND" }, { status: "FEATURE_STATUS_NOT_FOUND" }] },
      ]);

      const get = await runSeam(
        [
          "features",
          "get",
          "--service",
          "driver_ranking",
          "--entity",
          "driver_id=1",
          "--entity",
          "driver_id=3",
        ],
        env,
      );
      expect(get.code).toBe(0);
      expect(get.stdout.trim().split("\n")).toEqual([
        expect.stringMatching(/^driver_id\s+driver_stats:conv_rate\s+driver_stats:trips$/),
        expect.stringMatching(/^1\s+0\.3\s+\[NULL\]$/),
        expect.stringMatching(/^3\s+\[NOT_FOUND\]\s+\[NOT_FOUND\]$/),
        expect.stringContaining("[NOT_FOUND] no online row for the entity"),
      ]);
    });

    it("serves a pushed row at once and keeps a newer value over an older push", async () => {
      async function* push() {
        yield {
          featureView: "driver_stats",
          rows: [
            {
              joinKeys: { driver_id: "3" },
              eventTime: timestampFromMs(NOW - 60_000),
              values: {
                conv_rate: { kind: { case: "doubleValue" as const, value: 0.55 } },
                trips: { kind: { case: "int64Value" as const, value: 12n } },
              },
            },
          ],
        };
        // Older than the materialized row of driver 1: skipped.
        yield {
          featureView: "driver_stats",
          rows: [
            {
              joinKeys: { driver_id: "1" },
              eventTime: timestampFromMs(NOW - 5 * HOUR),
              values: { conv_rate: { kind: { case: "doubleValue" as const, value: 0.01 } } },
            },
          ],
        };
      }
      const pushed = await features.pushFeatures(push());
      expect(pushed).toMatchObject({ rowsReceived: 2n, rowsWritten: 1n, rowsSkippedOlder: 1n });

      const { json } = await online(["3", "1"]);
      expect(json.rows[0].values).toEqual([
        {
          value: { doubleValue: 0.55 },
          status: "FEATURE_STATUS_PRESENT",
          eventTime: iso(NOW - 60_000).replace(".000Z", "Z"),
        },
        {
          value: { int64Value: "12" },
          status: "FEATURE_STATUS_PRESENT",
          eventTime: iso(NOW - 60_000).replace(".000Z", "Z"),
        },
      ]);
      expect(json.rows[1].values[0]).toMatchObject({
        value: { doubleValue: 0.3 },
        status: "FEATURE_STATUS_PRESENT",
      });

      const get = await runSeam(
        ["features", "get", "--feature", "driver_stats:trips", "--entity", "driver_id=3", "--json"],
        env,
      );
      expect(get.code).toBe(0);
      expect(JSON.parse(get.stdout).rows[0].values[0]).toMatchObject({
        value: { int64Value: "12" },
        status: "FEATURE_STATUS_PRESENT",
      });
    });

    it("joins features point-in-time correct onto an entity dataset, read back as rows", async () => {
      const labels = await uploadCsv("driver_labels", LABELS_CSV);
      const joined = await connectJson("seam.features.v1.FeatureStoreService/GetHistoricalFeatures", {
        featureService: "driver_ranking",
        entityDataset: "driver_labels",
        outputDataset: "driver_training",
        description: "labels with driver stats",
      });
      expect(joined.status).toBe(200);
      expect(joined.json.featureColumns).toEqual(["conv_rate", "trips"]);
      const version = joined.json.version;
      expect(version).toMatchObject({ dataset: "driver_training", rowCount: "4" });
      expect(version.parents).toEqual(expect.arrayContaining([labels]));

      const { status, json } = await connectJson("seam.datasets.v1.DatasetService/ReadDatasetRows", {
        dataset: "driver_training",
        version: version.id,
        columns: ["driver_id", "label", "conv_rate", "trips"],
      });
      expect(status).toBe(200);
      // Each row sees the latest source row at or before its time, never a later one.
      expect(json.rows).toEqual([
        { driver_id: 1, label: 0, conv_rate: 0.1, trips: 1 },
        { driver_id: 1, label: 1, conv_rate: 0.3, trips: null },
        { driver_id: 2, label: 0, conv_rate: null, trips: null },
        { driver_id: 2, label: 1, conv_rate: 0.9, trips: 9 },
      ]);
    });

    it("reports a bad definitions file with its line and exit code 1, and an unknown view as NOT_FOUND", async () => {
      const file = join(dir, "bad.yaml");
      await writeFile(file, "entities:\n  - name: rider\n    joinkeys: [{ name: rider_id, type: string }]\n");
      const bad = await runSeam(["features", "apply", file], env);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain(`${file}: line 2: entities[0] (rider):`);
      expect(bad.stderr).toContain('key "joinkeys" is unknown');

      const missing = await runSeam(["features", "materialize", "nope"], env);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/NotFound: .*nope/);
    });
  },
);
