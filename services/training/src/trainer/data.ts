/**
 * From columns of raw values to the numbers a network trains on: preprocessing fitted on
 * the training rows (the contract of ../model/trained-model.ts), labels encoded as targets.
 */
import { InvalidArgumentError } from "@seam/kit/errors";
import {
  type CategoricalTransform,
  type FeatureTransform,
  inputWidth,
  type NumericTransform,
  type Preprocessing,
  type Task,
} from "../model/trained-model.js";

/** One input column: numbers (numeric) or text (categorical); null is missing. */
export interface ColumnData {
  readonly name: string;
  readonly kind: "numeric" | "categorical";
  readonly values: ReadonlyArray<number | null> | ReadonlyArray<string | null>;
}

/** Row indexes (into the columns' values) of each split. */
export interface SplitRows {
  readonly train: ArrayLike<number>;
  readonly validation: ArrayLike<number>;
  readonly test: ArrayLike<number>;
}

/** Everything a training run reads. */
export interface TrainingData {
  readonly columns: readonly ColumnData[];
  /** Name of the label column (it ends up in the model's metadata and in error messages). */
  readonly labelColumn: string;
  /**
   * Label per row: class values as text for classification, numbers for regression. A row
   * whose label is null (or NaN) belongs to no split.
   */
  readonly labels: ReadonlyArray<string | null> | ReadonlyArray<number | null>;
  readonly splits: SplitRows;
}

/** What a missing numeric value becomes: the training rows' mean, or 0. */
export type MissingValues = "mean" | "zero";

/** How {@link fitPreprocessing} fits. */
export interface PreprocessingOptions {
  readonly missing: MissingValues;
  /** Most categories kept per categorical column; rarer ones share the unknown slot. */
  readonly maxCategories: number;
}

export const defaultPreprocessingOptions: PreprocessingOptions = { missing: "mean", maxCategories: 100 };

const f32 = Math.fround;

function numericValues(column: ColumnData): ReadonlyArray<number | null> {
  return column.values as ReadonlyArray<number | null>;
}

function categoricalValues(column: ColumnData): ReadonlyArray<string | null> {
  return column.values as ReadonlyArray<string | null>;
}

/** The value of a numeric cell, NaN when missing; throws when the cell is not a number. */
function numberAt(column: ColumnData, row: number): number {
  const v = numericValues(column)[row];
  if (v === null || v === undefined) return Number.NaN;
  if (typeof v !== "number") {
    throw new InvalidArgumentError(`numeric column "${column.name}" holds a ${typeof v} at row ${row}`);
  }
  return v;
}

/** The value of a categorical cell, null when missing ("" counts as missing, as in the ONNX export). */
function stringAt(column: ColumnData, row: number): string | null {
  const v = categoricalValues(column)[row];
  if (v === null || v === undefined || v === "") return null;
  if (typeof v !== "string") {
    throw new InvalidArgumentError(`categorical column "${column.name}" holds a ${typeof v} at row ${row}`);
  }
  return v;
}

function checkRows(columns: readonly ColumnData[], rows: ArrayLike<number>): void {
  for (const column of columns) {
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i] as number;
      if (!Number.isInteger(r) || r < 0 || r >= column.values.length) {
        throw new InvalidArgumentError(
          `row ${r} is outside column "${column.name}" (${column.values.length} rows)`,
        );
      }
    }
  }
}

