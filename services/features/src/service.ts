import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { InvalidArgumentError } from "@seam/kit/errors";
import { createLogger, type Logger } from "@seam/kit/logging";
import { pageSizeOf } from "@seam/kit/naming";
import type { EventBus, MetaStore, OnlineStore } from "@seam/kit/storage";
import type {
  ApplyDefinitionsRequest,
  ApplyDefinitionsResponseSchema,
  DeleteEntityRequest,
  DeleteEntityResponseSchema,
  DeleteFeatureServiceRequest,
  DeleteFeatureServiceResponseSchema,
  DeleteFeatureViewRequest,
  DeleteFeatureViewResponseSchema,
  FeatureStoreService,
  GetEntityRequest,
  GetEntityResponseSchema,
  GetFeatureServiceRequest,
  GetFeatureServiceResponseSchema,
  GetFeatureViewRequest,
  GetFeatureViewResponseSchema,
  GetHistoricalFeaturesRequest,
  GetHistoricalFeaturesResponseSchema,
  GetOnlineFeaturesRequest,
  GetOnlineFeaturesResponseSchema,
  ListEntitiesRequest,
  ListEntitiesResponseSchema,
  ListFeatureServicesRequest,
  ListFeatureServicesResponseSchema,
  ListFeatureViewsRequest,
  ListFeatureViewsResponseSchema,
  MaterializeFeatureViewRequest,
  MaterializeFeatureViewResponseSchema,
  PushFeaturesRequest,
  PushFeaturesResponseSchema,
} from "@seam/proto/seam/features/v1/features_pb";
import type { DatasetsAccess } from "./datasets-access.js";
import { applyDefinitions } from "./definitions/apply.js";
import { Catalog } from "./definitions/catalog.js";
import { getHistoricalFeatures } from "./historical/historical.js";
import { materialize } from "./materialize.js";
import type { ModelBindings } from "./model-bindings.js";
import {
  checkDefinitionName,
  type DefinitionKind,
  decodeDefinitionPageToken,
  encodeDefinitionPageToken,
} from "./names.js";
import { getOnlineFeatures, requestedEntities } from "./online/get-online.js";
import { pushRecords } from "./online/push.js";
import { type DefinitionOf, DefinitionStore } from "./store/definition-store.js";

type Init<S extends DescMessage> = MessageInitShape<S>;

/** Topic on which definition changes are announced, so every replica drops its cached definitions. */
export const DEFINITIONS_TOPIC = "features.definitions";

/** What the feature store runs on. */
export interface FeaturesDeps {
  /** Definitions and materialization state; the service keeps its keys under `namespace`. */
  readonly meta: MetaStore;
  /** Feature values per entity for online serving. */
  readonly online: OnlineStore;
  /** The dataset service (sources, entity datasets, joined outputs). */
  readonly datasets: DatasetsAccess;
  /** Which model versions are bound to a feature service (asked before deleting one). */
  readonly bindings: ModelBindings;
  /** Announces definition changes to other replicas; changes are seen within `cacheMaxAgeMs` without it. */
  readonly events?: EventBus;
  /** Root or child logger; silent when absent. */
  readonly logger?: Logger;
  /** Key prefix inside `meta`; "features/" when absent. */
  readonly namespace?: string;
  /** How long serving paths may use a cached definition; 2 s when absent. */
  readonly cacheMaxAgeMs?: number;
  /** The clock (tests); Date.now when absent. */
  readonly now?: () => number;
}

/**
 * `seam.features.v1.FeatureStoreService`: definitions (entities, feature views, feature
 * services), materialization and push into the online store, online reads with statuses,
 * and point-in-time joins written back as dataset versions.
 */
export class FeaturesService implements ServiceImpl<typeof FeatureStoreService> {
  private readonly store: DefinitionStore;
  private readonly catalog: Catalog;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(private readonly deps: FeaturesDeps) {
    this.store = new DefinitionStore(deps.meta, deps.namespace);
    this.catalog = new Catalog(this.store, deps.cacheMaxAgeMs);
    this.logger = deps.logger ?? createLogger({ service: "features", level: "silent" });
    this.now = deps.now ?? Date.now;
  }

