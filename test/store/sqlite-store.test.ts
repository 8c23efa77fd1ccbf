import { SqliteSessionStore } from "../../src/store/index.js";
import { describeStoreConformance } from "./conformance.js";

describeStoreConformance("sqlite", (root) => new SqliteSessionStore({ root, durable: false }));
