/**
 * -S/--sparse (fileio.c write_sparse): runs of zero bytes are not written
 * but left as holes. As upstream, the zeros at either end of a piece are
 * always skipped (they may join the neighbouring pieces' zeros), and inside
 * it only runs of at least SPARSE_WRITE_SIZE bytes; the data in between goes
 * out in one write. Where the file already had data (an in-place update),
 * a skipped run is punched out instead, so the old bytes do not show through.
 * The caller sets the final length (ftruncate) once the file is complete.
 */
import * as fs from "node:fs";
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, fallocate } from "./libc.ts";

/** Upstream's SPARSE_WRITE_SIZE: shorter zero runs inside a piece are written. */
const MIN_HOLE = 1024;

/**
 * One file's sparse writing. Zero runs are deferred, so that runs meeting
 * across pieces (zero blocks one after another) become one hole; a hole
 * is made when data follows it, or at `finish`.
 */
export class SparseWriter {
  /** The deferred zero run [holeFrom, holeTo) (empty when equal). */
  private holeFrom = 0;
  private holeTo = 0;

  /** `oldLength`: the file held data up to there before (an in-place update): holes below it are punched out. */
  constructor(
    private readonly fd: number,
    private readonly oldLength: number,
  ) {}

  /** `data` at `position`; `alreadyThere`: the bytes are on disk already (a matched block in place), only holes are made. */
  write(data: Uint8Array, position: number, alreadyThere = false): void {
    const end = data.length;
    let start = 0;
    let i = 0;
    while (i < end) {
      if (data[i] !== 0) {
        i++;
        continue;
      }
      let z = i + 1;
      while (z < end && data[z] === 0) z++;
      // Leading and trailing zeros are deferred whatever their length; inside, only long runs.
      if (i === 0 || z === end || z - i >= MIN_HOLE) {
        this.span(data, start, i, position, alreadyThere);
        this.defer(position + i, position + z);
        start = z;
      }
      i = z;
    }
    this.span(data, start, end, position, alreadyThere);
  }

  /**
   * The end of the data (the caller then sets the file's length). fileio.c
   * sparse_end punches the last hole only when updating a file in place; a
   * new file keeps whatever --preallocate reserved there.
   */
  finish(inPlace: boolean): void {
    if (inPlace) this.makeHole();
  }

  private span(data: Uint8Array, from: number, to: number, position: number, alreadyThere: boolean): void {
    if (to <= from) return;
    this.makeHole();
    if (!alreadyThere) fs.writeSync(this.fd, data, from, to - from, position + from);
  }

  private defer(from: number, to: number): void {
    if (this.holeTo !== from) this.makeHole();
    if (this.holeFrom === this.holeTo) this.holeFrom = from;
    this.holeTo = to;
  }

  /** Positional writes leave a hole where nothing was written; only old data needs punching out. */
  private makeHole(): void {
    if (this.holeFrom < this.holeTo && this.holeFrom < this.oldLength) {
      fallocate(this.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, this.holeFrom, this.holeTo - this.holeFrom);
    }
    this.holeFrom = this.holeTo = 0;
  }
}
