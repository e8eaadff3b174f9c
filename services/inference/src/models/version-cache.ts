import { FailedPreconditionError } from "@seam/kit/errors";
import type { Logger } from "@seam/kit/logging";
import { withSpan } from "@seam/kit/telemetry";
import type { BatchingOptions } from "../batching/batcher.js";
import { LoadedVersion, signatureOf } from "./loaded-version.js";
import type { ModelSource } from "./model-source.js";
import { openSession, type SessionOptions, warmUp } from "./session.js";
import { observeQueueDepth, recordModelLoad } from "./stats.js";

/** How versions are opened and how many stay loaded. */
export interface VersionCacheOptions {
  readonly session: SessionOptions;
  readonly batching: BatchingOptions;
  /** Most versions loaded at once; the least recently used beyond it are unloaded. */
  readonly maxLoaded: number;
  readonly logger?: Logger;
}

/** A version being loaded, or whose load failed (for status reports). */
export interface LoadingState {
  readonly name: string;
  readonly version: number;
  readonly error?: string;
}

/**
 * The loaded model versions of this process, keyed "name:version": a version is fetched
 * from the registry, opened in ONNX Runtime and warmed up on first use (concurrent
 * requests share one load); beyond `maxLoaded`, the least recently used version that no
 * route prefers is unloaded once its requests in flight are done.
 */
export class VersionCache {
  readonly #source: ModelSource;
  readonly #options: VersionCacheOptions;
  readonly #loaded = new Map<string, LoadedVersion>();
  readonly #loading = new Map<string, Promise<LoadedVersion>>();
  readonly #failed = new Map<string, string>();
  #preferred: () => ReadonlySet<string> = () => new Set();

  constructor(source: ModelSource, options: VersionCacheOptions) {
    this.#source = source;
    this.#options = options;
    observeQueueDepth(this);
  }

  /** Tells the cache which versions routes point at ("name:version"), unloaded last. */
  preferWhenEvicting(preferred: () => ReadonlySet<string>): void {
    this.#preferred = preferred;
  }

  /** The loaded version if it is ready now (no load started). */
  peek(name: string, version: number): LoadedVersion | undefined {
    return this.#loaded.get(`${name}:${version}`);
  }

  /** The loaded version, loading it first when needed. */
  get(name: string, version: number): Promise<LoadedVersion> {
    const key = `${name}:${version}`;
    const ready = this.#loaded.get(key);
    if (ready !== undefined && !ready.released) return Promise.resolve(ready);
    let loading = this.#loading.get(key);
    if (loading === undefined) {
      loading = this.#load(name, version).then(
        (loaded) => {
          this.#loading.delete(key);
          this.#failed.delete(key);
          this.#loaded.set(key, loaded);
          this.#evict(this.#preferred(), key);
          return loaded;
        },
        (error: unknown) => {
          this.#loading.delete(key);
          this.#failed.set(key, error instanceof Error ? error.message : String(error));
          throw error;
        },
      );
      this.#loading.set(key, loading);
    }
    return loading;
  }

  /** Every loaded version. */
  loaded(): LoadedVersion[] {
    return [...this.#loaded.values()];
  }

  /** Versions loading now or whose last load failed. */
  pending(): LoadingState[] {
    const split = (key: string) => {
      const colon = key.lastIndexOf(":");
      return { name: key.slice(0, colon), version: Number(key.slice(colon + 1)) };
    };
    return [
      ...[...this.#loading.keys()].map(split),
      ...[...this.#failed].map(([key, error]) => ({ ...split(key), error })),
    ];
  }

  /** Unloads the versions of a model (all, or one); resolves when they are released. */
  async unload(name: string, version?: number): Promise<number[]> {
    const gone = [...this.#loaded.values()].filter(
      (v) => v.name === name && (version === undefined || v.version === version),
    );
    for (const v of gone) this.#loaded.delete(v.key);
    for (const key of [...this.#failed.keys()]) {
      if (key.startsWith(`${name}:`)) this.#failed.delete(key);
    }
    await Promise.all(gone.map((v) => v.release()));
    for (const v of gone) this.#options.logger?.info({ model: v.key }, "model version unloaded");
    return gone.map((v) => v.version);
  }

  /** Unloads everything (shutdown). */
  async close(): Promise<void> {
    const all = [...this.#loaded.values()];
    this.#loaded.clear();
    await Promise.all(all.map((v) => v.release()));
  }

  async #load(name: string, version: number): Promise<LoadedVersion> {
    return withSpan(
      "inference.load_model",
      { "seam.model": name, "seam.model_version": version },
      async () => {
        const started = performance.now();
        const { version: record, artifact } = await this.#source.download(name, version);
        let signature: ReturnType<typeof signatureOf>;
        try {
          signature = signatureOf(record);
        } catch (error) {
          throw new FailedPreconditionError(
            `${name}:${version} cannot be served: ${(error as Error).message}`,
          );
        }
        let opened: Awaited<ReturnType<typeof openSession>>;
        try {
          opened = await openSession(artifact, this.#options.session);
        } catch (error) {
          throw new FailedPreconditionError(
            `${name}:${version} cannot be served: ONNX Runtime could not open it: ${(error as Error).message}`,
          );
        }
        const { session, provider } = opened;
        try {
          await warmUp(session, signature.inputs, signature.outputs);
        } catch (error) {
          await session.release();
          throw new FailedPreconditionError(
            `${name}:${version} failed its warm-up run on zeros: ${(error as Error).message}`,
          );
        }
        const loadMillis = performance.now() - started;
        recordModelLoad(name, version, loadMillis);
        this.#options.logger?.info(
          { model: `${name}:${version}`, provider, load_ms: Math.round(loadMillis) },
          "model version loaded",
        );
        return new LoadedVersion({
          record,
          ...signature,
          session,
          provider,
          batching: this.#options.batching,
          loadMillis,
        });
      },
    );
  }

  /** Unloads least recently used versions beyond the bound, routed ones last, never `keep`. */
  #evict(preferred: ReadonlySet<string>, keep: string): void {
    const excess = this.#loaded.size - this.#options.maxLoaded;
    if (excess <= 0) return;
    const candidates = [...this.#loaded.values()]
      .filter((v) => v.key !== keep)
      .sort((a, b) => Number(preferred.has(a.key)) - Number(preferred.has(b.key)) || a.lastUsed - b.lastUsed)
      .slice(0, excess);
    for (const victim of candidates) {
      this.#loaded.delete(victim.key);
      this.#options.logger?.info({ model: victim.key }, "model version unloaded (least recently used)");
      void victim.release();
    }
  }
}
