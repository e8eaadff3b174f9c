import { InferenceSession, Tensor } from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { OnnxLoadError, readOnnxSignature } from "./onnx-signature.js";
import { buildLinearModel, garbageArtifact } from "./testing/onnx-models.js";

describe("buildLinearModel", () => {
  it("builds a model ONNX Runtime runs: y = xW + b", async () => {
    const session = await InferenceSession.create(buildLinearModel({ weights: [1, 2, 3, 4], bias: 0.5 }));
    try {
      const x = new Tensor("float32", Float32Array.from([1, 1, 1, 1, 0, 1, 0, 2]), [2, 4]);
      const { y } = await session.run({ x });
      expect(y?.dims).toEqual([2, 1]);
      expect(Array.from(y?.data as Float32Array)).toEqual([10.5, 10.5]);
    } finally {
      await session.release();
    }
  });
});

describe("readOnnxSignature", () => {
  it("reads names, element types and shapes with -1 for the symbolic batch dimension", async () => {
    const signature = await readOnnxSignature(buildLinearModel());
    expect(signature.inputs.map((t) => ({ name: t.name, type: t.elementType, shape: t.shape }))).toEqual([
      { name: "x", type: "float32", shape: [-1n, 4n] },
    ]);
    expect(signature.outputs.map((t) => ({ name: t.name, type: t.elementType, shape: t.shape }))).toEqual([
      { name: "y", type: "float32", shape: [-1n, 1n] },
    ]);
  });

  it("refuses bytes that are not a model with ONNX Runtime's reason", async () => {
    const error = await readOnnxSignature(garbageArtifact()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OnnxLoadError);
    expect((error as Error).message).toMatch(/protobuf parsing failed|load model/i);
  });
});
