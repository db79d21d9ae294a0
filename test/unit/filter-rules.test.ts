/**
 * The filter rule parser and matcher on their own: rule text to flags and
 * pattern as upstream's parse_rule_tok/add_rule make them, names matched as
 * rule_matches does, and the text each rule travels as (get_rule_prefix).
 */
import { describe, expect, test } from "bun:test";
import { Elide, FilterList, FR, rulePrefix, XFLG } from "../../src/flist/filter.ts";
import { writeFilterRules } from "../../src/flist/filter-options.ts";
import { ByteWriter } from "../../src/protocol/writer.ts";
import { ChunkReader } from "../../src/protocol/reader.ts";
import { readFilterRule } from "../../src/flist/filter-options.ts";

const ctx = { deleteExcluded: false };
const bytes = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));

function rules(text: string, template = 0, xflags = 0) {
  const list = new FilterList();
  list.parse(text, ctx, template, xflags);
  return list.rules.map((r) => ({ flags: r.flags, pattern: Buffer.from(r.pattern).toString("latin1") }));
}

describe("parsing rules", () => {
  test("prefix letters, long names and the separators between them and the pattern", () => {
    expect(rules("- *.o")).toEqual([{ flags: FR.WILD, pattern: "*.o" }]);
    expect(rules("+ dir/")).toEqual([{ flags: FR.INCLUDE | FR.DIRECTORY, pattern: "dir" }]);
    expect(rules("exclude foo")).toEqual([{ flags: 0, pattern: "foo" }]);
    expect(rules("include,s foo")).toEqual([{ flags: FR.INCLUDE | FR.SENDER_SIDE, pattern: "foo" }]);
    expect(rules("-_foo bar")).toEqual([{ flags: 0, pattern: "foo bar" }]);
    expect(rules("P /keep")).toEqual([{ flags: FR.RECEIVER_SIDE, pattern: "/keep" }]);
    expect(rules("R x")).toEqual([{ flags: FR.INCLUDE | FR.RECEIVER_SIDE, pattern: "x" }]);
    expect(rules("H x")).toEqual([{ flags: FR.SENDER_SIDE, pattern: "x" }]);
    expect(rules("S x")).toEqual([{ flags: FR.INCLUDE | FR.SENDER_SIDE, pattern: "x" }]);
    expect(rules("-/!p a/**/b")).toEqual([{ flags: FR.ABS_PATH | FR.NEGATE | FR.PERISHABLE | FR.WILD | FR.WILD2, pattern: "a/**/b" }]);
    expect(rules("- **/x/***")).toEqual([{ flags: FR.WILD | FR.WILD2 | FR.WILD2_PREFIX | FR.WILD3_SUFFIX, pattern: "**/x/***" }]);
  });

  test("--exclude/--include take only '- ' and '+ ' prefixes; a lone '!' clears", () => {
    expect(rules("+ foo", 0, XFLG.OLD_PREFIXES)).toEqual([{ flags: FR.INCLUDE, pattern: "foo" }]);
    expect(rules("P foo", FR.INCLUDE, XFLG.OLD_PREFIXES)).toEqual([{ flags: FR.INCLUDE, pattern: "P foo" }]);
    const list = new FilterList();
    list.parse("a", ctx, 0, XFLG.OLD_PREFIXES);
    list.parse("!", ctx, 0, XFLG.OLD_PREFIXES);
    expect(list.rules).toEqual([]);
  });

  test("--delete-excluded makes plain rules the sender's", () => {
    const list = new FilterList();
    list.parse("- a", { deleteExcluded: true });
    list.parse("P b", { deleteExcluded: true });
    expect(list.rules.map((r) => r.flags)).toEqual([FR.SENDER_SIDE, FR.RECEIVER_SIDE]);
  });

  test("errors carry upstream's wording and exit code 1", () => {
    const err = (text: string) => {
      try {
        rules(text);
      } catch (e) {
        return [(e as Error).message, (e as { code: number }).code];
      }
      return null;
    };
    expect(err("x foo")).toEqual(["Unknown filter rule: x foo", 1]);
    expect(err("-")).toEqual(["unexpected end of filter rule: -", 1]);
    expect(err("+q foo")).toEqual(["invalid modifier 'q' at position 1 in filter rule: +q foo", 1]);
    expect(err("! x")).toEqual(["'!' rule has trailing characters: ! x", 1]);
    expect(err("Ps x")).toEqual(["invalid modifier 's' at position 1 in filter rule: Ps x", 1]);
  });
});

