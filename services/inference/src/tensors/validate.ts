import { InvalidArgumentError, ResourceExhaustedError } from "@seam/kit/errors";
import { type ElementType, elementCount, type TensorData } from "./tensor-data.js";

/** A model input or output as the signature declares it; -1 marks a dynamic dimension. */
export interface TensorSpec {
  readonly name: string;
  readonly type: ElementType;
  readonly dims: readonly number[];
}

/**
 * What to do with NaN or ±Infinity in float inputs sent as tensors: refuse the request,
 * or hand them to the model (models trained by Seam read NaN as "missing").
 */
export type NonFinitePolicy = "reject" | "allow";

/** Limits a request must keep within. */
export interface InputLimits {
  /** Most rows (first dimension) in one request. */
  readonly maxRows: number;
  readonly nonFinite: NonFinitePolicy;
}

/**
 * Checks a request's tensors against the model's inputs before the request may join a
 * batch, so that a bad request fails alone with a message naming the tensor and what was
 * expected: every input exactly once and nothing else, the input's element type, rank and
 * fixed dimensions, one batch size across inputs, the element count, non-finite floats
 * (by policy), and the row limit (RESOURCE_EXHAUSTED). Returns the inputs in the model's
 * order and the batch size (rows).
 */
export function validateInputs(
  tensors: readonly TensorData[],
  inputs: readonly TensorSpec[],
  limits: InputLimits,
): { ordered: TensorData[]; rows: number } {
  const byName = new Map<string, TensorData>();
  for (const tensor of tensors) {
    if (byName.has(tensor.name)) throw new InvalidArgumentError(`input "${tensor.name}" is given twice`);
    if (!inputs.some((spec) => spec.name === tensor.name)) {
      throw new InvalidArgumentError(
        `"${tensor.name}" is not an input of the model (inputs: ${inputs.map((s) => s.name).join(", ")})`,
      );
    }
    byName.set(tensor.name, tensor);
  }
  let rows: number | undefined;
  const ordered: TensorData[] = [];
  for (const spec of inputs) {
    const tensor = byName.get(spec.name);
    if (tensor === undefined) {
      throw new InvalidArgumentError(
        `input "${spec.name}" is missing (${spec.type} ${describeDims(spec.dims)} expected)`,
      );
    }
    checkShape(tensor, spec);
    const batch = tensor.dims[0] ?? 1;
    if (rows === undefined) rows = batch;
    else if (batch !== rows) {
      throw new InvalidArgumentError(
        `input "${spec.name}" has ${batch} rows but input "${ordered[0]?.name}" has ${rows}; every input needs the same first dimension`,
      );
    }
    if (limits.nonFinite === "reject") checkFinite(tensor);
    ordered.push(tensor);
  }
  const batchRows = rows ?? 0;
  if (batchRows === 0) throw new InvalidArgumentError("the request has no rows (first dimension 0)");
  if (batchRows > limits.maxRows) {
    throw new ResourceExhaustedError(
      `the request has ${batchRows} rows; at most ${limits.maxRows} are accepted in one request`,
    );
  }
  return { ordered, rows: batchRows };
}

/** "[-1, 4]" with "N" for dynamic dimensions, as people read shapes. */
export function describeDims(dims: readonly number[]): string {
  return `[${dims.map((d) => (d < 0 ? "N" : String(d))).join(", ")}]`;
}

function checkShape(tensor: TensorData, spec: TensorSpec): void {
  const name = `input "${spec.name}"`;
  if (tensor.type !== spec.type) {
    throw new InvalidArgumentError(`${name} is ${tensor.type}; the model expects ${spec.type}`);
  }
  if (tensor.dims.length !== spec.dims.length) {
    throw new InvalidArgumentError(
      `${name} has shape ${describeDims(tensor.dims)}; the model expects ${describeDims(spec.dims)} (rank ${spec.dims.length})`,
    );
  }
  spec.dims.forEach((expected, i) => {
    const got = tensor.dims[i] as number;
    if (!Number.isInteger(got) || got < 0 || (expected >= 0 && got !== expected)) {
      throw new InvalidArgumentError(
        `${name} has shape ${describeDims(tensor.dims)}; the model expects ${describeDims(spec.dims)} (dimension ${i} must be ${expected >= 0 ? expected : "≥ 0"})`,
      );
    }
  });
  const count = elementCount(tensor.dims);
  if (tensor.data.length !== count) {
    throw new InvalidArgumentError(
      `${name} has ${tensor.data.length} elements; shape ${describeDims(tensor.dims)} needs ${count}`,
    );
  }
}

function checkFinite(tensor: TensorData): void {
  if (tensor.type !== "float32" && tensor.type !== "float64") return;
  const data = tensor.data as Float32Array | Float64Array;
  for (let i = 0; i < data.length; i++) {
    const value = data[i] as number;
    // x - x is 0 for finite x and NaN for NaN and ±Infinity: one test for both.
    if (value - value !== 0) {
      throw new InvalidArgumentError(
        `input "${tensor.name}": element ${i} is ${value}; this model refuses NaN and Infinity (non-finite input policy "reject")`,
      );
    }
  }
}
