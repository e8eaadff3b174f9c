export type { BlobInfo, BlobPutOptions, BlobStore, EventBus, MetaCommit, MetaEntry, MetaRange, MetaStore, Stores } from "./ports.js";
