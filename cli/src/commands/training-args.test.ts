import {
  Activation,
  JobState,
  MissingValues,
  Optimizer,
  Task,
} from "@seam/proto/seam/training/v1/training_pb";
import { describe, expect, it } from "vitest";
import { UsageError } from "../args.js";
import {
  parseEarlyStopping,
  parseHiddenUnits,
  parseJobState,
  parseTask,
  parseTrainArgs,
  parseTrainSplit,
} from "./training-args.js";

const REQUIRED = [
  "--dataset",
  "iris",
  "--label",
  "species",
  "--task",
  "multiclass",
  "--model-name",
  "iris-mlp",
];

describe("parseTrainArgs", () => {
  it("leaves every option not given unset, so the service's defaults apply", () => {
    expect(parseTrainArgs(REQUIRED)).toEqual({
      detach: false,
      spec: {
        dataset: { dataset: "iris", version: "", labelColumn: "species", featureColumns: [] },
        task: Task.MULTICLASS_CLASSIFICATION,
        model: { hiddenUnits: [], activation: Activation.UNSPECIFIED, dropout: 0 },
        training: {
          optimizer: Optimizer.UNSPECIFIED,
          learningRate: 0,
          epochs: 0,
          batchSize: 0,
          seed: 0n,
          missingValues: MissingValues.UNSPECIFIED,
        },
        registration: { modelName: "iris-mlp", alias: "", description: "" },
      },
    });
  });

  it("maps every option onto the spec", () => {
    const version = "a".repeat(24);
    const { spec, detach } = parseTrainArgs([
      "--dataset",
      `iris@${version}`,
      "--label",
      "species",
      "--task",
      "binary",
      "--model-name",
      "iris-mlp",
      "--features",
      "sepal_length, petal_length",
      "--hidden",
      "16,8",
      "--activation",
      "TANH",
      "--dropout",
      "0.1",
      "--optimizer",
      "sgd",
      "--learning-rate",
      "0.05",
      "--epochs",
      "60",
      "--batch-size",
      "16",
      "--early-stopping",
      "val_loss:5",
      "--seed",
      "18446744073709551615",
      "--missing-values",
      "zero",
      "--split",
      "70,15,15:42",
      "--alias",
      "champion",
      "--description",
      "first try",
      "--detach",
    ]);
    expect(detach).toBe(true);
    expect(spec).toEqual({
      dataset: {
        dataset: "iris",
        version,
        labelColumn: "species",
        featureColumns: ["sepal_length", "petal_length"],
        split: { seed: 42n, trainFraction: 0.7, validationFraction: 0.15, testFraction: 0.15, keyColumn: "" },
      },
      task: Task.BINARY_CLASSIFICATION,
      model: { hiddenUnits: [16, 8], activation: Activation.TANH, dropout: 0.1 },
      training: {
        optimizer: Optimizer.SGD,
        learningRate: 0.05,
        epochs: 60,
        batchSize: 16,
        seed: 18446744073709551615n,
        missingValues: MissingValues.ZERO,
        earlyStopping: { metric: "val_loss", patience: 5 },
      },
      registration: { modelName: "iris-mlp", alias: "champion", description: "first try" },
    });
  });

  it("names every required option that is missing", () => {
    expect(() => parseTrainArgs(["--dataset", "iris"])).toThrow(UsageError);
    expect(() => parseTrainArgs(["--dataset", "iris"])).toThrow(/train needs --label, --task, --model-name/);
    expect(() => parseTrainArgs([...REQUIRED, "extra"])).toThrow(/options only, got "extra"/);
  });

  it("refuses values of the wrong shape before anything is sent", () => {
    const bad: Array<[string[], RegExp]> = [
      [["--task", "clustering"], /--task must be binary, multiclass or regression, got "clustering"/],
      [["--activation", "gelu"], /--activation must be relu, tanh or sigmoid, got "gelu"/],
      [["--optimizer", "rmsprop"], /--optimizer must be adam or sgd/],
      [["--missing-values", "median"], /--missing-values must be mean or zero/],
      [["--dropout", "lots"], /--dropout takes a number, got "lots"/],
      [["--learning-rate", ""], /--learning-rate takes a number/],
      [["--epochs", "0"], /--epochs takes a whole number above 0, got "0"/],
      [["--batch-size", "3.5"], /--batch-size takes a whole number above 0/],
      [["--seed=-1"], /--seed takes a whole number from 0 to 2\^64-1/],
      [["--seed", "18446744073709551616"], /--seed takes a whole number/],
      [["--features", "a,,b"], /--features takes column names separated by ","/],
      [["--dataset", "iris@"], /"iris@" is not a dataset reference/],
    ];
    for (const [args, message] of bad) {
      const argv = [...REQUIRED];
      const at = argv.indexOf(args[0] as string);
      if (at >= 0) argv.splice(at, 2, ...args);
      else argv.push(...args);
      expect(() => parseTrainArgs(argv), args.join(" ")).toThrow(message);
    }
  });

  it("takes the data from a feature service joined onto an entity dataset instead", () => {
    const version = "b".repeat(24);
    const fromFeatures = [
      "--feature-service",
      "driver_ranking",
      "--entity-dataset",
      `trips@${version}`,
      "--label",
      "completed",
      "--task",
      "binary",
      "--model-name",
      "trip-mlp",
      "--split",
      "0.8,0.1,0.1",
    ];
    const { spec } = parseTrainArgs(fromFeatures);
    expect(spec.dataset).toBeUndefined();
    expect(spec.features).toEqual({
      featureService: "driver_ranking",
      entityDataset: "trips",
      entityVersion: version,
      // Left to the service's defaults: "event_timestamp" and "<model name>-training".
      timestampColumn: "",
      labelColumn: "completed",
      outputDataset: "",
      split: { seed: 0n, trainFraction: 0.8, validationFraction: 0.1, testFraction: 0.1, keyColumn: "" },
    });
    expect(spec.registration?.modelName).toBe("trip-mlp");

    const named = parseTrainArgs([
      ...fromFeatures,
      "--entity-dataset",
      "trips",
      "--timestamp-column",
      "requested_at",
      "--output-dataset",
      "trip-training",
    ]);
    expect(named.spec.features).toMatchObject({
      entityDataset: "trips",
      entityVersion: "",
      timestampColumn: "requested_at",
      outputDataset: "trip-training",
    });
  });

  it("takes exactly one of --dataset and --feature-service, each with its own options", () => {
    const tail = ["--label", "y", "--task", "binary", "--model-name", "m"];
    const features = ["--feature-service", "s", "--entity-dataset", "e", "--split", "0.8,0.1,0.1", ...tail];
    const bad: Array<[string[], RegExp]> = [
      [tail, /train needs --dataset or --feature-service \(e\.g\./],
      [["--dataset", "iris", ...features], /train takes --dataset or --feature-service, not both/],
      [["--feature-service", "s", ...tail], /train needs --entity-dataset, --split \(e\.g\./],
      [["--feature-service", "s", "--entity-dataset", "e", ...tail], /train needs --split /],
      [[...features, "--features", "a,b"], /--features goes with --dataset/],
      [
        ["--dataset", "iris", "--entity-dataset", "e", ...tail],
        /--entity-dataset goes with --feature-service/,
      ],
      [
        ["--dataset", "iris", "--timestamp-column", "t", "--output-dataset", "o", ...tail],
        /--timestamp-column, --output-dataset go with --feature-service/,
      ],
      [[...features, "--entity-dataset", "e@"], /"e@" is not a dataset reference/],
      [[...features, "--timestamp-column="], /--timestamp-column needs a column name/],
    ];
    for (const [argv, message] of bad) {
      expect(() => parseTrainArgs(argv), argv.join(" ")).toThrow(UsageError);
      expect(() => parseTrainArgs(argv), argv.join(" ")).toThrow(message);
    }
  });

  it("leaves ranges to the service, which names the spec field", () => {
    const { spec } = parseTrainArgs([
      ...REQUIRED,
      "--dropout",
      "5",
      "--learning-rate",
      "100",
      "--hidden",
      "99999",
    ]);
    expect(spec.model).toMatchObject({ dropout: 5, hiddenUnits: [99999] });
    expect(spec.training?.learningRate).toBe(100);
  });
});

describe("training option parsers", () => {
  it("parses tasks by the CLI's or the proto's names", () => {
    expect(parseTask("regression")).toBe(Task.REGRESSION);
    expect(parseTask("TASK_MULTICLASS_CLASSIFICATION")).toBe(Task.MULTICLASS_CLASSIFICATION);
    expect(parseTask("binary-classification")).toBe(Task.BINARY_CLASSIFICATION);
    expect(() => parseTask("unspecified")).toThrow(UsageError);
  });

  it("parses hidden layers, none being a linear model", () => {
    expect(parseHiddenUnits("16, 16")).toEqual([16, 16]);
    expect(parseHiddenUnits("none")).toEqual([]);
    expect(parseHiddenUnits("")).toEqual([]);
    for (const bad of ["16,", "0", "16x16", "-4", "1.5"])
      expect(() => parseHiddenUnits(bad), bad).toThrow(/--hidden takes units per layer/);
  });

  it("parses early stopping as metric:patience", () => {
    expect(parseEarlyStopping("val_accuracy:10")).toEqual({ metric: "val_accuracy", patience: 10 });
    for (const bad of ["val_loss", "val_loss:", ":5", "val_loss:0", "val_loss:x"])
      expect(() => parseEarlyStopping(bad), bad).toThrow(/--early-stopping takes metric:patience/);
  });

  it("parses a split as fractions or percentages with an optional seed and key column", () => {
    expect(parseTrainSplit("0.7,0.15,0.15")).toEqual({
      seed: 0n,
      trainFraction: 0.7,
      validationFraction: 0.15,
      testFraction: 0.15,
      keyColumn: "",
    });
    expect(parseTrainSplit("80,10,10:7:user_id")).toEqual({
      seed: 7n,
      trainFraction: 0.8,
      validationFraction: 0.1,
      testFraction: 0.1,
      keyColumn: "user_id",
    });
    expect(() => parseTrainSplit("0.7,0.2,0.2")).toThrow(/add up to 1.1/);
    for (const bad of [
      "0.7,0.3",
      "0.7/0.15/0.15",
      "0.7,0.15,0.15:x",
      "0.7,0.15,0.15:1:",
      "a,b,c",
      "0.7,0.15,0.15:1:k:z",
    ])
      expect(() => parseTrainSplit(bad), bad).toThrow(/--split takes train,val,test/);
  });

  it("parses job states", () => {
    expect(parseJobState("running")).toBe(JobState.RUNNING);
    expect(parseJobState("JOB_STATE_CANCELLED")).toBe(JobState.CANCELLED);
    expect(parseJobState("canceled")).toBe(JobState.CANCELLED);
    expect(() => parseJobState("done")).toThrow(
      /--state must be queued, running, succeeded, failed or cancelled/,
    );
  });
});
