import type { Client } from "@connectrpc/connect";
import type { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import type { ModelLineage } from "./lineage.js";

// Largest page ListDatasetUsages serves: fewest round trips.
const PAGE_SIZE = 1000;

/**
 * The datasets service's lineage port over a registry client: pages through
 * `ListDatasetUsages` until the last page. Errors (UNAVAILABLE, DEADLINE_EXCEEDED, an
 * aborted `signal`, ...) reject the whole lookup rather than return a partial list.
 */
export function createRegistryLineage(client: Client<typeof ModelRegistryService>): ModelLineage {
  return {
    async versionsUsingDataset(dataset, signal) {
      const versions: string[] = [];
      let pageToken = "";
      do {
        const page = await client.listDatasetUsages(
          { dataset, pageSize: PAGE_SIZE, pageToken },
          signal === undefined ? {} : { signal },
        );
        for (const usage of page.usages) versions.push(`${usage.modelName}:${usage.version}`);
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      return versions;
    },
  };
}
