/**
 * A training run's state after an epoch, enough to resume it at the next epoch, and its
 * byte encoding.
 *
 * Encoding (version 1), little-endian:
 *
 *     bytes 0-7    "SEAMCKPT"
 *     bytes 8-11   uint32 format version (1)
 *     bytes 12-15  uint32 byte length H of the header
 *     16 … 16+H    header: UTF-8 JSON of the Checkpoint, each Float32Array replaced by
 *                  {"$f32": [offset, length]} (in float32 values from the payload's start)
 *                  and each non-finite number by {"$num": "NaN" | "Infinity" | "-Infinity"}
 *     zero padding to a multiple of 4 bytes
 *     payload      the float32 values of all arrays, back to back
 *
 * JSON keeps the structure readable and easy to evolve; the weights stay raw float32 (a
 * quarter of base64-in-JSON's size and exact).
 */
import { DataLossError } from "@seam/kit/errors";
import { z } from "zod";
import type { DenseLayer } from "../model/trained-model.js";
import type { EpochMetrics } from "./metrics.js";

/** An optimizer's slots (Adam's moments) and step count, so a resumed run continues exactly. */
export interface OptimizerState {
  readonly optimizer: "adam" | "sgd";
  /** Batches applied so far. */
  readonly iterations: number;
  /** Slot variables in the optimizer's order (Adam: every first moment, then every second). */
  readonly slots: readonly {
    readonly name: string;
    readonly shape: readonly number[];
    readonly values: Float32Array;
  }[];
}

/** A training run's state after a finished epoch. */
export interface Checkpoint {
  /** Epochs finished: the last one's number (from 1). A resumed run starts at epoch + 1. */
  readonly epoch: number;
  /**
   * The weights after `epoch`, as a TrainedModel holds them (output activation by task,
   * regression outputs in label units).
   */
  readonly layers: readonly DenseLayer[];
  /** Early stopping's best epoch so far; 0 without early stopping. */
  readonly bestEpoch: number;
  /** The early-stopping metric at bestEpoch; null without early stopping. */
  readonly bestMetric: number | null;
  /** The weights after bestEpoch, when that is not `epoch`. */
  readonly bestLayers?: readonly DenseLayer[];
  /** Every finished epoch's figures, in order. */
  readonly history: readonly EpochMetrics[];
  /** The optimizer's state; without it a resumed run restarts the optimizer (e.g. Adam's moments at 0). */
  readonly optimizerState?: OptimizerState;
}

const MAGIC = "SEAMCKPT";
const VERSION = 1;
const PREFIX = 16;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Encodes a checkpoint (see the module comment for the format). */
export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  const arrays: Float32Array[] = [];
  let floats = 0;
  const header = JSON.stringify(checkpoint, (_key, value: unknown) => {
    if (value instanceof Float32Array) {
      arrays.push(value);
      floats += value.length;
      return { $f32: [floats - value.length, value.length] };
    }
    if (typeof value === "number" && !Number.isFinite(value)) return { $num: String(value) };
    return value;
  });
  const headerBytes = new TextEncoder().encode(header);
  const payloadStart = PREFIX + Math.ceil(headerBytes.length / 4) * 4;
  const bytes = new Uint8Array(payloadStart + floats * 4);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(8, VERSION, true);
  view.setUint32(12, headerBytes.length, true);
  bytes.set(headerBytes, PREFIX);
  let offset = payloadStart;
  for (const array of arrays) {
    if (LITTLE_ENDIAN) {
      bytes.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), offset);
    } else {
      for (let i = 0; i < array.length; i++) view.setFloat32(offset + 4 * i, array[i] as number, true);
    }
    offset += array.byteLength;
  }
  return bytes;
}

const float32Array = z.instanceof(Float32Array);
// z.number() refuses NaN and ±Infinity, which a diverging run's figures can hold.
const anyNumber = z.custom<number>((v) => typeof v === "number", "expected a number");

const denseLayerSchema = z
  .object({
    inputs: z.int().min(1),
    units: z.int().min(1),
    kernel: float32Array,
    bias: float32Array,
    activation: z.enum(["relu", "tanh", "sigmoid", "linear", "softmax"]),
  })
  .refine((l) => l.kernel.length === l.inputs * l.units && l.bias.length === l.units, {
    message: "a layer's kernel or bias does not match its inputs and units",
  });

const layersSchema = z.array(denseLayerSchema).min(1);

const checkpointSchema = z.object({
  epoch: z.int().min(0),
  layers: layersSchema,
  bestEpoch: z.int().min(0),
  bestMetric: anyNumber.nullable(),
  bestLayers: layersSchema.optional(),
  history: z.array(
    z.object({
      epoch: z.int().min(1),
      metrics: z.record(z.string(), anyNumber),
      samplesPerSecond: anyNumber,
      endTime: anyNumber,
    }),
  ),
  optimizerState: z
    .object({
      optimizer: z.enum(["adam", "sgd"]),
      iterations: z.int().min(0),
      slots: z.array(z.object({ name: z.string(), shape: z.array(z.int().min(0)), values: float32Array })),
    })
    .optional(),
});

/** Decodes what {@link encodeCheckpoint} made; DataLossError when the bytes are not a valid checkpoint. */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  if (bytes.length < PREFIX || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new DataLossError("not a training checkpoint");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== VERSION) throw new DataLossError(`unknown checkpoint format version ${version}`);
  const headerLength = view.getUint32(12, true);
  const payloadStart = PREFIX + Math.ceil(headerLength / 4) * 4;
  if (payloadStart > bytes.length || (bytes.length - payloadStart) % 4 !== 0) {
    throw new DataLossError("truncated training checkpoint");
  }
  const payloadFloats = (bytes.length - payloadStart) / 4;
  let parsed: unknown;
  try {
    const header = new TextDecoder("utf-8", { fatal: true }).decode(
      bytes.subarray(PREFIX, PREFIX + headerLength),
    );
    parsed = JSON.parse(header, (_key, value: unknown) => {
      if (typeof value !== "object" || value === null) return value;
      if ("$f32" in value) {
        const [offset, length] = (value as { $f32: [number, number] }).$f32;
        if (
          !Number.isInteger(offset) ||
          !Number.isInteger(length) ||
          offset < 0 ||
          length < 0 ||
          offset + length > payloadFloats
        ) {
          throw new RangeError("array outside the payload");
        }
        return readFloats(bytes, payloadStart + offset * 4, length);
      }
      if ("$num" in value) return Number((value as { $num: string }).$num);
      return value;
    });
  } catch (err) {
    throw new DataLossError(
      `corrupt training checkpoint header: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const result = checkpointSchema.safeParse(parsed);
  if (!result.success)
    throw new DataLossError(`invalid training checkpoint: ${z.prettifyError(result.error)}`);
  const { bestLayers, optimizerState, ...rest } = result.data;
  return {
    ...rest,
    ...(bestLayers === undefined ? {} : { bestLayers }),
    ...(optimizerState === undefined ? {} : { optimizerState }),
  };
}

/** A fresh, aligned copy of `length` little-endian float32 values at byte `start`. */
function readFloats(bytes: Uint8Array, start: number, length: number): Float32Array {
  if (LITTLE_ENDIAN) return new Float32Array(bytes.slice(start, start + length * 4).buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = view.getFloat32(start + 4 * i, true);
  return out;
}
