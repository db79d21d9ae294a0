/**
 * --info/--debug levels from -v, the user's words and a daemon's
 * "max verbosity", as options.c set_output_verbosity, parse_output_words and
 * limit_output_verbosity derive them (the tables upstream's --debug=help
 * prints under "Options added at each level of verbosity").
 */
import { expect, test } from "bun:test";
import { parseArgv } from "../../src/cli/option-spec.ts";
import { modeTable, optionTable } from "../../src/cli/option-table.ts";
import { defaultOptions } from "../../src/cli/options.ts";
import { outputConfig } from "../../src/cli/output-config.ts";

function levels(argv: string, limit?: number) {
  const o = defaultOptions();
  parseArgv(argv.split(" ").filter(Boolean), [...optionTable, ...modeTable], o);
  o.outputLimit = limit;
  return outputConfig(o);
}

test("-v turns on no debug output; -vv the level-2 words; -vvv their second levels", () => {
  expect(levels("-v").debug.get("FILTER")).toBe(0);
  const vv = levels("-vv").debug;
  expect(["BIND", "CMD", "CONNECT", "DEL", "DELTASUM", "DUP", "FILTER", "FLIST", "ICONV"].map((w) => vv.get(w as never))).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1]);
  expect(vv.get("GENR")).toBe(0);
  const vvv = levels("-vvv").debug;
  expect([vvv.get("FILTER"), vvv.get("DELTASUM"), vvv.get("GENR"), vvv.get("SEND"), vvv.get("PROTO")]).toEqual([2, 2, 1, 1, 0]);
  const v5 = levels("-vvvvv").debug;
  expect([v5.get("DELTASUM"), v5.get("FLIST"), v5.get("HASH"), v5.get("IO")]).toEqual([4, 4, 1, 0]);
});

test("--debug words set levels over -v's, in order, ALL and NONE included", () => {
  expect(levels("-v --debug=filter3").debug.get("FILTER")).toBe(3);
  expect(levels("-vvv --debug=FILTER0").debug.get("FILTER")).toBe(0);
  const all = levels("--debug=ALL2,SEND0").debug;
  expect([all.get("IO"), all.get("SEND")]).toEqual([2, 0]);
  expect(levels("-vv --debug=ALL9").debug.get("HASH")).toBe(4);
  expect(levels("-vv --debug=none").debug.get("FLIST")).toBe(0);
});

test("a daemon's max verbosity limits debug and info words to what that many -v turn on", () => {
  const limited = levels("-vvvv --debug=FLIST4 --info=NAME3", 2);
  expect([limited.debug.get("FLIST"), limited.debug.get("GENR"), limited.info.get("NAME")]).toEqual([1, 0, 2]);
  expect(levels("-vvvv", 3).debug.get("PROTO")).toBe(0);
  expect(levels("-vvvv", 3).debug.get("SEND")).toBe(1);
});

test("an unknown --debug word fails as upstream's does", () => {
  expect(() => levels("--debug=FILTRE")).toThrow('Unknown --debug item: "FILTRE"');
});
