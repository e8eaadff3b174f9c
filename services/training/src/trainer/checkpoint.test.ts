import { DataLossError } from "@seam/kit/errors";
import { describe, expect, it } from "vitest";
import type { DenseLayer } from "../model/trained-model.js";
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from "./checkpoint.js";

const layer = (
  inputs: number,
  units: number,
  activation: DenseLayer["activation"],
  start: number,
): DenseLayer => ({
  inputs,
  units,
  kernel: Float32Array.from({ length: inputs * units }, (_, i) => start + i / 7),
  bias: Float32Array.from({ length: units }, (_, i) => -start - i / 3),
  activation,
});

const checkpoint: Checkpoint = {
  epoch: 3,
  layers: [layer(4, 3, "relu", 1), layer(3, 1, "sigmoid", 2)],
  bestEpoch: 2,
  bestMetric: 0.25,
  bestLayers: [layer(4, 3, "relu", 3), layer(3, 1, "sigmoid", 4)],
  history: [1, 2, 3].map((epoch) => ({
    epoch,
    metrics: { loss: 1 / epoch, val_loss: epoch === 3 ? Number.NaN : 0.5, val_auc: Number.POSITIVE_INFINITY },
    samplesPerSecond: 1000 * epoch,
    endTime: 1_700_000_000_000 + epoch,
  })),
  optimizerState: {
    optimizer: "adam",
    iterations: 21,
    slots: [
      {
        name: "dense/kernel/m",
        shape: [4, 3],
        values: Float32Array.from({ length: 12 }, (_, i) => i * 1e-3),
      },
    ],
  },
};

describe("checkpoint encoding", () => {
  it("round-trips every field exactly, non-finite figures included", () => {
    expect(decodeCheckpoint(encodeCheckpoint(checkpoint))).toEqual(checkpoint);
    const minimal: Checkpoint = {
      epoch: 1,
      layers: [layer(2, 1, "linear", 0)],
      bestEpoch: 0,
      bestMetric: null,
      history: [],
    };
    expect(decodeCheckpoint(encodeCheckpoint(minimal))).toEqual(minimal);
  });

  it("stores weights as raw float32 after a JSON header", () => {
    const bytes = encodeCheckpoint(checkpoint);
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe("SEAMCKPT");
    const floats = 12 + 3 + 3 + 1 + (12 + 3 + 3 + 1) + 12;
    const headerLength = new DataView(bytes.buffer).getUint32(12, true);
    expect(bytes.length).toBe(16 + Math.ceil(headerLength / 4) * 4 + floats * 4);
  });

  it("decodes from any byte offset", () => {
    const bytes = encodeCheckpoint(checkpoint);
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    expect(decodeCheckpoint(shifted.subarray(3))).toEqual(checkpoint);
  });

  it("refuses bytes that are not a valid checkpoint with DataLossError", () => {
    const bytes = encodeCheckpoint(checkpoint);
    expect(() => decodeCheckpoint(new TextEncoder().encode("hello, world, not a checkpoint"))).toThrow(
      DataLossError,
    );
    expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 4))).toThrow(DataLossError);
    expect(() => decodeCheckpoint(bytes.subarray(0, 40))).toThrow(DataLossError);
    const mismatched = encodeCheckpoint({ ...checkpoint, layers: [{ ...layer(4, 3, "relu", 1), units: 2 }] });
    expect(() => decodeCheckpoint(mismatched)).toThrow(/kernel or bias does not match/);
    const version2 = bytes.slice();
    new DataView(version2.buffer).setUint32(8, 2, true);
    expect(() => decodeCheckpoint(version2)).toThrow(/version 2/);
  });
});
