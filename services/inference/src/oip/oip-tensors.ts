/**
 * Conversion between the Open Inference Protocol's (KServe v2) tensors and the service's
 * {@link TensorData}: inputs of ModelInferRequest in, outputs of ModelInferResponse out,
 * either in typed `contents` or as raw little-endian bytes.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { InvalidArgumentError } from "@seam/kit/errors";
import {
  type InferTensorContents,
  InferTensorContentsSchema,
  type ModelInferRequest,
  type ModelInferRequest_InferInputTensor,
  type ModelInferResponse_InferOutputTensorSchema,
} from "@seam/proto/inference/grpc_predict_v2_pb";
import {
  dimsFromShape,
  formatDims,
  fromLittleEndian,
  rawLengthError,
  shapeOf,
  storageOf,
  toLittleEndian,
} from "../tensors/proto-tensors.js";
import {
  type ElementType,
  elementCount,
  RAW_ELEMENT_BYTES,
  type TensorData,
  type TensorElements,
} from "../tensors/tensor-data.js";

type ContentsField =
  | "boolContents"
  | "intContents"
  | "int64Contents"
  | "uintContents"
  | "uint64Contents"
  | "fp32Contents"
  | "fp64Contents"
  | "bytesContents";

/** OIP datatype and contents field (TypeScript and proto name) of each element type. */
const OIP_TYPES: Readonly<Record<ElementType, readonly [datatype: string, ContentsField, string]>> = {
  bool: ["BOOL", "boolContents", "bool_contents"],
  int32: ["INT32", "intContents", "int_contents"],
  int64: ["INT64", "int64Contents", "int64_contents"],
  float32: ["FP32", "fp32Contents", "fp32_contents"],
  float64: ["FP64", "fp64Contents", "fp64_contents"],
  string: ["BYTES", "bytesContents", "bytes_contents"],
};

const ELEMENT_TYPES_BY_DATATYPE: ReadonlyMap<string, ElementType> = new Map(
  Object.entries(OIP_TYPES).map(([type, [datatype]]) => [datatype, type as ElementType]),
);

/** Every contents field with its proto name, to find values in the wrong one. */
const CONTENTS_FIELDS: readonly (readonly [ContentsField, string])[] = [
  ["boolContents", "bool_contents"],
  ["intContents", "int_contents"],
  ["int64Contents", "int64_contents"],
  ["uintContents", "uint_contents"],
  ["uint64Contents", "uint64_contents"],
  ["fp32Contents", "fp32_contents"],
  ["fp64Contents", "fp64_contents"],
  ["bytesContents", "bytes_contents"],
];

/** Datatypes the protocol defines that this server (ONNX Runtime here) does not take. */
const UNSUPPORTED_DATATYPES = new Set([
  "UINT8",
  "UINT16",
  "UINT32",
  "UINT64",
  "INT8",
  "INT16",
  "FP16",
  "BF16",
]);

const SUPPORTED = [...ELEMENT_TYPES_BY_DATATYPE.keys()].join(", ");

/** The OIP datatype of an element type, e.g. "FP32" for float32. */
export function oipDatatypeOf(type: ElementType): string {
  return OIP_TYPES[type][0];
}

/**
 * The element type of an OIP datatype; `what` names the tensor in the error thrown for a
 * datatype this server does not support.
 */
export function elementTypeOfOip(datatype: string, what = "tensor"): ElementType {
  const type = ELEMENT_TYPES_BY_DATATYPE.get(datatype);
  if (type !== undefined) return type;
  const why = UNSUPPORTED_DATATYPES.has(datatype)
    ? "is not supported by this server"
    : "is not an Open Inference Protocol datatype";
  throw new InvalidArgumentError(
    `${what}: datatype ${JSON.stringify(datatype)} ${why} (supported: ${SUPPORTED})`,
  );
}

/**
 * The request's input tensors, in request order. Inputs come either all in `contents`
 * (in the field of their datatype) or all in `raw_input_contents`, one entry per input;
 * element counts must match the shapes.
 */
export function oipInputsToTensors(req: ModelInferRequest): TensorData[] {
  const raw = req.rawInputContents;
  if (raw.length === 0) return req.inputs.map((input) => inputFromContents(input));
  if (raw.length !== req.inputs.length) {
    throw new InvalidArgumentError(
      `raw_input_contents has ${raw.length} entries for ${req.inputs.length} inputs; send one per input, in order`,
    );
  }
  return req.inputs.map((input, i) => {
    const what = `input ${JSON.stringify(input.name)}`;
    const field = CONTENTS_FIELDS.find(([f]) => (input.contents?.[f].length ?? 0) > 0);
    if (field !== undefined) {
      // The spec allows one form per request; accepting both would leave it unclear which wins.
      throw new InvalidArgumentError(
        `${what}: has ${field[1]} but the request carries raw_input_contents; ` +
          "send every input in contents or every input in raw_input_contents",
      );
    }
    return inputFromRaw(input, raw[i] as Uint8Array, `raw_input_contents[${i}]`);
  });
}

function header(input: ModelInferRequest_InferInputTensor): {
  what: string;
  type: ElementType;
  dims: number[];
} {
  const what = `input ${JSON.stringify(input.name)}`;
  return { what, type: elementTypeOfOip(input.datatype, what), dims: dimsFromShape(input.shape, what) };
}

