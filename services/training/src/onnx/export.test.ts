import { fromBinary } from "@bufbuild/protobuf";
import { createRandom as rng } from "@seam/kit/random";
import { ModelProtoSchema, TensorProto_DataType, type ValueInfoProto } from "@seam/proto/onnx/onnx_pb";
import { InferenceSession } from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import {
  type DenseLayer,
  type FeatureTransform,
  type HiddenActivation,
  inputWidth,
  type Preprocessing,
  type Task,
  type TrainedModel,
} from "../model/trained-model.js";
import { exportOnnx, ONNX_IR_VERSION, ONNX_ML_OPSET, ONNX_OPSET, onnxOutputName } from "./export.js";
import type { RawRow } from "./raw-values.js";
import { predictReference } from "./reference.js";
import { verifyOnnx } from "./verify.js";

function dense(
  random: () => number,
  inputs: number,
  units: number,
  activation: DenseLayer["activation"],
): DenseLayer {
  const scale = 2 / Math.sqrt(inputs);
  return {
    inputs,
    units,
    activation,
    kernel: Float32Array.from({ length: inputs * units }, () => (random() - 0.5) * scale),
    bias: Float32Array.from({ length: units }, () => (random() - 0.5) * 0.2),
  };
}

/** Numeric and categorical columns interleaved, so the export must restore their order. */
const PREPROCESSING: Preprocessing = {
  features: [
    { kind: "numeric", name: "age", mean: 41.5, std: 12.25, fill: 40 },
    { kind: "categorical", name: "color", vocabulary: ["red", "green", "blue"] },
    { kind: "numeric", name: "income", mean: 52_000, std: 18_000, fill: 48_000 },
    { kind: "categorical", name: "city", vocabulary: ["Paris", "Lyon", "Zürich", "東京"] },
    { kind: "numeric", name: "score", mean: -0.25, std: 1, fill: 0 },
  ],
};

function buildModel(
  seed: number,
  task: Task,
  hidden: readonly { units: number; activation: HiddenActivation }[],
  classes: readonly string[],
  preprocessing: Preprocessing = PREPROCESSING,
): TrainedModel {
  const random = rng(seed);
  const layers: DenseLayer[] = [];
  let width = inputWidth(preprocessing);
  for (const h of hidden) {
    layers.push(dense(random, width, h.units, h.activation));
    width = h.units;
  }
  if (task === "binary") layers.push(dense(random, width, 1, "sigmoid"));
  else if (task === "multiclass") layers.push(dense(random, width, classes.length, "softmax"));
  else layers.push(dense(random, width, 1, "linear"));
  return { task, labelColumn: "label", classes, preprocessing, layers };
}

/** Random rows over the preprocessing's columns, plus the awkward cases every test must pass. */
function buildRows(seed: number, features: readonly FeatureTransform[], count = 64): RawRow[] {
  const random = rng(seed);
  const rows: RawRow[] = [];
  for (let r = 0; r < count; r++) {
    const row: Record<string, number | string | null> = {};
    for (const f of features) {
      if (random() < 0.15) {
        row[f.name] = null;
      } else if (f.kind === "numeric") {
        row[f.name] = f.mean + (random() - 0.5) * 4 * f.std;
      } else {
        const pick = Math.floor(random() * (f.vocabulary.length + 1));
        row[f.name] = f.vocabulary[pick] ?? "never-seen";
      }
    }
    rows.push(row);
  }
  const allMissing: Record<string, null> = {};
  const unseen: Record<string, number | string> = {};
  for (const f of features) {
    allMissing[f.name] = null;
    unseen[f.name] = f.kind === "numeric" ? Number.NaN : "unseen-category";
  }
  rows.push(allMissing, unseen, {});
  return rows;
}

const CASES: { title: string; model: TrainedModel; output: string; width: number }[] = [
  {
    title: "binary, no hidden layer",
    model: buildModel(1, "binary", [], ["no", "yes"]),
    output: "probability",
    width: 1,
  },
  {
    title: "binary, 2 relu hidden layers",
    model: buildModel(
      2,
      "binary",
      [
        { units: 16, activation: "relu" },
        { units: 8, activation: "relu" },
      ],
      ["churned", "stayed"],
    ),
    output: "probability",
    width: 1,
  },
  {
    title: "multiclass, 1 relu hidden layer, softmax",
    model: buildModel(
      3,
      "multiclass",
      [{ units: 12, activation: "relu" }],
      ["setosa", "versicolor", "virginica"],
    ),
    output: "probabilities",
    width: 3,
  },
  {
    title: "regression, tanh and sigmoid hidden layers",
    model: buildModel(
      4,
      "regression",
      [
        { units: 10, activation: "tanh" },
        { units: 6, activation: "sigmoid" },
      ],
      [],
    ),
    output: "prediction",
    width: 1,
  },
];

function elemType(info: ValueInfoProto): TensorProto_DataType | undefined {
  return info.type?.value.case === "tensorType" ? info.type.value.value.elemType : undefined;
}

