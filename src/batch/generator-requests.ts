/**
 * --read-batch: the batch holds every file the writer's sender sent, but
 * only those our generator asks for are applied (receiver.c gen_wants_ndx,
 * which reads the generator's choices from a pipe). Here the generator's
 * index writes land in a queue the receiver consults in the same order.
 */
import { WaitFor } from "../io/input.ts";
import { NdxEncoder } from "../protocol/ndx.ts";
import type { ByteWriter } from "../protocol/writer.ts";
import { protocolError } from "../errors.ts";
import type { FileList } from "../flist/lists.ts";
import type { ReceivingSide } from "../roles/context.ts";

export class GeneratorRequests {
  private readonly queue: number[] = [];
  private wake: (() => void) | null = null;
  /** The generator's last choice not yet matched with the batch (-1: none). */
  private next = -1;
  /** Lists the generator has ended (incremental mode). */
  private doneCount = 0;
  private gotEof = false;

  /**
   * `noUpdate`: the generator wanted `ndx` and the batch does not have it
   * (receiver.c no_batched_update).
   */
  constructor(
    private readonly incRecurse: boolean,
    private readonly noUpdate: (ndx: number) => void,
  ) {}

  /** What the generator writes as indexes (a request, or a marker when negative). */
  readonly encoder = new (class extends NdxEncoder {
    constructor(private readonly owner: GeneratorRequests) {
      super(32);
    }
    override write(_w: ByteWriter, ndx: number): void {
      this.owner.push(ndx);
    }
  })(this);

  private push(ndx: number): void {
    this.queue.push(ndx);
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /**
   * Whether the generator asked for `desired` (of list number `listNum`),
   * saying "no batched update" for what it asked for before it. Throws
   * WaitFor while the generator has not decided yet.
   */
  wants(desired: number, listNum: number): boolean {
    if (this.gotEof) return false;
    while (this.next < desired) {
      if (this.incRecurse && listNum <= this.doneCount) return false;
      if (this.next >= 0) {
        const missed = this.next;
        this.next = -1;
        this.noUpdate(missed);
      }
      const ndx = this.queue.shift();
      if (ndx === undefined) throw new WaitFor(new Promise((resolve) => (this.wake = resolve)));
      this.next = ndx;
      if (ndx < 0) {
        if (this.incRecurse) {
          this.doneCount++;
          continue;
        }
        this.gotEof = true;
        return false;
      }
    }
    if (this.next === desired) {
      this.next = -1;
      return true;
    }
    return false;
  }
}

/**
 * receiver.c no_batched_update: the generator asked for a file the batch
 * does not update (an error; the run ends with 23). In incremental mode the
 * generator is told it will not come (MSG_NO_SEND).
 */
export function noBatchedUpdate(x: ReceivingSide, ndx: number): void {
  const list = x.lists.listOf(ndx);
  if (!list || ndx < list.ndxStart) throw protocolError(`Invalid file index ${ndx} in the generator's requests`);
  const name = Buffer.from(x.t.path(ndx)).toString("latin1");
  x.report.error(`(No batched update for "${name}")`, true);
  x.hadTransferError = true;
  if (x.lists.incRecurse && !x.o.dryRun) {
    list.inProgress--;
    x.fileDone(ndx, false);
    x.wakeGenerator();
  }
}

/** upstream's flist_num: lists are numbered from 1 in incremental mode, the one list is 0 otherwise. */
export function listNumber(x: ReceivingSide, list: FileList): number {
  return x.lists.lists.indexOf(list) + (x.lists.incRecurse ? 1 : 0);
}
