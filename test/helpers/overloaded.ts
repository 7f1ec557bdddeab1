import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";

/** A Messages request through @anthropic-ai/sdk that the gateway turns away as Anthropic's clients expect: 529 overloaded_error. */
export async function assertOverloaded(baseURL: string, apiKey: string, model: string): Promise<void> {
  const anthropic = new Anthropic({ baseURL, apiKey, maxRetries: 0 });
  await assert.rejects(anthropic.messages.create({ model, max_tokens: 5, messages: [{ role: "user", content: "Hi" }] }), (e: unknown) => {
    assert.ok(e instanceof Anthropic.APIError);
    assert.equal(e.status, 529);
    assert.equal((e.error as { error: { type: string } }).error.type, "overloaded_error");
    return true;
  });
}
