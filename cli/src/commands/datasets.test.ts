import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createRouterTransport, type ServiceImpl } from "@connectrpc/connect";
import {
  ColumnType,
  DatasetService,
  SourceFormat,
  type UploadMetadata,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Output } from "../output.js";
import { runDatasetsCommand } from "./datasets.js";

// The commands against an in-memory DatasetService: what they send and print. The
// end-to-end test through the gateway and the real service is the lead's.

const VERSION = {
  dataset: "iris",
  id: "a".repeat(24),
  ref: `iris@${"a".repeat(24)}`,
  rowCount: 3n,
  byteSize: 1234n,
  sourceFormat: SourceFormat.CSV,
  schema: {
    columns: [
      { name: "species", type: ColumnType.STRING },
      { name: "petal", type: ColumnType.FLOAT64, nullable: true },
    ],
  },
};

function capture() {
  const lines: string[] = [];
  const out: Output = {
    line: (t) => lines.push(t),
    table: (header, rows) => lines.push([header, ...rows].map((r) => r.join("|")).join("\n")),
    json: (v) => lines.push(JSON.stringify(v, (_, x) => (typeof x === "bigint" ? String(x) : x))),
  };
  const progress: string[] = [];
  return { lines, out, progress, stream: { isTTY: false, write: (t: string) => progress.push(t) } };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "seam-cli-datasets-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function transportFor(impl: Partial<ServiceImpl<typeof DatasetService>>) {
  return createRouterTransport(({ service }) => service(DatasetService, impl));
}

