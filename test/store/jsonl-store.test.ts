import { JsonlSessionStore } from "../../src/store/index.js";
import { describeStoreConformance } from "./conformance.js";

describeStoreConformance("jsonl", (root) => new JsonlSessionStore({ root, durability: "throughput" }));
