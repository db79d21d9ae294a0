/**
 * One file being received (receiver.c receive_data, finish_transfer): where
 * its bytes go (a temp file renamed into place, or the destination itself
 * with --inplace / --append), where matched blocks are read from (the
 * destination, or a --partial-dir file), and the whole-file checksum over
 * everything it ends up holding.
 */
import * as fs from "node:fs";
import type { SumHead } from "../delta/sum-head.ts";
import type { DestFs } from "../fs/dest-fs.ts";
import { tempBaseFor, tempNameFor, tempNameIn } from "../fs/dest-fs.ts";
import { closeFd, createAt, fdOpsAvailable, renameAt, unlinkAt, writeAllFd } from "../fs/fd-ops.ts";
import type { Hasher } from "../native/index.ts";
import type { FileJob } from "../native/api.ts";
import { FALLOC_FL_KEEP_SIZE, fallocate } from "../fs/libc.ts";
import { SparseWriter } from "../fs/sparse-write.ts";
import { errText } from "../fs/errors.ts";
import { RERR, RsyncError } from "../errors.ts";
import { giveBack, giveBackPiece, slabsInUse } from "../compress/output-slabs.ts";
import type { WriteStaging } from "./write-staging.ts";
import type { NameInDir } from "./context.ts";

/** Files up to this size are kept in memory and written in one go. */
const WRITE_BATCH = 1 << 20;
const PREFIX_CHUNK = 1 << 20;
const SLASH = Buffer.from("/");
/** Bytes of the basis read ahead for matched blocks (see block). */
const BASIS_WINDOW = 256 << 10;

export interface IncomingSpec {
  /** The destination (relative to the destination root). */
  rel: Uint8Array;
  /**
   * The destination as a directory and a name in it, when the temp file may
   * be made and put in place through the directory's descriptor (DestFs.dirFd
   * with `dirKey`); null: by whole paths.
   */
  at?: NameInDir | null;
  head: SumHead;
  /** Where matched blocks come from; null without a basis. */
  basisRel: Uint8Array | null;
  /** Write into the destination itself (--inplace, --append). */
  inplace: boolean;
  /** --temp-dir, as a name relative to the destination root (DestFs.route): the temp file is made there (by path: `at` is null). */
  tempDir?: Uint8Array | null;
  /** --append: 1 appends after the existing data, 2 also checks it (--append-verify, or any append below protocol 30). */
  append: 0 | 1 | 2;
  /** Mode for a newly created file (our own until it is in place). */
  createMode: number;
  /** -S: zero runs become holes. */
  sparse?: boolean;
  /** --fsync: the rebuilt file reaches the disk before it is closed (receiver.c receive_data). */
  fsync?: boolean;
  /** --preallocate: the file's final length, allocated before writing. */
  preallocate?: number;
  /**
   * -b with --inplace: the backup is the basis (receiver.c), so a device
   * written into (--write-devices) is not taken for one and is cut to
   * length like a file, which a device refuses (upstream's error).
   */
  backupBasis?: boolean;
}

/**
 * One basis window buffer kept from file to file: a delta of a tree reads its
 * whole old version through windows, and a new buffer per window was as much
 * garbage as the tree's size (1.3 GB for the kernel's), to be zeroed, paged
 * in and collected. A file gives its buffer back unless a piece of it may
 * still be read after the file is done (see IncomingFile.window).
 */
export class SpareWindow {
  buffer: Uint8Array | null = null;

  /** Keeps `buffer` for the next file (the larger one, when one is kept already). */
  giveBack(buffer: Uint8Array): void {
    if (!this.buffer || this.buffer.length < buffer.length) this.buffer = buffer;
  }

  take(): Uint8Array | null {
    const b = this.buffer;
    this.buffer = null;
    return b;
  }
}

