import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { durationFromMs, timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createRouterTransport, type ServiceImpl } from "@connectrpc/connect";
import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import {
  ApplyAction,
  type ApplyDefinitionsRequest,
  FeatureStatus,
  FeatureStoreService,
  type GetOnlineFeaturesRequest,
  type MaterializeFeatureViewRequest,
} from "@seam/proto/seam/features/v1/features_pb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InputError, UsageError } from "../args.js";
import type { Output } from "../output.js";
import { formatTtl, runFeaturesCommand } from "./features.js";

// The commands against an in-memory FeatureStoreService: what they send and print. The
// end-to-end test through the gateway and the real service is test/features-e2e.test.ts.

function capture() {
  const lines: string[] = [];
  const out: Output = {
    line: (t) => lines.push(t),
    table: (header, rows) => lines.push([header, ...rows].map((r) => r.join("|")).join("\n")),
    json: (v) => lines.push(JSON.stringify(v)),
  };
  const progress: string[] = [];
  return { lines, out, progress, stream: { isTTY: false, write: (t: string) => progress.push(t) } };
}

function transportFor(impl: Partial<ServiceImpl<typeof FeatureStoreService>>) {
  return createRouterTransport(({ service }) => service(FeatureStoreService, impl));
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "seam-cli-features-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("seam features apply", () => {
  it("sends the file's definitions and prints one line per applied definition", async () => {
    const file = join(dir, "defs.yaml");
    await writeFile(
      file,
      [
        "entities:",
        "  - { name: driver, join_keys: [{ name: driver_id, type: int64 }] }",
        "feature_views:",
        "  - name: stats",
        "    entities: [driver]",
        "    features: [{ name: trips }]",
        "    source: { dataset: src, timestamp_column: ts }",
        "    ttl: 3600s",
        "",
      ].join("\n"),
    );
    let seen: ApplyDefinitionsRequest | undefined;
    const transport = transportFor({
      applyDefinitions(req) {
        seen = req;
        return {
          applied: [
            { kind: "entity", name: "driver", action: ApplyAction.UNCHANGED, version: 3n },
            { kind: "feature_view", name: "stats", action: ApplyAction.CREATED, version: 1n },
          ],
        };
      },
    });
    const io = capture();
    await runFeaturesCommand(["apply", file, "--dry-run"], transport, io.out, io.stream);
    expect(seen?.dryRun).toBe(true);
    expect(seen?.entities[0]?.joinKeys[0]?.type).toBe(ColumnType.INT64);
    expect(seen?.featureViews[0]?.ttl?.seconds).toBe(3600n);
    expect(io.lines).toEqual([
      "KIND|NAME|ACTION|VERSION\nentity|driver|unchanged|3\nfeature_view|stats|created|1",
      "dry run: nothing was stored",
    ]);
  });

  it("refuses a bad file before calling the service", async () => {
    const file = join(dir, "defs.yaml");
    await writeFile(file, "entities:\n  - name: x\n    colour: red\n");
    const transport = transportFor({});
    const io = capture();
    const failure = runFeaturesCommand(["apply", file], transport, io.out, io.stream);
    await expect(failure).rejects.toThrow(InputError);
    await expect(failure).rejects.toThrow(/defs\.yaml: line 2: entities\[0\] \(x\): .*"colour" is unknown/);
    await expect(runFeaturesCommand(["apply"], transport, io.out, io.stream)).rejects.toThrow(UsageError);
  });
});

