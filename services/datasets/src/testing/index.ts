/** Test support of the dataset service, for its own tests and the services built on it. */
export {
  createTestDatasets,
  type DatasetsClient,
  FixedLineage,
  type TestDatasets,
  uploadCsv,
  uploadStream,
} from "./harness.js";
