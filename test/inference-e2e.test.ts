import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { buildMlpModel, mlpReference } from "@seam/inference/testing";
import { GRPCInferenceService } from "@seam/proto/inference/grpc_predict_v2_pb";
import { ArtifactFormat, ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Layout, type Suite, startSuite } from "./support/suite.js";

// Inference as outside clients meet it: the suite (`seam up`, or every service its own
// process with two inference replicas), a model uploaded to the registry through
// the gateway, then predictions through the gateway — Connect JSON with plain fetch (as a
// browser would send them), and the Open Inference Protocol over Connect JSON and over gRPC.

const SEED = 7;
const x = Float32Array.from({ length: 20 }, (_, i) => (i - 10) / 7);
const expected = mlpReference({ seed: SEED })(x, 1)[0] as number;

describe.each<Layout>(["embedded", "redis", "distributed"])(
  "inference (%s), through the gateway",
  (layout) => {
    let suite: Suite;
    let gatewayUrl: string;

    beforeAll(async () => {
      suite = await startSuite(layout);
      gatewayUrl = suite.gatewayUrl;
      const registry = createClient(ModelRegistryService, createGrpcTransport({ baseUrl: gatewayUrl }));
      async function* upload() {
        yield {
          payload: {
            case: "metadata" as const,
            value: { modelName: "mlp", createModel: true, format: ArtifactFormat.ONNX, alias: "champion" },
          },
        };
        yield { payload: { case: "chunk" as const, value: buildMlpModel({ seed: SEED }) } };
      }
      await registry.uploadModelVersion(upload());
    });

    afterAll(async () => {
      const codes = await suite?.stop();
      for (const [role, code] of codes ?? []) expect(code, role).toBe(0);
    });

    // biome-ignore lint/suspicious/noExplicitAny: Connect JSON bodies are asserted field by field
    async function connectJson(path: string, body: unknown): Promise<{ status: number; json: any }> {
      const res = await fetch(`${gatewayUrl}/${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: await res.json() };
    }

    it("predicts from a row of named values sent as Connect JSON", async () => {
      const { status, json } = await connectJson("seam.inference.v1.InferenceService/Predict", {
        model: "mlp",
        requestId: "web-1",
        rows: [{ x: [...x] }],
      });
      expect(status).toBe(200);
      expect(json).toMatchObject({
        modelName: "mlp",
        modelVersion: "1",
        route: "champion",
        requestId: "web-1",
      });
      expect(json.outputs[0]).toMatchObject({ name: "y", dataType: "DATA_TYPE_FLOAT32", shape: ["1", "1"] });
      expect(json.outputs[0].floatValues[0]).toBeCloseTo(expected, 4);
    });

    it("predicts from a typed tensor and reports bad input with a Connect error code", async () => {
      const tensor = { name: "x", dataType: "DATA_TYPE_FLOAT32", shape: ["1", "20"], floatValues: [...x] };
      const ok = await connectJson("seam.inference.v1.InferenceService/Predict", {
        model: "mlp@champion",
        inputs: [tensor],
      });
      expect(ok.status).toBe(200);
      expect(ok.json.outputs[0].floatValues[0]).toBeCloseTo(expected, 4);
      const unknown = await connectJson("seam.inference.v1.InferenceService/Predict", {
        model: "nope",
        inputs: [tensor],
      });
      expect(unknown.status).toBe(404);
      expect(unknown.json.code).toBe("not_found");
      const wrong = await connectJson("seam.inference.v1.InferenceService/Predict", {
        model: "mlp",
        inputs: [{ ...tensor, shape: ["2", "10"] }],
      });
      expect(wrong.status).toBe(400);
      expect(wrong.json).toEqual({
        code: "invalid_argument",
        message: 'input "x" has shape [2, 10]; the model expects [N, 20] (dimension 1 must be 20)',
      });
    });

    it("speaks the Open Inference Protocol through the gateway, as Connect JSON and as gRPC", async () => {
      const { status, json } = await connectJson("inference.GRPCInferenceService/ModelInfer", {
        modelName: "mlp",
        id: "oip-1",
        inputs: [{ name: "x", datatype: "FP32", shape: ["1", "20"], contents: { fp32Contents: [...x] } }],
      });
      expect(status).toBe(200);
      expect(json).toMatchObject({ modelName: "mlp", modelVersion: "1", id: "oip-1" });
      expect(json.outputs[0]).toMatchObject({ name: "y", datatype: "FP32", shape: ["1", "1"] });
      expect(json.outputs[0].contents.fp32Contents[0]).toBeCloseTo(expected, 4);

      const oip = createClient(GRPCInferenceService, createGrpcTransport({ baseUrl: gatewayUrl }));
      expect((await oip.serverReady({})).ready).toBe(true);
      const raw = await oip.modelInfer({
        modelName: "mlp",
        modelVersion: "1",
        inputs: [{ name: "x", datatype: "FP32", shape: [1n, 20n] }],
        rawInputContents: [new Uint8Array(x.buffer.slice(0))],
      });
      expect(raw.outputs[0]?.contents).toBeUndefined();
      const y = new DataView(Uint8Array.from(raw.rawOutputContents[0] ?? []).buffer).getFloat32(0, true);
      expect(y).toBeCloseTo(expected, 4);
    });
  },
);