describe("seam features materialize", () => {
  it("sends the range and options, draws progress, then prints the result", async () => {
    let seen: MaterializeFeatureViewRequest | undefined;
    const transport = transportFor({
      async *materializeFeatureView(req) {
        seen = req;
        yield { event: { case: "progress", value: { rowsRead: 1500n, rowsTotal: 3000n } } };
        yield {
          event: {
            case: "result",
            value: {
              startTime: timestampFromMs(Date.parse("2024-05-01T00:00:00Z")),
              endTime: timestampFromMs(Date.parse("2024-05-02T00:00:00Z")),
              sourceVersions: [`src@${"a".repeat(24)}`],
              rowsRead: 1500n,
              rowsInRange: 1200n,
              rowsWritten: 40n,
              rowsSkippedOlder: 2n,
            },
          },
        };
      },
    });
    const io = capture();
    await runFeaturesCommand(
      [
        "materialize",
        "stats",
        "--start",
        "2024-05-01",
        "--end",
        "2024-05-02T00:00:00Z",
        "--source-version",
        "a".repeat(24),
      ],
      transport,
      io.out,
      io.stream,
    );
    expect(seen?.featureView).toBe("stats");
    expect(seen?.incremental).toBe(false);
    expect(seen?.startTime === undefined ? "" : timestampDate(seen.startTime).toISOString()).toBe(
      "2024-05-01T00:00:00.000Z",
    );
    expect(seen?.sourceVersions).toEqual(["a".repeat(24)]);
    expect(io.progress).toEqual(["materialize stats: 1,500 of 3,000 rows read\n"]);
    expect(io.lines).toEqual([
      "materialized stats",
      "  range:         2024-05-01T00:00:00.000Z to 2024-05-02T00:00:00.000Z (end excluded)",
      `  sources:       src@${"a".repeat(24)}`,
      "  rows read:     1,500",
      "  in range:      1,200",
      "  written:       40 (latest per entity)",
      "  skipped older: 2 (the online store held newer values)",
    ]);
  });

  it("sends an incremental run without a start and refuses --start with --incremental", async () => {
    let seen: MaterializeFeatureViewRequest | undefined;
    const transport = transportFor({
      async *materializeFeatureView(req) {
        seen = req;
        yield { event: { case: "result", value: { endTime: timestampFromMs(0), rowsRead: 0n } } };
      },
    });
    const io = capture();
    await runFeaturesCommand(
      ["materialize", "stats", "--incremental", "--json"],
      transport,
      io.out,
      io.stream,
    );
    expect(seen?.incremental).toBe(true);
    expect(seen?.startTime).toBeUndefined();
    expect(JSON.parse(io.lines[0] ?? "")).toEqual({ endTime: "1970-01-01T00:00:00Z" });
    await expect(
      runFeaturesCommand(
        ["materialize", "stats", "--incremental", "--start", "2024-01-01"],
        transport,
        io.out,
        io.stream,
      ),
    ).rejects.toThrow(/leave out --start/);
    await expect(runFeaturesCommand(["materialize"], transport, io.out, io.stream)).rejects.toThrow(
      /needs a feature view name/,
    );
  });
});

describe("seam features get", () => {
  const transport = (record: (req: GetOnlineFeaturesRequest) => void) =>
    transportFor({
      getOnlineFeatures(req) {
        record(req);
        const at = timestampFromMs(Date.parse("2024-05-01T12:00:00Z"));
        return {
          featureNames: ["stats:trips", "stats:conv_rate", "profile:joined"],
          rows: [
            {
              values: [
                {
                  status: FeatureStatus.PRESENT,
                  value: { kind: { case: "int64Value", value: 7n } },
                  eventTime: at,
                },
                { status: FeatureStatus.NULL_VALUE, eventTime: at },
                {
                  status: FeatureStatus.OUTSIDE_MAX_AGE,
                  value: { kind: { case: "timestampValue", value: at } },
                  eventTime: at,
                },
              ],
            },
            {
              values: [
                { status: FeatureStatus.NOT_FOUND },
                { status: FeatureStatus.NOT_FOUND },
                { status: FeatureStatus.NOT_FOUND },
              ],
            },
          ],
        };
      },
    });

  it("prints one row per entity with status markers for values that are not PRESENT", async () => {
    let seen: GetOnlineFeaturesRequest | undefined;
    const io = capture();
    await runFeaturesCommand(
      [
        "get",
        "--feature",
        "stats:*",
        "--feature",
        "profile:joined",
        "--entity",
        "driver_id=1,zone=eu",
        "--entity",
        "driver_id=2",
      ],
      transport((req) => {
        seen = req;
      }),
      io.out,
      io.stream,
    );
    expect(seen?.selection).toEqual({
      case: "features",
      value: expect.objectContaining({ refs: ["stats:*", "profile:joined"] }),
    });
    expect(seen?.entities.map((e) => e.joinKeys)).toEqual([
      { driver_id: "1", zone: "eu" },
      { driver_id: "2" },
    ]);
    expect(io.lines).toEqual([
      [
        "driver_id|zone|stats:trips|stats:conv_rate|profile:joined",
        "1|eu|7|[NULL]|2024-05-01T12:00:00.000Z [STALE]",
        "2||[NOT_FOUND]|[NOT_FOUND]|[NOT_FOUND]",
      ].join("\n"),
      "[NOT_FOUND] no online row for the entity; [NULL] the row holds null; [STALE] older than the view's ttl",
    ]);
  });

  it("prints the response as proto JSON with --json", async () => {
    let seen: GetOnlineFeaturesRequest | undefined;
    const io = capture();
    await runFeaturesCommand(
      ["get", "--service", "ranking", "--entity", "driver_id=1", "--entity", "driver_id=2", "--json"],
      transport((req) => {
        seen = req;
      }),
      io.out,
      io.stream,
    );
    expect(seen?.selection).toEqual({ case: "featureService", value: "ranking" });
    const json = JSON.parse(io.lines[0] ?? "");
    expect(json.featureNames).toEqual(["stats:trips", "stats:conv_rate", "profile:joined"]);
    expect(json.rows[0].values[0]).toEqual({
      value: { int64Value: "7" },
      status: "FEATURE_STATUS_PRESENT",
      eventTime: "2024-05-01T12:00:00Z",
    });
    expect(json.rows[1].values[0]).toEqual({ status: "FEATURE_STATUS_NOT_FOUND" });
  });
});