describe("seam datasets", () => {
  it("upload streams the file after the metadata and prints the version", async () => {
    const file = join(dir, "iris.tsv");
    const content = Buffer.alloc(600 * 1024, "a,b\n");
    await writeFile(file, content);
    let metadata: UploadMetadata | undefined;
    const chunks: Uint8Array[] = [];
    const transport = transportFor({
      async uploadDatasetVersion(requests) {
        for await (const r of requests) {
          if (r.payload.case === "metadata") metadata = r.payload.value;
          else if (r.payload.case === "chunk") chunks.push(r.payload.value);
        }
        return { version: VERSION, created: true };
      },
    });
    const io = capture();
    await runDatasetsCommand(
      [
        "upload",
        file,
        "--name",
        "iris",
        "--schema",
        "species:string,petal:float64?",
        "--split",
        "1:80/10/10",
        "--tag",
        "team=ml",
      ],
      transport,
      io.out,
      io.stream,
    );
    expect(metadata?.dataset).toBe("iris");
    expect(metadata?.createDataset).toBe(true);
    expect(metadata?.format).toBe(SourceFormat.CSV);
    expect(metadata?.csv?.delimiter).toBe("\t");
    expect(metadata?.schema?.columns.map((c) => [c.name, c.nullable])).toEqual([
      ["species", false],
      ["petal", true],
    ]);
    expect(metadata?.split?.trainFraction).toBe(0.8);
    expect(metadata?.tags).toEqual({ team: "ml" });
    expect(chunks.map((c) => c.length)).toEqual([256 * 1024, 256 * 1024, 88 * 1024]);
    expect(Buffer.concat(chunks).equals(content)).toBe(true);
    expect(io.lines[0]).toBe(`uploaded ${file} (614.4 kB) as ${VERSION.ref}`);
    expect(io.lines.join("\n")).toContain("petal|float64|yes");
    expect(io.progress.at(-1)).toMatch(
      /^upload iris\.tsv +100% 614\.4 kB \/ 614\.4 kB [0-9.]+ MB\/s 3 rows\n$/,
    );
  });

  it("download writes the Arrow stream of the pinned version, leaving no .part file", async () => {
    const requested: string[] = [];
    const transport = transportFor({
      getDatasetVersion: () => ({ version: VERSION }),
      async *readDatasetVersion(req) {
        requested.push(`${req.dataset}@${req.version}`);
        yield { arrowIpc: new Uint8Array([1, 2, 3]), rows: 2n };
        yield { arrowIpc: new Uint8Array([4, 5]), rows: 1n };
      },
    });
    const io = capture();
    const target = join(dir, "out.arrow");
    await runDatasetsCommand(["download", "iris", "-o", target], transport, io.out, io.stream);
    expect(requested).toEqual([VERSION.ref]);
    expect([...(await readFile(target))]).toEqual([1, 2, 3, 4, 5]);
    expect(await readdir(dir)).toEqual(["out.arrow"]);
    expect(io.lines).toEqual([`saved ${VERSION.ref} (3 rows, 5 B) to ${target}`]);
    expect(io.progress.at(-1)).toMatch(/100% 5 B .* 3 \/ 3 rows\n$/);
  });

  it("download removes the partial file when the stream fails", async () => {
    const transport = transportFor({
      getDatasetVersion: () => ({ version: VERSION }),
      async *readDatasetVersion() {
        yield { arrowIpc: new Uint8Array([1]), rows: 1n };
        throw new ConnectError("disk gone", Code.DataLoss);
      },
    });
    const io = capture();
    await expect(
      runDatasetsCommand(["download", "iris", "-o", join(dir, "x.arrow")], transport, io.out, io.stream),
    ).rejects.toThrow(/disk gone/);
    expect(await readdir(dir)).toEqual([]);
  });

  it("head prints the rows as a table in schema order", async () => {
    const transport = transportFor({
      readDatasetRows: (req) => {
        expect([req.dataset, req.version, req.columns, req.limit]).toEqual([
          "iris",
          "",
          ["petal", "species"],
          2n,
        ]);
        return {
          schema: { columns: [{ name: "petal" }, { name: "species" }] },
          rows: [
            { species: "setosa", petal: 1.4 },
            { species: "virginica", petal: null },
          ],
        };
      },
    });
    const io = capture();
    await runDatasetsCommand(
      ["head", "iris", "-n", "2", "--columns", "petal,species"],
      transport,
      io.out,
      io.stream,
    );
    expect(io.lines).toEqual(["petal|species\n1.4|setosa\nnull|virginica"]);
  });

  it("stats prints a table per column, top values and a histogram", async () => {
    const transport = transportFor({
      getDatasetVersion: () => ({
        version: {
          ...VERSION,
          stats: [
            {
              name: "species",
              count: 3n,
              kind: {
                case: "string",
                value: {
                  distinctCount: 2n,
                  distinctExact: true,
                  topValues: [{ value: "setosa", count: 2n }],
                },
              },
            },
            {
              name: "petal",
              count: 2n,
              nullCount: 1n,
              kind: {
                case: "numeric",
                value: {
                  min: 1,
                  max: 3,
                  mean: 2,
                  stddev: 1,
                  histogram: { boundaries: [1, 2, 3], counts: [1n, 1n] },
                },
              },
            },
          ],
        },
      }),
    });
    const io = capture();
    await runDatasetsCommand(["stats", "iris"], transport, io.out, io.stream);
    const text = io.lines.join("\n");
    expect(text).toContain("species (string)\nCOUNT|NULLS|DISTINCT|MIN LEN|MAX LEN\n3|0|2|0|0");
    expect(text).toContain("top values:\nVALUE|COUNT\nsetosa|2");
    expect(text).toContain("petal (float64)\nCOUNT|NULLS|MIN|MAX|MEAN|STDDEV\n2|1|1|3|2|1");
    expect(text).toMatch(/histogram:\n {2}\[1, 2\) +█+ +1\n {2}\[2, 3\] +█+ +1/);
  });

  it("create sends the name, description and tags; list reads every page; show prints the versions", async () => {
    const created: unknown[] = [];
    const pageTokens: string[] = [];
    const transport = transportFor({
      createDataset: (req) => {
        created.push({ name: req.name, description: req.description, tags: req.tags });
        return { dataset: { name: req.name } };
      },
      listDatasets: (req) => {
        pageTokens.push(req.pageToken);
        expect(req.namePrefix).toBe("ir");
        return req.pageToken === ""
          ? { datasets: [{ name: "iris", versionCount: 2n, latestVersion: VERSION.id }], nextPageToken: "p2" }
          : { datasets: [{ name: "iris-small", description: "a sample" }] };
      },
      getDataset: (req) => ({ dataset: { name: req.name, description: "flowers", tags: { team: "ml" } } }),
      listDatasetVersions: (req) => {
        expect(req.dataset).toBe("iris");
        return { versions: [VERSION] };
      },
    });
    const io = capture();
    await runDatasetsCommand(
      ["create", "iris", "--description", "flowers", "--tag", "team=ml", "--tag", "source=uci"],
      transport,
      io.out,
      io.stream,
    );
    expect(created).toEqual([{ name: "iris", description: "flowers", tags: { team: "ml", source: "uci" } }]);
    await runDatasetsCommand(["list", "--prefix", "ir"], transport, io.out, io.stream);
    expect(pageTokens).toEqual(["", "p2"]);
    await runDatasetsCommand(["show", "iris"], transport, io.out, io.stream);
    expect(io.lines).toEqual([
      "created dataset iris",
      `NAME|VERSIONS|LATEST|UPDATED|DESCRIPTION\niris|2|${VERSION.id}||\niris-small|0|-||a sample`,
      "dataset iris",
      "  description: flowers",
      "  tags:        team=ml",
      "",
      `ID|ROWS|SIZE|FORMAT|SPLITS|CREATED\n${VERSION.id}|3|1.2 kB|csv|-|`,
    ]);
    await expect(runDatasetsCommand(["create"], transport, io.out, io.stream)).rejects.toThrow(
      /dataset name/,
    );
  });

  it("refuses unknown commands and missing arguments as usage errors", async () => {
    const io = capture();
    const transport = transportFor({});
    await expect(runDatasetsCommand(["nope"], transport, io.out, io.stream)).rejects.toThrow(
      /unknown datasets command/,
    );
    await expect(runDatasetsCommand(["upload", "x.csv"], transport, io.out, io.stream)).rejects.toThrow(
      /--name/,
    );
    await expect(
      runDatasetsCommand(["upload", "x.parquet", "--name", "n"], transport, io.out, io.stream),
    ).rejects.toThrow(/--format/);
  });
});
