/**
 * The floors under the inference benchmark (inference-latency.ts starts this as a child
 * process, so the servers do not share the load generator's event loop):
 *
 * - "echo <port>": a bare grpc-js server with one unary method, /bench.Echo/Echo, whose
 *   messages are bytes passed through untouched (no protobuf). It answers every request with
 *   a constant buffer of the size the request's first 4 bytes ask for (uint32 LE), so the
 *   client sends bytes of a Predict or ModelInfer request's size and gets back bytes of the
 *   matching response's size: what grpc-js itself costs for messages of that size.
 * - "kit <port>": Predict and ModelInfer hosted by the kit (createGrpcServer, the Connect
 *   handler adapter, protobuf decoding, the service's response encoders) answering a constant response shaped
 *   like the inference service's answer to a one-row request (raw or typed, as asked),
 *   with no model behind it: what every Seam handler pays before the model is reached.
 */
import { create } from "@bufbuild/protobuf";
import {
  type handleUnaryCall,
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { encodeModelInferResponse, encodePredictResponse } from "@seam/inference";
import { createGrpcServer, type MessageEncoder } from "@seam/kit/hosting";
import { createLogger } from "@seam/kit/logging";
import { GRPCInferenceService, ModelInferResponseSchema } from "@seam/proto/inference/grpc_predict_v2_pb";
import {
  DataType,
  InferenceService,
  PredictResponseSchema,
} from "@seam/proto/seam/inference/v1/inference_pb";

/** The echo method's path (inference-latency.ts calls it with the same identity codecs). */
const ECHO_PATH = "/bench.Echo/Echo";

const identity = (bytes: Buffer): Buffer => bytes;
const definition: ServiceDefinition<UntypedServiceImplementation> = {
  echo: {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
    originalName: "Echo",
  },
};
const responses = new Map<number, Buffer>();
const echo: handleUnaryCall<Buffer, Buffer> = (call, callback) => {
  const size = call.request.readUInt32LE(0);
  let response = responses.get(size);
  if (response === undefined) {
    response = Buffer.alloc(size, 7);
    responses.set(size, response);
  }
  callback(null, response);
};

const echoServer = new Server();
echoServer.addService(definition, { echo });
const echoPort = await new Promise<number>((resolve, reject) =>
  echoServer.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, port) =>
    err === null ? resolve(port) : reject(err),
  ),
);
console.log(`echo ${echoPort}`);

// What the inference service answers to one row of the 20→64→64→1 MLP.
const four = new Uint8Array([0, 0, 0, 63]);
const predictBase = {
  modelName: "bench-mlp",
  modelVersion: 1n,
  route: "champion",
  batchSize: 1,
  queueMicros: 12n,
  computeMicros: 25n,
};
const tensor = { name: "y", dataType: DataType.FLOAT32, shape: [1n, 1n] };
const predictTyped = create(PredictResponseSchema, {
  ...predictBase,
  outputs: [{ ...tensor, floatValues: [0.5] }],
});
const predictRaw = create(PredictResponseSchema, { ...predictBase, outputs: [{ ...tensor, raw: four }] });
const inferBase = { modelName: "bench-mlp", modelVersion: "1" };
const output = { name: "y", datatype: "FP32", shape: [1n, 1n] };
const inferTyped = create(ModelInferResponseSchema, {
  ...inferBase,
  outputs: [{ ...output, contents: { fp32Contents: [0.5] } }],
});
const inferRaw = create(ModelInferResponseSchema, {
  ...inferBase,
  outputs: [output],
  rawOutputContents: [four],
});

const kit = createGrpcServer({ logger: createLogger({ service: "bench-inference-floor", level: "warn" }) });
// With the service's own response encoders, so the floor serializes as the service does.
kit.register(
  InferenceService,
  { predict: async (req) => (req.inputs.some((t) => t.raw.length > 0) ? predictRaw : predictTyped) },
  { responseEncoders: { predict: encodePredictResponse as MessageEncoder } },
);
kit.register(
  GRPCInferenceService,
  { modelInfer: async (req) => (req.rawInputContents.length > 0 ? inferRaw : inferTyped) },
  { responseEncoders: { modelInfer: encodeModelInferResponse as MessageEncoder } },
);
console.log(`kit ${await kit.listen("127.0.0.1", 0)}`);
