/**
 * Finds and dlopens the native core.
 *
 * The libraries are imported as files, so `bun build --compile` embeds them
 * in the executable and Bun extracts them to $TMPDIR when they are opened.
 * That fails when $TMPDIR is missing or mounted noexec, so the second attempt
 * copies the embedded bytes into a per-user cache directory (content-hashed
 * name, written via temp file + rename) and opens that.
 *
 * Two builds exist on x86-64 (see build.zig): the baseline one is opened
 * first; it tells whether the CPU can run the x86-64-v3 (AVX2) build, which is
 * then opened instead.
 */
import { dlopen, type Library } from "bun:ffi";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { symbols, type Symbols } from "./symbols.ts";

export type NativeLibrary = Library<Symbols>;

export type LoadResult =
  | { ok: true; lib: NativeLibrary; variant: "base" | "v3" }
  | { ok: false; reason: string };

const ABI_VERSION = 12;

/** Paths of the library files, embedded in a compiled binary; null when the build has none. */
async function libraryFiles(): Promise<{ base: string | null; v3: string | null }> {
  const find = async (load: () => Promise<{ default: string }>) => {
    try {
      return (await load()).default;
    } catch {
      return null;
    }
  };
  const ext = process.platform === "darwin" ? "dylib" : "so";
  if (ext === "dylib") {
    return {
      base: await find(() => import("../../zig-out/lib/liboc-base.dylib", { with: { type: "file" } })),
      v3: null,
    };
  }
  return {
    base: await find(() => import("../../zig-out/lib/liboc-base.so", { with: { type: "file" } })),
    v3: await find(() => import("../../zig-out/lib/liboc-v3.so", { with: { type: "file" } })),
  };
}

function cacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg) return join(xdg, "oc-rsync");
  const home = homedir();
  return home ? join(home, ".cache", "oc-rsync") : join(tmpdir(), `oc-rsync-${process.getuid?.() ?? 0}`);
}

/** Copies an (embedded) library into the cache dir and returns the copy's path. */
function copyToCache(path: string): string {
  const bytes = readFileSync(path);
  const digest = new Bun.CryptoHasher("sha256").update(bytes).digest("hex").slice(0, 16);
  const dir = cacheDir();
  const target = join(dir, `liboc-${digest}.so`);
  if (!existsSync(target)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temp = `${target}.${process.pid}.tmp`;
    writeFileSync(temp, bytes, { mode: 0o700 });
    renameSync(temp, target);
  }
  return target;
}

function open(path: string): NativeLibrary {
  let lib: NativeLibrary;
  try {
    lib = dlopen(path, symbols);
  } catch (first) {
    // Bun's extraction to $TMPDIR failed (missing or noexec): use our own copy.
    try {
      lib = dlopen(copyToCache(path), symbols);
    } catch {
      throw first;
    }
  }
  const abi = lib.symbols.oc_abi_version();
  if (abi !== ABI_VERSION) {
    lib.close();
    throw new Error(`ABI version ${abi}, expected ${ABI_VERSION} (stale build: run npm run build)`);
  }
  return lib;
}

function describe(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n")[0] ?? text;
}

export async function loadNative(): Promise<LoadResult> {
  if (process.env.OC_RSYNC_NATIVE === "0") return { ok: false, reason: "disabled by OC_RSYNC_NATIVE=0" };
  const files = await libraryFiles();
  if (!files.base) return { ok: false, reason: "this build has no native library (zig build was not run)" };
  let base: NativeLibrary;
  try {
    base = open(files.base);
  } catch (e) {
    return { ok: false, reason: describe(e) };
  }
  if (files.v3 && base.symbols.oc_cpu_supports_v3() === 1) {
    try {
      const v3 = open(files.v3);
      base.close();
      return { ok: true, lib: v3, variant: "v3" };
    } catch {
      // The baseline library works everywhere this one would: keep it.
    }
  }
  return { ok: true, lib: base, variant: "base" };
}