export class IncomingFile {
  literal = 0;
  matched = 0;
  /** The temp file's path (made when first asked for on the descriptor path); null when writing in place. */
  private tempPath: Uint8Array | null = null;
  /** The temp file's name in its directory's descriptor (spec.at), or null. */
  private readonly tempBase: Uint8Array | null = null;
  /** The temp file exists (it is made on the first write). */
  private created = false;
  private fd = -1;
  private basisFd = -1;
  /** Where the next byte of the file goes. */
  private offset = 0;
  private chunks: Uint8Array[] = [];
  private pending = 0;
  /** The WriteStaging segments `chunks` were copied into, to release once they are written. */
  private staged: number[] = [];
  /**
   * Basis bytes read ahead from `windowAt`, in `windowBuffer`, and the run
   * of matched blocks in it not yet hashed and written: [runFrom, runTo).
   * The buffer is read into again for the next window (and kept for the
   * next file, see SpareWindow) unless it is lent: a view of it was
   * returned to the caller (-z), so it may be read later; then the next
   * window gets a new buffer. A view kept as a piece to write (no staging
   * copy: -z, or a staging ring that is full, as a large file's flushes
   * and the queued files' data make it) is written out before the buffer
   * is read into again (windowInChunks); after the file, such a piece is
   * written before the buffer is passed on (close), or goes with its job,
   * which passes the buffer on once it is written (takeForJob). A kernel
   * tree's delta made a new 256 KiB buffer for a third of its files before.
   */
  private window: Uint8Array | null = null;
  private windowBuffer: Uint8Array | null = null;
  private windowLent = false;
  private windowInChunks = false;
  private windowAt = 0;
  private runFrom = 0;
  private runTo = 0;
  /** -S in place: how far the file held data before (holes below it must be punched, upstream's preallocated_len). */
  private oldLength = 0;
  /** -S: writes that leave zero runs as holes. */
  private sparse: SparseWriter | null = null;
  /** Updating a device in place (--write-devices). */
  private device = false;
  /** What cutting a device to length said (see backupBasis), for the receiver to report. */
  truncateFailure: string | null = null;
  /**
   * The file could not be made (its temp file, or the file itself in place):
   * what failed and why. Its data is then read and dropped, as upstream's
   * discard_receive_data does, and the receiver reports it at the end.
   */
  createFailure: { name: Uint8Array; inplace: boolean; cause: unknown } | null = null;

  constructor(
    private readonly dest: DestFs,
    readonly spec: IncomingSpec,
    private readonly hasher: Hasher,
    /** Where data waiting to be written is copied to (see write-staging.ts); null: the pieces themselves are kept. */
    private readonly staging: WriteStaging | null = null,
    /** A destination name as messages show it (util1.c full_fname; the receiver's has the whole path or the module). */
    private readonly fullName: (rel: Uint8Array) => string = (rel) => `"${Buffer.from(rel).toString("latin1")}"`,
    /** Where the window buffer comes from and goes back to; null: a new one per file. */
    private readonly spareWindow: SpareWindow | null = null,
  ) {
    if (spec.inplace) this.tempPath = null;
    else if (spec.tempDir) this.tempPath = tempNameIn(spec.tempDir, spec.rel);
    else if (spec.at) this.tempBase = tempBaseFor(spec.at.base);
    else this.tempPath = tempNameFor(spec.rel);
    if (spec.basisRel && spec.head.count > 0) {
      try {
        // The file's own old version (the usual basis) through its directory's descriptor: no walk of the whole path.
        const at = spec.basisRel === spec.rel ? spec.at : null;
        this.basisFd = at ? dest.openReadIn(at.dirKey, at.dir, at.base) : dest.openRead(spec.basisRel);
      } catch {
        // Missing basis: matched blocks come out empty and the checksum fails (then the redo fixes it).
      }
    }
    if (spec.inplace) {
      try {
        this.fd = dest.openOrCreateForUpdate(spec.rel, spec.createMode);
      } catch (e) {
        this.createFailure = { name: spec.rel, inplace: true, cause: e };
        return;
      }
      const st = fs.fstatSync(this.fd);
      this.oldLength = st.size;
      // --write-devices: a device is written into, never cut to length (receiver.c receive_data).
      this.device = st.isBlockDevice() || st.isCharacterDevice();
      // receive_data: a sparse file sent whole is best started empty (its holes need no punching then).
      if (spec.sparse && spec.head.count === 0 && !spec.append) {
        fs.ftruncateSync(this.fd, 0);
        this.oldLength = 0;
      }
      if ((spec.preallocate ?? 0) > this.oldLength) this.allocate();
      if (spec.sparse) this.sparse = new SparseWriter(this.fd, this.oldLength);
      if (spec.append) this.startAppend();
    }
  }