describe("matching names", () => {
  const check = (rule: string, name: string, isDir = false) => {
    const list = new FilterList();
    list.parse(rule, ctx);
    return list.check(bytes(name), isDir);
  };

  test("a pattern without '/' matches the last component; a literal one too", () => {
    expect(check("- *.o", "a/b/c.o")).toBe(-1);
    expect(check("- c.o", "a/b/c.o")).toBe(-1);
    expect(check("- b", "a/b/c.o")).toBe(0);
    expect(check("+ *.c", "x.c")).toBe(1);
  });

  test("an inner '/' matches trailing components; a leading '/' anchors at the root", () => {
    expect(check("- b/c.o", "a/b/c.o")).toBe(-1);
    expect(check("- b/*.o", "a/b/c.o")).toBe(-1);
    expect(check("- /b/c.o", "a/b/c.o")).toBe(0);
    expect(check("- /a/b/c.o", "a/b/c.o")).toBe(-1);
    expect(check("- a/*", "a/b/c.o")).toBe(0);
  });

  test("'**' crosses '/', and dir/*** matches the directory itself", () => {
    expect(check("- a/**", "a/b/c.o")).toBe(-1);
    expect(check("- **/c.o", "c.o")).toBe(-1);
    expect(check("- /x/***", "x", true)).toBe(-1);
    expect(check("- /x/***", "x/y/z")).toBe(-1);
    expect(check("- /x/***", "x", false)).toBe(0);
  });

  test("directory-only rules skip files; negation inverts", () => {
    expect(check("- d/", "d", true)).toBe(-1);
    expect(check("- d/", "d", false)).toBe(0);
    expect(check("-! *.c", "x.o")).toBe(-1);
    expect(check("-! *.c", "x.c")).toBe(0);
  });

  test("the first matching rule decides", () => {
    const list = new FilterList();
    list.parse("+ keep.o", ctx);
    list.parse("- *.o", ctx);
    expect(list.check(bytes("keep.o"), false)).toBe(1);
    expect(list.check(bytes("x.o"), false)).toBe(-1);
  });
});

describe("rules on the wire", () => {
  const list = () => {
    const l = new FilterList();
    for (const r of ["- *.o", "+ dir/", "P keep", "H secret", "-p tmp", "-! *.c"]) l.parse(r, ctx);
    return l;
  };
  const sent = (amSender: boolean, protocol: number) => {
    const l = list();
    const w = new ByteWriter();
    writeFilterRules(w, l, { amSender, protocol, deleteExcluded: false });
    const r = new ChunkReader();
    r.push(w.take().slice());
    const out: string[] = [];
    for (let rule = readFilterRule(r); rule; rule = readFilterRule(r)) out.push(Buffer.from(rule).toString("latin1"));
    return { out, elides: l.rules.map((x) => x.elide) };
  };

  test("a receiving client sends what the sender needs, and keeps the receiver's rules for itself", () => {
    const { out, elides } = sent(false, 31);
    expect(out).toEqual(["- *.o", "+ dir/", "-s secret", "-p tmp", "-! *.c"]);
    expect(elides).toEqual([Elide.NONE, Elide.NONE, Elide.LOCAL, Elide.REMOTE, Elide.NONE, Elide.NONE]);
  });

  test("a sending client sends the receiver's rules (for its deletions) and keeps hide rules", () => {
    const { out } = sent(true, 31);
    expect(out).toEqual(["- *.o", "+ dir/", "-r keep", "-p tmp", "-! *.c"]);
  });

  test("old protocols: bare excludes, and modifiers they cannot carry are refused", () => {
    const l = new FilterList();
    l.parse("- *.o", ctx);
    expect(rulePrefix(l.rules[0]!, 28, false, false)).toBe("");
    l.parse("-! x", ctx);
    expect(rulePrefix(l.rules[1]!, 28, false, false)).toBeNull();
    l.parse("-p x", ctx);
    expect(rulePrefix(l.rules[2]!, 29, true, false)).toBeNull();
    expect(rulePrefix(l.rules[2]!, 29, false, false)).toBe("- ");
  });
});
