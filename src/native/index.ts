/**
 * The one entry point to native code: `core` is the Zig core when it loads,
 * else the TypeScript twin (with the reason in `core.caps.reason`, which
 * `-v` and `--version` print).
 */
import type { Core } from "./api.ts";
import { loadNative } from "./load.ts";
import { createNativeCore } from "./native-core.ts";
import { tsCore } from "./ts/index.ts";

async function selectCore(): Promise<Core> {
  const loaded = await loadNative();
  if (loaded.ok) return createNativeCore(loaded.lib);
  return { ...tsCore, caps: { ...tsCore.caps, reason: loaded.reason } };
}

export const core: Core = await selectCore();
export { tsCore };
export * from "./api.ts";