  /** Drops cached definitions whenever any replica announces a change, until `signal` aborts. */
  async followDefinitionChanges(signal: AbortSignal): Promise<void> {
    if (this.deps.events === undefined) return;
    const changes = await this.deps.events.subscribe(DEFINITIONS_TOPIC, signal);
    void (async () => {
      for await (const _ of changes) this.catalog.invalidate();
    })().catch((err: unknown) => this.logger.warn({ err }, "definition change feed ended"));
  }

  async applyDefinitions(
    req: ApplyDefinitionsRequest,
    ctx: HandlerContext,
  ): Promise<Init<typeof ApplyDefinitionsResponseSchema>> {
    const outcome = await applyDefinitions(req, this.store, this.deps.meta, this.deps.datasets, ctx.signal);
    if (!req.dryRun) await this.changed();
    return outcome;
  }

  async getEntity(req: GetEntityRequest): Promise<Init<typeof GetEntityResponseSchema>> {
    return {
      entity: await this.store.get(
        "entity",
        checkDefinitionName(req.name, "entity"),
        checkVersion(req.version),
      ),
    };
  }

  async listEntities(req: ListEntitiesRequest): Promise<Init<typeof ListEntitiesResponseSchema>> {
    const page = await this.page("entity", req.pageSize, req.pageToken);
    return { entities: page.items, nextPageToken: page.nextPageToken };
  }

  async deleteEntity(req: DeleteEntityRequest): Promise<Init<typeof DeleteEntityResponseSchema>> {
    const name = checkDefinitionName(req.name, "entity");
    await this.store.delete("entity", name, async () =>
      (await this.store.all("feature_view"))
        .filter((v) => v.entities.includes(name))
        .map((v) => `feature view ${v.name}`),
    );
    await this.changed();
    return {};
  }

  async getFeatureView(req: GetFeatureViewRequest): Promise<Init<typeof GetFeatureViewResponseSchema>> {
    const name = checkDefinitionName(req.name, "feature_view");
    const view = await this.store.get("feature_view", name, checkVersion(req.version));
    const materialization = await this.store.materialization(name);
    if (materialization !== undefined && req.version === 0n) view.materialization = materialization;
    return { featureView: view };
  }

  async listFeatureViews(req: ListFeatureViewsRequest): Promise<Init<typeof ListFeatureViewsResponseSchema>> {
    if (req.entity !== "") checkDefinitionName(req.entity, "entity", "entity");
    const page = await this.page("feature_view", req.pageSize, req.pageToken, (v) =>
      req.entity === "" ? true : v.entities.includes(req.entity),
    );
    const states = await this.store.materializations(page.items.map((v) => v.name));
    page.items.forEach((view, i) => {
      const state = states[i];
      if (state !== undefined) view.materialization = state;
    });
    return { featureViews: page.items, nextPageToken: page.nextPageToken };
  }

  async deleteFeatureView(
    req: DeleteFeatureViewRequest,
  ): Promise<Init<typeof DeleteFeatureViewResponseSchema>> {
    const name = checkDefinitionName(req.name, "feature_view");
    await this.store.delete("feature_view", name, async () =>
      (await this.store.all("feature_service"))
        .filter((s) => s.features.some((p) => p.featureView === name))
        .map((s) => `feature service ${s.name}`),
    );
    await this.changed();
    return {};
  }

  async getFeatureService(
    req: GetFeatureServiceRequest,
  ): Promise<Init<typeof GetFeatureServiceResponseSchema>> {
    const name = checkDefinitionName(req.name, "feature_service");
    return { featureService: await this.store.get("feature_service", name, checkVersion(req.version)) };
  }

  async listFeatureServices(
    req: ListFeatureServicesRequest,
  ): Promise<Init<typeof ListFeatureServicesResponseSchema>> {
    const page = await this.page("feature_service", req.pageSize, req.pageToken);
    return { featureServices: page.items, nextPageToken: page.nextPageToken };
  }

