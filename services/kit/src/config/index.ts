export {
  addressSchema,
  byteSizeSchema,
  ConfigError,
  hostSchema,
  logLevelSchema,
  parseEnv,
  portSchema,
} from "./env.js";
