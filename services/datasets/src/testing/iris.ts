/** Species of {@link irisCsv}, 50 rows each, in this order. */
export const IRIS_SPECIES = ["setosa", "versicolor", "virginica"] as const;

// Per species: mean sepal length, sepal width, petal length, petal width (Fisher's iris means).
const MEANS: Record<(typeof IRIS_SPECIES)[number], readonly number[]> = {
  setosa: [5.0, 3.4, 1.5, 0.2],
  versicolor: [5.9, 2.8, 4.3, 1.3],
  virginica: [6.6, 3.0, 5.6, 2.0],
};

/**
 * An iris-like CSV of 150 rows (header `id,sepal_length,sepal_width,petal_length,petal_width,species`):
 * ids 1..150, measurements with one decimal drawn deterministically around each species'
 * means, 50 rows per species. `seed` varies the measurements (different content, same shape).
 */
export function irisCsv(seed = 1): string {
  let state = seed >>> 0 || 1;
  // xorshift32: a tiny deterministic generator, so the file is the same on every run.
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
  const lines = ["id,sepal_length,sepal_width,petal_length,petal_width,species"];
  let id = 0;
  for (const species of IRIS_SPECIES) {
    for (let i = 0; i < 50; i++) {
      const values = MEANS[species].map((mean) => Math.max(0.1, mean + (next() - 0.5)).toFixed(1));
      lines.push([++id, ...values, species].join(","));
    }
  }
  return `${lines.join("\n")}\n`;
}
