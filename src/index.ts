export * from "./format/index.js";
export * from "./v2/index.js";
export * from "./store/index.js";
export * from "./migrate/index.js";
