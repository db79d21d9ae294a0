/**
 * The sender's block matching (match.c match_sums), as delta ops for the
 * token writer: the core (native, or its TypeScript twin) finds the blocks;
 * this turns its (block, length) pairs into ops with their data offsets.
 * The sender feeds a file to the core in windows (createBlockMatcher); the
 * whole-buffer form serves tests and small callers.
 */
import type { SessionSums } from "../protocol/checksum-choice.ts";
import { blockSeedOrder } from "../protocol/checksum-choice.ts";
import { core } from "../native/index.ts";
import type { BlockMatcher, MatchParams } from "../native/api.ts";
import type { DeltaOp } from "./send-tokens.ts";
import type { SumHead } from "./sum-head.ts";

export interface MatchOptions {
  /** --inplace: the receiver overwrites its basis as it goes, so a block behind the current offset is gone. */
  updatingBasis: boolean;
}

function matchParams(head: SumHead, xferSums: SessionSums, opts: MatchOptions): MatchParams {
  return {
    count: head.count,
    blockLength: head.blockLength || 1,
    remainder: head.remainder,
    strongLength: head.strongLength || 1,
    alg: xferSums.xfer.alg!,
    seed: xferSums.seed,
    seedOrder: blockSeedOrder(xferSums),
    updatingBasis: opts.updatingBasis,
  };
}

/** A matcher for a file of `length` bytes fed to it window by window (see writeDeltaFile). */
export function createBlockMatcher(head: SumHead, sums: Uint8Array, length: number, xferSums: SessionSums, opts: MatchOptions): BlockMatcher {
  return core.createMatcher(sums, matchParams(head, xferSums, opts), length);
}

/** The ops of `data` held whole in memory. */
export function* matchBlocks(head: SumHead, sums: Uint8Array, data: Uint8Array, xferSums: SessionSums, opts: MatchOptions): Generator<DeltaOp> {
  const pairs = core.matchBlocks(data, sums, matchParams(head, xferSums, opts));
  let offset = 0;
  for (let i = 0; i < pairs.length; i += 2) {
    const block = pairs[i]!;
    const length = pairs[i + 1]!;
    yield block < 0 ? { literal: true, offset, length } : { literal: false, block, length };
    offset += length;
  }
}
