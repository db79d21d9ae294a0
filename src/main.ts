#!/usr/bin/env bun
/** The oc-rsync executable. */
// First: may replace this process with one running without the FTL JIT tier (see the module).
import "./boot/jit-tier.ts";

/**
 * The run as a promise, not a top-level await. With one, a wait that can
 * never end (nothing left to read, write or time) makes Bun 1.4.5 spin at
 * full CPU on the unfinished main module, deaf to SIGINT. Without one the
 * event loop empties and beforeExit fires: a run that has not finished by
 * then says so and fails, instead of hanging or passing silently.
 */
let finished = false;
process.on("beforeExit", () => {
  if (finished) return;
  process.stderr.write("rsync error: the transfer stopped with nothing left to wait for (code 15) [internal]\n");
  process.exit(15);
});

// The program is evaluated only once that decision is made: a process that replaces itself does not set
// up every module first (about 6 ms of each run's start-up, twice over before).
import("./cli/main.ts")
  .then(({ main }) => main(process.argv.slice(2)))
  .then((code) => {
    finished = true;
    process.exitCode = code;
  });
