/** One line of the benchmark table: our figure next to a peer's, both measured in the same run. */
export type BenchRow = {
  name: string;
  ours: number;
  peer: number;
  unit: string;
  note: string;
};
