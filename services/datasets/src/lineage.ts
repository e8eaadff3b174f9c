/**
 * Port: which registered model versions name a dataset's versions in their lineage.
 * DeleteDataset asks it before deleting; the adapter over the registry's
 * ListDatasetUsages RPC is wired by the composition root.
 */
export interface ModelLineage {
  /**
   * Model versions ("model:version", e.g. "churn:3") whose lineage names any version of
   * `dataset`; empty when none does. Rejects when the answer cannot be known (the caller
   * then refuses the delete rather than guess).
   */
  versionsUsingDataset(dataset: string, signal?: AbortSignal): Promise<string[]>;
}