function fitNumeric(column: ColumnData, rows: ArrayLike<number>, missing: MissingValues): NumericTransform {
  let sum = 0;
  let present = 0;
  for (let i = 0; i < rows.length; i++) {
    const v = numberAt(column, rows[i] as number);
    if (Number.isNaN(v)) continue;
    if (!Number.isFinite(v)) {
      throw new InvalidArgumentError(
        `numeric column "${column.name}" holds ${v} at row ${rows[i]} of the training rows`,
      );
    }
    sum += v;
    present++;
  }
  const fill = missing === "mean" && present > 0 ? sum / present : 0;
  // Mean and std of the column as the network sees it: missing values already filled.
  const n = rows.length;
  let mean = 0;
  for (let i = 0; i < n; i++) {
    const v = numberAt(column, rows[i] as number);
    mean += Number.isNaN(v) ? fill : v;
  }
  mean = n > 0 ? mean / n : 0;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const v = numberAt(column, rows[i] as number);
    const d = (Number.isNaN(v) ? fill : v) - mean;
    squares += d * d;
  }
  const std = n > 0 ? Math.sqrt(squares / n) : 0;
  // A constant column can still show a tiny std from rounding in the mean; relative test.
  const constant = !(std > 1e-9 * Math.max(1, Math.abs(mean)));
  return { kind: "numeric", name: column.name, mean, std: constant ? 1 : std, fill };
}

/** Orders strings by UTF-16 code units: locale-independent, so every host fits the same vocabulary. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function fitCategorical(
  column: ColumnData,
  rows: ArrayLike<number>,
  maxCategories: number,
): CategoricalTransform {
  const counts = new Map<string, number>();
  for (let i = 0; i < rows.length; i++) {
    const v = stringAt(column, rows[i] as number);
    if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const vocabulary = [...counts]
    .sort(([a, na], [b, nb]) => nb - na || compareText(a, b))
    .slice(0, maxCategories)
    .map(([value]) => value);
  return { kind: "categorical", name: column.name, vocabulary };
}

/**
 * Fits the preprocessing of `columns` on the training rows `trainRows`: per numeric column
 * the fill of missing values (the rows' mean, or 0), then mean and std of the filled values
 * (std 1 for a constant column); per categorical column the vocabulary, the distinct values
 * by decreasing frequency then by value, at most `maxCategories` of them. Throws
 * InvalidArgumentError for a value of the wrong type or an infinite training value.
 */
export function fitPreprocessing(
  columns: readonly ColumnData[],
  trainRows: ArrayLike<number>,
  options: Partial<PreprocessingOptions> = {},
): Preprocessing {
  const { missing, maxCategories } = { ...defaultPreprocessingOptions, ...options };
  if (!Number.isInteger(maxCategories) || maxCategories < 1) {
    throw new InvalidArgumentError(`maxCategories must be a positive integer, got ${maxCategories}`);
  }
  checkRows(columns, trainRows);
  const names = new Set<string>();
  const features: FeatureTransform[] = columns.map((column) => {
    if (names.has(column.name)) throw new InvalidArgumentError(`column "${column.name}" is given twice`);
    names.add(column.name);
    return column.kind === "numeric"
      ? fitNumeric(column, trainRows, missing)
      : fitCategorical(column, trainRows, maxCategories);
  });
  return { features };
}

/**
 * The model inputs of `rows`: row-major [rows.length][inputWidth] float32, each feature
 * encoded as ../model/trained-model.ts defines it. Numeric: NaN or null → fill, then
 * (x - mean) / std computed in float32 (inputs and constants rounded to float32, Sub then
 * Div), so the ONNX graph's arithmetic gives the same bits. Categorical: one-hot over the
 * vocabulary, the last slot for anything else (unseen, null, ""). Columns are looked up by
 * name; throws InvalidArgumentError when one is absent or has the other kind.
 */
