// The macOS parsers on real outputs published by others (no Mac is at hand). Each fixture's file
// header repeats its source; the sources are:
//   vm_stat.txt                  github.com/biwbass/mlx-memory-profiler tests/fixtures/vm_stat.txt
//                                @ d90758308fa91e14895110ae595dbcd82d4b93dc
//   footprint-webkit.txt         github.com/WebKit/Documentation docs/Infrastructure/MemoryInspection.md
//                                @ 37041e58efe12f34cd2cae600ea8371ef29a88a7
//   footprint-alttab-header.txt  https://github.com/lwouis/alt-tab-macos/issues/5677
//   footprint-auxiliary.txt      https://github.com/tya5/reyn/issues/5949
//   vmmap-summary-flutter.txt    https://github.com/flutter/flutter/issues/55934
//   vmmap-summary-alttab.txt     https://github.com/lwouis/alt-tab-macos/issues/5677
//   memory_pressure.txt          github.com/ogprotege/wtfssd tests/fixtures/memory_pressure.txt
//                                @ 360933ed9daa432c7f853f2f011f65bd79045dba
//   ioreg-accelerator-m4pro.txt  github.com/Sushil-Thapa/sonar tests/fixtures/ioreg.txt
//                                @ cb7252b2b1e70790ebe6d2a38127d9dff8182e7a (excerpt)
//   sysctl-hw-memsize.txt        no published capture found: written from sysctl(8)'s documented
//                                `-n` format, value taken from memory_pressure.txt's machine
import assert from "node:assert/strict";
import {
  parseAppleSize,
  parseFootprint,
  parseIoregGpuUtilization,
  parseMemoryPressure,
  parseSysctlMemsize,
  parseVmmapSummary,
  parseVmStat,
  vmStatUsedBytes,
} from "../../../../src/services/metrics/macos";
import { macosFixture } from "./fixtures";

const KB = 1024;
const MB = 1024 * KB;

