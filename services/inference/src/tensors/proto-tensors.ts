/**
 * Conversion between Seam's protobuf `Tensor` and the service's {@link TensorData}, plus
 * the little-endian and shape helpers the Open Inference Protocol conversion shares.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { InvalidArgumentError } from "@seam/kit/errors";
import { DataType, type Tensor, type TensorSchema } from "@seam/proto/seam/inference/v1/inference_pb";
import {
  type ElementStorage,
  type ElementType,
  elementCount,
  RAW_ELEMENT_BYTES,
  type TensorData,
  type TensorElements,
} from "./tensor-data.js";

/** Element types that have a raw little-endian form (all but string). */
export type NumericElementType = Exclude<ElementType, "string">;

const DATA_TYPES: Readonly<Record<ElementType, DataType>> = {
  float32: DataType.FLOAT32,
  float64: DataType.FLOAT64,
  int32: DataType.INT32,
  int64: DataType.INT64,
  bool: DataType.BOOL,
  string: DataType.STRING,
};

const ELEMENT_TYPES_BY_DATA_TYPE: ReadonlyMap<DataType, ElementType> = new Map(
  Object.entries(DATA_TYPES).map(([type, dt]) => [dt, type as ElementType]),
);

/** The proto data type of an element type. */
export function dataTypeOf(type: ElementType): DataType {
  return DATA_TYPES[type];
}

/**
 * The element type of a proto data type; `what` names the tensor in the error thrown for
 * DATA_TYPE_UNSPECIFIED or an unknown enum number.
 */
export function elementTypeOf(dt: DataType, what = "tensor"): ElementType {
  const type = ELEMENT_TYPES_BY_DATA_TYPE.get(dt);
  if (type === undefined) {
    const got = dt === DataType.UNSPECIFIED ? "DATA_TYPE_UNSPECIFIED" : `unknown data_type ${dt}`;
    throw new InvalidArgumentError(
      `${what}: ${got}; expected one of ${[...ELEMENT_TYPES_BY_DATA_TYPE.keys()].map(dataTypeName).join(", ")}`,
    );
  }
  return type;
}

function dataTypeName(dt: DataType): string {
  return `DATA_TYPE_${DataType[dt] ?? dt}`;
}

/**
 * Dimensions from a protobuf int64 shape; `what` names the tensor in the error thrown for
 * a negative dimension or one beyond 2^53 (no real tensor has that many elements).
 */
export function dimsFromShape(shape: readonly bigint[], what: string): number[] {
  const dims = new Array<number>(shape.length);
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i] as bigint;
    if (d < 0n || d > MAX_DIMENSION) {
      throw new InvalidArgumentError(
        `${what}: dimension ${i} of shape [${shape.join(",")}] is ${d}; expected a size of 0 or more`,
      );
    }
    dims[i] = Number(d);
  }
  return dims;
}

const MAX_DIMENSION = BigInt(Number.MAX_SAFE_INTEGER);

/** Shape as written in error messages, e.g. `[2,4]`. */
export function formatDims(dims: readonly number[]): string {
  return `[${dims.join(",")}]`;
}

/**
 * The tensor's storage, checked against its declared type: a mismatch is a bug in the
 * service (not the request), so it throws a plain Error.
 */
export function storageOf<T extends ElementType>(t: TensorData, type: T): ElementStorage[T] {
  const ok =
    type === "string" ? Array.isArray(t.data) : t.data instanceof STORAGE_CLASSES[type as NumericElementType];
  if (t.type !== type || !ok)
    throw new Error(`tensor "${t.name}" of type ${t.type} does not hold ${type} data`);
  return t.data as ElementStorage[T];
}

const STORAGE_CLASSES = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  bool: Uint8Array,
} as const;

/**
 * Elements as little-endian bytes, in a fresh buffer. DataView keeps it right on any host
 * byte order and costs about as much as a copy.
 */
export function toLittleEndian(type: NumericElementType, data: TensorElements): Uint8Array {
  const size = RAW_ELEMENT_BYTES[type];
  const out = new Uint8Array(data.length * size);
  const view = new DataView(out.buffer);
  switch (type) {
    case "float32": {
      const src = data as Float32Array;
      for (let i = 0; i < src.length; i++) view.setFloat32(i * 4, src[i] as number, true);
      break;
    }
    case "float64": {
      const src = data as Float64Array;
      for (let i = 0; i < src.length; i++) view.setFloat64(i * 8, src[i] as number, true);
      break;
    }
    case "int32": {
      const src = data as Int32Array;
      for (let i = 0; i < src.length; i++) view.setInt32(i * 4, src[i] as number, true);
      break;
    }
    case "int64": {
      const src = data as BigInt64Array;
      for (let i = 0; i < src.length; i++) view.setBigInt64(i * 8, src[i] as bigint, true);
      break;
    }
    case "bool":
      out.set(data as Uint8Array);
      break;
  }
  return out;
}

/**
 * Elements from little-endian bytes whose length is a multiple of the element size (the
 * caller checks it against the shape). Reads through a DataView, so `bytes` may be an
 * unaligned view into a protobuf buffer; the result owns fresh memory. Bool bytes other
 * than 0 count as true (1), as in NumPy and C.
 */
export function fromLittleEndian(type: NumericElementType, bytes: Uint8Array): TensorElements {
  const n = Math.floor(bytes.byteLength / RAW_ELEMENT_BYTES[type]);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (type) {
    case "float32": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    }
    case "float64": {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    }
    case "int32": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
      return out;
    }
    case "int64": {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getBigInt64(i * 8, true);
      return out;
    }
    case "bool": {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = bytes[i] === 0 ? 0 : 1;
      return out;
    }
  }
}

