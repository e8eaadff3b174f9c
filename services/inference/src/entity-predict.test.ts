import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { failure, type StoreKind } from "@seam/kit/testing";
import type { ApplyDefinitionsRequestSchema } from "@seam/proto/seam/features/v1/features_pb";
import { FeatureStatus, MissingFeaturePolicy } from "@seam/proto/seam/inference/v1/inference_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestInference, type TestInference } from "./testing/harness.js";
import { buildStringFeatureModel } from "./testing/models.js";
import { SCORING_DEFINITIONS, stringFeatureScore } from "./testing/scoring.js";

/**
 * Customer 1 has two rows (the later one wins), 2 and 3 one each, 4 a null country; 9 is
 * never materialized.
 */
const SOURCE_CSV = [
  "customer_id,event_timestamp,amount,country",
  "1,2024-05-01T10:00:00Z,1.0,DE",
  "1,2024-05-01T12:00:00Z,1.5,NL",
  "2,2024-05-01T11:00:00Z,2.25,FR",
  "3,2024-05-01T09:30:00Z,4,NL",
  "4,2024-05-01T08:00:00Z,0.5,",
  "",
].join("\n");

/** The latest values per customer, as materialized. */
const LATEST: Record<string, { amount: number; country: string; time: string }> = {
  "1": { amount: 1.5, country: "NL", time: "2024-05-01T12:00:00Z" },
  "2": { amount: 2.25, country: "FR", time: "2024-05-01T11:00:00Z" },
  "3": { amount: 4, country: "NL", time: "2024-05-01T09:30:00Z" },
};

const score = ({ amount, country }: { amount: number; country: string }) =>
  stringFeatureScore(amount, country);

// The shared scoring definitions, plus the same features with a 1 h max age: every 2024
// value is OUTSIDE_MAX_AGE by now (customer_stats has none, so its values never are).
const DEFINITIONS = {
  entities: SCORING_DEFINITIONS.entities,
  featureViews: [
    ...SCORING_DEFINITIONS.featureViews,
    { ...SCORING_DEFINITIONS.featureViews[0], name: "customer_recent", ttl: durationFromMs(3600_000) },
  ],
  featureServices: [
    ...SCORING_DEFINITIONS.featureServices,
    { name: "scoring_recent", features: [{ featureView: "customer_recent" }] },
  ],
} satisfies MessageInitShape<typeof ApplyDefinitionsRequestSchema>;

/** Source dataset, definitions, materialization: what every entity test starts from. */
async function setUpFeatures(t: TestInference): Promise<void> {
  await t.uploadCsv("customer_src", SOURCE_CSV);
  await t.features.applyDefinitions(DEFINITIONS);
  for (const featureView of ["customer_stats", "customer_recent"]) {
    let written: bigint | undefined;
    for await (const event of t.features.materializeFeatureView({ featureView })) {
      if (event.event.case === "result") written = event.event.value.rowsWritten;
    }
    expect(written).toBe(4n);
  }
}

const entity = (id: string) => ({ joinKeys: { customer_id: id } });

