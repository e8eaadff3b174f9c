import type { Redis } from "ioredis";
import { checkEntityKey, checkReadFields, prepareRecord } from "./internal/online-records.js";
import { defineScript, pipelineReplies, queueScript, type Script } from "./internal/redis-scripts.js";
import type { OnlineRead, OnlineReadResult, OnlineRecord, OnlineStore } from "./ports.js";

/** Options of {@link RedisOnlineStore}. */
export interface RedisOnlineStoreOptions {
  /** The connection to use; the store does not own it (closing the store leaves it open). */
  readonly redis: Redis;
  /**
   * Prepended to every Redis key the store touches (default `"seam:online:"`). It should hold
   * no `{…}` of its own: that would become the Cluster hash tag and put every entity in one slot.
   */
  readonly keyPrefix?: string;
}

/** Records per pipeline of a write: bounds what one huge write holds in memory at a time. */
const WRITE_PIPELINE_RECORDS = 1000;
/** Arguments per HSET/HDEL inside the script: Lua's unpack() overflows its C stack near 8000. */
const LUA_ARGS_PER_CALL = 1000;

const WRITE_SCRIPT = "seamOnlineWrite";
// KEYS[1] = the entity's hash. ARGV = number of fields set (n), the group's "#ts" field, the
// event time, n (field, value) pairs, then the fields to delete. Writes nothing and returns 0
// when the stored event time is newer; sets the time with the fields otherwise and returns 1.
// The HSET range (ts field and time, then the pairs) has an even length and starts at ARGV[2],
// so every chunk of an even number of arguments holds whole pairs.
const WRITE_LUA = `
local stored = redis.call('HGET', KEYS[1], ARGV[2])
if stored and tonumber(stored) > tonumber(ARGV[3]) then return 0 end
local last = 3 + 2 * tonumber(ARGV[1])
for i = 2, last, ${LUA_ARGS_PER_CALL} do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + ${LUA_ARGS_PER_CALL - 1}, last)))
end
for i = last + 1, #ARGV, ${LUA_ARGS_PER_CALL} do
  redis.call('HDEL', KEYS[1], unpack(ARGV, i, math.min(i + ${LUA_ARGS_PER_CALL - 1}, #ARGV)))
end
return 1
`;

const READ_SCRIPT = "seamOnlineRead";
/** Fields per entity a scripted read takes: Lua's unpack() overflows its C stack near 8000. */
const READ_SCRIPT_MAX_FIELDS = 4000;
/** Entities per scripted read: a script holds the server while it runs (1000 HMGETs ≈ 1 ms). */
const READ_SCRIPT_MAX_KEYS = 1000;
// KEYS = the entities' hashes. ARGV = the number of distinct field lists, each list as its
// length then its fields, then per key the (1-based) list it reads. Returns per key the
// HMGET reply. Entities mostly read the same fields, so each list is sent once.
const READ_LUA = `
local lists = {}
local at = 2
for l = 1, tonumber(ARGV[1]) do
  local n = tonumber(ARGV[at])
  lists[l] = {unpack(ARGV, at + 1, at + n)}
  at = at + 1 + n
end
local out = {}
for k = 1, #KEYS do
  out[k] = redis.call('HMGET', KEYS[k], unpack(lists[tonumber(ARGV[at + k - 1])]))
end
return out
`;

/**
 * {@link OnlineStore} on Redis, shared by every serving replica.
 *
 * Layout: ONE hash per entity, key `<prefix>{<entityKey>}`, e.g. `seam:online:{user_id=42}`.
 * The braces are a Redis Cluster hash tag: everything of one entity lives in one slot, and
 * every command touches that single key. Its fields are `<group>:<field>` for values and
 * `<group>#ts` for the group's event time (decimal epoch ms); groups contain neither ":" nor
 * "#", so the two kinds never collide. A null value is an absent field.
 *
 * A write sends one Lua script per record (the newest-wins check-and-set, atomic per record),
 * all of them in one pipeline (one per 1000 records). A read is one round trip however many
 * entities and groups it asks for: one HMGET per distinct entity key, covering the time and
 * value fields of every group read of it, all run by one script call that only reads. One
 * command instead of a pipeline of them cuts the client's CPU per read by about a third
 * (ioredis builds, writes and settles every command of a pipeline on its own). The script
 * names every hash in its KEYS; on Redis Cluster, where a script may touch one slot only,
 * such a read would be one call per slot. Reads of one entity are a plain HMGET; reads of
 * over 1000 entities, or of an entity with more fields than a script call can pass, go back
 * to the pipeline.
 */
