/**
 * Numbers as upstream prints them (lib/compat.c do_big_num, do_big_dnum):
 * level 0 plain digits, 1 with thousands separators, 2 in units of 1000
 * (K, M, G, T, P with two decimals), 3 or more in units of 1024. The
 * separator is ',' with a '.' decimal point (the C and C.UTF-8 locales).
 */
const UNITS = ["K", "M", "G", "T", "P"];

export function bigNum(num: number, human: number, fraction = ""): string {
  if (human > 1) {
    const mult = human === 2 ? 1000 : 1024;
    if (num >= mult || num <= -mult) {
      let d = Math.abs(num) / mult;
      let unit = 0;
      while (d >= mult && unit < UNITS.length - 1) {
        d /= mult;
        unit++;
      }
      return `${(num < 0 ? -d : d).toFixed(2)}${UNITS[unit]}`;
    }
  }
  const digits = Math.abs(Math.trunc(num)).toString();
  let grouped = digits;
  if (human > 0) grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${num < 0 ? "-" : ""}${grouped}${fraction}`;
}

/** A double with `decimals` digits; large values grouped or in units as bigNum does. */
export function bigDnum(num: number, human: number, decimals: number): string {
  const text = num.toFixed(decimals);
  if (!human || (num < 1000 && num > -1000)) return text;
  const dot = text.indexOf(".");
  return bigNum(Math.trunc(num), human, dot < 0 ? "" : text.slice(dot));
}
