import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, type FileHandle, link, mkdir, open, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { abortable } from "../async/index.js";
import { DataLossError, NotFoundError, ResourceExhaustedError } from "../errors/index.js";
import { checkSha256, checkSize, DEFAULT_CHUNK_SIZE } from "./internal/blob-address.js";
import type { BlobInfo, BlobPutFileOptions, BlobPutOptions, BlobStore } from "./ports.js";

/** Read size of `putFile`'s hash pass. */
const HASH_BUFFER_BYTES = 4 << 20;

/** sha256 of an open file of `size` bytes, read with one reused buffer. */
async function hashFile(file: FileHandle, size: number, path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash("sha256");
  let hashed = 0;
  // One buffer read into again and again: a stream's fresh 4 MiB chunk per read made a
  // gigabyte upload's final hash pay about a quarter of its time in GC.
  const buffer = Buffer.allocUnsafe(Math.min(HASH_BUFFER_BYTES, Math.max(size, 1)));
  for (;;) {
    signal?.throwIfAborted();
    const { bytesRead } = await file.read(buffer, 0, buffer.length, hashed);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    hashed += bytesRead;
  }
  if (hashed !== size) throw new Error(`${path} changed size while being stored`);
  return hash.digest("hex");
}

/**
 * {@link BlobStore} in a local directory: `<dir>/sha256/ab/cdef…` holds the blob
 * whose sha256 is `abcdef…`. A put streams into `<dir>/tmp/` while hashing, fsyncs,
 * then renames into place, so a blob file is always complete; anything that stops a
 * put (limit, abort, error) removes its temp file.
 */
export class LocalBlobStore implements BlobStore {
  readonly #dir: string;

  /** Uses (creating on first put) the directory `dir`. */
  constructor(dir: string) {
    this.#dir = dir;
  }

  async put(
    content: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: BlobPutOptions = {},
  ): Promise<BlobInfo> {
    checkSize("maxBytes", options.maxBytes, 0);
    const tmpDir = join(this.#dir, "tmp");
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, randomUUID());
    const file = await open(tmp, "wx");
    let closed = false;
    try {
      const hash = createHash("sha256");
      let size = 0;
      for await (const chunk of abortable(content, options.signal)) {
        size += chunk.byteLength;
        if (options.maxBytes !== undefined && size > options.maxBytes) {
          throw new ResourceExhaustedError(`blob is larger than the limit of ${options.maxBytes} bytes`);
        }
        hash.update(chunk);
        await file.write(chunk);
      }
      await file.sync();
      await file.close();
      closed = true;
      const sha256 = hash.digest("hex");
      const target = this.#path(sha256);
      if (await exists(target)) {
        await rm(tmp, { force: true }); // same content already stored: dedupe
      } else {
        await mkdir(join(target, ".."), { recursive: true });
        await rename(tmp, target);
        await syncDir(join(target, ".."));
      }
      return { sha256, size };
    } catch (err) {
      if (!closed) await file.close().catch(() => {});
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /**
   * Hashes the file (reading it once; not when the caller gives the digest it checked
   * against the file, `known`) and hard-links it into place; falls back to a copy when the
   * store is on another file system (or links are not supported). The file is fsynced
   * first, as `put` fsyncs what it wrote, so a stored blob is always complete.
   */
  async putFile(path: string, options: BlobPutFileOptions = {}): Promise<BlobInfo> {
    checkSize("maxBytes", options.maxBytes, 0);
    if (options.known !== undefined) checkSha256(options.known.sha256);
    options.signal?.throwIfAborted();
    const file = await open(path, "r");
    let sha256: string;
    let size: number;
    try {
      size = (await file.stat()).size;
      if (options.maxBytes !== undefined && size > options.maxBytes) {
        throw new ResourceExhaustedError(`blob is larger than the limit of ${options.maxBytes} bytes`);
      }
      if (options.known !== undefined && options.known.size !== size) {
        throw new DataLossError(
          `${path} has ${size} bytes, not the ${options.known.size} its digest was taken of`,
        );
      }
      // Flushing to disk (a worker thread) overlaps hashing (this thread).
      const synced = file.sync();
      synced.catch(() => {});
      sha256 = options.known?.sha256 ?? (await hashFile(file, size, path, options.signal));
      await synced;
    } finally {
      await file.close();
    }
    options.signal?.throwIfAborted();
    const target = this.#path(sha256);
    if (await exists(target)) return { sha256, size }; // same content already stored: dedupe
    await mkdir(join(target, ".."), { recursive: true });
    try {
      await link(path, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") return { sha256, size }; // a concurrent put stored it
      if (code !== "EXDEV" && code !== "EPERM" && code !== "ENOTSUP" && code !== "EMLINK") throw err;
      await this.#copyIn(path, target);
    }
    await syncDir(join(target, ".."));
    return { sha256, size };
  }

  /** Copies `path` into the temp dir, fsyncs it and renames it to `target`. */
  async #copyIn(path: string, target: string): Promise<void> {
    const tmpDir = join(this.#dir, "tmp");
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, randomUUID());
    try {
      await copyFile(path, tmp);
      const copy = await open(tmp, "r+");
      try {
        await copy.sync();
      } finally {
        await copy.close();
      }
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async *get(
    sha256: string,
    options: { readonly chunkSize?: number; readonly signal?: AbortSignal } = {},
  ): AsyncIterable<Uint8Array> {
    checkSha256(sha256);
    checkSize("chunkSize", options.chunkSize, 1);
    const path = this.#path(sha256);
    // Open before streaming so a missing blob is NotFound, not a stream error midway.
    const handle = await open(path, "r").catch((err: unknown) => {
      throw isNotFound(err) ? new NotFoundError(`blob ${sha256} not found`) : err;
    });
    const stream = createReadStream("", {
      fd: handle,
      highWaterMark: options.chunkSize ?? DEFAULT_CHUNK_SIZE,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    for await (const chunk of stream) yield chunk as Buffer;
  }

  async stat(sha256: string): Promise<BlobInfo | undefined> {
    checkSha256(sha256);
    try {
      return { sha256, size: (await stat(this.#path(sha256))).size };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async delete(sha256: string): Promise<boolean> {
    checkSha256(sha256);
    try {
      await rm(this.#path(sha256));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async close(): Promise<void> {}

  #path(sha256: string): string {
    return join(this.#dir, "sha256", sha256.slice(0, 2), sha256.slice(2));
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

// The rename is only durable once the directory entry is on disk too.
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === "ENOENT";
}
