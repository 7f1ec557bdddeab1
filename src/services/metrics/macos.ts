// Pure parsers for the macOS tools the metrics sampler runs. No sudo is needed for any of them.
// Each returns undefined when the text is not what the tool prints, so a caller can fall back
// (or report the figure as unavailable) instead of showing a wrong number.
//
// Sample outputs they are tested on, and where each was published: test/fixtures/macos/.

/** Powers of 1024 by unit letter, as footprint(1) ("142 MB", "9664 KB", "0 B") and vmmap(1) ("244.5M") print sizes. */
const UNIT_POWER: Readonly<Record<string, number>> = { "": 0, B: 0, K: 1, M: 2, G: 3, T: 4, P: 5 };

/** "142 MB", "9664 KB", "0 B", "244.5M", "2192K" → bytes (1024-based, as Apple's tools count). */
export function parseAppleSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(i?B)?\s*$/i.exec(text);
  if (!match) return undefined;
  const power = UNIT_POWER[(match[2] ?? "").toUpperCase()];
  if (power === undefined) return undefined;
  return Math.round(Number(match[1]) * 1024 ** power);
}

/**
 * `footprint -p PID`: the process's `phys_footprint` in bytes — the "Auxiliary data" line
 * (`phys_footprint: 142 MB`, not `phys_footprint_peak`), else the header's "Footprint: N" figure
 * (which is the same ledger, printed when the tool stops before the auxiliary data).
 * With `pid`, only that process's section of a multi-process report counts; a report with a
 * single section (what `footprint -p PID` prints) is taken as that process's.
 */
export function parseFootprint(text: string, pid?: number): number | undefined {
  const sections = footprintSections(text);
  const section =
    (pid === undefined ? undefined : sections.find((s) => s.pid === pid)) ??
    (sections.length === 1 ? sections[0] : undefined);
  if (!section) return undefined;
  const aux = /^\s*phys_footprint:\s*(.+?)\s*$/m.exec(section.body);
  const fromAux = aux?.[1] === undefined ? undefined : parseAppleSize(aux[1]);
  if (fromAux !== undefined) return fromAux;
  return section.headerFootprint === undefined ? undefined : parseAppleSize(section.headerFootprint);
}

interface FootprintSection {
  pid: number | undefined;
  headerFootprint: string | undefined;
  body: string;
}

/** Splits a footprint report at its per-process headers ("name [pid]: 64-bit    Footprint: 142 MB (16384 bytes per page)"). */
function footprintSections(text: string): FootprintSection[] {
  const header = /^(.*?)\[(\d+)\]:\s*\d+-bit\s+Footprint:\s*([\d.]+\s*[KMGTP]?B)\b.*$/gm;
  const starts: { index: number; pid: number; footprint: string }[] = [];
  for (const match of text.matchAll(header)) {
    starts.push({ index: match.index, pid: Number(match[2]), footprint: match[3] ?? "" });
  }
  if (starts.length === 0) {
    // No header (an excerpt of the auxiliary data only): one anonymous section.
    return /phys_footprint:/.test(text) ? [{ pid: undefined, headerFootprint: undefined, body: text }] : [];
  }
  return starts.map((start, i) => ({
    pid: start.pid,
    headerFootprint: start.footprint,
    body: text.slice(start.index, starts[i + 1]?.index ?? text.length),
  }));
}

/** `vmmap --summary PID`: the "Physical footprint:" line in bytes (not "Physical footprint (peak):"). */
export function parseVmmapSummary(text: string): number | undefined {
  const match = /^Physical footprint:\s+(\S+)\s*$/m.exec(text);
  return match?.[1] === undefined ? undefined : parseAppleSize(match[1]);
}

/** The page counts of `vm_stat` this sampler uses, with the page size from its header. */
export interface VmStat {
  pageSize: number;
  free: number;
  active: number;
  inactive: number;
  speculative: number;
  wired: number;
  purgeable: number;
  /** "Pages occupied by compressor": physical pages holding compressed data (not "stored in", the uncompressed size). */
  compressor: number;
}

