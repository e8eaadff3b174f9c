import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { failure } from "@seam/kit/testing";
import { DataType, TensorSchema } from "@seam/proto/seam/inference/v1/inference_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestInference, type TestInference } from "./testing/harness.js";
import { buildMlpModel, buildStringFeatureModel, mlpReference } from "./testing/models.js";

const ROWS = 64;

function randomRows(rows: number, width = 20): Float32Array {
  return Float32Array.from({ length: rows * width }, (_, i) => Math.sin(i * 0.37) * 2);
}

function xTensor(data: Float32Array, rows: number, width = 20) {
  return create(TensorSchema, {
    name: "x",
    dataType: DataType.FLOAT32,
    shape: [BigInt(rows), BigInt(width)],
    floatValues: [...data],
  });
}

describe("Predict", () => {
  let t: TestInference;
  beforeAll(async () => {
    t = await startTestInference();
    await t.uploadModel("mlp", buildMlpModel({ seed: 1 }), { alias: "champion" });
    await t.uploadModel("scorer", buildStringFeatureModel());
  });
  afterAll(async () => t?.close());

  it("answers with the model's outputs, the version and the route", async () => {
    const x = randomRows(ROWS);
    const response = await t.inference.predict({ model: "mlp", requestId: "r1", inputs: [xTensor(x, ROWS)] });
    expect(response.modelName).toBe("mlp");
    expect(response.modelVersion).toBe(1n);
    expect(response.route).toBe("champion");
    expect(response.requestId).toBe("r1");
    const y = response.outputs[0];
    expect(y?.name).toBe("y");
    expect(y?.shape).toEqual([BigInt(ROWS), 1n]);
    const expected = mlpReference({ seed: 1 })(x, ROWS);
    for (const [i, v] of (y?.floatValues ?? []).entries()) expect(v).toBeCloseTo(expected[i] as number, 4);
  });

  it("answers raw inputs with raw outputs", async () => {
    const x = randomRows(2);
    const raw = new Uint8Array(x.buffer.slice(0));
    const response = await t.inference.predict({
      model: "mlp:1",
      inputs: [{ name: "x", dataType: DataType.FLOAT32, shape: [2n, 20n], raw }],
    });
    expect(response.route).toBe("");
    const out = response.outputs[0];
    expect(out?.floatValues).toEqual([]);
    // Copied: the decoded bytes may be a Node Buffer view into a larger message buffer.
    const y = new Float32Array(Uint8Array.from(out?.raw ?? []).buffer);
    const expected = mlpReference({ seed: 1 })(x, 2);
    expect(y[0]).toBeCloseTo(expected[0] as number, 4);
    expect(y[1]).toBeCloseTo(expected[1] as number, 4);
  });

  it("takes rows of named values, null as missing", async () => {
    const response = await t.inference.predict({
      model: "scorer",
      rows: [
        { amount: 1, country: "NL" },
        { amount: 2.5, country: null },
      ],
    });
    expect(response.route).toBe("latest");
    expect(response.outputs[0]?.floatValues).toEqual([3, 5]);
  });

  it("refuses unknown models, aliases and versions with NOT_FOUND", async () => {
    expect(
      (await failure(t.inference.predict({ model: "nope", inputs: [xTensor(randomRows(1), 1)] }))).code,
    ).toBe(Code.NotFound);
    const alias = await failure(
      t.inference.predict({ model: "mlp@challenger", inputs: [xTensor(randomRows(1), 1)] }),
    );
    expect({ code: alias.code, message: alias.rawMessage }).toEqual({
      code: Code.NotFound,
      message: 'model "mlp" has no alias "challenger"',
    });
    expect(
      (await failure(t.inference.predict({ model: "mlp:9", inputs: [xTensor(randomRows(1), 1)] }))).code,
    ).toBe(Code.NotFound);
  });

  it("refuses a wrong input name, data type, shape or element count, naming the tensor", async () => {
    const cases: Array<[Parameters<typeof t.inference.predict>[0], RegExp]> = [
      [
        { model: "mlp", inputs: [{ ...xTensor(randomRows(1), 1), name: "z" }] },
        /"z" is not an input of the model \(inputs: x\)/,
      ],
      [
        {
          model: "mlp",
          inputs: [
            { name: "x", dataType: DataType.FLOAT64, shape: [1n, 20n], doubleValues: [...randomRows(1)] },
          ],
        },
        /input "x" is float64; the model expects float32/,
      ],
      [
        { model: "mlp", inputs: [xTensor(randomRows(2, 10), 2, 10)] },
        /input "x" has shape \[2, 10\]; the model expects \[N, 20\]/,
      ],
      [
        {
          model: "mlp",
          inputs: [{ name: "x", dataType: DataType.FLOAT32, shape: [1n, 20n], floatValues: [1, 2, 3] }],
        },
        /input "x"/,
      ],
      [{ model: "mlp", inputs: [] }, /inputs \(tensors\), rows or entities/],
    ];
    for (const [request, message] of cases) {
      const refused = await failure(t.inference.predict(request));
      expect(refused.code, refused.rawMessage).toBe(Code.InvalidArgument);
      expect(refused.rawMessage).toMatch(message);
    }
  });

  it("refuses NaN and Infinity under the default policy", async () => {
    const x = randomRows(2);
    x[25] = Number.NaN;
    const refused = await failure(t.inference.predict({ model: "mlp", inputs: [xTensor(x, 2)] }));
    expect(refused.code).toBe(Code.InvalidArgument);
    expect(refused.rawMessage).toMatch(/input "x": element 25 is NaN/);
  });

  it("lets a version declare that it takes non-finite inputs", async () => {
    await t.uploadModel("lenient", buildMlpModel({ seed: 2 }), {
      tags: { "seam.nonfinite_inputs": "allow" },
    });
    const x = randomRows(1);
    x[0] = Number.POSITIVE_INFINITY;
    const response = await t.inference.predict({ model: "lenient", inputs: [xTensor(x, 1)] });
    expect(response.outputs[0]?.floatValues).toHaveLength(1);
  });

  it("returns only the outputs asked for and names an unknown one", async () => {
    const refused = await failure(
      t.inference.predict({ model: "mlp", inputs: [xTensor(randomRows(1), 1)], outputs: ["logits"] }),
    );
    expect({ code: refused.code, message: refused.rawMessage }).toEqual({
      code: Code.InvalidArgument,
      message: '"logits" is not an output of mlp:1 (outputs: y)',
    });
  });

  it("reports loaded versions with their counters and unloads them", async () => {
    const { models } = await t.inference.getModelStatus({ modelName: "mlp" });
    const v1 = models[0]?.versions[0];
    expect(v1?.version).toBe(1n);
    expect(v1?.inputs[0]).toMatchObject({ name: "x", dataType: DataType.FLOAT32, shape: [-1n, 20n] });
    expect(Number(v1?.stats?.successes)).toBeGreaterThanOrEqual(2);
    expect(Number(v1?.stats?.failures)).toBeGreaterThanOrEqual(1);
    expect(models[0]?.routes.champion).toBe(1n);
    expect((await t.inference.unloadModel({ modelName: "mlp" })).versions).toEqual([1n]);
    expect((await failure(t.inference.unloadModel({ modelName: "mlp" }))).code).toBe(Code.NotFound);
    const loaded = await t.inference.loadModel({ model: "mlp@champion" });
    expect(loaded.version?.version).toBe(1n);
  });
});
