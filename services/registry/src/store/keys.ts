// Key layout of the registry inside its namespace of the shared MetaStore. Model names
// and sha256s cannot contain "/", so every prefix below selects exactly what it names.
//
//   m/<name>                   RegisteredModel (also holds the aliases: one key to compare-and-set)
//   v/<name>/<version:19>      ModelVersion (aliases filled in from the model on read)
//   b/<sha256>/<name>/<v:19>   marker: this version references this blob (the blob's refcount)

const VERSION_DIGITS = 19;

function padded(version: bigint): string {
  return version.toString().padStart(VERSION_DIGITS, "0");
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
}
