/**
 * The service's own tensor: what every protocol (Seam's Predict, the Open Inference
 * Protocol, rows, entity keys) is converted to before validation and batching, and what
 * ONNX Runtime tensors are built from. Element types are ONNX Runtime's names.
 */
export type ElementType = "float32" | "float64" | "int32" | "int64" | "bool" | "string";

/** Typed storage of each element type (bool as one byte per element, as ONNX Runtime wants). */
export interface ElementStorage {
  float32: Float32Array;
  float64: Float64Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
  string: string[];
}

/** Elements of any type, row-major. */
export type TensorElements = ElementStorage[ElementType];

/** A named, typed, shaped array. `data.length` is the product of `dims`. */
export interface TensorData {
  readonly name: string;
  readonly type: ElementType;
  readonly dims: readonly number[];
  readonly data: TensorElements;
}

/** Every element type the service accepts. */
export const ELEMENT_TYPES: readonly ElementType[] = [
  "float32",
  "float64",
  "int32",
  "int64",
  "bool",
  "string",
];

/** Bytes per element in raw little-endian form; strings have no raw form. */
export const RAW_ELEMENT_BYTES: Readonly<Record<Exclude<ElementType, "string">, number>> = {
  float32: 4,
  float64: 8,
  int32: 4,
  int64: 8,
  bool: 1,
};

/** Product of the dimensions (1 for a scalar). */
export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** An empty storage of the type, `length` elements long. */
export function allocateElements(type: ElementType, length: number): TensorElements {
  switch (type) {
    case "float32":
      return new Float32Array(length);
    case "float64":
      return new Float64Array(length);
    case "int32":
      return new Int32Array(length);
    case "int64":
      return new BigInt64Array(length);
    case "bool":
      return new Uint8Array(length);
    case "string":
      return new Array<string>(length).fill("");
  }
}