export function transform(
  preprocessing: Preprocessing,
  columns: readonly ColumnData[],
  rows: ArrayLike<number>,
): Float32Array {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const width = inputWidth(preprocessing);
  const n = rows.length;
  const out = new Float32Array(n * width);
  let offset = 0;
  for (const feature of preprocessing.features) {
    const column = byName.get(feature.name);
    if (column === undefined) throw new InvalidArgumentError(`input column "${feature.name}" is missing`);
    if (column.kind !== feature.kind) {
      throw new InvalidArgumentError(
        `input column "${feature.name}" is ${column.kind}; the model wants ${feature.kind}`,
      );
    }
    checkRows([column], rows);
    if (feature.kind === "numeric") {
      const mean = f32(feature.mean);
      const std = f32(feature.std);
      const fill = f32(feature.fill);
      for (let i = 0; i < n; i++) {
        let v = f32(numberAt(column, rows[i] as number));
        if (Number.isNaN(v)) v = fill;
        out[i * width + offset] = f32(v - mean) / std;
      }
      offset += 1;
    } else {
      const index = new Map(feature.vocabulary.map((v, i) => [v, i]));
      const unknown = feature.vocabulary.length;
      for (let i = 0; i < n; i++) {
        const v = stringAt(column, rows[i] as number);
        out[i * width + offset + (v === null ? unknown : (index.get(v) ?? unknown))] = 1;
      }
      offset += unknown + 1;
    }
  }
  return out;
}

/** The label's value at a row: class text, a number, or null when missing (null, NaN, undefined). */
function labelAt(labels: TrainingData["labels"], row: number): string | number | null {
  const v = labels[row];
  if (v === null || v === undefined || (typeof v === "number" && Number.isNaN(v))) return null;
  return v;
}

/** Class order: numeric when every class is a number's canonical text ("2" < "10"), else by code units. */
function sortClasses(values: string[]): string[] {
  const numeric = values.every((v) => v.trim() !== "" && String(Number(v)) === v);
  return numeric ? values.sort((a, b) => Number(a) - Number(b)) : values.sort(compareText);
}

/**
 * The classes of a classification label: the distinct values on the training rows, in
 * order (numerically when all are numbers, else by code units; a bool column's "false",
 * "true" stay in that order). Binary needs exactly 2, multiclass at least 2; otherwise
 * InvalidArgumentError naming the label column. Rows with a null label are ignored.
 */
export function fitClasses(
  task: "binary" | "multiclass",
  labelColumn: string,
  labels: TrainingData["labels"],
  trainRows: ArrayLike<number>,
): string[] {
  const seen = new Set<string>();
  for (let i = 0; i < trainRows.length; i++) {
    const v = labelAt(labels, trainRows[i] as number);
    if (v !== null) seen.add(String(v));
  }
  const classes = sortClasses([...seen]);
  const shown = classes.slice(0, 10).map((c) => JSON.stringify(c));
  const list = classes.length > 10 ? `${shown.join(", ")}, …` : shown.join(", ");
  if (task === "binary" && classes.length !== 2) {
    throw new InvalidArgumentError(
      `binary classification needs exactly 2 classes in label column "${labelColumn}"; its training rows have ${classes.length}${classes.length > 0 ? ` (${list})` : ""}`,
    );
  }
  if (task === "multiclass" && classes.length < 2) {
    throw new InvalidArgumentError(
      `multiclass classification needs at least 2 classes in label column "${labelColumn}"; its training rows have ${classes.length}${classes.length > 0 ? ` (${list})` : ""}`,
    );
  }
  return classes;
}

/** Width of a target row: classes for multiclass (one-hot), else 1. */
export function targetWidth(task: Task, classes: readonly string[]): number {
  return task === "multiclass" ? classes.length : 1;
}

/**
 * The rows of `rows` that have a usable label: not null, and for classification one of
 * `classes` (a validation or test row can hold a class the training rows never saw).
 */
export function labelledRows(
  task: Task,
  labels: TrainingData["labels"],
  rows: ArrayLike<number>,
  classes: readonly string[],
): Int32Array {
  const known = new Set(classes);
  const kept: number[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as number;
    const v = labelAt(labels, r);
    if (v === null) continue;
    if (task !== "regression") {
      if (known.has(String(v))) kept.push(r);
    } else if (typeof v === "number" && Number.isFinite(v)) {
      kept.push(r);
    } else {
      throw new InvalidArgumentError(
        `a regression label must be a finite number; row ${r} holds ${String(v)}`,
      );
    }
  }
  return Int32Array.from(kept);
}

/**
 * The targets of `rows` (all labelled, see {@link labelledRows}): binary → the class index
 * (0 or 1) per row; multiclass → one-hot, row-major [rows][classes]; regression → the value.
 */
