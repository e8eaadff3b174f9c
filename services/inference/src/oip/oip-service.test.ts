import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { credentials, Client as GrpcClient, type ServiceError, status } from "@grpc/grpc-js";
import { failure } from "@seam/kit/testing";
import {
  GRPCInferenceService,
  type InferTensorContents,
  type ModelInferRequest,
  ModelInferRequestSchema,
  type ModelInferResponse,
  ModelInferResponseSchema,
  type ServerLiveRequest,
  ServerLiveRequestSchema,
  type ServerLiveResponse,
  ServerLiveResponseSchema,
} from "@seam/proto/inference/grpc_predict_v2_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestInference, type TestInference } from "../testing/harness.js";
import { buildIdentityModel, buildMlpModel } from "../testing/models.js";

type InferRequest = MessageInitShape<typeof ModelInferRequestSchema>;
type InputInit = NonNullable<InferRequest["inputs"]>[number];

const ROWS = 3;

/** Values of the identity model's inputs, [ROWS, 2] each, chosen so that any lossy conversion shows. */
const F32 = [0.1, -2.5, 3.4028234663852886e38, 1.401298464324817e-45, -0, 7.25].map(Math.fround);
const F64 = [0.1, -1e-300, 1.7976931348623157e308, Math.PI, -123456789.125, 2 ** -1074];
const I64 = [2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n, -1n, 0n, 1234567890123456789n];
const B = [true, false, false, true, true, false];

const SHAPE = [BigInt(ROWS), 2n];

/** The identity model's four inputs in typed contents. */
function typedInputs(): InputInit[] {
  return [
    { name: "f32", datatype: "FP32", shape: SHAPE, contents: { fp32Contents: F32 } },
    { name: "f64", datatype: "FP64", shape: SHAPE, contents: { fp64Contents: F64 } },
    { name: "i64", datatype: "INT64", shape: SHAPE, contents: { int64Contents: I64 } },
    { name: "b", datatype: "BOOL", shape: SHAPE, contents: { boolContents: B } },
  ];
}

/** Little-endian bytes, written explicitly so the test does not depend on the host's byte order. */
function le(
  width: number,
  values: readonly (number | bigint | boolean)[],
  put: (v: DataView, at: number, x: never) => void,
) {
  const bytes = new Uint8Array(values.length * width);
  const view = new DataView(bytes.buffer);
  for (const [i, x] of values.entries()) put(view, i * width, x as never);
  return bytes;
}

const RAW = {
  f32: le(4, F32, (v, at, x: number) => v.setFloat32(at, x, true)),
  f64: le(8, F64, (v, at, x: number) => v.setFloat64(at, x, true)),
  i64: le(8, I64, (v, at, x: bigint) => v.setBigInt64(at, x, true)),
  b: le(1, B, (v, at, x: boolean) => v.setUint8(at, x ? 1 : 0)),
};

/** The identity model's four inputs as headers only, their elements in raw_input_contents. */
function rawRequest(init: InferRequest = {}): InferRequest {
  return {
    inputs: [
      { name: "f32", datatype: "FP32", shape: SHAPE },
      { name: "f64", datatype: "FP64", shape: SHAPE },
      { name: "i64", datatype: "INT64", shape: SHAPE },
      { name: "b", datatype: "BOOL", shape: SHAPE },
    ],
    rawInputContents: [RAW.f32, RAW.f64, RAW.i64, RAW.b],
    ...init,
  };
}

function viewOf(bytes: Uint8Array | undefined): DataView {
  // Copied: the decoded bytes may be a view into a larger message buffer.
  const copy = Uint8Array.from(bytes ?? []);
  return new DataView(copy.buffer);
}

