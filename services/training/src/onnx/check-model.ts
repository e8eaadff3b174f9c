import { inputWidth, type LayerActivation, type TrainedModel } from "../model/trained-model.js";

const ACTIVATIONS: ReadonlySet<string> = new Set<LayerActivation>([
  "relu",
  "tanh",
  "sigmoid",
  "linear",
  "softmax",
]);

/**
 * Throws an Error naming the first inconsistency of a TrainedModel that the export and the
 * reference forward pass would otherwise turn into a wrong graph or silently wrong numbers:
 * unknown activations, kernel/bias sizes that do not match inputs × units, layers that do
 * not chain, an output layer that does not fit the task, unusable preprocessing.
 */
export function checkModel(model: TrainedModel): void {
  const { features } = model.preprocessing;
  if (features.length === 0) throw new Error("the model has no input features");
  const names = new Set<string>();
  for (const [i, f] of features.entries()) {
    if (f.name === "") throw new Error(`feature ${i} has an empty name`);
    if (names.has(f.name)) throw new Error(`feature "${f.name}" appears twice in the preprocessing`);
    names.add(f.name);
    switch (f.kind) {
      case "numeric":
        for (const key of ["mean", "std", "fill"] as const) {
          if (!Number.isFinite(f[key])) throw new Error(`numeric feature "${f.name}": ${key} is ${f[key]}`);
        }
        if (!(f.std > 0)) throw new Error(`numeric feature "${f.name}": std must be > 0, got ${f.std}`);
        break;
      case "categorical": {
        // ONNX string tensors cannot carry null, so "" stands for a missing value and must
        // land in the unknown slot: a vocabulary entry "" would make the two ambiguous.
        if (f.vocabulary.includes("")) {
          throw new Error(
            `categorical feature "${f.name}": the vocabulary must not contain "" (it means missing)`,
          );
        }
        if (new Set(f.vocabulary).size !== f.vocabulary.length) {
          throw new Error(`categorical feature "${f.name}": the vocabulary has duplicate values`);
        }
        break;
      }
      default:
        throw new Error(`feature ${i}: unknown kind "${(f as { kind: unknown }).kind}"`);
    }
  }

  const { layers } = model;
  if (layers.length === 0) throw new Error("the model has no dense layers");
  let width = inputWidth(model.preprocessing);
  for (const [l, layer] of layers.entries()) {
    const where = `layer ${l}`;
    if (!ACTIVATIONS.has(layer.activation)) {
      throw new Error(
        `${where}: unknown activation "${layer.activation}" (expected one of ${[...ACTIVATIONS].join(", ")})`,
      );
    }
    if (!Number.isInteger(layer.inputs) || !Number.isInteger(layer.units) || layer.units < 1) {
      throw new Error(
        `${where}: inputs and units must be positive integers, got ${layer.inputs} × ${layer.units}`,
      );
    }
    if (layer.inputs !== width) {
      throw new Error(
        `${where}: takes ${layer.inputs} inputs but receives ${width} (${l === 0 ? "the preprocessing's input width" : `layer ${l - 1}'s units`})`,
      );
    }
    const expected = layer.inputs * layer.units;
    if (layer.kernel.length !== expected) {
      throw new Error(
        `${where}: kernel has ${layer.kernel.length} values, expected inputs × units = ${layer.inputs} × ${layer.units} = ${expected}`,
      );
    }
    if (layer.bias.length !== layer.units) {
      throw new Error(`${where}: bias has ${layer.bias.length} values, expected units = ${layer.units}`);
    }
    width = layer.units;
  }

  const last = layers[layers.length - 1] as (typeof layers)[number];
  const [units, activation] = outputLayerFor(model);
  if (last.units !== units || last.activation !== activation) {
    throw new Error(
      `a ${model.task} model with ${model.classes.length} classes needs an output layer of ${units} unit(s) with ${activation} activation, got ${last.units} with ${last.activation}`,
    );
  }
}

function outputLayerFor(model: TrainedModel): [units: number, activation: LayerActivation] {
  const task = model.task;
  switch (task) {
    case "binary":
      if (model.classes.length !== 2) {
        throw new Error(`a binary model needs exactly 2 classes, got ${model.classes.length}`);
      }
      return [1, "sigmoid"];
    case "multiclass":
      if (model.classes.length < 2) {
        throw new Error(`a multiclass model needs at least 2 classes, got ${model.classes.length}`);
      }
      return [model.classes.length, "softmax"];
    case "regression":
      return [1, "linear"];
    default:
      throw new Error(`unknown task "${task as string}"`);
  }
}
