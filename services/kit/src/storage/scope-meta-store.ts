import { InvalidArgumentError } from "../errors/index.js";
import type { MetaCommit, MetaEntry, MetaRange, MetaStore } from "./ports.js";

/**
 * A view of `store` in which every key lives under `<namespace>/`, so services can
 * share one store without seeing each other's keys. Listing strips the namespace.
 * The namespace must be non-empty and contain no "/" — that is what keeps
 * namespace "a" from seeing the keys of namespace "a/b". Views may be nested.
 *
 * `close()` of the view does nothing: the underlying store belongs to whoever opened it.
 */
export function scopeMetaStore(store: MetaStore, namespace: string): MetaStore {
  if (namespace === "" || namespace.includes("/")) {
    throw new InvalidArgumentError(
      `invalid store namespace ${JSON.stringify(namespace)}: must be non-empty, without "/"`,
    );
  }
  const ns = `${namespace}/`;
  const scoped = (key: string): string => ns + key;
  return {
    get: (key) => store.get(scoped(key)),
    getMany: (keys) => store.getMany(keys.map(scoped)),
    async list(range: MetaRange): Promise<MetaEntry[]> {
      const inner = await store.list({
        ...range,
        prefix: scoped(range.prefix),
        ...(range.after === undefined ? {} : { after: scoped(range.after) }),
      });
      return inner.map((e) => ({ key: e.key.slice(ns.length), value: e.value }));
    },
    commit: (batch: MetaCommit) =>
      store.commit({
        ...(batch.checks === undefined
          ? {}
          : { checks: batch.checks.map((c) => ({ key: scoped(c.key), expect: c.expect })) }),
        ...(batch.puts === undefined
          ? {}
          : { puts: batch.puts.map((p) => ({ key: scoped(p.key), value: p.value })) }),
        ...(batch.deletes === undefined ? {} : { deletes: batch.deletes.map(scoped) }),
      }),
    close: async () => {},
  };
}
