import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { durationMs, timestampDate } from "@bufbuild/protobuf/wkt";
import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError, UsageError } from "../args.js";
import {
  loadDefinitionsFile,
  normalizeColumnType,
  parseDefinitionKind,
  parseDefinitions,
  parseEntities,
  parseSelection,
  parseTimeOption,
} from "./feature-args.js";

const YAML = `# drivers
entities:
  - name: driver
    join_keys: [{ name: driver_id, type: int64 }]
    description: A driver
feature_views:
  - name: driver_stats
    entities: [driver]
    features:
      - { name: conv_rate, type: FLOAT64 }
      - { name: trips }
      - name: last_seen
        type: COLUMN_TYPE_TIMESTAMP
    source: { dataset: driver_stats_src, timestamp_column: event_timestamp }
    ttl: 7200s
    tags: { team: ranking }
feature_services:
  - name: driver_ranking
    features:
      - feature_view: driver_stats
        features: [conv_rate, trips]
`;

describe("parseDefinitions", () => {
  it("reads YAML with snake_case names, any spelling of column types and a proto JSON ttl", () => {
    const defs = parseDefinitions(YAML, "defs.yaml");
    expect(defs.entities).toHaveLength(1);
    expect(defs.entities[0]?.name).toBe("driver");
    expect(defs.entities[0]?.joinKeys.map((k) => [k.name, k.type])).toEqual([
      ["driver_id", ColumnType.INT64],
    ]);
    const view = defs.featureViews[0];
    expect(view?.features.map((f) => [f.name, f.type])).toEqual([
      ["conv_rate", ColumnType.FLOAT64],
      ["trips", ColumnType.UNSPECIFIED],
      ["last_seen", ColumnType.TIMESTAMP],
    ]);
    expect(view?.source).toMatchObject({ dataset: "driver_stats_src", timestampColumn: "event_timestamp" });
    expect(view?.ttl === undefined ? undefined : durationMs(view.ttl)).toBe(7_200_000);
    expect(view?.tags).toEqual({ team: "ranking" });
    expect(defs.featureServices[0]?.features).toMatchObject([
      { featureView: "driver_stats", features: ["conv_rate", "trips"] },
    ]);
  });

  it("reads JSON with lowerCamel names", () => {
    const json = JSON.stringify({
      entities: [{ name: "zone", joinKeys: [{ name: "zone_id", type: "string" }] }],
      featureViews: [
        {
          name: "zone_stats",
          entities: ["zone"],
          features: [{ name: "demand", type: "double" }],
          source: { dataset: "zones", timestampColumn: "ts" },
        },
      ],
    });
    const defs = parseDefinitions(json, "defs.json");
    expect(defs.entities[0]?.joinKeys[0]?.type).toBe(ColumnType.STRING);
    expect(defs.featureViews[0]?.features[0]?.type).toBe(ColumnType.FLOAT64);
    expect(defs.featureViews[0]?.source?.timestampColumn).toBe("ts");
    expect(defs.featureServices).toEqual([]);
    // JSON has no line numbers to give: the index names the definition.
    expect(() => parseDefinitions('{"entities": [{"name": "x", "joinKeys": 1}]}', "d.json")).toThrow(
      /^d\.json: entities\[0\] \(x\): .*join_keys.*expected Array/,
    );
  });

  it("names the file, line and column of a YAML syntax error", () => {
    const bad =
      "entities:\n  - name: driver\n    join_keys: [{ name: driver_id, type: int64 }\nfeature_views: []\n";
    expect(() => parseDefinitions(bad, "defs.yaml")).toThrow(InputError);
    expect(() => parseDefinitions(bad, "defs.yaml")).toThrow(
      /^defs\.yaml: line 4, column 1: not valid YAML: /,
    );
    expect(() => parseDefinitions("entities: []\nentities: []\n", "d.yml")).toThrow(
      /^d\.yml: line 2, column 1: not valid YAML: Map keys must be unique\n {2}entities/,
    );
  });

  it("names the file, line and column of a JSON syntax error", () => {
    expect(() => parseDefinitions('{\n  "entities": [\n    {name: "x"}\n  ]\n}', "defs.json")).toThrow(
      /^defs\.json: not valid JSON: .*line 3, column 6/,
    );
  });

  it.each([
    ["an empty file", "", /^d\.yaml is empty/],
    ["a list at the top", "- name: x\n", /^d\.yaml: expected a mapping .* got a list/],
    ["an unknown top-level key", "entity: []\n", /^d\.yaml: unknown key "entity"; a definitions file holds/],
    ["dry_run in the file", "dry_run: true\n", /unknown key "dry_run" \(pass --dry-run instead\)/],
    [
      "both spellings of a list",
      "feature_views: []\nfeatureViews: []\n",
      /"feature_views" and "featureViews"/,
    ],
    [
      "a list that is not a list",
      "entities: {name: x}\n",
      /^d\.yaml: entities must be a list, got an object/,
    ],
    ["nothing to apply", "entities: []\nfeature_views:\n", /^d\.yaml defines nothing/],
    [
      "a definition that is not a mapping",
      "entities: [driver]\n",
      /^d\.yaml: line 1: entities\[0\]: expected a mapping/,
    ],
    [
      "a field that does not exist",
      "entities:\n  - name: a\n  - name: driver\n    joinkeys: []\n",
      /^d\.yaml: line 3: entities\[1\] \(driver\): cannot decode message seam\.features\.v1\.Entity from JSON: key "joinkeys" is unknown/,
    ],
    [
      "a nested field that does not exist",
      "feature_views:\n  - name: v\n    source: { dataset: d, timestamp: ts }\n",
      /^d\.yaml: line 2: feature_views\[0\] \(v\): .*FeatureViewSource.* key "timestamp" is unknown/,
    ],
    [
      "a field of the wrong type",
      "featureServices:\n  - name: s\n    features: x\n",
      /^d\.yaml: line 2: featureServices\[0\] \(s\): .*features.*expected Array/,
    ],
    [
      "a ttl that is not proto JSON",
      "feature_views:\n  - name: v\n    ttl: 2h\n",
      /feature_views\[0\] \(v\): .*Duration.*\(a duration is seconds with an "s": "7200s"\)/,
    ],
    [
      "an unknown column type",
      "entities:\n  - name: e\n    join_keys: [{ name: k, type: decimal }]\n",
      /^d\.yaml: line 2: entities\[0\] \(e\)\.join_keys\[0\]\.type: unknown column type "decimal"; use int64/,
    ],
  ])("refuses %s with an InputError naming the file", (_, text, message) => {
    let error: unknown;
    try {
      parseDefinitions(text, "d.yaml");
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(message);
  });
});

describe("loadDefinitionsFile", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "seam-cli-features-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads a file and parses it by its extension", async () => {
    const file = join(dir, "defs.yml");
    await writeFile(file, YAML);
    expect((await loadDefinitionsFile(file)).featureViews.map((v) => v.name)).toEqual(["driver_stats"]);
  });

  it("passes on the error of a missing file (its code makes the CLI exit 1)", async () => {
    await expect(loadDefinitionsFile(join(dir, "nope.yaml"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("normalizeColumnType", () => {
  it("maps every spelling to the proto's enum name and leaves numbers to fromJson", () => {
    for (const t of ["int64", "INT64", "Int", "COLUMN_TYPE_INT64", "column_type_int64"]) {
      expect(normalizeColumnType(t, "x")).toBe("COLUMN_TYPE_INT64");
    }
    expect(normalizeColumnType("boolean", "x")).toBe("COLUMN_TYPE_BOOL");
    expect(normalizeColumnType("unspecified", "x")).toBe("COLUMN_TYPE_UNSPECIFIED");
    expect(normalizeColumnType(2, "x")).toBe(2);
    expect(() => normalizeColumnType("constructor", "x")).toThrow(/unknown column type "constructor"/);
  });
});

describe("parseEntities", () => {
  it("reads one entity per option, several keys separated by commas", () => {
    expect(parseEntities(["user_id=42", "driver_id=1, zone=eu", "k=a=b", "empty="])).toEqual([
      { user_id: "42" },
      { driver_id: "1", zone: "eu" },
      { k: "a=b" },
      { empty: "" },
    ]);
  });

  it("refuses no entity, pairs without a key and repeated keys", () => {
    expect(() => parseEntities(undefined)).toThrow(/at least one --entity/);
    expect(() => parseEntities([])).toThrow(UsageError);
    for (const bad of ["42", "=42", "a=1,", "a=1,,b=2"]) {
      expect(() => parseEntities([bad]), bad).toThrow(/--entity takes key=value pairs/);
    }
    expect(() => parseEntities(["a=1,a=2"])).toThrow(/join key "a" appears twice/);
  });
});

describe("parseSelection", () => {
  it("takes a feature service or feature references (repeated or comma-separated)", () => {
    expect(parseSelection("ranking", undefined)).toEqual({ case: "featureService", value: "ranking" });
    expect(parseSelection(undefined, ["stats:trips,stats:conv_rate", "profile:*"])).toEqual({
      case: "features",
      value: { refs: ["stats:trips", "stats:conv_rate", "profile:*"] },
    });
  });

  it("refuses both, neither and malformed references", () => {
    expect(() => parseSelection("s", ["v:f"])).toThrow(/not both/);
    expect(() => parseSelection(undefined, undefined)).toThrow(/needs --service <name> or --feature/);
    expect(() => parseSelection("", undefined)).toThrow(/--service needs/);
    for (const bad of ["trips", ":trips", "stats:", "a:b:c"]) {
      expect(() => parseSelection(undefined, [bad]), bad).toThrow(/--feature takes "view:feature"/);
    }
  });
});

describe("parseTimeOption", () => {
  it("reads dates as midnight UTC and date-times with a zone", () => {
    const iso = (raw: string) => {
      const t = parseTimeOption(raw, "start");
      return t === undefined ? undefined : timestampDate(t).toISOString();
    };
    expect(iso("2024-05-01")).toBe("2024-05-01T00:00:00.000Z");
    expect(iso("2024-05-01T12:30Z")).toBe("2024-05-01T12:30:00.000Z");
    expect(iso("2024-05-01T12:30:15.250+02:00")).toBe("2024-05-01T10:30:15.250Z");
    expect(parseTimeOption(undefined, "start")).toBeUndefined();
  });

  it("refuses times without a zone, impossible dates and anything else", () => {
    for (const bad of [
      "2024-05-01T12:00:00",
      "2024-02-30",
      "2024-13-01T00:00:00Z",
      "yesterday",
      "1714564800",
    ]) {
      expect(() => parseTimeOption(bad, "end"), bad).toThrow(
        /--end takes an ISO 8601 date or time with a zone/,
      );
    }
  });
});

describe("parseDefinitionKind", () => {
  it("accepts singular, plural and proto names", () => {
    expect(
      ["entity", "Entities", "view", "feature_views", "feature-view", "services"].map((k) =>
        parseDefinitionKind(k, "show"),
      ),
    ).toEqual(["entity", "entity", "view", "view", "view", "service"]);
  });

  it("refuses a missing or unknown kind", () => {
    expect(() => parseDefinitionKind(undefined, "show")).toThrow(/show needs a kind/);
    expect(() => parseDefinitionKind("model", "list")).toThrow(/unknown kind "model"/);
    expect(() => parseDefinitionKind("toString", "list")).toThrow(UsageError);
  });
});
