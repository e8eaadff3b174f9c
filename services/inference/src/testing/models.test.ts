import { createRandom } from "@seam/kit/random";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import {
  buildGatherModel,
  buildIdentityModel,
  buildMlpModel,
  buildStringFeatureModel,
  mlpReference,
} from "./models.js";

/** The values of a float32 output, failing the test when it is missing or of another type. */
function floats(tensor: Tensor | undefined): number[] {
  expect(tensor?.type).toBe("float32");
  return Array.from((tensor?.data ?? []) as Float32Array);
}

describe("buildMlpModel", () => {
  it("loads with input x [N,20] and output y, and matches mlpReference for batch 1 and 64", async () => {
    const session = await InferenceSession.create(buildMlpModel());
    expect(session.inputNames).toEqual(["x"]);
    expect(session.outputNames).toEqual(["y"]);
    const reference = mlpReference();
    const random = createRandom(7);
    for (const rows of [1, 64]) {
      const x = Float32Array.from({ length: rows * 20 }, () => random() * 4 - 2);
      const { y } = await session.run({ x: new Tensor("float32", x, [rows, 20]) });
      expect(y?.dims).toEqual([rows, 1]);
      const expected = reference(x, rows);
      const actual = floats(y);
      expect(actual).toHaveLength(rows);
      for (const [i, v] of expected.entries()) expect(actual[i]).toBeCloseTo(v, 5);
    }
    await session.release();
  });

  it("honours widths, names and seed", async () => {
    const options = { inputs: 3, hidden: [5], outputs: 2, seed: 9, inputName: "in", outputName: "out" };
    const session = await InferenceSession.create(buildMlpModel(options));
    expect(session.inputNames).toEqual(["in"]);
    expect(session.outputNames).toEqual(["out"]);
    const x = Float32Array.from([0.5, -1, 2, 1, 1, 1]);
    const { out } = await session.run({ in: new Tensor("float32", x, [2, 3]) });
    expect(out?.dims).toEqual([2, 2]);
    const expected = mlpReference(options)(x, 2);
    const actual = floats(out);
    for (const [i, v] of expected.entries()) expect(actual[i]).toBeCloseTo(v, 5);
    await session.release();

    expect(buildMlpModel({ seed: 1 })).toEqual(buildMlpModel({ seed: 1 }));
    expect(buildMlpModel({ seed: 1 })).not.toEqual(buildMlpModel({ seed: 2 }));
    const ones = new Float32Array(20).fill(1);
    expect(mlpReference({ seed: 1 })(ones, 1)).not.toEqual(mlpReference({ seed: 2 })(ones, 1));
  });

  it("rejects bad widths and inputs of the wrong size", () => {
    expect(() => buildMlpModel({ hidden: [0] })).toThrow(/positive integers/);
    expect(() => mlpReference()(new Float32Array(19), 1)).toThrow(/1 rows of 20 values/);
  });
});

describe("buildIdentityModel", () => {
  it("returns each input unchanged, per datatype", async () => {
    const session = await InferenceSession.create(buildIdentityModel());
    expect(session.inputNames).toEqual(["f32", "f64", "i64", "b"]);
    expect(session.outputNames).toEqual(["f32_out", "f64_out", "i64_out", "b_out"]);
    const feeds = {
      f32: new Tensor("float32", Float32Array.from([1.5, -2, 0, 3.25]), [2, 2]),
      f64: new Tensor("float64", Float64Array.from([1e-300, -2, Math.PI, 4]), [2, 2]),
      i64: new Tensor("int64", BigInt64Array.from([1n, -2n, 2n ** 62n, 0n]), [2, 2]),
      b: new Tensor("bool", Uint8Array.from([1, 0, 0, 1]), [2, 2]),
    };
    const out = await session.run(feeds);
    for (const [name, tensor] of Object.entries(feeds)) {
      const result = out[`${name}_out`];
      expect(result?.type).toBe(tensor.type);
      expect(result?.dims).toEqual([2, 2]);
      expect(result?.data).toEqual(tensor.data);
    }
    expect(out.b_out?.data).toBeInstanceOf(Uint8Array);
    await session.release();
  });
});

// The failing Gather runs are expected; keep ORT from logging them as errors.
const quiet = { logSeverityLevel: 4 } as const;

describe("buildGatherModel", () => {
  it("looks values up in the table, and fails at run time for an index out of range", async () => {
    const session = await InferenceSession.create(buildGatherModel(), quiet);
    expect(session.inputNames).toEqual(["index"]);
    expect(session.outputNames).toEqual(["value"]);
    const run = (indexes: bigint[]) =>
      session.run({ index: new Tensor("int64", BigInt64Array.from(indexes), [indexes.length, 1]) });
    const { value } = await run([3n, 0n, 9n]);
    expect(value?.dims).toEqual([3, 1]);
    expect(floats(value)).toEqual([30, 0, 90]);
    await expect(run([99n])).rejects.toThrow(/out of|bounds|range/i);
    await expect(run([3n, 99n])).rejects.toThrow();
    // The session is still usable after a failed run.
    expect(floats((await run([3n])).value)).toEqual([30]);
    await session.release();
  });

  it("sizes the table", async () => {
    const session = await InferenceSession.create(buildGatherModel(3), quiet);
    const run = (i: bigint) => session.run({ index: new Tensor("int64", BigInt64Array.from([i]), [1, 1]) });
    expect(floats((await run(2n)).value)).toEqual([20]);
    await expect(run(3n)).rejects.toThrow();
    await session.release();
    expect(() => buildGatherModel(0)).toThrow(/positive integer/);
  });
});

describe("buildStringFeatureModel", () => {
  it("scores amount * 2 + (country == NL), NaN amounts giving NaN", async () => {
    const session = await InferenceSession.create(buildStringFeatureModel());
    expect(session.inputNames).toEqual(["amount", "country"]);
    expect(session.outputNames).toEqual(["score"]);
    const countries = ["NL", "DE", "", "nl", "NL"];
    const { score } = await session.run({
      amount: new Tensor("float32", Float32Array.from([1, 1, 2.5, 0, Number.NaN]), [5, 1]),
      country: new Tensor("string", countries, [5, 1]),
    });
    expect(score?.dims).toEqual([5, 1]);
    expect(floats(score)).toEqual([3, 2, 5, 0, Number.NaN]);
    await session.release();
  });
});
