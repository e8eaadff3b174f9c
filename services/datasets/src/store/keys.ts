// Key layout of the datasets service inside its namespace of the shared MetaStore.
// Dataset names, version ids and sha256s cannot contain "/", so every prefix below
// selects exactly what it names.
//
//   d/<name>              Dataset
//   v/<name>/<seq:15>     DatasetVersion, by upload order (newest-first listing is one reverse scan)
//   i/<name>/<id>         the seq of version <id> (lookup by id)
//   b/<sha256>/<name>     marker: a version of <name> references this blob (the blob's refcount)
//   p/<parent>/<pid>/<child>/<cid>   marker: version <child>@<cid> was derived from <parent>@<pid>

const SEQ_DIGITS = 15;

/** Builds the datasets service's keys under one namespace (e.g. "datasets/"). */
export class DatasetKeys {
  constructor(private readonly ns: string) {}

  /** Key of a dataset record. */
  dataset(name: string): string {
    return `${this.ns}d/${name}`;
  }

  /** Prefix of all dataset records whose name starts with `namePrefix`. */
  datasetPrefix(namePrefix = ""): string {
    return `${this.ns}d/${namePrefix}`;
  }

  /** Key of a version record; zero-padded so key order is upload order. */
  version(name: string, seq: number): string {
    return `${this.ns}v/${name}/${String(seq).padStart(SEQ_DIGITS, "0")}`;
  }

  /** Prefix of all version records of one dataset. */
  versionPrefix(name: string): string {
    return `${this.ns}v/${name}/`;
  }

  /** The seq of a version record key. */
  seqOfVersionKey(key: string): number {
    return Number(key.slice(key.lastIndexOf("/") + 1));
  }

  /** Key of the id → seq index entry of a version. */
  versionId(name: string, id: string): string {
    return `${this.ns}i/${name}/${id}`;
  }

  /** Key recording that a version of dataset `name` references blob `sha256`. */
  blobRef(sha256: string, name: string): string {
    return `${this.ns}b/${sha256}/${name}`;
  }

  /** Prefix of every reference to one blob. */
  blobRefPrefix(sha256: string): string {
    return `${this.ns}b/${sha256}/`;
  }

  /** Key recording that version `child@childId` was derived from `parent@parentId`. */
  derivedFrom(parent: string, parentId: string, child: string, childId: string): string {
    return `${this.ns}p/${parent}/${parentId}/${child}/${childId}`;
  }

  /** Prefix of the markers of every version derived from a version of `parent`. */
  derivedFromPrefix(parent: string): string {
    return `${this.ns}p/${parent}/`;
  }

  /** The child reference ("dataset@id") and parent id of a {@link derivedFrom} key under `parent`. */
  parseDerivedFrom(
    parent: string,
    key: string,
  ): { readonly parentId: string; readonly child: string; readonly childId: string } {
    const [parentId = "", child = "", childId = ""] = key
      .slice(this.derivedFromPrefix(parent).length)
      .split("/");
    return { parentId, child, childId };
  }

  /** Prefix of every key of this service (tests check what is left behind). */
  all(): string {
    return this.ns;
  }
}
