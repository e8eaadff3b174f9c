import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import {
  type ListDatasetUsagesRequest,
  ModelRegistryService,
} from "@seam/proto/seam/registry/v1/registry_pb";
import { describe, expect, it } from "vitest";
import { createRegistryLineage } from "./registry-lineage.js";

/** A registry answering ListDatasetUsages from `usages`, two per page whatever is asked. */
function fakeRegistry(usages: Array<[string, bigint]>, requests: ListDatasetUsagesRequest[]) {
  const transport = createRouterTransport(({ service }) =>
    service(ModelRegistryService, {
      listDatasetUsages(req) {
        requests.push(req);
        const start = req.pageToken === "" ? 0 : Number(req.pageToken);
        const page = usages.slice(start, start + 2);
        return {
          usages: page.map(([modelName, version]) => ({ modelName, version, datasetVersion: req.dataset })),
          nextPageToken: start + 2 < usages.length ? String(start + 2) : "",
        };
      },
    }),
  );
  return createClient(ModelRegistryService, transport);
}

describe("createRegistryLineage", () => {
  it("follows page tokens to the last page and names versions model:version", async () => {
    const requests: ListDatasetUsagesRequest[] = [];
    const lineage = createRegistryLineage(
      fakeRegistry(
        [
          ["churn", 1n],
          ["churn", 2n],
          ["fraud", 7n],
          ["x", 1n],
          ["y", 3n],
        ],
        requests,
      ),
    );
    expect(await lineage.versionsUsingDataset("iris")).toEqual([
      "churn:1",
      "churn:2",
      "fraud:7",
      "x:1",
      "y:3",
    ]);
    expect(requests.map((r) => [r.dataset, r.pageToken])).toEqual([
      ["iris", ""],
      ["iris", "2"],
      ["iris", "4"],
    ]);
  });

  it("answers an empty list when no version uses the dataset", async () => {
    expect(await createRegistryLineage(fakeRegistry([], [])).versionsUsingDataset("iris")).toEqual([]);
  });

  it("rejects, never a partial answer, when the registry fails or the caller aborts", async () => {
    let calls = 0;
    const failing = createClient(
      ModelRegistryService,
      createRouterTransport(({ service }) =>
        service(ModelRegistryService, {
          listDatasetUsages() {
            calls++;
            if (calls > 1) throw new ConnectError("registry is down", Code.Unavailable);
            return { usages: [{ modelName: "churn", version: 1n }], nextPageToken: "more" };
          },
        }),
      ),
    );
    const err = await createRegistryLineage(failing)
      .versionsUsingDataset("iris")
      .catch((e: unknown) => e);
    expect(ConnectError.from(err).code).toBe(Code.Unavailable);

    const aborted = AbortSignal.abort();
    const cancelled = await createRegistryLineage(fakeRegistry([["churn", 1n]], []))
      .versionsUsingDataset("iris", aborted)
      .catch((e: unknown) => e);
    expect(ConnectError.from(cancelled).code).toBe(Code.Canceled);
  });
});