export function encodeTargets(
  task: Task,
  labels: TrainingData["labels"],
  rows: ArrayLike<number>,
  classes: readonly string[],
): Float32Array {
  const n = rows.length;
  if (task === "regression") {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = labelAt(labels, rows[i] as number) as number;
    return out;
  }
  const index = new Map(classes.map((c, i) => [c, i]));
  const k = targetWidth(task, classes);
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const r = rows[i] as number;
    const c = index.get(String(labelAt(labels, r)));
    if (c === undefined) throw new InvalidArgumentError(`row ${r} has no known class`);
    if (task === "binary") out[i] = c;
    else out[i * k + c] = 1;
  }
  return out;
}

/** One split, encoded. */
export interface EncodedSplit {
  /** Row indexes (into the columns) of the split's labelled rows, in split order. */
  readonly rows: Int32Array;
  /** Inputs, row-major [rows][inputWidth]. */
  readonly x: Float32Array;
  /** Targets as {@link encodeTargets} makes them. */
  readonly y: Float32Array;
}

/** The data of a run, ready for the network. */
export interface PreparedData {
  readonly task: Task;
  readonly labelColumn: string;
  readonly classes: readonly string[];
  readonly preprocessing: Preprocessing;
  readonly inputWidth: number;
  readonly targetWidth: number;
  readonly train: EncodedSplit;
  readonly validation: EncodedSplit;
  readonly test: EncodedSplit;
  /** Split rows left out: label missing, or (validation, test) a class unseen in training. */
  readonly droppedRows: number;
}

/**
 * Fits everything on the training rows with a label and encodes the three splits. Throws
 * InvalidArgumentError when no training row has a label, and as {@link fitPreprocessing}
 * and {@link fitClasses} do.
 */
export function prepareData(
  task: Task,
  data: TrainingData,
  options: Partial<PreprocessingOptions> = {},
): PreparedData {
  if (data.columns.some((c) => c.name === data.labelColumn)) {
    throw new InvalidArgumentError(`label column "${data.labelColumn}" cannot be an input column too`);
  }
  for (const column of data.columns) {
    if (column.values.length !== data.labels.length) {
      throw new InvalidArgumentError(
        `column "${column.name}" has ${column.values.length} rows; label column "${data.labelColumn}" has ${data.labels.length}`,
      );
    }
  }
  for (const [split, rows] of Object.entries(data.splits) as [string, ArrayLike<number>][]) {
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i] as number;
      if (!Number.isInteger(r) || r < 0 || r >= data.labels.length) {
        throw new InvalidArgumentError(`${split} row ${r} is outside the data (${data.labels.length} rows)`);
      }
    }
  }
  const candidates = Int32Array.from(data.splits.train).filter((r) => labelAt(data.labels, r) !== null);
  if (candidates.length === 0) {
    throw new InvalidArgumentError(`no training row has a value in label column "${data.labelColumn}"`);
  }
  const classes = task === "regression" ? [] : fitClasses(task, data.labelColumn, data.labels, candidates);
  const preprocessing = fitPreprocessing(data.columns, candidates, options);
  const encode = (rows: ArrayLike<number>): EncodedSplit => {
    const kept = labelledRows(task, data.labels, rows, classes);
    return {
      rows: kept,
      x: transform(preprocessing, data.columns, kept),
      y: encodeTargets(task, data.labels, kept, classes),
    };
  };
  const train = encode(candidates);
  const validation = encode(data.splits.validation);
  const test = encode(data.splits.test);
  const total = data.splits.train.length + data.splits.validation.length + data.splits.test.length;
  return {
    task,
    labelColumn: data.labelColumn,
    classes,
    preprocessing,
    inputWidth: inputWidth(preprocessing),
    targetWidth: targetWidth(task, classes),
    train,
    validation,
    test,
    droppedRows: total - train.rows.length - validation.rows.length - test.rows.length,
  };
}
