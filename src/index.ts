export * from "./format/index.js";
export * from "./store/index.js";
