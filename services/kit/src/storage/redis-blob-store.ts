import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import type { Redis } from "ioredis";
import { abortable } from "../async/index.js";
import { DataLossError, NotFoundError, ResourceExhaustedError } from "../errors/index.js";
import { checkSha256, checkSize, DEFAULT_CHUNK_SIZE } from "./internal/blob-address.js";
import { defineScript, type Script } from "./internal/redis-scripts.js";
import type { BlobInfo, BlobPutFileOptions, BlobPutOptions, BlobStore } from "./ports.js";

/** Options of {@link RedisBlobStore}. */
export interface RedisBlobStoreOptions {
  /** The connection to use; the store does not own it (closing the store leaves it open). */
  readonly redis: Redis;
  /** Prepended to every Redis key (default `"seam:"`); for Cluster include a hash tag. */
  readonly keyPrefix?: string;
  /** Size of the stored chunks (default 1 MiB): one Redis value each. */
  readonly chunkBytes?: number;
  /** Expiry of an unfinished upload's chunks, so a crashed writer leaves nothing for long (default 3600). */
  readonly uploadTtlSeconds?: number;
}

// KEYS[1] = blob meta hash, KEYS[2..n+1] = upload chunks, KEYS[n+2..2n+1] = final chunk keys.
// ARGV = size, n. Makes the blob visible in one step, or drops the upload if it exists already.
const FINALIZE_LUA = `
local n = tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 1 then
  for i = 1, n do redis.call('DEL', KEYS[1 + i]) end
  return 0
end
for i = 1, n do
  redis.call('RENAME', KEYS[1 + i], KEYS[1 + n + i])
  redis.call('PERSIST', KEYS[1 + n + i])
end
redis.call('HSET', KEYS[1], 'size', ARGV[1], 'chunks', ARGV[2])
return 1
`;

/** How many keys one DEL of cleanup takes at most. */
const DEL_BATCH = 500;

/**
 * {@link BlobStore} on Redis, so replicas on different hosts share artifacts without
 * a shared disk. A blob is a hash `<prefix>blob:<sha>` (size, chunk count) plus its
 * chunks `<prefix>blob:<sha>:chunk:<i>`. A put writes its chunks under a random upload
 * id (with a TTL) while hashing, then one Lua script renames them into place and sets
 * the hash — the blob appears whole or not at all. A refused or cancelled put deletes
 * its upload chunks.
 */
