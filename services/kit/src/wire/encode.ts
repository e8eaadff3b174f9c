import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { asMessage, type Fields, Unsupported } from "./fields.js";
import { ProtoWriter, Sizes } from "./proto-writer.js";

/** A hand-written encoder's two passes over one message type (see fields.ts). */
export interface MessageEncoder {
  /** The sizing pass: checks every field, notes nested sizes, returns the encoded size. */
  size(message: Fields, sizes: Sizes): number;
  /** The writing pass, taking the noted sizes back in the same order. */
  write(out: ProtoWriter, message: Fields): void;
}

/**
 * Encodes `message` (an init object or a message) exactly like toBinary(create()): with
 * the hand-written passes, or with protobuf-es when the sizing pass meets a value it
 * leaves to protobuf-es (Unsupported), which then converts, encodes or refuses it.
 */
export function encodeMessage<Desc extends DescMessage>(
  schema: Desc,
  message: MessageInitShape<Desc>,
  encoder: MessageEncoder,
): Uint8Array {
  const sizes = new Sizes();
  let size: number;
  try {
    size = encoder.size(asMessage(message), sizes);
  } catch (error) {
    if (error instanceof Unsupported) return toBinary(schema, create(schema, message));
    throw error;
  }
  const out = new ProtoWriter(size, sizes);
  encoder.write(out, message as Fields);
  return out.finish();
}
