/**
 * Node flags every Seam launcher starts its process with: `npm start`, the `seam`
 * executable's shebang (cli/bin/seam.js), the container images' ENTRYPOINT and the
 * benchmarks (node-flags.test.ts keeps them in step).
 *
 * `--initial-old-space-size=128`: V8 sets a small heap's old-generation limit only a few
 * dozen MB above what is live (15–30 MB here), and streaming I/O allocates a fresh
 * ArrayBuffer per HTTP/2 read, gRPC message, file chunk and Arrow batch. Under a 200 MB
 * upload that started a major GC every 80–170 ms in both the uploading client and the
 * datasets service: about half of the client's CPU time and 0.5–1.1 s of the service's
 * GC threads per upload. A 128 MB floor under the limit ends that: the upload took
 * 1.5–1.8 s instead of 1.9–2.4 s, for about 50 MB more peak RSS (docs/operations.md).
 * Not allowed in NODE_OPTIONS, and `v8.setFlagsFromString` comes too late for the
 * heap already configured, hence the launchers.
 */
export const SEAM_NODE_FLAGS: readonly string[] = ["--initial-old-space-size=128"];