describe("macOS tool parsers", () => {
  describe("sizes as Apple's tools print them", () => {
    it("reads footprint's and vmmap's units, 1024-based", () => {
      assert.equal(parseAppleSize("0 B"), 0);
      assert.equal(parseAppleSize("9664 KB"), 9664 * KB);
      assert.equal(parseAppleSize("142 MB"), 142 * MB);
      assert.equal(parseAppleSize("244.5M"), Math.round(244.5 * MB));
      assert.equal(parseAppleSize("2192K"), 2192 * KB);
      assert.equal(parseAppleSize("1.2G"), Math.round(1.2 * 1024 * MB));
      assert.equal(parseAppleSize("lots"), undefined);
    });
  });

  describe("vm_stat (biwbass/mlx-memory-profiler tests/fixtures/vm_stat.txt)", () => {
    const vm = parseVmStat(macosFixture("vm_stat.txt"));

    it("takes the page size from the header (16 KB on Apple silicon) and the page counts", () => {
      assert.ok(vm);
      assert.equal(vm.pageSize, 16384);
      assert.equal(vm.free, 26450);
      assert.equal(vm.active, 850962);
      assert.equal(vm.inactive, 825913);
      assert.equal(vm.speculative, 24144);
      assert.equal(vm.wired, 268246);
      assert.equal(vm.purgeable, 138454);
      // "occupied by" (physical pages), not "stored in compressor" (1057198, the uncompressed size).
      assert.equal(vm.compressor, 44642);
    });

    it("counts active + wired + compressor-occupied pages as used, not inactive or free", () => {
      assert.ok(vm);
      assert.equal(vmStatUsedBytes(vm), (850962 + 268246 + 44642) * 16384);
    });

    it("uses a 4 KB header when that is what the Mac prints", () => {
      const intel = macosFixture("vm_stat.txt").replace(
        "page size of 16384 bytes",
        "page size of 4096 bytes",
      );
      assert.equal(parseVmStat(intel)?.pageSize, 4096);
    });

    it("refuses text that is not vm_stat", () => {
      assert.equal(parseVmStat("vm_stat: command not found"), undefined);
      assert.equal(parseVmStat("Mach Virtual Memory Statistics: (page size of 16384 bytes)\n"), undefined);
    });
  });

  describe("footprint", () => {
    it("reads phys_footprint from the auxiliary data, not phys_footprint_peak printed before it (WebKit/Documentation)", () => {
      const text = macosFixture("footprint-webkit.txt");
      assert.equal(parseFootprint(text), 142 * MB);
      assert.equal(parseFootprint(text, 27416), 142 * MB);
    });

    it("falls back to the header's Footprint figure when the report has no auxiliary data (alt-tab-macos#5677)", () => {
      assert.equal(parseFootprint(macosFixture("footprint-alttab-header.txt"), 32443), 361 * MB);
    });

    it("reads the auxiliary data alone, as quoted in tya5/reyn#5949", () => {
      assert.equal(parseFootprint(macosFixture("footprint-auxiliary.txt")), 1601 * KB);
    });

    it("picks the asked-for process in a report that lists several", () => {
      const both = `${macosFixture("footprint-webkit.txt")}\n${macosFixture("footprint-alttab-header.txt")}`;
      assert.equal(parseFootprint(both, 27416), 142 * MB);
      assert.equal(parseFootprint(both, 32443), 361 * MB);
      assert.equal(parseFootprint(both, 1), undefined);
    });

    it("refuses an error message", () => {
      assert.equal(parseFootprint("footprint: could not find process 4242"), undefined);
    });
  });

  describe("vmmap --summary", () => {
    it("reads Physical footprint, not the peak line under it (flutter/flutter#55934)", () => {
      assert.equal(parseVmmapSummary(macosFixture("vmmap-summary-flutter.txt")), Math.round(244.5 * MB));
    });

    it("reads the figure when a region table follows (lwouis/alt-tab-macos#5677)", () => {
      assert.equal(parseVmmapSummary(macosFixture("vmmap-summary-alttab.txt")), Math.round(369.0 * MB));
    });

    it("refuses output without the line", () => {
      assert.equal(parseVmmapSummary("vmmap cannot examine process 1 because ...\n"), undefined);
    });
  });

  describe("memory_pressure (ogprotege/wtfssd tests/fixtures/memory_pressure.txt)", () => {
    it("reads the system-wide free percentage and the machine's memory", () => {
      assert.deepEqual(parseMemoryPressure(macosFixture("memory_pressure.txt")), {
        freePercent: 70,
        totalBytes: 68719476736,
      });
    });

    it("reads the one-line form (as in github.com/wenteng5201314/aistat tests/fixtures/memory_pressure.txt)", () => {
      assert.deepEqual(parseMemoryPressure("System-wide memory free percentage: 25%\n"), { freePercent: 25 });
    });

    it("refuses text without the percentage", () => {
      assert.equal(parseMemoryPressure("Pages free: 274368\n"), undefined);
    });
  });

  describe("sysctl -n hw.memsize (documented format; no published capture found)", () => {
    it("reads the byte count", () => {
      assert.equal(parseSysctlMemsize(macosFixture("sysctl-hw-memsize.txt")), 68719476736);
      assert.equal(parseSysctlMemsize("hw.memsize: 17179869184\n"), 17179869184);
    });

    it("refuses an unknown oid", () => {
      assert.equal(parseSysctlMemsize("sysctl: unknown oid 'hw.memsize'\n"), undefined);
    });
  });

  describe("ioreg -r -d 1 -w 0 -c IOAccelerator (Sushil-Thapa/sonar tests/fixtures/ioreg.txt)", () => {
    const ioreg = macosFixture("ioreg-accelerator-m4pro.txt");

    it("reads Device Utilization % from PerformanceStatistics (an M4 Pro at 100 %)", () => {
      assert.equal(parseIoregGpuUtilization(ioreg), 100);
      assert.equal(
        parseIoregGpuUtilization(ioreg.replace('"Device Utilization %"=100', '"Device Utilization %"=37')),
        37,
      );
    });

    it("takes the busiest of two accelerators", () => {
      const idle = ioreg.replace('"Device Utilization %"=100', '"Device Utilization %"=3');
      const busy = ioreg.replace('"Device Utilization %"=100', '"Device Utilization %"=64');
      assert.equal(parseIoregGpuUtilization(`${idle}${busy}`), 64);
    });

    it("ignores the key outside PerformanceStatistics and values outside 0-100", () => {
      const noStats = ioreg.replace(/^.*"PerformanceStatistics".*$/m, "");
      assert.equal(parseIoregGpuUtilization(noStats), undefined);
      assert.equal(parseIoregGpuUtilization('"AGCInfo" = {"Device Utilization %"=50}'), undefined);
      assert.equal(
        parseIoregGpuUtilization(ioreg.replace('"Device Utilization %"=100', '"Device Utilization %"=250')),
        undefined,
      );
    });

    it("finds nothing on a Mac without an accelerator entry", () => {
      assert.equal(parseIoregGpuUtilization(""), undefined);
    });
  });
});