describe.each<StoreKind>(["embedded", "redis"])("Predict by entity key on %s storage", (kind) => {
  let t: TestInference;
  beforeAll(async () => {
    t = await startTestInference({}, kind);
    await setUpFeatures(t);
    await t.uploadModel("churn", buildStringFeatureModel(), { alias: "champion", featureService: "scoring" });
  });
  afterAll(async () => t?.close());

  it("answers as the same values sent as rows, reporting the features used", async () => {
    const ids = ["1", "2", "3"];
    const byEntity = await t.inference.predict({
      model: "churn",
      requestId: "e1",
      entities: ids.map(entity),
    });
    const byRows = await t.inference.predict({
      model: "churn",
      rows: ids.map((id) => {
        const { amount, country } = LATEST[id] as (typeof LATEST)[string];
        return { amount, country };
      }),
    });
    expect(byEntity).toMatchObject({
      modelName: "churn",
      modelVersion: 1n,
      route: "champion",
      requestId: "e1",
    });
    expect(byEntity.outputs[0]?.name).toBe("score");
    expect(byEntity.outputs[0]?.shape).toEqual([3n, 1n]);
    expect(byEntity.outputs[0]?.floatValues).toEqual(byRows.outputs[0]?.floatValues);
    expect(byEntity.outputs[0]?.floatValues).toEqual(
      ids.map((id) => score(LATEST[id] as (typeof LATEST)[string])),
    );
    expect(byRows.features).toEqual([]);

    expect(byEntity.features).toHaveLength(3);
    byEntity.features.forEach((used, i) => {
      const latest = LATEST[ids[i] as string] as (typeof LATEST)[string];
      expect(used.features.map((f) => [f.input, f.feature, f.status, f.imputed])).toEqual([
        ["amount", "customer_stats:amount", FeatureStatus.PRESENT, false],
        ["country", "customer_stats:country", FeatureStatus.PRESENT, false],
      ]);
      for (const f of used.features) {
        expect(f.eventTime).toBeDefined();
        expect(f.eventTime === undefined ? undefined : timestampMs(f.eventTime)).toBe(
          Date.parse(latest.time),
        );
      }
    });
  });

  it("normalises int64 join keys", async () => {
    const response = await t.inference.predict({ model: "churn", entities: [entity("01")] });
    expect(response.outputs[0]?.floatValues).toEqual([score(LATEST["1"] as (typeof LATEST)[string])]);
  });

  it("refuses an unknown entity under the default reject policy, naming the entity and the feature", async () => {
    const refused = await failure(
      t.inference.predict({ model: "churn", entities: [entity("1"), entity("9")] }),
    );
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.rawMessage).toContain("customer_id=9");
    expect(refused.rawMessage).toContain("customer_stats:amount");
    expect(refused.rawMessage).toContain("NOT_FOUND");
    // Asking for reject explicitly is the same.
    const explicit = await failure(
      t.inference.predict({
        model: "churn",
        entities: [entity("9")],
        missingFeatures: MissingFeaturePolicy.REJECT,
      }),
    );
    expect(explicit.code).toBe(Code.FailedPrecondition);
  });

  it("imputes missing features when the request asks for it", async () => {
    const response = await t.inference.predict({
      model: "churn",
      entities: [entity("9"), entity("3")],
      missingFeatures: MissingFeaturePolicy.IMPUTE,
    });
    const [missing, known] = response.outputs[0]?.floatValues ?? [];
    expect(missing).toBeNaN(); // amount NaN → NaN * 2 + 0
    expect(known).toBe(score(LATEST["3"] as (typeof LATEST)[string]));
    expect(response.features[0]?.features.map((f) => [f.input, f.status, f.imputed, f.eventTime])).toEqual([
      ["amount", FeatureStatus.NOT_FOUND, true, undefined],
      ["country", FeatureStatus.NOT_FOUND, true, undefined],
    ]);
    expect(response.features[1]?.features.map((f) => [f.status, f.imputed])).toEqual([
      [FeatureStatus.PRESENT, false],
      [FeatureStatus.PRESENT, false],
    ]);
  });

  it("treats a null value and a value past the view's max age as missing", async () => {
    const nullCountry = await failure(t.inference.predict({ model: "churn", entities: [entity("4")] }));
    expect(nullCountry.code).toBe(Code.FailedPrecondition);
    expect(nullCountry.rawMessage).toMatch(/customer_id=4: feature customer_stats:country is NULL_VALUE/);
    const imputed = await t.inference.predict({
      model: "churn",
      entities: [entity("4")],
      missingFeatures: MissingFeaturePolicy.IMPUTE,
    });
    expect(imputed.outputs[0]?.floatValues).toEqual([1]); // 0.5 * 2 + ("" == "NL")
    expect(imputed.features[0]?.features.map((f) => [f.input, f.status, f.imputed])).toEqual([
      ["amount", FeatureStatus.PRESENT, false],
      ["country", FeatureStatus.NULL_VALUE, true],
    ]);

    await t.uploadModel("recent-churn", buildStringFeatureModel(), { featureService: "scoring_recent" });
    const stale = await failure(t.inference.predict({ model: "recent-churn", entities: [entity("1")] }));
    expect(stale.code).toBe(Code.FailedPrecondition);
    expect(stale.rawMessage).toMatch(/customer_id=1: feature customer_recent:amount is OUTSIDE_MAX_AGE/);
    const fedMissing = await t.inference.predict({
      model: "recent-churn",
      entities: [entity("1")],
      missingFeatures: MissingFeaturePolicy.IMPUTE,
    });
    expect(fedMissing.outputs[0]?.floatValues[0]).toBeNaN();
    const used = fedMissing.features[0]?.features ?? [];
    expect(used.map((f) => [f.feature, f.status, f.imputed])).toEqual([
      ["customer_recent:amount", FeatureStatus.OUTSIDE_MAX_AGE, true],
      ["customer_recent:country", FeatureStatus.OUTSIDE_MAX_AGE, true],
    ]);
    // A stale value still reports when it was observed.
    expect(used.map((f) => (f.eventTime === undefined ? undefined : timestampMs(f.eventTime)))).toEqual([
      Date.parse("2024-05-01T12:00:00Z"),
      Date.parse("2024-05-01T12:00:00Z"),
    ]);
  });

  it("imputes by default when the version declares seam.missing_features: impute", async () => {
    await t.uploadModel("lenient-churn", buildStringFeatureModel(), {
      featureService: "scoring",
      tags: { "seam.missing_features": "impute" },
    });
    const response = await t.inference.predict({ model: "lenient-churn", entities: [entity("9")] });
    expect(response.outputs[0]?.floatValues[0]).toBeNaN();
    expect(response.features[0]?.features.map((f) => [f.status, f.imputed])).toEqual([
      [FeatureStatus.NOT_FOUND, true],
      [FeatureStatus.NOT_FOUND, true],
    ]);
    // The request's policy still wins over the declaration.
    const refused = await failure(
      t.inference.predict({
        model: "lenient-churn",
        entities: [entity("9")],
        missingFeatures: MissingFeaturePolicy.REJECT,
      }),
    );
    expect(refused.code).toBe(Code.FailedPrecondition);
  });

  it("refuses entities for a model bound to no feature service", async () => {
    await t.uploadModel("unbound", buildStringFeatureModel());
    const refused = await failure(t.inference.predict({ model: "unbound", entities: [entity("1")] }));
    expect(refused.code).toBe(Code.InvalidArgument);
    expect(refused.rawMessage).toMatch(/unbound:1 is not bound to a feature service/);
    // Rows still work for it.
    const response = await t.inference.predict({ model: "unbound", rows: [{ amount: 1, country: "NL" }] });
    expect(response.outputs[0]?.floatValues).toEqual([3]);
  });

  it("answers FAILED_PRECONDITION, not NOT_FOUND, for a model bound to a feature service that does not exist", async () => {
    await t.uploadModel("orphan", buildStringFeatureModel(), { featureService: "gone" });
    const refused = await failure(t.inference.predict({ model: "orphan", entities: [entity("1")] }));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.rawMessage).toMatch(
      /bound to feature service gone, which the feature store does not know/,
    );
  });
});

