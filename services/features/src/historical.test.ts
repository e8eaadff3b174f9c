import { Code } from "@connectrpc/connect";
import { failure } from "@seam/kit/testing";
import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ALL_DEFINITIONS, DRIVER_PROFILE_CSV, DRIVER_STATS_CSV } from "./testing/fixtures.js";
import { startTestFeatures, type TestFeatures } from "./testing/harness.js";

// Entity rows probing every edge of a point-in-time join against DRIVER_STATS_CSV:
//   driver 1: 10:00 (0.1, 1), 11:00 (0.2, 2), 11:00 again (0.25, 3), 12:00 (0.3, null)
//   driver 2: 09:00 (0.9, 9);  max age (TTL) 2 h
const ENTITY_CSV = [
  "driver_id,event_timestamp,label",
  "1,2024-05-01T09:59:59.999Z,early", // before the first row: nothing
  "1,2024-05-01T10:00:00Z,exact", // exactly at a row's time: that row
  "1,2024-05-01T10:59:59.999Z,late", // between rows: the earlier one, never the future
  "1,2024-05-01T11:30:00Z,tie", // two rows at 11:00: the later in source order
  "1,2024-05-01T12:00:00Z,null-value", // the latest row has a null: null, not an older value
  "2,2024-05-01T11:00:00Z,ttl-edge", // exactly TTL old: still used
  "2,2024-05-01T11:00:00.001Z,expired", // 1 ms past the TTL: nothing
  "3,2024-05-01T12:00:00Z,unknown", // no rows for this entity
  ",2024-05-01T12:00:00Z,null-key", // null join key
  "1,,null-time", // null timestamp
  "1,2025-05-01T00:00:00Z,far-future", // far after: expired by TTL; the profile (no TTL) still applies
  "",
].join("\n");

let t: TestFeatures;

beforeEach(async () => {
  t = await startTestFeatures("embedded");
  await t.uploadCsv("driver_stats_src", DRIVER_STATS_CSV);
  await t.uploadCsv("driver_profile_src", DRIVER_PROFILE_CSV);
  await t.features.applyDefinitions(ALL_DEFINITIONS);
});
afterEach(async () => t.close());

describe("GetHistoricalFeatures", () => {
  it("joins point-in-time correct: exact, early, late, ties, nulls, TTL edges", async () => {
    const entityVersion = await t.uploadCsv("trips", ENTITY_CSV);
    const response = await t.features.getHistoricalFeatures({
      selection: { case: "featureService", value: "driver_ranking" },
      entityDataset: "trips",
      outputDataset: "training",
      description: "ranking training set",
    });
    expect(response.featureColumns).toEqual(["conv_rate", "trips", "city"]);
    const version = response.version;
    expect(version?.derivedBy).toBe("features.GetHistoricalFeatures");
    expect(version?.parents[0]).toBe(`trips@${entityVersion}`);
    expect(version?.parents).toHaveLength(3);
    expect(version?.schema?.columns.map((c) => [c.name, c.type])).toEqual([
      ["driver_id", ColumnType.INT64],
      ["event_timestamp", ColumnType.TIMESTAMP],
      ["label", ColumnType.STRING],
      ["conv_rate", ColumnType.FLOAT64],
      ["trips", ColumnType.INT64],
      ["city", ColumnType.STRING],
    ]);

    const read = await t.datasets.readDatasetRows({
      dataset: "training",
      version: version?.id ?? "",
      limit: 1000n,
    });
    const byLabel = Object.fromEntries(read.rows.map((r) => [r.label, [r.conv_rate, r.trips, r.city]]));
    expect(byLabel).toEqual({
      early: [null, null, "Lyon"],
      exact: [0.1, 1, "Lyon"],
      late: [0.1, 1, "Lyon"],
      tie: [0.25, 3, "Lyon"],
      "null-value": [0.3, null, "Lyon"],
      "ttl-edge": [0.9, 9, "Oslo"],
      expired: [null, null, "Oslo"],
      unknown: [null, null, null],
      "null-key": [null, null, null],
      "null-time": [null, null, null],
      "far-future": [null, null, "Lyon"],
    });
    expect(read.rows.map((r) => r.label)).toEqual(
      ENTITY_CSV.split("\n")
        .slice(1, -1)
        .map((l) => l.split(",")[2]),
    );

    // The same inputs give the same content, hence the same version.
    const again = await t.features.getHistoricalFeatures({
      selection: { case: "featureService", value: "driver_ranking" },
      entityDataset: "trips",
      outputDataset: "training",
    });
    expect(again.version?.id).toBe(version?.id);
  });

  it("names columns view__feature on request, and refuses collisions otherwise", async () => {
    await t.uploadCsv("trips", "driver_id,event_timestamp,city\n1,2024-05-01T12:00:00Z,Paris\n");
    const collision = await failure(
      t.features.getHistoricalFeatures({
        selection: { case: "featureService", value: "driver_ranking" },
        entityDataset: "trips",
        outputDataset: "training",
      }),
    );
    expect(collision.code).toBe(Code.InvalidArgument);
    expect(collision.rawMessage).toContain(
      'feature "city" of feature view driver_profile has the name of an entity dataset column; set full_feature_names',
    );
    const full = await t.features.getHistoricalFeatures({
      selection: { case: "features", value: { refs: ["driver_stats:trips", "driver_profile:city"] } },
      entityDataset: "trips",
      outputDataset: "training",
      fullFeatureNames: true,
    });
    expect(full.featureColumns).toEqual(["driver_stats__trips", "driver_profile__city"]);
  });

  it.each([
    [
      "a missing timestamp column",
      "driver_id,ts\n1,2024-05-01T12:00:00Z\n",
      {},
      'no timestamp column "event_timestamp"',
    ],
    [
      "a missing join key",
      "user_id,event_timestamp\n1,2024-05-01T12:00:00Z\n",
      {},
      'needs an int64 column "driver_id"',
    ],
    [
      "a join key of another type",
      "driver_id,event_timestamp\nd1,2024-05-01T12:00:00Z\n",
      {},
      'needs an int64 column "driver_id"',
    ],
    [
      "a bad output dataset name",
      "driver_id,event_timestamp\n1,2024-05-01T12:00:00Z\n",
      { outputDataset: "no spaces" },
      "output_dataset",
    ],
  ])("refuses %s with INVALID_ARGUMENT and creates nothing", async (_, csv, override, message) => {
    await t.uploadCsv("trips", csv);
    const err = await failure(
      t.features.getHistoricalFeatures({
        selection: { case: "featureService", value: "driver_ranking" },
        entityDataset: "trips",
        outputDataset: "training",
        ...override,
      }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain(message);
    expect(await failure(t.datasets.getDataset({ name: "training" }))).toMatchObject({ code: Code.NotFound });
  });

  it("answers NOT_FOUND for an unknown entity dataset", async () => {
    const err = await failure(
      t.features.getHistoricalFeatures({
        selection: { case: "featureService", value: "driver_ranking" },
        entityDataset: "nope",
        outputDataset: "training",
      }),
    );
    expect(err.code).toBe(Code.NotFound);
  });
});