describe("seam features list and show", () => {
  const transport = transportFor({
    listEntities: (req) => ({
      entities:
        req.pageToken === ""
          ? [{ name: "driver", joinKeys: [{ name: "driver_id", type: ColumnType.INT64 }], version: 1n }]
          : [{ name: "zone", joinKeys: [{ name: "zone_id", type: ColumnType.STRING }], version: 2n }],
      nextPageToken: req.pageToken === "" ? "next" : "",
    }),
    listFeatureViews: () => ({
      featureViews: [
        {
          name: "stats",
          entities: ["driver"],
          features: [{ name: "trips", type: ColumnType.INT64 }],
          source: { dataset: "src", timestampColumn: "ts" },
          ttl: durationFromMs(7_200_000),
          version: 4n,
        },
      ],
    }),
    listFeatureServices: () => ({}),
    getFeatureView: (req) => ({
      featureView: { name: req.name, version: req.version === 0n ? 4n : req.version, entities: ["driver"] },
    }),
  });

  it("lists every kind, following pages", async () => {
    const io = capture();
    await runFeaturesCommand(["list"], transport, io.out, io.stream);
    expect(io.lines).toEqual([
      "entities",
      "NAME|JOIN KEYS|VERSION|DESCRIPTION\ndriver|driver_id:int64|1|\nzone|zone_id:string|2|",
      "",
      "feature views",
      "NAME|ENTITIES|FEATURES|SOURCE|TTL|VERSION\nstats|driver|trips:int64|src|2h|4",
      "",
      "feature services",
      "  none",
    ]);
  });

  it("lists one kind, as JSON too", async () => {
    const io = capture();
    await runFeaturesCommand(["list", "services"], transport, io.out, io.stream);
    await runFeaturesCommand(["list", "views", "--json"], transport, io.out, io.stream);
    expect(io.lines[0]).toBe("no feature services");
    expect(JSON.parse(io.lines[1] ?? "")).toEqual([
      {
        name: "stats",
        entities: ["driver"],
        features: [{ name: "trips", type: "COLUMN_TYPE_INT64" }],
        source: { dataset: "src", timestampColumn: "ts" },
        ttl: "7200s",
        version: "4",
      },
    ]);
    await expect(runFeaturesCommand(["list", "models"], transport, io.out, io.stream)).rejects.toThrow(
      /unknown kind "models"/,
    );
  });

  it("shows a definition (or one of its versions) as JSON", async () => {
    const io = capture();
    await runFeaturesCommand(["show", "view", "stats"], transport, io.out, io.stream);
    await runFeaturesCommand(["show", "view", "stats", "--version", "2"], transport, io.out, io.stream);
    expect(io.lines.map((l) => JSON.parse(l))).toEqual([
      { name: "stats", entities: ["driver"], version: "4" },
      { name: "stats", entities: ["driver"], version: "2" },
    ]);
    await expect(runFeaturesCommand(["show", "view"], transport, io.out, io.stream)).rejects.toThrow(
      /show view needs a name/,
    );
    await expect(
      runFeaturesCommand(["show", "view", "stats", "--version", "0"], transport, io.out, io.stream),
    ).rejects.toThrow(UsageError);
  });
});

describe("formatTtl", () => {
  it("uses the largest whole unit", () => {
    expect(
      [0, 1500, 45_000, 5_400_000, 7_200_000, 172_800_000].map((ms) => formatTtl(durationFromMs(ms))),
    ).toEqual(["-", "1.5s", "45s", "90m", "2h", "2d"]);
    expect(formatTtl(undefined)).toBe("-");
  });
});
