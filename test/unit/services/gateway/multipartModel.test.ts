// Finding the model field of a multipart upload, however its bytes are split.
import assert from "node:assert/strict";
import { MultipartModelFinder, multipartBoundary, type MultipartModelField } from "../../../../src/services/gateway/multipartModel";

const boundary = "----formdata-undici-0123456789";

function form(parts: { name: string; value: string | Buffer; filename?: string }[]): Buffer {
  const pieces: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? "" : `; filename="${part.filename}"`}`;
    const type = part.filename === undefined ? "" : "\r\nContent-Type: audio/wav";
    pieces.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}${type}\r\n\r\n`), Buffer.from(part.value), Buffer.from("\r\n"));
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(pieces);
}

function find(pieces: readonly Buffer[]): MultipartModelField | "absent" {
  const finder = new MultipartModelFinder(boundary);
  for (const piece of pieces) {
    const found = finder.push(piece);
    if (found !== undefined) return found;
  }
  return finder.end();
}

describe("multipart model field", () => {
  // A file that contains the boundary's dashes and "model" without being a delimiter.
  const audio = Buffer.concat([Buffer.from("RIFF----formdata-undici name=\"model\"\r\n\r\n"), Buffer.alloc(300, 7)]);

  it("finds the model after the file (the order the openai client sends), at every split", () => {
    const body = form([{ name: "file", value: audio, filename: "a.wav" }, { name: "model", value: "whisper-large" }, { name: "language", value: "en" }]);
    for (let cut = 1; cut < body.length; cut++) {
      const found = find([body.subarray(0, cut), body.subarray(cut)]);
      assert.notEqual(found, "absent", `cut at ${cut}`);
      if (found === "absent") return;
      assert.equal(found.model, "whisper-large", `cut at ${cut}`);
      assert.equal(body.subarray(found.valueStart, found.valueEnd).toString(), "whisper-large");
    }
    const bytewise = find([...body].map((b) => Buffer.from([b])));
    assert.ok(bytewise !== "absent" && bytewise.model === "whisper-large");
  });

  it("answers as soon as the model value is complete, before the file has arrived", () => {
    const body = form([{ name: "model", value: "Whisper" }, { name: "file", value: audio, filename: "a.wav" }]);
    const finder = new MultipartModelFinder(boundary);
    const modelEnd = body.indexOf(`\r\n--${boundary}`, 10) + boundary.length + 4;
    const found = finder.push(body.subarray(0, modelEnd));
    assert.ok(found !== undefined && found !== "absent");
    assert.equal(found.model, "Whisper");
    assert.equal(found.valueStart, body.indexOf("Whisper"));
  });

  it("says absent when the form has no model field (filename=\"model\" and model_x do not count)", () => {
    const body = form([{ name: "file", value: audio, filename: "model" }, { name: "model_x", value: "no" }]);
    assert.equal(find([body]), "absent");
    assert.equal(find([body.subarray(0, 100)]), "absent", "a body that ends early has no model either");
  });

  it("reads the boundary from the content type, quoted or not", () => {
    assert.equal(multipartBoundary(`multipart/form-data; boundary=${boundary}`), boundary);
    assert.equal(multipartBoundary('multipart/form-data; charset=utf-8; boundary="a b"'), "a b");
    assert.equal(multipartBoundary("application/json"), undefined);
    assert.equal(multipartBoundary("multipart/form-data"), undefined);
    assert.equal(multipartBoundary(undefined), undefined);
  });
});
