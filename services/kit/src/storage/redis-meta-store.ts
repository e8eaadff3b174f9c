import type { Redis } from "ioredis";
import { asBuffer } from "./internal/bytes.js";
import { checkLimit, keyBytes, prefixUpperBound } from "./internal/keys.js";
import { defineScript, type Script } from "./internal/redis-scripts.js";
import type { MetaCommit, MetaEntry, MetaRange, MetaStore } from "./ports.js";

/** Options of {@link RedisMetaStore}. */
export interface RedisMetaStoreOptions {
  /** The connection to use; the store does not own it (closing the store leaves it open). */
  readonly redis: Redis;
  /**
   * Prepended to every Redis key the store touches (default `"seam:meta:"`). For Redis
   * Cluster it must contain a hash tag (e.g. `"seam:{meta}:"`) so a commit's keys share a slot.
   */
  readonly keyPrefix?: string;
}

// KEYS[1] = index, then the checked, put and deleted keys.
// ARGV = #checks, #puts, #deletes, then (flag, expected) per check, (value, member) per put,
// member per delete. A check flag of "0" expects the key to be absent.
const COMMIT_LUA = `
local nc, np, nd = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local a = 4
for i = 1, nc do
  local current = redis.call('GET', KEYS[1 + i])
  if ARGV[a] == '0' then
    if current then return 0 end
  elseif current ~= ARGV[a + 1] then
    return 0
  end
  a = a + 2
end
for i = 1, np do
  redis.call('SET', KEYS[1 + nc + i], ARGV[a])
  redis.call('ZADD', KEYS[1], 0, ARGV[a + 1])
  a = a + 2
end
for i = 1, nd do
  redis.call('DEL', KEYS[1 + nc + np + i])
  redis.call('ZREM', KEYS[1], ARGV[a])
  a = a + 1
end
return 1
`;

// KEYS[1] = index. ARGV = value-key prefix, range command, its two bounds, limit (-1: none).
// Reading index and values in one script gives a consistent snapshot and one round trip.
const LIST_LUA = `
local members
if tonumber(ARGV[5]) >= 0 then
  members = redis.call(ARGV[2], KEYS[1], ARGV[3], ARGV[4], 'LIMIT', 0, ARGV[5])
else
  members = redis.call(ARGV[2], KEYS[1], ARGV[3], ARGV[4])
end
local out = {}
for _, m in ipairs(members) do
  out[#out + 1] = m
  out[#out + 1] = redis.call('GET', ARGV[1] .. m)
end
return out
`;

/**
 * {@link MetaStore} on Redis, shared by every replica.
 *
 * Each key's value is a plain string key `<prefix>k:<key>`; a sorted set `<prefix>index`
 * holds every key with score 0 so ZRANGEBYLEX lists them in byte order. Commits and
 * listings are Lua scripts, so each is atomic with respect to every other client.
 */
export class RedisMetaStore implements MetaStore {
  readonly #redis: Redis;
  readonly #valuePrefix: string;
  readonly #indexKey: string;
  readonly #commit: Script<number>;
  readonly #list: Script<Buffer[]>;

  constructor(options: RedisMetaStoreOptions) {
    const prefix = options.keyPrefix ?? "seam:meta:";
    this.#redis = options.redis;
    this.#valuePrefix = `${prefix}k:`;
    this.#indexKey = `${prefix}index`;
    this.#commit = defineScript(this.#redis, "seamMetaCommit", COMMIT_LUA);
    this.#list = defineScript(this.#redis, "seamMetaList", LIST_LUA, true);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    keyBytes(key);
    return (await this.#redis.getBuffer(this.#valuePrefix + key)) ?? undefined;
  }

  async getMany(keys: ReadonlyArray<string>): Promise<Array<Uint8Array | undefined>> {
    if (keys.length === 0) return [];
    for (const key of keys) keyBytes(key);
    const values = await this.#redis.mgetBuffer(...keys.map((k) => this.#valuePrefix + k));
    return values.map((v) => v ?? undefined);
  }

  async list(range: MetaRange): Promise<MetaEntry[]> {
    checkLimit(range.limit);
    if (range.limit === 0) return [];
    const bounds = lexBounds(range);
    if (bounds === undefined) return [];
    const command = range.reverse === true ? "ZREVRANGEBYLEX" : "ZRANGEBYLEX";
    const flat = await this.#list(
      1,
      this.#indexKey,
      this.#valuePrefix,
      command,
      ...bounds,
      range.limit ?? -1,
    );
    const entries: MetaEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const key = flat[i];
      const value = flat[i + 1];
      if (key !== undefined && value !== undefined) entries.push({ key: key.toString("utf8"), value });
    }
    return entries;
  }

  async commit(batch: MetaCommit): Promise<boolean> {
    const checks = batch.checks ?? [];
    const puts = batch.puts ?? [];
    const deletes = batch.deletes ?? [];
    const keys = [
      this.#indexKey,
      ...[...checks.map((c) => c.key), ...puts.map((p) => p.key), ...deletes].map((k) => {
        keyBytes(k);
        return this.#valuePrefix + k;
      }),
    ];
    const args: Array<string | Buffer | number> = [checks.length, puts.length, deletes.length];
    for (const check of checks) {
      if (check.expect === undefined) args.push("0", "");
      else args.push("1", asBuffer(check.expect));
    }
    for (const put of puts) args.push(asBuffer(put.value), put.key);
    args.push(...deletes);
    return (await this.#commit(keys.length, ...keys, ...args)) === 1;
  }

  /** Does nothing: the connection belongs to whoever passed it in. */
  async close(): Promise<void> {}
}

/**
 * The two ZRANGEBYLEX bounds of a range, in the order the command takes them
 * (min, max ascending; max, min for ZREVRANGEBYLEX), or undefined when empty.
 * Bounds are Buffers because a prefix's upper bound need not be valid UTF-8.
 */
function lexBounds(range: MetaRange): [Buffer, Buffer] | undefined {
  const prefix = Buffer.from(range.prefix, "utf8");
  const upper = prefixUpperBound(prefix);
  const after = range.after === undefined ? undefined : Buffer.from(range.after, "utf8");
  const low = prefix.length === 0 ? Buffer.from("-") : lex("[", prefix);
  const high = upper === undefined ? Buffer.from("+") : lex("(", upper);
  if (range.reverse === true) {
    if (after === undefined) return [high, low];
    if (Buffer.compare(after, prefix) <= 0) return undefined;
    return [upper === undefined || Buffer.compare(after, upper) < 0 ? lex("(", after) : high, low];
  }
  if (after === undefined || Buffer.compare(after, prefix) < 0) return [low, high];
  if (upper !== undefined && Buffer.compare(after, upper) >= 0) return undefined;
  return [lex("(", after), high];
}

function lex(marker: "[" | "(", bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(marker), bytes]);
}
