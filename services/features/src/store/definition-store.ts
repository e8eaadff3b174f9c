import { randomBytes } from "node:crypto";
import { fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { FailedPreconditionError, NotFoundError } from "@seam/kit/errors";
import {
  commitWithRetry,
  type MetaCommit,
  type MetaEntry,
  type MetaStore,
  scanPrefix,
} from "@seam/kit/storage";
import {
  EntitySchema,
  FeatureServiceSchema,
  type FeatureView,
  FeatureViewSchema,
  type MaterializationState,
  MaterializationStateSchema,
} from "@seam/proto/seam/features/v1/features_pb";
import { type DefinitionKind, kindLabel } from "../names.js";
import { FeatureKeys } from "./keys.js";

/** The message schema stored for each kind of definition. */
export const DEFINITION_SCHEMAS = {
  entity: EntitySchema,
  feature_view: FeatureViewSchema,
  feature_service: FeatureServiceSchema,
} as const;

/** The stored message of a kind. */
export type DefinitionOf<K extends DefinitionKind> = MessageShape<(typeof DEFINITION_SCHEMAS)[K]>;

/** A definition as read, with the bytes a commit checks against. */
export interface StoredDefinition<K extends DefinitionKind> {
  readonly definition: DefinitionOf<K>;
  readonly bytes: Uint8Array;
}

/** A change to commit: definitions to put (current + revision) and guards to touch. */
export interface DefinitionWrite {
  readonly kind: DefinitionKind;
  readonly definition: DefinitionOf<DefinitionKind>;
  /** Bytes the current record must still have (undefined: must be absent). */
  readonly expect: Uint8Array | undefined;
}

/** A definition another one refers to, which must still be as read, and whose guard is touched. */
export interface DefinitionReference {
  readonly kind: DefinitionKind;
  readonly name: string;
  readonly expect: Uint8Array;
}

/**
 * The feature store's definitions over the MetaStore: current versions, their history,
 * guards against deleting something while it gains a user, and views' materialization
 * state (kept apart so materializing never changes a view's version).
 */
export class DefinitionStore {
  private readonly keys: FeatureKeys;

  constructor(
    private readonly meta: MetaStore,
    namespace = "features/",
  ) {
    this.keys = new FeatureKeys(namespace);
  }

  /** The current definition, or undefined. */
  async find<K extends DefinitionKind>(kind: K, name: string): Promise<StoredDefinition<K> | undefined> {
    const bytes = await this.meta.get(this.keys.current(kind, name));
    return bytes === undefined ? undefined : { definition: decode(kind, bytes), bytes };
  }

  /** The current definition (version 0) or an earlier version; NotFoundError when absent. */
  async get<K extends DefinitionKind>(kind: K, name: string, version = 0n): Promise<DefinitionOf<K>> {
    const key = version === 0n ? this.keys.current(kind, name) : this.keys.revision(kind, name, version);
    const bytes = await this.meta.get(key);
    if (bytes === undefined) {
      throw new NotFoundError(
        version === 0n
          ? `${kindLabel(kind)} ${name} not found`
          : `${kindLabel(kind)} ${name} has no version ${version}`,
      );
    }
    return decode(kind, bytes);
  }

  /** Current definitions in name order, after `after`, at most `limit`. */
  async list<K extends DefinitionKind>(
    kind: K,
    limit: number,
    after?: string,
  ): Promise<Array<DefinitionOf<K>>> {
    const prefix = this.keys.currentPrefix(kind);
    const entries = await this.meta.list({
      prefix,
      limit,
      ...(after === undefined ? {} : { after: prefix + after }),
    });
    return entries.map((e) => decode(kind, e.value));
  }

  /** Every current definition of a kind (definitions are few: hundreds, not millions). */
  async all<K extends DefinitionKind>(kind: K): Promise<Array<DefinitionOf<K>>> {
    const out: Array<DefinitionOf<K>> = [];
    for await (const entry of scanPrefix(this.meta, this.keys.currentPrefix(kind)))
      out.push(decode(kind, entry.value));
    return out;
  }

  /** The batch that stores `writes` (current + revision each) and guards `references`. */
  applyBatch(writes: readonly DefinitionWrite[], references: readonly DefinitionReference[]): MetaCommit {
    const checks: Array<{ key: string; expect: Uint8Array | undefined }> = [];
    const puts: MetaEntry[] = [];
    for (const write of writes) {
      const { name, version } = write.definition;
      const bytes = encode(write.kind, write.definition);
      checks.push({ key: this.keys.current(write.kind, name), expect: write.expect });
      puts.push({ key: this.keys.current(write.kind, name), value: bytes });
      puts.push({ key: this.keys.revision(write.kind, name, version), value: bytes });
    }
    for (const ref of references) {
      checks.push({ key: this.keys.current(ref.kind, ref.name), expect: ref.expect });
      puts.push({ key: this.keys.guard(ref.kind, ref.name), value: randomBytes(8) });
    }
    return { checks, puts };
  }

  /**
   * Deletes a definition, its history and guard (and a view's materialization state) unless
   * `usersOf` finds users: then FAILED_PRECONDITION naming them. The guard makes this safe
   * against a referrer applied concurrently: its commit rewrites the guard, ours then fails
   * and is retried, and the retry sees the new user.
   */
  async delete(kind: DefinitionKind, name: string, usersOf: () => Promise<string[]>): Promise<void> {
    await commitWithRetry(this.meta, async () => {
      const [bytes, guard] = await this.meta.getMany([
        this.keys.current(kind, name),
        this.keys.guard(kind, name),
      ]);
      if (bytes === undefined) throw new NotFoundError(`${kindLabel(kind)} ${name} not found`);
      const users = await usersOf();
      if (users.length > 0) {
        throw new FailedPreconditionError(
          `${kindLabel(kind)} ${name} is used by ${users.join(", ")}; delete or change ${users.length === 1 ? "it" : "them"} first`,
        );
      }
      const deletes = [this.keys.current(kind, name), this.keys.guard(kind, name)];
      for await (const entry of scanPrefix(this.meta, this.keys.revisionPrefix(kind, name)))
        deletes.push(entry.key);
      if (kind === "feature_view") deletes.push(this.keys.materialization(name));
      return {
        batch: {
          checks: [
            { key: this.keys.current(kind, name), expect: bytes },
            { key: this.keys.guard(kind, name), expect: guard },
          ],
          deletes,
        },
        result: undefined,
      };
    });
  }

  /** A view's materialization state, or undefined before its first run. */
  async materialization(view: string): Promise<MaterializationState | undefined> {
    const bytes = await this.meta.get(this.keys.materialization(view));
    return bytes === undefined ? undefined : fromBinary(MaterializationStateSchema, bytes);
  }

  /** The materialization states of several views (undefined where a view has none). */
  async materializations(views: readonly string[]): Promise<Array<MaterializationState | undefined>> {
    const values = await this.meta.getMany(views.map((v) => this.keys.materialization(v)));
    return values.map((bytes) =>
      bytes === undefined ? undefined : fromBinary(MaterializationStateSchema, bytes),
    );
  }

  /**
   * Records a finished materialization, provided the view is still the one materialized
   * (same creation time: not deleted and re-created meanwhile). Keeps the later
   * `materialized_until` when runs overlap.
   */
  async recordMaterialization(view: FeatureView, state: MaterializationState): Promise<void> {
    await commitWithRetry(this.meta, async () => {
      const [current, previous] = await this.meta.getMany([
        this.keys.current("feature_view", view.name),
        this.keys.materialization(view.name),
      ]);
      if (current === undefined || !sameCreation(decode("feature_view", current), view)) {
        throw new NotFoundError(`feature view ${view.name} was deleted while it was being materialized`);
      }
      const before = previous === undefined ? undefined : fromBinary(MaterializationStateSchema, previous);
      const until =
        before?.materializedUntil !== undefined &&
        state.materializedUntil !== undefined &&
        before.materializedUntil.seconds > state.materializedUntil.seconds
          ? before.materializedUntil
          : state.materializedUntil;
      const value = toBinary(MaterializationStateSchema, { ...state, materializedUntil: until });
      return {
        batch: {
          checks: [
            { key: this.keys.current("feature_view", view.name), expect: current },
            { key: this.keys.materialization(view.name), expect: previous },
          ],
          puts: [{ key: this.keys.materialization(view.name), value }],
        },
        result: undefined,
      };
    });
  }
}

function sameCreation(a: FeatureView, b: FeatureView): boolean {
  return a.createTime?.seconds === b.createTime?.seconds && a.createTime?.nanos === b.createTime?.nanos;
}

function decode<K extends DefinitionKind>(kind: K, bytes: Uint8Array): DefinitionOf<K> {
  return fromBinary(DEFINITION_SCHEMAS[kind], bytes) as DefinitionOf<K>;
}

function encode(kind: DefinitionKind, definition: DefinitionOf<DefinitionKind>): Uint8Array {
  return toBinary(DEFINITION_SCHEMAS[kind] as typeof EntitySchema, definition as DefinitionOf<"entity">);
}
