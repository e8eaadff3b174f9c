import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
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
  type TensorShapeProto_Dimension,
  TensorShapeProto_DimensionSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from "@seam/proto/onnx/onnx_pb";
import type {
  CategoricalTransform,
  LayerActivation,
  NumericTransform,
  Task,
  TrainedModel,
} from "../model/trained-model.js";
import { checkModel } from "./check-model.js";

/** Default ONNX operator set (ai.onnx) of exported models. */
export const ONNX_OPSET = 17;
/** ai.onnx.ml operator set, imported only when a categorical column needs LabelEncoder. */
export const ONNX_ML_OPSET = 3;
/** IR version that goes with {@link ONNX_OPSET} 17 / {@link ONNX_ML_OPSET} 3 (ONNX 1.12). */
export const ONNX_IR_VERSION = 8;
/** Name of the symbolic batch dimension of every input and output. */
export const BATCH_DIM = "N";

/** Graph output name by task: "probability" [N,1], "probabilities" [N,C], "prediction" [N,1]. */
export function onnxOutputName(task: Task): string {
  switch (task) {
    case "binary":
      return "probability";
    case "multiclass":
      return "probabilities";
    case "regression":
      return "prediction";
  }
}

/** Options of {@link exportOnnx}. */
export interface ExportOnnxOptions {
  /** Written as the model's producer_version (e.g. the training service's version). */
  readonly producerVersion?: string;
}

/**
 * Turns a TrainedModel into the bytes of an ONNX model that takes raw feature values, so
 * serving cannot drift from the preprocessing fitted at training time:
 *
 * - one input per feature column, in preprocessing order, named as the column, shape [N, 1]
 *   with symbolic "N": tensor(float) for numeric columns (NaN = missing), tensor(string) for
 *   categorical ones ("" = missing);
 * - numeric columns: NaN → fill, then (x − mean) / std, all numeric columns at once;
 * - categorical columns: ai.onnx.ml LabelEncoder (vocabulary → 0..n−1, anything else → n)
 *   then a one-hot of width n + 1;
 * - the dense layers as MatMul + Add + activation;
 * - one output by task ({@link onnxOutputName}), and metadata_props "task", "label_column"
 *   and "classes" (a JSON array).
 *
 * Throws an Error when the model is inconsistent (unknown activation, kernel size other
 * than inputs × units, layers that do not chain, output layer not fitting the task, ...).
 */
