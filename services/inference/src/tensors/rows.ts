/**
 * Rows of named JSON values (PredictRequest.rows, google.protobuf.Struct) as one tensor
 * per model input, each row one batch row.
 */
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { InvalidArgumentError } from "@seam/kit/errors";
import { formatDims } from "./proto-tensors.js";
import { allocateElements, type ElementType, type TensorData, type TensorElements } from "./tensor-data.js";

/** A model input as the model's signature declares it; -1 marks a dynamic dimension. */
export interface InputSpec {
  readonly name: string;
  readonly type: ElementType;
  /** The first dimension is the batch. */
  readonly dims: readonly number[];
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * One tensor per input, in the order of `inputs`, with `rows.length` as the batch. An
 * input of dims [-1] or [-1,1] takes a scalar per row, one of [-1,k] an array of k values
 * (or a scalar when k is 1). `null` or a missing key is a missing value: NaN for floats,
 * "" for strings, refused for ints and bools. Keys that are not inputs are refused.
 */
export function tensorsFromRows(rows: readonly JsonObject[], inputs: readonly InputSpec[]): TensorData[] {
  if (rows.length === 0) throw new InvalidArgumentError("rows: no rows given; send at least one");
  const names = new Set(inputs.map((i) => i.name));
  rows.forEach((row, r) => {
    for (const key of Object.keys(row)) {
      if (!names.has(key)) {
        throw new InvalidArgumentError(
          `row ${r}: ${JSON.stringify(key)} is not an input of the model (inputs: ${[...names].join(", ")})`,
        );
      }
    }
  });
  return inputs.map((input) => inputFromRows(rows, input));
}

function inputFromRows(rows: readonly JsonObject[], input: InputSpec): TensorData {
  const width = rowWidth(input);
  const data = allocateElements(input.type, rows.length * width);
  rows.forEach((row, r) => {
    const where = `row ${r}, input ${JSON.stringify(input.name)}`;
    // hasOwn: an input named like an Object.prototype member must not read it.
    const value = Object.hasOwn(row, input.name) ? row[input.name] : undefined;
    if (value === undefined || value === null) {
      if (!acceptsMissing(input.type)) {
        throw new InvalidArgumentError(
          value === undefined
            ? `row ${r} lacks input ${JSON.stringify(input.name)} (${input.type} inputs take no missing values)`
            : `${where}: null is not allowed (${input.type} inputs take no missing values)`,
        );
      }
      for (let j = 0; j < width; j++) setMissing(data, input.type, r * width + j);
      return;
    }
    if (Array.isArray(value)) {
      if (value.length !== width) {
        throw new InvalidArgumentError(
          `${where}: ${value.length} values for shape ${formatDims(input.dims)} (${width} per row)`,
        );
      }
      value.forEach((v, j) => {
        setElement(data, input.type, r * width + j, v, `${where}, element ${j}`);
      });
      return;
    }
    if (width !== 1) {
      throw new InvalidArgumentError(
        `${where}: ${describe(value)} is not an array of ${width} values (shape ${formatDims(input.dims)})`,
      );
    }
    setElement(data, input.type, r, value, where);
  });
  const dims = input.dims.length === 1 ? [rows.length] : [rows.length, width];
  return { name: input.name, type: input.type, dims, data };
}

/** Values per row: 1 for [-1] and [-1,1], k for [-1,k]; other shapes cannot be rows. */
function rowWidth(input: InputSpec): number {
  const [batch, width, ...rest] = input.dims;
  if (batch !== undefined && rest.length === 0) {
    if (width === undefined) return 1;
    if (width >= 1) return width;
  }
  // The request is what must change (send tensors), so INVALID_ARGUMENT.
  throw new InvalidArgumentError(
    `input ${JSON.stringify(input.name)} has shape ${formatDims(input.dims)}, which rows cannot fill ` +
      "(rows take shapes [-1], [-1,1] or [-1,k]); send inputs as tensors",
  );
}

function acceptsMissing(type: ElementType): boolean {
  return type === "float32" || type === "float64" || type === "string";
}

function setMissing(data: TensorElements, type: ElementType, i: number): void {
  if (type === "string") (data as string[])[i] = "";
  else (data as Float32Array | Float64Array)[i] = Number.NaN;
}

/** Stores one JSON value, checked against the element type. */
function setElement(data: TensorElements, type: ElementType, i: number, v: JsonValue, where: string): void {
  if (v === null) {
    if (!acceptsMissing(type)) {
      throw new InvalidArgumentError(`${where}: null is not allowed (${type} inputs take no missing values)`);
    }
    setMissing(data, type, i);
    return;
  }
  switch (type) {
    case "string":
      if (typeof v !== "string") throw new InvalidArgumentError(`${where}: ${describe(v)} is not a string`);
      (data as string[])[i] = v;
      return;
    case "bool":
      if (typeof v !== "boolean") throw new InvalidArgumentError(`${where}: ${describe(v)} is not a boolean`);
      (data as Uint8Array)[i] = v ? 1 : 0;
      return;
    case "float32": {
      const n = numberValue(v, where);
      if (Math.abs(n) > FLOAT32_MAX) throw new InvalidArgumentError(`${where}: ${n} is out of float32 range`);
      (data as Float32Array)[i] = n;
      return;
    }
    case "float64":
      (data as Float64Array)[i] = numberValue(v, where);
      return;
    case "int32": {
      const n = numberValue(v, where);
      if (!Number.isInteger(n) || n < INT32_MIN || n > INT32_MAX) {
        throw new InvalidArgumentError(
          `${where}: ${n} is not an int32 (an integer from ${INT32_MIN} to ${INT32_MAX})`,
        );
      }
      (data as Int32Array)[i] = n;
      return;
    }
    case "int64": {
      const n = numberValue(v, where);
      // JSON numbers are doubles: beyond 2^53 the client's integer was already rounded.
      if (!Number.isSafeInteger(n)) {
        throw new InvalidArgumentError(
          `${where}: ${n} is not an integer within ±(2^53-1), the exact range of JSON numbers; ` +
            "send larger int64 values as a tensor",
        );
      }
      (data as BigInt64Array)[i] = BigInt(n);
      return;
    }
  }
}

function numberValue(v: JsonValue, where: string): number {
  if (typeof v !== "number") throw new InvalidArgumentError(`${where}: ${describe(v)} is not a number`);
  return v;
}

/** A JSON value as quoted in messages, cut short when long. */
function describe(v: JsonValue): string {
  const text = JSON.stringify(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