  /** --preallocate (do_fallocate): the final length reserved up front; a failure only costs the reservation. */
  private allocate(): void {
    try {
      // Holes are punched within the file's size, so a sparse file is allocated at its full size.
      fallocate(this.fd, this.spec.sparse ? 0 : FALLOC_FL_KEEP_SIZE, 0, this.spec.preallocate!);
      // Allocated zeros are data now: a hole there must be punched out.
      if (this.spec.sparse) this.oldLength = Math.max(this.oldLength, this.spec.preallocate!);
    } catch {
      // not supported here
    }
  }

  /** --append: the data already there stays; with verification it counts in the checksum. */
  private startAppend(): void {
    const h = this.spec.head;
    const existing = h.count * h.blockLength - (h.remainder ? h.blockLength - h.remainder : 0);
    if (this.spec.append === 2 && this.basisFd >= 0) {
      const buf = new Uint8Array(PREFIX_CHUNK);
      for (let at = 0; at < existing; ) {
        const n = fs.readSync(this.basisFd, buf, 0, Math.min(buf.length, existing - at), at);
        if (n <= 0) break;
        this.hasher.update(buf.subarray(0, n));
        at += n;
      }
    }
    this.offset = existing;
  }

  get name(): Uint8Array {
    return this.spec.rel;
  }

  /** The temp file (relative path), or null when writing in place. */
  get temp(): Uint8Array | null {
    if (this.tempPath === null && this.tempBase) {
      const dir = this.spec.at!.dir;
      this.tempPath = dir.length ? Buffer.concat([dir, SLASH, this.tempBase]) : this.tempBase;
    }
    return this.tempPath;
  }

  /**
   * The directory's descriptor, asked for at each use: DestFs may have
   * closed it meanwhile (a directory removed elsewhere), and then opens it
   * again by path.
   */
  private dirFdNow(): number {
    const at = this.spec.at!;
    return this.dest.dirFd(at.dirKey, at.dir);
  }

  /** Whether attributes can be set through the open temp file (see close). */
  get byDescriptor(): boolean {
    return this.tempBase !== null;
  }

  literalData(data: Uint8Array): void {
    this.endRun();
    this.hasher.update(data);
    this.literal += data.length;
    this.write(data);
  }

  /**
   * A block of the basis, returned when `wanted` (compression puts it in
   * its history; otherwise null may come back). Blocks that follow each
   * other in the basis, as matched blocks mostly do, are taken from a window
   * read ahead and hashed and written as one run (endRun): no copy, hash
   * call nor chunk per block. With --inplace a block already at its place
   * is not rewritten.
   */
  block(index: number, wanted = true): Uint8Array | null {
    const h = this.spec.head;
    const len = index === h.count - 1 && h.remainder ? h.remainder : h.blockLength;
    const at = index * h.blockLength;
    this.matched += len;
    if (!this.spec.inplace && this.windowHolds(at, len)) {
      const from = at - this.windowAt;
      if (from !== this.runTo) {
        this.endRun();
        this.runFrom = from;
      }
      this.runTo = from + len;
      if (!wanted) return null;
      this.windowLent = true;
      return this.window!.subarray(from, from + len);
    }
    this.endRun();
    const data = new Uint8Array(len);
    // What lies past the basis's end stays zeros, as a single read leaves it.
    if (this.basisFd >= 0) fs.readSync(this.basisFd, data, 0, len, at);
    this.hasher.update(data);
    if (this.spec.inplace && at === this.offset) {
      // skip_matched: the data is in place, but its zero runs still become holes under -S.
      this.sparse?.write(data, at, true);
      this.offset += len;
      return data;
    }
    this.write(data);
    return data;
  }

