import { MissingFeaturePolicy } from "@seam/proto/seam/inference/v1/inference_pb";
import { describe, expect, it } from "vitest";
import { InputError, UsageError } from "../args.js";
import {
  loadRows,
  parseMissingFeatures,
  parseOutputNames,
  parsePredictArgs,
  parsePredictEntities,
  parseRows,
  parseRowsSource,
} from "./predict-args.js";

describe("parsePredictArgs", () => {
  it("takes a model and one row of inline JSON", () => {
    expect(parsePredictArgs(["iris", "--input", '{"sepal_length":5.1,"species_hint":null}'])).toEqual({
      model: "iris",
      input: { kind: "rows", source: { kind: "inline", text: '{"sepal_length":5.1,"species_hint":null}' } },
      requestId: "",
      outputs: [],
      missingFeatures: MissingFeaturePolicy.UNSPECIFIED,
      json: false,
    });
  });

  it("takes a file, a request id, outputs and --json", () => {
    const command = parsePredictArgs([
      "iris@challenger",
      "--input",
      "@rows.json",
      "--request-id",
      "r-1",
      "--output",
      "label,probabilities",
      "--output",
      "label",
      "--json",
    ]);
    expect(command).toMatchObject({
      model: "iris@challenger",
      input: { kind: "rows", source: { kind: "file", path: "rows.json" } },
      requestId: "r-1",
      outputs: ["label", "probabilities"],
      json: true,
    });
  });

  it("takes entities, one per --entity, join keys separated by commas", () => {
    const command = parsePredictArgs([
      "churn:3",
      "--entity",
      "user_id=42",
      "--entity",
      "store_id=7, sku=A=1",
      "--missing-features",
      "IMPUTE",
    ]);
    expect(command.input).toEqual({
      kind: "entities",
      entities: [{ user_id: "42" }, { store_id: "7", sku: "A=1" }],
    });
    expect(command.missingFeatures).toBe(MissingFeaturePolicy.IMPUTE);
  });

  it("refuses a command line that does not say what to predict on", () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /predict needs a model/],
      [["iris"], /predict needs --input JSON or --entity key=value/],
      [["iris", "--input", "{}", "--entity", "a=1"], /--input .* or --entity .*, not both/],
      [["iris", "{", "}"], /predict takes one model, got "iris { }" \(quote the --input JSON/],
      [
        ["iris", "--input", "{}", "--missing-features", "impute"],
        /--missing-features applies to predictions by --entity only/,
      ],
      [
        ["iris", "--entity", "a=1", "--missing-features", "maybe"],
        /--missing-features takes reject or impute, got "maybe"/,
      ],
      [["iris", "--input", "@"], /--input @FILE needs a file name/],
      [["iris", "--input", "{}", "--output", "a,,b"], /--output takes output names/],
    ];
    for (const [argv, message] of cases) {
      expect(() => parsePredictArgs(argv), argv.join(" ")).toThrow(UsageError);
      expect(() => parsePredictArgs(argv), argv.join(" ")).toThrow(message);
    }
    // Unknown options are parseArgs' own errors.
    expect(() => parsePredictArgs(["iris", "--rows", "{}"])).toThrow(/Unknown option '--rows'/);
  });
});

describe("parsePredictEntities", () => {
  it("refuses a part without a key and a key given twice", () => {
    expect(() => parsePredictEntities(["42"])).toThrow(/--entity takes key=value pairs separated by ","/);
    expect(() => parsePredictEntities(["=42"])).toThrow(UsageError);
    expect(() => parsePredictEntities(["a=1,a=2"])).toThrow(/join key "a" appears twice/);
    expect(parsePredictEntities(["user_id="])).toEqual([{ user_id: "" }]);
  });
});

describe("parseRows", () => {
  it("takes one object or a list of objects", () => {
    expect(parseRows('{"x": 1.5, "c": "NL", "v": [1, 2], "m": null}', "--input")).toEqual([
      { x: 1.5, c: "NL", v: [1, 2], m: null },
    ]);
    expect(parseRows('[{"x": 1}, {"x": 2}]', "--input")).toEqual([{ x: 1 }, { x: 2 }]);
  });

  it("names what is wrong and where", () => {
    expect(() => parseRows("{x: 1}", "--input")).toThrow(/^--input: not valid JSON: /);
    expect(() => parseRows("[]", "rows.json")).toThrow("rows.json: an empty list; give at least one row");
    expect(() => parseRows("5.1", "--input")).toThrow(
      '--input: expected an object of named values like {"x": 1.5}, got number 5.1',
    );
    expect(() => parseRows('[{"x": 1}, [1, 2]]', "--input")).toThrow(
      '--input: row 1: expected an object of named values like {"x": 1.5}, got a list',
    );
    expect(() => parseRows("[null]", "--input")).toThrow(
      '--input: row 0: expected an object of named values like {"x": 1.5}, got null',
    );
  });
});

describe("loadRows", () => {
  it("reads inline JSON, a mistake in it being a usage error", async () => {
    expect(await loadRows(parseRowsSource('{"x": 1}'))).toEqual([{ x: 1 }]);
    await expect(loadRows(parseRowsSource("{"))).rejects.toThrow(UsageError);
  });

  it("reads a file, a mistake in it or a missing file being an input error", async () => {
    const files: Record<string, string> = { "rows.json": '[{"x": 1}, {"x": 2}]\n', "bad.json": "[1]" };
    const read = async (path: string) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
      return text;
    };
    expect(await loadRows(parseRowsSource("@rows.json"), read)).toEqual([{ x: 1 }, { x: 2 }]);
    const bad = loadRows(parseRowsSource("@bad.json"), read);
    await expect(bad).rejects.toThrow(InputError);
    await expect(bad).rejects.toThrow("bad.json: row 0: expected an object");
    const missing = loadRows(parseRowsSource("@nope.json"), read);
    await expect(missing).rejects.toThrow(InputError);
    await expect(missing).rejects.toThrow("--input @nope.json: no such file");
  });
});

describe("small parsers", () => {
  it("parses output names and the missing-features policy", () => {
    expect(parseOutputNames(undefined)).toEqual([]);
    expect(parseOutputNames(["a, b", "a"])).toEqual(["a", "b"]);
    expect(parseMissingFeatures(undefined)).toBe(MissingFeaturePolicy.UNSPECIFIED);
    expect(parseMissingFeatures("reject")).toBe(MissingFeaturePolicy.REJECT);
  });
});
