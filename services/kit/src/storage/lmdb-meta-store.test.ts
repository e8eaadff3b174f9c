import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LmdbMetaStore } from "./lmdb-meta-store.js";
import { describeMetaStoreContract } from "./meta-store.contract.js";
import type { MetaStore } from "./ports.js";

describeMetaStoreContract("LmdbMetaStore", async () => {
  const dir = await mkdtemp(join(tmpdir(), "seam-lmdb-"));
  const opened: MetaStore[] = [new LmdbMetaStore(dir)];
  return {
    store: opened[0] as MetaStore,
    async openReplica() {
      const replica = new LmdbMetaStore(dir);
      opened.push(replica);
      return replica;
    },
    async cleanup() {
      for (const store of opened) await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
