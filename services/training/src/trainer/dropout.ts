/**
 * Dropout with masks from our own seeded generator.
 *
 * TF.js's dropout is not usable for reproducible training: without a seed its masks come
 * from Math.random, and with one (`tf.layers.dropout({seed})`) every call re-creates its
 * generator from the seed, so every batch of a given shape gets the same mask. This layer
 * draws each mask from a generator the training loop sets per epoch (./random.ts), so the
 * same seed gives the same masks, and a resumed epoch the masks it would have had.
 */
import * as tf from "@tensorflow/tfjs";

export class SeededDropout extends tf.layers.Layer {
  static readonly className = "SeededDropout";
  private random: () => number = () => {
    throw new Error("SeededDropout needs setRandom() before training");
  };

  constructor(private readonly rate: number) {
    super({});
    if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout rate must be in [0, 1), got ${rate}`);
  }

  /** Sets the generator of the coming masks. */
  setRandom(random: () => number): void {
    this.random = random;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (x === undefined) throw new Error("SeededDropout got no input");
    if (kwargs.training !== true || this.rate === 0) return x;
    const keep = 1 - this.rate;
    const scale = 1 / keep;
    const mask = new Float32Array(x.size);
    for (let i = 0; i < mask.length; i++) mask[i] = this.random() < keep ? scale : 0;
    return tf.tidy(() => tf.mul(x, tf.tensor(mask, x.shape)));
  }
}
