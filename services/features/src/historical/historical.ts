import type { MessageInitShape } from "@bufbuild/protobuf";
import { encodeIpcStream } from "@seam/datasets/arrow-ipc";
import { toArrowSchema } from "@seam/datasets/ingest";
import { InvalidArgumentError } from "@seam/kit/errors";
import { checkDescription, checkResourceName } from "@seam/kit/naming";
import { ColumnType, type DatasetVersion } from "@seam/proto/seam/datasets/v1/datasets_pb";
import type {
  GetHistoricalFeaturesRequest,
  GetHistoricalFeaturesResponseSchema,
} from "@seam/proto/seam/features/v1/features_pb";
import {
  Schema as ArrowSchema,
  type Data,
  type Field,
  makeData,
  RecordBatch,
  Struct,
  vectorFromArray,
} from "apache-arrow";
import type { DatasetsAccess } from "../datasets-access.js";
import type { SelectedPart, Selection } from "../definitions/catalog.js";
import { entityKeyFromArrow } from "../entity-key.js";
import { sourceColumns } from "../source-columns.js";
import { type ArrowValue, aTypeName } from "../values.js";
import { Timeline } from "./timeline.js";

const DEFAULT_TIMESTAMP_COLUMN = "event_timestamp";

/** One selected view, indexed for lookups: entity key → timeline of its source rows. */
interface IndexedPart {
  readonly part: SelectedPart;
  readonly source: DatasetVersion;
  readonly timelines: Map<string, Timeline>;
  /** Output field per selected feature. */
  readonly fields: Field[];
  /** Index of each entity join key among the entity dataset's columns. */
  readonly keyColumns: number[];
}

/**
 * GetHistoricalFeatures: for every row of the entity dataset version, attaches per selected
 * view the values of the latest source row of its entity at or before the row's timestamp
 * and within the view's TTL (nulls otherwise, and for rows with a null key or timestamp),
 * keeping every entity column. The result is uploaded as a new version of the output
 * dataset with the entity version and the source versions as parents.
 */
export async function getHistoricalFeatures(
  request: GetHistoricalFeaturesRequest,
  selection: Selection,
  datasets: DatasetsAccess,
  signal?: AbortSignal,
): Promise<MessageInitShape<typeof GetHistoricalFeaturesResponseSchema>> {
  checkResourceName(request.entityDataset, "dataset", "entity_dataset");
  checkResourceName(request.outputDataset, "dataset", "output_dataset");
  checkDescription(request.description, "description");
  const timestampColumn = request.timestampColumn === "" ? DEFAULT_TIMESTAMP_COLUMN : request.timestampColumn;
  const entityVersion = await datasets.getVersion(request.entityDataset, request.entityVersion, signal);
  const entityColumns = entityVersion.schema?.columns ?? [];
  const columnIndex = new Map(entityColumns.map((c, i) => [c.name, i]));

  const timestampIndex = columnIndex.get(timestampColumn);
  if (timestampIndex === undefined || entityColumns[timestampIndex]?.type !== ColumnType.TIMESTAMP) {
    throw new InvalidArgumentError(
      `timestamp_column: entity dataset ${entityVersion.ref} has no timestamp column "${timestampColumn}"`,
    );
  }
  const featureColumns = outputNames(selection, new Set(columnIndex.keys()), request.fullFeatureNames);

  const parts: IndexedPart[] = [];
  let f = 0;
  for (const part of selection.parts) {
    const keyColumns = part.view.joinKeys.map((key) => {
      const index = columnIndex.get(key.name);
      if (index === undefined || entityColumns[index]?.type !== key.type) {
        throw new InvalidArgumentError(
          `entity dataset ${entityVersion.ref} needs ${aTypeName(key.type)} column "${key.name}" (a join key of feature view ${part.view.name})`,
        );
      }
      return index;
    });
    const names = featureColumns.slice(f, f + part.features.length);
    f += part.features.length;
    const fields = toArrowSchema(
      part.features.map((feature, i) => ({ name: names[i] as string, type: feature.type, nullable: true })),
    ).fields;
    parts.push(await indexSource(part, datasets, fields, keyColumns, signal));
  }

  const entitySchema = toArrowSchema(
    entityColumns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable })),
  );
  const outputSchema = new ArrowSchema([...entitySchema.fields, ...parts.flatMap((p) => p.fields)]);
  const batches = joinBatches(
    datasets.readBatches(
      entityVersion.dataset,
      entityVersion.id,
      entityColumns.map((c) => c.name),
      signal,
    ),
    parts,
    timestampIndex,
    outputSchema,
  );
  async function* ipc(): AsyncGenerator<Uint8Array> {
    for await (const chunk of encodeIpcStream(outputSchema, batches)) yield chunk.ipc;
  }
  const { version } = await datasets.uploadArrow(
    {
      dataset: request.outputDataset,
      parents: [entityVersion.ref, ...new Set(parts.map((p) => p.source.ref))],
      derivedBy: "features.GetHistoricalFeatures",
      description: request.description,
    },
    ipc(),
    signal,
  );
  return { version, featureColumns };
}

