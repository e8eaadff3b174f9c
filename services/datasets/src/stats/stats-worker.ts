/**
 * Entry of the statistics worker thread (see ConcurrentStats): runs {@link statsHandler}
 * on the messages of its parent. Only loaded as compiled JavaScript (dist/).
 */
import { parentPort, workerData } from "node:worker_threads";
import { type StatsWorkerData, statsHandler, type ToStatsWorker } from "./stream-stats.js";

const port = parentPort;
if (port === null) throw new Error("stats-worker.js runs as a worker thread");
const handle = statsHandler(workerData as StatsWorkerData, (message) => port.postMessage(message));
port.on("message", (message: ToStatsWorker) => handle(message));