  async deleteFeatureService(
    req: DeleteFeatureServiceRequest,
    ctx: HandlerContext,
  ): Promise<Init<typeof DeleteFeatureServiceResponseSchema>> {
    const name = checkDefinitionName(req.name, "feature_service");
    // Asked inside the delete's attempt, right before its commit: a model registered in
    // between is not seen (the registry keeps lineage as text).
    await this.store.delete("feature_service", name, async () =>
      (await this.deps.bindings.versionsBoundTo(name, ctx.signal)).map((v) => `model version ${v}`),
    );
    await this.changed();
    return {};
  }

  async *materializeFeatureView(
    req: MaterializeFeatureViewRequest,
    ctx: HandlerContext,
  ): AsyncGenerator<Init<typeof MaterializeFeatureViewResponseSchema>> {
    const view = await this.catalog.view(
      checkDefinitionName(req.featureView, "feature_view", "feature_view"),
    );
    const started = Date.now();
    let result: Init<typeof MaterializeFeatureViewResponseSchema> | undefined;
    for await (const event of materialize(req, view, { definitions: this.store, ...this.deps }, ctx.signal)) {
      result = event;
      yield event;
    }
    this.logger.info(
      { feature_view: view.name, ms: Date.now() - started, result: result?.event?.value },
      "materialized",
    );
  }

  async pushFeatures(
    requests: AsyncIterable<PushFeaturesRequest>,
  ): Promise<Init<typeof PushFeaturesResponseSchema>> {
    let received = 0;
    let written = 0;
    let message = 0;
    for await (const req of requests) {
      const where = `message ${message++}`;
      const view = await this.catalog.view(
        checkDefinitionName(req.featureView, "feature_view", `${where}: feature_view`),
      );
      const records = pushRecords(view, req.rows, where);
      received += records.length;
      written += await this.deps.online.write(records);
    }
    return {
      rowsReceived: BigInt(received),
      rowsWritten: BigInt(written),
      rowsSkippedOlder: BigInt(received - written),
    };
  }

  async getOnlineFeatures(
    req: GetOnlineFeaturesRequest,
  ): Promise<Init<typeof GetOnlineFeaturesResponseSchema>> {
    const selection = await this.catalog.selection(req.selection);
    const entities = requestedEntities(req.entities, req.entityColumns);
    return getOnlineFeatures(selection, entities, this.deps.online, this.now(), req.layout);
  }

  async getHistoricalFeatures(
    req: GetHistoricalFeaturesRequest,
    ctx: HandlerContext,
  ): Promise<Init<typeof GetHistoricalFeaturesResponseSchema>> {
    const selection = await this.catalog.selection(req.selection);
    return getHistoricalFeatures(req, selection, this.deps.datasets, ctx.signal);
  }

  /** A page of current definitions in name order, optionally filtered. */
  private async page<K extends DefinitionKind>(
    kind: K,
    pageSize: number,
    pageToken: string,
    keep: (definition: DefinitionOf<K>) => boolean = () => true,
  ): Promise<{ items: Array<DefinitionOf<K>>; nextPageToken: string }> {
    const size = pageSizeOf(pageSize);
    let after = decodeDefinitionPageToken(kind, pageToken);
    const items: Array<DefinitionOf<K>> = [];
    // Filtered listings read on until the page is full or the definitions end.
    for (;;) {
      const batch = await this.store.list(kind, size + 1, after);
      for (const definition of batch) {
        if (items.length === size) {
          return {
            items,
            nextPageToken: encodeDefinitionPageToken(kind, items[items.length - 1]?.name ?? ""),
          };
        }
        after = definition.name;
        if (keep(definition)) items.push(definition);
      }
      if (batch.length < size + 1) return { items, nextPageToken: "" };
    }
  }

  private async changed(): Promise<void> {
    this.catalog.invalidate();
    await this.deps.events?.publish(DEFINITIONS_TOPIC, new Uint8Array()).catch((err: unknown) => {
      this.logger.warn(
        { err },
        "could not announce a definition change; other replicas see it within the cache age",
      );
    });
  }
}

function checkVersion(version: bigint): bigint {
  if (version < 0n)
    throw new InvalidArgumentError(`version must be 0 (current) or a version number, got ${version}`);
  return version;
}
