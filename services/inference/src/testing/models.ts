/**
 * Small ONNX models built in memory for tests and benchmarks, so no binary fixture has to be
 * checked in. Built like the training service's export (services/training/src/onnx/export.ts):
 * protobuf-es ModelProto, symbolic batch dimension "N", opset 17 / IR 8 unless an operator
 * needs more.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { createRandom } from "@seam/kit/random";
import {
  type AttributeProto,
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  ModelProtoSchema,
  type NodeProto,
  NodeProtoSchema,
  type TensorProto,
  TensorProto_DataType,
  TensorProtoSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from "@seam/proto/onnx/onnx_pb";

/** Name of the symbolic batch dimension of every input and output. */
const BATCH_DIM = "N";

/** Options of {@link buildMlpModel} and {@link mlpReference}. */
export interface MlpModelOptions {
  /** Width of the input "x" [N, inputs]; default 20. */
  readonly inputs?: number;
  /** Widths of the hidden (Relu) layers; default [64, 64]. */
  readonly hidden?: readonly number[];
  /** Width of the linear output [N, outputs]; default 1. */
  readonly outputs?: number;
  /** Seed of the weights; the same seed gives the same weights. Default 1. */
  readonly seed?: number;
  /** Default "x". */
  readonly inputName?: string;
  /** Default "y". */
  readonly outputName?: string;
}

/**
 * A dense float32 MLP (default 20→64→64→1): input "x" [N, inputs], MatMul + Add per layer,
 * Relu on the hidden layers, linear output "y" [N, outputs]. Weights are uniform in
 * ±1/sqrt(fan_in) from a seeded PRNG, so the output stays around unit scale.
 */
export function buildMlpModel(options: MlpModelOptions = {}): Uint8Array {
  const { inputName = "x", outputName = "y" } = options;
  const layers = mlpLayers(options);
  const g = new GraphBuilder();
  let x = inputName;
  for (const [l, layer] of layers.entries()) {
    const last = l === layers.length - 1;
    g.float(`dense_${l}/kernel`, [layer.inputs, layer.units], layer.kernel);
    g.float(`dense_${l}/bias`, [layer.units], layer.bias);
    g.node("MatMul", [x, `dense_${l}/kernel`], [`dense_${l}/matmul`]);
    const linear = last ? outputName : `dense_${l}/linear`;
    g.node("Add", [`dense_${l}/matmul`, `dense_${l}/bias`], [linear]);
    if (!last) g.node("Relu", [linear], [`dense_${l}/relu`]);
    x = last ? linear : `dense_${l}/relu`;
  }
  const inputs = layers[0]?.inputs ?? 0;
  const outputs = layers[layers.length - 1]?.units ?? 0;
  return g.model(
    "seam_test_mlp",
    [valueInfo(inputName, TensorProto_DataType.FLOAT, inputs)],
    [valueInfo(outputName, TensorProto_DataType.FLOAT, outputs)],
  );
}

/**
 * The forward pass of {@link buildMlpModel}'s network in plain JS (same options → same
 * weights), for checking ONNX Runtime's output: `x` holds `rows` rows of `inputs` values,
 * row-major; the result holds `rows` rows of `outputs` values.
 */
export function mlpReference(options: MlpModelOptions = {}): (x: Float32Array, rows: number) => Float32Array {
  const layers = mlpLayers(options);
  return (x, rows) => {
    const inputs = layers[0]?.inputs ?? 0;
    if (!Number.isInteger(rows) || rows < 0 || x.length !== rows * inputs) {
      throw new Error(`expected ${rows} rows of ${inputs} values, got ${x.length} values`);
    }
    let a: Float32Array = x;
    for (const [l, layer] of layers.entries()) {
      const relu = l < layers.length - 1;
      const out = new Float32Array(rows * layer.units);
      for (let r = 0; r < rows; r++) {
        for (let u = 0; u < layer.units; u++) {
          let sum = 0;
          for (let i = 0; i < layer.inputs; i++) {
            sum += (a[r * layer.inputs + i] as number) * (layer.kernel[i * layer.units + u] as number);
          }
          sum += layer.bias[u] as number;
          out[r * layer.units + u] = relu ? Math.max(sum, 0) : sum;
        }
      }
      a = out;
    }
    return a;
  };
}

/**
 * One Identity per Open Inference Protocol datatype: inputs "f32" float, "f64" double,
 * "i64" int64 and "b" bool, each [N, 2]; outputs "f32_out", "f64_out", "i64_out", "b_out".
 */
export function buildIdentityModel(): Uint8Array {
  const g = new GraphBuilder();
  const types = {
    f32: TensorProto_DataType.FLOAT,
    f64: TensorProto_DataType.DOUBLE,
    i64: TensorProto_DataType.INT64,
    b: TensorProto_DataType.BOOL,
  };
  const entries = Object.entries(types);
  for (const [name] of entries) g.node("Identity", [name], [`${name}_out`]);
  return g.model(
    "seam_test_identity",
    entries.map(([name, type]) => valueInfo(name, type, 2)),
    entries.map(([name, type]) => valueInfo(`${name}_out`, type, 2)),
  );
}

/**
 * Input "index" int64 [N, 1] → output "value" float [N, 1] = table[index], with a constant
 * table[i] = i * 10 of `tableSize` values. An index outside [-tableSize, tableSize) passes
 * input validation but makes ONNX Runtime fail at run time: a way to make one request of a
 * batch fail on its own.
 */
