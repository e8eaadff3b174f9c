import { InferenceSession, Tensor } from "onnxruntime-node";
import type { TrainedModel } from "../model/trained-model.js";
import { onnxOutputName } from "./export.js";
import { categoricalValue, numericValue, type RawRow } from "./raw-values.js";

/** Outcome of {@link verifyOnnx}. */
export interface OnnxVerification {
  /** Largest |onnx − expected| over all rows and outputs (Infinity when one side is NaN). */
  readonly maxAbsDiff: number;
  /** maxAbsDiff ≤ tolerance. */
  readonly ok: boolean;
}

/**
 * Runs an exported model with ONNX Runtime (CPU) on raw rows, fed as serving would feed
 * them (numeric columns float32 [N,1] with NaN for missing; categorical columns string
 * [N,1] with "" for missing), and compares its output, row by row, with `expected` (e.g.
 * the TF.js model's predictions or {@link predictReference}). Throws when the bytes do not
 * load, when `rows` is empty, or when the output's name or shape is not the one the task
 * calls for: those are not numeric differences.
 */
export async function verifyOnnx(
  onnxBytes: Uint8Array,
  model: TrainedModel,
  rows: ReadonlyArray<RawRow>,
  expected: readonly Float32Array[],
  tolerance = 1e-4,
): Promise<OnnxVerification> {
  if (rows.length === 0) throw new Error("verifyOnnx needs at least one row");
  if (expected.length !== rows.length) {
    throw new Error(`verifyOnnx got ${rows.length} rows but ${expected.length} expected outputs`);
  }
  const n = rows.length;
  const feeds: Record<string, Tensor> = {};
  for (const f of model.preprocessing.features) {
    feeds[f.name] =
      f.kind === "numeric"
        ? new Tensor(
            "float32",
            Float32Array.from(rows, (row) => numericValue(row, f)),
            [n, 1],
          )
        : new Tensor(
            "string",
            rows.map((row) => categoricalValue(row, f)),
            [n, 1],
          );
  }

  const session = await InferenceSession.create(onnxBytes, {
    executionProviders: ["cpu"],
    logSeverityLevel: 3,
  });
  let data: Float32Array;
  let width: number;
  try {
    const name = onnxOutputName(model.task);
    if (!session.outputNames.includes(name)) {
      throw new Error(`the ONNX model has no output "${name}" (outputs: ${session.outputNames.join(", ")})`);
    }
    const out = (await session.run(feeds, [name]))[name] as Tensor;
    if (out.type !== "float32" || out.dims.length !== 2 || out.dims[0] !== n) {
      throw new Error(`output "${name}" is ${out.type} [${out.dims.join(", ")}], expected float32 [${n}, C]`);
    }
    data = out.data as Float32Array;
    width = out.dims[1] as number;
  } finally {
    await session.release();
  }

  let maxAbsDiff = 0;
  for (const [r, want] of expected.entries()) {
    if (want.length !== width) {
      throw new Error(`row ${r}: the ONNX output has ${width} values, expected ${want.length}`);
    }
    for (let c = 0; c < width; c++) {
      const got = data[r * width + c] as number;
      const w = want[c] as number;
      const diff = Number.isNaN(got) && Number.isNaN(w) ? 0 : Math.abs(got - w);
      maxAbsDiff = Math.max(maxAbsDiff, Number.isNaN(diff) ? Number.POSITIVE_INFINITY : diff);
    }
  }
  return { maxAbsDiff, ok: maxAbsDiff <= tolerance };
}
