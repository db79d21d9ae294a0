/**
 * --chmod and a daemon module's "incoming chmod"/"outgoing chmod" (upstream
 * chmod.c parse_chmod/tweak_mode). A spec is comma-separated clauses:
 * an optional D (directories only) or F (files only), then either an octal
 * number (the whole mode) or [ugoa]* followed by one of + - = and either
 * permission letters (rwxXst) or one of u/g/o (copy that class's bits).
 * A clause without u/g/o/a works like chmod(1): the umask limits the bits it
 * adds, so each rule keeps the umask in effect when it was parsed.
 */

export interface ChmodRule {
  /** Kept bits, then added bits (rwx for each class in `where`, s/t bits). */
  and: number;
  or: number;
  /** u/g/o as the copy source (0100/0010/0001), and the classes it lands on. */
  copySrc: number;
  copyDst: number;
  copyMask: number;
  op: Op;
  flags: number;
}

const CHMOD_BITS = 0o7777;
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

export const enum Op {
  Add = 1,
  Sub,
  Eq,
  Set,
}

const X_KEEP = 1;
const DIRS_ONLY = 2;
const FILES_ONLY = 4;

/** setuid/setgid/sticky for the classes of `where`, as "=" with a copy source clears them. */
function specialBitsOf(where: number): number {
  return (where & 0o100 ? 0o4000 : 0) | (where & 0o010 ? 0o2000 : 0) | (where & 0o001 ? 0o1000 : 0);
}

interface Clause {
  where: number;
  what: number;
  op: number;
  topBits: number;
  topOct: number;
  flags: number;
  copyBits: number;
}

function ruleOf(c: Clause, umask: number): ChmodRule {
  const specified = c.where !== 0;
  const where = specified ? c.where : 0o111;
  const bits = specified ? where * c.what : (where * c.what) & ~umask;
  const copyMask = specified ? CHMOD_BITS : ~umask;
  const rule = { copySrc: c.copyBits, copyDst: where, copyMask, op: c.op as Op, flags: c.flags };
  switch (c.op) {
    case Op.Add:
      return { ...rule, and: CHMOD_BITS, or: bits + c.topOct };
    case Op.Sub:
      return { ...rule, and: CHMOD_BITS - bits - c.topOct, or: 0 };
    case Op.Eq: {
      const cleared = where * 7 + (c.topOct ? c.topBits : 0) + (c.copyBits ? specialBitsOf(where) : 0);
      return { ...rule, and: CHMOD_BITS - cleared, or: bits + c.topOct };
    }
    default:
      return { and: 0, or: bits, copySrc: 0, copyDst: 0, copyMask: CHMOD_BITS, op: Op.Set, flags: c.flags };
  }
}

const isOctalDigit = (ch: string) => ch >= "0" && ch <= "7";

/** The rules of one --chmod value, or null when it is not a valid spec. */
export function parseChmod(spec: string, umask: number): ChmodRule[] | null {
  const rules: ChmodRule[] = [];
  const fresh = (): Clause => ({ where: 0, what: 0, op: 0, topBits: 0, topOct: 0, flags: 0, copyBits: 0 });
  let c = fresh();
  let state: "who" | "perms" | "octal" = "who";
  for (let i = 0; ; i++) {
    const ch = spec[i] ?? "";
    if (ch === "" || ch === ",") {
      if (!c.op) return null;
      rules.push(ruleOf(c, umask));
      if (ch === "") return rules;
      c = fresh();
      state = "who";
      continue;
    }
    let ok = true;
    if (state === "who") {
      if (ch === "D") {
        ok = !(c.flags & FILES_ONLY);
        c.flags |= DIRS_ONLY;
      } else if (ch === "F") {
        ok = !(c.flags & DIRS_ONLY);
        c.flags |= FILES_ONLY;
      } else if (ch === "u") {
        c.where |= 0o100;
        c.topBits |= 0o4000;
      } else if (ch === "g") {
        c.where |= 0o010;
        c.topBits |= 0o2000;
      } else if (ch === "o") {
        c.where |= 0o001;
      } else if (ch === "a") {
        c.where |= 0o111;
        c.topBits |= 0o6000;
      } else if (ch === "+" || ch === "-" || ch === "=") {
        c.op = ch === "+" ? Op.Add : ch === "-" ? Op.Sub : Op.Eq;
        state = "perms";
      } else if (isOctalDigit(ch) && !c.where) {
        c.op = Op.Set;
        c.where = 1;
        c.what = Number(ch);
        state = "octal";
      } else ok = false;
    } else if (state === "perms") {
      if ("rwxXst".includes(ch)) {
        ok = !c.copyBits;
        if (ch === "r") c.what |= 4;
        else if (ch === "w") c.what |= 2;
        else if (ch === "x" || ch === "X") {
          if (ch === "X") c.flags |= X_KEEP;
          c.what |= 1;
        } else if (ch === "s") c.topOct = c.topBits ? c.topOct | c.topBits : 0o4000;
        else c.topOct |= 0o1000;
      } else if (ch === "u" || ch === "g" || ch === "o") {
        ok = !(c.what || c.topOct || c.copyBits);
        c.copyBits = ch === "u" ? 0o100 : ch === "g" ? 0o010 : 0o001;
      } else ok = false;
    } else {
      ok = isOctalDigit(ch);
      c.what = c.what * 8 + Number(ch);
      if (c.what > CHMOD_BITS) ok = false;
    }
    if (!ok) return null;
  }
}

/** The permission bits of `mode` that class(es) `src` has, placed on the classes of `dst`. */
function copiedBits(mode: number, rule: ChmodRule): number {
  let bits = 0;
  if (rule.copySrc & 0o100) bits |= (mode >> 6) & 7;
  if (rule.copySrc & 0o010) bits |= (mode >> 3) & 7;
  if (rule.copySrc & 0o001) bits |= mode & 7;
  return (rule.copyDst * bits) & rule.copyMask;
}

/** `mode` after the rules, in order (X looks at the mode before any of them). */
export function tweakMode(mode: number, rules: readonly ChmodRule[]): number {
  const wasExecutable = (mode & 0o111) !== 0;
  const type = mode & ~CHMOD_BITS;
  const dir = (type & S_IFMT) === S_IFDIR;
  for (const rule of rules) {
    if (rule.flags & DIRS_ONLY && !dir) continue;
    if (rule.flags & FILES_ONLY && dir) continue;
    const copied = copiedBits(mode, rule);
    mode &= rule.and;
    mode |= rule.flags & X_KEEP && !wasExecutable && !dir ? rule.or & ~0o111 : rule.or;
    if (rule.op === Op.Sub) mode &= CHMOD_BITS - copied;
    else mode |= copied;
  }
  return (mode | type) >>> 0;
}

/** The process's umask, read without changing it (main.c orig_umask). */
export function currentUmask(): number {
  const mask = process.umask(0);
  process.umask(mask);
  return mask;
}
