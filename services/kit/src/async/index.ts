export { abortable, nextOrAbort } from "./abortable.js";
