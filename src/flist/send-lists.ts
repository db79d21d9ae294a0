/**
 * The sending side's file lists on the wire (flist.c send_file_list's and
 * send_extra_file_list's output): FlistBuilder makes the entries, FlistEncoder
 * writes each as it is made, and this adds what goes between and after:
 * end markers (with the I/O error where the protocol carries it), the id
 * lists, the protocol < 30 io_error word, the sub-list announcements
 * (NDX_FLIST_OFFSET - dir index) and NDX_FLIST_EOF.
 *
 * When to send more sub-lists is the sender role's decision (upstream keeps
 * MIN_FILECNT_LOOKAHEAD = 1000 files listed past the list of the generator's
 * latest request, and up to 10000 when idle): it calls `writeMore` with the
 * number of files in the lists up to that one (upstream's file_old_total,
 * counted from the first list).
 */
import { RERR, RsyncError } from "../errors.ts";
import { NDX_FLIST_EOF, NDX_FLIST_OFFSET, type NdxEncoder } from "../protocol/ndx.ts";
import type { ByteWriter } from "../protocol/writer.ts";
import type { FlistBuilder } from "./build.ts";
import type { FlistEncoder } from "./encode.ts";
import type { FileList } from "./lists.ts";

export interface ListSendOptions {
  protocol: number;
  incRecurse: boolean;
  /** use_safe_inc_flist: CF_SAFE_FLIST, or protocol 31+. */
  safeFlist: boolean;
  /** As FlistEncodeOptions.numericIds: the id lists follow a non-incremental list unless it is 1. */
  numericIds: number;
  preserveHardLinks: boolean;
  /** --ignore-errors: I/O errors are not reported with the lists. */
  ignoreErrors?: boolean;
  /**
   * The receiving side deletes during the transfer (a push with
   * --delete-during/--delete-delay): an I/O error in an incremental list that
   * cannot carry it is fatal, as a pre-3.0.7 receiver would delete too much.
   */
  deleteDuring?: boolean;
  /** Writes what follows an entry (-X: xattrs.c send_xattr). */
  afterEntry?: (w: ByteWriter, row: number) => void;
}

export interface ListsWritten {
  /** The first list (or null when `writeMore` sent none). */
  list: FileList | null;
  /**
   * Non-zero: send MSG_IO_ERROR with this value (protocol 30+ when the end
   * marker could not carry it: the first list without a safe list, and at
   * protocol 30 after sub-lists with new errors).
   */
  ioErrorMessage: number;
}

export class FileListSender {
  /** Entries in all lists sent (upstream's file_total before lists are freed). */
  fileTotal = 0;

  constructor(
    readonly builder: FlistBuilder,
    readonly encoder: FlistEncoder,
    private readonly ndx: NdxEncoder,
    private readonly o: ListSendOptions,
  ) {}

  /** No list is left to send (NDX_FLIST_EOF was written, or the run is not incremental). */
  get eof(): boolean {
    return this.builder.eof;
  }

  /**
   * send_file_list: the first list, its end, the id lists and (before 30)
   * the io_error word; with incremental recursion NDX_FLIST_EOF right away
   * when no directory needs a list, and after a single entry the lists up to
   * the first non-empty one (so the receiver can tell a lone file from a
   * directory).
   */
  writeFirst(w: ByteWriter, args: Uint8Array[]): ListsWritten {
    const o = this.o;
    const b = this.builder;
    const startLen = w.length;
    const list = b.firstList(args, (row, l) => this.writeEntry(w, row, l.ndxStart));
    const ioError = b.ioError;
    this.writeEnd(w, ioError !== 0);
    if (o.preserveHardLinks && o.protocol >= 30 && !o.incRecurse) this.encoder.forgetHardLinks();
    this.fileTotal += list.count;
    if (o.numericIds <= 0 && !o.incRecurse) this.encoder.writeIdLists(w);
    let ioErrorMessage = 0;
    if (o.protocol < 30) w.i32(o.ignoreErrors ? 0 : ioError);
    else if (!o.safeFlist && ioError && !o.ignoreErrors) ioErrorMessage = ioError;
    b.lists.tally.bytes += w.length - startLen;
    if (o.incRecurse) {
      if (b.eof) this.ndx.write(w, NDX_FLIST_EOF);
      else if (this.fileTotal === 1) {
        const more = this.writeMore(w, 1, this.fileTotal);
        ioErrorMessage ||= more.ioErrorMessage;
      }
    }
    return { list, ioErrorMessage };
  }

  /**
   * send_extra_file_list: sub-lists until `atLeast` files are listed past
   * the `reached` ones (fileTotal - reached), or none is left.
   */
  writeMore(w: ByteWriter, atLeast: number, reached: number): ListsWritten {
    const save = this.builder.ioError;
    let first: FileList | null = null;
    while (!this.eof && this.fileTotal - reached < atLeast) {
      const list = this.writeNext(w);
      first ??= list;
    }
    const ioError = this.builder.ioError;
    const ioErrorMessage = ioError !== save && this.o.protocol === 30 && !this.o.ignoreErrors ? ioError : 0;
    return { list: first, ioErrorMessage };
  }

  /** One sub-list: its announcement, entries and end (and NDX_FLIST_EOF after the last). */
  writeNext(w: ByteWriter): FileList | null {
    const b = this.builder;
    const dir = b.nextSubListDir;
    if (dir < 0) return null;
    const startLen = w.length;
    const save = b.ioError;
    // --iconv: the directory goes by its transmission index (flist.c send_extra_file_list, F_NDX).
    const order = b.lists.wireOrder;
    this.ndx.write(w, NDX_FLIST_OFFSET - (order ? order.dirIndexOf(b.lists.dirList[dir]!) : dir));
    const list = b.nextSubList((row, l) => this.writeEntry(w, row, l.ndxStart))!;
    this.writeEnd(w, b.ioError !== save);
    this.fileTotal += list.count;
    if (b.eof) this.ndx.write(w, NDX_FLIST_EOF);
    b.lists.tally.bytes += w.length - startLen;
    return list;
  }

  /** One entry, then what follows it on the wire (-X: its extended attributes). */
  private writeEntry(w: ByteWriter, row: number, listStart: number): void {
    this.encoder.writeEntry(w, row, listStart);
    this.o.afterEntry?.(w, row);
  }

  private writeEnd(w: ByteWriter, hadError: boolean): void {
    const o = this.o;
    if (!hadError || o.ignoreErrors) this.encoder.writeEnd(w, 0);
    else if (o.safeFlist) this.encoder.writeEnd(w, this.builder.ioError);
    else {
      if (o.deleteDuring && o.incRecurse) {
        throw new RsyncError(RERR.UNSUPPORTED, "FATAL I/O ERROR: dying to avoid a --delete-during issue with a pre-3.0.7 receiver.");
      }
      this.encoder.writeEnd(w, 0);
    }
  }
}
