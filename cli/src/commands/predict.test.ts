import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createRouterTransport, type ServiceImpl } from "@connectrpc/connect";
import {
  buildStringFeatureModel,
  SCORING_DEFINITIONS,
  startTestInference,
  type TestInference,
} from "@seam/inference/testing";
import {
  DataType,
  FeatureStatus,
  InferenceService,
  MissingFeaturePolicy,
  type PredictRequest,
  PredictResponseSchema,
  TensorSchema,
} from "@seam/proto/seam/inference/v1/inference_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Output } from "../output.js";
import { run } from "../run.js";
import { runPredictCommand } from "./predict.js";
import { featuresTable, formatAnswered, outputsTable, tensorElements, tensorRows } from "./predict-format.js";

// The command against an in-memory InferenceService (what it sends and prints), the
// formatting on its own, then `seam predict` run end to end against the real inference
// service on grpc-js, with the registry and the feature store in memory.

const T12 = Date.parse("2024-05-01T12:00:00Z");

function capture() {
  const lines: string[] = [];
  const out: Output = {
    line: (t) => lines.push(t),
    table: (header, rows) => lines.push([header, ...rows].map((r) => r.join("|")).join("\n")),
    json: (v) => lines.push(JSON.stringify(v)),
  };
  return { lines, out };
}

function transportFor(impl: Partial<ServiceImpl<typeof InferenceService>>) {
  return createRouterTransport(({ service }) => service(InferenceService, impl));
}

const score = (values: number[]) =>
  create(TensorSchema, {
    name: "score",
    dataType: DataType.FLOAT32,
    shape: [BigInt(values.length), 1n],
    floatValues: values,
  });

describe("seam predict against an in-memory service", () => {
  it("sends rows of named values and prints the version, route and outputs per row", async () => {
    let seen: PredictRequest | undefined;
    const transport = transportFor({
      predict(req) {
        seen = req;
        return {
          modelName: "iris",
          modelVersion: 3n,
          route: "champion",
          requestId: req.requestId,
          outputs: [
            { name: "label", dataType: DataType.INT64, shape: [2n], int64Values: [0n, 2n] },
            {
              name: "probabilities",
              dataType: DataType.FLOAT32,
              shape: [2n, 3n],
              floatValues: [0.9, 0.07, 0.03, 0.01, 0.2, 0.79],
            },
          ],
        };
      },
    });
    const io = capture();
    await runPredictCommand(
      [
        "iris",
        "--input",
        '[{"sepal_length":5.1,"petal_width":null},{"sepal_length":6.7}]',
        "--request-id",
        "r1",
      ],
      transport,
      io.out,
    );
    expect(seen?.model).toBe("iris");
    expect(seen?.requestId).toBe("r1");
    expect(seen?.rows).toEqual([{ sepal_length: 5.1, petal_width: null }, { sepal_length: 6.7 }]);
    expect(seen?.entities).toEqual([]);
    expect(seen?.missingFeatures).toBe(MissingFeaturePolicy.UNSPECIFIED);
    expect(io.lines).toEqual([
      "iris:3 (champion)",
      "request r1",
      // float32 values printed to 6 significant digits, not as 0.8999999761581421.
      "ROW|label|probabilities\n0|0|[0.9, 0.07, 0.03]\n1|2|[0.01, 0.2, 0.79]",
    ]);
  });

  it("reads the rows of --input @file", async () => {
    let seen: PredictRequest | undefined;
    const transport = transportFor({
      predict(req) {
        seen = req;
        return { modelName: "iris", modelVersion: 1n, outputs: [score([1])] };
      },
    });
    const io = capture();
    const read = async (path: string) => {
      expect(path).toBe("row.json");
      return '{"x": 1}';
    };
    await runPredictCommand(["iris:1", "--input", "@row.json"], transport, io.out, read);
    expect(seen?.rows).toEqual([{ x: 1 }]);
    expect(io.lines).toEqual(["iris:1", "ROW|score\n0|1"]);
  });

  it("sends entity keys and prints the outputs by entity, then the features used", async () => {
    let seen: PredictRequest | undefined;
    const transport = transportFor({
      predict(req) {
        seen = req;
        return {
          modelName: "churn",
          modelVersion: 2n,
          route: "latest",
          outputs: [score([4, Number.NaN])],
          features: [
            {
              features: [
                {
                  input: "amount",
                  feature: "stats:amount",
                  status: FeatureStatus.PRESENT,
                  eventTime: timestampFromMs(T12),
                },
              ],
            },
            {
              features: [
                { input: "amount", feature: "stats:amount", status: FeatureStatus.NOT_FOUND, imputed: true },
              ],
            },
          ],
        };
      },
    });
    const io = capture();
    await runPredictCommand(
      [
        "churn",
        "--entity",
        "customer_id=1",
        "--entity",
        "customer_id=9",
        "--missing-features",
        "impute",
        "--output",
        "score",
      ],
      transport,
      io.out,
    );
    expect(seen?.entities.map((e) => e.joinKeys)).toEqual([{ customer_id: "1" }, { customer_id: "9" }]);
    expect(seen?.rows).toEqual([]);
    expect(seen?.missingFeatures).toBe(MissingFeaturePolicy.IMPUTE);
    expect(seen?.outputs).toEqual(["score"]);
    expect(io.lines).toEqual([
      "churn:2 (latest)",
      "customer_id|score\n1|4\n9|NaN",
      "",
      "features used",
      [
        "ENTITY|INPUT|FEATURE|STATUS|EVENT TIME",
        "customer_id=1|amount|stats:amount|PRESENT|2024-05-01T12:00:00.000Z",
        "customer_id=9|amount|stats:amount|NOT_FOUND (imputed)|-",
      ].join("\n"),
    ]);
  });

  it("prints the response as proto JSON with --json", async () => {
    const transport = transportFor({
      predict: () => ({ modelName: "iris", modelVersion: 3n, route: "champion", outputs: [score([0.5])] }),
    });
    const io = capture();
    await runPredictCommand(["iris", "--input", '{"x":1}', "--json"], transport, io.out);
    expect(JSON.parse(io.lines[0] ?? "")).toEqual({
      modelName: "iris",
      modelVersion: "3",
      route: "champion",
      outputs: [{ name: "score", dataType: "DATA_TYPE_FLOAT32", shape: ["1", "1"], floatValues: [0.5] }],
    });
  });
});

