import { join } from "node:path";
import {
  filesUnder,
  type TestBackend as KitTestBackend,
  type TestStores as KitTestStores,
  openTestStores as openKitTestStores,
  type StoreKind,
  startTestBackend as startKitTestBackend,
} from "@seam/kit/testing";

export { filesUnder, type StoreKind };

// Where a test's datasets service keeps upload temp files; tests assert it ends up empty.
const uploadTmpDirOf = (dataDir: string): string => join(dataDir, "tmp", "datasets");

/** The kit's test backend plus the datasets service's upload temp directory. */
export interface TestBackend extends KitTestBackend {
  readonly tmpDir: string;
}

/** The kit's test stores plus the datasets service's upload temp directory. */
export interface TestStores extends KitTestStores {
  readonly tmpDir: string;
}

/** A fresh embedded or Redis backend (see the kit's `startTestBackend`). */
export async function startTestBackend(kind: StoreKind): Promise<TestBackend> {
  const backend = await startKitTestBackend(kind);
  return { ...backend, tmpDir: uploadTmpDirOf(backend.dataDir) };
}

/** Fresh stores of one kind; their `close()` also removes the backend. */
export async function openTestStores(kind: StoreKind): Promise<TestStores> {
  const stores = await openKitTestStores(kind);
  return { ...stores, tmpDir: uploadTmpDirOf(stores.dataDir) };
}
