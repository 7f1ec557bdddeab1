import assert from "node:assert/strict";
import path from "node:path";
import {
  modelFolderName,
  repoIdFromFolder,
  resolveHfCacheDir,
} from "../../../../src/services/cache/cacheDir";

describe("resolveHfCacheDir", () => {
  const home = "/home/ada";

  it("defaults to ~/.cache/huggingface/hub", () => {
    assert.equal(resolveHfCacheDir({ env: {}, home }), path.join(home, ".cache", "huggingface", "hub"));
  });

  it("takes each source in huggingface_hub's order of precedence", () => {
    const env = {
      HF_HUB_CACHE: "/a/hub-cache",
      HUGGINGFACE_HUB_CACHE: "/b/legacy",
      HF_HOME: "/c/hf-home",
      XDG_CACHE_HOME: "/d/xdg",
    };
    assert.equal(resolveHfCacheDir({ flag: "/flag/dir", env, home }), "/flag/dir");
    assert.equal(resolveHfCacheDir({ env, home }), "/a/hub-cache");
    assert.equal(resolveHfCacheDir({ env: { ...env, HF_HUB_CACHE: undefined }, home }), "/b/legacy");
    assert.equal(
      resolveHfCacheDir({ env: { HF_HOME: "/c/hf-home", XDG_CACHE_HOME: "/d/xdg" }, home }),
      "/c/hf-home/hub",
    );
    assert.equal(resolveHfCacheDir({ env: { XDG_CACHE_HOME: "/d/xdg" }, home }), "/d/xdg/huggingface/hub");
  });

  it("ignores empty values and expands a leading ~", () => {
    assert.equal(
      resolveHfCacheDir({ flag: "", env: { HF_HUB_CACHE: "  ", HF_HOME: "~/hf" }, home }),
      "/home/ada/hf/hub",
    );
    assert.equal(resolveHfCacheDir({ flag: "~/models", env: {}, home }), "/home/ada/models");
    assert.equal(resolveHfCacheDir({ env: { HF_HUB_CACHE: "~" }, home }), "/home/ada");
  });
});

describe("repo folder names", () => {
  it("maps repo ids to folders and back like huggingface_hub", () => {
    assert.equal(
      modelFolderName("mlx-community/Llama-3.2-1B-Instruct-4bit"),
      "models--mlx-community--Llama-3.2-1B-Instruct-4bit",
    );
    assert.equal(
      repoIdFromFolder("models--mlx-community--Llama-3.2-1B-Instruct-4bit"),
      "mlx-community/Llama-3.2-1B-Instruct-4bit",
    );
    assert.equal(repoIdFromFolder("models--gpt2"), "gpt2");
    assert.equal(repoIdFromFolder("datasets--x--y"), undefined);
    assert.equal(repoIdFromFolder("spaces--x--y"), undefined);
    assert.equal(repoIdFromFolder(".locks"), undefined);
    assert.equal(repoIdFromFolder("models--"), undefined);
  });
});
