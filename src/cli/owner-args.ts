/**
 * --chmod, --usermap, --groupmap and --chown as options.c reads them: each
 * --chmod adds its rules after the earlier ones; a map may be given once,
 * and --chown is "*:USER" / "*:GROUP" maps (so it conflicts with them).
 * A map implies keeping that id (-o / -g).
 */
import { usageError } from "../errors.ts";
import { currentUmask, parseChmod } from "../roles/chmod.ts";
import type { Options } from "./options.ts";

export function addChmod(o: Options, value: string): void {
  const rules = parseChmod(value, currentUmask());
  if (!rules) throw usageError(`rsync: Invalid argument passed to --chmod (${value})`);
  o.chmod.push(...rules);
}

export function setUsermap(o: Options, value: string): void {
  if (o.usermap !== undefined) {
    throw usageError(o.usermapViaChown ? "rsync: --usermap conflicts with prior --chown." : "rsync: You can only specify --usermap once.");
  }
  o.usermap = value;
  o.usermapViaChown = false;
  o.owner = true;
}

export function setGroupmap(o: Options, value: string): void {
  if (o.groupmap !== undefined) {
    throw usageError(o.groupmapViaChown ? "rsync: --groupmap conflicts with prior --chown." : "rsync: You can only specify --groupmap once.");
  }
  o.groupmap = value;
  o.groupmapViaChown = false;
  o.group = true;
}

export function setChown(o: Options, value: string): void {
  const colon = value.indexOf(":");
  const user = colon < 0 ? value : value.slice(0, colon);
  const group = colon < 0 ? "" : value.slice(colon + 1);
  if (user) {
    if (o.usermap !== undefined) {
      throw usageError(o.usermapViaChown ? "rsync: You can only specify a user-affecting --chown once." : "rsync: --chown conflicts with prior --usermap.");
    }
    o.usermap = `*:${user}`;
    o.usermapViaChown = true;
    o.owner = true;
  }
  if (group) {
    if (o.groupmap !== undefined) {
      throw usageError(o.groupmapViaChown ? "rsync: You can only specify a group-affecting --chown once." : "rsync: --chown conflicts with prior --groupmap.");
    }
    o.groupmap = `*:${group}`;
    o.groupmapViaChown = true;
    o.group = true;
  }
}
