/**
 * The trees the benchmark copies: the Linux kernel source from Debian's
 * linux-source-6.1 package (two versions, for the delta scenario), or the
 * seeded synthetic tree in quick mode. Everything is cached in the work
 * directory, keyed by a stamp file next to (never inside) each tree, so a
 * second run starts at once and a changed version or seed rebuilds.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { mustRun, run, sh } from "./proc.ts";
import { deriveOldTree, makeSyntheticTree, QUICK_SHAPE } from "./synthetic.ts";

export interface Dataset {
  /** The tree every scenario copies. */
  src: string;
  /** An older version of it: the starting point of pull-delta. */
  old: string;
  /** One line for the report: what the data is. */
  describe: string;
}

type Log = (s: string) => void;
const PKG = "linux-source-6.1";
/** Bump when the synthetic generator changes, so cached quick trees are rebuilt. */
const QUICK_VERSION = 1;

const stampOf = (tree: string) => `${tree}.stamp`;
const readStamp = (tree: string) => (existsSync(stampOf(tree)) && existsSync(tree) ? readFileSync(stampOf(tree), "utf8") : null);

/** Builds a tree with `make` unless its stamp says it is already there; partial results never look complete. */
async function cached(tree: string, stamp: string, log: Log, what: string, make: (dir: string) => Promise<void>): Promise<void> {
  if (readStamp(tree) === stamp) return;
  log(`preparing ${what} in ${tree}`);
  const partial = `${tree}.partial`;
  rmSync(partial, { recursive: true, force: true });
  rmSync(tree, { recursive: true, force: true });
  rmSync(stampOf(tree), { force: true });
  await make(partial);
  renameSync(partial, tree);
  writeFileSync(stampOf(tree), stamp);
}

export async function prepareQuick(workDir: string, seed: number, log: Log): Promise<Dataset> {
  const src = join(workDir, "quick-src");
  const old = join(workDir, "quick-old");
  const stamp = JSON.stringify({ v: QUICK_VERSION, seed });
  await cached(src, stamp, log, "the synthetic tree", async (dir) => makeSyntheticTree(dir, seed));
  await cached(old, stamp, log, "its older version", async (dir) => {
    await mustRun(["cp", "-a", src, dir]);
    deriveOldTree(dir, seed, { edit: 0.05, remove: 0.01 });
  });
  const { large, smallFiles, symlinks, dirs } = QUICK_SHAPE;
  return { src, old, describe: `synthetic tree (seed ${seed}): ${smallFiles} small files in ${dirs} nested dirs, ${large.length} large files, ${symlinks} symlinks` };
}

/** The versions apt knows, newest first (dpkg's ordering, not a string sort). */
async function kernelVersions(log: Log): Promise<string[]> {
  let out = (await run(["apt-cache", "madison", PKG])).stdout;
  if (!out.trim()) {
    log("apt-cache knows no linux-source-6.1; running apt-get update");
    await run(["apt-get", "update", "-q"]);
    out = (await run(["apt-cache", "madison", PKG])).stdout;
  }
  const versions = [...new Set(out.split("\n").map((l) => l.split("|")[1]?.trim()).filter((v): v is string => !!v))];
  // Insertion sort with dpkg as the comparator: a handful of versions.
  const sorted: string[] = [];
  for (const v of versions) {
    let i = 0;
    while (i < sorted.length && (await run(["dpkg", "--compare-versions", sorted[i]!, "gt", v])).code === 0) i++;
    sorted.splice(i, 0, v);
  }
  if (sorted.length === 0) throw new Error(`apt-cache madison ${PKG} lists no versions: is this a Debian bookworm machine with apt sources?`);
  return sorted;
}

/** The .deb of one version, downloaded once into WORK/debs. */
async function kernelDeb(workDir: string, version: string, log: Log): Promise<string> {
  const debs = join(workDir, "debs");
  mkdirSync(debs, { recursive: true });
  const fileVersion = version.replace(/:/g, "%3a");
  const find = () => readdirSync(debs).find((f) => f.startsWith(`${PKG}_${fileVersion}_`) && f.endsWith(".deb"));
  if (!find()) {
    log(`downloading ${PKG}=${version} (about 140 MB)`);
    await mustRun(["apt-get", "download", "-q", `${PKG}=${version}`], { cwd: debs });
  }
  const f = find();
  if (!f) throw new Error(`apt-get download ${PKG}=${version} left no .deb in ${debs}`);
  return join(debs, f);
}

