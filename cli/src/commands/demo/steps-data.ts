/**
 * Step 1 of `seam demo`, the data: uploads Iris and the generated customer data as dataset
 * versions; and `--save`, which writes the same files for the printed commands to read.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type DatasetVersion,
  SourceFormat,
  type SplitSpecSchema,
  type UploadDatasetVersionRequestSchema,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { Output } from "../../output.js";
import { parseSplit } from "../dataset-args.js";
import { type ChurnData, DEMO_NAMES, FEATURES_YAML } from "../demo-data.js";
import { IRIS_CSV } from "../demo-iris.js";
import { DATA_SEED, type DemoClients, DemoError, type DemoState, FILES } from "./context.js";
import { formatCount, printSeamCommands, printTable, printWrapped } from "./print.js";

const UPLOAD_CHUNK_BYTES = 256 * 1024;
/** The split recorded on the Iris version at upload (`--split` of `seam datasets upload`). */
const IRIS_SPLIT = "7:0.7/0.15/0.15";

/** Writes every file the printed commands read to `dir`. */
export async function saveFiles(dir: string, data: ChurnData): Promise<void> {
  await mkdir(dir, { recursive: true });
  const files: Record<string, string> = {
    [FILES.iris]: IRIS_CSV,
    [FILES.customers]: data.customers.csv,
    [FILES.transactions]: data.transactions.csv,
    [FILES.activity]: data.activity.csv,
    [FILES.labels]: data.labels.csv,
    [FILES.features]: FEATURES_YAML,
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
}

/** One CSV file to upload as a version of `dataset`. */
interface Upload {
  readonly dataset: string;
  readonly file: string;
  readonly csv: string;
  readonly split?: string;
  readonly description: string;
}

/** Step 1: uploads the five CSV files, and prints their versions. */
export async function uploadData(state: DemoState, clients: DemoClients, out: Output): Promise<void> {
  printWrapped(
    out,
    `Uploads the Iris flowers (150 rows, public domain, built into the CLI) with a 70/15/15 train/validation/test split, and a small shop's customer data generated from seed ${DATA_SEED}: profiles, transactions, their 30-day activity per week, and churn labels. A version's id is a hash of its content: the same data uploaded again is the same version.`,
  );
  const uploads = demoUploads(state.data);
  const rows: string[][] = [];
  for (const upload of uploads) {
    const { version, created } = await uploadCsv(clients, upload);
    rows.push([
      upload.dataset,
      formatCount(version.rowCount),
      String(version.schema?.columns.length ?? 0),
      version.ref,
      created ? "new version" : "the same content: the existing version",
    ]);
  }
  out.line("");
  printTable(out, ["DATASET", "ROWS", "COLUMNS", "VERSION", ""], rows);
  out.line("");
  printSeamCommands(out, [
    ...uploads.map((upload) => [
      "datasets",
      "upload",
      upload.file,
      "--name",
      upload.dataset,
      ...(upload.split === undefined ? [] : ["--split", upload.split]),
    ]),
    ["datasets", "show", DEMO_NAMES.irisDataset],
  ]);
}

function demoUploads(data: ChurnData): Upload[] {
  return [
    {
      dataset: DEMO_NAMES.irisDataset,
      file: FILES.iris,
      csv: IRIS_CSV,
      split: IRIS_SPLIT,
      description: "Iris flowers (Fisher, 1936)",
    },
    {
      dataset: DEMO_NAMES.customersDataset,
      file: FILES.customers,
      csv: data.customers.csv,
      description: "demo shop: customer profiles",
    },
    {
      dataset: DEMO_NAMES.transactionsDataset,
      file: FILES.transactions,
      csv: data.transactions.csv,
      description: "demo shop: transactions",
    },
    {
      dataset: DEMO_NAMES.activityDataset,
      file: FILES.activity,
      csv: data.activity.csv,
      description: `demo shop: weekly 30-day activity computed from ${DEMO_NAMES.transactionsDataset}`,
    },
    {
      dataset: DEMO_NAMES.labelsDataset,
      file: FILES.labels,
      csv: data.labels.csv,
      description: "demo shop: churn labels",
    },
  ];
}

/** Streams one CSV file to the dataset service as `seam datasets upload` does: metadata, then chunks. */
async function uploadCsv(
  clients: DemoClients,
  upload: Upload,
): Promise<{ version: DatasetVersion; created: boolean }> {
  const bytes = Buffer.from(upload.csv, "utf8");
  const split: MessageInitShape<typeof SplitSpecSchema> | undefined =
    upload.split === undefined ? undefined : parseSplit(upload.split);
  async function* requests(): AsyncGenerator<MessageInitShape<typeof UploadDatasetVersionRequestSchema>> {
    yield {
      payload: {
        case: "metadata",
        value: {
          dataset: upload.dataset,
          createDataset: true,
          format: SourceFormat.CSV,
          description: upload.description,
          ...(split === undefined ? {} : { split }),
        },
      },
    };
    for (let at = 0; at < bytes.length; at += UPLOAD_CHUNK_BYTES)
      yield { payload: { case: "chunk", value: bytes.subarray(at, at + UPLOAD_CHUNK_BYTES) } };
  }
  const { version, created } = await clients.datasets.uploadDatasetVersion(requests());
  if (version === undefined) throw new DemoError("the dataset service answered without a version");
  return { version, created };
}