export function exportOnnx(model: TrainedModel, options: ExportOnnxOptions = {}): Uint8Array {
  checkModel(model);
  const g = new GraphBuilder();
  const { features } = model.preprocessing;

  // Blocks concatenated into the input vector; numeric columns share one block so the
  // preprocessing costs five nodes whatever their number (each node is a kernel launch).
  const blocks: { tensor: string; width: number; featureIndexes: number[] }[] = [];

  const numeric = features.flatMap((f, i) => (f.kind === "numeric" ? [{ f, i }] : []));
  if (numeric.length > 0) {
    blocks.push({
      tensor: numericBlock(g, numeric),
      width: numeric.length,
      featureIndexes: numeric.map((n) => n.i),
    });
  }
  for (const [i, f] of features.entries()) {
    if (f.kind !== "categorical") continue;
    blocks.push({ tensor: oneHot(g, f, i), width: f.vocabulary.length + 1, featureIndexes: [i] });
  }

  let x = blocks.length === 1 ? (blocks[0]?.tensor as string) : "features/concat";
  if (blocks.length > 1) {
    g.node(
      "Concat",
      "features/concat",
      [...blocks.map((b) => b.tensor)],
      ["features/concat"],
      [attrInt("axis", 1)],
    );
  }
  // Where each feature's values sit in the concatenation; a Gather restores the
  // preprocessing order when the numeric block took columns out of it.
  const offsets = new Map<number, number[]>();
  let offset = 0;
  for (const block of blocks) {
    if (block.featureIndexes.length === 1) {
      offsets.set(block.featureIndexes[0] as number, range(offset, block.width));
    } else {
      for (const [j, i] of block.featureIndexes.entries()) offsets.set(i, [offset + j]);
    }
    offset += block.width;
  }
  const order = features.flatMap((_, i) => offsets.get(i) ?? []);
  if (order.some((column, position) => column !== position)) {
    g.int64("features/order", [order.length], order);
    g.node("Gather", "features/reorder", [x, "features/order"], ["features/vector"], [attrInt("axis", 1)]);
    x = "features/vector";
  }

  const output = onnxOutputName(model.task);
  for (const [l, layer] of model.layers.entries()) {
    const last = l === model.layers.length - 1;
    const prefix = `dense_${l}`;
    g.float(`${prefix}/kernel`, [layer.inputs, layer.units], layer.kernel);
    g.float(`${prefix}/bias`, [layer.units], layer.bias);
    g.node("MatMul", `${prefix}/matmul`, [x, `${prefix}/kernel`], [`${prefix}/matmul`]);
    const linear = last && layer.activation === "linear" ? output : `${prefix}/linear`;
    g.node("Add", `${prefix}/add`, [`${prefix}/matmul`, `${prefix}/bias`], [linear]);
    x = activation(g, layer.activation, linear, last ? output : `${prefix}/${layer.activation}`, prefix);
  }

  const clash = features.find((f) => g.names.has(f.name));
  if (clash !== undefined) {
    throw new Error(
      `feature name "${clash.name}" clashes with a tensor of the exported graph; rename the column`,
    );
  }

  const classesDoc = model.classes.map((c) => JSON.stringify(c)).join(", ");
  const outputDoc =
    model.task === "binary"
      ? `probability of class ${JSON.stringify(model.classes[1])} (the other is ${JSON.stringify(model.classes[0])})`
      : model.task === "multiclass"
        ? `class probabilities in this order: ${classesDoc}`
        : `predicted ${JSON.stringify(model.labelColumn)}`;
  const widths = [model.layers[0]?.inputs ?? 0, ...model.layers.map((layer) => layer.units)].join("→");

  const modelProto = create(ModelProtoSchema, {
    irVersion: BigInt(ONNX_IR_VERSION),
    producerName: "seam-training",
    producerVersion: options.producerVersion ?? "",
    opsetImport: [
      { domain: "", version: BigInt(ONNX_OPSET) },
      ...(g.usesMl ? [{ domain: "ai.onnx.ml", version: BigInt(ONNX_ML_OPSET) }] : []),
    ],
    docString:
      `Seam ${model.task} model predicting ${JSON.stringify(model.labelColumn)} from raw feature values: ` +
      `preprocessing (missing-value fill, standardization, one-hot encoding) is inside the graph, ` +
      `followed by a ${widths} dense network.`,
    metadataProps: [
      { key: "task", value: model.task },
      { key: "label_column", value: model.labelColumn },
      { key: "classes", value: JSON.stringify(model.classes) },
    ],
    graph: {
      name: "seam_mlp",
      docString: `inputs: raw feature columns (float: NaN = missing; string: "" = missing); output "${output}": ${outputDoc}`,
      node: g.nodes,
      initializer: g.initializers,
      input: features.map((f) =>
        valueInfo(
          f.name,
          f.kind === "numeric" ? TensorProto_DataType.FLOAT : TensorProto_DataType.STRING,
          [dimParam(BATCH_DIM), dimValue(1)],
          f.kind === "numeric" ? numericDoc(f) : categoricalDoc(f),
        ),
      ),
      output: [
        valueInfo(
          output,
          TensorProto_DataType.FLOAT,
          [dimParam(BATCH_DIM), dimValue(model.layers[model.layers.length - 1]?.units ?? 1)],
          outputDoc,
        ),
      ],
    },
  });
  return toBinary(ModelProtoSchema, modelProto);
}

/** NaN → fill, then (x − mean) / std over all numeric columns as one [N, k] block. */
function numericBlock(g: GraphBuilder, numeric: readonly { f: NumericTransform; i: number }[]): string {
  let raw = numeric[0]?.f.name as string;
  if (numeric.length > 1) {
    raw = "numeric/raw";
    g.node("Concat", "numeric/concat", [...numeric.map((n) => n.f.name)], [raw], [attrInt("axis", 1)]);
  }
  const k = numeric.length;
  g.float(
    "numeric/fill",
    [k],
    numeric.map((n) => n.f.fill),
  );
  g.float(
    "numeric/mean",
    [k],
    numeric.map((n) => n.f.mean),
  );
  g.float(
    "numeric/std",
    [k],
    numeric.map((n) => n.f.std),
  );
  g.node("IsNaN", "numeric/is_missing", [raw], ["numeric/is_missing"]);
  g.node("Where", "numeric/fill_missing", ["numeric/is_missing", "numeric/fill", raw], ["numeric/filled"]);
  // Sub then Div rather than one folded Mul + Add: the same float32 rounding as (x − mean) / std.
  g.node("Sub", "numeric/center", ["numeric/filled", "numeric/mean"], ["numeric/centered"]);
  g.node("Div", "numeric/scale", ["numeric/centered", "numeric/std"], ["numeric/standardized"]);
  return "numeric/standardized";
}

