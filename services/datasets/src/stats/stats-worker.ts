/**
 * Entry of the statistics worker thread (see ConcurrentStats): runs {@link statsHandler}
 * on the messages of its parent, one upload after another. Only loaded as compiled
 * JavaScript (dist/).
 */
import { setPriority } from "node:os";
import { parentPort } from "node:worker_threads";
import { statsHandler, type ToStatsWorker } from "./stream-stats.js";

/**
 * Statistics are background work: the worker thread runs at nice 10, so that the thread
 * parsing the upload (and answering every other call of the process) gets a core first.
 * On 2 cores an upload keeps more threads busy than there are cores (parsing, statistics,
 * file writes, GC); at the same priority the parsing thread waited 0.2-0.34 s on the run
 * queue per 200 MB upload, at nice 10 0.09-0.27 s, and uploads were about 5 % faster (5
 * alternating runs each). The worker keeps up: the upload waits for it only when 64 MiB
 * are in flight. Linux only, where a thread's nice is its own: elsewhere
 * setpriority(pid 0) would lower the whole process.
 */
const STATS_WORKER_NICE = 10;

if (process.platform === "linux") {
  try {
    setPriority(STATS_WORKER_NICE);
  } catch {
    // A sandbox may refuse it: the worker then runs at the process's priority.
  }
}

const port = parentPort;
if (port === null) throw new Error("stats-worker.js runs as a worker thread");
const handle = statsHandler((message) => port.postMessage(message));
port.on("message", (message: ToStatsWorker) => handle(message));
