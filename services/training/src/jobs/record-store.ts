import { type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { NotFoundError } from "@seam/kit/errors";
import { commitWithRetry, type MetaStore, scanPrefix } from "@seam/kit/storage";

/**
 * Protobuf records by id under one key prefix of the MetaStore, with optimistic updates.
 * Ids start with a fixed-width base36 time, so reverse key order is newest first.
 */
export class RecordStore<S extends DescMessage> {
  constructor(
    private readonly meta: MetaStore,
    private readonly schema: S,
    private readonly prefix: string,
    /** What the record is called in NOT_FOUND messages ("job", "sweep"). */
    private readonly kind: string,
  ) {}

  private key(id: string): string {
    return `${this.prefix}${id}`;
  }

  /** Stores a new record (and the entries of `also`, in the same commit); throws when the id is taken. */
  async create(
    id: string,
    record: MessageShape<S>,
    also: ReadonlyArray<{ readonly key: string; readonly value: Uint8Array }> = [],
  ): Promise<MessageShape<S>> {
    const ok = await this.meta.commit({
      checks: [{ key: this.key(id), expect: undefined }],
      puts: [{ key: this.key(id), value: toBinary(this.schema, record) }, ...also],
    });
    if (!ok) throw new Error(`${this.kind} id ${id} is taken`);
    return record;
  }

  /** The record; NotFoundError when absent. */
  async get(id: string): Promise<MessageShape<S>> {
    const bytes = await this.meta.get(this.key(id));
    if (bytes === undefined) throw new NotFoundError(`${this.kind} ${id} not found`);
    return fromBinary(this.schema, bytes);
  }

  /**
   * Applies `change` to the current record and stores it, retrying when another writer got
   * there first. `change` returns false to leave the record as it is.
   */
  async update(id: string, change: (record: MessageShape<S>) => boolean): Promise<MessageShape<S>> {
    return commitWithRetry(this.meta, async () => {
      const bytes = await this.meta.get(this.key(id));
      if (bytes === undefined) throw new NotFoundError(`${this.kind} ${id} not found`);
      const record = fromBinary(this.schema, bytes);
      if (!change(record)) return { batch: undefined, result: record };
      return {
        batch: {
          checks: [{ key: this.key(id), expect: bytes }],
          puts: [{ key: this.key(id), value: toBinary(this.schema, record) }],
        },
        result: record,
      };
    });
  }

  /** Records newest first, after id `after` (exclusive), at most `limit`, filtered by `keep`. */
  async list(
    limit: number,
    after: string | undefined,
    keep: (record: MessageShape<S>) => boolean,
  ): Promise<Array<MessageShape<S>>> {
    const records: Array<MessageShape<S>> = [];
    let cursor = after === undefined ? undefined : this.key(after);
    for (;;) {
      const entries = await this.meta.list({
        prefix: this.prefix,
        reverse: true,
        limit: 200,
        ...(cursor === undefined ? {} : { after: cursor }),
      });
      for (const entry of entries) {
        const record = fromBinary(this.schema, entry.value);
        if (keep(record)) records.push(record);
        if (records.length === limit) return records;
      }
      if (entries.length < 200) return records;
      cursor = entries[entries.length - 1]?.key;
    }
  }

  /** Every record. */
  async *all(): AsyncGenerator<MessageShape<S>> {
    for await (const entry of scanPrefix(this.meta, this.prefix)) yield fromBinary(this.schema, entry.value);
  }
}
