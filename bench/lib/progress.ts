// A progress line while a load runs: rewritten in place on a terminal, every 5 s otherwise.
export function progress(label: string): {
  onProgress: (done: number, total: number, seconds: number) => void;
  end(): void;
} {
  const tty = process.stdout.isTTY;
  let lastPrint = 0;
  return {
    onProgress(done, total, seconds) {
      const line = `  ${label}: ${done}/${total} (${Math.round((100 * done) / total)}%), ${Math.round(done / seconds)} req/s, ${Math.round(seconds)} s`;
      if (tty) process.stdout.write(`\r${line}\x1b[K`);
      else if (seconds - lastPrint >= 5) {
        lastPrint = seconds;
        console.log(line);
      }
    },
    end() {
      if (tty) process.stdout.write("\r\x1b[K");
    },
  };
}