function decodeRaw(datatype: string, bytes: Uint8Array | undefined): (number | bigint | boolean)[] {
  const view = viewOf(bytes);
  const width = { FP32: 4, FP64: 8, INT64: 8, BOOL: 1 }[datatype];
  if (width === undefined) throw new Error(`no decoder for ${datatype}`);
  expect(view.byteLength % width, `${datatype} raw length ${view.byteLength}`).toBe(0);
  return Array.from({ length: view.byteLength / width }, (_, i) => {
    switch (datatype) {
      case "FP32":
        return view.getFloat32(i * 4, true);
      case "FP64":
        return view.getFloat64(i * 8, true);
      case "INT64":
        return view.getBigInt64(i * 8, true);
      default:
        return view.getUint8(i) !== 0;
    }
  });
}

function contentCount(c: InferTensorContents | undefined): number {
  if (c === undefined) return 0;
  return (
    c.boolContents.length +
    c.intContents.length +
    c.int64Contents.length +
    c.uintContents.length +
    c.uint64Contents.length +
    c.fp32Contents.length +
    c.fp64Contents.length +
    c.bytesContents.length
  );
}

/** Expected output of the identity model: datatype and values per output name. */
const EXPECTED: Record<string, { datatype: string; values: (number | bigint | boolean)[] }> = {
  f32_out: { datatype: "FP32", values: F32 },
  f64_out: { datatype: "FP64", values: F64 },
  i64_out: { datatype: "INT64", values: I64 },
  b_out: { datatype: "BOOL", values: B },
};

function typedValues(name: string, c: InferTensorContents | undefined): (number | bigint | boolean)[] {
  switch (name) {
    case "f32_out":
      return c?.fp32Contents ?? [];
    case "f64_out":
      return c?.fp64Contents ?? [];
    case "i64_out":
      return c?.int64Contents ?? [];
    case "b_out":
      return c?.boolContents ?? [];
    default:
      throw new Error(`unexpected output ${name}`);
  }
}

