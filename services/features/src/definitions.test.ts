import { Code } from "@connectrpc/connect";
import { failure } from "@seam/kit/testing";
import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { ApplyAction } from "@seam/proto/seam/features/v1/features_pb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ALL_DEFINITIONS,
  DRIVER,
  DRIVER_PROFILE,
  DRIVER_PROFILE_CSV,
  DRIVER_STATS,
  DRIVER_STATS_CSV,
} from "./testing/fixtures.js";
import { startTestFeatures, type TestFeatures } from "./testing/harness.js";

let t: TestFeatures;

beforeEach(async () => {
  t = await startTestFeatures("embedded");
  await t.uploadCsv("driver_stats_src", DRIVER_STATS_CSV);
  await t.uploadCsv("driver_profile_src", DRIVER_PROFILE_CSV);
});
afterEach(async () => t.close());

describe("ApplyDefinitions", () => {
  it("creates definitions, fills feature types from the source, and keeps versions on an unchanged re-apply", async () => {
    const first = await t.features.applyDefinitions(ALL_DEFINITIONS);
    expect(first.applied.map((a) => [a.kind, a.name, a.action, a.version])).toEqual([
      ["entity", "driver", ApplyAction.CREATED, 1n],
      ["feature_view", "driver_stats", ApplyAction.CREATED, 1n],
      ["feature_view", "driver_profile", ApplyAction.CREATED, 1n],
      ["feature_service", "driver_ranking", ApplyAction.CREATED, 1n],
    ]);
    const view = (await t.features.getFeatureView({ name: "driver_stats" })).featureView;
    expect(view?.features.map((f) => [f.name, f.type])).toEqual([
      ["conv_rate", ColumnType.FLOAT64],
      ["trips", ColumnType.INT64],
    ]);

    const again = await t.features.applyDefinitions(ALL_DEFINITIONS);
    expect(again.applied.every((a) => a.action === ApplyAction.UNCHANGED && a.version === 1n)).toBe(true);

    const changed = await t.features.applyDefinitions({
      featureViews: [
        { ...DRIVER_STATS, description: "trips and conversion", features: [{ name: "conv_rate" }] },
      ],
    });
    expect(changed.applied[0]).toMatchObject({ action: ApplyAction.UPDATED, version: 2n });
    const current = (await t.features.getFeatureView({ name: "driver_stats" })).featureView;
    expect(current?.version).toBe(2n);
    expect(current?.features.map((f) => f.name)).toEqual(["conv_rate"]);
    const old = (await t.features.getFeatureView({ name: "driver_stats", version: 1n })).featureView;
    expect(old?.features.map((f) => f.name)).toEqual(["conv_rate", "trips"]);
    expect(await failure(t.features.getFeatureView({ name: "driver_stats", version: 3n }))).toMatchObject({
      code: Code.NotFound,
    });
  });

  it.each([
    [
      "a missing source column",
      { featureViews: [{ ...DRIVER_STATS, features: [{ name: "speed" }] }] },
      'feature "speed" is not a column of source driver_stats_src@',
    ],
    [
      "a feature type that contradicts the source",
      { featureViews: [{ ...DRIVER_STATS, features: [{ name: "trips", type: ColumnType.STRING }] }] },
      'feature "trips" is string but column "trips" of source driver_stats_src@',
    ],
    [
      "a timestamp column that is not a timestamp",
      {
        featureViews: [
          {
            ...DRIVER_STATS,
            features: [{ name: "trips" }],
            source: { dataset: "driver_stats_src", timestampColumn: "conv_rate" },
          },
        ],
      },
      'timestamp column "conv_rate" is timestamp but column "conv_rate"',
    ],
    [
      "an unknown entity",
      { featureViews: [{ ...DRIVER_STATS, entities: ["rider"] }] },
      "unknown entity rider",
    ],
    [
      "an unknown source dataset",
      {
        featureViews: [{ ...DRIVER_STATS, source: { dataset: "nope", timestampColumn: "event_timestamp" } }],
      },
      "feature_views[0].source: dataset nope not found",
    ],
    [
      "a join key missing from the source",
      {
        entities: [{ name: "rider", joinKeys: [{ name: "rider_id", type: ColumnType.STRING }] }],
        featureViews: [{ ...DRIVER_STATS, entities: ["rider"] }],
      },
      'join key "rider_id" is not a column of source',
    ],
    [
      "a join key of the wrong type",
      {
        entities: [{ name: "driver", joinKeys: [{ name: "driver_id", type: ColumnType.STRING }] }],
        featureViews: [DRIVER_STATS],
      },
      'join key "driver_id" is string but column "driver_id"',
    ],
    [
      "an entity without join keys",
      { entities: [{ name: "e" }] },
      "entities[0].join_keys: at least one join key is required",
    ],
    [
      "a float join key",
      { entities: [{ name: "e", joinKeys: [{ name: "x", type: ColumnType.FLOAT64 }] }] },
      "must be int64 or string",
    ],
    ["a bad name", { entities: [{ ...DRIVER, name: "no spaces" }] }, "is not a valid entity name"],
    [
      "a feature service naming an unknown view",
      { featureServices: [{ name: "s", features: [{ featureView: "nope" }] }] },
      "unknown feature view nope",
    ],
    [
      "a feature service naming an unknown feature",
      {
        entities: [DRIVER],
        featureViews: [DRIVER_STATS],
        featureServices: [{ name: "s", features: [{ featureView: "driver_stats", features: ["speed"] }] }],
      },
      'feature view driver_stats has no feature "speed"',
    ],
  ])("refuses %s with INVALID_ARGUMENT and stores nothing", async (_, request, message) => {
    const err = await failure(t.features.applyDefinitions({ entities: [DRIVER], ...request }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain(message);
    expect((await t.features.listEntities({})).entities).toEqual([]);
    expect((await t.features.listFeatureViews({})).featureViews).toEqual([]);
  });

  it("refuses an empty request", async () => {
    const err = await failure(t.features.applyDefinitions({}));
    expect(err).toMatchObject({ code: Code.InvalidArgument });
    expect(err.rawMessage).toContain("nothing to apply");
  });

  it("refuses changes that would change the meaning of stored values", async () => {
    await t.features.applyDefinitions(ALL_DEFINITIONS);
    const joinKeys = await failure(
      t.features.applyDefinitions({
        entities: [{ ...DRIVER, joinKeys: [{ name: "driver_id", type: ColumnType.STRING }] }],
      }),
    );
    expect(joinKeys.code).toBe(Code.FailedPrecondition);
    expect(joinKeys.rawMessage).toContain("join keys cannot change");
    await t.uploadCsv("other_src", "driver_id,event_timestamp,trips\n1,2024-05-01T10:00:00Z,x\n");
    const retyped = await failure(
      t.features.applyDefinitions({
        featureViews: [
          {
            ...DRIVER_STATS,
            features: [{ name: "trips" }],
            source: { dataset: "other_src", timestampColumn: "event_timestamp" },
          },
        ],
      }),
    );
    expect(retyped.code).toBe(Code.FailedPrecondition);
    expect(retyped.rawMessage).toContain('feature "trips" cannot change type (int64 → string)');
  });

  it("does not store anything on a dry run", async () => {
    const dry = await t.features.applyDefinitions({ ...ALL_DEFINITIONS, dryRun: true });
    expect(dry.applied.map((a) => a.action)).toEqual(Array(4).fill(ApplyAction.CREATED));
    expect((await t.features.listFeatureServices({})).featureServices).toEqual([]);
  });

  it("lists a page at a time and filters views by entity", async () => {
    await t.features.applyDefinitions(ALL_DEFINITIONS);
    await t.features.applyDefinitions({
      entities: [{ name: "zone", joinKeys: [{ name: "zone_id", type: ColumnType.STRING }] }],
    });
    const first = await t.features.listFeatureViews({ pageSize: 1 });
    expect(first.featureViews.map((v) => v.name)).toEqual(["driver_profile"]);
    const second = await t.features.listFeatureViews({ pageSize: 1, pageToken: first.nextPageToken });
    expect(second.featureViews.map((v) => v.name)).toEqual(["driver_stats"]);
    expect(second.nextPageToken).toBe("");
    expect((await t.features.listFeatureViews({ entity: "zone" })).featureViews).toEqual([]);
    expect((await t.features.listEntities({})).entities.map((e) => e.name)).toEqual(["driver", "zone"]);
    expect(await failure(t.features.listEntities({ pageToken: first.nextPageToken }))).toMatchObject({
      code: Code.InvalidArgument,
    });
  });
});

describe("Delete", () => {
  beforeEach(async () => {
    await t.features.applyDefinitions(ALL_DEFINITIONS);
  });

  it("refuses to delete what another definition or a model uses, then deletes in order", async () => {
    const entity = await failure(t.features.deleteEntity({ name: "driver" }));
    expect(entity.code).toBe(Code.FailedPrecondition);
    expect(entity.rawMessage).toBe(
      "entity driver is used by feature view driver_profile, feature view driver_stats; delete or change them first",
    );
    const view = await failure(t.features.deleteFeatureView({ name: "driver_stats" }));
    expect(view).toMatchObject({ code: Code.FailedPrecondition });
    expect(view.rawMessage).toContain("feature service driver_ranking");

    t.bindings.bound.set("driver_ranking", ["ranker:3"]);
    const service = await failure(t.features.deleteFeatureService({ name: "driver_ranking" }));
    expect(service.code).toBe(Code.FailedPrecondition);
    expect(service.rawMessage).toContain("model version ranker:3");

    t.bindings.bound.clear();
    await t.features.deleteFeatureService({ name: "driver_ranking" });
    await t.features.deleteFeatureView({ name: "driver_stats" });
    await t.features.deleteFeatureView({ name: "driver_profile" });
    await t.features.deleteEntity({ name: "driver" });
    expect(await failure(t.features.getEntity({ name: "driver" }))).toMatchObject({ code: Code.NotFound });
    expect(await failure(t.features.getEntity({ name: "driver", version: 1n }))).toMatchObject({
      code: Code.NotFound,
    });
    expect(await failure(t.features.deleteEntity({ name: "driver" }))).toMatchObject({ code: Code.NotFound });
  });

  it("makes a re-created view start from a clean online slate", async () => {
    for await (const _ of t.features.materializeFeatureView({ featureView: "driver_profile" }));
    const before = await t.features.getOnlineFeatures({
      selection: { case: "features", value: { refs: ["driver_profile:city"] } },
      entities: [{ joinKeys: { driver_id: "1" } }],
    });
    expect(before.rows[0]?.values[0]?.value?.kind.value).toBe("Lyon");
    await t.features.deleteFeatureService({ name: "driver_ranking" });
    await t.features.deleteFeatureView({ name: "driver_profile" });
    await new Promise((r) => setTimeout(r, 5));
    await t.features.applyDefinitions({ featureViews: [DRIVER_PROFILE] });
    const after = await t.features.getOnlineFeatures({
      selection: { case: "features", value: { refs: ["driver_profile:city"] } },
      entities: [{ joinKeys: { driver_id: "1" } }],
    });
    expect(after.rows[0]?.values[0]?.status).toBe(2); // NOT_FOUND
    expect(
      (await t.features.getFeatureView({ name: "driver_profile" })).featureView?.materialization,
    ).toBeUndefined();
  });
});
