#!/usr/bin/env bun
/** The oc-rsync executable. */
// First: may replace this process with one running without the FTL JIT tier (see the module).
import "./boot/jit-tier.ts";
import { main } from "./cli/main.ts";

process.exitCode = await main(process.argv.slice(2));