describe("prediction log", () => {
  let t: TestInference;
  beforeAll(async () => {
    t = await startTestInference({ INFERENCE_LOG_SAMPLE_RATE: 1, INFERENCE_LOG_FLUSH_MS: 50 });
    await setUpFeatures(t);
    await t.uploadModel("churn", buildStringFeatureModel(), { alias: "champion", featureService: "scoring" });
  });
  afterAll(async () => t?.close());

  it("writes every prediction, by rows or entity key, to the prediction-log dataset", async () => {
    expect(t.runtime.log).toBeDefined();
    await t.inference.predict({
      model: "churn",
      requestId: "log-rows",
      rows: [{ amount: 1, country: "NL" }],
    });
    await t.inference.predict({
      model: "churn:1",
      requestId: "log-entities",
      entities: [entity("1"), entity("2")],
    });
    await t.inference.predict({
      model: "churn",
      requestId: "log-imputed",
      entities: [entity("9")],
      missingFeatures: MissingFeaturePolicy.IMPUTE,
    });
    await t.runtime.log?.flush();
    expect(t.runtime.log?.stats()).toMatchObject({ sampled: 3, written: 3, dropped: 0, buffered: 0 });

    // Each flush is a version holding only its own records; collect the chain's rows.
    const { versions } = await t.datasets.listDatasetVersions({ dataset: "prediction-log" });
    expect(versions.length).toBeGreaterThanOrEqual(1);
    const rows = [];
    for (const version of versions) {
      rows.push(
        ...(await t.datasets.readDatasetRows({ dataset: "prediction-log", version: version.id })).rows,
      );
    }
    const latest = await t.datasets.readDatasetRows({ dataset: "prediction-log" });
    expect(latest.rows.length).toBeGreaterThan(0);
    expect(latest.schema?.columns.map((c) => c.name)).toEqual([
      "time",
      "request_id",
      "trace_id",
      "model_name",
      "model_version",
      "route",
      "inputs",
      "outputs",
    ]);

    const byId = new Map(rows.map((row) => [row.request_id, row]));
    expect([...byId.keys()].sort()).toEqual(["log-entities", "log-imputed", "log-rows"]);

    const plain = byId.get("log-rows");
    expect(plain).toMatchObject({ model_name: "churn", route: "champion" });
    expect(Number(plain?.model_version)).toBe(1);
    expect(JSON.parse(String(plain?.inputs))).toEqual({ amount: [1], country: ["NL"] });
    expect(JSON.parse(String(plain?.outputs))).toEqual({ score: [3] });

    const byKey = byId.get("log-entities");
    expect(byKey).toMatchObject({ model_name: "churn", route: "" });
    expect(Number(byKey?.model_version)).toBe(1);
    // Entity requests log the feature values the model was fed, and the entity keys (to join back for retraining).
    expect(JSON.parse(String(byKey?.inputs))).toEqual({
      amount: [1.5, 2.25],
      country: ["NL", "FR"],
      entities: [{ customer_id: "1" }, { customer_id: "2" }],
    });
    expect(JSON.parse(String(byKey?.outputs))).toEqual({ score: [4, 4.5] });

    // NaN (imputed) is not JSON: it is logged as null.
    const imputed = byId.get("log-imputed");
    expect(JSON.parse(String(imputed?.inputs))).toEqual({
      amount: [null],
      country: [""],
      entities: [{ customer_id: "9" }],
    });
    expect(JSON.parse(String(imputed?.outputs))).toEqual({ score: [null] });
  });
});
