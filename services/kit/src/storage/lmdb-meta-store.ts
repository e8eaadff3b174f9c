import { open, type RootDatabase } from "lmdb";
import { asBuffer } from "./internal/bytes.js";
import { checkLimit, keyBytes, prefixUpperBound } from "./internal/keys.js";
import { lmdbSpan } from "./internal/tracing.js";
import type { MetaCommit, MetaEntry, MetaRange, MetaStore } from "./ports.js";

/**
 * {@link MetaStore} on an embedded LMDB environment in one directory.
 *
 * Keys are stored as raw UTF-8 bytes (`keyEncoding: "binary"`) so listing order is
 * plain byte order, the same as the Redis adapter's ZRANGEBYLEX. `commit` runs in
 * one synchronous write transaction: LMDB's writer lock serialises it against every
 * other writer, in this process and in any other process opening the same directory,
 * so its checks and writes are atomic.
 */
export class LmdbMetaStore implements MetaStore {
  readonly #db: RootDatabase<Buffer, Buffer>;

  /** Opens (creating if needed) the LMDB environment in directory `path`. */
  constructor(path: string) {
    this.#db = open<Buffer, Buffer>({ path, encoding: "binary", keyEncoding: "binary" });
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const k = keyBytes(key);
    return lmdbSpan("get", {}, () => this.#db.get(k));
  }

  async getMany(keys: ReadonlyArray<string>): Promise<Array<Uint8Array | undefined>> {
    const ks = keys.map(keyBytes);
    // One event turn shares one read snapshot, so the values are mutually consistent.
    return lmdbSpan("getMany", { "db.key_count": ks.length }, () => ks.map((k) => this.#db.get(k)));
  }

  async list(range: MetaRange): Promise<MetaEntry[]> {
    checkLimit(range.limit);
    if (range.limit === 0) return [];
    const prefix = Buffer.from(range.prefix, "utf8");
    const upper = prefixUpperBound(prefix);
    const after = range.after === undefined ? undefined : Buffer.from(range.after, "utf8");
    return lmdbSpan("list", { "db.key_prefix": range.prefix, "db.reverse": range.reverse === true }, () => {
      const options =
        range.reverse === true ? reverseRange(prefix, upper, after) : forwardRange(prefix, upper, after);
      if (options === undefined) return [];
      const entries: MetaEntry[] = [];
      for (const { key, value } of this.#db.getRange({
        ...options,
        reverse: range.reverse === true,
        ...(range.limit === undefined ? {} : { limit: range.limit }),
      })) {
        entries.push({ key: key.toString("utf8"), value });
      }
      return entries;
    });
  }

  async commit(batch: MetaCommit): Promise<boolean> {
    // Encode (and validate) everything before the write lock is taken.
    const checks = (batch.checks ?? []).map((c) => ({ key: keyBytes(c.key), expect: c.expect }));
    const puts = (batch.puts ?? []).map((p) => ({ key: keyBytes(p.key), value: asBuffer(p.value) }));
    const deletes = (batch.deletes ?? []).map(keyBytes);
    const attributes = {
      "db.check_count": checks.length,
      "db.put_count": puts.length,
      "db.delete_count": deletes.length,
    };
    return lmdbSpan("commit", attributes, () =>
      // transactionSync, not transaction: reads inside it see the writer's own view
      // under the lock (so checks cannot race), and it aborts the whole transaction
      // if anything throws. It blocks the event loop only for the short time the
      // batch takes (plus any wait for another process's writer).
      this.#db.transactionSync(() => {
        for (const check of checks) {
          if (!sameBytes(this.#db.get(check.key), check.expect)) return false;
        }
        for (const put of puts) this.#db.putSync(put.key, put.value);
        for (const key of deletes) this.#db.removeSync(key);
        return true;
      }),
    );
  }

  async close(): Promise<void> {
    await this.#db.close();
  }
}

type RangeBounds = { start?: Buffer; end?: Buffer; exclusiveStart?: boolean; inclusiveEnd?: boolean };

// Forward: start inclusive, end exclusive. Undefined means the range is empty.
function forwardRange(
  prefix: Buffer,
  upper: Buffer | undefined,
  after: Buffer | undefined,
): RangeBounds | undefined {
  const end = upper === undefined ? {} : { end: upper };
  if (after === undefined || Buffer.compare(after, prefix) < 0) return { start: prefix, ...end };
  if (upper !== undefined && Buffer.compare(after, upper) >= 0) return undefined;
  return { start: after, exclusiveStart: true, ...end };
}

// Reverse: LMDB walks down from `start` (the high end) to `end` (the low end).
// The prefix itself may be a key, so the low end is inclusive.
function reverseRange(
  prefix: Buffer,
  upper: Buffer | undefined,
  after: Buffer | undefined,
): RangeBounds | undefined {
  if (after !== undefined && Buffer.compare(after, prefix) <= 0) return undefined;
  const high =
    after !== undefined && (upper === undefined || Buffer.compare(after, upper) < 0) ? after : upper;
  return {
    ...(high === undefined ? {} : { start: high, exclusiveStart: true }),
    ...(prefix.length === 0 ? {} : { end: prefix, inclusiveEnd: true }),
  };
}

function sameBytes(current: Buffer | undefined, expected: Uint8Array | undefined): boolean {
  if (current === undefined || expected === undefined) return current === expected;
  return Buffer.compare(current, expected) === 0;
}
