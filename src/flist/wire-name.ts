/**
 * The one gate every file name from the wire passes (flist.c
 * recv_file_entry + util1.c clean_fname with CFN_REFUSE_DOT_DOT_DIRS):
 * runs of "/" collapse, interior "./" and a trailing "/" go away, and any
 * ".." component, NUL byte or (without --relative) leading "/" aborts the
 * transfer as upstream does ("unsafe pathname", exit 4).
 */
import { RERR, RsyncError } from "../errors.ts";

const SLASH = 0x2f;
const DOT = 0x2e;

function unsafe(name: Uint8Array): RsyncError {
  return new RsyncError(RERR.UNSUPPORTED, `ABORTING due to unsafe pathname from sender: ${Buffer.from(name).toString("latin1")}`);
}

/** Returns the cleaned name (the name itself when it is clean already, else a new array), or throws for an unsafe one. */
export function cleanWireName(name: Uint8Array, relativePaths: boolean): Uint8Array {
  if (name.length === 0) return name;
  if (alreadyClean(name, 0, name.length, relativePaths)) return name;
  return cleanFully(name, relativePaths);
}

/** Whether bytes[start, end) is a name cleanWireName would return unchanged (without a view of it). */
export function isCleanWireName(bytes: Uint8Array, start: number, end: number, relativePaths: boolean): boolean {
  return end > start && alreadyClean(bytes, start, end, relativePaths);
}

/** clean_fname's full pass (exported for the test comparing it with the shortcut). */
export function cleanFully(name: Uint8Array, relativePaths: boolean): Uint8Array {
  if (name.length === 0) return name;
  if (name.includes(0)) throw unsafe(name);
  const anchored = name[0] === SLASH;
  if (anchored && !relativePaths) throw unsafe(name);
  const out: number[] = anchored ? [SLASH] : [];
  let i = anchored ? 1 : 0;
  while (i < name.length) {
    if (name[i] === SLASH) {
      i++;
      continue;
    }
    // Start of a component.
    if (name[i] === DOT) {
      const next = name[i + 1];
      if (next === SLASH) {
        i += 2; // an interior "./"
        continue;
      }
      if (next === DOT && (i + 2 === name.length || name[i + 2] === SLASH)) throw unsafe(name);
    }
    while (i < name.length && name[i] !== SLASH) out.push(name[i++]!);
    if (i < name.length) out.push(name[i++]!);
  }
  if (out.length > (anchored ? 1 : 0) && out[out.length - 1] === SLASH) out.pop();
  if (out.length === 0) out.push(DOT);
  return Uint8Array.from(out);
}

/**
 * One pass over a name that needs no change (nearly every name): no NUL, no
 * empty component, no component starting with "." followed by "/" or "."
 * (an interior "./", a "..", or a "..x" left to the full check), no trailing
 * "/", and a leading "/" only with --relative.
 */
function alreadyClean(name: Uint8Array, start: number, end: number, relativePaths: boolean): boolean {
  let i = start;
  if (name[start] === SLASH) {
    if (!relativePaths) return false;
    i = start + 1;
  }
  let componentStart = true;
  for (; i < end; i++) {
    const c = name[i]!;
    if (c === 0) return false;
    if (c === SLASH) {
      if (componentStart) return false;
      componentStart = true;
      continue;
    }
    if (componentStart && c === DOT) {
      const next = i + 1 < end ? name[i + 1] : undefined;
      if (next === SLASH || next === DOT) return false;
    }
    componentStart = false;
  }
  return !componentStart;
}
