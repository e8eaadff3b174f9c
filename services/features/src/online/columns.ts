import type { MessageInitShape } from "@bufbuild/protobuf";
import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { FeatureStatus, OnlineFeatureColumnSchema } from "@seam/proto/seam/features/v1/features_pb";
import type { Selection } from "../definitions/catalog.js";

type ColumnInit = MessageInitShape<typeof OnlineFeatureColumnSchema>;

// Entry i of each array belongs to entity i; only the value array of the feature's
// type exists, and holds the type's zero where an entity has no value.
interface Column {
  readonly type: ColumnType;
  readonly statuses: FeatureStatus[];
  readonly eventTimeMillis: number[];
  readonly values: Array<bigint | number | boolean | string>;
}

/**
 * Collects a lookup's values into the columns layout: one column per selected feature,
 * each with a status, an event time and a value per entity (see OnlineFeatureColumn).
 */
export class ColumnsBuilder {
  readonly #columns: Column[];

  constructor(selection: Selection, entityCount: number) {
    this.#columns = selection.parts.flatMap((part) =>
      part.features.map(
        (feature): Column => ({
          type: feature.type,
          statuses: new Array<FeatureStatus>(entityCount),
          eventTimeMillis: new Array<number>(entityCount),
          values: new Array(entityCount).fill(zeroOf(feature.type)),
        }),
      ),
    );
  }

  /** Records one value; `text` is its stored form (null: none), `eventTimeMs` undefined when NOT_FOUND. */
  readonly add = (
    entity: number,
    column: number,
    status: FeatureStatus,
    eventTimeMs: number | undefined,
    text: string | null,
  ): void => {
    const target = this.#columns[column] as Column;
    target.statuses[entity] = status;
    target.eventTimeMillis[entity] = eventTimeMs ?? 0;
    if (text !== null) target.values[entity] = elementOf(target.type, text);
  };

  build(): ColumnInit[] {
    return this.#columns.map(
      ({ type, statuses, eventTimeMillis, values }): ColumnInit => ({
        type,
        statuses,
        eventTimeMillis,
        ...valueArray(type, values),
      }),
    );
  }
}

type ValueArray =
  | { int64Values: bigint[] }
  | { doubleValues: number[] }
  | { boolValues: boolean[] }
  | { stringValues: string[] }
  | { timestampMillisValues: number[] };

function valueArray(type: ColumnType, values: Column["values"]): ValueArray {
  switch (type) {
    case ColumnType.INT64:
      return { int64Values: values as bigint[] };
    case ColumnType.FLOAT64:
      return { doubleValues: values as number[] };
    case ColumnType.BOOL:
      return { boolValues: values as boolean[] };
    case ColumnType.STRING:
      return { stringValues: values as string[] };
    case ColumnType.TIMESTAMP:
      return { timestampMillisValues: values as number[] };
    case ColumnType.UNSPECIFIED:
      throw new Error("a feature has no type");
  }
}

function zeroOf(type: ColumnType): bigint | number | boolean | string {
  switch (type) {
    case ColumnType.INT64:
      return 0n;
    case ColumnType.BOOL:
      return false;
    case ColumnType.STRING:
      return "";
    case ColumnType.FLOAT64:
    case ColumnType.TIMESTAMP:
    case ColumnType.UNSPECIFIED:
      return 0;
  }
}

// The online store's text form (see values.ts) as the column's element.
function elementOf(type: ColumnType, text: string): bigint | number | boolean | string {
  switch (type) {
    case ColumnType.INT64:
      return BigInt(text);
    case ColumnType.BOOL:
      return text === "1";
    case ColumnType.STRING:
      return text;
    case ColumnType.FLOAT64:
    case ColumnType.TIMESTAMP:
    case ColumnType.UNSPECIFIED:
      return Number(text);
  }
}
