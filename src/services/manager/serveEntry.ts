// What `mlx-manager serve` needs, behind one lazily loaded module so client commands stay light.
export { resolveHfCacheDir } from "../cache/cacheDir";
export { ManagerAlreadyRunningError } from "./DataDir";
export { ManagerApp } from "./ManagerApp";
