/**
 * util1.c same_time: whether two mtimes count as the same, in whole seconds
 * unless --modify-window asks otherwise (-1: to the nanosecond, as -c
 * compares; N > 0: within N seconds). A leaf module: the attribute rules, the
 * fuzzy basis and the file writer's TypeScript twin all compare by it.
 */
export function sameTime(modifyWindow: number, sec1: number, nsec1: number, sec2: number, nsec2: number): boolean {
  if (modifyWindow === 0) return sec1 === sec2;
  if (modifyWindow < 0) return sec1 === sec2 && nsec1 === nsec2;
  return Math.abs(sec2 - sec1) <= modifyWindow;
}
