import { NotFoundError } from "@seam/kit/errors";
import type { Logger } from "@seam/kit/logging";
import type { RegistryEvent } from "@seam/proto/seam/registry/v1/registry_pb";
import { parseReference } from "@seam/registry";
import type { LoadedVersion } from "./loaded-version.js";
import type { ModelSource } from "./model-source.js";
import { pickAlias, type TrafficSplits } from "./traffic-splits.js";
import type { VersionCache } from "./version-cache.js";

/** The alias a bare model name goes to when it has one (else the latest version). */
export const DEFAULT_ALIAS = "champion";

/** Route name of the latest version, when a bare name has no champion. */
export const LATEST_ROUTE = "latest";

/** A version taken for one request: call `release()` when the request is done with it. */
export interface RoutedVersion {
  readonly version: LoadedVersion;
  /** Alias (or "latest") the request was routed through; "" when it named a version. */
  readonly route: string;
  readonly release: () => void;
}

/** What this process knows of a model's aliases and versions, kept current by registry events. */
interface ModelTable {
  readonly aliases: Map<string, number>;
  latest: number;
}

const RECONNECT_MS = [200, 500, 1000, 2000, 5000] as const;

/**
 * Turns model references into loaded versions. Aliases and the latest version are learned
 * from the registry once and then followed through its event stream: when an alias moves
 * (or a new latest version appears) while its old version is loaded, the new version is
 * loaded and warmed first and only then does the route switch, so no request waits on a
 * cold model and requests in flight finish on the old session. A bare name follows the
 * model's traffic split when it has one, else "champion", else the latest version.
 */
export class ModelRouter {
  readonly #source: ModelSource;
  readonly #cache: VersionCache;
  readonly #splits: TrafficSplits;
  readonly #logger: Logger | undefined;
  readonly #tables = new Map<string, Promise<ModelTable>>();
  /** The tables learned so far, for synchronous reads. */
  readonly #known = new Map<string, ModelTable>();
  /** Per model, the chain of event handling, so events of one model apply in order. */
  readonly #changes = new Map<string, Promise<void>>();

  constructor(deps: { source: ModelSource; cache: VersionCache; splits: TrafficSplits; logger?: Logger }) {
    this.#source = deps.source;
    this.#cache = deps.cache;
    this.#splits = deps.splits;
    this.#logger = deps.logger;
    this.#cache.preferWhenEvicting(() => this.#routedKeys());
  }

  /**
   * Resolves a reference ("name", "name@alias", "name:version") to a loaded version taken
   * for the request. NOT_FOUND for an unknown model, alias or version.
   */
  async acquire(reference: string, requestId: string): Promise<RoutedVersion> {
    for (;;) {
      const { name, version, route } = await this.target(reference, requestId);
      const loaded = await this.#cache.get(name, version);
      const release = loaded.acquire();
      // Unloaded between the lookup and now (an eviction): look again, it loads anew.
      if (release !== undefined) return { version: loaded, route, release };
    }
  }

