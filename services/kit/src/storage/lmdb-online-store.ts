import { open, type RootDatabase } from "lmdb";
import { checkRead, prepareRecord } from "./internal/online-records.js";
import { lmdbSpan } from "./internal/tracing.js";
import type { OnlineRead, OnlineReadResult, OnlineRecord, OnlineStore } from "./ports.js";

/** A stored record's fields; created without a prototype so a field named `__proto__` is plain data. */
type Fields = Record<string, string>;

/**
 * {@link OnlineStore} on an embedded LMDB environment in one directory.
 *
 * One entry per (entity, group): the key is the UTF-8 bytes of `<entityKey> NUL <group>`
 * (neither part may contain NUL, so the split is unambiguous), the value the UTF-8 JSON
 * `[eventTime, {"<field>": "<value>", …}]` — V8's JSON.parse is the fastest decoder at hand
 * and the entries stay readable with any LMDB tool. Null (removed) fields are simply absent.
 *
 * A write runs in one synchronous write transaction, so the whole batch is atomic and its
 * newest-wins checks cannot race another writer (in this process or another one opening the
 * same directory). A read does all its gets in one event turn, which LMDB serves from one
 * read snapshot, so the results are mutually consistent.
 */
export class LmdbOnlineStore implements OnlineStore {
  readonly #db: RootDatabase<Buffer, Buffer>;

  /** Opens (creating if needed) the LMDB environment in directory `path`. */
  constructor(path: string) {
    this.#db = open<Buffer, Buffer>({ path, encoding: "binary", keyEncoding: "binary" });
  }

  async write(records: ReadonlyArray<OnlineRecord>): Promise<number> {
    // Validate everything before the write lock is taken: an invalid record writes nothing.
    const prepared = records.map((record) => {
      const valid = prepareRecord(record);
      return { ...valid, key: entryKey(valid.entityKey, valid.group) };
    });
    if (prepared.length === 0) return 0;
    return lmdbSpan("write", { "db.record_count": prepared.length }, () =>
      // transactionSync, not transaction: gets inside it see the batch's own earlier
      // writes under the writer lock, and the async variant hangs on Node 20 here.
      this.#db.transactionSync(() => {
        let applied = 0;
        for (const record of prepared) {
          const stored = this.#db.get(record.key);
          const fields: Fields = Object.create(null);
          if (stored !== undefined) {
            const [eventTime, storedFields] = decode(stored);
            if (eventTime > record.eventTime) continue;
            Object.assign(fields, storedFields);
          }
          for (const [field, value] of record.sets) fields[field] = value;
          for (const field of record.deletes) delete fields[field];
          this.#db.putSync(record.key, encode(record.eventTime, fields));
          applied++;
        }
        return applied;
      }),
    );
  }

  async read(reads: ReadonlyArray<OnlineRead>): Promise<Array<OnlineReadResult | undefined>> {
    const keys = reads.map((read) => {
      checkRead(read);
      return entryKey(read.entityKey, read.group);
    });
    return lmdbSpan("read", { "db.read_count": reads.length }, () =>
      keys.map((key, i) => {
        const stored = this.#db.get(key);
        if (stored === undefined) return undefined;
        const [eventTime, fields] = decode(stored);
        const wanted = (reads[i] as OnlineRead).fields;
        return {
          eventTime,
          values: wanted.map((field) => (Object.hasOwn(fields, field) ? (fields[field] as string) : null)),
        };
      }),
    );
  }

  async close(): Promise<void> {
    await this.#db.close();
  }
}

function entryKey(entityKey: string, group: string): Buffer {
  return Buffer.from(`${entityKey}\0${group}`, "utf8");
}

function encode(eventTime: number, fields: Fields): Buffer {
  return Buffer.from(JSON.stringify([eventTime, fields]), "utf8");
}

// JSON.parse defines every member as an own data property (`__proto__` included), so
// lookups must go through Object.hasOwn, never plain `in` or truthiness.
function decode(stored: Buffer): [eventTime: number, fields: Fields] {
  return JSON.parse(stored.toString("utf8")) as [number, Fields];
}
