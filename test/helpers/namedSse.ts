// Reads an SSE text of named events (`event: x` then `data: {...}`), as Anthropic's Messages and
// OpenAI's Responses streams write them, into the events' names and data.
export function namedEvents(sse: string): { event: string; data: Record<string, unknown> }[] {
  return sse
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const [eventLine, dataLine] = block.split("\n");
      return { event: (eventLine ?? "").replace(/^event: /, ""), data: JSON.parse((dataLine ?? "").replace(/^data: /, "")) as Record<string, unknown> };
    });
}
