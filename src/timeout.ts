/**
 * The one deadline helper: waits for `work` at most `ms` milliseconds. The
 * work itself is not cancelled (a promise cannot be); callers that drop it
 * should `.catch()` it if its late failure must not be reported.
 */
export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}
