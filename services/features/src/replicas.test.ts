import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { failure, type StoreKind } from "@seam/kit/testing";
import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { FeatureStatus } from "@seam/proto/seam/features/v1/features_pb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ALL_DEFINITIONS,
  DRIVER,
  DRIVER_PROFILE,
  DRIVER_PROFILE_CSV,
  DRIVER_STATS_CSV,
  value,
} from "./testing/fixtures.js";
import { startTestFeatures, type TestFeatures } from "./testing/harness.js";

describe.each<StoreKind>(["embedded", "redis"])("replicas and concurrent changes on %s storage", (kind) => {
  let t: TestFeatures;

  beforeEach(async () => {
    t = await startTestFeatures(kind);
    await t.uploadCsv("driver_stats_src", DRIVER_STATS_CSV);
    await t.uploadCsv("driver_profile_src", DRIVER_PROFILE_CSV);
  });
  afterEach(async () => t.close());

  it("a replica drops its cached definitions when another replica changes them", async () => {
    await t.features.applyDefinitions(ALL_DEFINITIONS);
    const other = await t.replica(60_000); // only the change event can refresh it in time
    const select = { case: "featureService" as const, value: "driver_ranking" };
    const entities = [{ joinKeys: { driver_id: "1" } }];
    expect((await other.getOnlineFeatures({ selection: select, entities })).featureNames).toHaveLength(3);

    await t.features.applyDefinitions({
      featureServices: [{ name: "driver_ranking", features: [{ featureView: "driver_profile" }] }],
    });
    await expect
      .poll(async () => (await other.getOnlineFeatures({ selection: select, entities })).featureNames, {
        timeout: 5000,
      })
      .toEqual(["driver_profile:city"]);

    await t.features.pushFeatures(
      (async function* () {
        yield {
          featureView: "driver_profile",
          rows: [
            {
              joinKeys: { driver_id: "1" },
              eventTime: timestampFromMs(Date.now()),
              values: { city: value("Rome") },
            },
          ],
        };
      })(),
    );
    const served = await other.getOnlineFeatures({ selection: select, entities });
    expect(served.rows[0]?.values[0]).toMatchObject({ status: FeatureStatus.PRESENT });
  });

  it("never leaves a view naming a deleted entity when a delete races an apply", async () => {
    await t.features.applyDefinitions({ entities: [DRIVER] });
    for (let round = 0; round < 8; round++) {
      const entity = { name: `e${round}`, joinKeys: [{ name: "driver_id", type: ColumnType.INT64 }] };
      await t.features.applyDefinitions({ entities: [entity] });
      const view = { ...DRIVER_PROFILE, name: `v${round}`, entities: [entity.name] };
      const [deleted, applied] = await Promise.allSettled([
        t.features.deleteEntity({ name: entity.name }),
        t.features.applyDefinitions({ featureViews: [view] }),
      ]);
      const entityExists = await t.features.getEntity({ name: entity.name }).then(
        () => true,
        () => false,
      );
      const viewExists = await t.features.getFeatureView({ name: view.name }).then(
        () => true,
        () => false,
      );
      // Exactly one wins; a view never outlives its entity.
      expect(deleted.status === "fulfilled" ? !entityExists && !viewExists : entityExists && viewExists).toBe(
        true,
      );
      expect(applied.status).toBe(deleted.status === "fulfilled" ? "rejected" : "fulfilled");
      if (applied.status === "rejected") {
        expect(await failure(Promise.reject(applied.reason))).toMatchObject({ code: Code.InvalidArgument });
      }
    }
  });
});
