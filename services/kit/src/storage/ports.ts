/**
 * The storage ports every stateful service goes through. Each has an embedded
 * adapter (no install needed: `seam up` on a laptop) and a Redis adapter (many
 * replicas on many hosts); one contract test suite per port runs against both.
 */

/** One stored key and its value. */
export interface MetaEntry {
  readonly key: string;
  readonly value: Uint8Array;
}

/** A key range to list, in byte order of the (UTF-8) keys. */
export interface MetaRange {
  /** Only keys starting with this prefix. */
  readonly prefix: string;
  /** Only keys strictly after this one (ascending) or strictly before it (reverse). */
  readonly after?: string;
  /** At most this many entries. */
  readonly limit?: number;
  /** Descending order. */
  readonly reverse?: boolean;
}

/**
 * An atomic batch: every check must hold at commit time or nothing is written.
 * `expect: undefined` checks that the key is absent. Deletes apply after puts, so a
 * key both put and deleted in one batch ends up absent.
 */
export interface MetaCommit {
  readonly checks?: ReadonlyArray<{ readonly key: string; readonly expect: Uint8Array | undefined }>;
  readonly puts?: ReadonlyArray<MetaEntry>;
  readonly deletes?: ReadonlyArray<string>;
}

/**
 * Ordered key/value metadata with atomic compare-and-set batches.
 * Keys are strings without NUL characters; values are opaque bytes (protobuf binary).
 */
export interface MetaStore {
  get(key: string): Promise<Uint8Array | undefined>;
  getMany(keys: ReadonlyArray<string>): Promise<Array<Uint8Array | undefined>>;
  list(range: MetaRange): Promise<MetaEntry[]>;
  /** Applies the batch atomically; resolves false (writing nothing) when a check failed. */
  commit(batch: MetaCommit): Promise<boolean>;
  close(): Promise<void>;
}

/** What the blob store knows of one stored blob. */
export interface BlobInfo {
  /** Lower-case hex sha256 of the content: the blob's address. */
  readonly sha256: string;
  readonly size: number;
}

/** Options of {@link BlobStore.put}. */
export interface BlobPutOptions {
  /** Refuse (with ResourceExhaustedError) and store nothing once more bytes than this arrive. */
  readonly maxBytes?: number;
  /** Abandon the write (storing nothing) when aborted. */
  readonly signal?: AbortSignal;
}

/**
 * Content-addressed blobs (dataset files, model artifacts, checkpoints).
 * A put either stores the complete content under its sha256 or nothing at all;
 * putting the same content twice stores one copy.
 */
export interface BlobStore {
  put(content: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options?: BlobPutOptions): Promise<BlobInfo>;
  /**
   * Stores the content of the finished local file at `path`, like `put` of its bytes (the
   * store hashes it itself: the address is never taken on trust), but without copying it
   * when the store can adopt the file: the local adapter hard-links it into place when
   * it is on the same file system. The file stays where it is for the caller to remove;
   * it must not be modified afterwards (removing or replacing it is fine).
   */
  putFile(path: string, options?: BlobPutOptions): Promise<BlobInfo>;
  /** Streams the content in chunks of at most `chunkSize` bytes; NotFoundError when absent. */
  get(
    sha256: string,
    options?: { readonly chunkSize?: number; readonly signal?: AbortSignal },
  ): AsyncIterable<Uint8Array>;
  stat(sha256: string): Promise<BlobInfo | undefined>;
  /** Removes the blob; resolves false when it was not there. */
  delete(sha256: string): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Publish/subscribe of small messages by topic, delivered to every subscriber
 * of every process sharing the bus (at most once; no replay of missed messages).
 */
export interface EventBus {
  publish(topic: string, payload: Uint8Array): Promise<void>;
  /**
   * Messages published on the topic after the returned promise resolves, until the
   * signal aborts (the iterator then ends without error).
   */
  subscribe(topic: string, signal: AbortSignal): Promise<AsyncIterable<Uint8Array>>;
  close(): Promise<void>;
}

/** The set of ports a process runs on. */
export interface Stores {
  readonly kind: "embedded" | "redis";
  readonly meta: MetaStore;
  readonly blobs: BlobStore;
  readonly events: EventBus;
  close(): Promise<void>;
}