  /** Writes or queues `data`; true when `data` itself waits in the chunks to write (not copied nor written yet). */
  private write(data: Uint8Array): boolean {
    if (this.createFailure) return false;
    if (this.spec.inplace) {
      try {
        if (this.sparse) this.sparse.write(data, this.offset);
        else fs.writeSync(this.fd, data, 0, data.length, this.offset);
      } catch (e) {
        throw this.writeFailed(e);
      }
      giveBackPiece(data);
      this.offset += data.length;
      return false;
    }
    const staged = this.staging?.copy(data, this.staged);
    if (staged) {
      // The copy is what waits for the writer: an inflated piece's slab is free for the next pieces now (-z).
      giveBackPiece(data);
      this.chunks.push(staged);
    } else this.chunks.push(data);
    this.pending += data.length;
    if (this.pending >= WRITE_BATCH) this.flush();
    return !staged;
  }

  private flush(): void {
    if (this.createFailure) return;
    if (this.fd < 0) {
      try {
        if (this.tempBase) {
          this.fd = createAt(this.dirFdNow(), this.tempBase, this.spec.createMode, () => this.dest.shown(this.temp!));
          this.created = true;
        } else this.fd = this.dest.createExclusive(this.temp!, this.spec.createMode);
      } catch (e) {
        this.createFailure = { name: this.temp!, inplace: false, cause: e };
        this.dropPending();
        return;
      }
      if (this.spec.preallocate) this.allocate();
      if (this.spec.sparse) this.sparse = new SparseWriter(this.fd, this.oldLength);
    }
    try {
      // Chunks go out as they are (one writev), not copied together first.
      if (this.sparse) this.sparse.write(Buffer.concat(this.chunks, this.pending), this.offset);
      else if (fdOpsAvailable) writeAllFd(this.fd, this.chunks, () => this.dest.shown(this.temp ?? this.spec.rel));
      else fs.writeSync(this.fd, Buffer.concat(this.chunks, this.pending));
    } catch (e) {
      throw this.writeFailed(e);
    }
    this.offset += this.pending;
    this.dropPending();
  }

  /** Written (or never to be): slabs of inflated data (-z) that held the chunks can be used again, and so can the staging space. */
  private dropPending(): void {
    giveBack(this.chunks);
    this.releaseStaged();
    this.chunks = [];
    this.pending = 0;
    this.windowInChunks = false;
  }

  /** receive_data's ftruncate of a device it took for a file: the failure is reported, the transfer goes on. */
  private truncateDevice(): void {
    try {
      fs.ftruncateSync(this.fd, this.offset);
    } catch (e) {
      this.truncateFailure = `rsync: [receiver] ftruncate failed on ${this.fullName(this.spec.rel)}: ${errText(e)}`;
    }
  }

  /** A failed write ends the transfer (receiver.c receive_data), e.g. a device (--write-devices) or disk that is full. */
  private writeFailed(e: unknown): RsyncError {
    return new RsyncError(RERR.FILEIO, `rsync: [receiver] write failed on ${this.fullName(this.spec.rel)}: ${errText(e)}`);
  }

  /** True when the sender's checksum matches what we rebuilt. */
  verify(theirs: Uint8Array): boolean {
    this.endRun();
    const ok = Buffer.compare(this.hasher.digest(), theirs) === 0;
    // The file's data is all in: its hasher's state can serve the next file.
    this.hasher.release?.();
    return ok;
  }

