import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { DataLossError, InvalidArgumentError, NotFoundError } from "@seam/kit/errors";
import { createLogger, type Logger } from "@seam/kit/logging";
import {
  checkDescription,
  checkResourceName,
  checkResourceNamePrefix,
  checkTagKey,
  checkTags,
  pageSizeOf,
} from "@seam/kit/naming";
import type { BlobStore, EventBus, MetaStore } from "@seam/kit/storage";
import type {
  CreateModelRequest,
  CreateModelResponseSchema,
  DeleteAliasRequest,
  DeleteAliasResponseSchema,
  DeleteModelRequest,
  DeleteModelResponseSchema,
  DeleteModelVersionRequest,
  DeleteModelVersionResponseSchema,
  DownloadModelVersionRequest,
  DownloadModelVersionResponseSchema,
  GetModelRequest,
  GetModelResponseSchema,
  GetModelVersionRequest,
  GetModelVersionResponseSchema,
  ListDatasetUsagesRequest,
  ListDatasetUsagesResponseSchema,
  ListFeatureServiceUsagesRequest,
  ListFeatureServiceUsagesResponseSchema,
  ListModelsRequest,
  ListModelsResponseSchema,
  ListModelVersionsRequest,
  ListModelVersionsResponseSchema,
  ModelRegistryService,
  ResolveModelRequest,
  ResolveModelResponseSchema,
  SetAliasRequest,
  SetAliasResponseSchema,
  UpdateModelRequest,
  UpdateModelResponseSchema,
  UploadModelVersionRequest,
  UploadModelVersionResponseSchema,
  WatchEventsRequest,
  WatchEventsResponseSchema,
} from "@seam/proto/seam/registry/v1/registry_pb";
import { parseDatasetQuery } from "./dataset-usages.js";
import { REGISTRY_EVENTS_TOPIC, RegistryEvents } from "./events.js";
import {
  checkAlias,
  checkModelName,
  checkVersion,
  decodeModelPageToken,
  decodeVersionPageToken,
  encodeModelPageToken,
  encodeVersionPageToken,
  parseReference,
} from "./names.js";
import { RegistryStore } from "./store/registry-store.js";
import { uploadVersion } from "./upload.js";
import { datasetUsageTokens, featureServiceUsageTokens } from "./usage-page-tokens.js";

type Init<S extends DescMessage> = MessageInitShape<S>;

const DEFAULT_CHUNK = 64 * 1024;
const MAX_CHUNK = 1024 * 1024;

/** What the registry runs on. */
export interface RegistryDeps {
  /** Metadata store; the registry keeps its keys under `namespace`. */
  readonly meta: MetaStore;
  /** Artifact store (content-addressed). */
  readonly blobs: BlobStore;
  /** Event bus shared by every replica. */
  readonly events: EventBus;
  /** Root or child logger; silent when absent. */
  readonly logger?: Logger;
  /** Largest artifact an upload may carry (REGISTRY_MAX_ARTIFACT_BYTES); 512 MiB when absent. */
  readonly maxArtifactBytes?: number;
  /** Key prefix inside `meta`; "registry/" when absent. */
  readonly namespace?: string;
  /** EventBus topic of registry events; "registry.events" when absent. */
  readonly eventTopic?: string;
  /** When it aborts (the server drains), open WatchEvents streams end normally. */
  readonly stopWatches?: AbortSignal;
}

/**
 * `seam.registry.v1.ModelRegistryService`: registered models, immutable ONNX versions,
 * aliases and events. Handlers validate their input (INVALID_ARGUMENT naming the field)
 * and throw the kit's domain errors, which the hosting layer maps to gRPC codes.
 */
export class ModelRegistry implements ServiceImpl<typeof ModelRegistryService> {
  private readonly store: RegistryStore;
  private readonly blobs: BlobStore;
  private readonly events: RegistryEvents;
  private readonly stopWatches: AbortSignal | undefined;
  private readonly logger: Logger;
  private readonly maxArtifactBytes: number;

  constructor(deps: RegistryDeps) {
    this.logger = deps.logger ?? createLogger({ service: "registry", level: "silent" });
    this.store = new RegistryStore(deps.meta, deps.blobs, deps.namespace);
    this.blobs = deps.blobs;
    this.stopWatches = deps.stopWatches;
    this.events = new RegistryEvents(deps.events, this.logger, deps.eventTopic ?? REGISTRY_EVENTS_TOPIC);
    this.maxArtifactBytes = deps.maxArtifactBytes ?? 512 * 1024 * 1024;
  }

