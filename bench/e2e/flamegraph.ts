/**
 * A minimal flamegraph: folds `perf script` stacks (Brendan Gregg's
 * "collapsed" format, which any flamegraph tool reads) and draws them as a
 * static SVG with a hover title per frame. Debian has no flamegraph package
 * and the harness must not need the network, so it draws its own.
 */

/** Folds perf script's text (read as a stream: a kernel run prints hundreds of MB) into "a;b;c" -> samples. */
export async function foldPerfScript(stream: ReadableStream<Uint8Array>): Promise<Map<string, number>> {
  const folded = new Map<string, number>();
  let comm = "";
  let frames: string[] = [];
  const flush = () => {
    if (comm) {
      // perf prints the leaf first; flamegraphs read root first.
      const key = [comm, ...frames.reverse()].join(";");
      folded.set(key, (folded.get(key) ?? 0) + 1);
    }
    comm = "";
    frames = [];
  };
  const decoder = new TextDecoder();
  let rest = "";
  const onLine = (line: string) => {
    if (!line.trim()) return flush();
    if (!/^\s/.test(line)) {
      flush();
      // "comm  pid  time:  period event:" - the command name may hold spaces; it ends before the pid.
      comm = (/^(.*?)\s+\d+(\/\d+)?\s/.exec(line)?.[1] ?? line.split(/\s/)[0] ?? "?").trim();
      return;
    }
    // "\t    addr symbol+0xoff (dso)"
    const m = /^\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$/.exec(line);
    if (!m) return;
    let sym = m[1]!.replace(/\+0x[0-9a-f]+$/, "");
    if (sym === "[unknown]") sym = `[${m[2]!.split("/").pop()}]`;
    // Runs of nameless frames in one binary (Bun ships stripped) say nothing more than one of them.
    if (sym.startsWith("[") && frames[frames.length - 1] === sym) return;
    frames.push(sym.replaceAll(";", ":"));
  };
  for await (const chunk of stream) {
    const text = rest + decoder.decode(chunk, { stream: true });
    const lines = text.split("\n");
    rest = lines.pop() ?? "";
    for (const l of lines) onLine(l);
  }
  onLine(rest);
  flush();
  return folded;
}

export function foldedText(folded: Map<string, number>): string {
  return [...folded].map(([k, n]) => `${k} ${n}`).join("\n") + "\n";
}

interface Node {
  name: string;
  value: number;
  children: Map<string, Node>;
}

function tree(folded: Map<string, number>): Node {
  const root: Node = { name: "all", value: 0, children: new Map() };
  for (const [stack, n] of folded) {
    root.value += n;
    let node = root;
    for (const name of stack.split(";")) {
      let c = node.children.get(name);
      if (!c) node.children.set(name, (c = { name, value: 0, children: new Map() }));
      c.value += n;
      node = c;
    }
  }
  return root;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A warm colour per name (stable across graphs, so the same function looks the same in two profiles). */
function colour(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return `rgb(${205 + (h % 50)},${80 + ((h >>> 8) % 130)},${40 + ((h >>> 16) % 50)})`;
}

export function flamegraphSvg(folded: Map<string, number>, title: string): string {
  const W = 1200;
  const H = 16;
  const root = tree(folded);
  const rects: string[] = [];
  let depthMax = 0;
  const draw = (n: Node, x: number, depth: number) => {
    const w = (n.value / Math.max(1, root.value)) * (W - 20);
    if (w < 0.3) return;
    depthMax = Math.max(depthMax, depth);
    const pct = ((100 * n.value) / Math.max(1, root.value)).toFixed(2);
    const label = w > 30 ? esc(n.name.slice(0, Math.floor(w / 7))) : "";
    // y is fixed up below once the depth is known (root at the bottom).
    rects.push(
      `<g><title>${esc(n.name)} (${n.value} samples, ${pct}%)</title><rect x="${(10 + x).toFixed(1)}" y="@${depth}" width="${w.toFixed(1)}" height="${H - 1}" fill="${colour(n.name)}" rx="2"/>` +
        (label ? `<text x="${(13 + x).toFixed(1)}" y="@${depth}t">${label}</text>` : "") +
        "</g>",
    );
    let cx = x;
    for (const c of [...n.children.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      draw(c, cx, depth + 1);
      cx += (c.value / Math.max(1, root.value)) * (W - 20);
    }
  };
  draw(root, 0, 0);
  const height = (depthMax + 1) * H + 50;
  const y = (d: number) => height - 20 - (d + 1) * H;
  const body = rects.map((r) => r.replace(/@(\d+)t/g, (_, d) => String(y(Number(d)) + 11)).replace(/@(\d+)/g, (_, d) => String(y(Number(d)))));
  return [
    `<?xml version="1.0" standalone="no"?>`,
    `<svg version="1.1" width="${W}" height="${height}" xmlns="http://www.w3.org/2000/svg" font-family="monospace" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fafafa"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="15">${esc(title)}</text>`,
    ...body,
    `</svg>`,
  ].join("\n");
}
