import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { failure, type StoreKind } from "@seam/kit/testing";
import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import {
  type FeatureRowSchema,
  FeatureStatus,
  type MaterializeFeatureViewResponse,
  OnlineFeaturesLayout,
  type PushFeaturesRequest,
  PushFeaturesRequestSchema,
} from "@seam/proto/seam/features/v1/features_pb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ALL_DEFINITIONS,
  DRIVER_PROFILE_CSV,
  DRIVER_STATS_CSV,
  HOUR,
  plain,
  value,
} from "./testing/fixtures.js";
import { startTestFeatures, type TestFeatures } from "./testing/harness.js";

const T12 = Date.parse("2024-05-01T12:00:00Z");

describe.each<StoreKind>(["embedded", "redis"])("online features on %s storage", (kind) => {
  let t: TestFeatures;

  beforeEach(async () => {
    t = await startTestFeatures(kind);
    await t.uploadCsv("driver_stats_src", DRIVER_STATS_CSV);
    await t.uploadCsv("driver_profile_src", DRIVER_PROFILE_CSV);
    await t.features.applyDefinitions(ALL_DEFINITIONS);
  });
  afterEach(async () => t.close());

  async function materialize(request: Parameters<TestFeatures["features"]["materializeFeatureView"]>[0]) {
    const events: MaterializeFeatureViewResponse[] = [];
    for await (const event of t.features.materializeFeatureView(request)) events.push(event);
    const last = events[events.length - 1]?.event;
    if (last?.case !== "result") throw new Error("no result at the end of the stream");
    return { result: last.value, progress: events.slice(0, -1) };
  }

  async function online(entities: Array<Record<string, string>>, service = "driver_ranking") {
    return t.features.getOnlineFeatures({
      selection: { case: "featureService", value: service },
      entities: entities.map((joinKeys) => ({ joinKeys })),
    });
  }

  function push(
    rows: Array<MessageInitShape<typeof FeatureRowSchema>>,
    view = "driver_stats",
  ): AsyncIterable<PushFeaturesRequest> {
    return (async function* () {
      yield create(PushFeaturesRequestSchema, { featureView: view, rows });
    })();
  }

  it("materializes the latest row per entity and serves it with statuses and event times", async () => {
    t.clock.now = T12 + HOUR; // driver 1 is 1 h old (fresh), driver 2 is 4 h old (stale at 2 h)
    const { result, progress } = await materialize({ featureView: "driver_stats" });
    expect(result).toMatchObject({ rowsRead: 5n, rowsInRange: 5n, rowsWritten: 2n, rowsSkippedOlder: 0n });
    expect(result.sourceVersions).toHaveLength(1);
    expect(progress[0]?.event.value).toMatchObject({ rowsRead: 5n, rowsTotal: 5n });
    await materialize({ featureView: "driver_profile" });

    const response = await online([
      { driver_id: "1" },
      { driver_id: "2" },
      { driver_id: "3" },
      { driver_id: "01" },
    ]);
    expect(response.featureNames).toEqual([
      "driver_stats:conv_rate",
      "driver_stats:trips",
      "driver_profile:city",
    ]);
    const [d1, d2, d3, d1again] = response.rows;
    expect(d1?.values.map((v) => [plain(v.value), v.status])).toEqual([
      [0.3, FeatureStatus.PRESENT],
      [undefined, FeatureStatus.NULL_VALUE],
      ["Lyon", FeatureStatus.PRESENT],
    ]);
    expect(timestampMs(d1?.values[0]?.eventTime ?? timestampFromMs(0))).toBe(T12);
    expect(d2?.values.map((v) => [plain(v.value), v.status])).toEqual([
      [0.9, FeatureStatus.OUTSIDE_MAX_AGE],
      [9n, FeatureStatus.OUTSIDE_MAX_AGE],
      ["Oslo", FeatureStatus.PRESENT], // a view without TTL never expires
    ]);
    expect(d3?.values.map((v) => [v.value?.kind.case, v.status, v.eventTime])).toEqual(
      Array(3).fill([undefined, FeatureStatus.NOT_FOUND, undefined]),
    );
    expect(d1again).toEqual(d1); // int64 join keys are normalised

    const definition = await t.features.getFeatureView({ name: "driver_stats" });
    expect(definition.featureView?.materialization?.lastRowsWritten).toBe(2n);
  });

  it("answers the same lookup in the columns layout: one typed column per feature, entry i for entity i", async () => {
    t.clock.now = T12 + HOUR;
    await materialize({ featureView: "driver_stats" });
    await materialize({ featureView: "driver_profile" });
    const entities = [{ driver_id: "1" }, { driver_id: "2" }, { driver_id: "3" }, { driver_id: "01" }];
    const rows = await online(entities);
    const response = await t.features.getOnlineFeatures({
      selection: { case: "featureService", value: "driver_ranking" },
      entities: entities.map((joinKeys) => ({ joinKeys })),
      layout: OnlineFeaturesLayout.COLUMNS,
    });
    expect(response.featureNames).toEqual(rows.featureNames);
    expect(response.rows).toEqual([]);
    const [convRate, trips, city] = response.columns;
    const T9 = Date.parse("2024-05-01T09:00:00Z");
    const JAN1 = Date.parse("2024-01-01T00:00:00Z");
    expect(convRate).toMatchObject({
      type: ColumnType.FLOAT64,
      statuses: [
        FeatureStatus.PRESENT,
        FeatureStatus.OUTSIDE_MAX_AGE,
        FeatureStatus.NOT_FOUND,
        FeatureStatus.PRESENT,
      ],
      eventTimeMillis: [T12, T9, 0, T12],
      doubleValues: [0.3, 0.9, 0, 0.3],
      int64Values: [],
      stringValues: [],
    });
    expect(trips).toMatchObject({
      type: ColumnType.INT64,
      statuses: [
        FeatureStatus.NULL_VALUE,
        FeatureStatus.OUTSIDE_MAX_AGE,
        FeatureStatus.NOT_FOUND,
        FeatureStatus.NULL_VALUE,
      ],
      int64Values: [0n, 9n, 0n, 0n],
      doubleValues: [],
    });
    expect(city).toMatchObject({
      type: ColumnType.STRING,
      statuses: [
        FeatureStatus.PRESENT,
        FeatureStatus.PRESENT,
        FeatureStatus.NOT_FOUND,
        FeatureStatus.PRESENT,
      ],
      eventTimeMillis: [JAN1, JAN1, 0, JAN1],
      stringValues: ["Lyon", "Oslo", "", "Lyon"],
    });
    // Every value agrees with the rows layout's.
    rows.rows.forEach((row, entity) => {
      row.values.forEach((value, column) => {
        const c = response.columns[column];
        expect(c?.statuses[entity]).toBe(value.status);
        expect(c?.eventTimeMillis[entity]).toBe(
          value.eventTime === undefined ? 0 : timestampMs(value.eventTime),
        );
      });
    });
  });

  it("takes the entities as columns too, with the same answer, and refuses columns that do not line up", async () => {
    t.clock.now = T12 + HOUR;
    await materialize({ featureView: "driver_stats" });
    await materialize({ featureView: "driver_profile" });
    const selection = { case: "featureService" as const, value: "driver_ranking" };
    const byRows = await online([{ driver_id: "1" }, { driver_id: "3" }, { driver_id: "2" }]);
    const byColumns = await t.features.getOnlineFeatures({
      selection,
      entityColumns: { driver_id: { values: ["1", "3", "2"] } },
    });
    expect(byColumns).toEqual(byRows);

    const both = await failure(
      t.features.getOnlineFeatures({
        selection,
        entities: [{ joinKeys: { driver_id: "1" } }],
        entityColumns: { driver_id: { values: ["1"] } },
      }),
    );
    expect(both).toMatchObject({
      code: Code.InvalidArgument,
      rawMessage: "set entities or entity_columns, not both",
    });
    const ragged = await failure(
      t.features.getOnlineFeatures({
        selection,
        entityColumns: { driver_id: { values: ["1", "2"] }, region: { values: ["eu"] } },
      }),
    );
    expect(ragged.code).toBe(Code.InvalidArgument);
    expect(ragged.rawMessage).toMatch(/"region" has 1; every join key needs one value per entity/);
    const missing = await failure(
      t.features.getOnlineFeatures({ selection, entityColumns: { driver: { values: ["1"] } } }),
    );
    expect(missing).toMatchObject({
      code: Code.InvalidArgument,
      rawMessage: 'entities[0]: join key "driver_id" is missing',
    });
  });

  it("serves a value as PRESENT up to exactly its max age, then OUTSIDE_MAX_AGE", async () => {
    await materialize({ featureView: "driver_stats" });
    const status = async () => (await online([{ driver_id: "1" }])).rows[0]?.values[0]?.status;
    t.clock.now = T12 + 2 * HOUR;
    expect(await status()).toBe(FeatureStatus.PRESENT);
    t.clock.now = T12 + 2 * HOUR + 1;
    expect(await status()).toBe(FeatureStatus.OUTSIDE_MAX_AGE);
  });

  it("materializes a time range, continues incrementally, and is idempotent", async () => {
    const first = await materialize({
      featureView: "driver_stats",
      endTime: timestampFromMs(Date.parse("2024-05-01T11:00:00Z")),
    });
    expect(first.result).toMatchObject({ rowsInRange: 2n, rowsWritten: 2n }); // d1 @10:00, d2 @09:00
    t.clock.now = T12;
    expect((await online([{ driver_id: "1" }])).rows[0]?.values[0]?.value?.kind.value).toBe(0.1);

    const next = await materialize({ featureView: "driver_stats", incremental: true });
    expect(timestampDate(next.result.startTime ?? timestampFromMs(0)).toISOString()).toBe(
      "2024-05-01T11:00:00.000Z",
    );
    expect(next.result).toMatchObject({ rowsInRange: 3n, rowsWritten: 1n });
    expect((await online([{ driver_id: "1" }])).rows[0]?.values[0]?.value?.kind.value).toBe(0.3);

    const again = await materialize({ featureView: "driver_stats" });
    expect(again.result).toMatchObject({ rowsWritten: 2n, rowsSkippedOlder: 0n });
    const state = (await t.features.getFeatureView({ name: "driver_stats" })).featureView?.materialization;
    expect(state?.materializedUntil).toBeDefined();
    const listed = (await t.features.listFeatureViews({})).featureViews.find(
      (v) => v.name === "driver_stats",
    );
    expect(listed?.materialization).toEqual(state);

    // A source version given as the "dataset@id" ref a result reports is accepted, a bare id too.
    const ref = again.result.sourceVersions[0] ?? "";
    const byRef = await materialize({
      featureView: "driver_stats",
      sourceVersions: [ref, ref.split("@")[1] ?? ""],
    });
    expect(byRef.result).toMatchObject({ rowsRead: 10n, rowsWritten: 2n });
    expect(
      await failure(
        materialize({ featureView: "driver_stats", sourceVersions: [`other@${ref.split("@")[1]}`] }),
      ),
    ).toMatchObject({ code: Code.InvalidArgument });

    expect(
      await failure(
        materialize({ featureView: "driver_stats", incremental: true, startTime: timestampFromMs(0) }),
      ),
    ).toMatchObject({ code: Code.InvalidArgument });
    expect(
      await failure(
        materialize({
          featureView: "driver_stats",
          startTime: timestampFromMs(T12),
          endTime: timestampFromMs(T12),
        }),
      ),
    ).toMatchObject({ code: Code.InvalidArgument });
    expect(await failure(materialize({ featureView: "nope" }))).toMatchObject({ code: Code.NotFound });
  });

  it("pushes rows, newest event time wins, and a materialization never overwrites a newer push", async () => {
    t.clock.now = T12;
    const newer = await t.features.pushFeatures(
      push([
        {
          joinKeys: { driver_id: "1" },
          eventTime: timestampFromMs(T12 + 60_000),
          values: { conv_rate: value(0.5), trips: value(7n) },
        },
      ]),
    );
    expect(newer).toMatchObject({ rowsReceived: 1n, rowsWritten: 1n, rowsSkippedOlder: 0n });
    const older = await t.features.pushFeatures(
      push([
        { joinKeys: { driver_id: "1" }, eventTime: timestampFromMs(T12), values: { conv_rate: value(0.1) } },
      ]),
    );
    expect(older).toMatchObject({ rowsWritten: 0n, rowsSkippedOlder: 1n });
    const materialized = await materialize({ featureView: "driver_stats" });
    expect(materialized.result).toMatchObject({ rowsWritten: 1n, rowsSkippedOlder: 1n }); // driver 1: the push is newer

    const row = (await online([{ driver_id: "1" }])).rows[0];
    expect(row?.values.slice(0, 2).map((v) => plain(v.value))).toEqual([0.5, 7n]);
    expect(timestampMs(row?.values[0]?.eventTime ?? timestampFromMs(0))).toBe(T12 + 60_000);

    // A feature missing from a pushed row is stored as null.
    await t.features.pushFeatures(
      push([
        {
          joinKeys: { driver_id: "1" },
          eventTime: timestampFromMs(T12 + 120_000),
          values: { trips: value(8n) },
        },
      ]),
    );
    const partial = (await online([{ driver_id: "1" }])).rows[0];
    expect(partial?.values.slice(0, 2).map((v) => [plain(v.value), v.status])).toEqual([
      [undefined, FeatureStatus.NULL_VALUE],
      [8n, FeatureStatus.PRESENT],
    ]);
  });

  it.each([
    [
      "a value of the wrong type",
      { conv_rate: value("fast") },
      {},
      'rows[1].values["conv_rate"]: a string value does not fit a float64 feature',
    ],
    [
      "an unknown feature",
      { speed: value(1) },
      {},
      'rows[1].values: feature view driver_stats has no feature "speed"',
    ],
    ["a missing join key", {}, { joinKeys: {} }, 'rows[1]: join key "driver_id" is missing'],
    [
      "a join key that is not an int64",
      {},
      { joinKeys: { driver_id: "x1" } },
      'join key "driver_id": "x1" is not an int64',
    ],
    ["a missing event time", {}, { eventTime: undefined }, "rows[1].event_time is required"],
  ])("refuses a push message with %s and writes none of its rows", async (_, values, override, message) => {
    const good = {
      joinKeys: { driver_id: "1" },
      eventTime: timestampFromMs(T12),
      values: { trips: value(1n) },
    };
    const bad = { joinKeys: { driver_id: "2" }, eventTime: timestampFromMs(T12), values, ...override };
    const err = await failure(t.features.pushFeatures(push([good, bad])));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain(message);
    expect(err.rawMessage).toContain("message 0");
    const rows = (await online([{ driver_id: "1" }, { driver_id: "2" }])).rows;
    expect(rows.map((r) => r.values[0]?.status)).toEqual([FeatureStatus.NOT_FOUND, FeatureStatus.NOT_FOUND]);
  });

  it("reads features by reference, and refuses bad selections with the right code", async () => {
    await materialize({ featureView: "driver_profile" });
    const byRef = await t.features.getOnlineFeatures({
      selection: { case: "features", value: { refs: ["driver_profile:*"] } },
      entities: [{ joinKeys: { driver_id: "2", zone: "ignored" } }],
    });
    expect(byRef.featureNames).toEqual(["driver_profile:city"]);
    expect(plain(byRef.rows[0]?.values[0]?.value)).toBe("Oslo");

    const refs = (list: string[]) =>
      t.features.getOnlineFeatures({
        selection: { case: "features", value: { refs: list } },
        entities: [{ joinKeys: { driver_id: "1" } }],
      });
    expect(await failure(refs(["driver_profile"]))).toMatchObject({ code: Code.InvalidArgument });
    expect(await failure(refs(["driver_profile:speed"]))).toMatchObject({ code: Code.InvalidArgument });
    expect(await failure(refs(["nope:city"]))).toMatchObject({ code: Code.NotFound });
    expect(await failure(online([{ driver_id: "1" }], "nope"))).toMatchObject({ code: Code.NotFound });
    expect(await failure(online([]))).toMatchObject({ code: Code.InvalidArgument });
    expect(await failure(online(Array(1001).fill({ driver_id: "1" })))).toMatchObject({
      code: Code.InvalidArgument,
    });
    expect(
      await failure(t.features.getOnlineFeatures({ entities: [{ joinKeys: { driver_id: "1" } }] })),
    ).toMatchObject({
      code: Code.InvalidArgument,
    });
  });
});