function dims(info: ValueInfoProto): (string | number)[] {
  if (info.type?.value.case !== "tensorType") return [];
  return (info.type.value.value.shape?.dim ?? []).map((d) =>
    d.value.case === "dimParam" ? d.value.value : Number(d.value.value),
  );
}

describe("exportOnnx", () => {
  for (const { title, model, output, width } of CASES) {
    describe(title, () => {
      const bytes = exportOnnx(model, { producerVersion: "0.1.0-test" });
      const rows = buildRows(100 + width, model.preprocessing.features);

      it("matches the reference forward pass within 1e-5 on raw rows with missing and unseen values", async () => {
        const expected = predictReference(model, rows);
        expect(expected.every((v) => v.length === width && v.every(Number.isFinite))).toBe(true);
        const result = await verifyOnnx(bytes, model, rows, expected, 1e-5);
        expect(result.maxAbsDiff).toBeLessThanOrEqual(1e-5);
        expect(result.ok).toBe(true);
      });

      it("parses as a ModelProto with raw feature inputs, the task's output and metadata", () => {
        const proto = fromBinary(ModelProtoSchema, bytes);
        expect(proto.irVersion).toBe(BigInt(ONNX_IR_VERSION));
        expect(proto.producerName).toBe("seam-training");
        expect(proto.producerVersion).toBe("0.1.0-test");
        expect(proto.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([
          ["", ONNX_OPSET],
          ["ai.onnx.ml", ONNX_ML_OPSET],
        ]);
        const graph = proto.graph;
        expect(graph?.input.map((i) => [i.name, elemType(i), dims(i)])).toEqual([
          ["age", TensorProto_DataType.FLOAT, ["N", 1]],
          ["color", TensorProto_DataType.STRING, ["N", 1]],
          ["income", TensorProto_DataType.FLOAT, ["N", 1]],
          ["city", TensorProto_DataType.STRING, ["N", 1]],
          ["score", TensorProto_DataType.FLOAT, ["N", 1]],
        ]);
        expect(graph?.output.map((o) => [o.name, elemType(o), dims(o)])).toEqual([
          [output, TensorProto_DataType.FLOAT, ["N", width]],
        ]);
        expect(onnxOutputName(model.task)).toBe(output);
        expect(Object.fromEntries(proto.metadataProps.map((p) => [p.key, p.value]))).toEqual({
          task: model.task,
          label_column: "label",
          classes: JSON.stringify(model.classes),
        });
        expect(proto.docString).toContain(model.task);
        expect(graph?.docString).toContain(output);
        expect(graph?.input.every((i) => i.docString !== "")).toBe(true);
        expect(graph?.output[0]?.docString).not.toBe("");
      });

      it("loads in ONNX Runtime with the same signature", async () => {
        const session = await InferenceSession.create(bytes);
        try {
          expect(
            session.inputMetadata.map((m) => (m.isTensor ? [m.name, m.type, m.shape] : [m.name])),
          ).toEqual([
            ["age", "float32", ["N", 1]],
            ["color", "string", ["N", 1]],
            ["income", "float32", ["N", 1]],
            ["city", "string", ["N", 1]],
            ["score", "float32", ["N", 1]],
          ]);
          expect(
            session.outputMetadata.map((m) => (m.isTensor ? [m.name, m.type, m.shape] : [m.name])),
          ).toEqual([[output, "float32", ["N", width]]]);
        } finally {
          await session.release();
        }
      });
    });
  }

  it("puts the preprocessing in the graph: fill, standardization, one-hot with an unknown slot", async () => {
    // A linear model whose kernel reads each input slot at a different power of ten, so
    // the prediction spells out the preprocessed vector.
    const model: TrainedModel = {
      task: "regression",
      labelColumn: "y",
      classes: [],
      preprocessing: {
        features: [
          { kind: "categorical", name: "c", vocabulary: ["a", "b"] },
          { kind: "numeric", name: "x", mean: 2, std: 4, fill: 6 },
        ],
      },
      layers: [
        {
          inputs: 4,
          units: 1,
          activation: "linear",
          kernel: Float32Array.from([10, 100, 1000, 1]),
          bias: Float32Array.from([0.5]),
        },
      ],
    };
    const rows: RawRow[] = [
      { c: "a", x: 10 }, // 10 + (10 − 2) / 4 = 12
      { c: "b", x: null }, // 100 + (6 − 2) / 4 = 101
      { c: null, x: Number.NaN }, // 1000 + 1
      { c: "A", x: -2 }, // unseen (case matters): 1000 − 1
      { c: "", x: 2 }, // "" is missing: 1000 + 0
    ];
    const expected = [12, 101, 1001, 999, 1000].map((v) => Float32Array.of(v + 0.5));
    expect(predictReference(model, rows)).toEqual(expected);
    const result = await verifyOnnx(exportOnnx(model), model, rows, expected, 0);
    expect(result).toEqual({ maxAbsDiff: 0, ok: true });
  });

  it("exports numeric-only models without ai.onnx.ml and keeps columns in order", async () => {
    const preprocessing: Preprocessing = {
      features: [
        { kind: "numeric", name: "a", mean: 1, std: 2, fill: 1 },
        { kind: "numeric", name: "b", mean: -3, std: 0.5, fill: 0 },
      ],
    };
    const model = buildModel(5, "binary", [{ units: 4, activation: "tanh" }], ["0", "1"], preprocessing);
    const bytes = exportOnnx(model);
    const proto = fromBinary(ModelProtoSchema, bytes);
    expect(proto.opsetImport.map((o) => o.domain)).toEqual([""]);
    expect(proto.graph?.node.map((n) => n.opType)).not.toContain("Gather");
    const rows = buildRows(6, preprocessing.features);
    const result = await verifyOnnx(bytes, model, rows, predictReference(model, rows), 1e-5);
    expect(result.ok).toBe(true);
  });

  it("exports categorical-only models, an empty vocabulary included", async () => {
    const preprocessing: Preprocessing = {
      features: [
        { kind: "categorical", name: "plan", vocabulary: ["free", "pro"] },
        { kind: "categorical", name: "constant", vocabulary: [] },
      ],
    };
    const model = buildModel(7, "multiclass", [], ["x", "y", "z"], preprocessing);
    const rows = buildRows(8, preprocessing.features);
    const result = await verifyOnnx(exportOnnx(model), model, rows, predictReference(model, rows), 1e-5);
    expect(result.ok).toBe(true);
  });

  it("refuses models it cannot export faithfully, saying why", () => {
    const base = buildModel(9, "binary", [{ units: 3, activation: "relu" }], ["no", "yes"]);
    const [hidden, out] = base.layers as [DenseLayer, DenseLayer];
    const withLayers = (layers: DenseLayer[]): TrainedModel => ({ ...base, layers });
    const cases: [TrainedModel, RegExp][] = [
      [
        withLayers([{ ...hidden, activation: "gelu" as unknown as HiddenActivation }, out]),
        /layer 0: unknown activation "gelu"/,
      ],
      [
        withLayers([{ ...hidden, kernel: hidden.kernel.subarray(1) }, out]),
        /layer 0: kernel has \d+ values, expected inputs × units = 12 × 3 = 36/,
      ],
      [
        withLayers([{ ...hidden, bias: new Float32Array(2) }, out]),
        /layer 0: bias has 2 values, expected units = 3/,
      ],
      [withLayers([out]), /layer 0: takes 3 inputs but receives 12/],
      [
        withLayers([hidden, { ...out, activation: "linear" }]),
        /needs an output layer of 1 unit\(s\) with sigmoid/,
      ],
      [withLayers([]), /no dense layers/],
      [{ ...base, classes: ["only"] }, /binary model needs exactly 2 classes/],
      [
        {
          ...base,
          preprocessing: {
            features: [{ kind: "categorical", name: "color", vocabulary: ["red", "", "blue"] }],
          },
        },
        /must not contain ""/,
      ],
      [
        {
          ...base,
          preprocessing: { features: [{ kind: "numeric", name: "probability", mean: 0, std: 1, fill: 0 }] },
          layers: [dense(rng(1), 1, 1, "sigmoid")],
        },
        /feature name "probability" clashes/,
      ],
      [
        {
          ...base,
          preprocessing: { features: [{ kind: "numeric", name: "a", mean: 0, std: 0, fill: 0 }] },
          layers: [dense(rng(1), 1, 1, "sigmoid")],
        },
        /std must be > 0/,
      ],
    ];
    for (const [model, message] of cases) {
      expect(() => exportOnnx(model)).toThrow(message);
    }
    expect(() => predictReference(cases[0]?.[0] as TrainedModel, [])).toThrow(/unknown activation/);
    expect(() => predictReference(cases[1]?.[0] as TrainedModel, [])).toThrow(/kernel has/);
  });
});

describe("verifyOnnx", () => {
  const { model } = CASES[2] as (typeof CASES)[number];
  const bytes = exportOnnx(model);
  const rows = buildRows(10, model.preprocessing.features, 8);

  it("reports a difference beyond the tolerance", async () => {
    const expected = predictReference(model, rows);
    (expected[3] as Float32Array)[1] += 0.01;
    const result = await verifyOnnx(bytes, model, rows, expected);
    expect(result.ok).toBe(false);
    expect(result.maxAbsDiff).toBeCloseTo(0.01, 4);
  });

  it("throws on a shape mismatch rather than reporting a number", async () => {
    const expected = predictReference(model, rows).map((v) => v.subarray(0, 2));
    await expect(verifyOnnx(bytes, model, rows, expected)).rejects.toThrow(/has 3 values, expected 2/);
    await expect(verifyOnnx(bytes, model, [], [])).rejects.toThrow(/at least one row/);
  });
});
