import type { Client } from "@connectrpc/connect";
import type { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";

/**
 * Port: which registered model versions are bound to a feature service (their lineage
 * names it). DeleteFeatureService asks it before deleting.
 */
export interface ModelBindings {
  /**
   * Model versions ("model:version") bound to `featureService`; empty when none is.
   * Rejects when the answer cannot be known (the delete is then refused, not guessed).
   */
  versionsBoundTo(featureService: string, signal?: AbortSignal): Promise<string[]>;
}

// Largest page ListFeatureServiceUsages serves: fewest round trips.
const PAGE_SIZE = 1000;

/** The bindings port over a registry client: pages through ListFeatureServiceUsages. */
export function createRegistryBindings(client: Client<typeof ModelRegistryService>): ModelBindings {
  return {
    async versionsBoundTo(featureService, signal) {
      const versions: string[] = [];
      let pageToken = "";
      do {
        const page = await client.listFeatureServiceUsages(
          { featureService, pageSize: PAGE_SIZE, pageToken },
          signal === undefined ? {} : { signal },
        );
        for (const usage of page.usages) versions.push(`${usage.modelName}:${usage.version}`);
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      return versions;
    },
  };
}
