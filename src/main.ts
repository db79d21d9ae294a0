#!/usr/bin/env bun
/** The oc-rsync executable. */
import { main } from "./cli/main.ts";

process.exitCode = await main(process.argv.slice(2));
