// workerd's own log lines that a passing workers run is expected to print, left out of the test
// log (Node side: the workers projects' global setup installs it in vitest's main process).
//
// @cloudflare/vitest-plugin writes workerd's structured log lines straight to this process's
// stdout and stderr, past vitest's per-test console capture, so `silent: "passed-only"` cannot
// drop them and they stand between the report's lines whether the tests pass or fail. The ones
// left out here are what the tests provoke on purpose:
//  - network disconnects (kj's "disconnected:" exceptions, and the "Network connection lost" a
//    request gets from one): tests point the Worker at a Redis that refuses connections
//    (127.0.0.1:1), an identity provider or Stripe that is not there, close sockets early;
//  - "NOSENTRY SQLite alarm handler canceled with requestScheduledAlarm": an alarm re-set while
//    its handler was about to run (the actors' test clock moves alarms).
// Each comes with `stack:` lines of workerd addresses, dropped with it. Everything else workerd
// prints stays, and so does everything a test fails with (its error is the test's, not these
// lines). TEST_WORKERD_LOGS=all keeps every line.

const BENIGN: RegExp[] = [
  /^(?:uncaught exception; )?exception = [\w/.+-]+:\d+: disconnected: /,
  /^uncaught exception; source = Uncaught \(in promise\); stack = Error: Network connection lost\./,
  /^NOSENTRY SQLite alarm handler canceled with requestScheduledAlarm\./,
];
/** A stack of workerd binary addresses, printed on the line after the message it belongs to. */
const WORKERD_STACK = /^stack: (?:\S*workerd@[0-9a-f]+\s*)+$/;

type Write = typeof process.stdout.write;
let restore: (() => void) | null = null;

/** Drops workerd's known benign lines from this process's stdout and stderr until the returned function runs. */
export function quietWorkerdNoise(): () => void {
  if (process.env.TEST_WORKERD_LOGS === "all") return () => undefined;
  if (restore) return () => undefined; // the first project to install it restores it
  let afterDropped = false;
  const keep = (line: string): boolean => {
    if (BENIGN.some((re) => re.test(line)) || (afterDropped && WORKERD_STACK.test(line))) {
      afterDropped = true;
      return false;
    }
    afterDropped = false;
    return true;
  };
  const wrap = (stream: NodeJS.WriteStream): (() => void) => {
    const write = stream.write.bind(stream) as Write;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (typeof chunk !== "string" || !/workerd|disconnected|NOSENTRY|Network connection lost/.test(chunk)) {
        afterDropped = false;
        return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
      }
      const kept = chunk
        .split("\n")
        .filter((line, i, all) => (line === "" && i === all.length - 1) || keep(line))
        .join("\n");
      if (kept === "" || kept === "\n") {
        const done = rest.find((r) => typeof r === "function") as (() => void) | undefined;
        done?.();
        return true;
      }
      return (write as (...args: unknown[]) => boolean)(kept, ...rest);
    }) as Write;
    return () => {
      stream.write = write;
    };
  };
  const undo = [wrap(process.stdout), wrap(process.stderr)];
  restore = () => undo.forEach((u) => u());
  return () => {
    restore?.();
    restore = null;
  };
}
