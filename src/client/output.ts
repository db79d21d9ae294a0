/** What the client prints during and after a transfer (log.c, main.c output_summary). */
import type { Options } from "../cli/options.ts";
import { isDir, isLink, type FileTable } from "../flist/table.ts";
import type { Session } from "../protocol/setup.ts";
import { ITEM, SIGNIFICANT_ITEM_FLAGS } from "../roles/attrs.ts";
import type { ItemEvent, Reporter } from "../roles/reporter.ts";
import type { TransferStats } from "../roles/stats.ts";

const write = (text: string | Uint8Array) => process.stdout.write(text);

export class ClientOutput implements Reporter {
  constructor(
    private readonly o: Options,
    private readonly t: FileTable,
    private readonly stats: TransferStats,
    private readonly s: Session,
  ) {}

  private get itemizing(): boolean {
    return this.o.itemizeChanges > 0;
  }

  /** receiver.c maybe_log_item + log_item for the default formats. */
  item(e: ItemEvent): void {
    const o = this.o;
    if (o.quiet) return;
    const significant = e.iflags & SIGNIFICANT_ITEM_FLAGS;
    const mode = this.t.mode[e.row]!;
    if (!(e.iflags & ITEM.TRANSFER)) {
      const seeItem = this.itemizing && (significant !== 0 || o.itemizeChanges > 1 || (e.xname?.length ?? 0) > 0);
      const localChange = (e.iflags & ITEM.LOCAL_CHANGE) !== 0 && significant !== 0;
      if (!(seeItem || localChange || (isDir(mode) && significant))) return;
    }
    if (!this.itemizing && o.verbose === 0) return;
    let name = Buffer.from(e.name).toString("latin1");
    if (isDir(mode) && !name.endsWith("/")) name = name === "" ? "./" : `${name}/`;
    const link =
      isLink(mode) && o.links
        ? ` -> ${Buffer.from(this.t.extras.get(e.row)?.link ?? []).toString("latin1")}`
        : e.xname?.length
          ? ` => ${Buffer.from(e.xname).toString("latin1")}`
          : "";
    // A receiver that cannot set symlink times (as upstream assumes before protocol 29) shows 'T'.
    const symlinkTimes = this.s.protocol >= 29;
    write(Buffer.from(this.itemizing ? `${itemizeText(e.iflags, mode, o.times, symlinkTimes)} ${name}${link}\n` : `${name}${link}\n`, "latin1"));
  }

  deleted(name: Uint8Array, dir: boolean): void {
    if (this.o.quiet || (!this.itemizing && this.o.verbose === 0)) return;
    const text = `${Buffer.from(name).toString("latin1")}${dir ? "/" : ""}`;
    write(Buffer.from(this.itemizing ? `*deleting   ${text}\n` : `deleting ${text}\n`, "latin1"));
  }

  info(text: string): void {
    if (!this.o.quiet) write(Buffer.from(`${text}\n`, "latin1"));
  }

  error(text: string): void {
    process.stderr.write(Buffer.from(`${text}\n`, "latin1"));
  }

  listEntry(row: number): void {
    const t = this.t;
    const mode = t.mode[row]!;
    const date = new Date(t.mtime[row]! * 1000);
    const pad = (n: number) => String(n).padStart(2, "0");
    const when = `${date.getFullYear()}/${pad(date.getMonth() + 1)}/${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
    const size = t.size[row]!.toLocaleString("en-US").padStart(14);
    const target = t.extras.get(row)?.link;
    const link = isLink(mode) && target ? ` -> ${Buffer.from(target).toString("latin1")}` : "";
    write(Buffer.from(`${modeString(mode)} ${size} ${when} ${Buffer.from(t.path(row)).toString("latin1")}${link}\n`, "latin1"));
  }

  summary(startTime: number): void {
    const o = this.o;
    if (o.quiet || (o.verbose === 0 && !o.stats)) return;
    void this.s;
    const st = this.stats;
    const secs = Math.max((Date.now() - startTime) / 1000, 0.001);
    const rate = (st.totalRead + st.totalWritten) / secs;
    const speedup = st.totalSize / Math.max(st.totalRead + st.totalWritten, 1);
    write(`\nsent ${st.totalWritten.toLocaleString("en-US")} bytes  received ${st.totalRead.toLocaleString("en-US")} bytes  ${rate.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })} bytes/sec\n`);
    write(`total size is ${st.totalSize.toLocaleString("en-US")}  speedup is ${speedup.toFixed(2)}${o.dryRun ? " (DRY RUN)" : ""}\n`);
  }
}

function modeString(mode: number): string {
  const type = isDir(mode) ? "d" : isLink(mode) ? "l" : (mode & 0o170000) === 0o100000 ? "-" : "?";
  let s = type;
  for (const [bit, ch] of [[0o400, "r"], [0o200, "w"], [0o100, "x"], [0o40, "r"], [0o20, "w"], [0o10, "x"], [0o4, "r"], [0o2, "w"], [0o1, "x"]] as const) {
    s += mode & bit ? ch : "-";
  }
  return s;
}

function itemizeText(iflags: number, mode: number, times: boolean, symlinkTimes: boolean): string {
  const c = new Array<string>(11).fill(".");
  c[0] = iflags & ITEM.LOCAL_CHANGE ? (iflags & ITEM.XNAME_FOLLOWS ? "h" : "c") : !(iflags & ITEM.TRANSFER) ? "." : ">";
  const type = mode & 0o170000;
  c[1] = isDir(mode) ? "d" : isLink(mode) ? "L" : type === 0o100000 ? "f" : type === 0o020000 || type === 0o060000 ? "D" : "S";
  if (iflags & (ITEM.IS_NEW | ITEM.MISSING_DATA)) {
    for (let i = 2; i < 11; i++) c[i] = iflags & ITEM.IS_NEW ? "+" : "?";
  } else {
    if (iflags & ITEM.REPORT_CHANGE) c[2] = "c";
    if (iflags & ITEM.REPORT_SIZE && !isLink(mode)) c[3] = "s";
    if (iflags & ITEM.REPORT_TIME) {
      const lowercase = times && (!isLink(mode) || (symlinkTimes && !(iflags & ITEM.REPORT_TIMEFAIL)));
      c[4] = lowercase ? "t" : "T";
    }
    if (iflags & ITEM.REPORT_PERMS) c[5] = "p";
    if (iflags & ITEM.REPORT_OWNER) c[6] = "o";
    if (iflags & ITEM.REPORT_GROUP) c[7] = "g";
  }
  return c.join("");
}