/**
 * `vm_stat` → page counts. The page size comes from the header ("page size of 16384 bytes");
 * it is 16 KB on Apple silicon and 4 KB on Intel, so it is never assumed.
 */
export function parseVmStat(text: string): VmStat | undefined {
  const pageSize = /page size of (\d+) bytes/.exec(text)?.[1];
  if (pageSize === undefined) return undefined;
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^"?([A-Za-z][^":\n]*?)"?:\s+(\d+)\.?\s*$/gm)) {
    if (match[1] !== undefined && match[2] !== undefined) counts.set(match[1], Number(match[2]));
  }
  const read = (label: string): number | undefined => counts.get(label);
  const active = read("Pages active");
  const wired = read("Pages wired down");
  if (active === undefined || wired === undefined) return undefined;
  return {
    pageSize: Number(pageSize),
    free: read("Pages free") ?? 0,
    active,
    inactive: read("Pages inactive") ?? 0,
    speculative: read("Pages speculative") ?? 0,
    wired,
    purgeable: read("Pages purgeable") ?? 0,
    compressor: read("Pages occupied by compressor") ?? 0,
  };
}

/**
 * Memory in use, in bytes: (active + wired + occupied by compressor) × page size.
 *
 * - active: pages in use by processes (and recently used file cache).
 * - wired: pages the kernel cannot page out — including Metal buffers of a loaded model.
 * - occupied by compressor: the physical pages the compressor holds (not the larger
 *   "stored in compressor" figure, which is what those pages would take uncompressed).
 *
 * Inactive, speculative and free pages are left out: macOS keeps them as reclaimable cache.
 * Activity Monitor's "Memory Used" counts app memory (anonymous − purgeable) instead of active,
 * so the two differ by the active file cache; this is the formula the issue asks for and the
 * one most monitors (btop's fix, wezterm status bars) use.
 */
export function vmStatUsedBytes(vm: VmStat): number {
  return (vm.active + vm.wired + vm.compressor) * vm.pageSize;
}

/** `sysctl -n hw.memsize` (or `sysctl hw.memsize`) → physical memory in bytes. */
export function parseSysctlMemsize(text: string): number | undefined {
  const match = /^(?:hw\.memsize:\s*)?(\d+)\s*$/m.exec(text.trim());
  if (match?.[1] === undefined) return undefined;
  const bytes = Number(match[1]);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/**
 * `memory_pressure` (no arguments: prints statistics and exits) → "System-wide memory free
 * percentage", the kernel's own free-memory level that Activity Monitor's pressure graph follows
 * (100 − it is the pressure). `vm_stat` cannot give this: macOS keeps "Pages free" near zero by
 * design, so free pages read as constant high pressure.
 */
export function parseMemoryPressure(text: string): { freePercent: number; totalBytes?: number } | undefined {
  const free = /System-wide memory free percentage:\s*(\d+(?:\.\d+)?)%/.exec(text)?.[1];
  if (free === undefined) return undefined;
  const freePercent = Number(free);
  if (!(freePercent >= 0 && freePercent <= 100)) return undefined;
  const total = /The system has (\d+) \(/.exec(text)?.[1];
  return total === undefined ? { freePercent } : { freePercent, totalBytes: Number(total) };
}

/**
 * `ioreg -r -d 1 -w 0 -c IOAccelerator` → the GPU's "Device Utilization %" (0–100), read only
 * inside each accelerator's `"PerformanceStatistics" = {...}` (the key names also appear in other
 * dictionaries). A Mac with two GPUs lists two accelerators: the busiest one counts. Values
 * outside 0–100 (seen from some Intel drivers) are ignored rather than shown.
 */
export function parseIoregGpuUtilization(text: string): number | undefined {
  let busiest: number | undefined;
  for (const stats of text.matchAll(/"PerformanceStatistics"\s*=\s*\{([^{}]*)\}/g)) {
    const value = /"Device Utilization %"\s*=\s*(\d+(?:\.\d+)?)/.exec(stats[1] ?? "")?.[1];
    if (value === undefined) continue;
    const percent = Number(value);
    if (percent >= 0 && percent <= 100) busiest = Math.max(busiest ?? 0, percent);
  }
  return busiest;
}