describe("predict formatting", () => {
  it("names the version, with the route when there is one", () => {
    const response = create(PredictResponseSchema, { modelName: "m", modelVersion: 7n });
    expect(formatAnswered(response)).toBe("m:7");
    expect(formatAnswered({ ...response, route: "challenger" })).toBe("m:7 (challenger)");
  });

  it("reads raw little-endian tensors and cuts long rows", () => {
    const raw = new Uint8Array(8);
    new DataView(raw.buffer).setFloat32(0, 1.5, true);
    new DataView(raw.buffer).setFloat32(4, -2, true);
    const tensor = create(TensorSchema, { name: "y", dataType: DataType.FLOAT32, shape: [2n, 1n], raw });
    expect(tensorElements(tensor)).toEqual([1.5, -2]);
    expect(tensorRows(tensor)).toEqual(["1.5", "-2"]);
    const wide = create(TensorSchema, {
      name: "emb",
      dataType: DataType.FLOAT64,
      shape: [1n, 32n],
      doubleValues: Array.from({ length: 32 }, (_, i) => i + 0.125),
    });
    const [row] = tensorRows(wide);
    expect(row).toHaveLength(60);
    expect(row).toMatch(/^\[0\.125, 1\.125, .*…\]$/);
  });

  it("shows strings and booleans readably", () => {
    const labels = create(TensorSchema, {
      name: "label",
      dataType: DataType.STRING,
      shape: [3n],
      stringValues: ["setosa", "", "two\nlines"],
    });
    expect(tensorRows(labels)).toEqual(["setosa", '""', "two\\nlines"]);
    const flags = create(TensorSchema, {
      name: "f",
      dataType: DataType.BOOL,
      shape: [1n, 2n],
      boolValues: [true, false],
    });
    expect(tensorRows(flags)).toEqual(["[true, false]"]);
  });

  it("puts every join key in its own column and entities in request order", () => {
    const response = create(PredictResponseSchema, {
      modelName: "m",
      modelVersion: 1n,
      outputs: [score([1, 2])],
    });
    const entities = [
      { store_id: "7", sku: "A1" },
      { store_id: "8", sku: "B2" },
    ];
    expect(outputsTable(response, entities)).toEqual({
      header: ["store_id", "sku", "score"],
      rows: [
        ["7", "A1", "1"],
        ["8", "B2", "2"],
      ],
    });
    expect(featuresTable([], entities).rows).toEqual([]);
  });
});