  async createModel(req: CreateModelRequest): Promise<Init<typeof CreateModelResponseSchema>> {
    checkModelName(req.name);
    checkDescription(req.description, "description");
    checkTags(req.tags);
    return { model: await this.store.createModel(req.name, req.description, req.tags) };
  }

  async getModel(req: GetModelRequest): Promise<Init<typeof GetModelResponseSchema>> {
    return { model: await this.store.getModel(checkModelName(req.name)) };
  }

  async listModels(req: ListModelsRequest): Promise<Init<typeof ListModelsResponseSchema>> {
    const pageSize = pageSizeOf(req.pageSize);
    checkResourceNamePrefix(req.namePrefix);
    for (const key of Object.keys(req.tags)) checkTagKey(key, "tags");
    const page = await this.store.listModels({
      namePrefix: req.namePrefix,
      tags: req.tags,
      pageSize,
      after: decodeModelPageToken(req.pageToken),
    });
    return {
      models: page.items,
      nextPageToken: page.next === undefined ? "" : encodeModelPageToken(page.next),
    };
  }

  async updateModel(
    req: UpdateModelRequest,
    ctx: HandlerContext,
  ): Promise<Init<typeof UpdateModelResponseSchema>> {
    checkModelName(req.name);
    if (req.description !== undefined) checkDescription(req.description, "description");
    checkTags(req.tags);
    for (const key of req.removeTags) {
      checkTagKey(key, "remove_tags");
      if (key in req.tags)
        throw new InvalidArgumentError(`tag ${JSON.stringify(key)} is both in tags and in remove_tags`);
    }
    const model = await this.store.updateModel(
      req.name,
      (m) => {
        if (req.description !== undefined) m.description = req.description;
        m.tags = req.replaceTags ? { ...req.tags } : { ...m.tags, ...req.tags };
        for (const key of req.removeTags) delete m.tags[key];
      },
      ctx.signal,
    );
    return { model };
  }

  async deleteModel(
    req: DeleteModelRequest,
    ctx: HandlerContext,
  ): Promise<Init<typeof DeleteModelResponseSchema>> {
    checkModelName(req.name);
    const shas = await this.store.deleteModel(req.name, ctx.signal);
    // After the commit: a blob of another model with the same content stays.
    for (const sha of shas) await this.releaseBlob(sha);
    await this.events.publish(req.name, { case: "modelDeleted", value: {} });
    return {};
  }

  async uploadModelVersion(
    requests: AsyncIterable<UploadModelVersionRequest>,
    ctx: HandlerContext,
  ): Promise<Init<typeof UploadModelVersionResponseSchema>> {
    const { version, aliasMove } = await uploadVersion(
      { store: this.store, blobs: this.blobs, logger: this.logger, maxArtifactBytes: this.maxArtifactBytes },
      requests,
      ctx.signal,
    );
    this.logger.info(
      { model: version.modelName, version: version.version, sha256: version.sha256 },
      "version created",
    );
    await this.events.publish(version.modelName, {
      case: "versionCreated",
      value: { version: version.version },
    });
    if (aliasMove !== undefined) {
      await this.events.publish(version.modelName, {
        case: "aliasMoved",
        value: { alias: aliasMove.alias, version: version.version, previousVersion: aliasMove.previous },
      });
    }
    return { version };
  }

  async getModelVersion(req: GetModelVersionRequest): Promise<Init<typeof GetModelVersionResponseSchema>> {
    checkModelName(req.modelName, "model_name");
    checkVersion(req.version);
    return { version: await this.store.getVersion(req.modelName, req.version) };
  }

  async listModelVersions(
    req: ListModelVersionsRequest,
  ): Promise<Init<typeof ListModelVersionsResponseSchema>> {
    checkModelName(req.modelName, "model_name");
    const page = await this.store.listVersions(
      req.modelName,
      pageSizeOf(req.pageSize),
      decodeVersionPageToken(req.pageToken),
    );
    return {
      versions: page.items,
      nextPageToken: page.next === undefined ? "" : encodeVersionPageToken(page.next),
    };
  }

  async deleteModelVersion(
    req: DeleteModelVersionRequest,
    ctx: HandlerContext,
  ): Promise<Init<typeof DeleteModelVersionResponseSchema>> {
    checkModelName(req.modelName, "model_name");
    checkVersion(req.version);
    const deleted = await this.store.deleteVersion(req.modelName, req.version, ctx.signal);
    await this.releaseBlob(deleted.sha256);
    await this.events.publish(req.modelName, { case: "versionDeleted", value: { version: req.version } });
    return {};
  }

