/**
 * Counters of what a sidecar operation read from disk. Tests use them to prove that an
 * active-path open touches only the index and the frames on the path.
 */
export interface ReadStats {
  /** Bytes read from index/offsets.jsonl. */
  indexBytes: number;
  /** Bytes read from index/sessfmt-entries.bin (and the end of offsets.jsonl it is checked against). */
  tableBytes: number;
  /** Bytes read from segment files. */
  segmentBytes: number;
  /** Frames decoded. */
  framesParsed: number;
  /** Segment files opened. */
  segmentOpens: number;
}

export function newReadStats(): ReadStats {
  return { indexBytes: 0, tableBytes: 0, segmentBytes: 0, framesParsed: 0, segmentOpens: 0 };
}

/** Called for every read from disk: which root-relative file, where, how many bytes. */
export type ReadObserver = (file: string, offset: number, bytes: number) => void;