export class RedisBlobStore implements BlobStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #chunkBytes: number;
  readonly #ttl: number;
  readonly #finalize: Script<number>;

  constructor(options: RedisBlobStoreOptions) {
    checkSize("chunkBytes", options.chunkBytes, 1);
    this.#redis = options.redis;
    this.#prefix = options.keyPrefix ?? "seam:";
    this.#chunkBytes = options.chunkBytes ?? 1024 * 1024;
    this.#ttl = options.uploadTtlSeconds ?? 3600;
    this.#finalize = defineScript(this.#redis, "seamBlobFinalize", FINALIZE_LUA);
  }

  put(
    content: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: BlobPutOptions = {},
  ): Promise<BlobInfo> {
    return this.#put(content, options, undefined);
  }

  /** {@link put}, refusing (DataLossError, nothing stored) content that is not `known`. */
  async #put(
    content: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: BlobPutOptions,
    known: BlobInfo | undefined,
  ): Promise<BlobInfo> {
    checkSize("maxBytes", options.maxBytes, 0);
    if (known !== undefined) checkSha256(known.sha256);
    const upload = `${this.#prefix}upload:${randomUUID()}:chunk:`;
    const hash = createHash("sha256");
    let size = 0;
    let chunks = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async (bytes: Buffer): Promise<void> => {
      // Count before writing, so a failed SET is still cleaned up.
      chunks++;
      await this.#redis.set(upload + (chunks - 1), bytes, "EX", this.#ttl);
    };
    try {
      for await (const part of abortable(content, options.signal)) {
        size += part.byteLength;
        if (options.maxBytes !== undefined && size > options.maxBytes) {
          throw new ResourceExhaustedError(`blob is larger than the limit of ${options.maxBytes} bytes`);
        }
        hash.update(part);
        pending.push(Buffer.from(part)); // copy: the caller may reuse its buffer
        pendingBytes += part.byteLength;
        while (pendingBytes >= this.#chunkBytes) {
          const all = Buffer.concat(pending);
          await flush(all.subarray(0, this.#chunkBytes));
          pending = [all.subarray(this.#chunkBytes)];
          pendingBytes = all.length - this.#chunkBytes;
        }
      }
      if (pendingBytes > 0) await flush(Buffer.concat(pending));
      options.signal?.throwIfAborted();
      const sha256 = hash.digest("hex");
      if (known !== undefined && (known.sha256 !== sha256 || known.size !== size)) {
        throw new DataLossError(
          `the file has sha256 ${sha256} and ${size} bytes, not the ${known.sha256} and ${known.size} bytes given for it`,
        );
      }
      const keys = [this.#metaKey(sha256)];
      for (let i = 0; i < chunks; i++) keys.push(upload + i);
      for (let i = 0; i < chunks; i++) keys.push(this.#chunkKey(sha256, i));
      await this.#finalize(keys.length, ...keys, size, chunks);
      return { sha256, size };
    } catch (err) {
      await this.#deleteUpload(upload, chunks);
      throw err;
    }
  }

  /**
   * Streams the file like {@link put}: Redis has no file to adopt. It is read anyway, so a
   * `known` digest is checked, not taken.
   */
  putFile(path: string, options: BlobPutFileOptions = {}): Promise<BlobInfo> {
    return this.#put(createReadStream(path, { highWaterMark: this.#chunkBytes }), options, options.known);
  }

  async *get(
    sha256: string,
    options: { readonly chunkSize?: number; readonly signal?: AbortSignal } = {},
  ): AsyncIterable<Uint8Array> {
    checkSha256(sha256);
    checkSize("chunkSize", options.chunkSize, 1);
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    const info = await this.#info(sha256);
    if (info === undefined) throw new NotFoundError(`blob ${sha256} not found`);
    // Fetch chunk i+1 while the consumer works on chunk i.
    let next = info.chunks > 0 ? this.#fetchChunk(sha256, 0) : undefined;
    for (let i = 0; next !== undefined; i++) {
      const current = next;
      next = i + 1 < info.chunks ? this.#fetchChunk(sha256, i + 1) : undefined;
      next?.catch(() => {}); // surfaced when awaited; the consumer may stop before that
      const chunk = await current;
      for (let off = 0; off < chunk.length; off += chunkSize) {
        options.signal?.throwIfAborted();
        yield chunk.subarray(off, off + chunkSize);
      }
    }
  }

  async stat(sha256: string): Promise<BlobInfo | undefined> {
    checkSha256(sha256);
    const info = await this.#info(sha256);
    return info === undefined ? undefined : { sha256, size: info.size };
  }

  async delete(sha256: string): Promise<boolean> {
    checkSha256(sha256);
    const info = await this.#info(sha256);
    if (info === undefined) return false;
    const keys = [this.#metaKey(sha256)];
    for (let i = 0; i < info.chunks; i++) keys.push(this.#chunkKey(sha256, i));
    // The meta hash goes in the first DEL, so the blob vanishes at once.
    let removedMeta = false;
    for (let i = 0; i < keys.length; i += DEL_BATCH) {
      const removed = await this.#redis.del(...keys.slice(i, i + DEL_BATCH));
      if (i === 0) removedMeta = removed > 0;
    }
    return removedMeta;
  }

  /** Does nothing: the connection belongs to whoever passed it in. */
  async close(): Promise<void> {}

  async #info(sha256: string): Promise<{ size: number; chunks: number } | undefined> {
    const [size, chunks] = await this.#redis.hmget(this.#metaKey(sha256), "size", "chunks");
    if (size === null || size === undefined || chunks === null || chunks === undefined) return undefined;
    return { size: Number(size), chunks: Number(chunks) };
  }

  async #fetchChunk(sha256: string, i: number): Promise<Buffer> {
    const chunk = await this.#redis.getBuffer(this.#chunkKey(sha256, i));
    if (chunk === null) throw new NotFoundError(`blob ${sha256} was deleted while being read`);
    return chunk;
  }

  async #deleteUpload(upload: string, chunks: number): Promise<void> {
    for (let i = 0; i < chunks; i += DEL_BATCH) {
      const keys: string[] = [];
      for (let j = i; j < Math.min(chunks, i + DEL_BATCH); j++) keys.push(upload + j);
      // Best effort: the TTL removes whatever a failed DEL leaves.
      await this.#redis.del(...keys).catch(() => 0);
    }
  }

  #metaKey(sha256: string): string {
    return `${this.#prefix}blob:${sha256}`;
  }

  #chunkKey(sha256: string, i: number): string {
    return `${this.#prefix}blob:${sha256}:chunk:${i}`;
  }
}
