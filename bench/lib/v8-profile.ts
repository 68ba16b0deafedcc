// V8 CPU profiles of the Worker's isolate through workerd's inspector: a minimal DevTools
// Protocol client, and a report of self time per source module of the bundle and per function.
import path from "node:path";
import WebSocket from "ws";

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** A minimal Chrome DevTools Protocol client. */
export async function cdp(url: string) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  let id = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) waiting.get(msg.id)?.(msg.result);
  });
  return {
    send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
      const n = ++id;
      ws.send(JSON.stringify({ id: n, method, params }));
      return new Promise((resolve) => waiting.set(n, resolve as (r: unknown) => void));
    },
    close: () => ws.close(),
  };
}

/** Maps a line of the bundle to the source module esbuild noted above it (`// src/x.ts`). */
function moduleIndex(bundle: string): (line: number) => string {
  const marks: { line: number; module: string }[] = [];
  bundle.split("\n").forEach((text, line) => {
    const m = /^\/\/ ((?:src|node_modules)\/\S+)$/.exec(text);
    if (m) marks.push({ line, module: m[1]!.replace(/^node_modules\/((?:@[^/]+\/)?[^/]+).*$/, "npm:$1") });
  });
  return (line) => {
    let lo = 0;
    let hi = marks.length - 1;
    let found = "(bundle prelude)";
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (marks[mid]!.line <= line) {
        found = marks[mid]!.module;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
}

export function report(profile: Profile, bundle: string): string {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((nodeId, i) => selfUs.set(nodeId, (selfUs.get(nodeId) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const moduleOf = moduleIndex(bundle);
  const byModule = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const [nodeId, us] of selfUs) {
    const frame = byNode.get(nodeId)!.callFrame;
    const where = frame.url.endsWith("index.js")
      ? moduleOf(frame.lineNumber)
      : frame.url
        ? path.basename(frame.url)
        : `(${frame.functionName || "native"})`;
    byModule.set(where, (byModule.get(where) ?? 0) + us);
    const fn = `${frame.functionName || "(anonymous)"} ${where}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    total += us;
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(
        ([k, us]) =>
          `  ${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`,
      )
      .join("\n");
  return `CPU profile of the Worker isolate: ${(total / 1000).toFixed(0)} ms sampled over ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s\n\nSelf time by source module:\n${top(byModule, 25)}\n\nBusiest functions:\n${top(byFunction, 30)}\n`;
}

/** The DevTools WebSocket URL of the edge-cart isolate on an inspector port. */
export async function inspectorTarget(inspectorPort: number): Promise<string> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as {
    title: string;
    webSocketDebuggerUrl: string;
  }[];
  return (targets.find((t) => t.title.includes("edge-cart")) ?? targets[0]!).webSocketDebuggerUrl;
}
