/** "10 minutes", "1 hour", "3 seconds", for messages. */
export function describeDuration(ms: number): string {
  const units: [number, string][] = [
    [3600_000, "hour"],
    [60_000, "minute"],
    [1000, "second"],
  ];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) {
      const n = ms / size;
      return `${n} ${name}${n === 1 ? "" : "s"}`;
    }
  }
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} seconds` : `${ms} ms`;
}
