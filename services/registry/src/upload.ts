import { DataLossError, InvalidArgumentError, NotFoundError, ResourceExhaustedError } from "@seam/kit/errors";
import type { Logger } from "@seam/kit/logging";
import { checkDescription, checkResourceName, checkSha256, checkTags } from "@seam/kit/naming";
import type { BlobInfo, BlobStore } from "@seam/kit/storage";
import {
  ArtifactFormat,
  type ModelVersionMetadata,
  type UploadModelVersionRequest,
} from "@seam/proto/seam/registry/v1/registry_pb";
import { checkAlias, checkModelName } from "./names.js";
import { OnnxLoadError, readOnnxSignature } from "./onnx-signature.js";
import type { AddedVersion, RegistryStore } from "./store/registry-store.js";

/** What an upload needs. */
export interface UploadDeps {
  readonly store: RegistryStore;
  readonly blobs: BlobStore;
  readonly logger: Logger;
  readonly maxArtifactBytes: number;
}

/**
 * Turns an upload stream (metadata, then chunks) into a stored version.
 *
 * The chunks go straight into the blob store (size limit and cancellation enforced there,
 * so a refused or cancelled upload stores nothing). The stored bytes are then checked
 * (expected sha256, then loadable by ONNX Runtime) and the version committed in one
 * atomic step. Any failure after the blob was stored releases it unless a committed
 * version shares it, so no path leaves half-written state behind.
 */
export async function uploadVersion(
  deps: UploadDeps,
  requests: AsyncIterable<UploadModelVersionRequest>,
  signal: AbortSignal,
): Promise<AddedVersion> {
  const stream = requests[Symbol.asyncIterator]();
  const first = await stream.next();
  if (first.done === true)
    throw new InvalidArgumentError("the upload stream is empty: send the metadata first, then the chunks");
  if (first.value.payload.case !== "metadata") {
    throw new InvalidArgumentError(
      "the first message of an upload must carry metadata (model_name, ...), not a chunk",
    );
  }
  const metadata = first.value.payload.value;
  const expectedSha = checkMetadata(metadata);
  // Fail before the client sends the bytes.
  if (!metadata.createModel) await deps.store.getModel(metadata.modelName).catch(withCreateHint);

  // Kept in memory too: ONNX Runtime loads from a buffer, and it allows re-storing the blob (below).
  const parts: Uint8Array[] = [];
  const blob = await putChunks(deps, chunksOf(stream, parts), signal);
  const bytes = Buffer.concat(parts);
  let added: AddedVersion;
  try {
    signal.throwIfAborted();
    if (expectedSha !== undefined && expectedSha !== blob.sha256) {
      throw new DataLossError(
        `the artifact's sha256 is ${blob.sha256} but metadata.expected_sha256 is ${expectedSha}: it was changed or truncated on the way`,
      );
    }
    if (blob.size === 0)
      throw new InvalidArgumentError("the artifact is empty: send it in chunk messages after the metadata");
    const signature = await readOnnxSignature(bytes).catch((err: unknown) => {
      throw err instanceof OnnxLoadError
        ? new InvalidArgumentError(`not a loadable ONNX model: ${err.message}`)
        : err;
    });
    signal.throwIfAborted();
    added = await deps.store.addVersion(
      {
        modelName: metadata.modelName,
        createModel: metadata.createModel,
        sha256: blob.sha256,
        sizeBytes: BigInt(blob.size),
        signature,
        description: metadata.description,
        metrics: metadata.metrics,
        params: metadata.params,
        lineage: metadata.lineage,
        tags: metadata.tags,
        alias: metadata.alias,
      },
      signal,
    );
  } catch (err) {
    await deps.store.releaseBlob(blob.sha256).catch((cleanupErr: unknown) => {
      deps.logger.error(
        { err: cleanupErr, sha256: blob.sha256 },
        "releasing the blob of a failed upload failed",
      );
    });
    throw err;
  }
  await ensureStored(deps, blob, bytes);
  return added;
}

function withCreateHint(err: unknown): never {
  throw err instanceof NotFoundError
    ? new NotFoundError(`${err.message} (set metadata.create_model to create it)`)
    : err;
}

/** Validates the metadata message; returns the expected sha256 (lower case) if one was given. */
function checkMetadata(metadata: ModelVersionMetadata): string | undefined {
  checkModelName(metadata.modelName, "metadata.model_name");
  if (metadata.format !== ArtifactFormat.UNSPECIFIED && metadata.format !== ArtifactFormat.ONNX) {
    throw new InvalidArgumentError(
      `metadata.format must be ARTIFACT_FORMAT_ONNX (or unset), got ${metadata.format}`,
    );
  }
  checkDescription(metadata.description, "metadata.description");
  checkTags(metadata.tags, "metadata.tags");
  for (const [key, value] of Object.entries(metadata.metrics)) {
    if (!Number.isFinite(value))
      throw new InvalidArgumentError(
        `metadata.metrics[${JSON.stringify(key)}] must be a finite number, got ${value}`,
      );
  }
  if (metadata.alias !== "") checkAlias(metadata.alias, "metadata.alias");
  // A binding that could never be looked up (ListFeatureServiceUsages takes only valid
  // names) would let the feature store delete a service this model needs.
  const featureService = metadata.lineage?.featureService ?? "";
  if (featureService !== "")
    checkResourceName(featureService, "feature service", "metadata.lineage.feature_service");
  return metadata.expectedSha256 === ""
    ? undefined
    : checkSha256(metadata.expectedSha256, "metadata.expected_sha256");
}

/** The chunk payloads of the rest of the stream, also collected into `parts`. */
async function* chunksOf(
  stream: AsyncIterator<UploadModelVersionRequest>,
  parts: Uint8Array[],
): AsyncGenerator<Uint8Array> {
  for (;;) {
    const next = await stream.next();
    if (next.done === true) return;
    const { payload } = next.value;
    if (payload.case !== "chunk") {
      throw new InvalidArgumentError(
        "only the first message of an upload may carry metadata; every later message must carry a chunk",
      );
    }
    parts.push(payload.value);
    yield payload.value;
  }
}

async function putChunks(
  deps: UploadDeps,
  chunks: AsyncIterable<Uint8Array>,
  signal: AbortSignal,
): Promise<BlobInfo> {
  try {
    return await deps.blobs.put(chunks, { maxBytes: deps.maxArtifactBytes, signal });
  } catch (err) {
    if (err instanceof ResourceExhaustedError) {
      throw new ResourceExhaustedError(
        `the artifact is larger than the limit of ${deps.maxArtifactBytes} bytes`,
      );
    }
    throw err;
  }
}

/**
 * Deleting another version may have released this content between our put and our commit
 * (content addressing shares one blob); the committed version must find its bytes, so put
 * them again from memory in that case.
 */
async function ensureStored(deps: UploadDeps, blob: BlobInfo, bytes: Uint8Array): Promise<void> {
  if ((await deps.blobs.stat(blob.sha256)) !== undefined) return;
  deps.logger.warn({ sha256: blob.sha256 }, "artifact was released by a concurrent delete; storing it again");
  await deps.blobs.put([bytes]);
}