  /** Where a reference points now, without loading anything. */
  async target(
    reference: string,
    requestId: string,
  ): Promise<{ name: string; version: number; route: string }> {
    const ref = parseReference(reference, "model");
    const table = await this.#table(ref.name);
    if (ref.kind === "version") {
      const version = Number(ref.version);
      if (version > table.latest) {
        // Maybe newer than the last event seen here: ask the registry before refusing.
        table.latest = Math.max(table.latest, Number((await this.#source.getModel(ref.name)).latestVersion));
        if (version > table.latest) throw new NotFoundError(`model "${ref.name}" has no version ${version}`);
      }
      return { name: ref.name, version, route: "" };
    }
    if (ref.kind === "alias") {
      const version = table.aliases.get(ref.alias);
      if (version === undefined) throw new NotFoundError(`model "${ref.name}" has no alias "${ref.alias}"`);
      return { name: ref.name, version, route: ref.alias };
    }
    const split = await this.#splits.get(ref.name);
    if (split !== undefined) {
      const alias = pickAlias(split, requestId);
      const version = table.aliases.get(alias);
      // A split naming an alias that no longer exists falls back to the default route.
      if (version !== undefined) return { name: ref.name, version, route: alias };
    }
    const champion = table.aliases.get(DEFAULT_ALIAS);
    if (champion !== undefined) return { name: ref.name, version: champion, route: DEFAULT_ALIAS };
    if (table.latest <= 0) throw new NotFoundError(`model "${ref.name}" has no versions`);
    return { name: ref.name, version: table.latest, route: LATEST_ROUTE };
  }

  /** Routes of a model this process follows: alias (and "latest") → version. */
  async routes(name: string): Promise<Map<string, number>> {
    const table = this.#tables.has(name) ? await this.#tables.get(name) : undefined;
    const routes = new Map(table?.aliases ?? []);
    if (table !== undefined && table.latest > 0) routes.set(LATEST_ROUTE, table.latest);
    return routes;
  }

  /** Models this process has routes for. */
  followedModels(): string[] {
    return [...this.#tables.keys()];
  }

  /**
   * Follows registry events until the signal aborts, reconnecting with backoff; after a
   * reconnect every followed model is read again, so no alias move is missed.
   */
  follow(signal: AbortSignal): void {
    void (async () => {
      let attempt = 0;
      while (!signal.aborted) {
        try {
          const events = this.#source.watch(signal);
          if (attempt > 0) await this.#refreshAll();
          for await (const event of events) {
            attempt = 0;
            this.#enqueue(event.modelName, () => this.#apply(event));
          }
        } catch (error) {
          if (signal.aborted) break;
          this.#logger?.warn({ err: error }, "registry events interrupted; reconnecting");
        }
        if (signal.aborted) break;
        const delay = RECONNECT_MS[Math.min(attempt, RECONNECT_MS.length - 1)] as number;
        attempt++;
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
      }
    })();
  }

  /** Resolves when every registry event received so far has been applied (tests). */
  async settled(): Promise<void> {
    await Promise.all(this.#changes.values());
  }

  #table(name: string): Promise<ModelTable> {
    let table = this.#tables.get(name);
    if (table === undefined) {
      const learned: Promise<ModelTable> = this.#source.getModel(name).then((model) => {
        const known = {
          aliases: new Map(Object.entries(model.aliases).map(([alias, v]) => [alias, Number(v)])),
          latest: Number(model.latestVersion),
        };
        if (this.#tables.get(name) === learned) this.#known.set(name, known);
        return known;
      });
      table = learned;
      this.#tables.set(name, learned);
      // A failed lookup (unknown model, registry down) is not remembered.
      learned.catch(() => {
        if (this.#tables.get(name) === learned) this.#tables.delete(name);
      });
    }
    return table;
  }

  #routedKeys(): Set<string> {
    const keys = new Set<string>();
    for (const [name, table] of this.#known) {
      for (const version of table.aliases.values()) keys.add(`${name}:${version}`);
      keys.add(`${name}:${table.latest}`);
    }
    return keys;
  }

  #forget(name: string): void {
    this.#tables.delete(name);
    this.#known.delete(name);
  }

  #enqueue(model: string, change: () => Promise<void>): void {
    const previous = this.#changes.get(model) ?? Promise.resolve();
    const next = previous.then(change).catch((error: unknown) => {
      this.#logger?.error({ err: error, model }, "applying a registry event failed");
    });
    this.#changes.set(model, next);
    void next.finally(() => {
      if (this.#changes.get(model) === next) this.#changes.delete(model);
    });
  }

  async #apply(event: RegistryEvent): Promise<void> {
    const name = event.modelName;
    const tablePromise = this.#tables.get(name);
    if (tablePromise === undefined) return; // not followed here: learned fresh on first use
    const table = await tablePromise.catch(() => undefined);
    if (table === undefined) return;
    switch (event.kind.case) {
      case "aliasMoved": {
        const { alias, version } = event.kind.value;
        await this.#moveRoute(name, Number(version), table.aliases.get(alias), () =>
          table.aliases.set(alias, Number(version)),
        );
        break;
      }
      case "aliasDeleted":
        table.aliases.delete(event.kind.value.alias);
        break;
      case "versionCreated": {
        const version = Number(event.kind.value.version);
        if (version <= table.latest) break;
        await this.#moveRoute(name, version, table.latest, () => {
          table.latest = version;
        });
        break;
      }
      case "versionDeleted": {
        const version = Number(event.kind.value.version);
        if (table.latest === version) this.#forget(name); // learned again on next use
        await this.#cache.unload(name, version);
        break;
      }
      case "modelDeleted":
        this.#forget(name);
        await this.#cache.unload(name);
        break;
      case undefined:
        break;
    }
  }

  /**
   * Switches a route to `next`: when the version it left is loaded (so traffic uses it),
   * the new one is loaded and warmed first. A new version that fails to load leaves the
   * route where it was, logged: serving the previous version beats failing every request.
   */
  async #moveRoute(
    name: string,
    next: number,
    previous: number | undefined,
    commit: () => void,
  ): Promise<void> {
    const warm = previous !== undefined && this.#cache.peek(name, previous) !== undefined;
    if (warm && previous !== next) {
      try {
        await this.#cache.get(name, next);
      } catch (error) {
        this.#logger?.error(
          { err: error, model: `${name}:${next}` },
          "the version a route moved to failed to load; the route stays on the previous version",
        );
        return;
      }
      this.#logger?.info({ model: name, from: previous, to: next }, "route switched to a warmed version");
    }
    commit();
  }

  /** Reads every followed model again (after a gap in the event stream). */
  async #refreshAll(): Promise<void> {
    for (const name of [...this.#tables.keys()]) {
      this.#enqueue(name, async () => {
        const table = await this.#tables.get(name)?.catch(() => undefined);
        if (table === undefined) return;
        let model: Awaited<ReturnType<ModelSource["getModel"]>>;
        try {
          model = await this.#source.getModel(name);
        } catch {
          this.#forget(name);
          return;
        }
        for (const [alias, v] of Object.entries(model.aliases)) {
          const version = Number(v);
          await this.#moveRoute(name, version, table.aliases.get(alias), () =>
            table.aliases.set(alias, version),
          );
        }
        for (const alias of [...table.aliases.keys()])
          if (!(alias in model.aliases)) table.aliases.delete(alias);
        const latest = Number(model.latestVersion);
        await this.#moveRoute(name, latest, table.latest, () => {
          table.latest = latest;
        });
      });
    }
  }
}