  async *downloadModelVersion(
    req: DownloadModelVersionRequest,
    ctx: HandlerContext,
  ): AsyncGenerator<Init<typeof DownloadModelVersionResponseSchema>> {
    const ref = parseReference(req.model, "model");
    if (req.chunkSize < 0 || req.chunkSize > MAX_CHUNK) {
      throw new InvalidArgumentError(
        `chunk_size must be between 0 and ${MAX_CHUNK} bytes (0 means ${DEFAULT_CHUNK}), got ${req.chunkSize}`,
      );
    }
    const version = await this.store.resolve(ref);
    let first = true;
    try {
      for await (const chunk of this.blobs.get(version.sha256, {
        chunkSize: req.chunkSize === 0 ? DEFAULT_CHUNK : req.chunkSize,
        signal: ctx.signal,
      })) {
        yield first ? { version, chunk } : { chunk };
        first = false;
      }
    } catch (err) {
      if (err instanceof NotFoundError) {
        throw new DataLossError(
          `the artifact of ${version.modelName}:${version.version} (sha256 ${version.sha256}) is missing from the blob store`,
        );
      }
      throw err;
    }
    if (first) yield { version };
  }

  async setAlias(req: SetAliasRequest, ctx: HandlerContext): Promise<Init<typeof SetAliasResponseSchema>> {
    checkModelName(req.modelName, "model_name");
    checkAlias(req.alias);
    checkVersion(req.version);
    const { version, previous } = await this.store.setAlias(
      req.modelName,
      req.alias,
      req.version,
      ctx.signal,
    );
    if (previous !== req.version) {
      await this.events.publish(req.modelName, {
        case: "aliasMoved",
        value: { alias: req.alias, version: req.version, previousVersion: previous },
      });
    }
    return { version, previousVersion: previous };
  }

  async deleteAlias(
    req: DeleteAliasRequest,
    ctx: HandlerContext,
  ): Promise<Init<typeof DeleteAliasResponseSchema>> {
    checkModelName(req.modelName, "model_name");
    checkAlias(req.alias);
    const previous = await this.store.deleteAlias(req.modelName, req.alias, ctx.signal);
    await this.events.publish(req.modelName, {
      case: "aliasDeleted",
      value: { alias: req.alias, previousVersion: previous },
    });
    return {};
  }

  async resolveModel(req: ResolveModelRequest): Promise<Init<typeof ResolveModelResponseSchema>> {
    return { version: await this.store.resolve(parseReference(req.model, "model")) };
  }

  async listDatasetUsages(
    req: ListDatasetUsagesRequest,
  ): Promise<Init<typeof ListDatasetUsagesResponseSchema>> {
    const ref = parseDatasetQuery(req.dataset);
    const page = await this.store.listDatasetUsages(
      ref,
      pageSizeOf(req.pageSize),
      datasetUsageTokens.decode(req.pageToken),
    );
    return {
      usages: page.items,
      nextPageToken: page.next === undefined ? "" : datasetUsageTokens.encode(page.next),
    };
  }

  async listFeatureServiceUsages(
    req: ListFeatureServiceUsagesRequest,
  ): Promise<Init<typeof ListFeatureServiceUsagesResponseSchema>> {
    const page = await this.store.listFeatureServiceUsages(
      checkResourceName(req.featureService, "feature service", "feature_service"),
      pageSizeOf(req.pageSize),
      featureServiceUsageTokens.decode(req.pageToken),
    );
    return {
      usages: page.items,
      nextPageToken: page.next === undefined ? "" : featureServiceUsageTokens.encode(page.next),
    };
  }

  async *watchEvents(
    req: WatchEventsRequest,
    ctx: HandlerContext,
  ): AsyncGenerator<Init<typeof WatchEventsResponseSchema>> {
    if (req.modelName !== "") checkModelName(req.modelName, "model_name");
    // A draining server ends its watches normally: watchers reconnect to another replica
    // (and read again what they follow) instead of holding the shutdown for its grace period.
    const signal =
      this.stopWatches === undefined ? ctx.signal : AbortSignal.any([ctx.signal, this.stopWatches]);
    for await (const event of this.events.watch(req.modelName, signal)) yield { event };
  }

  /** Deletes a blob no version references any more; a failure only leaks storage, so it is logged. */
  private async releaseBlob(sha256: string): Promise<void> {
    try {
      await this.store.releaseBlob(sha256);
    } catch (err) {
      this.logger.error({ err, sha256 }, "releasing an unreferenced artifact failed");
    }
  }
}
