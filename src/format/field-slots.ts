/**
 * The fields the open index needs from each line, as slots, and the kinds of value a slot
 * can hold. Shared by the line scanner (src/format/wasm-scanner.ts) and its readers
 * (src/format/fast-fields.ts).
 */

/** Field slots. The MESSAGE_ROLE slot is `role` inside the top-level `message` object. */
export const F_TYPE = 0;
export const F_ID = 1;
export const F_PARENT_ID = 2;
export const F_TIMESTAMP = 3;
export const F_MESSAGE = 4;
export const F_MESSAGE_ROLE = 5;
export const F_TARGET_ID = 6;
export const F_LABEL = 7;
export const F_NAME = 8;
export const F_FIRST_KEPT_ENTRY_INDEX = 9;
export const SLOTS = 10;

/** Top-level keys and their slots (`role` is looked for only inside `message`). */
export const TOP_KEYS: readonly (readonly [string, number])[] = [
  ["type", F_TYPE],
  ["id", F_ID],
  ["parentId", F_PARENT_ID],
  ["timestamp", F_TIMESTAMP],
  ["message", F_MESSAGE],
  ["targetId", F_TARGET_ID],
  ["label", F_LABEL],
  ["name", F_NAME],
  ["firstKeptEntryIndex", F_FIRST_KEPT_ENTRY_INDEX],
];
export const ROLE_KEY = "role";

/**
 * Entry types and message roles a line can name: the scanner reports which one a `type`
 * or `role` value is, so that one shared string serves every line that names it.
 */
export const KNOWN_NAMES: readonly string[] = [
  "message",
  "thinking_level_change",
  "model_change",
  "compaction",
  "branch_summary",
  "custom",
  "custom_message",
  "label",
  "session_info",
  "user",
  "assistant",
  "toolResult",
  "bashExecution",
];

/** Kind of a field's value (K_ABSENT: the key does not occur). */
export const K_ABSENT = 0;
export const K_STRING = 1;
export const K_NULL = 2;
export const K_NUMBER = 3;
export const K_OBJECT = 4;
export const K_ARRAY = 5;
export const K_BOOLEAN = 6;

/** Result of scanning a line. */
export const SCAN_CERTAIN = 1;
export const SCAN_UNSURE = 0;
