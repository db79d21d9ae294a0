import { describe, expect, test } from "bun:test";
import { moduleHides, sanitizePath } from "../../src/daemon/sanitize-path.ts";

/** util1.c sanitize_path as a chroot-less daemon applies it to --backup-dir and the basis dirs. */
describe("sanitizePath", () => {
  const cases: [string, number, string][] = [
    ["../bak", 0, "bak"],
    ["../prev", 1, "../prev"],
    ["../../prev", 1, "../prev"],
    ["../../prev", 2, "../../prev"],
    ["a/../b", 0, "b"],
    ["a/../../b", 3, "../b"],
    ["a/./b//c/", 0, "a/b/c"],
    ["./x", 0, "x"],
    ["/x/y", 5, "/m/x/y"],
    ["/../x", 0, "/m/x"],
    [".", 0, "."],
    ["..", 0, "."],
  ];
  for (const [path, depth, want] of cases) test(`${path} at depth ${depth}`, () => expect(sanitizePath(path, depth, "/m")).toBe(want));
});

describe("moduleHides", () => {
  const rules = { check: (name: Uint8Array, isDir: boolean) => (isDir && Buffer.from(name).toString() === "bak" ? -1 : 0) };
  test("a relative dir is checked as the module sees it", () => {
    expect(moduleHides(rules, "bak", "/m")).toBe(true);
    expect(moduleHides(rules, "./bak/", "/m")).toBe(true);
    expect(moduleHides(rules, "other", "/m")).toBe(false);
  });
  test("an absolute one loses the module's directory (or just its slash)", () => {
    expect(moduleHides(rules, "/m/bak", "/m")).toBe(true);
    expect(moduleHides(rules, "/bak", "/m")).toBe(true);
    expect(moduleHides(rules, "/bak", "/")).toBe(true);
  });
});
