import { allocateElements, type TensorData, type TensorElements } from "../tensors/tensor-data.js";

/**
 * Stacks requests along the first dimension: one tensor per input, its rows the
 * requests' rows in order. Every request has the same inputs in the same order and
 * matching non-batch dimensions (the batcher groups only those).
 */
export function concatRows(requests: readonly (readonly TensorData[])[]): TensorData[] {
  const first = requests[0] ?? [];
  return first.map((template, i) => {
    const parts = requests.map((inputs) => inputs[i] as TensorData);
    const rows = parts.reduce((sum, t) => sum + (t.dims[0] ?? 1), 0);
    const length = parts.reduce((sum, t) => sum + t.data.length, 0);
    const data = allocateElements(template.type, length);
    let offset = 0;
    for (const part of parts) {
      copyInto(data, part.data, offset);
      offset += part.data.length;
    }
    return { name: template.name, type: template.type, dims: [rows, ...template.dims.slice(1)], data };
  });
}

/** Rows [offset, offset + rows) of every tensor (views, not copies, for typed arrays). */
export function sliceRows(tensors: readonly TensorData[], offset: number, rows: number): TensorData[] {
  return tensors.map((tensor) => {
    const total = tensor.dims[0] ?? 1;
    const perRow = total === 0 ? 0 : tensor.data.length / total;
    const start = offset * perRow;
    const end = start + rows * perRow;
    const data = Array.isArray(tensor.data)
      ? tensor.data.slice(start, end)
      : tensor.data.subarray(start, end);
    return { name: tensor.name, type: tensor.type, dims: [rows, ...tensor.dims.slice(1)], data };
  });
}

function copyInto(target: TensorElements, source: TensorElements, offset: number): void {
  if (Array.isArray(target)) {
    const strings = source as string[];
    for (let i = 0; i < strings.length; i++) target[offset + i] = strings[i] as string;
    return;
  }
  // Same element type on both sides: a typed-array copy.
  (target as Float32Array).set(source as Float32Array, offset);
}