  /**
   * Closes the rebuilt file and returns where it is now (the temp file, or
   * the destination when updating in place), ready for its attributes.
   * `beforeClose` gets the open descriptor when byDescriptor (its
   * attributes are set through it: times go last, after every write).
   */
  close(beforeClose?: (fd: number, temp: Uint8Array) => void): Uint8Array {
    this.endRun();
    // (In place nothing waits in chunks; otherwise the window is passed on only once its pieces are written.)
    if (!this.spec.inplace) this.flush();
    this.closeBasis();
    if (this.spec.inplace) {
      // What was longer than the new content goes.
      this.sparse?.finish(true);
      if (!this.device) fs.ftruncateSync(this.fd, this.offset);
      else if (this.spec.backupBasis) this.truncateDevice();
    } else {
      // (Made only now, for data that was all in memory: see createFailure.)
      if (this.createFailure) throw this.createFailure.cause;
      this.sparse?.finish(false);
      // A trailing hole is no write at all, and a reservation may be longer than the data: the length is set here.
      if (this.spec.sparse || this.spec.preallocate) fs.ftruncateSync(this.fd, this.offset);
    }
    if (this.spec.fsync) fs.fsyncSync(this.fd);
    const where = this.temp ?? this.spec.rel;
    if (this.tempBase) {
      const fd = this.fd;
      try {
        beforeClose?.(fd, where);
      } finally {
        this.fd = -1;
        closeFd(fd, () => this.dest.shown(where));
      }
      return where;
    }
    fs.closeSync(this.fd);
    this.fd = -1;
    return where;
  }

  /**
   * The whole file, still all in memory, for a FileWriter job (roles/put-queue.ts)
   * that creates, writes and renames it instead of close() and install(): null
   * when part of it is on disk already (a file past WRITE_BATCH) or it needs
   * more than that (in place, sparse, preallocated, --fsync, names by path).
   * The job owns the data from here on; this object is done with. Its
   * attributes are the caller's to set (AttrRules.setFileJobAttrs): they
   * start as nothing to set, every field there, so setting them adds none.
   */
  takeForJob(): (FileJob & { bytes: number }) | null {
    const s = this.spec;
    this.endRun();
    if (this.fd >= 0 || this.createFailure || !this.tempBase || s.inplace || s.sparse || s.preallocate || s.fsync) return null;
    let dirFd: number;
    try {
      dirFd = this.dirFdNow();
    } catch {
      // The directory cannot be opened (gone, or a symlink now in a confined module): the descriptor path meets
      // the same error making the temp file, and reports it as upstream's mkstemp.
      return null;
    }
    // A window whose pieces go with the job is passed on when the job is done with them.
    const windowWithJob = this.windowInChunks && !this.windowLent ? this.windowBuffer : null;
    this.closeBasis();
    const data = this.chunks;
    const job = {
      dirFd,
      temp: this.tempBase,
      final: s.at!.base,
      data,
      bytes: this.pending,
      createMode: s.createMode,
      released: this.releaser(data, windowWithJob),
      attrs: 0,
      uid: 0,
      gid: 0,
      mode: 0,
      mtime: 0,
      nsec: 0,
      atime: 0,
    };
    this.offset += this.pending;
    this.chunks = [];
    this.staged = [];
    this.pending = 0;
    return job;
  }

  /** What a job calls when done with `data`: its slab pieces (-z), staging segments and basis window are free again. */
  private releaser(data: Uint8Array[], window: Uint8Array | null): (() => void) | undefined {
    const staged = this.staged;
    const staging = this.staging;
    const spare = this.spareWindow;
    const slabs = slabsInUse();
    if (!slabs && !staged.length && !(window && spare)) return undefined;
    return () => {
      if (slabs) giveBack(data);
      if (staged.length) staging!.release(staged);
      if (window) spare?.giveBack(window);
    };
  }

  private releaseStaged(): void {
    if (!this.staged.length) return;
    this.staging!.release(this.staged);
    this.staged = [];
  }

