import type { Client } from "@connectrpc/connect";
import { type DatasetService, Split } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { RecordBatchReader } from "apache-arrow";
import type { ResolvedColumns } from "../jobs/validate-spec.js";

/** One input column's values, in row order over train, then validation, then test rows. */
export interface LoadedColumn {
  readonly name: string;
  readonly kind: "numeric" | "categorical";
  readonly values: Array<number | null> | Array<string | null>;
}

/** A job's data, read from its dataset version's three splits. */
export interface LoadedData {
  readonly columns: LoadedColumn[];
  /** Name of the label column. */
  readonly labelColumn: string;
  /** Label per row: text for classification (class values), numbers for regression; null when missing. */
  readonly labels: Array<string | null> | Array<number | null>;
  /** Row indexes of each split. */
  readonly splits: { readonly train: number[]; readonly validation: number[]; readonly test: number[] };
}

/**
 * Reads the feature and label columns of each split of a version through the dataset
 * service (Arrow record batches), as plain arrays: int64, float64 and bool become numbers
 * (bool 1/0), strings stay strings; for classification labels become their text.
 */
export async function loadData(
  client: Client<typeof DatasetService>,
  dataset: string,
  version: string,
  columns: ResolvedColumns,
  classification: boolean,
  signal?: AbortSignal,
): Promise<LoadedData> {
  const names = [...columns.features.map((f) => f.name), columns.label.name];
  const values: unknown[][] = names.map(() => []);
  const splits = { train: [] as number[], validation: [] as number[], test: [] as number[] };
  let row = 0;
  for (const [split, indexes] of [
    [Split.TRAIN, splits.train],
    [Split.VALIDATION, splits.validation],
    [Split.TEST, splits.test],
  ] as const) {
    const messages = client.readDatasetVersion(
      { dataset, version, columns: names, split },
      signal === undefined ? {} : { signal },
    );
    async function* bytes(): AsyncGenerator<Uint8Array> {
      for await (const message of messages) yield message.arrowIpc;
    }
    for await (const batch of await RecordBatchReader.from(bytes())) {
      const vectors = names.map((_, i) => batch.getChildAt(i));
      for (let r = 0; r < batch.numRows; r++) {
        for (let c = 0; c < names.length; c++) values[c]?.push(vectors[c]?.get(r) ?? null);
        indexes.push(row++);
      }
    }
  }
  const loaded = columns.features.map((feature, c) => ({
    name: feature.name,
    kind: feature.kind,
    // An empty string is missing, as in the exported ONNX graph (string inputs cannot be null).
    values: (values[c] ?? []).map((v) =>
      feature.kind === "categorical" ? (v === "" ? null : (v as string | null)) : toNumber(v),
    ) as Array<number | null> | Array<string | null>,
  }));
  const rawLabels = values[names.length - 1] ?? [];
  const labels = classification
    ? rawLabels.map((v) => (v === null ? null : String(v)))
    : rawLabels.map((v) => toNumber(v));
  return { columns: loaded, labelColumn: columns.label.name, labels, splits };
}

function toNumber(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "boolean") return value ? 1 : 0;
  return value as number;
}
