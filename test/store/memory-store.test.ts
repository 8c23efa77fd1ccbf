import { MemorySessionStore } from "../../src/store/index.js";
import { describeStoreConformance } from "./conformance.js";

describeStoreConformance("memory", () => new MemorySessionStore());
