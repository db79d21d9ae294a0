/** The end-of-run summary of -v and --stats (main.c output_summary). */
import type { TransferStats } from "../roles/stats.ts";
import { bigDnum, bigNum } from "./numbers.ts";

export interface SummaryOptions {
  /** --info=stats level: 1 the two closing lines, 2 the --stats block too. */
  level: number;
  protocol: number;
  /** Upstream's human_readable: 0 --no-h, 1 default, 2 -h, 3 -hh. */
  human: number;
  dryRun: boolean;
  /** --only-write-batch: upstream says so instead of "(DRY RUN)". */
  batchOnly?: boolean;
  /** Whole seconds, as time(NULL) gives them: the rate divides by (end - start + 0.5). */
  startSec: number;
  endSec: number;
}

type Counts = [total: number, dirs: number, links: number, devices: number, specials: number];

/** "Number of files: 6 (reg: 3, dir: 2, link: 1)"; the regular count is what is left. */
function countsLine(prefix: string, [total, ...rest]: Counts, comma: (n: number) => string): string {
  if (!total) return `${prefix}: ${comma(0)}\n`;
  const values = [total - rest.reduce((a, b) => a + b, 0), ...rest];
  const labels = ["reg", "dir", "link", "dev", "special"];
  const parts = values.flatMap((v, i) => (v ? [`${labels[i]}: ${comma(v)}`] : []));
  return `${prefix}: ${comma(total)} (${parts.join(", ")})\n`;
}

/** The summary's lines, each ending in a newline (each is one message, as upstream prints them). */
export function summaryLines(st: TransferStats, o: SummaryOptions): string[] {
  const comma = (n: number) => bigNum(n, o.human ? 1 : 0);
  const human = (n: number) => bigNum(n, o.human);
  let text = "";
  if (o.level >= 2) {
    text += "\n";
    text += countsLine("Number of files", [st.numFiles, st.numDirs, st.numSymlinks, st.numDevices, st.numSpecials], comma);
    if (o.protocol >= 29) {
      text += countsLine("Number of created files", [st.createdFiles, st.createdDirs, st.createdSymlinks, st.createdDevices, st.createdSpecials], comma);
    }
    if (o.protocol >= 31) {
      text += countsLine("Number of deleted files", [st.deletedFiles, st.deletedDirs, st.deletedSymlinks, st.deletedDevices, st.deletedSpecials], comma);
    }
    text += `Number of regular files transferred: ${comma(st.transferredFiles)}\n`;
    text += `Total file size: ${human(st.totalSize)} bytes\n`;
    text += `Total transferred file size: ${human(st.totalTransferredSize)} bytes\n`;
    text += `Literal data: ${human(st.literalData)} bytes\n`;
    text += `Matched data: ${human(st.matchedData)} bytes\n`;
    text += `File list size: ${human(st.flistSize)}\n`;
    if (st.flistBuildTime) {
      text += `File list generation time: ${bigDnum(st.flistBuildTime / 1000, o.human ? 1 : 0, 3)} seconds\n`;
      text += `File list transfer time: ${bigDnum(st.flistXferTime / 1000, o.human ? 1 : 0, 3)} seconds\n`;
    }
    text += `Total bytes sent: ${human(st.totalWritten)}\n`;
    text += `Total bytes received: ${human(st.totalRead)}\n`;
  }
  if (o.level >= 1) {
    const moved = st.totalWritten + st.totalRead;
    const rate = moved / (0.5 + (o.endSec - o.startSec));
    text += "\n";
    text += `sent ${human(st.totalWritten)} bytes  received ${human(st.totalRead)} bytes  ${bigDnum(rate, o.human, 2)} bytes/sec\n`;
    const speedup = moved ? st.totalSize / moved : Number.NaN;
    text += `total size is ${human(st.totalSize)}  speedup is ${speedupText(speedup, o.human)}${o.batchOnly ? " (BATCH ONLY)" : o.dryRun ? " (DRY RUN)" : ""}\n`;
  }
  return text.split(/(?<=\n)/);
}

/** printf("%.2f") of a ratio that may be inf or nan (0/0 prints "-nan" on glibc... upstream divides by at least the protocol bytes). */
function speedupText(speedup: number, human: number): string {
  if (Number.isNaN(speedup)) return "-nan";
  if (!Number.isFinite(speedup)) return "inf";
  return bigDnum(speedup, human ? 1 : 0, 2);
}
