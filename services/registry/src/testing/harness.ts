import type { MessageInitShape } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { type Client, createClient, createRouterTransport } from "@connectrpc/connect";
import { createDomainErrorInterceptor } from "@seam/kit/errors";
import type { ModelVersionMetadataSchema } from "@seam/proto/seam/registry/v1/registry_pb";
import {
  ModelRegistryService,
  type ModelVersionMetadata,
  type UploadModelVersionRequest,
  UploadModelVersionRequestSchema,
} from "@seam/proto/seam/registry/v1/registry_pb";
import { ModelRegistry, type RegistryDeps } from "../service.js";

/** A client of the registry service. */
export type RegistryClient = Client<typeof ModelRegistryService>;

/**
 * Serves a registry in memory through Connect's router transport (real serialization of
 * every message) and returns a client of it with the service.
 */
export function createTestRegistry(deps: RegistryDeps): { client: RegistryClient; service: ModelRegistry } {
  const service = new ModelRegistry(deps);
  const transport = createRouterTransport(({ service: route }) => route(ModelRegistryService, service), {
    router: { interceptors: [createDomainErrorInterceptor()] },
  });
  return { client: createClient(ModelRegistryService, transport), service };
}

/** An upload stream: the metadata, then the artifact in chunks of `chunkSize` bytes. */
export async function* uploadStream(
  metadata: MessageInitShape<typeof ModelVersionMetadataSchema>,
  artifact: Uint8Array,
  chunkSize = 1024,
): AsyncGenerator<UploadModelVersionRequest> {
  yield create(UploadModelVersionRequestSchema, {
    payload: { case: "metadata", value: metadata as ModelVersionMetadata },
  });
  for (let i = 0; i < artifact.length; i += chunkSize) {
    yield create(UploadModelVersionRequestSchema, {
      payload: { case: "chunk", value: artifact.subarray(i, i + chunkSize) },
    });
  }
}