function inputFromContents(input: ModelInferRequest_InferInputTensor): TensorData {
  const { what, type, dims } = header(input);
  const [datatype, field, fieldName] = OIP_TYPES[type];
  const contents = input.contents ?? create(InferTensorContentsSchema);
  for (const [other, otherName] of CONTENTS_FIELDS) {
    if (other !== field && contents[other].length > 0) {
      throw new InvalidArgumentError(
        `${what}: datatype ${datatype} takes ${fieldName}, got ${contents[other].length} ${otherName}`,
      );
    }
  }
  const count = elementCount(dims);
  const got = contents[field].length;
  if (got !== count) {
    throw new InvalidArgumentError(
      `${what}: ${got} ${fieldName} for shape ${formatDims(dims)} (${count} elements)`,
    );
  }
  return { name: input.name, type, dims, data: contentsElements(contents, type, what) };
}

function contentsElements(c: InferTensorContents, type: ElementType, what: string): TensorElements {
  switch (type) {
    case "bool":
      return Uint8Array.from(c.boolContents, (b) => (b ? 1 : 0));
    case "int32":
      return Int32Array.from(c.intContents);
    case "int64":
      return BigInt64Array.from(c.int64Contents);
    case "float32":
      return Float32Array.from(c.fp32Contents);
    case "float64":
      return Float64Array.from(c.fp64Contents);
    case "string":
      return c.bytesContents.map((b, i) => utf8(b, what, i));
  }
}

function inputFromRaw(
  input: ModelInferRequest_InferInputTensor,
  bytes: Uint8Array,
  field: string,
): TensorData {
  const { what, type, dims } = header(input);
  const count = elementCount(dims);
  if (type === "string")
    return { name: input.name, type, dims, data: stringsFromRaw(bytes, dims, what, field) };
  if (bytes.length !== count * RAW_ELEMENT_BYTES[type]) {
    throw rawLengthError(what, field, bytes.length, dims, type, oipDatatypeOf(type));
  }
  return { name: input.name, type, dims, data: fromLittleEndian(type, bytes) };
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

function utf8(bytes: Uint8Array, what: string, i: number): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    // Models take strings, so bytes that are not text cannot be passed on.
    throw new InvalidArgumentError(`${what}: BYTES element ${i} is not valid UTF-8`);
  }
}

/** Raw BYTES: per element a 4-byte little-endian length, then that many bytes (KServe spec). */
function stringsFromRaw(bytes: Uint8Array, dims: readonly number[], what: string, field: string): string[] {
  const count = elementCount(dims);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (out.length === count) {
      throw new InvalidArgumentError(
        `${what}: ${field} has ${bytes.length - at} bytes after the ${count} BYTES elements of shape ${formatDims(dims)}`,
      );
    }
    if (at + 4 > bytes.length) {
      throw new InvalidArgumentError(
        `${what}: ${field} ends inside the 4-byte length prefix of BYTES element ${out.length}`,
      );
    }
    const length = view.getUint32(at, true);
    at += 4;
    if (at + length > bytes.length) {
      throw new InvalidArgumentError(
        `${what}: ${field} ends inside BYTES element ${out.length} (length prefix ${length}, ${bytes.length - at} bytes left)`,
      );
    }
    out.push(utf8(bytes.subarray(at, at + length), what, out.length));
    at += length;
  }
  if (out.length !== count) {
    throw new InvalidArgumentError(
      `${what}: ${field} holds ${out.length} BYTES elements for shape ${formatDims(dims)} (${count} elements)`,
    );
  }
  return out;
}

const UTF8_ENCODER = new TextEncoder();

/** Strings as raw BYTES: 4-byte little-endian length prefix, then the UTF-8 bytes, per element. */
function stringsToRaw(strings: readonly string[]): Uint8Array {
  const encoded = strings.map((s) => UTF8_ENCODER.encode(s));
  const out = new Uint8Array(encoded.reduce((n, e) => n + 4 + e.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const e of encoded) {
    view.setUint32(at, e.length, true);
    out.set(e, at + 4);
    at += 4 + e.length;
  }
  return out;
}

/** A response output as an init object: what create() and the ModelInfer response encoder take. */
export type OutputTensorInit = MessageInitShape<typeof ModelInferResponse_InferOutputTensorSchema>;

type ContentsInit = MessageInitShape<typeof InferTensorContentsSchema>;

/**
 * Tensors as the response's outputs: with `raw`, each output's elements go as little-endian
 * bytes (length-prefixed for BYTES) in `rawOutputContents`, one entry per output in order,
 * and no output has contents; without, they go in the contents field of their datatype.
 * Init objects, not messages: responses are encoded straight from them.
 */
export function tensorsToOipOutputs(
  tensors: readonly TensorData[],
  raw: boolean,
): { outputs: OutputTensorInit[]; rawOutputContents: Uint8Array[] } {
  const outputs = tensors.map(
    (t): OutputTensorInit =>
      raw
        ? { name: t.name, datatype: oipDatatypeOf(t.type), shape: shapeOf(t.dims) }
        : { name: t.name, datatype: oipDatatypeOf(t.type), shape: shapeOf(t.dims), contents: contentsOf(t) },
  );
  const rawOutputContents = raw
    ? tensors.map((t) =>
        t.type === "string"
          ? stringsToRaw(storageOf(t, "string"))
          : toLittleEndian(t.type, storageOf(t, t.type)),
      )
    : [];
  return { outputs, rawOutputContents };
}

function contentsOf(t: TensorData): ContentsInit {
  switch (t.type) {
    case "bool":
      return { boolContents: Array.from(storageOf(t, "bool"), (b) => b !== 0) };
    case "int32":
      return { intContents: Array.from(storageOf(t, "int32")) };
    case "int64":
      return { int64Contents: Array.from(storageOf(t, "int64")) };
    case "float32":
      return { fp32Contents: Array.from(storageOf(t, "float32")) };
    case "float64":
      return { fp64Contents: Array.from(storageOf(t, "float64")) };
    case "string":
      return { bytesContents: storageOf(t, "string").map((s) => UTF8_ENCODER.encode(s)) };
  }
}
