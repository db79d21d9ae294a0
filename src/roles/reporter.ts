import type { FileList } from "../flist/lists.ts";

/**
 * What the receiving side tells the user: one call per event, in the order
 * upstream prints them. The implementation (client/output) formats them per
 * -v / -i / --out-format / --progress; a server turns them into messages.
 */
export interface ItemEvent {
  /** Row in the file table (the entry), and the name as it is printed (local name for a single file). */
  row: number;
  name: Uint8Array;
  iflags: number;
  /** For hard links: the path the item was linked to. */
  xname?: Uint8Array;
  /** Bytes received literally / matched (transferred files). */
  literal?: number;
  matched?: number;
  /** Whole-file checksum (for %C). */
  checksum?: Uint8Array;
  /** Protocol bytes this file's data took on the wire: sum head, tokens, checksum (for %b); a sender counts its index and attributes too. */
  wireBytes?: number;
  /** A receiver's count of the index and attributes that came before the data (which a sender's %b counts). */
  requestBytes?: number;
  /** The sum head and block sums the generator sent for the file (a sender's %c). */
  sumsBytes?: number;
  /** A sending side's path of the entry (for its %f). */
  path?: Uint8Array;
}

export interface Reporter {
  /** An itemized item (report-only, or a finished transfer). */
  item(e: ItemEvent): void;
  /** "deleting NAME" (directories with a trailing "/"). */
  deleted(name: Uint8Array, isDir: boolean): void;
  /** A line of information (stdout), e.g. "skipping non-regular file". */
  info(text: string): void;
  /** A line for the user only (FCLIENT: kept out of --log-file); without it, info. */
  client?(text: string): void;
  /** A warning or error line (stderr), without "rsync: " prefix handling. */
  /** `xfer`: a file could not be transferred (FERROR_XFER: the exit code becomes 23 wherever it is reported). */
  error(text: string, xfer?: boolean): void;
  /** --list-only: one listing line for a file-list entry. */
  listEntry(row: number): void;
  /** An item's index came: upstream's read_ndx_and_attrs makes its list the current one (cur_flist), which progress2 shows at the next marker. */
  indexRead?(ndx: number): void;
  /** A file is transferred (`ndx` is its index on the wire, `name` as printed); its data comes next unless `dataFollows` is false (a dry run). */
  transferStarting?(row: number, ndx: number, name: Uint8Array, dataFollows?: boolean): void;
  /** Progress within that file: `offset` of its `size` bytes are done. */
  progress?(offset: number, size: number): void;
  /** All of that file's data is in. */
  transferDataDone?(size: number): void;
  /** The sender ended a list or a phase (NDX_DONE): progress2 shows the totals again; `firstHeld` is the first list not yet freed. */
  doneMarker?(firstHeld: FileList | null): void;
}
