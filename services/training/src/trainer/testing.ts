/**
 * Test data: seeded splits and generated datasets with known rules. For tests and
 * benchmarks only; not part of the package's API.
 */
import type { ColumnData, SplitRows, TrainingData } from "./data.js";
import { createRandom, deriveSeed, Stream, shuffleInPlace } from "./random.js";

/** A seeded random split of rows 0…n-1 into train, validation and test by fractions (test takes the rest). */
export function seededSplit(
  n: number,
  seed: number,
  trainFraction = 0.7,
  validationFraction = 0.15,
): SplitRows {
  const rows = new Int32Array(n);
  for (let i = 0; i < n; i++) rows[i] = i;
  shuffleInPlace(rows, createRandom(deriveSeed(seed, Stream.split)));
  const nTrain = Math.round(n * trainFraction);
  const nValidation = Math.round(n * validationFraction);
  return {
    train: rows.slice(0, nTrain),
    validation: rows.slice(nTrain, nTrain + nValidation),
    test: rows.slice(nTrain + nValidation),
  };
}

/** A standard normal draw (Box–Muller). */
function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

const colors = ["red", "green", "blue"] as const;
const colorEffect: Record<(typeof colors)[number], number> = { red: 1.5, green: 0, blue: -1.5 };

interface Generated {
  readonly x1: number[];
  readonly x2: (number | null)[];
  readonly x3: number[];
  readonly color: (string | null)[];
  readonly signal: number[];
}

function generate(n: number, seed: number): Generated {
  const random = createRandom(deriveSeed(seed, 99));
  const g: Generated = { x1: [], x2: [], x3: [], color: [], signal: [] };
  for (let i = 0; i < n; i++) {
    const x1 = normal(random);
    const x2 = normal(random);
    const x3 = normal(random) * 2 + 5;
    const color = colors[Math.floor(random() * 3)] as (typeof colors)[number];
    g.x1.push(x1);
    // 2% missing x2 (imputed with the mean, ≈ 0) and 2% missing color.
    g.x2.push(random() < 0.02 ? null : x2);
    g.x3.push(x3);
    g.color.push(random() < 0.02 ? null : color);
    g.signal.push(x1 + 2 * x2 - (x3 - 5) + colorEffect[color]);
  }
  return g;
}

function columnsOf(g: Generated): ColumnData[] {
  return [
    { name: "x1", kind: "numeric", values: g.x1 },
    { name: "x2", kind: "numeric", values: g.x2 },
    { name: "x3", kind: "numeric", values: g.x3 },
    { name: "color", kind: "categorical", values: g.color },
  ];
}

/**
 * Binary data whose label is "yes" when x1 + 2·x2 − (x3 − 5) + effect(color) > 0, with
 * effect red +1.5, green 0, blue −1.5: separable but for the few missing values.
 */
export function binaryRuleData(n: number, seed: number): TrainingData {
  const g = generate(n, seed);
  return {
    columns: columnsOf(g),
    labelColumn: "label",
    labels: g.signal.map((s) => (s > 0 ? "yes" : "no")),
    splits: seededSplit(n, seed),
  };
}

/** Regression data: y = 10 + 3·(x1 + 2·x2 − (x3 − 5) + effect(color)) + N(0, 1). */
export function regressionData(n: number, seed: number): TrainingData {
  const g = generate(n, seed);
  const random = createRandom(deriveSeed(seed, 98));
  return {
    columns: columnsOf(g),
    labelColumn: "y",
    labels: g.signal.map((s) => 10 + 3 * s + normal(random)),
    splits: seededSplit(n, seed),
  };
}
