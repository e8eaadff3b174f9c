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

/** Options of {@link BlobStore.putFile}. */
export interface BlobPutFileOptions extends BlobPutOptions {
  /**
   * The file's sha256 and size, when the caller has them from the file's own bytes: it
   * hashed what it wrote and compared the file, read back, with it (as dataset ingest's
   * statistics worker does). The local store then adopts the file under this address
   * without reading it again, after checking the size; a store that reads the file anyway
   * (Redis) hashes it and refuses another digest. A file of another size (any store) or
   * another digest (a store that reads it) is DataLossError and stores nothing.
   */
  readonly known?: BlobInfo;
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
   * store hashes it itself, unless the caller gives the digest it checked against the
   * file: `known`), but without copying it when the store can adopt the file: the local
   * adapter hard-links it into place when it is on the same file system. The file stays
   * where it is for the caller to remove; it must not be modified afterwards (removing or
   * replacing it is fine).
   */
  putFile(path: string, options?: BlobPutFileOptions): Promise<BlobInfo>;
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

/** One feature-view row of one entity, as the online store keeps it. */
export interface OnlineRecord {
  /**
   * Canonical entity key, e.g. "user_id=42" or "merchant_id=7,user_id=42": any non-empty string
   * without NUL, of at most 1024 UTF-8 bytes (the limit of every store key).
   */
  readonly entityKey: string;
  /**
   * Namespace of the record within the entity: one feature view (generation), e.g. "user_stats.k3x9".
   * Non-empty, at most 256 UTF-8 bytes; must not contain ":" "#" or NUL (refused with an
   * InvalidArgumentError naming it).
   */
  readonly group: string;
  /** Event time of the row, integer epoch milliseconds (a safe integer). */
  readonly eventTime: number;
  /** Field values to set; null removes the field (a null feature value). Field names non-empty, no NUL. */
  readonly values: ReadonlyArray<readonly [field: string, value: string | null]>;
}

/** Which fields of one group of one entity to read. */
export interface OnlineRead {
  readonly entityKey: string;
  readonly group: string;
  readonly fields: ReadonlyArray<string>;
}

/** What is stored for one read: undefined (in the result array) when the entity has no record in that group. */
export interface OnlineReadResult {
  readonly eventTime: number;
  /** Per requested field, in order: its value, or null when absent (never written or written null). */
  readonly values: Array<string | null>;
}

/**
 * Feature values per entity key for online serving. Per (entityKey, group), the record with the
 * newest event time wins: a write whose eventTime is older than the stored one is skipped entirely
 * (none of its fields change); an equal or newer one sets its listed fields and the stored event time
 * (fields it does not list keep their values). Each record's check-and-set is atomic.
 *
 * Entity keys, groups, field names and values must be well-formed Unicode (both adapters store
 * UTF-8); when a record lists a field twice the last mention wins. A write validates every record
 * before applying any, so an invalid one (InvalidArgumentError) writes nothing.
 */
export interface OnlineStore {
  /** Applies the records (in order); resolves how many were applied (not skipped as older). */
  write(records: ReadonlyArray<OnlineRecord>): Promise<number>;
  /** Reads many (entity, group) records; the Redis adapter does it in one pipelined round trip. */
  read(reads: ReadonlyArray<OnlineRead>): Promise<Array<OnlineReadResult | undefined>>;
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
