import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describeBlobStoreContract } from "./blob-store.contract.js";
import { LocalBlobStore } from "./local-blob-store.js";

/** Every file under `dir`, relative to it, sorted. */
async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describeBlobStoreContract("LocalBlobStore", async () => {
  const dir = await mkdtemp(join(tmpdir(), "seam-blobs-"));
  return {
    store: new LocalBlobStore(dir),
    stored: () => files(dir),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
