/**
 * Entry of the statistics worker thread (see ConcurrentStats): runs {@link statsHandler}
 * on the messages of its parent, one upload after another. Only loaded as compiled
 * JavaScript (dist/).
 */
import { parentPort } from "node:worker_threads";
import { statsHandler, type ToStatsWorker } from "./stream-stats.js";

const port = parentPort;
if (port === null) throw new Error("stats-worker.js runs as a worker thread");
const handle = statsHandler((message) => port.postMessage(message));
port.on("message", (message: ToStatsWorker) => handle(message));