/** usr/src/linux-source-6.1.tar.xz from the .deb, unpacked without its top directory. */
async function extractKernel(deb: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await sh(`dpkg-deb --fsys-tarfile '${deb}' | tar -xO --wildcards '*usr/src/${PKG}.tar.xz' | tar -xJ -C '${dir}' --strip-components=1`);
}

/**
 * The version pull-delta starts from, given the versions newest first: the
 * newest of an earlier upstream release. Debian revisions of one release
 * (6.1.192-2, 6.1.192-3) ship the same tarball, mtimes and all, so from one
 * to the next only the patched files differ (302 of 78.6K): a near no-op.
 * From the release before, every file's mtime differs and every file goes
 * through the delta algorithm, as docs/benchmark.md describes the scenario.
 * With a single release listed, its previous revision (or none).
 */
export function deltaBaseVersion(versions: readonly string[]): string | undefined {
  const [newest, ...rest] = versions;
  if (newest === undefined) return undefined;
  const release = (v: string) => v.replace(/^\d+:/, "").replace(/-[^-]*$/, "");
  return rest.find((v) => release(v) !== release(newest)) ?? rest[0];
}

export async function prepareKernel(workDir: string, seed: number, log: Log): Promise<Dataset> {
  const versions = await kernelVersions(log);
  const newest = versions[0];
  const older = deltaBaseVersion(versions);
  const src = join(workDir, "kernel-src");
  const old = join(workDir, "kernel-old");
  const newDeb = await kernelDeb(workDir, newest!, log);
  await cached(src, newest!, log, `${PKG} ${newest} (about 1.5 GB unpacked)`, (dir) => extractKernel(newDeb, dir));
  if (older) {
    const oldDeb = await kernelDeb(workDir, older, log);
    await cached(old, `${older} pruned to ${newest}`, log, `${PKG} ${older}`, async (dir) => {
      await extractKernel(oldDeb, dir);
      // Files the newer release dropped would stay in dest (the scenario runs without --delete) and fail the check.
      const out = await mustRun(["rsync", "-r", "--delete", "--existing", "--ignore-existing", "-i", `${src}/`, `${dir}/`]);
      const n = out.split("\n").filter((l) => l.startsWith("*deleting")).length;
      if (n) log(`removed ${n} entries of ${older} that ${newest} no longer has`);
    });
    return { src, old, describe: `Linux source ${newest} (Debian ${PKG}); delta from ${older}` };
  }
  log(`only one version of ${PKG} available: deriving the older tree by seeded edits`);
  await cached(old, `${newest}+derived-seed${seed}`, log, `a derived older tree`, async (dir) => {
    await mustRun(["cp", "-a", src, dir]);
    deriveOldTree(dir, seed, { edit: 0.02, remove: 0.002 });
  });
  return { src, old, describe: `Linux source ${newest} (Debian ${PKG}); delta from a seeded edit of it (seed ${seed})` };
}

/** Reads every file once so timed runs start with the source in the page cache for both clients alike. */
export async function warmPageCache(dir: string): Promise<void> {
  await sh(`find '${dir}' -type f -print0 | xargs -0 -r cat > /dev/null`);
}

/**
 * Drops the page cache of each executable (written back first), so that the
 * two clients and daemons map their code from pages the kernel read back, as
 * after a reboot. A binary just written (by the build, or by a package
 * install) sits in the page cache in the large folios of its writes, and a
 * fault maps a whole folio: `dist/oc-rsync` right after `npm run build` had
 * 28.3 MB of its text resident instead of 23.9 MB, +4 MB on every run's peak
 * RSS (bench/README.md). Run before the daemons start: pages a running
 * process maps are not dropped.
 */
export async function rereadExecutables(files: string[]): Promise<void> {
  for (const file of files) {
    // Written back first (dirty pages are not dropped), then GNU dd's nocache with count=0: the whole file's pages.
    await run(["sync", file]);
    await run(["dd", `if=${file}`, "iflag=nocache", "count=0", "status=none"]);
  }
}