/** string [N,1] → LabelEncoder → int64 [N,1] → OneHot → float [N,1,n+1] → Squeeze → [N,n+1]. */
function oneHot(g: GraphBuilder, f: CategoricalTransform, i: number): string {
  const n = f.vocabulary.length;
  const prefix = `categorical_${i}`;
  g.usesMl = true;
  // An empty vocabulary still needs one key: "" → 0 with default 0 sends everything to the only slot.
  const keys = n > 0 ? f.vocabulary : [""];
  g.node(
    "LabelEncoder",
    `${prefix}/label_encoder`,
    [f.name],
    [`${prefix}/index`],
    [
      attrStrings("keys_strings", keys),
      attrInts(
        "values_int64s",
        range(0, keys.length).map((v) => (n > 0 ? v : 0)),
      ),
      attrInt("default_int64", n),
    ],
    "ai.onnx.ml",
    `index of ${JSON.stringify(f.name)} in its vocabulary; ${n} for unknown or missing values`,
  );
  g.int64(`${prefix}/depth`, [], [n + 1]);
  g.ensureShared();
  g.node(
    "OneHot",
    `${prefix}/one_hot`,
    [`${prefix}/index`, `${prefix}/depth`, "one_hot_values"],
    [`${prefix}/one_hot_3d`],
    [attrInt("axis", -1)],
  );
  g.node("Squeeze", `${prefix}/squeeze`, [`${prefix}/one_hot_3d`, "axis_1"], [`${prefix}/one_hot`]);
  return `${prefix}/one_hot`;
}

function activation(
  g: GraphBuilder,
  kind: LayerActivation,
  input: string,
  output: string,
  prefix: string,
): string {
  switch (kind) {
    case "linear":
      return input;
    case "relu":
      g.node("Relu", `${prefix}/relu`, [input], [output]);
      return output;
    case "tanh":
      g.node("Tanh", `${prefix}/tanh`, [input], [output]);
      return output;
    case "sigmoid":
      g.node("Sigmoid", `${prefix}/sigmoid`, [input], [output]);
      return output;
    case "softmax":
      g.node("Softmax", `${prefix}/softmax`, [input], [output], [attrInt("axis", -1)]);
      return output;
  }
}

function numericDoc(f: NumericTransform): string {
  return `numeric; missing (NaN) → ${f.fill}, then (x − ${f.mean}) / ${f.std}`;
}

function categoricalDoc(f: CategoricalTransform): string {
  const shown = f.vocabulary.slice(0, 20).map((v) => JSON.stringify(v));
  const more = f.vocabulary.length > 20 ? `, … (${f.vocabulary.length} in all)` : "";
  return `categorical; one-hot over [${shown.join(", ")}${more}] plus one slot for unknown or missing ("")`;
}

/** Collects nodes and initializers, and every tensor name it creates (for clash checks). */
class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly names = new Set<string>();
  usesMl = false;
  private shared = false;

  node(
    opType: string,
    name: string,
    input: string[],
    output: string[],
    attribute: AttributeProto[] = [],
    domain = "",
    docString = "",
  ): void {
    for (const o of output) this.names.add(o);
    this.nodes.push(create(NodeProtoSchema, { opType, name, input, output, attribute, domain, docString }));
  }

  float(name: string, dims: readonly number[], values: ArrayLike<number>): void {
    // raw_data is little-endian by the ONNX spec, whatever the host's byte order.
    const raw = new Uint8Array(values.length * 4);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] as number, true);
    this.initializer({ name, dataType: TensorProto_DataType.FLOAT, dims: dims.map(BigInt), rawData: raw });
  }

  int64(name: string, dims: readonly number[], values: readonly number[]): void {
    this.initializer({
      name,
      dataType: TensorProto_DataType.INT64,
      dims: dims.map(BigInt),
      int64Data: values.map(BigInt),
    });
  }

  /** Constants shared by every one-hot encoding, added once. */
  ensureShared(): void {
    if (this.shared) return;
    this.shared = true;
    this.float("one_hot_values", [2], [0, 1]);
    this.int64("axis_1", [1], [1]);
  }

  private initializer(init: MessageInitShape<typeof TensorProtoSchema>): void {
    const tensor = create(TensorProtoSchema, init);
    this.names.add(tensor.name);
    this.initializers.push(tensor);
  }
}

function attrInt(name: string, i: number): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(i) });
}

function attrInts(name: string, ints: readonly number[]): AttributeProto {
  return create(AttributeProtoSchema, {
    name,
    type: AttributeProto_AttributeType.INTS,
    ints: ints.map(BigInt),
  });
}

function attrStrings(name: string, strings: readonly string[]): AttributeProto {
  const utf8 = new TextEncoder();
  return create(AttributeProtoSchema, {
    name,
    type: AttributeProto_AttributeType.STRINGS,
    strings: strings.map((s) => utf8.encode(s)),
  });
}

function valueInfo(
  name: string,
  elemType: TensorProto_DataType,
  dims: TensorShapeProto_Dimension[],
  docString: string,
): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name,
    docString,
    type: { value: { case: "tensorType", value: { elemType, shape: { dim: dims } } } },
  });
}

function dimParam(name: string): TensorShapeProto_Dimension {
  return create(TensorShapeProto_DimensionSchema, { value: { case: "dimParam", value: name } });
}

function dimValue(size: number): TensorShapeProto_Dimension {
  return create(TensorShapeProto_DimensionSchema, { value: { case: "dimValue", value: BigInt(size) } });
}

function range(start: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start + i);
}
