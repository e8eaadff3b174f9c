import type { MetaEntry, MetaStore } from "./ports.js";

/**
 * Every entry under `prefix`, in key order, read `batchSize` at a time so a large
 * range never arrives in one response (or one Lua reply on Redis).
 */
export async function* scanPrefix(
  store: MetaStore,
  prefix: string,
  batchSize = 1000,
): AsyncGenerator<MetaEntry> {
  let after: string | undefined;
  for (;;) {
    const entries = await store.list({ prefix, limit: batchSize, ...(after === undefined ? {} : { after }) });
    yield* entries;
    if (entries.length < batchSize) return;
    after = entries[entries.length - 1]?.key;
  }
}