export class RedisOnlineStore implements OnlineStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  // Keyed by the caller's field-list array: callers that reuse their lists hit it every time.
  readonly #fieldCache = new WeakMap<ReadonlyArray<string>, Map<string, readonly string[]>>();
  readonly #readScript: Script<Array<Array<string | null>>>;

  constructor(options: RedisOnlineStoreOptions) {
    this.#redis = options.redis;
    this.#prefix = options.keyPrefix ?? "seam:online:";
    // Registered for its pipeline method; the per-call function is not needed.
    defineScript<number>(this.#redis, WRITE_SCRIPT, WRITE_LUA);
    this.#readScript = defineScript(this.#redis, READ_SCRIPT, READ_LUA);
  }

  async write(records: ReadonlyArray<OnlineRecord>): Promise<number> {
    // Validate everything before sending anything: an invalid record writes nothing.
    const prepared = records.map(prepareRecord);
    let applied = 0;
    // Two pipelines in flight: the next is built while Redis runs the previous one. One
    // connection sends commands in order, so records for one entity still apply in the
    // caller's order; after a failure a later pipeline may have run, which newest-wins
    // writes make harmless (re-running the write converges to the same state).
    const inFlight: Array<Promise<number>> = [];
    for (let start = 0; start < prepared.length; start += WRITE_PIPELINE_RECORDS) {
      const pipeline = this.#redis.pipeline();
      for (const record of prepared.slice(start, start + WRITE_PIPELINE_RECORDS)) {
        const args: Array<string | number> = [record.sets.length, `${record.group}#ts`, record.eventTime];
        for (const [field, value] of record.sets) args.push(`${record.group}:${field}`, value);
        for (const field of record.deletes) args.push(`${record.group}:${field}`);
        queueScript(pipeline, WRITE_SCRIPT, 1, this.#hashKey(record.entityKey), ...args);
      }
      const sent = pipeline
        .exec()
        .then((results) => pipelineReplies(results).reduce<number>((n, r) => n + Number(r), 0));
      // Awaited below in order; this only keeps a rejection from counting as unhandled meanwhile.
      sent.catch(() => {});
      inFlight.push(sent);
      if (inFlight.length === 2) applied += await (inFlight.shift() as Promise<number>);
    }
    for (const sent of inFlight) applied += await sent;
    return applied;
  }

  async read(reads: ReadonlyArray<OnlineRead>): Promise<Array<OnlineReadResult | undefined>> {
    if (reads.length === 0) return [];
    // Per distinct entity, in first-seen order: the field lists to fetch (each read's time
    // field, then its value fields). Each read takes a run of the entity's fields starting
    // at `offset`; a field read twice for one entity is simply fetched twice.
    const entities = new Map<
      string,
      { readonly index: number; readonly lists: Array<readonly string[]>; fieldCount: number }
    >();
    const plans = reads.map((read) => {
      checkEntityKey(read.entityKey);
      const names = this.#hashFields(read.group, read.fields);
      let entity = entities.get(read.entityKey);
      if (entity === undefined) {
        entity = { index: entities.size, lists: [], fieldCount: 0 };
        entities.set(read.entityKey, entity);
      }
      const offset = entity.fieldCount;
      entity.lists.push(names);
      entity.fieldCount += names.length;
      return { entity: entity.index, offset, count: read.fields.length };
    });
    const rows = await this.#fetch(entities);
    return plans.map(({ entity, offset, count }) => {
      const row = rows[entity] ?? [];
      const eventTime = row[offset];
      if (eventTime === null || eventTime === undefined) return undefined;
      const values: Array<string | null> = new Array(count);
      for (let i = 0; i < count; i++) values[i] = row[offset + 1 + i] ?? null;
      return { eventTime: Number(eventTime), values };
    });
  }

  /**
   * The fields of each entity, in the entities' order: one HMGET alone, else one script call
   * (one command and one reply for the whole read), else (too many entities, or an entity
   * with more fields than a script can pass on) one pipeline of HMGETs.
   */
  async #fetch(
    entities: ReadonlyMap<string, { readonly lists: ReadonlyArray<readonly string[]> }>,
  ): Promise<Array<Array<string | null>>> {
    if (entities.size === 1) {
      // One entity (the common single lookup): a plain HMGET.
      const [[entityKey, { lists }]] = entities;
      return [await this.#redis.hmget(this.#hashKey(entityKey), ...lists.flat())];
    }
    const scripted = scriptedRead(entities);
    if (scripted !== undefined) {
      const keys = [...entities.keys()].map((entityKey) => this.#hashKey(entityKey));
      return await this.#readScript(keys.length, ...keys, ...scripted);
    }
    const pipeline = this.#redis.pipeline();
    for (const [entityKey, { lists }] of entities) pipeline.hmget(this.#hashKey(entityKey), ...lists.flat());
    return pipelineReplies(await pipeline.exec()) as Array<Array<string | null>>;
  }

  /**
   * The hash fields of a read: `<group>#ts`, then `<group>:<field>` per field. Validated and
   * built once per (field list, group): serving reads the same lists on every request.
   */
  #hashFields(group: string, fields: ReadonlyArray<string>): readonly string[] {
    let byGroup = this.#fieldCache.get(fields);
    if (byGroup === undefined) {
      byGroup = new Map();
      this.#fieldCache.set(fields, byGroup);
    }
    let names = byGroup.get(group);
    if (names === undefined) {
      checkReadFields(group, fields);
      names = [`${group}#ts`, ...fields.map((field) => `${group}:${field}`)];
      byGroup.set(group, names);
    }
    return names;
  }

  /** Does nothing: the connection belongs to whoever passed it in. */
  async close(): Promise<void> {}

  #hashKey(entityKey: string): string {
    return `${this.#prefix}{${entityKey}}`;
  }
}

/**
 * The ARGV of the read script for these entities (see READ_LUA), or undefined when there
 * are too many of them or one reads more fields than one script call can pass to HMGET.
 * Entities reading the same fields share one list: found by identity when they reuse the
 * same cached arrays (a feature service's reads do), else by content.
 */
function scriptedRead(
  entities: ReadonlyMap<string, { readonly lists: ReadonlyArray<readonly string[]> }>,
): string[] | undefined {
  if (entities.size > READ_SCRIPT_MAX_KEYS) return undefined;
  const distinct: string[][] = [];
  const byContent = new Map<string, number>();
  const listOfKey: string[] = [];
  let previous: ReadonlyArray<readonly string[]> | undefined;
  let previousIndex = 0;
  for (const { lists } of entities.values()) {
    if (previous === undefined || !sameArrays(previous, lists)) {
      // Names hold no NUL and are never empty, so "\0" joins them unambiguously.
      const fields = lists.flat();
      if (fields.length > READ_SCRIPT_MAX_FIELDS) return undefined;
      const content = fields.join("\0");
      let index = byContent.get(content);
      if (index === undefined) {
        index = distinct.push(fields) - 1;
        byContent.set(content, index);
      }
      previous = lists;
      previousIndex = index;
    }
    listOfKey.push(String(previousIndex + 1));
  }
  const argv = [String(distinct.length)];
  for (const fields of distinct) argv.push(String(fields.length), ...fields);
  argv.push(...listOfKey);
  return argv;
}

function sameArrays(a: ReadonlyArray<readonly string[]>, b: ReadonlyArray<readonly string[]>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