export function buildGatherModel(tableSize = 10): Uint8Array {
  if (!Number.isInteger(tableSize) || tableSize < 1) {
    throw new Error(`tableSize must be a positive integer, got ${tableSize}`);
  }
  const g = new GraphBuilder();
  g.float(
    "table",
    [tableSize],
    Array.from({ length: tableSize }, (_, i) => i * 10),
  );
  g.node("Gather", ["table", "index"], ["value"], [attrInt("axis", 0)]);
  return g.model(
    "seam_test_gather",
    [valueInfo("index", TensorProto_DataType.INT64, 1)],
    [valueInfo("value", TensorProto_DataType.FLOAT, 1)],
  );
}

/**
 * A float and a string feature, like the training export's inputs: "amount" float [N, 1] and
 * "country" string [N, 1] → "score" float [N, 1] = amount * 2 + (country == "NL" ? 1 : 0).
 * A NaN amount gives a NaN score.
 */
export function buildStringFeatureModel(): Uint8Array {
  const g = new GraphBuilder();
  g.string("nl", [1], ["NL"]);
  g.float("two", [1], [2]);
  g.node("Equal", ["country", "nl"], ["is_nl"]);
  g.node("Cast", ["is_nl"], ["is_nl_float"], [attrInt("to", TensorProto_DataType.FLOAT)]);
  g.node("Mul", ["amount", "two"], ["amount_x2"]);
  g.node("Add", ["amount_x2", "is_nl_float"], ["score"]);
  return g.model(
    "seam_test_string_feature",
    [
      valueInfo("amount", TensorProto_DataType.FLOAT, 1),
      valueInfo("country", TensorProto_DataType.STRING, 1),
    ],
    [valueInfo("score", TensorProto_DataType.FLOAT, 1)],
    // Equal on strings came with opset 19, which goes with IR version 9 (ONNX 1.14).
    { opset: 19, irVersion: 9 },
  );
}

interface DenseLayer {
  readonly inputs: number;
  readonly units: number;
  /** [inputs, units], row-major, as the MatMul initializer. */
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
}

/** The MLP's layers, shared by the model and the reference so they cannot disagree. */
function mlpLayers(options: MlpModelOptions): DenseLayer[] {
  const { inputs = 20, hidden = [64, 64], outputs = 1, seed = 1 } = options;
  const widths = [inputs, ...hidden, outputs];
  for (const w of widths) {
    if (!Number.isInteger(w) || w < 1) throw new Error(`layer widths must be positive integers, got ${w}`);
  }
  const random = createRandom(seed);
  const uniform = (n: number, scale: number) =>
    Float32Array.from({ length: n }, () => (2 * random() - 1) * scale);
  return widths.slice(1).map((units, l) => {
    const fanIn = widths[l] as number;
    const scale = 1 / Math.sqrt(fanIn);
    return { inputs: fanIn, units, kernel: uniform(fanIn * units, scale), bias: uniform(units, scale) };
  });
}

/** Collects nodes and initializers, then wraps them into a serialized ModelProto. */
class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];

  node(opType: string, input: string[], output: string[], attribute: AttributeProto[] = []): void {
    const name = `${opType.toLowerCase()}_${this.nodes.length}`;
    this.nodes.push(create(NodeProtoSchema, { opType, name, input, output, attribute }));
  }

  float(name: string, dims: readonly number[], values: ArrayLike<number>): void {
    // raw_data is little-endian by the ONNX spec, whatever the host's byte order.
    const raw = new Uint8Array(values.length * 4);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] as number, true);
    this.initializers.push(
      create(TensorProtoSchema, {
        name,
        dataType: TensorProto_DataType.FLOAT,
        dims: dims.map(BigInt),
        rawData: raw,
      }),
    );
  }

  string(name: string, dims: readonly number[], values: readonly string[]): void {
    const utf8 = new TextEncoder();
    this.initializers.push(
      create(TensorProtoSchema, {
        name,
        dataType: TensorProto_DataType.STRING,
        dims: dims.map(BigInt),
        stringData: values.map((v) => utf8.encode(v)),
      }),
    );
  }

  model(
    name: string,
    input: ValueInfoProto[],
    output: ValueInfoProto[],
    { opset = 17, irVersion = 8 }: { opset?: number; irVersion?: number } = {},
  ): Uint8Array {
    const model = create(ModelProtoSchema, {
      irVersion: BigInt(irVersion),
      producerName: "seam-inference-testing",
      opsetImport: [{ domain: "", version: BigInt(opset) }],
      graph: { name, node: this.nodes, initializer: this.initializers, input, output },
    });
    return toBinary(ModelProtoSchema, model);
  }
}

function attrInt(name: string, i: number): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(i) });
}

/** A tensor value info of shape [N, width]. */
function valueInfo(name: string, elemType: TensorProto_DataType, width: number): ValueInfoProto {
  const dim = [
    { value: { case: "dimParam" as const, value: BATCH_DIM } },
    { value: { case: "dimValue" as const, value: BigInt(width) } },
  ];
  return create(ValueInfoProtoSchema, {
    name,
    type: { value: { case: "tensorType", value: { elemType, shape: { dim } } } },
  });
}
