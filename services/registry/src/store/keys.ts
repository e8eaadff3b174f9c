// Key layout of the registry inside its namespace of the shared MetaStore. Model names
// and sha256s cannot contain "/", so every prefix below selects exactly what it names.
//
//   m/<name>                   RegisteredModel (also holds the aliases: one key to compare-and-set)
//   v/<name>/<version:19>      ModelVersion (aliases filled in from the model on read)
//   b/<sha256>/<name>/<v:19>   marker: this version references this blob (the blob's refcount)
//   lineage/dataset/<dataset>/<id>/<name>/<v:19>
//                              this version's lineage names dataset version "<dataset>@<id>"
//                              (<id> empty for a bare dataset name); value: the lineage's
//                              dataset_version as recorded. <dataset> and <id> are free text
//                              from clients, so they are escaped (see segment).
//   lineage/feature-service/<feature service>/<name>#<v:19>
//                              this version's lineage names the feature service; value: the
//                              lineage's feature_service as recorded (escaped like <dataset>).
//                              "#" sorts below every character of a model name, so byte order
//                              is model name order ("churn" before "churn-v2"), then version.

import { createHash } from "node:crypto";

const VERSION_DIGITS = 19;

function padded(version: bigint): string {
  return version.toString().padStart(VERSION_DIGITS, "0");
}

// Longest escaped segment (UTF-8 bytes) kept readable; longer ones are hashed, which bounds
// key length and so the size of page tokens carrying a key position.
const MAX_SEGMENT_BYTES = 96;

/**
 * Turns a client's free text into one key segment: "%", "/", "~" and control characters
 * (NUL included) are escaped as %XX (UTF-16 code unit), so a prefix ending in "/" selects
 * exactly one dataset (or one version). Text longer than {@link MAX_SEGMENT_BYTES} once
 * escaped becomes "~" + its sha256 ("~" never survives escaping, so no text collides with it).
 */
function segment(text: string): string {
  const escaped = text.replace(
    /[%/~\p{Cc}]/gu,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`,
  );
  if (Buffer.byteLength(escaped, "utf8") <= MAX_SEGMENT_BYTES) return escaped;
  return `~${createHash("sha256").update(text, "utf8").digest("hex")}`;
}

/** A model version named by a lineage index key. */
export interface ModelVersionRef {
  readonly name: string;
  readonly version: bigint;
}

/** Builds the registry's keys under one namespace (e.g. "registry/"). */
export class RegistryKeys {
  constructor(private readonly ns: string) {}

  /** Key of a model record. */
  model(name: string): string {
    return `${this.ns}m/${name}`;
  }

  /** Prefix of all model records whose name starts with `namePrefix`. */
  modelPrefix(namePrefix = ""): string {
    return `${this.ns}m/${namePrefix}`;
  }

  /** The model name of a model record key. */
  nameOfModelKey(key: string): string {
    return key.slice(this.ns.length + 2);
  }

  /** Key of a version record; zero-padded so key order is numeric order. */
  version(name: string, version: bigint): string {
    return `${this.ns}v/${name}/${padded(version)}`;
  }

  /** Prefix of all version records of one model. */
  versionPrefix(name: string): string {
    return `${this.ns}v/${name}/`;
  }

  /** Key recording that version `version` of `name` references blob `sha256`. */
  blobRef(sha256: string, name: string, version: bigint): string {
    return `${this.ns}b/${sha256}/${name}/${padded(version)}`;
  }

  /** Prefix of every reference to one blob. */
  blobRefPrefix(sha256: string): string {
    return `${this.ns}b/${sha256}/`;
  }

  /** Key recording that version `version` of `name` was trained on dataset version `dataset`@`id`. */
  datasetUsage(dataset: string, id: string, name: string, version: bigint): string {
    return `${this.datasetUsagePrefix(dataset, id)}${name}/${padded(version)}`;
  }

  /** Prefix of the usages of one dataset version, or of every version of the dataset when `id` is undefined. */
  datasetUsagePrefix(dataset: string, id?: string): string {
    const ds = `${this.ns}lineage/dataset/${segment(dataset)}/`;
    return id === undefined ? ds : `${ds}${segment(id)}/`;
  }

  /** Key recording that version `version` of `name` is bound to feature service `featureService`. */
  featureServiceUsage(featureService: string, name: string, version: bigint): string {
    return `${this.featureServiceUsagePrefix(featureService)}${name}#${padded(version)}`;
  }

  /** Prefix of the usages of one feature service. */
  featureServiceUsagePrefix(featureService: string): string {
    return `${this.ns}lineage/feature-service/${segment(featureService)}/`;
  }

  /** The model name and version of a dataset usage key (its last two segments). */
  datasetUsageOfKey(key: string): ModelVersionRef {
    const slash = key.lastIndexOf("/");
    const name = key.slice(key.lastIndexOf("/", slash - 1) + 1, slash);
    return { name, version: BigInt(key.slice(slash + 1)) };
  }

  /** The model name and version of a feature service usage key (its last segment, "<name>#<v:19>"). */
  featureServiceUsageOfKey(key: string): ModelVersionRef {
    const last = key.slice(key.lastIndexOf("/") + 1);
    const hash = last.indexOf("#");
    return { name: last.slice(0, hash), version: BigInt(last.slice(hash + 1)) };
  }
}
