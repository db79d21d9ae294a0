/**
 * Snapshots of directory trees for comparing what oc-rsync and upstream
 * rsync leave behind: type, content hash, permissions, mtime to the
 * nanosecond, owner, symlink target and hard-link groups, per path.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { join } from "node:path";
import { setTimes } from "../../src/fs/libc.ts";

export interface EntrySnapshot {
  type: "file" | "dir" | "symlink" | "fifo" | "socket" | "char" | "block";
  mode: string;
  mtimeNs: string;
  uid: number;
  gid: number;
  size?: number;
  sha1?: string;
  target?: string;
  /** Index of the hard-link group (files with nlink > 1), numbered by first appearance. */
  linkGroup?: number;
}

export interface SnapshotOptions {
  /** Leave out directory mtimes (e.g. when the comparison is not about them). */
  ignoreDirTimes?: boolean;
  /** Leave out the top directory's own attributes. */
  ignoreRoot?: boolean;
  /** Leave out all mtimes (a transfer without -t). */
  ignoreTimes?: boolean;
  /** Leave out symlink mtimes (-J). */
  ignoreLinkTimes?: boolean;
}

function typeOf(st: fs.BigIntStats): EntrySnapshot["type"] {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "dir";
  if (st.isSymbolicLink()) return "symlink";
  if (st.isFIFO()) return "fifo";
  if (st.isSocket()) return "socket";
  if (st.isCharacterDevice()) return "char";
  return "block";
}

export function snapshot(root: string, opts: SnapshotOptions = {}): Record<string, EntrySnapshot> {
  const out: Record<string, EntrySnapshot> = {};
  const groups = new Map<string, number>();
  const walk = (rel: Buffer) => {
    const abs = rel.length ? Buffer.concat([Buffer.from(root + "/"), rel]) : Buffer.from(root);
    const st = fs.lstatSync(abs, { bigint: true });
    const type = typeOf(st);
    const key = rel.length ? rel.toString("latin1") : ".";
    const e: EntrySnapshot = {
      type,
      mode: (Number(st.mode) & 0o7777).toString(8),
      mtimeNs:
        opts.ignoreTimes || (type === "dir" && opts.ignoreDirTimes) || (type === "symlink" && opts.ignoreLinkTimes) ? "-" : st.mtimeNs.toString(),
      uid: Number(st.uid),
      gid: Number(st.gid),
    };
    if (type === "file") {
      e.size = Number(st.size);
      e.sha1 = createHash("sha1").update(fs.readFileSync(abs)).digest("hex");
      if (st.nlink > 1n) {
        const id = `${st.dev}:${st.ino}`;
        if (!groups.has(id)) groups.set(id, groups.size);
        e.linkGroup = groups.get(id);
      }
    } else if (type === "symlink") {
      e.target = fs.readlinkSync(abs, { encoding: "buffer" }).toString("latin1");
      delete (e as Partial<EntrySnapshot>).mode; // link permissions are not preserved by anyone
    }
    if (!(key === "." && opts.ignoreRoot)) out[key] = e;
    if (type === "dir") {
      const names = fs.readdirSync(abs, { encoding: "buffer" }).sort(Buffer.compare);
      for (const name of names) walk(rel.length ? Buffer.concat([rel, Buffer.from("/"), name]) : name);
    }
  };
  walk(Buffer.alloc(0));
  return out;
}

/**
 * Gives every entry of a tree (symlinks included, children before parents)
 * a fixed past mtime with nanoseconds, so that a pull is never within the
 * same second as the source's creation (upstream compares whole seconds).
 */
export function ageTree(root: string, baseSeconds = 1_500_000_000): void {
  let n = 0;
  const walk = (path: Buffer) => {
    const st = fs.lstatSync(path);
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(path, { encoding: "buffer" })) walk(Buffer.concat([path, Buffer.from("/"), name]));
    }
    n++;
    setTimes(path, baseSeconds + n * 1000, (n * 7919) % 1_000_000_000, st.isSymbolicLink());
  };
  walk(Buffer.from(root));
}
