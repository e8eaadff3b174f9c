import type { DefinitionKind } from "../names.js";

// Key layout of the feature store inside its namespace of the shared MetaStore.
// Definition names cannot contain "/", so every prefix below selects exactly what it names.
//
//   d/<kind>/<name>              current definition (Entity, FeatureView or FeatureService)
//   h/<kind>/<name>/<ver:12>     every applied version, for Get with a version
//   g/<kind>/<name>              guard: a nonce rewritten whenever a definition starts or keeps
//                                referring to this one, so a delete that checked "nobody uses
//                                it" fails its commit when a referrer was applied meanwhile
//   m/<view>                     MaterializationState of a feature view

const VERSION_DIGITS = 12;

/** Builds the feature store's keys under one namespace (e.g. "features/"). */
export class FeatureKeys {
  constructor(private readonly ns: string) {}

  /** Key of a current definition. */
  current(kind: DefinitionKind, name: string): string {
    return `${this.ns}d/${kind}/${name}`;
  }

  /** Prefix of all current definitions of a kind. */
  currentPrefix(kind: DefinitionKind): string {
    return `${this.ns}d/${kind}/`;
  }

  /** Key of one applied version of a definition. */
  revision(kind: DefinitionKind, name: string, version: bigint): string {
    return `${this.ns}h/${kind}/${name}/${version.toString().padStart(VERSION_DIGITS, "0")}`;
  }

  /** Prefix of every applied version of a definition. */
  revisionPrefix(kind: DefinitionKind, name: string): string {
    return `${this.ns}h/${kind}/${name}/`;
  }

  /** Key of a definition's guard nonce. */
  guard(kind: DefinitionKind, name: string): string {
    return `${this.ns}g/${kind}/${name}`;
  }

  /** Key of a view's materialization state. */
  materialization(view: string): string {
    return `${this.ns}m/${view}`;
  }
}