  /**
   * Puts a closed temp file in place, or at `at` (--delay-updates); nothing
   * to do when updating in place. Returns null, or where the temp file was
   * copied to when it was on another filesystem (--temp-dir): at `at`, or
   * at `via` for the caller to rename (see DestFs.move). A copy needs its
   * attributes again.
   */
  install(at: Uint8Array = this.spec.rel, via?: Uint8Array | null): Uint8Array | null {
    if (this.tempBase && at === this.spec.rel) {
      renameAt(this.dirFdNow(), this.tempBase, this.spec.at!.base, () => this.dest.shown(this.temp!));
      return null;
    }
    return this.temp ? this.dest.move(this.temp, at, via) : null;
  }

  /** A rebuilt file that failed verification or could not be finished: the temp file goes. */
  discard(): void {
    this.closeBasis();
    this.releaseStaged();
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    if (this.temp) this.removeTemp();
  }

  /**
   * The run ends in the middle of this file. With --partial what arrived is
   * kept: in place of the destination, or as `partialRel` (--partial-dir).
   * Returns where it was kept, or null.
   */
  abandon(keepPartial: boolean, partialRel: Uint8Array | null): Uint8Array | null {
    this.endRun();
    this.closeBasis();
    if (this.spec.inplace || !this.temp) {
      if (this.fd >= 0) fs.closeSync(this.fd);
      this.fd = -1;
      return null;
    }
    const received = this.offset + this.pending;
    if (keepPartial && received > 0) {
      try {
        this.flush();
        fs.closeSync(this.fd);
        this.fd = -1;
        if (partialRel) this.dest.mkdirParentOf(partialRel, 0o700);
        this.dest.move(this.temp, partialRel ?? this.spec.rel);
        return partialRel ?? this.spec.rel;
      } catch {
        // fall through: remove what we cannot keep
      }
    }
    this.discard();
    return null;
  }

  private removeTemp(): void {
    try {
      // (Never created: there is no directory descriptor yet either.)
      if (this.tempBase && this.created) unlinkAt(this.dirFdNow(), this.tempBase, () => "");
      else if (!this.tempBase) this.dest.unlink(this.temp!);
    } catch {
      // never created
    }
  }

  /**
   * Whether the window holds [at, at + len) of the basis, reading the next
   * one from `at` when it does not (as much of the basis as is left, up to
   * BASIS_WINDOW). False without a basis, for a block larger than a window,
   * or where the basis is shorter than its sums said: then the block is
   * read on its own.
   */
  private windowHolds(at: number, len: number): boolean {
    const w = this.window;
    if (w && at >= this.windowAt && at + len <= this.windowAt + w.length) return true;
    if (this.basisFd < 0 || len > BASIS_WINDOW) return false;
    this.endRun();
    const h = this.spec.head;
    const basisLength = h.count * h.blockLength - (h.remainder ? h.blockLength - h.remainder : 0);
    const want = Math.max(len, Math.min(BASIS_WINDOW, basisLength - at));
    if (this.windowInChunks && !this.windowLent) this.flush();
    let buffer = this.windowLent || this.windowInChunks ? null : (this.windowBuffer ?? this.spareWindow?.take() ?? null);
    if (!buffer || buffer.length < want) buffer = new Uint8Array(want);
    const got = fs.readSync(this.basisFd, buffer, 0, want, at);
    this.windowBuffer = buffer;
    this.windowLent = this.windowInChunks = false;
    this.window = buffer.subarray(0, got);
    this.windowAt = at;
    this.runFrom = this.runTo = 0;
    return len <= got;
  }

  /** Hashes and writes the pending run of matched blocks (see block). */
  private endRun(): void {
    if (this.runTo === this.runFrom) return;
    const run = this.window!.subarray(this.runFrom, this.runTo);
    this.runFrom = this.runTo;
    this.hasher.update(run);
    if (this.write(run)) this.windowInChunks = true;
  }

  /** The basis is done with (every run written or dropped): its window buffer serves the next file unless lent. */
  private closeBasis(): void {
    if (this.basisFd >= 0) fs.closeSync(this.basisFd);
    this.basisFd = -1;
    if (this.windowBuffer && !this.windowLent && !this.windowInChunks) this.spareWindow?.giveBack(this.windowBuffer);
    this.windowBuffer = this.window = null;
  }
}
