/**
 * The stat prefetcher's twin (of zig/stat_prefetch.zig): it takes no jobs,
 * so every destination entry is stat'ed when the generator reaches it, on the
 * calling thread, as without the native core.
 */
import type { StatPrefetcher } from "../api.ts";

export function createStatPrefetcher(): StatPrefetcher {
  return {
    slots: 0,
    submit: () => -1,
    kick: () => {},
    done: () => 0,
    skipBelow: () => {},
    record: () => {
      throw new RangeError("stat prefetcher: no slot was given");
    },
  };
}