/**
 * The error for raw bytes of the wrong length, e.g. `input "x": raw has 30 bytes for shape
 * [2,4] (8 float32 elements of 4 bytes = 32 bytes)`.
 */
export function rawLengthError(
  what: string,
  field: string,
  got: number,
  dims: readonly number[],
  type: NumericElementType,
  typeName: string = type,
): InvalidArgumentError {
  const count = elementCount(dims);
  const size = RAW_ELEMENT_BYTES[type];
  return new InvalidArgumentError(
    `${what}: ${field} has ${got} bytes for shape ${formatDims(dims)} ` +
      `(${count} ${typeName} elements of ${size} bytes = ${count * size} bytes)`,
  );
}

type TypedField =
  | "floatValues"
  | "doubleValues"
  | "int32Values"
  | "int64Values"
  | "boolValues"
  | "stringValues";

/** Each element type's typed field, by TypeScript and by proto name (for messages). */
const TYPED_FIELDS: Readonly<Record<ElementType, readonly [TypedField, string]>> = {
  float32: ["floatValues", "float_values"],
  float64: ["doubleValues", "double_values"],
  int32: ["int32Values", "int32_values"],
  int64: ["int64Values", "int64_values"],
  bool: ["boolValues", "bool_values"],
  string: ["stringValues", "string_values"],
};

const ALL_TYPED_FIELDS = Object.values(TYPED_FIELDS);

/**
 * A proto Tensor as TensorData. The elements must be in exactly one place: the typed field
 * of `data_type`, or `raw` (little-endian, not for strings), and their count must match the
 * shape. Errors name it as `input "<name>"`: requests are where proto tensors come in.
 */
export function tensorFromProto(t: Tensor): TensorData {
  const what = `input ${JSON.stringify(t.name)}`;
  const type = elementTypeOf(t.dataType, what);
  const dims = dimsFromShape(t.shape, what);
  const count = elementCount(dims);
  const [field, fieldName] = TYPED_FIELDS[type];

  // Values in another type's field are most likely a client bug; silently ignoring them
  // would feed the model zeros.
  for (const [other, otherName] of ALL_TYPED_FIELDS) {
    if (other !== field && t[other].length > 0) {
      throw new InvalidArgumentError(
        `${what}: data_type ${dataTypeName(t.dataType)} takes ${fieldName}` +
          `${type === "string" ? "" : " or raw"}, got ${t[other].length} ${otherName}`,
      );
    }
  }

  const typedLength = t[field].length;
  if (t.raw.length > 0) {
    if (type === "string") {
      throw new InvalidArgumentError(
        `${what}: raw is not allowed for data_type ${dataTypeName(t.dataType)}; send string_values`,
      );
    }
    if (typedLength > 0) {
      throw new InvalidArgumentError(`${what}: both ${fieldName} and raw are set; send one of them`);
    }
    if (t.raw.length !== count * RAW_ELEMENT_BYTES[type]) {
      throw rawLengthError(what, "raw", t.raw.length, dims, type);
    }
    return { name: t.name, type, dims, data: fromLittleEndian(type, t.raw) };
  }

  if (typedLength !== count) {
    throw new InvalidArgumentError(
      `${what}: ${typedLength} ${fieldName} for shape ${formatDims(dims)} (${count} elements)`,
    );
  }
  return { name: t.name, type, dims, data: typedElements(t, type) };
}

function typedElements(t: Tensor, type: ElementType): TensorElements {
  switch (type) {
    case "float32":
      return Float32Array.from(t.floatValues);
    case "float64":
      return Float64Array.from(t.doubleValues);
    case "int32":
      return Int32Array.from(t.int32Values);
    case "int64":
      return BigInt64Array.from(t.int64Values);
    case "bool":
      return Uint8Array.from(t.boolValues, (b) => (b ? 1 : 0));
    case "string":
      return [...t.stringValues];
  }
}

/** A proto Tensor as an init object: what create() and the Predict response encoder take. */
export type TensorInit = MessageInitShape<typeof TensorSchema>;

/**
 * TensorData as a proto Tensor: elements as little-endian bytes in `raw` when `raw` is
 * true, else in the typed field. Strings have no raw form and always go in string_values.
 * An init object, not a message: responses are encoded straight from it.
 */
// Array.from, not a copying loop, even though it costs more: V8's Array.from turns the NaN
// ONNX Runtime computes on x86 (0xffc00000) into the canonical 0x7fc00000, and responses
// have always carried that one.
export function tensorToProto(t: TensorData, raw: boolean): TensorInit {
  const name = t.name;
  const dataType = dataTypeOf(t.type);
  const shape = shapeOf(t.dims);
  if (t.type === "string") return { name, dataType, shape, stringValues: [...storageOf(t, "string")] };
  if (raw) return { name, dataType, shape, raw: toLittleEndian(t.type, storageOf(t, t.type)) };
  switch (t.type) {
    case "float32":
      return { name, dataType, shape, floatValues: Array.from(storageOf(t, "float32")) };
    case "float64":
      return { name, dataType, shape, doubleValues: Array.from(storageOf(t, "float64")) };
    case "int32":
      return { name, dataType, shape, int32Values: Array.from(storageOf(t, "int32")) };
    case "int64":
      return { name, dataType, shape, int64Values: Array.from(storageOf(t, "int64")) };
    case "bool":
      return { name, dataType, shape, boolValues: Array.from(storageOf(t, "bool"), (b) => b !== 0) };
  }
}

/** Dimensions as a protobuf int64 shape. */
export function shapeOf(dims: readonly number[]): bigint[] {
  const shape = new Array<bigint>(dims.length);
  for (let i = 0; i < dims.length; i++) shape[i] = BigInt(dims[i] as number);
  return shape;
}
