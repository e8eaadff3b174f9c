/**
 * Arrow IPC stream encoding shared by the dataset reads and by other services that
 * produce dataset versions (e.g. the feature store's point-in-time join).
 */
export { encodeIpcStream, type IpcChunk } from "./ipc-stream.js";