/** Output column names of the selected features; INVALID_ARGUMENT on a collision. */
function outputNames(selection: Selection, entityColumns: ReadonlySet<string>, full: boolean): string[] {
  const taken = new Set(entityColumns);
  const names: string[] = [];
  for (const part of selection.parts) {
    for (const feature of part.features) {
      const name = full ? `${part.view.name}__${feature.name}` : feature.name;
      if (taken.has(name)) {
        throw new InvalidArgumentError(
          entityColumns.has(name)
            ? `feature "${name}" of feature view ${part.view.name} has the name of an entity dataset column; set full_feature_names`
            : `feature name "${name}" is selected from two feature views; set full_feature_names`,
        );
      }
      taken.add(name);
      names.push(name);
    }
  }
  return names;
}

async function indexSource(
  part: SelectedPart,
  datasets: DatasetsAccess,
  fields: Field[],
  keyColumns: number[],
  signal?: AbortSignal,
): Promise<IndexedPart> {
  const view = part.view;
  const source = await datasets.getVersion(
    view.view.source?.dataset ?? "",
    view.view.source?.version ?? "",
    signal,
  );
  const all = sourceColumns(view, source);
  const keyCount = view.joinKeys.length;
  const columns = [...all.slice(0, keyCount + 1), ...part.features.map((f) => f.name)];
  const timelines = new Map<string, Timeline>();
  const keys: Array<bigint | string | null> = new Array(keyCount);
  for await (const batch of datasets.readBatches(source.dataset, source.id, columns, signal)) {
    const vectors = columns.map((_, i) => batch.getChildAt(i));
    for (let row = 0; row < batch.numRows; row++) {
      const time = vectors[keyCount]?.get(row) as number | null;
      if (time === null) continue;
      for (let k = 0; k < keyCount; k++) keys[k] = vectors[k]?.get(row) as bigint | string | null;
      const key = entityKeyFromArrow(view.joinKeys, keys);
      if (key === undefined) continue;
      let timeline = timelines.get(key);
      if (timeline === undefined) {
        timeline = new Timeline();
        timelines.set(key, timeline);
      }
      const values: ArrowValue[] = [];
      for (let i = keyCount + 1; i < columns.length; i++)
        values.push((vectors[i]?.get(row) ?? null) as ArrowValue);
      timeline.add(time, values);
    }
  }
  return { part, source, timelines, fields, keyColumns };
}

async function* joinBatches(
  entityBatches: AsyncIterable<RecordBatch>,
  parts: readonly IndexedPart[],
  timestampIndex: number,
  schema: ArrowSchema,
): AsyncGenerator<RecordBatch> {
  for await (const batch of entityBatches) {
    const rows = batch.numRows;
    const children: Data[] = [];
    for (let c = 0; c < batch.numCols; c++) {
      const child = batch.getChildAt(c);
      if (child === null) throw new Error("an entity batch lacks a column");
      children.push(...child.data);
    }
    const times = batch.getChildAt(timestampIndex);
    for (const indexed of parts) {
      const { part, timelines, keyColumns } = indexed;
      const keyVectors = keyColumns.map((c) => batch.getChildAt(c));
      const outputs: ArrowValue[][] = part.features.map(() => new Array(rows));
      const keys: Array<bigint | string | null> = new Array(keyColumns.length);
      for (let row = 0; row < rows; row++) {
        const time = times?.get(row) as number | null;
        let values: ArrowValue[] | undefined;
        if (time !== null) {
          for (let k = 0; k < keyVectors.length; k++)
            keys[k] = keyVectors[k]?.get(row) as bigint | string | null;
          const key = entityKeyFromArrow(part.view.joinKeys, keys);
          values = key === undefined ? undefined : timelines.get(key)?.lookup(time, part.view.ttlMs);
        }
        for (let i = 0; i < outputs.length; i++) (outputs[i] as ArrowValue[])[row] = values?.[i] ?? null;
      }
      outputs.forEach((values, i) => {
        const field = indexed.fields[i] as Field;
        children.push(...vectorFromArray(values, field.type).data);
      });
    }
    yield new RecordBatch(
      schema,
      makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children }),
    );
  }
}
