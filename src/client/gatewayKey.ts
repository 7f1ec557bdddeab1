import type { GatewayKeyInfo } from "../shared/gatewayKey";
import type { ManagerClient } from "./ManagerClient";

/** The local gateway key (made at first use): opens the manager's `/v1` only, never `/api`. */
export function fetchGatewayKey(client: ManagerClient, signal?: AbortSignal): Promise<GatewayKeyInfo> {
  return client.request("GET", "/api/gateway-key", undefined, signal);
}

/** A new gateway key; the old one stops working at once. */
export function rotateGatewayKey(client: ManagerClient, signal?: AbortSignal): Promise<GatewayKeyInfo> {
  return client.request("POST", "/api/gateway-key/rotate", undefined, signal);
}
