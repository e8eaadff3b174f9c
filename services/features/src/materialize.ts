import type { MessageInitShape } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs, timestampNow } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError, NotFoundError } from "@seam/kit/errors";
import type { OnlineRecord, OnlineStore } from "@seam/kit/storage";
import type { DatasetVersion } from "@seam/proto/seam/datasets/v1/datasets_pb";
import {
  MaterializationStateSchema,
  type MaterializeFeatureViewRequest,
  type MaterializeFeatureViewResponseSchema,
} from "@seam/proto/seam/features/v1/features_pb";
import type { DatasetsAccess } from "./datasets-access.js";
import type { ResolvedView } from "./definitions/resolved.js";
import { entityKeyFromArrow } from "./entity-key.js";
import { sourceColumns } from "./source-columns.js";
import type { DefinitionStore } from "./store/definition-store.js";
import { type ArrowValue, encodeArrowValue } from "./values.js";

type Event = MessageInitShape<typeof MaterializeFeatureViewResponseSchema>;

/** Records per online store write: large enough to pipeline well, small enough to report progress. */
const WRITE_CHUNK = 2000;
const VERSION_ID = /^[0-9a-f]{24}$/;

interface Latest {
  eventTime: number;
  values: Array<string | null>;
}

/**
 * MaterializeFeatureView: reads the view's source rows in [start, end), keeps the latest
 * row per entity (a later row wins a tie), writes those to the online store (newest
 * event time wins there too, so re-running is idempotent and a newer pushed value stays),
 * then records the run. Yields progress as it goes and the result last.
 */
export async function* materialize(
  request: MaterializeFeatureViewRequest,
  view: ResolvedView,
  deps: {
    readonly definitions: DefinitionStore;
    readonly datasets: DatasetsAccess;
    readonly online: OnlineStore;
  },
  signal?: AbortSignal,
): AsyncGenerator<Event> {
  const range = await resolveRange(request, view, deps.definitions);
  const versions = await resolveVersions(request, view, deps.datasets, signal);

  const latest = new Map<string, Latest>();
  const rowsTotal = versions.reduce((sum, v) => sum + v.rowCount, 0n);
  let rowsRead = 0;
  let rowsInRange = 0;
  for (const version of versions) {
    const columns = sourceColumns(view, version);
    const keyCount = view.joinKeys.length;
    for await (const batch of deps.datasets.readBatches(version.dataset, version.id, columns, signal)) {
      const vectors = columns.map((_, i) => batch.getChildAt(i));
      const keys: Array<bigint | string | null> = new Array(keyCount);
      for (let row = 0; row < batch.numRows; row++) {
        const time = vectors[keyCount]?.get(row) as number | null;
        if (time === null || time < range.startMs || time >= range.endMs) continue;
        for (let k = 0; k < keyCount; k++) keys[k] = vectors[k]?.get(row) as bigint | string | null;
        const entityKey = entityKeyFromArrow(view.joinKeys, keys);
        if (entityKey === undefined) continue;
        rowsInRange++;
        const held = latest.get(entityKey);
        if (held !== undefined && held.eventTime > time) continue;
        const values = view.features.map((f, i) =>
          encodeArrowValue(f.type, (vectors[keyCount + 1 + i]?.get(row) ?? null) as ArrowValue),
        );
        latest.set(entityKey, { eventTime: time, values });
      }
      rowsRead += batch.numRows;
      yield { event: { case: "progress", value: { rowsRead: BigInt(rowsRead), rowsTotal } } };
    }
  }

  let rowsWritten = 0;
  let rowsSkipped = 0;
  let chunk: OnlineRecord[] = [];
  const flush = async () => {
    const applied = await deps.online.write(chunk);
    rowsWritten += applied;
    rowsSkipped += chunk.length - applied;
    chunk = [];
  };
  const rowsToWrite = BigInt(latest.size);
  for (const [entityKey, row] of latest) {
    chunk.push({
      entityKey,
      group: view.group,
      eventTime: row.eventTime,
      values: view.features.map((f, i) => [f.name, row.values[i] ?? null] as const),
    });
    if (chunk.length === WRITE_CHUNK) {
      signal?.throwIfAborted();
      await flush();
      yield {
        event: {
          case: "progress",
          value: {
            rowsRead: BigInt(rowsRead),
            rowsTotal,
            // Progress counts every entity row handled, written or left for a newer value.
            rowsWritten: BigInt(rowsWritten + rowsSkipped),
            rowsToWrite,
          },
        },
      };
    }
  }
  if (chunk.length > 0) await flush();

  const refs = versions.map((v) => v.ref);
  const endTime = timestampFromMs(range.endMs);
  await deps.definitions.recordMaterialization(
    view.view,
    create(MaterializationStateSchema, {
      materializedUntil: endTime,
      lastRunTime: timestampNow(),
      lastSourceVersions: refs,
      lastRowsWritten: BigInt(rowsWritten),
    }),
  );
  yield {
    event: {
      case: "result",
      value: {
        ...(Number.isFinite(range.startMs) ? { startTime: timestampFromMs(range.startMs) } : {}),
        endTime,
        sourceVersions: refs,
        rowsRead: BigInt(rowsRead),
        rowsInRange: BigInt(rowsInRange),
        rowsWritten: BigInt(rowsWritten),
        rowsSkippedOlder: BigInt(rowsSkipped),
      },
    },
  };
}

async function resolveRange(
  request: MaterializeFeatureViewRequest,
  view: ResolvedView,
  definitions: DefinitionStore,
): Promise<{ startMs: number; endMs: number }> {
  const endMs = request.endTime === undefined ? Date.now() : timestampMs(request.endTime);
  let startMs = Number.NEGATIVE_INFINITY;
  if (request.incremental) {
    if (request.startTime !== undefined) {
      throw new InvalidArgumentError(
        "start_time must be absent when incremental is set (the last run's end is the start)",
      );
    }
    const state = await definitions.materialization(view.name);
    if (state?.materializedUntil !== undefined) startMs = timestampMs(state.materializedUntil);
  } else if (request.startTime !== undefined) {
    startMs = timestampMs(request.startTime);
  }
  if (!(startMs < endMs)) {
    throw new InvalidArgumentError(
      `the time range is empty: start ${new Date(startMs).toISOString()} is not before end ${new Date(endMs).toISOString()}`,
    );
  }
  return { startMs, endMs };
}

async function resolveVersions(
  request: MaterializeFeatureViewRequest,
  view: ResolvedView,
  datasets: DatasetsAccess,
  signal?: AbortSignal,
): Promise<DatasetVersion[]> {
  const source = view.view.source;
  if (source === undefined) throw new Error("a stored view has a source");
  // A ref of the source dataset ("dataset@id", as results report them) is taken as its id.
  const ids =
    request.sourceVersions.length === 0
      ? [source.version]
      : request.sourceVersions.map((given, i) => {
          const id = given.startsWith(`${source.dataset}@`) ? given.slice(source.dataset.length + 1) : given;
          if (!VERSION_ID.test(id)) {
            throw new InvalidArgumentError(
              `source_versions[${i}] must be a version id of 24 hex digits or "${source.dataset}@<id>", got ${JSON.stringify(given)}`,
            );
          }
          return id;
        });
  return Promise.all(
    ids.map((id) =>
      datasets.getVersion(source.dataset, id, signal).catch((err: unknown) => {
        throw err instanceof NotFoundError
          ? new NotFoundError(`feature view ${view.name}: ${err.message}`)
          : err;
      }),
    ),
  );
}
