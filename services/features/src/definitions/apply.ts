import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError, NotFoundError } from "@seam/kit/errors";
import { commitWithRetry, type MetaStore } from "@seam/kit/storage";
import type { Schema } from "@seam/proto/seam/datasets/v1/datasets_pb";
import {
  type AppliedDefinitionSchema,
  ApplyAction,
  type ApplyDefinitionsRequest,
  type Entity,
  type FeatureService,
  type FeatureView,
} from "@seam/proto/seam/features/v1/features_pb";
import type { DatasetsAccess } from "../datasets-access.js";
import type { DefinitionKind } from "../names.js";
import type { DefinitionReference, DefinitionStore, DefinitionWrite } from "../store/definition-store.js";
import {
  checkEntityChange,
  checkServiceAgainst,
  checkViewAgainst,
  checkViewChange,
  normalizeEntity,
  normalizeService,
  normalizeView,
  sameEntity,
  sameService,
  sameView,
} from "./validate.js";

/** What an apply stored (or, on a dry run, would store). */
export interface ApplyOutcome {
  readonly entities: Entity[];
  readonly featureViews: FeatureView[];
  readonly featureServices: FeatureService[];
  readonly applied: Array<MessageInitShape<typeof AppliedDefinitionSchema>>;
}

/** A view's source: its reference and schema, fetched once per apply (outside the retry loop). */
interface SourceInfo {
  readonly ref: string;
  readonly schema: Schema | undefined;
}

/**
 * ApplyDefinitions: validates every definition on its own, then against what it names
 * (request first, then the store; views also against their source dataset's schema),
 * and commits them all in one batch whose checks guard everything read, retrying when
 * a concurrent writer got there first. Unchanged definitions keep their version.
 */
export async function applyDefinitions(
  request: ApplyDefinitionsRequest,
  store: DefinitionStore,
  meta: MetaStore,
  datasets: DatasetsAccess,
  signal?: AbortSignal,
): Promise<ApplyOutcome> {
  const total = request.entities.length + request.featureViews.length + request.featureServices.length;
  if (total === 0)
    throw new InvalidArgumentError(
      "nothing to apply: give at least one entity, feature view or feature service",
    );
  const entities = request.entities.map((e, i) => normalizeEntity(e, `entities[${i}]`));
  const views = request.featureViews.map((v, i) => normalizeView(v, `feature_views[${i}]`));
  const services = request.featureServices.map((s, i) => normalizeService(s, `feature_services[${i}]`));
  checkUnique("entities", entities);
  checkUnique("feature_views", views);
  checkUnique("feature_services", services);

  const sources = await Promise.all(
    views.map(async (view, i): Promise<SourceInfo> => {
      const source = view.source;
      if (source === undefined) throw new Error("normalizeView requires a source");
      try {
        const version = await datasets.getVersion(source.dataset, source.version, signal);
        return { ref: version.ref, schema: version.schema };
      } catch (err) {
        if (err instanceof NotFoundError) {
          throw new InvalidArgumentError(`feature_views[${i}].source: ${err.message}`);
        }
        throw err;
      }
    }),
  );

  return commitWithRetry(
    meta,
    async () => {
      const now = timestampNow();
      const writes: DefinitionWrite[] = [];
      const references = new Map<string, DefinitionReference>();
      const applied: ApplyOutcome["applied"] = [];
      const reference = async <K extends DefinitionKind>(kind: K, name: string) => {
        const stored = await store.find(kind, name);
        if (stored !== undefined) references.set(`${kind}/${name}`, { kind, name, expect: stored.bytes });
        return stored?.definition;
      };

      const stage = async <T extends Entity | FeatureView | FeatureService>(
        kind: DefinitionKind,
        next: T,
        same: (a: T, b: T) => boolean,
        checkChange: (previous: T, next: T) => void,
      ): Promise<T> => {
        const previous = await store.find(kind, next.name);
        const before = previous?.definition as T | undefined;
        if (before !== undefined) checkChange(before, next);
        let action: ApplyAction;
        if (before === undefined) {
          action = ApplyAction.CREATED;
          next.version = 1n;
          next.createTime = now;
          next.updateTime = now;
        } else if (same(before, next)) {
          action = ApplyAction.UNCHANGED;
          next.version = before.version;
          next.createTime = before.createTime;
          next.updateTime = before.updateTime;
        } else {
          action = ApplyAction.UPDATED;
          next.version = before.version + 1n;
          next.createTime = before.createTime;
          next.updateTime = now;
        }
        applied.push({ kind, name: next.name, action, version: next.version });
        if (action !== ApplyAction.UNCHANGED)
          writes.push({ kind, definition: next, expect: previous?.bytes });
        else if (previous !== undefined)
          references.set(`${kind}/${next.name}`, { kind, name: next.name, expect: previous.bytes });
        return next;
      };

      const storedEntities = new Map<string, Entity>();
      const outEntities: Entity[] = [];
      for (const entity of entities) {
        const staged = await stage("entity", structuredCopy(entity), sameEntity, checkEntityChange);
        storedEntities.set(staged.name, staged);
        outEntities.push(staged);
      }

      const knownViews = new Map<string, FeatureView>();
      const outViews: FeatureView[] = [];
      for (const [i, view] of views.entries()) {
        const where = `feature_views[${i}]`;
        for (const name of view.entities) {
          if (storedEntities.has(name)) continue;
          const entity = await reference("entity", name);
          if (entity === undefined)
            throw new InvalidArgumentError(`${where}.entities: unknown entity ${name}`);
          storedEntities.set(name, entity);
        }
        const checked = checkViewAgainst(view, storedEntities, sources[i] as SourceInfo, where);
        const staged = await stage("feature_view", checked, sameView, checkViewChange);
        staged.materialization = undefined;
        knownViews.set(staged.name, staged);
        outViews.push(staged);
      }

      const outServices: FeatureService[] = [];
      for (const [i, service] of services.entries()) {
        const where = `feature_services[${i}]`;
        for (const projection of service.features) {
          if (knownViews.has(projection.featureView)) continue;
          const view = await reference("feature_view", projection.featureView);
          if (view !== undefined) knownViews.set(view.name, view);
        }
        checkServiceAgainst(service, knownViews, where);
        outServices.push(await stage("feature_service", structuredCopy(service), sameService, () => {}));
      }

      // A definition written in this batch is already guarded by its own check.
      for (const write of writes) references.delete(`${write.kind}/${write.definition.name}`);
      const batch =
        request.dryRun || writes.length === 0
          ? undefined
          : store.applyBatch(writes, [...references.values()]);
      return {
        batch,
        result: { entities: outEntities, featureViews: outViews, featureServices: outServices, applied },
      };
    },
    signal === undefined ? {} : { signal },
  );
}

function checkUnique(field: string, definitions: ReadonlyArray<{ readonly name: string }>): void {
  const seen = new Set<string>();
  definitions.forEach((d, i) => {
    if (seen.has(d.name))
      throw new InvalidArgumentError(`${field}[${i}]: ${d.name} is applied twice in one request`);
    seen.add(d.name);
  });
}

// Attempts may run several times: each stages a fresh copy of the normalized definition.
function structuredCopy<T extends Entity | FeatureService>(definition: T): T {
  return { ...definition };
}
