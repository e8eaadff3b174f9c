import { create, toBinary } from "@bufbuild/protobuf";
import {
  ModelProtoSchema,
  TensorProto_DataType,
  type TensorShapeProto_Dimension,
  TensorShapeProto_DimensionSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from "@seam/proto/onnx/onnx_pb";

/** Options of {@link buildLinearModel}. */
export interface LinearModelOptions {
  /** W, one weight per input feature (default 4 features: [1, 2, 3, 4]). */
  readonly weights?: readonly number[];
  /** b (default 0.5). */
  readonly bias?: number;
  /** Written as producer_name; vary it to get distinct artifacts with the same behaviour. */
  readonly producerName?: string;
}

/**
 * Builds a real ONNX model computing y = xW + b with MatMul and Add:
 * input "x" float32 [batch, n], output "y" float32 [batch, 1], opset 17, IR version 8,
 * where "batch" is a symbolic dimension (ONNX Runtime reports it as dynamic).
 */
export function buildLinearModel(options: LinearModelOptions = {}): Uint8Array {
  const weights = options.weights ?? [1, 2, 3, 4];
  const bias = options.bias ?? 0.5;
  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: options.producerName ?? "seam-registry-tests",
    opsetImport: [{ domain: "", version: 17n }],
    graph: {
      name: "linear",
      node: [
        { opType: "MatMul", input: ["x", "W"], output: ["xw"], name: "matmul" },
        { opType: "Add", input: ["xw", "b"], output: ["y"], name: "add" },
      ],
      initializer: [
        {
          name: "W",
          dataType: TensorProto_DataType.FLOAT,
          dims: [BigInt(weights.length), 1n],
          floatData: [...weights],
        },
        { name: "b", dataType: TensorProto_DataType.FLOAT, dims: [1n], floatData: [bias] },
      ],
      input: [floatTensor("x", [dimParam("batch"), dimValue(weights.length)])],
      output: [floatTensor("y", [dimParam("batch"), dimValue(1)])],
    },
  });
  return toBinary(ModelProtoSchema, model);
}

/** Bytes that are certainly not an ONNX model (ORT fails to parse them). */
export function garbageArtifact(size = 1024): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 131 + 7) & 0xff;
  return bytes;
}

function floatTensor(name: string, dims: TensorShapeProto_Dimension[]): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name,
    type: {
      value: { case: "tensorType", value: { elemType: TensorProto_DataType.FLOAT, shape: { dim: dims } } },
    },
  });
}

function dimParam(name: string): TensorShapeProto_Dimension {
  return create(TensorShapeProto_DimensionSchema, { value: { case: "dimParam", value: name } });
}

function dimValue(size: number): TensorShapeProto_Dimension {
  return create(TensorShapeProto_DimensionSchema, { value: { case: "dimValue", value: BigInt(size) } });
}
