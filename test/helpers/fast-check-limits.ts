/**
 * Preloaded before every test file (bunfig.toml): a property that fails on a
 * large input can shrink it for hours, synchronously, where bun's per-test
 * timeout cannot stop it (CI once ran past its 90 minutes in
 * windowed-matcher, shrinking a 30 KB counterexample one byte at a time).
 * Past the limit fast-check stops and reports the smallest counterexample
 * found so far; a property whose runs alone take that long fails too. The
 * slowest property passes in under 10 s on 2 cores.
 */
import fc from "fast-check";

fc.configureGlobal({ interruptAfterTimeLimit: 40_000, markInterruptAsFailure: true });
