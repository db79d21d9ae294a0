#!/usr/bin/env bun
/** The oc-rsync executable. */
// First: may replace this process with one running without the FTL JIT tier (see the module).
import "./boot/jit-tier.ts";

// The program is evaluated only once that decision is made: a process that replaces itself does not set
// up every module first (about 6 ms of each run's start-up, twice over before).
const { main } = await import("./cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
