// esbuild bundles imported CSS into dist/webview/main.css.
declare module "*.css";

/** Provided by VS Code inside a webview (the test page shims it). */
declare function acquireVsCodeApi(): {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
};