describe("seam predict against the inference service", () => {
  let t: TestInference;
  let env: Record<string, string>;
  beforeAll(async () => {
    t = await startTestInference();
    await t.uploadCsv(
      "customer_src",
      "customer_id,event_timestamp,amount,country\n1,2024-05-01T12:00:00Z,1.5,NL\n2,2024-05-01T11:00:00Z,2.25,FR\n",
    );
    await t.features.applyDefinitions(SCORING_DEFINITIONS);
    for await (const _ of t.features.materializeFeatureView({ featureView: "customer_stats" })) {
      // Drained: materialized once the stream ends.
    }
    await t.uploadModel("churn", buildStringFeatureModel(), { alias: "champion", featureService: "scoring" });
    // The CLI speaks gRPC; the inference server takes it directly as the gateway would pass it on.
    env = { SEAM_GATEWAY_URL: `http://${t.address}` };
  });
  afterAll(async () => t?.close());

  async function seam(argv: string[]) {
    const io = capture();
    const errors: string[] = [];
    const code = await run(["predict", ...argv], env, io.out, {
      write: (text: string) => errors.push(text),
    } as unknown as NodeJS.WritableStream);
    return { code, lines: io.lines, errors: errors.join("") };
  }

  it("predicts on rows of values", async () => {
    const result = await seam([
      "churn",
      "--input",
      '[{"amount":1,"country":"NL"},{"amount":2.5,"country":null}]',
    ]);
    expect(result).toEqual({ code: 0, lines: ["churn:1 (champion)", "ROW|score\n0|3\n1|5"], errors: "" });
  });

  it("predicts by entity key, showing the features used", async () => {
    const result = await seam([
      "churn:1",
      "--entity",
      "customer_id=1",
      "--entity",
      "customer_id=2",
      "--request-id",
      "cli-1",
    ]);
    expect(result.code).toBe(0);
    expect(result.lines).toEqual([
      "churn:1",
      "request cli-1",
      "customer_id|score\n1|4\n2|4.5",
      "",
      "features used",
      [
        "ENTITY|INPUT|FEATURE|STATUS|EVENT TIME",
        "customer_id=1|amount|customer_stats:amount|PRESENT|2024-05-01T12:00:00.000Z",
        "customer_id=1|country|customer_stats:country|PRESENT|2024-05-01T12:00:00.000Z",
        "customer_id=2|amount|customer_stats:amount|PRESENT|2024-05-01T11:00:00.000Z",
        "customer_id=2|country|customer_stats:country|PRESENT|2024-05-01T11:00:00.000Z",
      ].join("\n"),
    ]);
  });

  it("imputes on request and reports the service's refusal otherwise", async () => {
    const refused = await seam(["churn", "--entity", "customer_id=9"]);
    expect(refused.code).toBe(1);
    expect(refused.lines).toEqual([]);
    expect(refused.errors).toMatch(
      /^seam: FailedPrecondition: entity customer_id=9: feature customer_stats:amount is NOT_FOUND/,
    );
    const imputed = await seam([
      "churn",
      "--entity",
      "customer_id=9",
      "--missing-features",
      "impute",
      "--json",
    ]);
    expect(imputed.code).toBe(0);
    const json = JSON.parse(imputed.lines[0] ?? "");
    expect(json.outputs[0].floatValues).toEqual(["NaN"]);
    expect(json.features[0].features).toEqual([
      {
        input: "amount",
        feature: "customer_stats:amount",
        status: "FEATURE_STATUS_NOT_FOUND",
        imputed: true,
      },
      {
        input: "country",
        feature: "customer_stats:country",
        status: "FEATURE_STATUS_NOT_FOUND",
        imputed: true,
      },
    ]);
  });

  it("exits 2 with the usage on a wrong command line", async () => {
    const result = await seam(["churn"]);
    expect(result.code).toBe(2);
    expect(result.errors).toMatch(/^seam: predict needs --input JSON or --entity key=value/);
    expect(result.errors).toContain("seam predict <model> <input> [options]");
  });
});