describe("Open Inference Protocol (inference.GRPCInferenceService)", () => {
  let t: TestInference;
  beforeAll(async () => {
    t = await startTestInference();
    await t.uploadModel("identity", buildIdentityModel());
    await t.uploadModel("cold", buildIdentityModel());
    // Two versions each; "ranked" gets aliases before its first use, "plain" none.
    await t.uploadModel("ranked", buildIdentityModel());
    await t.uploadModel("ranked", buildIdentityModel());
    await t.registry.setAlias({ modelName: "ranked", alias: "champion", version: 1n });
    await t.registry.setAlias({ modelName: "ranked", alias: "challenger", version: 2n });
    await t.uploadModel("plain", buildIdentityModel());
    await t.uploadModel("plain", buildIdentityModel());
  });
  afterAll(async () => t?.close());

  describe("health and metadata", () => {
    it("is live and ready, and names itself", async () => {
      expect(await t.oip.serverLive({})).toMatchObject({ live: true });
      expect(await t.oip.serverReady({})).toMatchObject({ ready: true });
      const meta = await t.oip.serverMetadata({});
      expect(meta.name).toBe("seam-inference");
      expect(meta.version).toMatch(/^\d+\.\d+\.\d+/);
    });

    it("reports a model ready only once it is loaded", async () => {
      expect((await t.oip.modelReady({ name: "cold" })).ready).toBe(false);
      expect((await t.oip.modelReady({ name: "cold", version: "1" })).ready).toBe(false);
      await t.oip.modelInfer({ modelName: "cold", ...rawRequest() });
      expect((await t.oip.modelReady({ name: "cold" })).ready).toBe(true);
      expect((await t.oip.modelReady({ name: "cold", version: "1" })).ready).toBe(true);
    });

    it("answers ModelReady for an unknown model or version with NOT_FOUND", async () => {
      expect((await failure(t.oip.modelReady({ name: "no-such-model" }))).code).toBe(Code.NotFound);
      const version = await failure(t.oip.modelReady({ name: "cold", version: "9" }));
      expect(version).toMatchObject({ code: Code.NotFound });
      expect(version.rawMessage).toBe('model "cold" has no version 9');
    });

    it("knows a version uploaded a moment ago, even before its registry event arrives", async () => {
      const latest = Number((await t.registry.getModel({ name: "cold" })).model?.latestVersion ?? 0);
      const added = await t.uploadModel("cold", buildIdentityModel());
      expect(added).toBe(latest + 1);
      expect((await t.oip.modelReady({ name: "cold", version: String(added) })).ready).toBe(false);
    });

    it("describes a model's platform, inputs and outputs in OIP datatypes", async () => {
      const meta = await t.oip.modelMetadata({ name: "identity" });
      expect(meta.name).toBe("identity");
      expect(meta.platform).toBe("onnx_onnxv1");
      expect(meta.versions).toContain("1");
      const describe = (list: typeof meta.inputs) =>
        list.map((m) => ({ name: m.name, datatype: m.datatype, shape: m.shape }));
      expect(describe(meta.inputs)).toEqual([
        { name: "f32", datatype: "FP32", shape: [-1n, 2n] },
        { name: "f64", datatype: "FP64", shape: [-1n, 2n] },
        { name: "i64", datatype: "INT64", shape: [-1n, 2n] },
        { name: "b", datatype: "BOOL", shape: [-1n, 2n] },
      ]);
      expect(describe(meta.outputs)).toEqual([
        { name: "f32_out", datatype: "FP32", shape: [-1n, 2n] },
        { name: "f64_out", datatype: "FP64", shape: [-1n, 2n] },
        { name: "i64_out", datatype: "INT64", shape: [-1n, 2n] },
        { name: "b_out", datatype: "BOOL", shape: [-1n, 2n] },
      ]);
    });

    it("answers ModelMetadata for an unknown model with NOT_FOUND", async () => {
      expect((await failure(t.oip.modelMetadata({ name: "no-such-model" }))).code).toBe(Code.NotFound);
    });
  });

  describe("ModelInfer", () => {
    it("round-trips FP32, FP64, INT64 and BOOL in typed contents", async () => {
      const response = await t.oip.modelInfer({
        modelName: "identity",
        id: "typed-1",
        inputs: typedInputs(),
      });
      expect(response.modelName).toBe("identity");
      expect(response.modelVersion).toBe("1");
      expect(response.id).toBe("typed-1");
      expect(response.rawOutputContents).toEqual([]);
      expect(response.outputs.map((o) => o.name).sort()).toEqual(Object.keys(EXPECTED).sort());
      for (const output of response.outputs) {
        const expected = EXPECTED[output.name];
        expect(output.datatype, output.name).toBe(expected?.datatype);
        expect(output.shape, output.name).toEqual(SHAPE);
        expect(typedValues(output.name, output.contents), output.name).toEqual(expected?.values);
        // Only the datatype's own field is filled.
        expect(contentCount(output.contents), output.name).toBe(expected?.values.length);
      }
    });

    it("keeps -0, the largest and smallest floats and int64 beyond 2^53 exact", async () => {
      const response = await t.oip.modelInfer({ modelName: "identity", inputs: typedInputs() });
      const byName = new Map(response.outputs.map((o) => [o.name, o]));
      expect(Object.is(byName.get("f32_out")?.contents?.fp32Contents[4], -0)).toBe(true);
      expect(byName.get("f64_out")?.contents?.fp64Contents[5]).toBe(2 ** -1074);
      expect(byName.get("i64_out")?.contents?.int64Contents[2]).toBe(2n ** 53n + 1n);
    });

    it("answers raw_input_contents with raw_output_contents, little-endian, and empty contents", async () => {
      const response = await t.oip.modelInfer({ modelName: "identity", id: "raw-1", ...rawRequest() });
      expect(response.modelVersion).toBe("1");
      expect(response.id).toBe("raw-1");
      expect(response.rawOutputContents).toHaveLength(response.outputs.length);
      expect(response.outputs.map((o) => o.name).sort()).toEqual(Object.keys(EXPECTED).sort());
      response.outputs.forEach((output, i) => {
        const expected = EXPECTED[output.name];
        expect(output.datatype, output.name).toBe(expected?.datatype);
        expect(output.shape, output.name).toEqual(SHAPE);
        expect(contentCount(output.contents), output.name).toBe(0);
        expect(decodeRaw(output.datatype, response.rawOutputContents[i]), output.name).toEqual(
          expected?.values,
        );
      });
      // Byte for byte what was sent: the identity model must not change a bit.
      const sent: Record<string, Uint8Array> = {
        f32_out: RAW.f32,
        f64_out: RAW.f64,
        i64_out: RAW.i64,
        b_out: RAW.b,
      };
      response.outputs.forEach((output, i) => {
        expect(Uint8Array.from(response.rawOutputContents[i] ?? []), output.name).toEqual(sent[output.name]);
      });
    });

    it("returns only the outputs asked for", async () => {
      const typed = await t.oip.modelInfer({
        modelName: "identity",
        inputs: typedInputs(),
        outputs: [{ name: "f64_out" }],
      });
      expect(typed.outputs.map((o) => o.name)).toEqual(["f64_out"]);
      expect(typed.outputs[0]?.contents?.fp64Contents).toEqual(F64);

      const raw = await t.oip.modelInfer({
        modelName: "identity",
        ...rawRequest({ outputs: [{ name: "i64_out" }] }),
      });
      expect(raw.outputs.map((o) => o.name)).toEqual(["i64_out"]);
      expect(raw.rawOutputContents).toHaveLength(1);
      expect(decodeRaw("INT64", raw.rawOutputContents[0])).toEqual(I64);
    });

    it("routes an empty model_version to champion, else the latest version", async () => {
      const inputs = typedInputs();
      expect((await t.oip.modelInfer({ modelName: "ranked", inputs })).modelVersion).toBe("1");
      expect((await t.oip.modelInfer({ modelName: "ranked", modelVersion: "2", inputs })).modelVersion).toBe(
        "2",
      );
      expect((await t.oip.modelInfer({ modelName: "ranked", modelVersion: "1", inputs })).modelVersion).toBe(
        "1",
      );
      expect(
        (await t.oip.modelInfer({ modelName: "ranked", modelVersion: "challenger", inputs })).modelVersion,
      ).toBe("2");
      expect(
        (await t.oip.modelInfer({ modelName: "ranked", modelVersion: "champion", inputs })).modelVersion,
      ).toBe("1");
      // Without a champion, the latest of two versions.
      expect((await t.oip.modelInfer({ modelName: "plain", inputs })).modelVersion).toBe("2");
    });

    it("refuses unknown models, versions and aliases with NOT_FOUND", async () => {
      const inputs = typedInputs();
      for (const request of [
        { modelName: "no-such-model", inputs },
        { modelName: "ranked", modelVersion: "9", inputs },
        { modelName: "ranked", modelVersion: "staging", inputs },
      ]) {
        const refused = await failure(t.oip.modelInfer(request));
        expect(
          refused.code,
          `${request.modelName} ${request.modelVersion ?? ""}: ${refused.rawMessage}`,
        ).toBe(Code.NotFound);
      }
    });

    it("refuses a datatype that is not the model's, naming the tensor", async () => {
      const inputs = typedInputs();
      inputs[0] = { name: "f32", datatype: "FP64", shape: SHAPE, contents: { fp64Contents: F64 } };
      const refused = await failure(t.oip.modelInfer({ modelName: "identity", inputs }));
      expect(refused.code, refused.rawMessage).toBe(Code.InvalidArgument);
      expect(refused.rawMessage).toMatch(/"f32"/);
    });

    it("refuses values in the contents field of another datatype", async () => {
      const inputs = typedInputs();
      inputs[0] = { name: "f32", datatype: "FP32", shape: SHAPE, contents: { fp64Contents: F64 } };
      const refused = await failure(t.oip.modelInfer({ modelName: "identity", inputs }));
      expect(refused.code, refused.rawMessage).toBe(Code.InvalidArgument);
      expect(refused.rawMessage).toMatch(/"f32"/);
      expect(refused.rawMessage).toMatch(/fp64_contents/);
    });

    it("refuses contents whose count does not match the shape", async () => {
      const inputs = typedInputs();
      inputs[2] = {
        name: "i64",
        datatype: "INT64",
        shape: SHAPE,
        contents: { int64Contents: I64.slice(0, 5) },
      };
      const refused = await failure(t.oip.modelInfer({ modelName: "identity", inputs }));
      expect(refused.code, refused.rawMessage).toBe(Code.InvalidArgument);
      expect(refused.rawMessage).toMatch(/input "i64": 5 int64_contents for shape \[3, ?2\] \(6 elements\)/);
    });

    it("refuses raw_input_contents with one entry too few, or of the wrong length", async () => {
      const missing = await failure(
        t.oip.modelInfer({
          modelName: "identity",
          ...rawRequest({ rawInputContents: [RAW.f32, RAW.f64, RAW.i64] }),
        }),
      );
      expect(missing.code, missing.rawMessage).toBe(Code.InvalidArgument);
      expect(missing.rawMessage).toMatch(/raw_input_contents has 3 entries for 4 inputs/);

      const short = await failure(
        t.oip.modelInfer({
          modelName: "identity",
          ...rawRequest({ rawInputContents: [RAW.f32, RAW.f64.subarray(8), RAW.i64, RAW.b] }),
        }),
      );
      expect(short.code, short.rawMessage).toBe(Code.InvalidArgument);
      expect(short.rawMessage).toMatch(/"f64"/);
    });

    it("refuses mixing typed contents and raw_input_contents", async () => {
      const inputs: InputInit[] = [
        { name: "f32", datatype: "FP32", shape: SHAPE },
        { name: "f64", datatype: "FP64", shape: SHAPE },
        { name: "i64", datatype: "INT64", shape: SHAPE },
        { name: "b", datatype: "BOOL", shape: SHAPE, contents: { boolContents: B } },
      ];
      const refused = await failure(t.oip.modelInfer({ modelName: "identity", ...rawRequest({ inputs }) }));
      expect(refused.code, refused.rawMessage).toBe(Code.InvalidArgument);
      expect(refused.rawMessage).toMatch(/input "b": has bool_contents/);
    });

    it("refuses FP16 and made-up datatypes with INVALID_ARGUMENT", async () => {
      const inputs = typedInputs();
      inputs[0] = { name: "f32", datatype: "FP16", shape: SHAPE, contents: { fp32Contents: F32 } };
      const fp16 = await failure(t.oip.modelInfer({ modelName: "identity", inputs }));
      expect(fp16.code, fp16.rawMessage).toBe(Code.InvalidArgument);
      expect(fp16.rawMessage).toMatch(/input "f32": datatype "FP16" is not supported/);

      inputs[0] = { name: "f32", datatype: "FLOAT", shape: SHAPE, contents: { fp32Contents: F32 } };
      const made = await failure(t.oip.modelInfer({ modelName: "identity", inputs }));
      expect(made.code, made.rawMessage).toBe(Code.InvalidArgument);
      expect(made.rawMessage).toMatch(/"FLOAT" is not an Open Inference Protocol datatype/);
    });

    it("refuses an unknown requested output and a missing input", async () => {
      const output = await failure(
        t.oip.modelInfer({ modelName: "identity", inputs: typedInputs(), outputs: [{ name: "logits" }] }),
      );
      expect(output.code, output.message).toBe(Code.InvalidArgument);
      expect(output.message).toMatch(/"logits" is not an output/);

      const missing = await failure(
        t.oip.modelInfer({ modelName: "identity", inputs: typedInputs().slice(1) }),
      );
      expect(missing.code, missing.rawMessage).toBe(Code.InvalidArgument);
      expect(missing.rawMessage).toMatch(/input "f32" is missing/);
    });

    it("refuses an empty model_name with INVALID_ARGUMENT", async () => {
      const refused = await failure(t.oip.modelInfer({ modelName: "", inputs: typedInputs() }));
      expect(refused.code, refused.rawMessage).toBe(Code.InvalidArgument);
    });

    it("serves a float model the same way (MLP, FP32 only)", async () => {
      await t.uploadModel("mlp", buildMlpModel({ inputs: 4, hidden: [8], seed: 3 }));
      const meta = await t.oip.modelMetadata({ name: "mlp" });
      expect(meta.inputs.map((i) => [i.name, i.datatype, i.shape])).toEqual([["x", "FP32", [-1n, 4n]]]);
      const response = await t.oip.modelInfer({
        modelName: "mlp",
        inputs: [
          {
            name: "x",
            datatype: "FP32",
            shape: [2n, 4n],
            contents: { fp32Contents: [1, 2, 3, 4, 5, 6, 7, 8] },
          },
        ],
      });
      expect(response.outputs[0]?.name).toBe("y");
      expect(response.outputs[0]?.shape).toEqual([2n, 1n]);
      expect(response.outputs[0]?.contents?.fp32Contents).toHaveLength(2);
    });
  });

  describe("on the wire, as KServe and Triton clients call it", () => {
    let client: GrpcClient;
    beforeAll(() => {
      client = new GrpcClient(t.address, credentials.createInsecure());
    });
    afterAll(() => client?.close());

    function unary<I, O>(
      path: string,
      serialize: (message: I) => Buffer,
      deserialize: (bytes: Buffer) => O,
      request: I,
    ): Promise<O> {
      return new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          path,
          serialize,
          deserialize,
          request,
          (error: ServiceError | null, response?: O) => {
            if (error !== null) reject(error);
            else if (response === undefined) reject(new Error("no response"));
            else resolve(response);
          },
        );
      });
    }

    const inferRequest = (init: InferRequest) => create(ModelInferRequestSchema, init);
    const serializeInfer = (m: ModelInferRequest) => Buffer.from(toBinary(ModelInferRequestSchema, m));
    const deserializeInfer = (b: Buffer): ModelInferResponse => fromBinary(ModelInferResponseSchema, b);

    it("is the protocol's package and service name", () => {
      expect(GRPCInferenceService.typeName).toBe("inference.GRPCInferenceService");
    });

    it("answers /inference.GRPCInferenceService/ModelInfer from a plain grpc-js client", async () => {
      const response = await unary(
        "/inference.GRPCInferenceService/ModelInfer",
        serializeInfer,
        deserializeInfer,
        inferRequest({ modelName: "identity", id: "wire-1", ...rawRequest() }),
      );
      expect(response.id).toBe("wire-1");
      expect(response.modelName).toBe("identity");
      expect(response.modelVersion).toBe("1");
      const f32 = response.outputs.findIndex((o) => o.name === "f32_out");
      expect(f32).toBeGreaterThanOrEqual(0);
      expect(decodeRaw("FP32", response.rawOutputContents[f32])).toEqual(F32);
    });

    it("answers /inference.GRPCInferenceService/ServerLive", async () => {
      const response = await unary(
        "/inference.GRPCInferenceService/ServerLive",
        (m: ServerLiveRequest) => Buffer.from(toBinary(ServerLiveRequestSchema, m)),
        (b: Buffer): ServerLiveResponse => fromBinary(ServerLiveResponseSchema, b),
        create(ServerLiveRequestSchema),
      );
      expect(response.live).toBe(true);
    });

    it("carries gRPC status codes to a plain client", async () => {
      const error = await unary(
        "/inference.GRPCInferenceService/ModelInfer",
        serializeInfer,
        deserializeInfer,
        inferRequest({ modelName: "no-such-model", inputs: typedInputs() }),
      ).then(
        () => undefined,
        (e: ServiceError) => e,
      );
      expect(error?.code).toBe(status.NOT_FOUND);
    });

    it("does not answer under another service path", async () => {
      const error = await unary(
        "/seam.inference.GRPCInferenceService/ModelInfer",
        serializeInfer,
        deserializeInfer,
        inferRequest({ modelName: "identity", ...rawRequest() }),
      ).then(
        () => undefined,
        (e: ServiceError) => e,
      );
      expect(error?.code).toBe(status.UNIMPLEMENTED);
    });
  });
});
