import { create } from "@bufbuild/protobuf";
import {
  type Signature,
  SignatureSchema,
  type TensorSpec,
  TensorSpecSchema,
} from "@seam/proto/seam/registry/v1/registry_pb";
import { InferenceSession } from "onnxruntime-node";

/** Thrown by {@link readOnnxSignature} when ONNX Runtime cannot load the bytes; the message is ORT's reason. */
export class OnnxLoadError extends Error {
  override readonly name = "OnnxLoadError";
}

/**
 * Loads an ONNX model with ONNX Runtime (CPU) to prove it can be served and reads its
 * signature from the graph: names and element types of inputs and outputs, with -1 for
 * every dynamic (symbolic or unknown) dimension. The session is released before returning.
 * Throws {@link OnnxLoadError} carrying ORT's reason when the bytes are not a loadable model.
 */
export async function readOnnxSignature(model: Uint8Array): Promise<Signature> {
  let session: InferenceSession;
  try {
    // Plain CPU, no graph optimisation and no thread pools (the session never runs):
    // only the load and the signature matter here.
    session = await InferenceSession.create(model, {
      executionProviders: ["cpu"],
      graphOptimizationLevel: "disabled",
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      logSeverityLevel: 3,
    });
  } catch (err) {
    throw new OnnxLoadError(err instanceof Error ? err.message : String(err));
  }
  try {
    return create(SignatureSchema, {
      inputs: session.inputMetadata.map(toTensorSpec),
      outputs: session.outputMetadata.map(toTensorSpec),
    });
  } finally {
    await session.release();
  }
}

function toTensorSpec(meta: InferenceSession.ValueMetadata): TensorSpec {
  if (!meta.isTensor) {
    // Sequences and maps (classical ML operators) have no tensor shape to report.
    return create(TensorSpecSchema, { name: meta.name, elementType: "non_tensor", shape: [] });
  }
  return create(TensorSpecSchema, {
    name: meta.name,
    elementType: meta.type,
    shape: meta.shape.map((dim) => (typeof dim === "number" && dim >= 0 ? BigInt(dim) : -1n)),
  });
}
