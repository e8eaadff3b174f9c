import type { Client } from "@connectrpc/connect";
import type {
  ModelRegistryService,
  ModelVersion,
  RegisteredModel,
  RegistryEvent,
} from "@seam/proto/seam/registry/v1/registry_pb";

/** Where models come from: the registry, seen through the few calls serving needs. */
export interface ModelSource {
  /** The model with its aliases and latest version; NOT_FOUND passes through. */
  getModel(name: string): Promise<RegisteredModel>;
  /** A version's record and artifact bytes. */
  download(
    name: string,
    version: number,
    signal?: AbortSignal,
  ): Promise<{ version: ModelVersion; artifact: Uint8Array }>;
  /** Registry events (aliases moved, versions created or deleted) until the signal aborts. */
  watch(signal: AbortSignal): AsyncIterable<RegistryEvent>;
}

/** A {@link ModelSource} over a registry client. */
export function registryModelSource(registry: Client<typeof ModelRegistryService>): ModelSource {
  return {
    async getModel(name) {
      const { model } = await registry.getModel({ name });
      if (model === undefined) throw new Error(`the registry returned no model for "${name}"`);
      return model;
    },
    async download(name, version, signal) {
      let record: ModelVersion | undefined;
      const chunks: Uint8Array[] = [];
      let size = 0;
      const options = signal === undefined ? {} : { signal };
      for await (const message of registry.downloadModelVersion(
        { model: `${name}:${version}`, chunkSize: 1024 * 1024 },
        options,
      )) {
        record ??= message.version;
        chunks.push(message.chunk);
        size += message.chunk.length;
      }
      if (record === undefined) throw new Error(`the registry sent no record of ${name}:${version}`);
      const artifact = new Uint8Array(size);
      let offset = 0;
      for (const chunk of chunks) {
        artifact.set(chunk, offset);
        offset += chunk.length;
      }
      return { version: record, artifact };
    },
    async *watch(signal) {
      for await (const message of registry.watchEvents({}, { signal })) {
        if (message.event !== undefined) yield message.event;
      }
    },
  };
}
