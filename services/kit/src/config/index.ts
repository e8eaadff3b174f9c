export { ConfigError, byteSizeSchema, hostSchema, logLevelSchema, parseEnv, portSchema } from "./env.js";
